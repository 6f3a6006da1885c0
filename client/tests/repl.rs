//! `client repl` as a person and a script use it: through a pseudo-terminal (keys in, screen
//! out, pastes as a terminal sends them: bracketed paste) and with piped stdin. The server is a
//! small fake on 127.0.0.1:0 that answers every request head it reads, or the real `server`
//! binary (its `/inspect` page shows the request exactly as it arrived, and `--strict` refuses a
//! line that ends in a bare LF).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

/// The screen of a program on a pseudo-terminal, and the keys it is sent.
struct Terminal {
    child: Reaped,
    keys: std::fs::File,
    screen: Screen,
}

impl Terminal {
    /// Starts `client ARGS` on a new pseudo-terminal (40 x 120, TERM=xterm, NO_COLOR), with its
    /// history in `data`.
    #[allow(unsafe_code)]
    fn start(args: &[&str], data: &Path) -> Terminal {
        use std::os::fd::{FromRawFd, OwnedFd};

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
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let child = Reaped(
            Command::new(env!("CARGO_BIN_EXE_client"))
                .args(args)
                .env("TERM", "xterm")
                .env("NO_COLOR", "1")
                .env("XDG_DATA_HOME", data)
                .stdin(Stdio::from(slave.try_clone().unwrap()))
                .stdout(Stdio::from(slave.try_clone().unwrap()))
                .stderr(Stdio::from(slave))
                .spawn()
                .unwrap(),
        );
        let keys = std::fs::File::from(master.try_clone().unwrap());
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
        Terminal {
            child,
            keys,
            screen,
        }
    }

    /// Sends keys, all in one write (as a fast typist or a paste without brackets does).
    fn type_keys(&mut self, keys: &str) {
        self.keys.write_all(keys.as_bytes()).unwrap();
    }

    /// Pastes `text` as a terminal with bracketed paste on sends it.
    fn paste(&mut self, text: &str) {
        self.type_keys(&format!("\x1b[200~{text}\x1b[201~"));
    }

    /// Waits for `:quit` to end the program well.
    fn quit(mut self) -> String {
        self.type_keys(":quit\r");
        let status = self.child.0.wait().unwrap();
        let screen = self.screen.text();
        assert!(status.success(), "{status}; the screen:\n{screen}");
        screen
    }
}

impl Screen {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.0.lock().unwrap()).into_owned()
    }
}

/// A program built in this workspace: `cargo test --workspace` builds every binary first
/// (`cargo build -p server` does it for this one alone).
fn workspace_bin(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("the test's own path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build -p {name}` first",
        path.display()
    );
    path
}

/// The real `server` binary on 127.0.0.1:0 (the demo site), killed when dropped.
struct RealServer {
    child: Child,
    port: u16,
}

