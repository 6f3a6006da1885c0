//! Ranges from the cache, through the `proxy` binary on loopback: once an object is stored,
//! `curl -r` gets 206 with `Content-Range` (several ranges: `multipart/byteranges`), an
//! unsatisfiable range gets 416 with `Content-Range: bytes */LEN`, `If-Range` is honoured, and
//! the origin is not asked again. On a miss the `Range` goes to the origin and its 206 is
//! relayed, not stored.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use common::{header, read_response, ProxyProcess};

/// The current time as an HTTP date (the origin's `Date`: the proxy counts age from it).
fn now() -> wire::http1::date::HttpDate {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    wire::http1::date::HttpDate::from_unix_seconds(seconds as i64).unwrap()
}

/// An origin serving `body` as a cacheable 200 with a strong ETag and a Last-Modified long
/// before its Date, and a canned 206 of bytes 0-9 to a request with `Range` (it reads no
/// range: the tests only check that the range reached it). Counts requests and sends each
/// request head on `heads`.
struct Origin {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    heads: mpsc::Receiver<String>,
}

fn origin(body: &'static [u8]) -> Origin {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let (tx, heads) = mpsc::channel();
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (counter, tx) = (counter.clone(), tx.clone());
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    while let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&got[..p + 4]).into_owned();
                        got.drain(..p + 4);
                        counter.fetch_add(1, Ordering::SeqCst);
                        let ranged = header(&head, "range").is_some();
                        let _ = tx.send(head);
                        let fields = format!(
                            "Date: {}\r\n\
                             Last-Modified: Wed, 31 Dec 2025 00:00:00 GMT\r\n\
                             ETag: \"v1\"\r\n\
                             Cache-Control: max-age=3600\r\n\
                             Content-Type: application/octet-stream\r\n",
                            now()
                        );
                        let (status, part, range) = if ranged {
                            let range = format!("Content-Range: bytes 0-9/{}\r\n", body.len());
                            ("206 Partial Content", &body[..10], range)
                        } else {
                            ("200 OK", body, String::new())
                        };
                        let head = format!(
                            "HTTP/1.1 {status}\r\n{fields}{range}Content-Length: {}\r\n\r\n",
                            part.len()
                        );
                        if stream.write_all(head.as_bytes()).is_err()
                            || stream.write_all(part).is_err()
                        {
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
    Origin {
        addr,
        requests,
        heads,
    }
}

/// `len` bytes that differ from one position to the next, so a wrong offset shows.
fn pattern(len: usize) -> &'static [u8] {
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    Box::leak(bytes.into_boxed_slice())
}

/// Runs curl through the proxy; returns the response head(s) curl saw and the body.
fn curl(proxy: &ProxyProcess, url: &str, args: &[&str]) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let (head, body) = (dir.path().join("head"), dir.path().join("body"));
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-x"])
        .arg(format!("http://{}", proxy.addr))
        .arg("-D")
        .arg(&head)
        .arg("-o")
        .arg(&body)
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs (scripts/install-test-deps.sh installs it)");
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read_to_string(head).unwrap(),
        std::fs::read(body).unwrap(),
    )
}

fn status(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("")
}

#[test]
fn curl_gets_ranges_of_a_cached_8_mib_object() {
    const LEN: usize = 8 * 1024 * 1024;
    let body = pattern(LEN);
    let origin = origin(body);
    let proxy = ProxyProcess::start(&[]);
    let url = format!("http://{}/big.bin", origin.addr);

    let (head, whole) = curl(&proxy, &url, &[]);
    assert_eq!(status(&head), "200", "{head}");
    assert_eq!(header(&head, "x-cache"), Some("MISS"), "{head}");
    assert_eq!(whole.len(), LEN);
    let asked = origin.requests.load(Ordering::SeqCst);

    // One range: 206, Content-Range, exactly those bytes, from the cache.
    let (head, part) = curl(&proxy, &url, &["-r", "0-99"]);
    assert_eq!(status(&head), "206", "{head}");
    assert_eq!(header(&head, "x-cache"), Some("HIT"), "{head}");
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes 0-99/{LEN}").as_str())
    );
    assert_eq!(header(&head, "content-length"), Some("100"));
    assert_eq!(part, &body[..100]);

    // A range in the middle and a suffix, far apart: two parts of multipart/byteranges.
    let (head, multi) = curl(&proxy, &url, &["-r", "4000000-4000009,-5"]);
    assert_eq!(status(&head), "206", "{head}");
    let content_type = header(&head, "content-type").unwrap();
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("a multipart type, not {content_type}"));
    let text = String::from_utf8_lossy(&multi);
    assert!(
        text.contains(&format!("Content-Range: bytes 4000000-4000009/{LEN}\r\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Content-Range: bytes {}-{}/{LEN}\r\n",
            LEN - 5,
            LEN - 1
        )),
        "{text}"
    );
    assert!(multi.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()));
    let first = find(&multi, b"\r\n\r\n").unwrap() + 4;
    assert_eq!(&multi[first..first + 10], &body[4_000_000..4_000_010]);
    assert!(multi
        .windows(7)
        .any(|w| w == [&body[LEN - 5..], &b"\r\n"[..]].concat().as_slice()));

    // Past the end: 416 with the length.
    let (head, _) = curl(&proxy, &url, &["-r", "9000000-"]);
    assert_eq!(status(&head), "416", "{head}");
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes */{LEN}").as_str())
    );

    // If-Range with the stored ETag: the range; with another: the whole object.
    let (head, part) = curl(&proxy, &url, &["-r", "10-19", "-H", "If-Range: \"v1\""]);
    assert_eq!(status(&head), "206", "{head}");
    assert_eq!(part, &body[10..20]);
    let (head, whole) = curl(&proxy, &url, &["-r", "10-19", "-H", "If-Range: \"v0\""]);
    assert_eq!(status(&head), "200", "{head}");
    assert_eq!(whole.len(), LEN);
    // And by date: Last-Modified is long before Date, so it is a strong validator.
    let date = "If-Range: Wed, 31 Dec 2025 00:00:00 GMT";
    let (head, part) = curl(&proxy, &url, &["-r", "-3", "-H", date]);
    assert_eq!(status(&head), "206", "{head}");
    assert_eq!(part, &body[LEN - 3..]);

    assert_eq!(
        origin.requests.load(Ordering::SeqCst),
        asked,
        "every range came from the cache"
    );
}

