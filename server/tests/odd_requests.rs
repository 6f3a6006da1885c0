//! Requests that are odd but not wrong, or wrong in ways a server should answer well, sent to
//! the `server` binary on loopback exactly as a person or a tool would send them.

mod common;

use std::io::{Read, Write};
use std::process::Command;

use common::Running;

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

/// Sends a head with `Expect: 100-continue` and no body, and reads the first answer: a server
/// that will refuse the request sends its final status at once, and no `100 Continue`
/// (RFC 9110 §10.1.1), so the client never uploads the body. The connection then closes (the
/// client may or may not send the body, so it cannot be kept).
fn refused_before_the_body(server: &Running, head: &str) -> String {
    let mut s = server.connect();
    s.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("the server answers and closes without waiting for the body");
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn expect_100_continue_on_a_refused_request_gets_the_final_status_only() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("hello.txt"), "hello\n").unwrap();
    let server = Running::start(&["--root", root.path().to_str().unwrap()]);
    let cases = [
        // PUT with writes off.
        (
            "PUT /new.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed\r\n",
        ),
        // POST to a static file.
        (
            "POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed\r\n",
        ),
        // A chunked body to a static file.
        (
            "POST /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed\r\n",
        ),
        // Larger than the server takes.
        (
            "POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000\r\nExpect: 100-continue\r\n\r\n",
            "HTTP/1.1 413 Content Too Large\r\n",
        ),
        // A path that can never name a file.
        (
            "PUT /a%2Fb HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\n",
        ),
    ];
    for (head, status_line) in cases {
        let answer = refused_before_the_body(&server, head);
        assert!(
            answer.starts_with(status_line),
            "{head:?} got {answer:?}, expected {status_line:?} first"
        );
        assert!(!answer.contains("100 Continue"), "{head:?} got {answer:?}");
    }
}

#[test]
fn expect_100_continue_on_an_accepted_upload_still_gets_100_first() {
    let root = tempfile::tempdir().unwrap();
    let server = Running::start(&["--root", root.path().to_str().unwrap(), "--allow-write"]);
    let mut s = server.connect();
    s.write_all(b"PUT /up.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"data").unwrap();
    let mut rest = String::new();
    s.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("HTTP/1.1 201 Created\r\n"), "{rest}");
    assert_eq!(std::fs::read(root.path().join("up.txt")).unwrap(), b"data");
}

#[test]
fn a_delete_with_a_body_on_a_writable_server_deletes_once_after_the_body() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("gone.txt"), "bye\n").unwrap();
    let server = Running::start(&["--root", root.path().to_str().unwrap(), "--allow-write"]);
    let answer = server.exchange(
        b"DELETE /gone.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    );
    assert!(
        answer.starts_with("HTTP/1.1 204 No Content\r\n"),
        "{answer}"
    );
    assert!(!root.path().join("gone.txt").exists());
}

/// GET `path` (bytes as they go on the wire) and the whole answer.
fn get(server: &Running, path: &[u8]) -> String {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(path);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    server.exchange(&request)
}

/// A folder with one file whose name is UTF-8: `café.txt`.
fn utf8_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("caf\u{e9}.txt"), b"coffee\n").unwrap();
    root
}

#[test]
fn tab_cr_and_lf_escapes_in_a_path_get_404_with_the_reason_as_nginx_answers() {
    let root = utf8_folder();
    let server = Running::start(&["--root", root.path().to_str().unwrap()]);
    for path in [
        "/a%09b.txt",
        "/a%0Ab.txt",
        "/a%0db.txt",
        "/%0A",
        "/dir/%0D%0A/x",
    ] {
        let answer = get(&server, path.as_bytes());
        assert!(
            answer.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{path}: {answer}"
        );
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        assert!(
            body.contains(path),
            "{path}: the body names the path: {body}"
        );
        assert!(
            body.contains("control byte"),
            "{path}: and says why: {body}"
        );
    }
    // Escapes that are not UTF-8 name nothing here either.
    let answer = get(&server, b"/caf%E9.txt");
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
    assert!(answer.contains("not UTF-8"), "{answer}");
}

