//! The `labs` program as a learner runs it: exit codes, JSON, recordings, progress, --listen.

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};

fn labs(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(args)
        .env("PROTOLAB_DATA_DIR", data)
        .env("NO_COLOR", "1")
        .output()
        .expect("labs runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fakes() -> String {
    format!("{}/tests/fakes", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn help_teaches_and_version_answers() {
    let data = tempfile::tempdir().unwrap();
    let help = labs(data.path(), &["--help"]);
    assert!(help.status.success());
    let help = text(&help.stdout);
    for needle in [
        "labs check http/1 --target 127.0.0.1:8080",
        "--run",
        "Exit status",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    let version = labs(data.path(), &["--version"]);
    assert!(text(&version.stdout).starts_with("labs "));
}

#[test]
fn usage_errors_exit_2_and_say_what_to_do() {
    let data = tempfile::tempdir().unwrap();
    let out = labs(data.path(), &["check", "http/echo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--target 127.0.0.1:8080"),
        "{}",
        text(&out.stderr)
    );
    let out = labs(data.path(), &["show", "http/99"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("labs list TRACK"));
    let out = labs(data.path(), &["list", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("http, webserver, pinger, mail, proxy"));
}

#[test]
fn json_results_and_recorded_traces_for_a_failing_step() {
    let data = tempfile::tempdir().unwrap();
    let record = data.path().join("traces");
    let run = format!(
        "python3 {}/http_broken.py wrong-length {{port}} {{dir}}/files",
        fakes()
    );
    let out = labs(
        data.path(),
        &[
            "check",
            "http/echo",
            "--run",
            &run,
            "--timeout",
            "500ms",
            "--json",
            "--record",
            record.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(json["passed"], 0);
    assert_eq!(json["failed"], 1);
    assert_eq!(json["steps"][0]["id"], "http/echo");
    assert!(json["steps"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("Content-Length said 5 bytes"));

    let saved =
        std::fs::read_to_string(record.join("http-echo-1.trace")).expect("the exchange was saved");
    let trace = wire::trace::Trace::parse(&saved).expect("a recorded exchange is a valid trace");
    assert_eq!(
        trace.title(),
        Some("a body with Content-Type and Content-Length (http/echo)")
    );
    assert!(saved.contains("C: GET /echo/abc HTTP/1.1\\r\\n"), "{saved}");
}

#[test]
fn a_passing_step_counts_towards_progress_and_next_moves_on() {
    let data = tempfile::tempdir().unwrap();
    let run = format!(
        "python3 {}/http_broken.py no-keep-alive {{port}} {{dir}}/files",
        fakes()
    );
    let out = labs(data.path(), &["check", "http/connect", "--run", &run]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("1 passed, 0 failed"));
    assert!(text(&labs(data.path(), &[]).stdout).contains("1/18 steps"));
    assert!(text(&labs(data.path(), &["next"]).stdout).starts_with("http/respond (step 2 of 23)"));
    let reset = labs(data.path(), &["reset", "http"]);
    assert!(text(&reset.stdout).contains("Forgot 1 passed step."));
    assert!(text(&labs(data.path(), &[]).stdout).contains("0/18 steps"));
}

#[test]
fn listen_waits_for_a_client_the_learner_starts() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    listen_and_serve_one_client(&["check", "webserver/client", "--listen", &addr], &addr);
}

#[test]
fn dash_p_is_short_for_listening_on_localhost() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let port = port.to_string();
    listen_and_serve_one_client(&["check", "webserver/client", "-p", &port], &addr);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn listen_and_serve_one_client(args: &[&str], addr: &str) {
    let data = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(args)
        .env("PROTOLAB_DATA_DIR", data.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // labs says when it listens; that line is the signal to start the learner's client.
    let mut child = child;
    let mut announcement = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut announcement)
        .unwrap();
    assert!(
        announcement.contains(&format!("listening on {addr}")),
        "{announcement}"
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /HelloWorld.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut page = Vec::new();
    stream.read_to_end(&mut page).unwrap();
    assert!(text(&page).contains("labs says hello back"));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("PASS webserver/client"));
}

#[test]
fn show_a_track_lists_its_steps_and_says_how_to_see_one() {
    let data = tempfile::tempdir().unwrap();
    for track in ["http", "webserver", "pinger", "mail", "proxy"] {
        let out = labs(data.path(), &["show", track]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        assert!(
            shown.contains(&format!("{track}/1 shows the first step")),
            "{shown}"
        );
        assert!(shown.contains(&format!("  1. {track}/")), "{shown}");
    }
}

#[test]
fn the_shared_vocabulary_durations_colour_and_version() {
    let data = tempfile::tempdir().unwrap();
    let version = labs(data.path(), &["--version"]);
    assert_eq!(
        text(&version.stdout).trim(),
        format!("labs (protolab) {}", env!("CARGO_PKG_VERSION"))
    );
    let help = text(&labs(data.path(), &["check", "--help"]).stdout);
    assert!(help.contains("[default: 2s]"), "{help}");
    assert!(help.contains("--color <WHEN>"), "{help}");
    // Durations as every protolab program reads them: these get past the command line and stop
    // at the step's name, which does not exist.
    for timeout in ["1m", "1.5s", "500ms", "2"] {
        let out = labs(data.path(), &["check", "nosuch/9", "--timeout", timeout]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("there is no step `nosuch/9`"),
            "{timeout}: {}",
            text(&out.stderr)
        );
    }
    let out = labs(data.path(), &["check", "http/1", "--timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("1.5s, 500ms"),
        "{}",
        text(&out.stderr)
    );

    // Colour: never into a pipe under auto, always when asked, never with NO_COLOR or never.
    let coloured = |args: &[&str], no_color: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_labs"));
        cmd.args(args).env("PROTOLAB_DATA_DIR", data.path());
        match no_color {
            Some(v) => cmd.env("NO_COLOR", v),
            None => cmd.env_remove("NO_COLOR"),
        };
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{args:?}");
        out.stdout.contains(&0x1b)
    };
    assert!(coloured(&["show", "http/1", "--color", "always"], None));
    assert!(!coloured(&["show", "http/1"], None));
    assert!(!coloured(&["show", "http/1", "--color", "never"], None));
    assert!(!coloured(&["show", "http/1", "--no-color"], None));
    assert!(!coloured(&["show", "http/1", "--color", "auto"], Some("1")));
}

/// A first server as tutorials write it: it prints as it goes (never flushing) and answers
/// every request with a line that is not HTTP.
const PRINTING_SERVER: &str = "\
from socket import *
import sys

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', int(sys.argv[1])))
serverSocket.listen(1)
print('Ready to serve...')
while True:
    connectionSocket, addr = serverSocket.accept()
    print('Received a connection from:', addr)
    message = connectionSocket.recv(1024).decode()
    print('request line:', message.split('\\r\\n')[0])
    connectionSocket.send('hello\\r\\n'.encode())
    connectionSocket.close()
";

#[test]
fn a_python_server_stopped_by_labs_still_has_its_prints_in_the_report() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("server.py"), PRINTING_SERVER).unwrap();
    let run = |unbuffered: Option<&str>| {
        let mut labs = Command::new(env!("CARGO_BIN_EXE_labs"));
        labs.args([
            "check",
            "http/respond",
            "--run",
            "echo \"PYTHONUNBUFFERED=[$PYTHONUNBUFFERED]\" >&2; python3 server.py {port}",
            "--timeout",
            "1s",
        ])
        .current_dir(data.path())
        .env("PROTOLAB_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .env_remove("PYTHONUNBUFFERED");
        if let Some(value) = unbuffered {
            labs.env("PYTHONUNBUFFERED", value);
        }
        labs.output().expect("labs runs")
    };
    // Without PYTHONUNBUFFERED in labs' own environment, the program gets it: its prints were
    // made before labs stopped it, and they are in the report.
    let out = run(None);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("| Ready to serve..."), "{report}");
    assert!(
        report.contains("| Received a connection from: ('127.0.0.1', "),
        "{report}"
    );
    assert!(
        report.contains("| request line: GET / HTTP/1.1"),
        "{report}"
    );
    // A value the user set is theirs: labs leaves it alone.
    let out = run(Some("0"));
    let report = text(&out.stdout);
    assert!(report.contains("| PYTHONUNBUFFERED=[0]"), "{report}");
}
