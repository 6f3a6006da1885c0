//! `server ... | head` never ends badly: once the server serves, a closed stdout (the banner,
//! `--access-log -`) does not stop it; the lines are lost, every response goes out whole, and
//! Ctrl-C or SIGTERM still stops it with exit code 0. Never a panic or "Broken pipe". Before it
//! serves (`--help`), it ends by SIGPIPE like the other programs.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn get(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// Stops it as Ctrl-C would and returns its exit status and standard error.
fn stop(mut child: Child) -> (std::process::ExitStatus, String) {
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
            panic!("the server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    (status, stderr)
}

fn address_after<R: BufRead>(lines: &mut R, marker: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "no {marker:?} line"
        );
        if let Some(at) = line.find(marker) {
            let rest = &line[at + marker.len()..];
            return rest[..rest.find('/').unwrap()].to_string();
        }
    }
}

#[test]
fn a_closed_access_log_pipe_does_not_stop_the_server() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--port", "0", "--access-log", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let addr = address_after(&mut stdout, "http://");
    assert!(get(&addr).starts_with("HTTP/1.1 200"));
    let mut line = String::new();
    while !line.contains("\"GET / HTTP/1.1\" 200") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "no access log line"
        );
    }
    drop(stdout);
    for _ in 0..3 {
        let answer = get(&addr);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("</html>\n"), "the whole page: {answer}");
    }
    let (status, stderr) = stop(child);
    assert_eq!(status.code(), Some(0), "{status:?}\n{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

#[test]
fn a_banner_nobody_reads_does_not_stop_the_server() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--port", "0"])
        .stdin(Stdio::null())
        .stdout(broken_pipe::widowed_pipe().unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The error log (stderr) says where it listens too.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = address_after(&mut stderr, "listening on http://");
    assert!(get(&addr).starts_with("HTTP/1.1 200"));
    let (status, _) = stop(child);
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    assert_eq!(status.code(), Some(0), "{status:?}\n{rest}");
    assert!(!rest.contains("panicked"), "{rest}");
}

#[test]
fn help_into_a_closed_pipe_ends_quietly() {
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
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
