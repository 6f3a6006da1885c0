//! `-v` shows a body over 4 KiB as `<body N bytes sha256=...>`; `-vv` and `--verbose-body` show
//! every byte; the body on stdout is whole either way.

use std::io::{Read, Write};
use std::net::TcpListener;

/// Serves one request with a body of `len` bytes of text lines, then waits for the close.
fn serve_body(body: Vec<u8>) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        socket.write_all(head.as_bytes()).unwrap();
        socket.write_all(&body).unwrap();
        while matches!(socket.read(&mut buf), Ok(n) if n > 0) {}
    });
    (port, handle)
}

fn body(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            if i % 50 == 49 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect()
}

#[test]
fn v_elides_a_large_body_and_vv_shows_it() {
    let large = body(5000);
    for (flags, elided) in [
        (&["-v"][..], true),
        (&["-vv"][..], false),
        (&["-v", "--verbose-body"][..], false),
    ] {
        let (port, server) = serve_body(large.clone());
        let url = format!("http://127.0.0.1:{port}/");
        let mut args = flags.to_vec();
        args.extend(["--color", "never", &url]);
        let (code, out, err) = client::run_captured(&args);
        let err = String::from_utf8(err).unwrap();
        assert_eq!(code, client::ExitCode::Ok, "{err}");
        assert_eq!(out, large, "{flags:?}: stdout has the whole body");
        let placeholder = format!(
            "S: <body 5000 bytes sha256={}>",
            wire::trace::sha256_hex(&large)
        );
        assert_eq!(err.contains(&placeholder), elided, "{flags:?}:\n{err}");
        let last_line = "S: abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvw\\n";
        assert_eq!(err.matches(last_line).count() > 0, !elided, "{flags:?}");
        server.join().unwrap();
    }

    // At the limit, a body is still shown.
    let small = body(4096);
    let (port, server) = serve_body(small);
    let url = format!("http://127.0.0.1:{port}/");
    let (code, _, err) = client::run_captured(&["-v", "--color", "never", &url]);
    let err = String::from_utf8(err).unwrap();
    assert_eq!(code, client::ExitCode::Ok);
    assert!(!err.contains("<body "), "{err}");
    server.join().unwrap();
}
