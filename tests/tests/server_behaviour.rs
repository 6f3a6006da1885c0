//! What a replay cannot show: timers, limits, counters, logs, reloads, graceful stops and
//! interrupted uploads, each checked in all three I/O models.
mod server_common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use server::config::{LogTarget, Model};
use server_common::{config, exchange, fixture, get, read_to_close, start, MODELS};

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one response head (up to the empty line) from a stream, byte by byte.
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            other => panic!(
                "the head ended early ({other:?}): {}",
                String::from_utf8_lossy(&head)
            ),
        }
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn a_slow_head_gets_408_and_tricklers_do_not_delay_others() {
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.header_timeout = Duration::from_millis(800);
        let server = start(c, None);
        let addr = server.local_addr();
        // 200 connections that send part of a head and then nothing.
        let mut tricklers: Vec<TcpStream> = (0..200)
            .map(|_| {
                let mut s = connect(addr);
                s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
                    .unwrap();
                s
            })
            .collect();
        let started = Instant::now();
        let answer = get(addr, "/hello.txt", "");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{model}: {answer}");
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{model}: a normal request waited {:?}",
            started.elapsed()
        );
        // Each trickler is answered 408 and closed once the header timeout passes.
        let t = &mut tricklers[0];
        let rest = String::from_utf8_lossy(&read_to_close(t)).into_owned();
        assert!(
            rest.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{model}: {rest}"
        );
        assert!(rest.contains("Connection: close\r\n"), "{model}: {rest}");
        for t in &mut tricklers[1..] {
            let _ = read_to_close(t);
        }
        server.shutdown();
    }
}

/// The 408 a request that stopped arriving gets, byte for byte (the core's response, sent
/// through the same path as every other, with the fixed clock's date).
fn request_timeout(what: &str) -> String {
    let text =
        format!("408 Request Timeout: the {what} did not arrive within the server's time limit\n");
    format!(
        "HTTP/1.1 408 Request Timeout\r\n\
         Server: protolab\r\n\
         Date: Thu, 01 Jan 2026 12:00:00 GMT\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n\
         {text}",
        text.len()
    )
}

#[test]
fn a_request_that_stops_arriving_gets_exactly_one_408() {
    let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_268_800);
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.header_timeout = Duration::from_millis(300);
        c.allow_write = true;
        let server = start(c, Some(now));
        let addr = server.local_addr();
        let mut half_head = connect(addr);
        half_head
            .write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut half_body = connect(addr);
        half_body
            .write_all(b"PUT /up.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            .unwrap();
        let head_answer = String::from_utf8_lossy(&read_to_close(&mut half_head)).into_owned();
        assert_eq!(head_answer, request_timeout("request head"), "{model}");
        // An upload waits for its body, which stops after 3 of its 10 bytes.
        let body_answer = String::from_utf8_lossy(&read_to_close(&mut half_body)).into_owned();
        assert_eq!(body_answer, request_timeout("request body"), "{model}");
        assert!(
            !fx.root.path().join("up.txt").exists(),
            "{model}: nothing stored"
        );
        server.shutdown();
    }
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_its_timeout() {
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.keep_alive_timeout = Duration::from_millis(300);
        let server = start(c, None);
        let mut s = connect(server.local_addr());
        s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let head = read_head(&mut s);
        assert!(!head.contains("Connection: close"), "{model}: {head}");
        let started = Instant::now();
        let rest = read_to_close(&mut s);
        assert_eq!(
            rest, b"hello, world\n",
            "{model}: only the body, then the close"
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
            "{model}: closed after {waited:?}"
        );
        server.shutdown();
    }
}

