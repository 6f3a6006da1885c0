//! Origins that refuse a request before reading its body (RFC 9112 §9.5: a server may answer
//! before the request is complete), through the `proxy` binary on loopback: the client gets
//! that answer, not a 502, however the origin ends the connection.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};

use common::{read_to_close, ProxyProcess};

/// What the origin does once it has answered.
#[derive(Clone, Copy)]
enum Then {
    /// Closes at once, the body unread (the kernel resets the connection).
    Close,
    /// Keeps the connection open and reads nothing more (the proxy's writes fill the socket).
    Stall,
    /// Shuts its side and reads the rest away, as nginx does.
    Linger,
}

/// Reads from `stream` until a whole request head has come: what was read (the head and any
/// body bytes after it) and where the head ends. `None` when the connection ends first.
fn read_head(stream: &mut std::net::TcpStream) -> Option<(Vec<u8>, usize)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some((got, p + 4));
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// An origin that reads one request head and answers `response` at once.
fn refusing_origin(response: &'static [u8], then: Then) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        if read_head(&mut stream).is_none() {
            return;
        }
        stream.write_all(response).unwrap();
        match then {
            Then::Close => drop(stream),
            Then::Stall => {
                // Held until the proxy gives up on it (it closes its side once answered).
                let mut one = [0u8; 1];
                let _ = stream.peek(&mut one);
                let _ = listener.accept();
            }
            Then::Linger => {
                let _ = stream.shutdown(Shutdown::Write);
                let _ = std::io::copy(&mut stream, &mut std::io::sink());
            }
        }
    });
    addr
}

/// POSTs `len` bytes of body through the proxy to `origin` and returns everything the proxy
/// answered, read until it closed. The body is written from a thread of its own.
fn upload(proxy: &ProxyProcess, origin: SocketAddr, len: usize) -> String {
    let mut client = proxy.connect();
    let head = format!(
        "POST http://{origin}/upload HTTP/1.1\r\nHost: {origin}\r\nContent-Length: {len}\r\n\r\n"
    );
    let mut writer = client.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        let _ = writer.write_all(&vec![b'x'; len]);
        let _ = writer.shutdown(Shutdown::Write);
    });
    let answer = read_to_close(&mut client);
    sending.join().unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

const TOO_LARGE: &[u8] = b"\
    HTTP/1.1 413 Content Too Large\r\n\
    Content-Length: 9\r\n\
    Connection: close\r\n\
    \r\n\
    too large";

const UNAUTHORIZED: &[u8] = b"\
    HTTP/1.1 401 Unauthorized\r\n\
    WWW-Authenticate: Basic realm=\"uploads\"\r\n\
    Content-Length: 7\r\n\
    \r\n\
    log in!";

const FORBIDDEN: &[u8] = b"\
    HTTP/1.1 403 Forbidden\r\n\
    Content-Length: 2\r\n\
    Connection: close\r\n\
    \r\n\
    no";

#[test]
fn a_413_before_the_body_reaches_the_client_though_the_origin_closes_at_once() {
    let proxy = ProxyProcess::start(&[]);
    let answer = upload(&proxy, refusing_origin(TOO_LARGE, Then::Close), 8 << 20);
    assert!(
        answer.starts_with("HTTP/1.1 413 Content Too Large\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\ntoo large"), "{answer}");
}

#[test]
fn a_401_before_the_body_reaches_the_client_though_the_origin_stops_reading() {
    let proxy = ProxyProcess::start(&["--upstream-timeout", "20s"]);
    let answer = upload(&proxy, refusing_origin(UNAUTHORIZED, Then::Stall), 8 << 20);
    assert!(
        answer.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("WWW-Authenticate: Basic realm=\"uploads\"\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\nlog in!"), "{answer}");
}

#[test]
fn a_403_before_the_body_reaches_the_client_from_an_origin_that_lingers() {
    let proxy = ProxyProcess::start(&[]);
    let answer = upload(&proxy, refusing_origin(FORBIDDEN, Then::Linger), 8 << 20);
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nno"), "{answer}");
}

#[test]
fn an_upload_the_origin_reads_whole_is_still_forwarded_whole() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = listener.local_addr().unwrap();
    let len = 3 << 20;
    let reading = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let (mut got, head_end) = read_head(&mut stream).expect("a request head");
        let mut buf = [0u8; 64 * 1024];
        while got.len() < head_end + len {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the proxy stopped {} bytes in", got.len() - head_end);
            got.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        got.len() - head_end
    });
    let proxy = ProxyProcess::start(&[]);
    let answer = upload(&proxy, origin, len);
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    assert_eq!(reading.join().unwrap(), len);
}

/// Writes a POST head for `len` bytes of body and the first `first` of them, then keeps the
/// connection open without sending more.
fn start_slow_upload(
    proxy: &ProxyProcess,
    origin: SocketAddr,
    version: &str,
    len: usize,
    first: &[u8],
) -> std::net::TcpStream {
    let mut client = proxy.connect();
    let head = format!(
        "POST http://{origin}/upload {version}\r\nHost: {origin}\r\nContent-Length: {len}\r\n\r\n"
    );
    client.write_all(head.as_bytes()).unwrap();
    client.write_all(first).unwrap();
    client
}

#[test]
fn an_early_answer_reaches_a_client_that_has_stopped_sending_at_once() {
    // The body timeout is longer than the client's read timeout (20 s): a proxy that waited
    // on the client alone would make the read below fail.
    let proxy = ProxyProcess::start(&["--body-timeout", "60s"]);
    let origin = refusing_origin(TOO_LARGE, Then::Stall);
    let mut client = start_slow_upload(&proxy, origin, "HTTP/1.1", 1000, b"0123456789");
    let (head, body) = common::read_response(&mut client);
    assert!(
        head.starts_with("HTTP/1.1 413 Content Too Large\r\n"),
        "{head}"
    );
    assert_eq!(body, b"too large");
}

/// An origin that reads a request head, sends `103 Early Hints`, reads the `len`-byte body,
/// then answers `201 Created`.
fn hinting_origin(len: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let Some((mut got, head_end)) = read_head(&mut stream) else {
            return;
        };
        let mut buf = [0u8; 4096];
        let _ = stream
            .write_all(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
        while got.len() < head_end + len {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream
            .write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
    addr
}

#[test]
fn a_103_during_an_upload_is_passed_on_as_it_comes() {
    let proxy = ProxyProcess::start(&[]);
    let origin = hinting_origin(5);
    // The client sends the rest of its body only once it has the hint: a proxy that held the
    // hint back until the body was complete would never give it.
    let mut client = start_slow_upload(&proxy, origin, "HTTP/1.1", 5, b"");
    let (hint, _) = common::read_response(&mut client);
    assert!(hint.starts_with("HTTP/1.1 103 Early Hints\r\n"), "{hint}");
    assert!(
        hint.contains("Link: </style.css>; rel=preload\r\n"),
        "{hint}"
    );
    client.write_all(b"hello").unwrap();
    let (head, body) = common::read_response(&mut client);
    assert!(head.starts_with("HTTP/1.1 201 Created\r\n"), "{head}");
    assert_eq!(body, b"ok");
}

#[test]
fn an_http10_client_is_not_sent_the_103() {
    let proxy = ProxyProcess::start(&[]);
    let origin = hinting_origin(5);
    let mut client = start_slow_upload(&proxy, origin, "HTTP/1.0", 5, b"hello");
    let answer = String::from_utf8_lossy(&read_to_close(&mut client)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    assert!(!answer.contains("103"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
}
