//! `labs ... | head` ends quietly: with its stdout (or stderr) a pipe whose reader has gone,
//! every command ends by SIGPIPE or with 0, never with a panic, a backtrace or "Broken pipe".
use std::process::{Command, Output, Stdio};

fn labs_into_closed_pipe(args: &[&str], stream: &str) -> Output {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_labs"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env("PROTOLAB_DATA_DIR", data.path())
        .stdin(Stdio::null());
    let closed = broken_pipe::widowed_pipe().unwrap();
    if stream == "stdout" {
        command.stdout(closed).stderr(Stdio::piped());
    } else {
        command.stderr(closed).stdout(Stdio::piped());
    }
    command.output().expect("labs runs")
}

#[test]
fn every_command_ends_quietly_when_its_reader_has_gone() {
    // A port where nothing listens: the check fails and prints a long report.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = free.local_addr().unwrap().to_string();
    drop(free);
    let runs: &[(&[&str], &str)] = &[
        (&["--help"], "stdout"),
        (&[], "stdout"),
        (&["list", "http"], "stdout"),
        (&["show", "http/1"], "stdout"),
        (&["show", "autograder"], "stdout"),
        (&["progress"], "stdout"),
        (
            &["check", "http", "--target", &target, "--keep-going"],
            "stdout",
        ),
        (&["check", "http", "--target", &target, "--json"], "stdout"),
        // Errors and advice go to stderr.
        (&["check", "http/1"], "stderr"),
        (&["show", "no/such-step"], "stderr"),
    ];
    for (args, stream) in runs {
        let out = labs_into_closed_pipe(args, stream);
        let other = String::from_utf8_lossy(if *stream == "stdout" {
            &out.stderr
        } else {
            &out.stdout
        });
        assert!(
            broken_pipe::ended_quietly(out.status)
                || (*stream == "stderr" && out.status.code() == Some(2)),
            "labs {args:?} with its {stream} closed ended with {:?}:\n{other}",
            out.status
        );
        assert!(
            !other.contains("panicked") && !other.contains("Broken pipe"),
            "labs {args:?} with its {stream} closed:\n{other}"
        );
    }
}

/// What labs' SIGPIPE ending runs first: the learner's programs it started are killed, group
/// and all, so a closed pipe never leaves one running.
#[test]
fn the_learners_program_is_stopped_when_labs_ends_that_way() {
    let dir = tempfile::tempdir().unwrap();
    let mut program = labs::learner::LearnerProcess::start("sleep 30 & sleep 30; wait", dir.path())
        .expect("sh starts");
    assert!(program.is_running());
    labs::learner::stop_running_from_signal_handler();
    let status = program
        .wait_exit(std::time::Duration::from_secs(10))
        .expect("the group was killed");
    assert_eq!(
        labs::learner::describe_exit(status),
        "killed by SIGKILL: signal 9"
    );
}
