//! `client repl` as a person and a script use it: through a pseudo-terminal (keys in, screen
//! out) and with piped stdin. The server is a small fake on 127.0.0.1:0 that answers one
//! request per connection line it reads.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const RESPONSE: &[u8] = b"\
    HTTP/1.1 200 OK\r\n\
    Content-Length: 3\r\n\
    \r\n\
    hi\n";

/// A server that answers every request head on one connection with `RESPONSE`, and returns
/// what it received when the client closes.
fn fake_server() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        let mut answered = 0;
        loop {
            let n = match s.read(&mut buf) {
                Ok(0) | Err(_) => return got,
                Ok(n) => n,
            };
            got.extend_from_slice(&buf[..n]);
            let heads = got.windows(4).filter(|w| w == b"\r\n\r\n").count();
            while answered < heads {
                s.write_all(RESPONSE).unwrap();
                answered += 1;
            }
        }
    });
    (port, handle)
}

#[test]
fn piped_stdin_sends_each_request_and_waits_for_its_answer() {
    let (port, server) = fake_server();
    let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
        .args([
            "repl",
            "127.0.0.1",
            &port.to_string(),
            "--no-history",
            "--color",
            "never",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET / HTTP/1.1\nHost: a\n\n:body x=1\nPOST /f HTTP/1.1\nHost: a\n\n:quit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = server.join().unwrap();
    assert_eq!(
        received,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nx=1"
    );
    // Each request, then its response, in order.
    let first_answer = stdout.find("S: HTTP/1.1 200 OK\\r\\n").expect(&stdout);
    let second_request = stdout.find("C: POST /f HTTP/1.1\\r\\n").expect(&stdout);
    assert!(first_answer < second_request, "{stdout}");
    assert_eq!(
        stdout
            .matches("response complete; the connection stays open")
            .count(),
        2,
        "{stdout}"
    );
}

#[test]
fn piped_line_mode_sends_lines_as_typed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"220 hello\r\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.ends_with(b"QUIT\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
            if got.ends_with(b"\r\n") {
                s.write_all(b"250 ok\r\n").unwrap();
            }
        }
        s.write_all(b"221 bye\r\n").unwrap();
        got
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
        .args([
            "repl",
            "--line",
            "127.0.0.1",
            &port.to_string(),
            "--no-history",
            "--color",
            "never",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"HELO me\nQUIT\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(server.join().unwrap(), b"HELO me\r\nQUIT\r\n");
    for line in [
        "S: 220 hello\\r\\n",
        "C: HELO me\\r\\n",
        "S: 250 ok\\r\\n",
        "S: 221 bye\\r\\n",
        "S: <close>",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
}

/// Kills and reaps the program if the test fails before it exits, so none is left behind.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The screen of a program on a pseudo-terminal, as it is written.
struct Screen {
    text: Arc<(Mutex<Vec<u8>>, Condvar)>,
}

impl Screen {
    /// Waits (up to 10 s) until `needle` appears after byte `from`; returns where it ends.
    fn wait_for(&self, needle: &str, from: usize) -> usize {
        let (lock, changed) = &*self.text;
        let until = Instant::now() + Duration::from_secs(10);
        let mut text = lock.lock().unwrap();
        loop {
            if let Some(at) = find(&text[from.min(text.len())..], needle.as_bytes()) {
                return from + at + needle.len();
            }
            let now = Instant::now();
            assert!(
                now < until,
                "{needle:?} never appeared; the screen:\n{}",
                String::from_utf8_lossy(&text)
            );
            text = changed.wait_timeout(text, until - now).unwrap().0;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
#[allow(unsafe_code)]
fn on_a_terminal_keys_go_in_and_the_trace_comes_out() {
    use std::os::fd::{FromRawFd, OwnedFd};

    let (port, server) = fake_server();
    let data = tempfile::tempdir().unwrap();
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two new descriptors into the two ints; the name and termios
    // pointers may be null, and `size` outlives the call.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut child = Reaped(
        Command::new(env!("CARGO_BIN_EXE_client"))
            .args(["repl", "127.0.0.1", &port.to_string()])
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .env("XDG_DATA_HOME", data.path())
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap(),
    );
    let mut keys = std::fs::File::from(master.try_clone().unwrap());
    let screen = Screen {
        text: Arc::new((Mutex::new(Vec::new()), Condvar::new())),
    };
    let shared = screen.text.clone();
    let mut reading = std::fs::File::from(master);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reading.read(&mut buf) {
            if n == 0 {
                break;
            }
            let (lock, changed) = &*shared;
            lock.lock().unwrap().extend_from_slice(&buf[..n]);
            changed.notify_all();
        }
    });

    let at = screen.wait_for(&format!("[127.0.0.1:{port} open]> "), 0);
    // Completion: "GE" and Tab becomes "GET ".
    keys.write_all(b"G").unwrap();
    let at = screen.wait_for("G", at);
    keys.write_all(b"E").unwrap();
    let at = screen.wait_for("E", at);
    keys.write_all(b"\t").unwrap();
    let at = screen.wait_for("T", at);
    keys.write_all(b"/ HTTP/1.1\r").unwrap();
    let at = screen.wait_for(&format!("[127.0.0.1:{port} open | 1 line]> "), at);
    keys.write_all(b"Host: a\r").unwrap();
    let at = screen.wait_for(&format!("[127.0.0.1:{port} open | 2 lines]> "), at);
    keys.write_all(b"\r").unwrap();
    let at = screen.wait_for("S: HTTP/1.1 200 OK\\r\\n", at);
    let at = screen.wait_for("response complete; the connection stays open", at);
    keys.write_all(b":show\r").unwrap();
    let at = screen.wait_for("nothing typed yet", at);
    keys.write_all(b":quit\r").unwrap();
    let _ = at;
    let status = child.0.wait().unwrap();
    assert!(status.success());
    assert_eq!(server.join().unwrap(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let history = std::fs::read_to_string(data.path().join("protolab/client_history")).unwrap();
    assert!(history.contains("GET / HTTP/1.1"), "{history}");
}
