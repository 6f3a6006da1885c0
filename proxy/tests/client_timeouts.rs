//! Client timeouts, through the `proxy` binary on loopback: a partial head gets 408 after
//! `--header-timeout`; silent sockets stop holding `--max-connections` once their header time
//! is up; an idle keep-alive connection closes after `--keep-alive-timeout`; and a slowloris of
//! 300 connections does not delay anyone else's request.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{origin, read_response, read_to_close, ProxyProcess};

const HELLO: &[u8] = b"\
    HTTP/1.1 200 OK\r\n\
    Content-Length: 5\r\n\
    Cache-Control: no-store\r\n\
    \r\n\
    hello";

fn get(origin: std::net::SocketAddr) -> String {
    format!("GET http://{origin}/hello HTTP/1.1\r\nHost: {origin}\r\n\r\n")
}

#[test]
fn a_partial_head_gets_408_after_the_header_timeout() {
    let proxy = ProxyProcess::start(&["--header-timeout", "300ms"]);
    let mut client = proxy.connect();
    let started = Instant::now();
    client
        .write_all(b"GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\n")
        .unwrap();
    let answer = String::from_utf8(read_to_close(&mut client)).unwrap();
    let waited = started.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    assert!(answer.contains("--header-timeout"), "{answer}");
    assert!(
        waited >= Duration::from_millis(300),
        "answered after {waited:?}, before the header timeout"
    );
}

#[test]
fn a_silent_connection_is_closed_without_an_answer() {
    let proxy = ProxyProcess::start(&["--header-timeout", "300ms"]);
    let mut client = proxy.connect();
    assert_eq!(
        read_to_close(&mut client),
        b"",
        "nothing was asked, so nothing is answered"
    );
}

#[test]
fn five_silent_sockets_hold_max_connections_5_only_for_the_header_timeout() {
    let origin = origin(HELLO);
    let proxy = ProxyProcess::start(&["--max-connections", "5", "--header-timeout", "700ms"]);
    let mut silent: Vec<_> = (0..5).map(|_| proxy.connect()).collect();

    // While they are open, a sixth client is over the limit.
    let mut refused = proxy.connect();
    refused.write_all(get(origin).as_bytes()).unwrap();
    let (head, _) = read_response(&mut refused);
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    drop(refused);

    // The proxy closes them when their header time is up...
    for socket in &mut silent {
        assert_eq!(read_to_close(socket), b"");
    }
    // ...and the next client is served.
    let mut client = proxy.connect();
    client.write_all(get(origin).as_bytes()).unwrap();
    let (head, body) = read_response(&mut client);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"hello");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let origin = origin(HELLO);
    let proxy = ProxyProcess::start(&["--keep-alive-timeout", "400ms", "--header-timeout", "20s"]);
    let mut client = proxy.connect();
    for _ in 0..2 {
        client.write_all(get(origin).as_bytes()).unwrap();
        let (head, body) = read_response(&mut client);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(!head.contains("Connection: close"), "{head}");
        assert_eq!(body, b"hello");
    }
    let idle_from = Instant::now();
    assert_eq!(
        read_to_close(&mut client),
        b"",
        "an idle connection is closed without a 408"
    );
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(350),
        "closed after {idle:?}, before the keep-alive timeout"
    );
    assert!(
        idle < Duration::from_secs(10),
        "closed after {idle:?}: the header timeout (20 s) should not apply between requests"
    );
}

