//! The running proxy replays four-party traces (`tests/traces/proxy/*.trace`): the test plays the
//! client (`C>P:`) and the origin (`O>P:`), and checks byte for byte what the proxy sends each
//! way (`P>O:`, `P>C:`). Every trace runs whole, byte by byte and at seeded random cuts of what
//! the test writes.
//!
//! The proxy runs in-process with a manual clock set from `# now:` (`<wait Nms>` moves it), its
//! name in `Via` fixed to `proxy.test`, and `origin.test:80` / `origin.test:443` resolved to the
//! test's origin listener; any other origin gets the 403 of `--only-loopback-upstreams`, which
//! [`proxy::Options::for_tests`] turns on. Metadata a trace may add:
//!
//! - `# origin: down`: nothing listens at the origin's address (502).
//! - `# upstream-timeout: 300ms`: the proxy's `--upstream-timeout`.
//! - `# cuts: whole ...`: replay only whole writes, for traces whose expected bytes depend on
//!   how the proxy's reads were cut (a streamed body is re-chunked as it arrives).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use protolab_tests::corpus::{load, trace_files, traces_dir};
use wire::testing::Segmentation;
use wire::trace::{render_payload, Event, Item, Tag, Trace};

const PATIENCE: Duration = Duration::from_secs(10);

struct Origin {
    listener: Option<TcpListener>,
    conn: Option<TcpStream>,
}

impl Origin {
    fn conn(&mut self, name: &str) -> &mut TcpStream {
        if self.conn.is_none() {
            let listener = self
                .listener
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: the trace expects P>O but the origin is down"));
            listener.set_nonblocking(false).unwrap();
            let (stream, _) = listener.accept().expect("the proxy connects to the origin");
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
            stream.set_nodelay(true).unwrap();
            self.conn = Some(stream);
        }
        self.conn.as_mut().unwrap()
    }
}

fn read_exactly(stream: &mut TcpStream, len: usize, what: &str) -> Vec<u8> {
    let mut got = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match stream.read(&mut got[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => panic!(
                "{what}: waiting for {} more bytes after {:?}: {e}",
                len - filled,
                String::from_utf8_lossy(&got[..filled])
            ),
        }
    }
    got.truncate(filled);
    got
}

fn expect_bytes(stream: &mut TcpStream, expected: &[u8], what: &str) {
    let got = read_exactly(stream, expected.len(), what);
    pretty_assertions::assert_eq!(
        render_payload("", &got),
        render_payload("", expected),
        "{what}: the proxy sent other bytes than the trace"
    );
}

fn expect_close(stream: &mut TcpStream, what: &str) {
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "{what}: expected the proxy to close, it sent {:?}",
        String::from_utf8_lossy(&rest)
    );
}

fn millis(value: &str) -> Duration {
    let n: u64 = value
        .trim_end_matches("ms")
        .parse()
        .expect("a duration in ms");
    Duration::from_millis(n)
}

/// Replays `trace` once, writing what the test sends in the pieces `cut` gives.
fn replay(name: &str, trace: &Trace, cut: &Segmentation) {
    let dir = tempfile::tempdir().unwrap();
    let origin_down = trace.meta("origin") == Some("down");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin_addr: SocketAddr = listener.local_addr().unwrap();
    let mut origin = Origin {
        listener: (!origin_down).then_some(listener),
        conn: None,
    };
    let now = trace.now().expect("proxy traces set # now:");
    let (clock, hands) = proxy::Clock::manual(now);
    let mut options = proxy::Options::for_tests(dir.path());
    options.clock = clock;
    options.via_name = Some("proxy.test".into());
    options.resolve = vec![
        ("origin.test:80".into(), origin_addr),
        ("origin.test:443".into(), origin_addr),
    ];
    if let Some(timeout) = trace.meta("upstream-timeout") {
        options.upstream_timeout = millis(timeout);
    }
    let proxy = proxy::Proxy::start(options).unwrap();
    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    client.set_nodelay(true).unwrap();

    for (index, item) in trace.items().iter().enumerate() {
        let what = format!("{name} item {index} ({cut:?})");
        match item {
            Item::Data { tag, payload } => {
                let bytes = payload.as_bytes().expect("proxy traces hold plain bytes");
                match tag {
                    Tag::ClientToProxy => {
                        for piece in cut.split(bytes) {
                            client.write_all(piece).unwrap();
                        }
                    }
                    Tag::OriginToProxy => {
                        let conn = origin.conn(&what);
                        for piece in cut.split(bytes) {
                            // A proxy that refuses what the origin sent so far may already have
                            // dropped the connection: the rest cannot be written, and what the
                            // proxy does instead is what the trace checks next.
                            if conn.write_all(piece).is_err() {
                                break;
                            }
                        }
                    }
                    Tag::ProxyToOrigin => expect_bytes(origin.conn(&what), bytes, &what),
                    Tag::ProxyToClient => expect_bytes(&mut client, bytes, &what),
                    other => panic!("{what}: {other} has no place in a proxy trace"),
                }
            }
            Item::Event { tag, event } => match (tag, event) {
                (_, Event::Wait { millis }) => hands.advance(Duration::from_millis(*millis)),
                (Tag::OriginToProxy, Event::Close) => {
                    if let Some(conn) = origin.conn.take() {
                        let _ = conn.shutdown(Shutdown::Both);
                    }
                }
                (Tag::ClientToProxy, Event::Close) => client.shutdown(Shutdown::Write).unwrap(),
                (Tag::ProxyToClient, Event::Close) => expect_close(&mut client, &what),
                (Tag::ProxyToOrigin, Event::Close) => {
                    expect_close(origin.conn(&what), &what);
                    origin.conn = None;
                }
                (tag, event) => panic!("{what}: {tag} {event} is not something this harness plays"),
            },
        }
    }
    drop(client);
    proxy.shutdown();
}

#[test]
fn proxy_replays_four_party_traces() {
    let dir = traces_dir().join("proxy");
    let files = trace_files(&dir);
    assert!(
        files.len() >= 11,
        "the proxy's traces are in {}",
        dir.display()
    );
    for path in files {
        let trace = load(&path);
        let name = Path::new(&path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let seed = trace.seed().unwrap_or(0x9e37);
        let whole_only = trace.meta("cuts").is_some_and(|c| c.starts_with("whole"));
        for cut in Segmentation::standard(seed, 1) {
            if whole_only && cut != Segmentation::Whole {
                continue;
            }
            replay(&name, &trace, &cut);
        }
    }
}