#[test]
fn beyond_max_connections_an_immediate_503() {
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.max_connections = 2;
        let server = start(c, None);
        let addr = server.local_addr();
        let mut held: Vec<TcpStream> = (0..2).map(|_| connect(addr)).collect();
        // Make sure both are admitted before the third arrives.
        for h in &mut held {
            h.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let _ = read_head(h);
        }
        let started = Instant::now();
        // With a request: a connection that sends nothing is not accepted yet (TCP_DEFER_ACCEPT).
        let one: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        let answer = String::from_utf8_lossy(&exchange(addr, &[one], false)).into_owned();
        assert!(
            answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{model}: {answer}"
        );
        assert!(
            answer.contains("Retry-After: 1\r\n") && answer.contains("Connection: close\r\n"),
            "{model}: {answer}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{model}: the 503 took {:?}",
            started.elapsed()
        );
        drop(held);
        server.shutdown();
    }
}

#[test]
fn a_silent_connection_takes_no_place_until_it_speaks() {
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.max_connections = 1;
        let server = start(c, None);
        let addr = server.local_addr();
        // Connected, but silent: the kernel holds it back from accept (TCP_DEFER_ACCEPT), so
        // it neither fills the one place nor gets a 503.
        let silent = connect(addr);
        let answer = get(addr, "/hello.txt", "");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{model}: {answer}");
        // Once it speaks it is served like any other.
        let mut silent = silent;
        silent
            .write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let answer = String::from_utf8_lossy(&read_to_close(&mut silent)).into_owned();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{model}: {answer}");
        server.shutdown();
    }
}

