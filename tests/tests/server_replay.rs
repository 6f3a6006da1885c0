//! Recorded requests (`tests/traces/server/*.trace`) sent to the real server on 127.0.0.1:0,
//! in every I/O model, whole, byte by byte and cut at seeded random points. Every cutting and
//! every model must produce the same answer; the answer is snapshotted as a trace.
//!
//! Trace metadata this runner reads:
//! - `# site: demo` serves the built-in demo site; otherwise the fixture folder (server_common).
//! - `# write: allow` starts the server with `--allow-write`.
//! - `# strict: on` starts it with `--strict` (bare LF line endings refused).
//! - `# now:` fixes the server's clock, so `Date` and the validators are the same every run.
//!
//! Only the `C:` side of a recording is fed; it ends with the server closing (a request with
//! `Connection: close`, an error) or with `C: <close>`. Bodies over 1 KiB are elided in the
//! snapshot as `<body N bytes sha256=...>`.
mod server_common;

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use pretty_assertions::assert_eq;
use server::config::Model;
use server_common::{config, fixture, read_to_close, start, MODELS};
use wire::http1::{ParseOptions, RequestHead};
use wire::testing::Segmentation;
use wire::trace::{Event, Item, Tag, Trace};
use wire::Status;

/// Feeds the `C:` side of `trace` to `addr`, cut as `how`; returns everything the server sent.
fn feed(addr: SocketAddr, trace: &Trace, how: Segmentation) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for item in trace.items() {
        match item {
            Item::Data {
                tag: Tag::Client,
                payload,
            } => {
                let bytes = payload.as_bytes().expect("recorded input is literal");
                for piece in how.split(bytes) {
                    // The server may close early (an error): later writes may fail, that is fine.
                    if s.write_all(piece).is_err() {
                        break;
                    }
                }
            }
            Item::Event {
                tag: Tag::Client,
                event: Event::Close,
            } => {
                let _ = s.shutdown(Shutdown::Write);
            }
            _ => {}
        }
    }
    read_to_close(&mut s)
}

/// The request methods in the fed stream, in order, to know which responses have no body.
fn methods(input: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = input;
    while let Ok(Status::Complete((used, head))) = RequestHead::parse(rest, &ParseOptions::STRICT) {
        out.push(head.method.as_str().to_string());
        let len: usize = head
            .headers
            .get_str("content-length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        rest = &rest[(used + len).min(rest.len())..];
    }
    out
}

/// The server's bytes as a trace, with each long body elided.
fn render_output(out: &[u8], methods: &[String], trace: &mut Trace) {
    let mut rest = out;
    let mut requests = methods.iter();
    while !rest.is_empty() {
        let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
            trace.push_bytes(Tag::Server, rest);
            return;
        };
        let head = &rest[..end + 4];
        trace.push_bytes(Tag::Server, head);
        rest = &rest[end + 4..];
        let text = String::from_utf8_lossy(head).to_ascii_lowercase();
        let status: u16 = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        if (100..200).contains(&status) {
            continue;
        }
        let method = requests.next().map(String::as_str).unwrap_or("GET");
        if method == "HEAD" || status == 204 || status == 304 {
            continue;
        }
        let body_len = if let Some(cl) = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
        {
            cl.trim().parse::<usize>().unwrap_or(0).min(rest.len())
        } else if text.contains("transfer-encoding: chunked") {
            // Chunked bodies are shown whole: the framing is the point.
            chunked_len(rest)
        } else {
            rest.len()
        };
        trace.push_body(Tag::Server, &rest[..body_len], Some(1024));
        rest = &rest[body_len..];
    }
}

fn chunked_len(body: &[u8]) -> usize {
    let mut pos = 0;
    loop {
        let Some(line_end) = body[pos..].windows(2).position(|w| w == b"\r\n") else {
            return body.len();
        };
        let size_text = String::from_utf8_lossy(&body[pos..pos + line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        pos += line_end + 2;
        if size == 0 {
            // No trailers from this server: the empty line ends the body.
            return (pos + 2).min(body.len());
        }
        pos += size + 2;
        if pos >= body.len() {
            return body.len();
        }
    }
}

fn transcript(recorded: &Trace, out: &[u8]) -> String {
    let mut t = Trace::new(recorded.transport());
    for (k, v) in recorded.metadata() {
        t.set_meta(k, v).unwrap();
    }
    let input = recorded.stream(Tag::Client).unwrap();
    for item in recorded.items() {
        match item {
            Item::Data {
                tag: Tag::Client,
                payload,
            } => t.push_payload(Tag::Client, payload.clone()),
            Item::Event {
                tag: Tag::Client,
                event,
            } => t.push_event(Tag::Client, *event),
            _ => {}
        }
    }
    render_output(out, &methods(&input), &mut t);
    t.push_event(Tag::Server, Event::Close);
    t.render()
}

/// Runs one trace against one model in every cutting; returns the transcript.
fn run(path: &Path, recorded: &Trace, model: Model) -> String {
    let fx = fixture();
    let root = (recorded.meta("site") != Some("demo")).then(|| fx.root.path());
    let mut c = config(model, root);
    c.allow_write = recorded.meta("write") == Some("allow");
    c.strict = recorded.meta("strict") == Some("on");
    let server = start(c, recorded.now());
    let addr = server.local_addr();
    let mut first: Option<(Segmentation, String)> = None;
    let cuttings = Segmentation::standard(0x5eed, 2);
    // Traces that change the folder (PUT, DELETE) are fed whole only: a second run would find
    // the folder changed by the first.
    let cuttings: Vec<Segmentation> = if recorded.meta("write") == Some("allow") {
        cuttings[..1].to_vec()
    } else if recorded.stream(Tag::Client).map_or(0, |s| s.len()) > 2048 {
        // Long inputs (the limit tests) are cut at random points only: byte by byte they would
        // cost thousands of round trips and show nothing new.
        cuttings
            .iter()
            .copied()
            .filter(|c| *c != Segmentation::ByteByByte)
            .collect()
    } else {
        cuttings
    };
    for how in cuttings {
        let t0 = std::time::Instant::now();
        let got = transcript(recorded, &feed(addr, recorded, how));
        // The keep-alive timeout is 5 s: a run that long means the trace left the connection
        // open and the server closed it idle, which hides what the trace meant to show.
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(4),
            "{}: {model} model, fed {how:?}, took {:?}: end the trace with `Connection: close` or `C: <close>`",
            path.display(),
            t0.elapsed()
        );
        match &first {
            None => first = Some((how, got)),
            Some((how0, expected)) => {
                assert_eq!(
                    &got,
                    expected,
                    "{}: {model} model, fed {how:?} differs from fed {how0:?}",
                    path.display()
                )
            }
        }
    }
    server.shutdown();
    first.unwrap().1
}

#[test]
fn server_traces() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/server");
    let mut count = 0;
    insta::glob!("../traces/server", "*.trace", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let recorded = Trace::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reference = run(path, &recorded, Model::Epoll);
        for model in &MODELS[1..] {
            let other = run(path, &recorded, *model);
            assert_eq!(
                other,
                reference,
                "{}: the {model} model answers differently from epoll",
                path.display()
            );
        }
        insta::assert_snapshot!(reference);
        count += 1;
    });
    assert!(
        count >= 40,
        "expected at least 40 server traces in {}, found {count}",
        dir.display()
    );
}