#[test]
fn a_slowloris_of_300_connections_does_not_delay_a_normal_request() {
    let origin = origin(HELLO);
    let proxy = ProxyProcess::start(&["--header-timeout", "5s"]);
    // A normal request first, so the figure below does not count the first connect to the origin.
    let mut warm = proxy.connect();
    warm.write_all(get(origin).as_bytes()).unwrap();
    read_response(&mut warm);
    drop(warm);

    let head = get(origin);
    let (begun, _) = head.split_at(head.len() - 2);
    let mut slow: Vec<_> = (0..300).map(|_| proxy.connect()).collect();
    for socket in &mut slow {
        socket.write_all(begun.as_bytes()).unwrap();
    }
    // Each keeps sending a little of its head, never the blank line that ends it.
    for socket in &mut slow {
        socket.write_all(b"X-Slow: 1\r\n").unwrap();
    }

    let started = Instant::now();
    let mut client = proxy.connect();
    client.write_all(get(origin).as_bytes()).unwrap();
    let (answer, body) = read_response(&mut client);
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(body, b"hello");
    assert!(
        took < Duration::from_secs(2),
        "a normal request took {took:?} beside 300 slow clients"
    );

    // And every slow client gets its 408 when its header time is up.
    for socket in &mut slow {
        let answer = read_to_close(socket);
        assert!(
            answer.starts_with(b"HTTP/1.1 408 "),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
}

#[test]
fn help_names_the_timeouts_and_bad_durations_are_refused() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxy"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--header-timeout", "--keep-alive-timeout", "--body-timeout"] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxy"))
        .args(["--header-timeout", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1.5s, 500ms"),
        "the error shows how to write one: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An origin that reads a request head and whatever body follows until the proxy closes, and
/// reports how many body bytes it got.
fn reading_origin() -> (std::net::SocketAddr, std::sync::mpsc::Receiver<usize>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let head_end = got
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(0, |p| p + 4);
        let _ = tx.send(got.len() - head_end);
    });
    (addr, rx)
}

#[test]
fn a_request_body_that_stops_gets_408_after_the_body_timeout() {
    let (origin, body_seen) = reading_origin();
    let proxy = ProxyProcess::start(&["--body-timeout", "300ms", "--header-timeout", "20s"]);
    let mut client = proxy.connect();
    let started = Instant::now();
    client
        .write_all(
            format!(
                "POST http://{origin}/upload HTTP/1.1\r\nHost: {origin}\r\nContent-Length: 100\r\n\r\n0123456789"
            )
            .as_bytes(),
        )
        .unwrap();
    // 90 bytes are never sent, and the connection stays open on the client's side.
    let answer = String::from_utf8(read_to_close(&mut client)).unwrap();
    let waited = started.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("--body-timeout"), "{answer}");
    assert!(
        waited >= Duration::from_millis(300),
        "answered after {waited:?}, before the body timeout"
    );
    // The origin got the part that came, and its connection was closed with the request unfinished.
    assert_eq!(body_seen.recv_timeout(Duration::from_secs(20)).unwrap(), 10);
}

#[test]
fn a_client_that_takes_none_of_a_response_is_cut_off_after_the_body_timeout() {
    use std::io::Read;
    const LEN: usize = 64 << 20;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = listener.local_addr().unwrap();
    let (gave_up, proxy_gave_up) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {LEN}\r\nCache-Control: no-store\r\n\r\n");
        let body = vec![b'x'; 1 << 20];
        let mut sent = 0;
        if stream.write_all(head.as_bytes()).is_ok() {
            while sent < LEN && stream.write_all(&body).is_ok() {
                sent += body.len();
            }
        }
        // A write failed: the proxy dropped this connection.
        let _ = gave_up.send(sent);
    });
    let proxy = ProxyProcess::start(&["--body-timeout", "300ms"]);
    let mut client = proxy.connect();
    client.write_all(get(origin).as_bytes()).unwrap();
    // The client reads nothing until the origin sees the proxy give up.
    let sent = proxy_gave_up.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(
        sent < LEN,
        "the origin sent it all: the proxy never gave up"
    );
    let got = read_to_close(&mut client);
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(got.len() < LEN, "the client got the whole response");
}

#[test]
fn the_header_timeout_is_10_s_unless_set() {
    let options = proxy::Options::default();
    assert_eq!(options.header_timeout, Duration::from_secs(10));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxy"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let after = help.split("--header-timeout <TIME>").nth(1).unwrap();
    let section = after.split("--keep-alive-timeout").next().unwrap();
    assert!(section.contains("[default: 10s]"), "{section}");
}