#[test]
fn what_is_unsafe_in_a_path_is_still_refused_with_the_reason() {
    let server = Running::start(&[]);
    for (path, why) in [
        ("/a%00b", "NUL"),
        ("/a%2fb", "encoded"),
        ("/a%5cb", "backslash"),
        ("/%2e%2e/etc/passwd", "dot segment"),
        ("/../etc/passwd", "above the root"),
    ] {
        let answer = get(&server, path.as_bytes());
        let status = &answer[9..12];
        assert!(status == "400" || status == "403", "{path}: {answer}");
        assert!(
            answer.to_lowercase().contains(&why.to_lowercase()),
            "{path}: the body says why ({why}): {answer}"
        );
    }
}

#[test]
fn raw_utf8_in_a_path_names_the_file_or_gets_404_and_strict_refuses_it() {
    let root = utf8_folder();
    let dir = root.path().to_str().unwrap();
    let server = Running::start(&["--root", dir]);
    // Typed raw, as `nc` sends it, and percent-encoded, as curl sends it: the same file.
    for path in ["/caf\u{e9}.txt", "/caf%C3%A9.txt"] {
        let answer = get(&server, path.as_bytes());
        assert!(
            answer.starts_with("HTTP/1.1 200 OK\r\n"),
            "{path}: {answer}"
        );
        assert!(answer.ends_with("\r\n\r\ncoffee\n"), "{path}: {answer}");
    }
    let answer = get(&server, "/th\u{e9}.txt".as_bytes());
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
    // Raw bytes that are not UTF-8 are not a path at all.
    let answer = get(&server, b"/caf\xe9.txt");
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    drop(server);

    let strict = Running::start(&["--root", dir, "--strict"]);
    let answer = get(&strict, "/caf\u{e9}.txt".as_bytes());
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.contains("request-target"), "{answer}");
    let answer = get(&strict, b"/caf%C3%A9.txt");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}

/// Reads until the server closes; a reset is a failure (it can destroy the answer unread).
fn read_to_close(stream: &mut std::net::TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!(
                "expected the server to close the connection, got {e} after {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

#[test]
fn a_431_is_read_whole_by_a_client_still_sending_header_lines() {
    let server = Running::start(&[]);
    let mut client = server.connect();
    let mut writer = client.try_clone().unwrap();
    // 1 MiB of header lines, far over the limit, written while the answer comes back.
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n");
        let line = format!("X-Filler: {}\r\n", "y".repeat(90));
        for _ in 0..(1 << 20) / line.len() {
            if writer.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
        let _ = writer.write_all(b"\r\n");
        let _ = writer.shutdown(std::net::Shutdown::Write);
    });
    let answer = String::from_utf8_lossy(&read_to_close(&mut client)).into_owned();
    sending.join().unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{answer}"
    );
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(body.len(), length, "the whole body arrived: {body}");
}

#[test]
fn a_431_is_read_whole_when_the_head_is_sent_at_once() {
    let server = Running::start(&[]);
    let mut client = server.connect();
    let mut request = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    request.extend_from_slice(format!("Cookie: {}\r\n\r\n", "c".repeat(64 * 1024)).as_bytes());
    client.write_all(&request).unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut client)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert!(
        answer.to_lowercase().contains("header"),
        "the body says why: {answer}"
    );
}

#[test]
fn a_pipelined_inspect_after_a_refused_body_shows_only_its_own_bytes() {
    // The POST is refused at its head (no handler reads its body), so its 5 body bytes are
    // drained without events; /inspect, right behind them in the same write, shows itself only.
    let server = Running::start(&[]);
    let answer = server.exchange(
        b"POST /nowhere HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello\
          GET /inspect HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    let inspect = answer
        .find("HTTP/1.1 200 OK\r\n")
        .map(|at| &answer[at..])
        .unwrap_or_else(|| panic!("no /inspect answer: {answer}"));
    assert!(
        inspect.contains("C: GET /inspect HTTP/1.1\\r\\n\n"),
        "{inspect}"
    );
    assert!(!inspect.contains("hello"), "{inspect}");
}
