//! `proxy --access-log - | head` never ends badly: once the proxy serves, a closed stdout (the
//! access log) or stderr (the banner) does not stop it; the lines are lost, the responses go out
//! whole, and SIGTERM still stops it with exit code 0. Never a panic or "Broken pipe". Before
//! it serves (`--help`), it ends by SIGPIPE like the other programs.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn status_page(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /proxy-status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn a_closed_access_log_pipe_does_not_stop_the_proxy() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_proxy"))
        .args(["--port", "0", "--no-cache", "--access-log", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no banner");
        if let Some(at) = line.find("listening on http://") {
            let rest = &line[at + "listening on http://".len()..];
            break rest[..rest.find(' ').unwrap()].to_string();
        }
    };
    assert!(status_page(&addr).starts_with("HTTP/1.1 200"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    while !line.contains("(proxy page)") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "no access log line"
        );
    }
    // Both readers go: the log's and the banner's.
    drop(stdout);
    drop(stderr);
    for _ in 0..3 {
        let answer = status_page(&addr);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the proxy did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn help_into_a_closed_pipe_ends_quietly() {
    let out = Command::new(env!("CARGO_BIN_EXE_proxy"))
        .arg("--help")
        .stdout(broken_pipe::widowed_pipe().unwrap())
        .output()
        .unwrap();
    assert!(broken_pipe::ended_quietly(out.status), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
