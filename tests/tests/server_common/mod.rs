//! Shared by the `server_*` tests: a fixture document root with fixed times, and a server on
//! `127.0.0.1:0` in any model.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{Read, Write};

use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use server::config::{Clock, Config, Model};
use server::Server;

/// Every model, for tests that must pass under each.
pub const MODELS: [Model; 3] = [Model::Epoll, Model::Pool, Model::Threads];

/// When every fixture file was last modified: 2026-01-01T00:00:00Z.
pub fn fixture_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// Deterministic bytes: a counter through a small LCG.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

/// Numbered text lines of 16 bytes: `line 00000001\r\n` is not used, `00000001 ......\n` is.
pub fn numbered_lines(lines: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(lines * 16);
    for i in 0..lines {
        v.extend_from_slice(format!("{:08} ......\n", i + 1).as_bytes());
    }
    v
}

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, bytes).unwrap();
}

/// The fixture folder served by `--root` in the tests:
///
/// ```text
/// index.html  hello.txt  style.css  data.bin (2000 bytes)  big.txt (64 KiB of lines)
/// app.js  app.js.gz (precompressed sibling)  empty.txt  .secret  .git/config
/// docs/ (no index: a.txt, "b & c.txt", "<tag>.txt", sub/deep.txt)
/// inside.txt -> hello.txt   escape.txt -> a file outside the root   outdir -> a folder outside
/// ```
pub struct Fixture {
    pub root: tempfile::TempDir,
    pub outside: tempfile::TempDir,
}

pub fn fixture() -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let r = root.path();
    put(
        r,
        "index.html",
        b"<!doctype html>\n<title>fixture</title>\n<p>The fixture's index page.</p>\n",
    );
    put(r, "hello.txt", b"hello, world\n");
    put(
        r,
        "style.css",
        "body { color: #222; }\n".repeat(40).as_bytes(),
    );
    put(r, "data.bin", &pattern(2000, 7));
    put(r, "big.txt", &numbered_lines(4096));
    put(
        r,
        "app.js",
        "console.log('not this copy');\n".repeat(20).as_bytes(),
    );
    let gz = server::handler::gzip(b"console.log('the precompressed copy');\n").unwrap();
    put(r, "app.js.gz", &gz);
    put(r, "empty.txt", b"");
    put(r, ".secret", b"hidden\n");
    put(r, ".git/config", b"[core]\n");
    put(r, "docs/a.txt", b"a\n");
    put(r, "docs/b & c.txt", b"b and c\n");
    put(r, "docs/<tag>.txt", b"tag\n");
    put(r, "docs/sub/deep.txt", b"deep\n");
    put(outside.path(), "secret.txt", b"outside the root\n");
    std::os::unix::fs::symlink(r.join("hello.txt"), r.join("inside.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), r.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), r.join("outdir")).unwrap();
    set_times(r);
    Fixture { root, outside }
}

/// Sets every file and folder under `dir` to [`fixture_time`], so validators are stable.
pub fn set_times(dir: &Path) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_symlink() {
            continue;
        }
        if path.is_dir() {
            set_times(&path);
        }
        let f = File::options().read(true).open(&path).unwrap();
        f.set_modified(fixture_time()).unwrap();
    }
}

/// A config for `root` (the demo site when `None`) in `model`, on 127.0.0.1:0.
pub fn config(model: Model, root: Option<&Path>) -> Config {
    let mut c = Config::for_tests(root);
    c.model = model;
    c.workers = 2;
    c
}

/// Starts a server, with the clock fixed when `now` is given.
pub fn start(mut c: Config, now: Option<SystemTime>) -> Server {
    if let Some(t) = now {
        c.clock = Clock::Fixed(t);
    }
    Server::start(c).expect("the server starts")
}

/// Sends `request`, optionally closes the sending side, and reads until the server closes.
pub fn exchange(addr: SocketAddr, pieces: &[&[u8]], close_after: bool) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for p in pieces {
        s.write_all(p).unwrap();
    }
    if close_after {
        s.shutdown(Shutdown::Write).unwrap();
    }
    read_to_close(&mut s)
}

/// Reads until the peer closes (a reset after a complete answer counts as a close).
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!(
                "reading the answer failed after {} bytes: {e}\n{}",
                out.len(),
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

/// One request on a fresh connection, `Connection: close` added; the whole answer.
pub fn get(addr: SocketAddr, path: &str, extra: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n");
    String::from_utf8_lossy(&exchange(addr, &[req.as_bytes()], false)).into_owned()
}
