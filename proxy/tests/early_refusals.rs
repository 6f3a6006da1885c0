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

/// An origin that reads one request head and answers `response` at once.
fn refusing_origin(response: &'static [u8], then: Then) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
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
        let mut got = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        let head_end = loop {
            if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = stream.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        };
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
