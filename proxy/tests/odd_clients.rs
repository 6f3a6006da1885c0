//! Clients that send what the proxy refuses, through the `proxy` binary on loopback: the
//! refusal must reach them, whatever they are still sending.

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::{read_to_close, ProxyProcess};

/// Writes `bytes` from a thread of its own (the proxy may stop reading at any point), then ends
/// the sending side, ignoring the error a closed connection gives; returns the thread.
fn send_in_background(stream: &TcpStream, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    let mut stream = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(Shutdown::Write);
    })
}

/// A head of `fill` bytes of header lines that never ends.
fn endless_head(fill: usize) -> Vec<u8> {
    let mut head = b"GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\n".to_vec();
    let line = format!("X-Fill: {}\r\n", "a".repeat(1000));
    while head.len() < fill {
        head.extend_from_slice(line.as_bytes());
    }
    head
}

#[test]
fn a_431_is_read_by_a_client_that_is_still_sending_its_head() {
    let proxy = ProxyProcess::start(&[]);
    // The proxy takes 64 KiB of header section; this client sends 1 MiB of it.
    let mut client = proxy.connect();
    let writer = send_in_background(&client, endless_head(1024 * 1024));
    let answer = read_to_close(&mut client);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{answer}"
    );
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    writer.join().unwrap();
}

#[test]
fn a_refused_client_that_never_closes_is_closed_after_the_linger_time() {
    let proxy = ProxyProcess::start(&[]);
    let mut client = proxy.connect();
    client.write_all(&endless_head(100 * 1024)).unwrap();
    let answer = read_to_close(&mut client);
    assert!(
        answer.starts_with(b"HTTP/1.1 431 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // The proxy has shut its side and reads what still comes, for a while (2 s), then
    // closes: a write after that fails. This client goes on sending a line every 50 ms.
    let refused_at = Instant::now();
    let line = b"X-More: 1\r\n";
    let mut accepted = 0;
    let failed = loop {
        if let Err(e) = client.write_all(line) {
            break e;
        }
        accepted += 1;
        assert!(
            refused_at.elapsed() < Duration::from_secs(10),
            "the proxy is still reading after {:?}",
            refused_at.elapsed()
        );
        // Pacing a slow client, not waiting for the proxy.
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        matches!(
            failed.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ),
        "{failed}"
    );
    assert!(
        accepted >= 10,
        "only {accepted} writes were taken before the close: the proxy did not linger"
    );
}