impl RealServer {
    fn start(args: &[&str]) -> RealServer {
        let mut child = Command::new(workspace_bin("server"))
            .args(["--port", "0", "--color", "never"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        out.read_line(&mut banner).unwrap();
        let port = banner
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(['/', ' ']).next())
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no address in the banner {banner:?}"));
        // Whatever else it prints is read and dropped, so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        RealServer { child, port }
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `needle` is in `hay`, or a failure that shows the screen.
fn position(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the screen:\n{hay}"))
}

#[test]
fn on_a_terminal_keys_go_in_and_the_trace_comes_out() {
    let (port, server) = fake_server();
    let data = tempfile::tempdir().unwrap();
    let mut term = Terminal::start(&["repl", "127.0.0.1", &port.to_string()], data.path());
    let at = term
        .screen
        .wait_for(&format!("[127.0.0.1:{port} open]> "), 0);
    // Completion: "GE" and Tab becomes "GET ".
    term.keys.write_all(b"G").unwrap();
    let at = term.screen.wait_for("G", at);
    term.keys.write_all(b"E").unwrap();
    let at = term.screen.wait_for("E", at);
    term.keys.write_all(b"\t").unwrap();
    let at = term.screen.wait_for("T", at);
    term.type_keys("/ HTTP/1.1\r");
    let at = term
        .screen
        .wait_for(&format!("[127.0.0.1:{port} open | 1 line]> "), at);
    term.type_keys("Host: a\r");
    let at = term
        .screen
        .wait_for(&format!("[127.0.0.1:{port} open | 2 lines]> "), at);
    term.type_keys("\r");
    let at = term.screen.wait_for("S: HTTP/1.1 200 OK\\r\\n", at);
    let at = term
        .screen
        .wait_for("response complete; the connection stays open", at);
    term.type_keys(":show\r");
    term.screen.wait_for("nothing typed yet", at);
    term.quit();
    assert_eq!(server.join().unwrap(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let history = std::fs::read_to_string(data.path().join("protolab/client_history")).unwrap();
    assert!(history.contains("GET / HTTP/1.1"), "{history}");
}

/// How the server's `/inspect` page shows a request line it received, as the REPL displays
/// that page: the page writes `\r\n` for CR LF, and the REPL escapes those backslashes again.
fn inspected(line: &str) -> String {
    format!("S: C: {line}\\\\r\\\\n")
}

#[test]
fn on_a_terminal_lines_typed_ahead_and_pasted_all_arrive_in_order_with_crlf() {
    // --strict: a line that ended in a bare LF would be answered 400.
    let server = RealServer::start(&["--strict"]);
    let port = server.port;
    let data = tempfile::tempdir().unwrap();
    let mut term = Terminal::start(
        &["repl", "127.0.0.1", &port.to_string(), "--no-history"],
        data.path(),
    );
    let at = term
        .screen
        .wait_for(&format!("[127.0.0.1:{port} open]> "), 0);
    // Two requests typed at once: the second arrives while the first one's answer is awaited.
    term.type_keys("GET /inspect?n=1 HTTP/1.1\rHost: a\r\rGET /inspect?n=2 HTTP/1.1\rHost: a\r\r");
    let at = term
        .screen
        .wait_for(&inspected("GET /inspect?n=2 HTTP/1.1"), at);
    let at = term.screen.wait_for("response complete", at);
    // Bracketed paste is on while the prompt is up (a terminal sends the brackets only then;
    // a paste made while an answer is awaited comes as keys typed at once, as above).
    let prompt = format!("[127.0.0.1:{port} open]> ");
    let at = term.screen.wait_for(&prompt, at);
    // A paste that ends with its blank line: the Enter that confirms it sends the request.
    term.paste("GET /inspect?n=3 HTTP/1.1\nHost: a\n\n");
    term.type_keys("\r");
    let at = term
        .screen
        .wait_for(&inspected("GET /inspect?n=3 HTTP/1.1"), at);
    let at = term.screen.wait_for("response complete", at);
    let at = term.screen.wait_for(&prompt, at);
    // A paste with CR LF line ends and two requests in it, then more keys typed at once.
    term.paste(
        "GET /inspect?n=4 HTTP/1.1\r\nHost: a\r\n\r\nGET /inspect?n=5 HTTP/1.1\r\nHost: a\r\n",
    );
    term.type_keys("\rX-Typed: after the paste\r\r");
    let at = term
        .screen
        .wait_for(&inspected("GET /inspect?n=5 HTTP/1.1"), at);
    term.screen.wait_for("response complete", at);
    let screen = term.quit();

    let mut last = 0;
    for n in 1..=5 {
        let request = position(&screen, &format!("C: GET /inspect?n={n} HTTP/1.1\\r\\n"));
        let seen = position(&screen, &inspected(&format!("GET /inspect?n={n} HTTP/1.1")));
        assert!(
            last < request && request < seen,
            "request {n} out of order:\n{screen}"
        );
        last = seen;
    }
    assert_eq!(screen.matches(&inspected("Host: a")).count(), 5, "{screen}");
    position(&screen, &inspected("X-Typed: after the paste"));
    assert_eq!(screen.matches("S: HTTP/1.1 200 OK").count(), 5, "{screen}");
    assert!(!screen.contains("400 Bad Request"), "{screen}");
}

#[test]
fn after_the_server_closes_an_idle_connection_the_next_request_reconnects() {
    let server = RealServer::start(&["--keep-alive-timeout", "300ms"]);
    let port = server.port;
    let data = tempfile::tempdir().unwrap();
    let mut term = Terminal::start(
        &["repl", "127.0.0.1", &port.to_string(), "--no-history"],
        data.path(),
    );
    let at = term
        .screen
        .wait_for(&format!("[127.0.0.1:{port} open]> "), 0);
    term.type_keys("GET /inspect?n=1 HTTP/1.1\rHost: a\r\r");
    let at = term
        .screen
        .wait_for("response complete; the connection stays open", at);
    // The server's keep-alive timeout passes: the close is shown as it happens.
    let at = term.screen.wait_for("S: <close>", at);
    let at = term.screen.wait_for("connection closed by the server", at);
    term.type_keys("GET /inspect?n=2 HTTP/1.1\rHost: a\r\r");
    let at = term.screen.wait_for(
        &format!("# reconnected (the server had closed the connection) to 127.0.0.1 port {port}"),
        at,
    );
    let at = term
        .screen
        .wait_for(&inspected("GET /inspect?n=2 HTTP/1.1"), at);
    let at = term.screen.wait_for("response complete", at);
    // :close closes from this side, for all to see; the next request opens a new connection.
    term.type_keys(":close\r");
    let closed_at = at;
    let at = term.screen.wait_for("C: <close>", at);
    let shown = term.screen.text();
    assert!(
        !shown[closed_at..at].contains("closed by the server"),
        "a close from this side is not the server's:\n{shown}"
    );
    let at = term
        .screen
        .wait_for(&format!("[127.0.0.1:{port} closed]> "), at);
    term.type_keys("GET /inspect?n=3 HTTP/1.1\rHost: a\r\r");
    let at = term.screen.wait_for(
        &format!("# reconnected (it was closed with :close) to 127.0.0.1 port {port}"),
        at,
    );
    term.screen
        .wait_for(&inspected("GET /inspect?n=3 HTTP/1.1"), at);
    let screen = term.quit();
    assert_eq!(screen.matches("S: HTTP/1.1 200 OK").count(), 3, "{screen}");
}

#[test]
fn a_request_sent_as_the_server_closes_the_idle_connection_is_sent_again() {
    // The first connection answers one request, then closes on reading the second without a
    // byte of answer (as a server whose keep-alive timeout ends just as the request arrives);
    // the second connection answers what it gets.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let read_head = |s: &mut std::net::TcpStream| {
            let mut got = Vec::new();
            let mut byte = [0u8; 1];
            while !got.ends_with(b"\r\n\r\n") {
                match s.read(&mut byte) {
                    Ok(0) | Err(_) => return got,
                    Ok(_) => got.push(byte[0]),
                }
            }
            got
        };
        let (mut first, _) = listener.accept().unwrap();
        let one = read_head(&mut first);
        first.write_all(RESPONSE).unwrap();
        let two = read_head(&mut first);
        drop(first);
        let (mut second, _) = listener.accept().unwrap();
        let again = read_head(&mut second);
        second.write_all(RESPONSE).unwrap();
        let _ = read_head(&mut second); // until the REPL closes
        (one, two, again)
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["repl", "127.0.0.1", &port.to_string(), "--no-history"])
        .args(["--color", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET /1 HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.1\nHost: a\n\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let (one, two, again) = server.join().unwrap();
    assert_eq!(one, b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(two, b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(again, two, "{stdout}");
    // The close is shown, then the request goes again on a new connection and is answered.
    let close = position(&stdout, "S: <close>");
    let note = position(&stdout, "sending it again on a new connection");
    let reconnected = position(&stdout, "# reconnected to 127.0.0.1");
    assert!(close < note && note < reconnected, "{stdout}");
    assert_eq!(stdout.matches("C: GET /2 HTTP/1.1").count(), 2, "{stdout}");
    assert_eq!(
        stdout
            .matches("response complete; the connection stays open")
            .count(),
        2,
        "{stdout}"
    );
}
