//! The outside programs some tests drive (curl, Python, xmllint, headless Chromium): whether one
//! is installed, and running one. scripts/install-test-deps.sh installs them all.

use std::io::Write as _;
use std::process::{Command, Output};

/// True when `tool` is on the `PATH`.
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

/// A command for `tool`, which the test cannot do without: its absence fails the test, saying
/// how to install it.
pub fn tool(name: &str) -> Command {
    assert!(
        installed(name),
        "{name} is not installed: run `bash scripts/install-test-deps.sh`"
    );
    Command::new(name)
}

/// Runs `cmd` to the end and insists that it succeeded (its stderr in the failure message).
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The text of the `<pre id="verdict">` a page under `chromium --dump-dom` wrote its findings
/// into (JSON, as the tests' probes write it), with the serialiser's entities undone.
pub fn dom_verdict(dom: &str) -> String {
    const OPEN: &str = "<pre id=\"verdict\">";
    let start = dom
        .find(OPEN)
        .unwrap_or_else(|| panic!("no verdict in the DOM: {dom}"))
        + OPEN.len();
    let end = start
        + dom[start..]
            .find("</pre>")
            .unwrap_or_else(|| panic!("an unfinished verdict in the DOM: {dom}"));
    dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
