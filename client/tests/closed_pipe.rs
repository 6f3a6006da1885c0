//! `client ... | head` ends quietly: with its stdout a pipe whose reader has gone, the client
//! ends by SIGPIPE (or 0), never with a panic or "Broken pipe", for its help and for a large
//! response alike.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};

fn quiet(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(broken_pipe::widowed_pipe().unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        broken_pipe::ended_quietly(out.status),
        "client {args:?}: {:?}\n{stderr}",
        out.status
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "client {args:?}:\n{stderr}"
    );
}

#[test]
fn help_and_a_large_body_into_a_closed_pipe_end_quietly() {
    quiet(&["--help"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let origin = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = [0u8; 4096];
        let _ = stream.read(&mut head);
        let body = vec![b'x'; 1 << 20];
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        let _ = stream.write_all(&body);
    });
    quiet(&["GET", "127.0.0.1", &port, "/"]);
    // Unblocks the origin's accept had the client never connected.
    let _ = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap()));
    origin.join().unwrap();
}
