//! Requests that are odd but not wrong, or wrong in ways a server should answer well, sent to
//! the `server` binary on loopback exactly as a person or a tool would send them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Duration;

/// A running `server` binary on port 0, stopped (SIGTERM) when dropped.
struct Running {
    child: Child,
    port: u16,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let port = banner
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(['/', ' ']).next())
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no address in the banner {banner:?}"));
        Running { child, port }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Sends `request` on a new connection and reads until the server closes.
    fn exchange(&self, request: &[u8]) -> String {
        let mut s = self.connect();
        s.write_all(request).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Stops it and returns what it wrote to standard error.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let mut err = String::new();
        let stderr: Option<ChildStderr> = self.child.stderr.take();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request as `nc` sends what a person types: every line ends in LF alone.
const TYPED_INTO_NC: &[u8] = b"GET / HTTP/1.1\nHost: localhost\nConnection: close\n\n";

#[test]
fn a_request_typed_into_nc_is_answered_and_logged_at_debug_level() {
    let server = Running::start(&["--log-level", "debug"]);
    let answer = server.exchange(TYPED_INTO_NC);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Welcome to the demo site"), "{answer}");
    // /inspect says what was odd about it.
    let inspected =
        server.exchange(b"GET /inspect HTTP/1.1\nHost: localhost\nConnection: close\n\n");
    assert!(
        inspected.contains("C: GET /inspect HTTP/1.1\\n\n"),
        "{inspected}"
    );
    assert!(inspected.contains("bare LF"), "{inspected}");
    let log = server.stop();
    assert!(
        log.contains("accepted bare LF line endings (RFC 9112 §2.2"),
        "the error log at debug level notes it: {log}"
    );
}

#[test]
fn with_strict_a_bare_lf_is_refused_with_a_400_that_says_why() {
    let server = Running::start(&["--strict"]);
    let answer = server.exchange(TYPED_INTO_NC);
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("bare LF line ending, expected CRLF (RFC 9112 §2.2)"),
        "{answer}"
    );
    // CR LF requests are unaffected.
    let fine = server.exchange(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert!(fine.starts_with("HTTP/1.1 200 OK\r\n"), "{fine}");
    let help = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--strict"));
}
