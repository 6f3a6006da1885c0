//! Whether a tool the tests drive is installed, shared by the test files of labs.

use std::io::Write as _;
use std::process::Command;

pub fn installed(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True when `tool` is there. Without it the rest of the test is skipped, saying so on the
/// terminal (written past the harness's capture, so a skip is never silent), except under CI,
/// where scripts/install-test-deps.sh installs it and its absence fails the test.
pub fn have(tool: &str) -> bool {
    if installed(tool) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{tool} is not installed, and CI must run this test: run `bash scripts/install-test-deps.sh`"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED (part of a test): {tool} is not installed; `bash scripts/install-test-deps.sh` installs it"
    );
    false
}
