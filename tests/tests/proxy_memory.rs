//! A 1 GiB response streams through the proxy with bounded memory: the process's peak resident
//! size grows by less than 64 MiB while the whole body passes (too large to store, it is only
//! relayed). Its own test binary, so no other test's allocations count.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

const GIB: u64 = 1 << 30;

/// Peak resident set size of this process, in bytes (Linux: VmHWM in /proc/self/status).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn a_gibibyte_streams_through_in_bounded_memory() {
    let origin = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin_addr = origin.local_addr().unwrap();
    let serving = std::thread::spawn(move || {
        let (mut stream, _) = origin.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: {GIB}\r\n\r\n"
        )
        .unwrap();
        let block = vec![b'x'; 256 * 1024];
        let mut left = GIB;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            stream.write_all(&block[..n]).unwrap();
            left -= n as u64;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let proxy = proxy::Proxy::start(proxy::Options::for_tests(dir.path())).unwrap();
    let before = peak_rss();

    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    write!(
        client,
        "GET http://{origin_addr}/big HTTP/1.1\r\nHost: {origin_addr}\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(client);
    let mut head = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 2 {
        head.push_str(&line);
        line.clear();
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains(&format!("Content-Length: {GIB}")), "{head}");
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0u64;
    while received < GIB {
        let n = reader.read(&mut buf).unwrap();
        assert!(n > 0, "the body ended after {received} bytes");
        assert!(buf[..n].iter().all(|&b| b == b'x'));
        received += n as u64;
    }
    serving.join().unwrap();
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "peak memory grew by {} MiB while 1 GiB went through",
        grown >> 20
    );
    assert_eq!(
        proxy.cache_usage(),
        (0, 0),
        "a 1 GiB body is larger than the cache stores"
    );
    proxy.shutdown();
}
