//! [`Conn::event_bytes`] and the framing each side decided ([`Conn::their_framing`],
//! [`Conn::our_framing`]), fed whole, byte by byte and at seeded random cuts.

use pretty_assertions::assert_eq;

use super::super::*;
use super::{get_request, response};
use crate::http1::Leniencies;
use crate::testing::{Segmentation, RANDOM_CUTTINGS};

const CHUNKED_POST: &[u8] = b"\
    POST /up HTTP/1.1\r\n\
    Host: a\r\n\
    Transfer-Encoding: chunked\r\n\
    \r\n\
    3;x=y\r\n\
    abc\r\n\
    10\r\n\
    0123456789abcdef\r\n\
    0\r\n\
    T: v\r\n\
    \r\n";

const LENGTH_POST: &[u8] = b"\
    POST /f HTTP/1.1\r\n\
    Host: a\r\n\
    Content-Length: 5\r\n\
    \r\n\
    hello";

/// Typed with bare LFs and a folded line: the bytes come back as they were, not as parsed.
const TYPED_GET: &[u8] = b"\
    GET /inspect HTTP/1.1\n\
    Host: a\n\
    X-Folded: one\r\n two\r\n\
    \n";

fn lenient_server() -> Conn {
    let mut options = ConnOptions::default();
    options.parse.leniencies = Leniencies {
        bare_lf: true,
        obs_fold: true,
        ..Leniencies::NONE
    };
    Conn::server(options)
}

/// What a server shell sees of each request: the bytes of every event from its head to its end.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    /// Per request, the concatenated `event_bytes` from its head to its end.
    requests: Vec<Vec<u8>>,
    /// Every event's bytes, in order.
    all: Vec<u8>,
    /// The peer's framing as seen at each head.
    framings: Vec<BodyLength>,
}

/// Feeds `pieces` to a server that answers each request at its end (or at its head when
/// `early`, leaving the body to be drained) and collects what [`Conn::event_bytes`] said.
fn serve(pieces: &[&[u8]], early: bool) -> Seen {
    let mut conn = lenient_server();
    let mut seen = Seen::default();
    for piece in pieces {
        conn.handle_bytes(piece);
        loop {
            let event = conn.poll_event().unwrap();
            let (head, end, more) = match event {
                Event::Request(_) => (true, false, true),
                Event::Data(_) => (false, false, true),
                Event::EndOfMessage(_) => (false, true, true),
                Event::NeedData | Event::Paused => (false, false, false),
                other => panic!("unexpected {other:?}"),
            };
            let bytes = conn.event_bytes().to_vec();
            seen.all.extend_from_slice(&bytes);
            if head {
                seen.requests.push(Vec::new());
                let framing = conn.their_framing().expect("a head was read");
                seen.framings.push(framing.body);
            }
            if let Some(current) = seen.requests.last_mut() {
                current.extend_from_slice(&bytes);
            }
            if (end && conn.server_state() == State::SendResponse) || (head && early) {
                conn.send_response(&response(204, &[])).unwrap();
                conn.send_end(None).unwrap();
                while let Some(t) = conn.poll_transmit() {
                    let n = match t {
                        Transmit::Bytes(b) => b.len() as u64,
                        Transmit::Body(n) => n,
                    };
                    conn.advance_transmit(n).unwrap();
                }
            }
            if !more {
                break;
            }
        }
    }
    seen
}

#[test]
fn each_request_is_given_back_exactly_as_it_arrived() {
    let input = [CHUNKED_POST, LENGTH_POST, TYPED_GET].concat();
    for cutting in Segmentation::standard(0x5eed, RANDOM_CUTTINGS) {
        let seen = serve(&cutting.split(&input), false);
        assert_eq!(
            seen.requests,
            vec![
                CHUNKED_POST.to_vec(),
                LENGTH_POST.to_vec(),
                TYPED_GET.to_vec()
            ],
            "fed {}",
            cutting
        );
        assert_eq!(seen.all, input, "fed {}", cutting);
        assert_eq!(
            seen.framings,
            vec![
                BodyLength::Chunked,
                BodyLength::ContentLength(5),
                BodyLength::Empty
            ],
            "fed {}",
            cutting
        );
    }
}

