//! The `proxy` binary as a user runs it, and small loopback origins, for the tests in this
//! folder. Each test starts its own proxy on port 0 and reads the address from its banner.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `proxy` process, killed when dropped.
pub struct ProxyProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Whatever it wrote to standard error after the banner, line by line.
    pub stderr: mpsc::Receiver<String>,
    _cache: tempfile::TempDir,
}

impl ProxyProcess {
    /// Starts `proxy --port 0 --only-loopback-upstreams --cache-dir TEMP ARGS...` and waits
    /// for the line that names its address.
    pub fn start(args: &[&str]) -> ProxyProcess {
        let cache = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(["--port", "0", "--only-loopback-upstreams", "--cache-dir"])
            .arg(cache.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the proxy binary starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("proxy: listening on http://") {
                let end = rest.find(' ').unwrap_or(rest.len());
                addr = Some(rest[..end].parse().unwrap());
                break;
            }
        }
        let addr = addr.expect("the proxy prints `listening on http://ADDR`");
        let (tx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        ProxyProcess {
            child,
            addr,
            stderr,
            _cache: cache,
        }
    }

    /// A new client connection, with a read timeout so a test that goes wrong fails instead of
    /// hanging.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads until the peer closes (or the read timeout): everything it sent.
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!(
                "expected the proxy to close the connection, got {e} after {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

/// Reads one response with a `Content-Length` body (or none): its head as text and its body.
pub fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = stream.read(&mut buf).expect("a response");
        assert!(
            n > 0,
            "closed before a whole head: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    let length: usize = header(&head, "content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = got[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).expect("the body");
        assert!(
            n > 0,
            "closed {} bytes into a {length}-byte body",
            body.len()
        );
        body.extend_from_slice(&buf[..n]);
    }
    assert_eq!(body.len(), length, "more bytes than the Content-Length");
    (head, body)
}

/// The value of the first field named `name` in a head (case-insensitive).
pub fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// An origin that answers every request on every connection with `response`, after reading
/// its head (requests without bodies only). Runs until the test process ends.
pub fn origin(response: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    while let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        got.drain(..p + 4);
                        if stream.write_all(response).is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    addr
}