#[test]
fn a_small_object_in_memory_gives_ranges_too() {
    let body = pattern(1000);
    let origin = origin(body);
    let proxy = ProxyProcess::start(&[]);
    let url = format!("http://{}/small", origin.addr);
    curl(&proxy, &url, &[]);
    let (head, part) = curl(&proxy, &url, &["-r", "990-"]);
    assert_eq!(status(&head), "206", "{head}");
    assert_eq!(header(&head, "content-range"), Some("bytes 990-999/1000"));
    assert_eq!(part, &body[990..]);
    let (head, multi) = curl(&proxy, &url, &["-r", "0-0,500-500,999-999"]);
    assert_eq!(status(&head), "206", "{head}");
    assert!(header(&head, "content-type")
        .unwrap()
        .starts_with("multipart/byteranges"));
    let length: usize = header(&head, "content-length").unwrap().parse().unwrap();
    assert_eq!(multi.len(), length);
    assert_eq!(origin.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn a_miss_forwards_the_range_and_relays_the_206_without_storing_it() {
    let body = pattern(1000);
    let origin = origin(body);
    let proxy = ProxyProcess::start(&[]);
    let target = format!("http://{}/obj", origin.addr);
    let mut client = proxy.connect();
    let ranged = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nRange: bytes=0-9\r\n\r\n",
        origin.addr
    );

    client.write_all(ranged.as_bytes()).unwrap();
    let (head, part) = read_response(&mut client);
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    assert_eq!(header(&head, "x-cache"), Some("MISS"), "{head}");
    assert_eq!(header(&head, "content-range"), Some("bytes 0-9/1000"));
    assert_eq!(part, &body[..10]);
    let forwarded = origin.heads.recv().unwrap();
    assert_eq!(
        header(&forwarded, "range"),
        Some("bytes=0-9"),
        "{forwarded}"
    );

    // The 206 was not stored: the same range again goes to the origin.
    client.write_all(ranged.as_bytes()).unwrap();
    let (head, _) = read_response(&mut client);
    assert_eq!(header(&head, "x-cache"), Some("MISS"), "{head}");
    assert_eq!(origin.requests.load(Ordering::SeqCst), 2);

    // A whole GET stores the object; after it, ranges come from the cache.
    let plain = format!("GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.addr);
    client.write_all(plain.as_bytes()).unwrap();
    let (head, whole) = read_response(&mut client);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(whole, body);
    client.write_all(ranged.as_bytes()).unwrap();
    let (head, part) = read_response(&mut client);
    assert!(
        head.starts_with("HTTP/1.1 206 Partial Content\r\n"),
        "{head}"
    );
    assert_eq!(header(&head, "x-cache"), Some("HIT"), "{head}");
    assert_eq!(part, &body[..10]);
    assert_eq!(origin.requests.load(Ordering::SeqCst), 3);
}

#[test]
fn conditions_come_before_ranges_and_head_ignores_them() {
    let body = pattern(1000);
    let origin = origin(body);
    let proxy = ProxyProcess::start(&[]);
    let target = format!("http://{}/obj", origin.addr);
    let host = origin.addr;
    let mut client = proxy.connect();
    client
        .write_all(format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    read_response(&mut client);

    // If-None-Match matches the stored ETag: 304, whatever the Range (RFC 9110 §13.2.2).
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nIf-None-Match: \"v1\"\r\nRange: bytes=0-9\r\n\r\n"
    );
    client.write_all(request.as_bytes()).unwrap();
    let (head, _) = read_response(&mut client);
    assert!(head.starts_with("HTTP/1.1 304 "), "{head}");

    // HEAD: Range applies to GET only, so the whole object's head.
    let request = format!("HEAD {target} HTTP/1.1\r\nHost: {host}\r\nRange: bytes=0-9\r\n\r\n");
    client.write_all(request.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&got).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(header(&head, "content-length"), Some("1000"));
    assert_eq!(header(&head, "content-range"), None);

    // Two lines of Range are no valid range set: the whole object (RFC 9110 §14.2 ignore).
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nRange: bytes=0-9\r\nRange: bytes=20-29\r\n\r\n"
    );
    client.write_all(request.as_bytes()).unwrap();
    let (head, whole) = read_response(&mut client);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(whole.len(), 1000);
    assert_eq!(origin.requests.load(Ordering::SeqCst), 1);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