#[test]
fn the_request_cap_closes_the_connection() {
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.requests_per_connection = 2;
        let server = start(c, None);
        let one = b"GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        let out = String::from_utf8_lossy(&exchange(server.local_addr(), &[one, one, one], false))
            .into_owned();
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{model}: {out}");
        assert_eq!(
            out.matches("Connection: close").count(),
            1,
            "{model}: the second answer says close: {out}"
        );
        server.shutdown();
    }
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.allow_write = true;
        let server = start(c, None);
        let mut s = connect(server.local_addr());
        s.write_all(b"PUT /late.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").unwrap();
        assert_eq!(
            read_head(&mut s),
            "HTTP/1.1 100 Continue\r\n\r\n",
            "{model}"
        );
        s.write_all(b"hello").unwrap();
        let head = read_head(&mut s);
        assert!(
            head.starts_with("HTTP/1.1 201 Created\r\n"),
            "{model}: {head}"
        );
        assert_eq!(
            std::fs::read(fx.root.path().join("late.txt")).unwrap(),
            b"hello"
        );
        server.shutdown();
    }
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Waits until the server has admitted `admitted` connections and closed every one of them. A
/// connection counts as closed only after its cleanup ran (an unfinished upload's temporary file
/// is removed when the connection is finished), so what it left behind can be looked at once.
fn wait_until_all_closed(server: &server::Server, admitted: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let handled = server.status().handled;
        let open = server.shared().open.load(SeqCst);
        if handled >= admitted && open == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: after 10s the server has admitted {handled} of {admitted} connections and still \
             has {open} open",
            server.model()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn an_interrupted_upload_leaves_nothing_behind() {
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.allow_write = true;
        let server = start(c, None);
        let before = leftovers(&fx.root.path().join("docs"));
        let mut s = connect(server.local_addr());
        s.write_all(b"PUT /docs/half.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            .unwrap();
        s.write_all(&[7u8; 30000]).unwrap();
        // The client vanishes mid-body. The answer to another request does not show that the
        // server is done with the upload (another thread or loop may not even have begun it):
        // its counters do, once both connections are admitted and closed.
        drop(s);
        let probe = get(server.local_addr(), "/server-status", "");
        assert!(probe.starts_with("HTTP/1.1 200"), "{probe}");
        wait_until_all_closed(&server, 2);
        assert_eq!(
            leftovers(&fx.root.path().join("docs")),
            before,
            "{model}: no partial or temporary file"
        );
        // An existing file being replaced keeps its old content when the upload is cut short.
        let root_before = leftovers(fx.root.path());
        let mut s = connect(server.local_addr());
        s.write_all(b"PUT /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nshort")
            .unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let _ = read_to_close(&mut s);
        wait_until_all_closed(&server, 3);
        assert_eq!(
            std::fs::read(fx.root.path().join("hello.txt")).unwrap(),
            b"hello, world\n",
            "{model}"
        );
        assert_eq!(
            leftovers(fx.root.path()),
            root_before,
            "{model}: no temporary file"
        );
        server.shutdown();
    }
}

#[test]
fn a_stop_that_cuts_an_upload_short_leaves_nothing_behind() {
    for model in MODELS {
        let fx = fixture();
        let mut c = config(model, Some(fx.root.path()));
        c.allow_write = true;
        c.grace = Duration::from_millis(200);
        let server = start(c, None);
        let docs = fx.root.path().join("docs");
        let before = leftovers(&docs);
        let mut s = connect(server.local_addr());
        s.write_all(b"PUT /docs/stalled.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            .unwrap();
        s.write_all(&[7u8; 1000]).unwrap();
        // The upload has begun once its temporary file is there; then the client stalls, still
        // connected, and the stop's grace period runs out.
        let deadline = Instant::now() + Duration::from_secs(10);
        while leftovers(&docs).len() == before.len() {
            assert!(Instant::now() < deadline, "{model}: the upload never began");
            std::thread::sleep(Duration::from_millis(5));
        }
        server.shutdown();
        assert_eq!(
            leftovers(&docs),
            before,
            "{model}: the stop removed the cut-short upload's temporary file"
        );
        drop(s);
    }
}

#[test]
fn server_status_counts_connections_and_requests() {
    for model in MODELS {
        let fx = fixture();
        let server = start(config(model, Some(fx.root.path())), None);
        let addr = server.local_addr();
        let one = b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        let _ = exchange(
            addr,
            &[
                one,
                one,
                b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ],
            false,
        );
        let mut idle = connect(addr);
        idle.write_all(one).unwrap();
        let _ = read_head(&mut idle);
        // The idle connection's server side may still be finishing its write: ask until the
        // gauges settle (they must within a moment).
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut fetches = 0;
        let body = loop {
            fetches += 1;
            let page = get(addr, "/server-status", "");
            let body = page.split("\r\n\r\n").nth(1).unwrap().to_string();
            if body.ends_with("Reading: 0 Writing: 1 Waiting: 1\n") || Instant::now() > deadline {
                break body;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[0], "Active connections: 2", "{model}: {body}");
        assert_eq!(lines[1], "server accepts handled requests");
        let counts: Vec<u64> = lines[2]
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        // Connections: the pipelined one, the idle one, and one per status fetch.
        assert_eq!(counts[..2], [2 + fetches, 2 + fetches], "{model}: {body}");
        assert_eq!(counts[2], 4 + fetches, "{model}: {body}");
        assert_eq!(
            lines[3], "Reading: 0 Writing: 1 Waiting: 1",
            "{model}: {body}"
        );
        drop(idle);
        server.shutdown();
    }
}

#[test]
fn the_access_log_is_combined_log_format() {
    for model in MODELS {
        let fx = fixture();
        let log = fx.outside.path().join("access.log");
        let mut c = config(model, Some(fx.root.path()));
        c.access_log = Some(LogTarget::File(log.clone()));
        let server = start(c, None);
        let _ = get(
            server.local_addr(),
            "/hello.txt",
            "Referer: http://x/\r\nUser-Agent: probe/1.0\r\n",
        );
        let _ = get(server.local_addr(), "/nope", "");
        server.shutdown();
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{model}: {text}");
        let (first, rest) = lines[0].split_once(" [").unwrap();
        assert_eq!(first, "127.0.0.1 - -");
        let (_date, rest) = rest.split_once("] ").unwrap();
        assert_eq!(
            rest, "\"GET /hello.txt HTTP/1.1\" 200 13 \"http://x/\" \"probe/1.0\"",
            "{model}"
        );
        assert!(
            lines[1].ends_with("\"GET /nope HTTP/1.1\" 404 42 \"-\" \"-\""),
            "{model}: {}",
            lines[1]
        );
    }
}

#[test]
fn a_graceful_stop_finishes_requests_in_flight() {
    for model in MODELS {
        let fx = fixture();
        let server = start(config(model, Some(fx.root.path())), None);
        let addr = server.local_addr();
        // A slow streamed response is in flight when the stop begins.
        let demo = start(config(model, None), None);
        let mut s = connect(demo.local_addr());
        s.write_all(b"GET /chunked?n=4&delay_ms=150 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let head = read_head(&mut s);
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        let mut idle = connect(addr);
        idle.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let _ = read_head(&mut idle);
        let stopper = std::thread::spawn(move || {
            demo.shutdown();
            server.shutdown();
        });
        let body = String::from_utf8_lossy(&read_to_close(&mut s)).into_owned();
        assert!(
            body.contains("line 4 of 4") && body.ends_with("0\r\n\r\n"),
            "{model}: the stream finished: {body}"
        );
        // The idle keep-alive connection is closed, and nobody listens any more.
        let mut rest = Vec::new();
        let _ = idle.read_to_end(&mut rest);
        stopper.join().unwrap();
        assert!(
            TcpStream::connect(addr).is_err(),
            "{model}: still accepting after the stop"
        );
    }
}

#[test]
fn a_reload_applies_new_settings_to_open_connections() {
    for model in MODELS {
        let fx = fixture();
        let server = start(config(model, Some(fx.root.path())), None);
        let mut s = connect(server.local_addr());
        s.write_all(b"GET /style.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
            .unwrap();
        let head = read_head(&mut s);
        assert!(head.contains("Content-Encoding: gzip"), "{model}: {head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        let mut body = vec![0; len];
        s.read_exact(&mut body).unwrap();
        let mut c = config(model, Some(fx.root.path()));
        c.gzip = false;
        server.reload(c).unwrap();
        // The same connection, kept open across the reload, now gets plain bytes.
        s.write_all(b"GET /style.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n").unwrap();
        let rest = String::from_utf8_lossy(&read_to_close(&mut s)).into_owned();
        assert!(
            rest.starts_with("HTTP/1.1 200 OK") && !rest.contains("Content-Encoding"),
            "{model}: {rest}"
        );
        server.shutdown();
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn bad_input_never_leaks_a_descriptor_or_stops_a_worker() {
    let nasty: &[&[u8]] = &[
        b"\x00\x01\x02\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET /%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=99999999999999999999-\r\n\r\n",
        b"GET /big.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,30-30,32-32,34-34\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: yesterday\r\nIf-None-Match: \"unterminated\r\n\r\n",
        b"GET /docs/?C=Z;O=Q HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=abc, *;q=2\r\n\r\n",
        b"OPTIONS * HTTP/1.0\r\n\r\n",
    ];
    for model in MODELS {
        let fx = fixture();
        let server = start(config(model, Some(fx.root.path())), None);
        let addr = server.local_addr();
        let before = open_fds();
        for _ in 0..3 {
            for input in nasty {
                let out = exchange(addr, &[input], true);
                assert!(
                    out.starts_with(b"HTTP/1.1 "),
                    "{model}: {:?} got {:?}",
                    String::from_utf8_lossy(input),
                    String::from_utf8_lossy(&out)
                );
            }
        }
        // Still serving, and every descriptor opened for those connections is closed again.
        assert!(
            get(addr, "/hello.txt", "").starts_with("HTTP/1.1 200 OK"),
            "{model}"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while open_fds() > before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            open_fds() <= before,
            "{model}: {} descriptors open, {before} before",
            open_fds()
        );
        server.shutdown();
    }
}

#[test]
fn the_threads_model_is_one_thread_per_connection() {
    let fx = fixture();
    let server = start(config(Model::Threads, Some(fx.root.path())), None);
    let held: Vec<TcpStream> = (0..20).map(|_| connect(server.local_addr())).collect();
    let answer = get(server.local_addr(), "/hello.txt", "");
    assert!(answer.starts_with("HTTP/1.1 200 OK"));
    drop(held);
    server.shutdown();
}
