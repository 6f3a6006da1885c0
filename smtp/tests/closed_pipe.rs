//! `smtp ... | head` ends quietly: with its stdout a pipe whose reader has gone, `smtp --help`,
//! `smtp show` of a long message and `smtp serve` (its banner) end by SIGPIPE (or 0), never with
//! a panic or "Broken pipe".
use std::process::{Command, Stdio};

#[test]
fn help_show_and_serve_into_a_closed_pipe_end_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let message = dir.path().join("long.eml");
    let body: String = (1..=5000)
        .map(|n| format!("line {n} of a long message\r\n"))
        .collect();
    std::fs::write(
        &message,
        format!("From: a@example.org\r\nTo: b@example.org\r\nSubject: long\r\n\r\n{body}"),
    )
    .unwrap();
    let message = message.display().to_string();
    let runs: [&[&str]; 4] = [
        &["--help"],
        &["send", "--help"],
        &["show", &message],
        &["serve", "--port", "0", "--no-tls"],
    ];
    for args in runs {
        let out = Command::new(env!("CARGO_BIN_EXE_smtp"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(broken_pipe::widowed_pipe().unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            broken_pipe::ended_quietly(out.status),
            "smtp {args:?}: {:?}\n{stderr}",
            out.status
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "smtp {args:?}:\n{stderr}"
        );
    }
}
