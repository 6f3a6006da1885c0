//! The last response on a connection leaves in one segment with the FIN, and nothing that must
//! go out before the close is held back for it.
//!
//! The segment count is read on the client's side from `TCP_INFO` (`tcpi_segs_in`, Linux), so
//! the test needs no capture tool: a closing answer of a small file is the SYN-ACK, the
//! server's acknowledgement of the request, and one segment carrying the response and the FIN.
//! A response written without being held would arrive apart from its FIN: four.
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

use common::Running;

/// Segments this socket has received so far.
#[allow(unsafe_code)]
fn segments_in(socket: &TcpStream) -> u32 {
    // SAFETY: the descriptor belongs to a live borrowed socket; `info` is a zeroed tcp_info on
    // our stack, and `len` tells the kernel its size, so it writes no further.
    unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        );
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        info.tcpi_segs_in
    }
}

/// Sends `request`, reads to the server's close, and returns the answer and the segments the
/// client received.
fn answer_and_segments(server: &Running, request: &[u8]) -> (String, u32) {
    let mut s = server.connect();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    (String::from_utf8_lossy(&out).into_owned(), segments_in(&s))
}

#[test]
fn a_closing_response_shares_its_segment_with_the_fin_in_every_model() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("small.txt"), "a small file\n").unwrap();
    let big = vec![b'x'; 40_000];
    std::fs::write(root.path().join("big.txt"), &big).unwrap();
    for model in ["epoll", "pool", "threads"] {
        let server = Running::start(&["--root", root.path().to_str().unwrap(), "--model", model]);
        for request in [
            &b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
            b"GET /small.txt HTTP/1.0\r\n\r\n",
            b"GET /no-such-file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ] {
            let (answer, segments) = answer_and_segments(&server, request);
            let req = String::from_utf8_lossy(request);
            assert!(answer.starts_with("HTTP/1.1 "), "{model} {req:?}: {answer}");
            assert!(answer.contains("Connection: close\r\n"), "{answer}");
            assert!(
                segments <= 3,
                "{model} {req:?}: {segments} segments in (SYN-ACK, ACK, then the response with \
                 the FIN); was the response sent apart from its FIN?"
            );
        }
        // A body larger than one write still arrives whole before the close.
        let (answer, _) = answer_and_segments(
            &server,
            b"GET /big.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(
            answer.ends_with(std::str::from_utf8(&big).unwrap()),
            "{model}"
        );
        server.stop();
    }
}

#[test]
fn a_stream_to_a_client_that_does_not_keep_the_connection_is_not_held_back() {
    // HTTP/1.0: the streamed body ends with the close, and each line must still leave when
    // it is made, not with the FIN.
    let server = Running::start(&[]);
    let mut s = server.connect();
    s.write_all(b"GET /chunked?n=2&delay_ms=1500 HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("line 1 of 2") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the first line: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    let first = String::from_utf8_lossy(&got).into_owned();
    assert!(
        !first.contains("line 2 of 2"),
        "the first line came only with the last one, at the close: {first}"
    );
    s.read_to_end(&mut got).unwrap();
    assert!(String::from_utf8_lossy(&got).contains("line 2 of 2"));
}
