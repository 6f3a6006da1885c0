//! Every curl exit code the issue lists, produced where curl produces it, against servers
//! written here on 127.0.0.1 (TLS ones, 35 and 60, are in `tls.rs`); and `--help` and
//! `--version` from the built program.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread::JoinHandle;

use client::ExitCode;

/// Accepts one connection, reads the request head, then does `then` with the socket.
fn one_connection(then: impl FnOnce(TcpStream) + Send + 'static) -> (u16, JoinHandle<()>) {
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
        then(socket);
    });
    (port, handle)
}

/// Waits until the client closes (or resets) the connection.
fn until_closed(mut socket: TcpStream) {
    let mut buf = [0u8; 1024];
    while matches!(socket.read(&mut buf), Ok(n) if n > 0) {}
}

fn run(args: &[&str]) -> (ExitCode, String, String) {
    let (code, out, err) = client::run_captured(args);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

#[test]
fn ok_is_0_whatever_the_status() {
    let (port, server) = one_connection(|mut s| {
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope\n")
            .unwrap();
        until_closed(s);
    });
    let (code, out, err) = run(&[&url(port, "/missing")]);
    assert_eq!((code, out.as_str()), (ExitCode::Ok, "nope\n"), "{err}");
    server.join().unwrap();
}

#[test]
fn a_name_that_cannot_resolve_is_6() {
    // A DNS label is at most 63 bytes (RFC 1035 §2.3.4): the resolver refuses this name
    // itself, without asking any name server, so nothing leaves the machine.
    let host = format!("{}.invalid", "x".repeat(64));
    let (code, out, err) = run(&["--color", "never", &format!("http://{host}:8080/")]);
    assert_eq!(code, ExitCode::CouldNotResolve, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("could not resolve host"), "{err}");
}

#[test]
fn a_port_nobody_listens_on_is_7() {
    // Bind then drop: the port is free and nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, err) = run(&["--color", "never", &url(port, "/")]);
    assert_eq!(code, ExitCode::CouldNotConnect, "{err}");
    assert!(err.contains("is the server running"), "{err}");
}

#[test]
fn fail_on_a_status_of_400_or_more_is_22_and_writes_no_body() {
    let (port, server) = one_connection(|mut s| {
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope\n")
            .unwrap();
        until_closed(s);
    });
    let (code, out, err) = run(&["--color", "never", "--fail", &url(port, "/missing")]);
    assert_eq!((code, out.as_str()), (ExitCode::HttpError, ""), "{err}");
    assert!(err.contains("404 Not Found (--fail)"), "{err}");
    server.join().unwrap();
}

#[test]
fn a_server_that_never_answers_is_28_after_max_time() {
    let (port, server) = one_connection(until_closed);
    let started = std::time::Instant::now();
    let (code, _, err) = run(&["--color", "never", "--max-time", "0.3", &url(port, "/")]);
    assert_eq!(code, ExitCode::Timeout, "{err}");
    assert!(err.contains("timed out after 300 ms"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    server.join().unwrap();
}

#[test]
fn a_close_without_a_byte_is_52() {
    let (port, server) = one_connection(drop);
    let (code, out, err) = run(&["--color", "never", &url(port, "/")]);
    assert_eq!((code, out.as_str()), (ExitCode::EmptyReply, ""), "{err}");
    assert!(err.contains("empty reply"), "{err}");
    server.join().unwrap();
}

#[test]
fn a_reset_connection_is_56() {
    let (port, server) = one_connection(|s| {
        // Linger 0: closing sends a reset instead of a FIN.
        let socket = socket2::Socket::from(s);
        socket.set_linger(Some(std::time::Duration::ZERO)).unwrap();
        drop(socket);
    });
    let (code, _, err) = run(&["--color", "never", &url(port, "/")]);
    assert_eq!(code, ExitCode::RecvError, "{err}");
    assert!(err.contains("receiving failed"), "{err}");
    server.join().unwrap();
}

#[test]
fn help_teaches_with_examples_and_version_names_the_program() {
    let program = env!("CARGO_BIN_EXE_client");
    let help = Command::new(program).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for example in [
        "client GET localhost 8080 /",
        "client http://localhost:8080/index.html",
        "client -v http://localhost:8080/",
        "client -vv ",
        "client --raw broken.txt localhost 8080",
        "| client --raw - localhost 8080",
        "client -x localhost:8888 http://localhost:8080/",
        "client repl localhost 8080",
        "client load -c 16",
        "52 empty reply",
        "56 receive failed",
    ] {
        assert!(
            text.contains(example),
            "{example:?} is not in --help:\n{text}"
        );
    }
    for sub in ["repl", "load"] {
        let help = Command::new(program)
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(help.status.success());
        let text = String::from_utf8(help.stdout).unwrap();
        assert!(text.contains("Usage: client "), "{text}");
    }
    let load = Command::new(program)
        .args(["load", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&load.stdout).contains("client load -c 16 -n 5000"));

    let version = Command::new(program).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("client (protolab) {}\n", env!("CARGO_PKG_VERSION"))
    );

    let (code, out, _) = client::run_captured(&["--help"]);
    assert_eq!(code, ExitCode::Ok);
    assert!(String::from_utf8_lossy(&out).contains("Examples:"));
}

#[test]
fn a_mistyped_command_line_is_2_and_says_what_to_do() {
    let program = env!("CARGO_BIN_EXE_client");
    let out = Command::new(program)
        .arg("--no-such-option")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--help"));
}
