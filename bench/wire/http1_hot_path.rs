//! The HTTP/1.1 hot path of a static file server, one phase at a time, for instruction counts.
//!
//! Run under callgrind by `bench/wire/run.sh`, which runs each phase twice with different
//! iteration counts and divides the difference, so start-up costs cancel out and the figure is
//! the cost of one request. Instruction counts are repeatable on a busy machine; wall-clock
//! time is not, so this program prints no timings.
//!
//! ```text
//! http1_hot_path PHASE ITERATIONS
//!   raw-wrk      RawRequest::parse of wrk's request (request line and Host)
//!   raw-curl     RawRequest::parse of curl's request (90 bytes, three fields)
//!   raw-browser  RawRequest::parse of a browser's request (about 500 bytes, eleven fields)
//!   raw-large    RawRequest::parse of a 28 KiB head (90 fields of about 300 bytes)
//!   httparse-*   the same three with the httparse crate, for reference
//!   head-wrk     RequestHead::parse (raw view, then the validated owned head)
//!   head-curl
//!   head-browser
//!   write        a 200 head as the server builds it (seven fields), written into a Vec
//!   exchange     one whole keep-alive exchange through a server Conn: wrk's request in,
//!                its events out, the 200 head and a 1 KiB body queued and drained
//! ```
use std::hint::black_box;
use std::time::{Duration, SystemTime};

use wire::http1::conn::{Conn, ConnOptions, Event, Transmit};
use wire::http1::date::DateCache;
use wire::http1::{ParseOptions, RawRequest, RequestHead, ResponseHead, StatusCode};
use wire::Status;

const WRK: &[u8] = b"\
    GET /1k.bin HTTP/1.1\r\n\
    Host: 127.0.0.1:8080\r\n\
    \r\n";

const CURL: &[u8] = b"\
    GET /1k.bin HTTP/1.1\r\n\
    Host: 127.0.0.1:8080\r\n\
    User-Agent: curl/8.5.0\r\n\
    Accept: */*\r\n\
    \r\n";

const BROWSER: &[u8] = b"\
    GET /docs/index.html?lang=en HTTP/1.1\r\n\
    Host: localhost:8080\r\n\
    Connection: keep-alive\r\n\
    Cache-Control: max-age=0\r\n\
    Upgrade-Insecure-Requests: 1\r\n\
    User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n\
    Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
    Sec-Fetch-Site: none\r\n\
    Sec-Fetch-Mode: navigate\r\n\
    Accept-Encoding: gzip, deflate, br, zstd\r\n\
    Accept-Language: en-GB,en;q=0.9\r\n\
    If-None-Match: \"5f3a-400\"\r\n\
    \r\n";

const BODY: [u8; 1024] = [b'x'; 1024];

/// A request line, Host, then 90 fields of about 300 bytes: 28 KiB.
fn large() -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    for i in 0..90 {
        head.extend_from_slice(format!("X-Field-{i:02}: {}\r\n", "v".repeat(300)).as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn request(name: &str) -> Vec<u8> {
    match name {
        "wrk" => WRK.to_vec(),
        "curl" => CURL.to_vec(),
        "browser" => BROWSER.to_vec(),
        "large" => large(),
        other => panic!("no request named {other:?} (wrk, curl, browser, large)"),
    }
}

/// The fields the server puts on a 200 for a static file, in its order.
fn response_head(date: &[u8]) -> ResponseHead {
    let mut head = ResponseHead::new(StatusCode::OK);
    let h = &mut head.headers;
    h.append("Server", "protolab").unwrap();
    h.append("Date", date).unwrap();
    h.append("Content-Type", "application/octet-stream")
        .unwrap();
    h.append("Last-Modified", "Thu, 01 Jan 2026 12:00:00 GMT")
        .unwrap();
    h.append("ETag", "\"67566a00-400\"").unwrap();
    h.append("Accept-Ranges", "bytes").unwrap();
    h.append("Content-Length", BODY.len().to_string()).unwrap();
    head
}

fn raw(input: &[u8]) -> usize {
    match RawRequest::parse(black_box(input), &ParseOptions::STRICT) {
        Ok(Status::Complete((n, raw))) => n + raw.fields.len(),
        other => panic!("{other:?}"),
    }
}

fn head(input: &[u8]) -> usize {
    match RequestHead::parse(black_box(input), &ParseOptions::STRICT) {
        Ok(Status::Complete((n, head))) => n + head.headers.len(),
        other => panic!("{other:?}"),
    }
}

fn httparse(input: &[u8]) -> usize {
    let mut fields = [httparse::EMPTY_HEADER; 100];
    let mut request = httparse::Request::new(&mut fields);
    match request.parse(black_box(input)) {
        Ok(httparse::Status::Complete(n)) => n + request.headers.len(),
        other => panic!("{other:?}"),
    }
}

/// One keep-alive exchange on `conn`, the way the server drives it.
fn exchange(conn: &mut Conn, dates: &mut DateCache, now: SystemTime) -> usize {
    let room = conn.receive_buffer();
    room[..WRK.len()].copy_from_slice(WRK);
    conn.handle_received(WRK.len());
    match conn.poll_event() {
        Ok(Event::Request(head)) => {
            black_box(head);
        }
        other => panic!("{other:?}"),
    }
    match conn.poll_event() {
        Ok(Event::EndOfMessage(trailers)) => {
            black_box(trailers);
        }
        other => panic!("{other:?}"),
    }
    let head = response_head(dates.imf_fixdate(now));
    conn.send_response(&head).unwrap();
    conn.send_data(&BODY).unwrap();
    conn.send_end(None).unwrap();
    let mut written = 0;
    while let Some(transmit) = conn.poll_transmit() {
        let n = match transmit {
            Transmit::Bytes(bytes) => black_box(bytes).len() as u64,
            Transmit::Body(n) => n,
        };
        written += n as usize;
        conn.advance_transmit(n).unwrap();
    }
    match conn.poll_event() {
        Ok(Event::NeedData) => {}
        other => panic!("{other:?}"),
    }
    written
}

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: http1_hot_path PHASE ITERATIONS (see the source for the phases)";
    let phase = args.next().expect(usage);
    let iterations: u64 = args.next().and_then(|n| n.parse().ok()).expect(usage);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_268_800);
    let mut dates = DateCache::new(now);
    let mut conn = Conn::server(ConnOptions::default());
    let mut out = Vec::with_capacity(1024);
    let input = phase.split_once('-').map(|(_, name)| request(name));
    let input = input.as_deref().unwrap_or_default();
    let mut total = 0usize;
    for _ in 0..iterations {
        total += match phase.split_once('-') {
            Some(("raw", _)) => raw(input),
            Some(("head", _)) => head(input),
            Some(("httparse", _)) => httparse(input),
            None if phase == "write" => {
                out.clear();
                response_head(dates.imf_fixdate(now)).write_to(&mut out);
                black_box(&out).len()
            }
            None if phase == "exchange" => exchange(&mut conn, &mut dates, now),
            _ => panic!("no phase named {phase:?}"),
        };
    }
    println!("{phase}: {iterations} iterations, checksum {total}");
}