#[test]
fn a_drained_body_belongs_to_no_event() {
    // Answered at its head, each POST's body is drained without events: the next request's
    // bytes are its own, not the end of the body before it.
    let input = [LENGTH_POST, CHUNKED_POST, TYPED_GET].concat();
    let heads = [
        &LENGTH_POST[..LENGTH_POST.len() - 5],
        &CHUNKED_POST[..CHUNKED_POST.iter().position(|&b| b == b'3').unwrap()],
        TYPED_GET,
    ];
    for cutting in Segmentation::standard(0x5eed, RANDOM_CUTTINGS) {
        let seen = serve(&cutting.split(&input), true);
        let text = |all: &[Vec<u8>]| -> Vec<String> {
            all.iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect()
        };
        let want: Vec<Vec<u8>> = heads.iter().map(|h| h.to_vec()).collect();
        assert_eq!(text(&seen.requests), text(&want), "fed {}", cutting);
    }
}

#[test]
fn the_bytes_last_until_the_shell_reads_again() {
    let mut conn = server();
    conn.handle_bytes(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    assert_eq!(conn.event_bytes(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(conn.buffered_len(), 0);
    // Gone once the shell is given room to read again.
    let _ = conn.receive_buffer();
    assert_eq!(conn.event_bytes(), b"");
    // An event that uses nothing has no bytes.
    assert!(matches!(conn.poll_event(), Ok(Event::EndOfMessage(_))));
    assert_eq!(conn.event_bytes(), b"");
}

fn server() -> Conn {
    Conn::server(ConnOptions::default())
}

#[test]
fn a_client_gets_the_response_as_it_arrived() {
    const RESPONSE: &[u8] = b"\
        HTTP/1.1 200 OK\r\n\
        Transfer-Encoding: chunked\r\n\
        \r\n\
        2\r\n\
        ok\r\n\
        0\r\n\
        \r\n";
    for cutting in Segmentation::standard(0x5eed, RANDOM_CUTTINGS) {
        let mut conn = Conn::client(ConnOptions::default());
        conn.send_request(&get_request(Method::Get, "/", &[]))
            .unwrap();
        assert_eq!(conn.our_framing(), Some(BodyLength::Empty));
        let (mut head_bytes, mut all) = (Vec::new(), Vec::new());
        for piece in cutting.split(RESPONSE) {
            conn.handle_bytes(piece);
            loop {
                let event = conn.poll_event().unwrap();
                let done = matches!(event, Event::NeedData | Event::EndOfMessage(_));
                if let Event::Response(_) = event {
                    head_bytes = conn.event_bytes().to_vec();
                    assert_eq!(
                        conn.their_framing().map(|f| &f.body),
                        Some(&BodyLength::Chunked)
                    );
                }
                all.extend_from_slice(conn.event_bytes());
                if done {
                    break;
                }
            }
        }
        assert_eq!(head_bytes, &RESPONSE[..47], "fed {}", cutting);
        assert_eq!(all, RESPONSE, "fed {}", cutting);
        // The exchange is over: neither side has a current message.
        assert_eq!(conn.their_framing(), None);
        assert_eq!(conn.our_framing(), None);
    }
}

/// The framing a server's response went out with, to a request from `version` with `method`.
fn sent_framing(version: Version, method: Method, head: &ResponseHead) -> Option<BodyLength> {
    let mut conn = server();
    let line = format!("{method} / {version}\r\nHost: a\r\n\r\n");
    conn.handle_bytes(line.as_bytes());
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    assert_eq!(conn.our_framing(), None, "before the response");
    conn.send_response(head).unwrap();
    conn.our_framing()
}

#[test]
fn our_framing_is_what_the_response_head_decided() {
    let v11 = Version::Http11;
    let length = response(200, &[("Content-Length", "12")]);
    assert_eq!(
        sent_framing(v11, Method::Get, &length),
        Some(BodyLength::ContentLength(12))
    );
    let unframed = response(200, &[]);
    assert_eq!(
        sent_framing(v11, Method::Get, &unframed),
        Some(BodyLength::Chunked),
        "the core adds chunked for HTTP/1.1"
    );
    assert_eq!(
        sent_framing(Version::Http10, Method::Get, &unframed),
        Some(BodyLength::CloseDelimited),
        "and closes for HTTP/1.0"
    );
    assert_eq!(
        sent_framing(v11, Method::Head, &length),
        Some(BodyLength::Empty)
    );
    assert_eq!(
        sent_framing(v11, Method::Get, &response(304, &[])),
        Some(BodyLength::Empty)
    );
    let mut connect = server();
    connect.handle_bytes(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
    assert!(matches!(connect.poll_event(), Ok(Event::Request(_))));
    assert!(matches!(connect.poll_event(), Ok(Event::EndOfMessage(_))));
    connect.send_response(&response(200, &[])).unwrap();
    assert_eq!(connect.our_framing(), Some(BodyLength::Tunnel));
}
