//! Full exchanges for both roles, each fed whole, byte by byte and at seeded random cuts.
//!
//! A test is a list of input segments (what the peer sends, in rounds) and an application that
//! reacts to events; the driver records what the application saw and what the connection sent,
//! merged so that the record does not depend on how the bytes were cut, and checks that every
//! cutting gives the same record.

use pretty_assertions::assert_eq;
use proptest::prelude::any;

use super::*;
use crate::http1::chunked::escape_bytes;
use crate::http1::{StatusCode, Target};
use crate::testing::{Segmentation, RANDOM_CUTTINGS};

/// What the application saw, or what the connection sent, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// A request head, as its request line.
    Request(String),
    /// An interim response's status.
    Interim(u16),
    /// A final response head, as its status line.
    Response(String),
    /// Body data (adjacent reads merged), escaped.
    Data(String),
    /// End of message with trailer fields.
    End(Vec<(String, String)>),
    Switched,
    Closed(CloseReason),
    /// A protocol error: its status hint and message.
    Error(u16, String),
    /// Bytes written, one wire line per string (escaped; adjacent writes merged).
    Sent(Vec<String>),
}

fn escaped(bytes: &[u8]) -> String {
    let mut text = String::new();
    escape_bytes(bytes, &mut text).expect("writing to a String");
    text
}

/// Splits written bytes into wire lines (each ending after `\n`), escaped.
fn wire_lines(bytes: &[u8]) -> Vec<String> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(escaped)
        .collect()
}

fn sent(bytes: &[u8]) -> Seen {
    Seen::Sent(wire_lines(bytes))
}

fn data(text: &str) -> Seen {
    Seen::Data(escaped(text.as_bytes()))
}

fn end() -> Seen {
    Seen::End(vec![])
}

fn request_line(line: &str) -> Seen {
    Seen::Request(line.into())
}

fn status_line(line: &str) -> Seen {
    Seen::Response(line.into())
}

/// A record being built: data and sent bytes merge with what came just before.
#[derive(Default)]
struct Record {
    seen: Vec<Seen>,
    /// Raw bytes of the last `Sent` entry, so merged lines split correctly.
    sent_raw: Vec<u8>,
    data_raw: Vec<u8>,
}

impl Record {
    fn push(&mut self, seen: Seen) {
        self.seen.push(seen);
        self.sent_raw.clear();
        self.data_raw.clear();
    }

    fn push_data(&mut self, bytes: &[u8]) {
        if !matches!(self.seen.last(), Some(Seen::Data(_))) {
            self.push(Seen::Data(String::new()));
        }
        self.data_raw.extend_from_slice(bytes);
        *self.seen.last_mut().unwrap() = Seen::Data(escaped(&self.data_raw));
    }

    fn push_sent(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if !matches!(self.seen.last(), Some(Seen::Sent(_))) {
            self.push(Seen::Sent(vec![]));
        }
        self.sent_raw.extend_from_slice(bytes);
        *self.seen.last_mut().unwrap() = Seen::Sent(wire_lines(&self.sent_raw));
    }
}

/// An application: reacts to what it saw by sending (or not).
type App = fn(&mut Conn, &Seen);

fn flush(conn: &mut Conn, record: &mut Record) {
    while let Some(transmit) = conn.poll_transmit() {
        let n = match transmit {
            Transmit::Bytes(bytes) => {
                let n = bytes.len() as u64;
                let bytes = bytes.to_vec();
                record.push_sent(&bytes);
                n
            }
            Transmit::Body(n) => {
                // The shell's own body bytes: the test writes `n` times `#`.
                record.push_sent(&vec![b'#'; n as usize]);
                n
            }
        };
        conn.advance_transmit(n).unwrap();
    }
}

/// Polls events until the connection needs input; true once it is finished.
fn drive(conn: &mut Conn, record: &mut Record, app: App) -> bool {
    flush(conn, record);
    loop {
        let seen = match conn.poll_event() {
            Ok(Event::NeedData) | Ok(Event::Paused) => {
                flush(conn, record);
                return false;
            }
            Ok(Event::Data(bytes)) => {
                let bytes = bytes.to_vec();
                record.push_data(&bytes);
                app(conn, &Seen::Data(escaped(&bytes)));
                flush(conn, record);
                continue;
            }
            Ok(Event::Request(head)) => {
                Seen::Request(format!("{} {} {}", head.method, head.target, head.version))
            }
            Ok(Event::InformationalResponse(head)) => Seen::Interim(head.status.as_u16()),
            Ok(Event::Response(head)) => Seen::Response(format!(
                "{} {} {}",
                head.version,
                head.status,
                head.reason()
            )),
            Ok(Event::EndOfMessage(trailers)) => Seen::End(
                trailers
                    .iter()
                    .map(|f| (f.name().to_owned(), escaped(f.value())))
                    .collect(),
            ),
            Ok(Event::SwitchedProtocol) => Seen::Switched,
            Ok(Event::ConnectionClosed(reason)) => Seen::Closed(reason),
            Err(error) => Seen::Error(error.status_hint(), error.to_string()),
        };
        let finished = matches!(seen, Seen::Switched | Seen::Closed(_));
        record.push(seen.clone());
        app(conn, &seen);
        flush(conn, record);
        if finished {
            return true;
        }
    }
}

/// Runs one cutting: `setup` on a fresh connection, then each round's pieces, then EOF if
/// `eof`.
fn run_pieces(make: &dyn Fn() -> Conn, rounds: &[Vec<&[u8]>], eof: bool, app: App) -> Vec<Seen> {
    let mut conn = make();
    let mut record = Record::default();
    let mut finished = drive(&mut conn, &mut record, app);
    for round in rounds {
        for piece in round {
            if finished {
                break;
            }
            conn.handle_bytes(piece);
            finished = drive(&mut conn, &mut record, app);
        }
    }
    if eof && !finished {
        conn.handle_eof();
        drive(&mut conn, &mut record, app);
    }
    record.seen
}

/// Runs the exchange with every cutting of every round and checks they agree; returns the record.
fn exchange(make: &dyn Fn() -> Conn, rounds: &[&[u8]], eof: bool, app: App) -> Vec<Seen> {
    let mut expected: Option<(String, Vec<Seen>)> = None;
    for way in Segmentation::standard(0x5eed, RANDOM_CUTTINGS) {
        let pieces: Vec<Vec<&[u8]>> = rounds.iter().map(|round| way.split(round)).collect();
        let label = way.to_string();
        let got = run_pieces(make, &pieces, eof, app);
        match &expected {
            None => expected = Some((label, got)),
            Some((_, want)) => assert_eq!(&got, want, "fed {label}: differs from whole"),
        }
    }
    expected.map(|(_, seen)| seen).unwrap_or_default()
}

fn server() -> Conn {
    Conn::server(ConnOptions::default())
}

fn response(status: u16, fields: &[(&str, &str)]) -> ResponseHead {
    let mut head = ResponseHead::new(StatusCode::new(status).unwrap());
    for (name, value) in fields {
        head.headers.append(name, value).unwrap();
    }
    head
}

/// Sends a whole response with a `Content-Length` body.
fn respond(conn: &mut Conn, status: u16, body: &str) {
    let length = body.len().to_string();
    conn.send_response(&response(status, &[("Content-Length", &length)]))
        .unwrap();
    if conn.can_send_data() {
        conn.send_data(body.as_bytes()).unwrap();
    }
    conn.send_end(None).unwrap();
}

/// Answers each request when it ends: 200 with the path as the body, 404 for `/missing`.
fn echo_path(conn: &mut Conn, seen: &Seen) {
    if let Seen::End(_) = seen {
        if conn.server_state() == State::SendResponse {
            respond(conn, 200, "ok");
        }
    }
}

/// Does nothing: the driver only records.
fn quiet(_: &mut Conn, _: &Seen) {}

const GET: &[u8] = b"\
    GET /index.html HTTP/1.1\r\n\
    Host: localhost\r\n\
    \r\n";

const OK: &[u8] = b"\
    HTTP/1.1 200 OK\r\n\
    Content-Length: 2\r\n\
    \r\n\
    ok";

#[test]
fn server_get_keep_alive() {
    let seen = exchange(&server, &[GET], true, echo_path);
    assert_eq!(
        seen,
        vec![
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(OK),
            Seen::Closed(CloseReason::PeerClosed),
        ]
    );
}

#[test]
fn server_keep_alive_over_two_rounds() {
    let mut conn = server();
    conn.handle_bytes(GET);
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    assert!(matches!(conn.poll_event(), Ok(Event::EndOfMessage(_))));
    assert_eq!(conn.poll_event(), Ok(Event::Paused));
    assert!(!conn.wants_read());
    respond(&mut conn, 200, "ok");
    assert_eq!(
        (conn.client_state(), conn.server_state()),
        (State::Idle, State::Idle)
    );
    assert!(conn.is_keep_alive() && conn.wants_read());
    assert_eq!(conn.poll_event(), Ok(Event::NeedData));
    let seen = exchange(&server, &[GET, GET], false, echo_path);
    assert_eq!(
        seen,
        vec![
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(OK),
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(OK),
        ]
    );
}

#[test]
fn server_head_gets_headers_but_no_body() {
    fn app(conn: &mut Conn, seen: &Seen) {
        if let Seen::End(_) = seen {
            conn.send_response(&response(200, &[("Content-Length", "1234")]))
                .unwrap();
            assert!(!conn.can_send_data());
            assert_eq!(
                conn.send_data(b"x"),
                Err(SendError::WrongState(BadTransition {
                    role: Role::Server,
                    state: State::Idle,
                    step: "body data",
                }))
            );
            conn.send_end(None).unwrap();
        }
    }
    let head = b"\
        HEAD /index.html HTTP/1.1\r\n\
        Host: localhost\r\n\
        \r\n";
    assert_eq!(
        exchange(&server, &[head, head], false, app),
        vec![
            request_line("HEAD /index.html HTTP/1.1"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
            request_line("HEAD /index.html HTTP/1.1"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
        ]
    );
}

#[test]
fn server_404_with_a_body_of_unknown_length_is_chunked() {
    fn app(conn: &mut Conn, seen: &Seen) {
        if let Seen::End(_) = seen {
            conn.send_response(&response(404, &[("Content-Type", "text/plain")]))
                .unwrap();
            conn.send_data(b"not ").unwrap();
            conn.send_data(b"").unwrap();
            conn.send_data(b"found").unwrap();
            conn.send_end(None).unwrap();
        }
    }
    assert_eq!(
        exchange(&server, &[GET], false, app),
        vec![
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(
                b"\
                HTTP/1.1 404 Not Found\r\n\
                Content-Type: text/plain\r\n\
                Transfer-Encoding: chunked\r\n\
                \r\n\
                4\r\n\
                not \r\n\
                5\r\n\
                found\r\n\
                0\r\n\
                \r\n"
            ),
        ]
    );
}

#[test]
fn server_three_pipelined_requests_in_one_write() {
    let three = [
        &b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ]
    .concat();
    // One request at a time: the second is not read until the first response is out.
    let mut conn = server();
    conn.handle_bytes(&three);
    assert!(matches!(conn.poll_event(), Ok(Event::Request(h)) if h.target.path() == Some("/a")));
    assert!(matches!(conn.poll_event(), Ok(Event::EndOfMessage(_))));
    assert_eq!(conn.poll_event(), Ok(Event::Paused));
    assert_eq!(conn.poll_event(), Ok(Event::Paused));

    let seen = exchange(&server, &[&three], false, echo_path);
    assert_eq!(
        seen,
        vec![
            request_line("GET /a HTTP/1.1"),
            end(),
            sent(OK),
            request_line("POST /b HTTP/1.1"),
            data("abc"),
            end(),
            sent(OK),
            request_line("GET /c HTTP/1.1"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
            Seen::Closed(CloseReason::PeerAskedToClose),
        ]
    );
}

#[test]
fn server_http_1_0_closes_unless_keep_alive() {
    let plain = b"GET / HTTP/1.0\r\n\r\n";
    assert_eq!(
        exchange(&server, &[plain, plain], false, echo_path),
        vec![
            request_line("GET / HTTP/1.0"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
            Seen::Closed(CloseReason::Http10),
        ]
    );
    let keep = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    assert_eq!(
        exchange(&server, &[keep, keep], false, echo_path),
        vec![
            request_line("GET / HTTP/1.0"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"),
            request_line("GET / HTTP/1.0"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"),
        ]
    );
}

#[test]
fn server_http_1_0_body_of_unknown_length_is_close_delimited() {
    fn app(conn: &mut Conn, seen: &Seen) {
        if let Seen::End(_) = seen {
            conn.send_response(&response(200, &[])).unwrap();
            conn.send_data(b"streamed").unwrap();
            conn.send_end(None).unwrap();
        }
    }
    let keep = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    assert_eq!(
        exchange(&server, &[keep], false, app),
        vec![
            request_line("GET / HTTP/1.0"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstreamed"),
            Seen::Closed(CloseReason::CloseDelimitedBody),
        ]
    );
    let mut conn = server();
    conn.handle_bytes(keep);
    while !matches!(conn.poll_event(), Ok(Event::Paused)) {}
    assert_eq!(
        conn.send_response(&response(200, &[("Transfer-Encoding", "chunked")])),
        Err(SendError::InvalidFraming(
            "Transfer-Encoding in a response to an HTTP/1.0 request (RFC 9112 §6.1)"
        ))
    );
}

const CHUNKED_UPLOAD: &[u8] = b"\
    POST /upload HTTP/1.1\r\n\
    Host: localhost\r\n\
    Transfer-Encoding: chunked\r\n\
    \r\n\
    5\r\n\
    hello\r\n\
    7;note=x\r\n\
    , world\r\n\
    0\r\n\
    Checksum: abc\r\n\
    \r\n";

#[test]
fn server_chunked_request_with_trailers() {
    assert_eq!(
        exchange(&server, &[CHUNKED_UPLOAD], false, echo_path),
        vec![
            request_line("POST /upload HTTP/1.1"),
            data("hello, world"),
            Seen::End(vec![("Checksum".into(), "abc".into())]),
            sent(OK),
        ]
    );
}

const EXPECT_HEAD: &[u8] = b"\
    PUT /file HTTP/1.1\r\n\
    Host: localhost\r\n\
    Content-Length: 5\r\n\
    Expect: 100-continue\r\n\
    \r\n";

#[test]
fn server_sends_100_continue_when_the_application_reads_the_body() {
    assert_eq!(
        exchange(&server, &[EXPECT_HEAD, b"hello"], false, echo_path),
        vec![
            request_line("PUT /file HTTP/1.1"),
            sent(b"HTTP/1.1 100 Continue\r\n\r\n"),
            data("hello"),
            end(),
            sent(OK),
        ]
    );
}

#[test]
fn server_skips_100_continue_when_the_body_is_already_coming() {
    let whole = [EXPECT_HEAD, b"hello"].concat();
    let mut conn = server();
    conn.handle_bytes(&whole);
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    assert_eq!(conn.poll_event(), Ok(Event::Data(&b"hello"[..])));
    assert_eq!(conn.poll_transmit(), None);
}

#[test]
fn server_final_response_before_100_continue_closes() {
    fn reject(conn: &mut Conn, seen: &Seen) {
        if let Seen::Request(_) = seen {
            respond(conn, 413, "too big");
        }
    }
    assert_eq!(
        exchange(&server, &[EXPECT_HEAD, b"hello", GET], false, reject),
        vec![
            request_line("PUT /file HTTP/1.1"),
            sent(
                b"\
                HTTP/1.1 413 Content Too Large\r\n\
                Content-Length: 7\r\n\
                Connection: close\r\n\
                \r\n\
                too big"
            ),
            Seen::Closed(CloseReason::UnreadRequestBody),
        ]
    );
}

#[test]
fn server_drains_an_unread_body_and_keeps_the_connection() {
    fn early(conn: &mut Conn, seen: &Seen) {
        if let Seen::Request(line) = seen {
            if line.starts_with("POST") {
                respond(conn, 403, "no");
            }
        }
        echo_path(conn, seen);
    }
    let post = b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
    assert_eq!(
        exchange(&server, &[post, b"0123456789", GET], false, early),
        vec![
            request_line("POST /form HTTP/1.1"),
            sent(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"),
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(OK),
        ]
    );
    // Past `max_drain` the connection closes instead.
    let small = || {
        Conn::server(ConnOptions {
            max_drain: 4,
            ..ConnOptions::default()
        })
    };
    assert_eq!(
        exchange(&small, &[post, b"0123456789", GET], false, early),
        vec![
            request_line("POST /form HTTP/1.1"),
            sent(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"),
            Seen::Closed(CloseReason::UnreadRequestBody),
        ]
    );
}

/// Sends the error response a server owes after a protocol error.
fn answer_errors(conn: &mut Conn, seen: &Seen) {
    if let Seen::Error(status, _) = seen {
        respond(conn, *status, "bad");
    }
    echo_path(conn, seen);
}

/// The record of a request that the server refuses with `status`; the message is checked too.
fn refused(request: &[u8], status: u16, message: &str) {
    let seen = exchange(&server, &[request], false, answer_errors);
    let reason = StatusCode::new(status).unwrap().canonical_reason().unwrap();
    assert_eq!(
        seen,
        vec![
            Seen::Error(status, message.into()),
            sent(
                format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad"
                )
                .as_bytes()
            ),
            Seen::Closed(CloseReason::ProtocolError),
        ],
        "{}",
        escaped(request)
    );
}

#[test]
fn server_refuses_every_smuggling_shape() {
    refused(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        400,
        "the client broke HTTP/1.1: a request with both Transfer-Encoding and Content-Length: \
         refused as possible request smuggling (RFC 9112 §6.3)",
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        400,
        "the client broke HTTP/1.1: Transfer-Encoding `chunked, identity` does not end in \
         chunked, so the request body's length cannot be determined (RFC 9112 §6.3)",
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
        "the client broke HTTP/1.1: Transfer-Encoding `chunked, chunked` applies chunked more \
         than once (RFC 9112 §6.1)",
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
        "the client broke HTTP/1.1: transfer coding `gzip` is not implemented here; only \
         chunked is (RFC 9112 §6.1)",
    );
    refused(
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
        "the client broke HTTP/1.1: Transfer-Encoding in an HTTP/1.0 request: its framing is \
         faulty (RFC 9112 §6.1)",
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
        "the client broke HTTP/1.1: Content-Length values 3 and 4 differ (RFC 9112 §6.3, \
         RFC 9110 §8.6)",
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
        400,
        "the client broke HTTP/1.1: Content-Length `+3` is not a number of bytes (RFC 9112 §6.3, \
         RFC 9110 §8.6)",
    );
}

#[test]
fn server_refuses_a_broken_chunked_body_after_its_head() {
    let request = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n";
    assert_eq!(
        exchange(&server, &[request], false, answer_errors),
        vec![
            request_line("POST / HTTP/1.1"),
            Seen::Error(
                400,
                "the client broke HTTP/1.1: chunked body, chunk-size: unexpected byte `Z` at \
                 offset 0, expected a hex digit (RFC 9112 §7.1)"
                    .into()
            ),
            sent(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad"),
            Seen::Closed(CloseReason::ProtocolError),
        ]
    );
}

#[test]
fn identical_content_lengths_are_folded() {
    let request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc";
    assert_eq!(
        exchange(&server, &[request], false, echo_path),
        vec![
            request_line("POST / HTTP/1.1"),
            data("abc"),
            end(),
            sent(OK)
        ]
    );
}

#[test]
fn server_head_errors_carry_their_status() {
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    let seen = exchange(&server, &[long_target.as_bytes()], false, quiet);
    assert!(matches!(&seen[0], Seen::Error(414, _)), "{seen:?}");
    let many_fields = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X-A: b\r\n".repeat(200)
    );
    let seen = exchange(&server, &[many_fields.as_bytes()], false, quiet);
    assert!(matches!(&seen[0], Seen::Error(431, _)), "{seen:?}");
    let seen = exchange(
        &server,
        &[b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"],
        false,
        quiet,
    );
    assert!(matches!(&seen[0], Seen::Error(505, _)), "{seen:?}");
    let seen = exchange(&server, &[b"GET / HTTP/1.1\nHost: x\n\n"], false, quiet);
    assert!(matches!(&seen[0], Seen::Error(400, _)), "{seen:?}");
}

#[test]
fn server_body_limit_is_413() {
    let limited = || {
        Conn::server(ConnOptions {
            max_body: Some(4),
            ..ConnOptions::default()
        })
    };
    let seen = exchange(
        &limited,
        &[b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"],
        false,
        quiet,
    );
    assert_eq!(
        seen[0],
        Seen::Error(
            413,
            "the client broke HTTP/1.1: a body larger than the limit of 4 bytes".into()
        )
    );
    let seen = exchange(
        &limited,
        &[b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"],
        false,
        quiet,
    );
    assert_eq!(
        seen,
        vec![
            request_line("POST / HTTP/1.1"),
            data("abcd"),
            Seen::Error(
                413,
                "the client broke HTTP/1.1: a body larger than the limit of 4 bytes".into()
            ),
            Seen::Closed(CloseReason::ProtocolError),
        ]
    );
}

#[test]
fn server_peer_closing_mid_message() {
    let seen = exchange(&server, &[b"GET / HTTP/1.1\r\nHo"], true, quiet);
    assert_eq!(
        seen,
        vec![
            Seen::Error(
                400,
                "the client broke HTTP/1.1: the connection closed after 18 bytes of a message head"
                    .into()
            ),
            Seen::Closed(CloseReason::ProtocolError),
        ]
    );
    let seen = exchange(
        &server,
        &[b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel"],
        true,
        quiet,
    );
    assert_eq!(
        seen,
        vec![
            request_line("POST / HTTP/1.1"),
            data("hel"),
            Seen::Error(
                400,
                "the client broke HTTP/1.1: the connection closed with 2 bytes of the body \
                 missing (RFC 9112 §8)"
                    .into()
            ),
            Seen::Closed(CloseReason::ProtocolError),
        ]
    );
}

#[test]
fn server_request_limit() {
    let limited = || {
        Conn::server(ConnOptions {
            max_requests: Some(2),
            ..ConnOptions::default()
        })
    };
    let three = [GET, GET, GET].concat();
    assert_eq!(
        exchange(&limited, &[&three], false, echo_path),
        vec![
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(OK),
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
            Seen::Closed(CloseReason::RequestLimit),
        ]
    );
}

#[test]
fn server_connect_becomes_a_tunnel() {
    fn app(conn: &mut Conn, seen: &Seen) {
        if let Seen::End(_) = seen {
            conn.send_response(&response(200, &[])).unwrap();
            assert_eq!(conn.send_end(None), Ok(()));
        }
    }
    let connect = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    assert_eq!(
        exchange(&server, &[connect], false, app),
        vec![
            request_line("CONNECT example.com:443 HTTP/1.1"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\n\r\n"),
            Seen::Switched,
        ]
    );
    let mut conn = server();
    conn.handle_bytes(&[&connect[..], b"\x16\x03\x01 tls"].concat());
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    assert!(matches!(conn.poll_event(), Ok(Event::EndOfMessage(_))));
    assert_eq!(conn.client_state(), State::MightSwitchProtocol);
    assert_eq!(conn.poll_event(), Ok(Event::Paused));
    conn.send_response(&response(200, &[])).unwrap();
    assert_eq!(conn.poll_event(), Ok(Event::SwitchedProtocol));
    assert_eq!(conn.take_received(), b"\x16\x03\x01 tls");
    assert!(!conn.wants_read());
}

#[test]
fn server_upgrade_switches_or_is_declined() {
    fn accept(conn: &mut Conn, seen: &Seen) {
        if let Seen::End(_) = seen {
            conn.send_response(&response(
                101,
                &[("Upgrade", "websocket"), ("Connection", "Upgrade")],
            ))
            .unwrap();
        }
    }
    let upgrade =
        b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    assert_eq!(
        exchange(&server, &[upgrade], false, accept),
        vec![
            request_line("GET /chat HTTP/1.1"),
            end(),
            sent(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
            Seen::Switched,
        ]
    );
    assert_eq!(
        exchange(&server, &[upgrade, GET], false, echo_path),
        vec![
            request_line("GET /chat HTTP/1.1"),
            end(),
            sent(OK),
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(OK),
        ]
    );
    let mut conn = server();
    conn.handle_bytes(GET);
    while !matches!(conn.poll_event(), Ok(Event::Paused)) {}
    assert!(matches!(
        conn.send_response(&response(101, &[("Upgrade", "websocket")])),
        Err(SendError::WrongState(_))
    ));
}

#[test]
fn server_body_from_the_shell() {
    fn app(conn: &mut Conn, seen: &Seen) {
        if let Seen::End(_) = seen {
            conn.send_response(&response(200, &[("Content-Length", "5")]))
                .unwrap();
            conn.send_body_from_shell(3).unwrap();
            conn.send_data(b"!!").unwrap();
            assert_eq!(
                conn.send_body_from_shell(1),
                Err(SendError::BodyLongerThanContentLength { excess: 1 })
            );
            conn.send_end(None).unwrap();
        }
    }
    assert_eq!(
        exchange(&server, &[GET], false, app),
        vec![
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n###!!"),
        ]
    );
    fn chunked(conn: &mut Conn, seen: &Seen) {
        if let Seen::End(_) = seen {
            conn.send_response(&response(200, &[])).unwrap();
            conn.send_body_from_shell(4).unwrap();
            let mut trailers = Headers::new();
            trailers.append("Digest", "x").unwrap();
            conn.send_end(Some(&trailers)).unwrap();
        }
    }
    assert_eq!(
        exchange(&server, &[GET], false, chunked),
        vec![
            request_line("GET /index.html HTTP/1.1"),
            end(),
            sent(
                b"\
                HTTP/1.1 200 OK\r\n\
                Transfer-Encoding: chunked\r\n\
                \r\n\
                4\r\n\
                ####\r\n\
                0\r\n\
                Digest: x\r\n\
                \r\n"
            ),
        ]
    );
}

#[test]
fn server_send_errors_are_local_and_change_nothing() {
    let mut conn = server();
    assert!(matches!(
        conn.send_response(&response(200, &[])),
        Err(SendError::WrongState(_))
    ));
    assert_eq!(
        conn.send_request(&RequestHead::new(
            Method::Get,
            Target::origin("/", None).unwrap(),
            Version::Http11
        )),
        Err(SendError::WrongRole(Role::Server))
    );
    conn.handle_bytes(GET);
    while !matches!(conn.poll_event(), Ok(Event::Paused)) {}
    assert!(matches!(
        conn.send_response(&response(
            200,
            &[("Content-Length", "1"), ("Transfer-Encoding", "chunked")]
        )),
        Err(SendError::InvalidFraming(_))
    ));
    assert!(matches!(
        conn.send_response(&response(200, &[("Transfer-Encoding", "gzip")])),
        Err(SendError::InvalidFraming(_))
    ));
    assert_eq!(conn.server_state(), State::SendResponse);
    assert_eq!(conn.poll_transmit(), None);
    conn.send_response(&response(200, &[("Content-Length", "3")]))
        .unwrap();
    assert_eq!(
        conn.send_end(None),
        Err(SendError::BodyShorterThanContentLength { missing: 3 })
    );
    let mut trailers = Headers::new();
    trailers.append("X", "1").unwrap();
    assert_eq!(
        conn.send_end(Some(&trailers)),
        Err(SendError::TrailersNeedChunked)
    );
    conn.send_data(b"abc").unwrap();
    conn.send_end(None).unwrap();
    let Some(Transmit::Bytes(bytes)) = conn.poll_transmit() else {
        panic!("bytes to write")
    };
    let n = bytes.len() as u64;
    assert_eq!(
        conn.advance_transmit(n + 1),
        Err(SendError::AdvancedPastTransmit)
    );
    conn.advance_transmit(n).unwrap();
    assert_eq!(conn.pending_transmit(), 0);
    conn.release_idle_buffers();
}

#[test]
fn server_error_display() {
    let error = ConnError {
        peer: Role::Server,
        error: ProtocolError::UnexpectedSwitch,
    };
    assert_eq!(error.status_hint(), 502);
    assert_eq!(
        error.to_string(),
        "the server broke HTTP/1.1: 101 Switching Protocols to a request that did not ask for it \
         (RFC 9110 §15.2.2)"
    );
    assert_eq!(
        CloseReason::Http10.to_string(),
        "HTTP/1.0 without Connection: keep-alive (RFC 9112 §9.3)"
    );
}

// ----- client role -----

fn get_request(method: Method, path: &str, fields: &[(&str, &str)]) -> RequestHead {
    let mut head = RequestHead::new(method, Target::origin(path, None).unwrap(), Version::Http11);
    head.headers.append("Host", "localhost").unwrap();
    for (name, value) in fields {
        head.headers.append(name, value).unwrap();
    }
    head
}

fn client_sending(head: RequestHead) -> impl Fn() -> Conn {
    move || {
        let mut conn = Conn::client(ConnOptions::default());
        conn.send_request(&head).unwrap();
        conn
    }
}

fn client_get() -> impl Fn() -> Conn {
    client_sending(get_request(Method::Get, "/", &[]))
}

const GET_SENT: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[test]
fn client_get_with_content_length() {
    assert_eq!(
        exchange(&client_get(), &[OK], false, quiet),
        vec![
            sent(GET_SENT),
            status_line("HTTP/1.1 200 OK"),
            data("ok"),
            end()
        ]
    );
}

#[test]
fn client_keep_alive_sends_the_next_request() {
    fn again(conn: &mut Conn, seen: &Seen) {
        if let Seen::End(_) = seen {
            if conn.requests() < 2 {
                conn.send_request(&get_request(Method::Get, "/", &[]))
                    .unwrap();
            }
        }
    }
    assert_eq!(
        exchange(&client_get(), &[OK, OK], true, again),
        vec![
            sent(GET_SENT),
            status_line("HTTP/1.1 200 OK"),
            data("ok"),
            end(),
            sent(GET_SENT),
            status_line("HTTP/1.1 200 OK"),
            data("ok"),
            end(),
            Seen::Closed(CloseReason::PeerClosed),
        ]
    );
}

#[test]
fn client_head_and_bodiless_statuses() {
    let head = client_sending(get_request(Method::Head, "/", &[]));
    assert_eq!(
        exchange(
            &head,
            &[b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"],
            false,
            quiet
        ),
        vec![
            sent(b"HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            status_line("HTTP/1.1 200 OK"),
            end(),
        ]
    );
    for (status, line) in [
        (204, "HTTP/1.1 204 No Content"),
        (304, "HTTP/1.1 304 Not Modified"),
    ] {
        let bytes = format!("{line}\r\nContent-Length: 10\r\n\r\n");
        assert_eq!(
            exchange(&client_get(), &[bytes.as_bytes()], false, quiet),
            vec![sent(GET_SENT), status_line(line), end()],
            "{status}"
        );
    }
}

#[test]
fn client_close_delimited_response() {
    assert_eq!(
        exchange(
            &client_get(),
            &[b"HTTP/1.1 200 OK\r\n\r\nuntil the end"],
            true,
            quiet
        ),
        vec![
            sent(GET_SENT),
            status_line("HTTP/1.1 200 OK"),
            data("until the end"),
            end(),
            Seen::Closed(CloseReason::CloseDelimitedBody),
        ]
    );
}

#[test]
fn client_interim_responses_before_the_final_one() {
    let response = b"\
        HTTP/1.1 103 Early Hints\r\n\
        Link: </style.css>; rel=preload\r\n\
        \r\n\
        HTTP/1.1 100 Continue\r\n\
        \r\n\
        HTTP/1.1 200 OK\r\n\
        Content-Length: 2\r\n\
        \r\n\
        ok";
    assert_eq!(
        exchange(&client_get(), &[response], false, quiet),
        vec![
            sent(GET_SENT),
            Seen::Interim(103),
            Seen::Interim(100),
            status_line("HTTP/1.1 200 OK"),
            data("ok"),
            end(),
        ]
    );
}

#[test]
fn client_waits_for_100_continue_then_sends_the_body() {
    fn body_on_continue(conn: &mut Conn, seen: &Seen) {
        if let Seen::Interim(100) = seen {
            assert!(!conn.is_waiting_for_continue());
            conn.send_data(b"hello").unwrap();
            conn.send_end(None).unwrap();
        }
    }
    let put = get_request(
        Method::Put,
        "/file",
        &[("Content-Length", "5"), ("Expect", "100-continue")],
    );
    let make = client_sending(put);
    assert!(make().is_waiting_for_continue());
    assert_eq!(
        exchange(
            &make,
            &[b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"],
            false,
            body_on_continue
        ),
        vec![
            sent(b"PUT /file HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"),
            Seen::Interim(100),
            sent(b"hello"),
            status_line("HTTP/1.1 201 Created"),
            end(),
        ]
    );
}

#[test]
fn client_chunked_response_with_trailers() {
    let response = b"\
        HTTP/1.1 200 OK\r\n\
        Transfer-Encoding: chunked\r\n\
        \r\n\
        2\r\n\
        ok\r\n\
        0\r\n\
        Expires: never\r\n\
        \r\n";
    assert_eq!(
        exchange(&client_get(), &[response], false, quiet),
        vec![
            sent(GET_SENT),
            status_line("HTTP/1.1 200 OK"),
            data("ok"),
            Seen::End(vec![("Expires".into(), "never".into())]),
        ]
    );
}

#[test]
fn client_suspect_response_framing_is_read_then_closed() {
    let response = b"\
        HTTP/1.1 200 OK\r\n\
        Content-Length: 100\r\n\
        Transfer-Encoding: chunked\r\n\
        \r\n\
        2\r\n\
        ok\r\n\
        0\r\n\
        \r\n";
    assert_eq!(
        exchange(&client_get(), &[response], false, quiet),
        vec![
            sent(GET_SENT),
            status_line("HTTP/1.1 200 OK"),
            data("ok"),
            end(),
            Seen::Closed(CloseReason::SuspectFraming(
                SuspectFraming::TransferEncodingWithContentLength
            )),
        ]
    );
    let seen = exchange(
        &client_get(),
        &[b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"],
        false,
        quiet,
    );
    assert_eq!(
        seen[1..],
        [
            Seen::Error(
                502,
                "the server broke HTTP/1.1: Content-Length values 2 and 3 differ (RFC 9112 §6.3, \
                 RFC 9110 §8.6)"
                    .into()
            ),
            Seen::Closed(CloseReason::ProtocolError),
        ]
    );
}

#[test]
fn client_connect_tunnel() {
    let connect = client_sending(RequestHead {
        headers: {
            let mut h = Headers::new();
            h.append("Host", "example.com:443").unwrap();
            h
        },
        ..RequestHead::new(
            Method::Connect,
            Target::parse(&Method::Connect, "example.com:443").unwrap(),
            Version::Http11,
        )
    });
    assert_eq!(
        exchange(
            &connect,
            &[b"HTTP/1.1 200 Connection established\r\n\r\n"],
            false,
            quiet
        ),
        vec![
            sent(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
            status_line("HTTP/1.1 200 Connection established"),
            Seen::Switched,
        ]
    );
    assert_eq!(
        exchange(
            &connect,
            &[b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"],
            false,
            quiet
        )[1..],
        [
            status_line("HTTP/1.1 407 Proxy Authentication Required"),
            end()
        ]
    );
}

#[test]
fn client_refuses_unsolicited_and_unexpected_responses() {
    let idle = || Conn::client(ConnOptions::default());
    assert_eq!(
        exchange(
            &idle,
            &[b"HTTP/1.1 408 Request Timeout\r\n\r\n"],
            false,
            quiet
        )[0],
        Seen::Error(
            502,
            "the server broke HTTP/1.1: bytes starting with `H` arrived while no request was \
             outstanding"
                .into()
        )
    );
    assert_eq!(
        exchange(
            &client_get(),
            &[b"HTTP/1.1 101 Switching Protocols\r\n\r\n"],
            false,
            quiet
        )[1],
        Seen::Error(
            502,
            "the server broke HTTP/1.1: 101 Switching Protocols to a request that did not ask for \
             it (RFC 9110 §15.2.2)"
                .into()
        )
    );
    assert_eq!(
        exchange(&idle, &[], true, quiet),
        vec![Seen::Closed(CloseReason::PeerClosed)]
    );
}

#[test]
fn client_chunked_request_body() {
    fn stream(conn: &mut Conn) {
        conn.send_data(b"part one, ").unwrap();
        conn.send_data(b"part two").unwrap();
        conn.send_end(None).unwrap();
    }
    let make = || {
        let mut conn = Conn::client(ConnOptions::default());
        conn.send_request(&get_request(
            Method::Post,
            "/up",
            &[("Transfer-Encoding", "chunked")],
        ))
        .unwrap();
        stream(&mut conn);
        conn
    };
    assert_eq!(
        exchange(&make, &[OK], false, quiet),
        vec![
            sent(
                b"\
                POST /up HTTP/1.1\r\n\
                Host: localhost\r\n\
                Transfer-Encoding: chunked\r\n\
                \r\n\
                a\r\n\
                part one, \r\n\
                8\r\n\
                part two\r\n\
                0\r\n\
                \r\n"
            ),
            status_line("HTTP/1.1 200 OK"),
            data("ok"),
            end(),
        ]
    );
}

#[test]
fn client_http_1_0_response_closes() {
    assert_eq!(
        exchange(
            &client_get(),
            &[b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"],
            false,
            quiet
        ),
        vec![
            sent(GET_SENT),
            status_line("HTTP/1.0 200 OK"),
            data("ok"),
            end(),
            Seen::Closed(CloseReason::Http10),
        ]
    );
}

// ----- properties -----

/// One generated request: its path, its body, and how the body is framed.
#[derive(Debug, Clone)]
struct GeneratedRequest {
    body: Vec<u8>,
    /// `None`: Content-Length (or no body at all when empty); `Some(cuts)`: chunked at these cuts.
    chunked: Option<Vec<usize>>,
}

impl GeneratedRequest {
    fn bytes(&self, index: usize) -> Vec<u8> {
        let mut out = format!("POST /{index} HTTP/1.1\r\nHost: x\r\n").into_bytes();
        match &self.chunked {
            None if self.body.is_empty() => out.extend_from_slice(b"\r\n"),
            None => {
                out.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes(),
                );
                out.extend_from_slice(&self.body);
            }
            Some(cuts) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (self.body.len() + 1)).collect();
                cuts.sort_unstable();
                let mut start = 0;
                for cut in cuts.into_iter().chain([self.body.len()]) {
                    crate::http1::chunked::encode_chunk(&self.body[start..cut], &mut out);
                    start = cut;
                }
                crate::http1::chunked::encode_last_chunk(
                    std::iter::empty::<(&str, &str)>(),
                    &mut out,
                )
                .unwrap();
            }
        }
        out
    }
}

fn generated_request() -> impl proptest::strategy::Strategy<Value = GeneratedRequest> {
    use proptest::prelude::*;
    (
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::option::of(proptest::collection::vec(any::<usize>(), 0..5)),
    )
        .prop_map(|(body, chunked)| GeneratedRequest { body, chunked })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Any run of pipelined requests, cut anywhere, comes out as the same requests and bodies,
    /// each answered before the next is read.
    #[test]
    fn pipelined_requests_survive_any_cutting(
        requests in proptest::collection::vec(generated_request(), 1..5),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
    ) {
        let input: Vec<u8> = requests.iter().enumerate().flat_map(|(i, r)| r.bytes(i)).collect();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len())).filter(|&p| p > 0).collect();
        points.sort_unstable();
        points.dedup();
        let mut pieces = Vec::new();
        let mut start = 0;
        for point in points.into_iter().chain([input.len()]) {
            pieces.push(&input[start..point]);
            start = point;
        }
        let got = run_pieces(&server, &[pieces], true, echo_path);
        let mut expected = Vec::new();
        for (i, request) in requests.iter().enumerate() {
            expected.push(request_line(&format!("POST /{i} HTTP/1.1")));
            if !request.body.is_empty() {
                expected.push(Seen::Data(escaped(&request.body)));
            }
            expected.push(end());
            expected.push(sent(OK));
        }
        expected.push(Seen::Closed(CloseReason::PeerClosed));
        proptest::prop_assert_eq!(got, expected);
    }
}

#[test]
fn client_upgrade_switches_on_101_and_keeps_the_other_protocol_bytes() {
    let make = client_sending(get_request(
        Method::Get,
        "/chat",
        &[("Upgrade", "websocket"), ("Connection", "Upgrade")],
    ));
    let answer: &[u8] = b"\
        HTTP/1.1 101 Switching Protocols\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        \r\n";
    assert_eq!(
        exchange(&make, &[answer], false, quiet)[1..],
        [
            status_line("HTTP/1.1 101 Switching Protocols"),
            Seen::Switched
        ]
    );
    let mut conn = make();
    conn.handle_bytes(&[answer, b"\x81\x05hello"].concat());
    assert!(matches!(conn.poll_event(), Ok(Event::Response(_))));
    assert_eq!(conn.poll_event(), Ok(Event::SwitchedProtocol));
    assert_eq!(
        (conn.client_state(), conn.server_state()),
        (State::SwitchedProtocol, State::SwitchedProtocol)
    );
    assert_eq!(conn.take_received(), b"\x81\x05hello");
    // Declined: an ordinary response, and the connection stays HTTP.
    assert_eq!(
        exchange(&make, &[OK], false, quiet)[1..],
        [status_line("HTTP/1.1 200 OK"), data("ok"), end()]
    );
}

#[test]
fn client_reads_an_early_final_response_while_its_body_is_unsent() {
    let put = get_request(
        Method::Put,
        "/file",
        &[("Content-Length", "5"), ("Expect", "100-continue")],
    );
    let mut conn = Conn::client(ConnOptions::default());
    conn.send_request(&put).unwrap();
    conn.handle_bytes(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(conn.poll_event(), Ok(Event::Response(h)) if h.status.as_u16() == 417));
    assert!(!conn.is_waiting_for_continue());
    assert!(matches!(conn.poll_event(), Ok(Event::EndOfMessage(_))));
    // The exchange is not over until the request is: the client finishes it or drops the
    // connection.
    assert_eq!(conn.poll_event(), Ok(Event::Paused));
    conn.send_data(b"hello").unwrap();
    conn.send_end(None).unwrap();
    assert_eq!(
        (conn.client_state(), conn.server_state()),
        (State::Idle, State::Idle)
    );
}

/// Pieces of HTTP that make arbitrary inputs reach deep into the state machine.
fn http_fragment() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    prop_oneof![
        Just(b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec()),
        Just(b"POST / HTTP/1.1\r\nHost: x\r\n".to_vec()),
        Just(b"HTTP/1.1 200 OK\r\n".to_vec()),
        Just(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()),
        Just(b"HTTP/1.0 101 Switching Protocols\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"Content-Length: 3\r\n".to_vec()),
        Just(b"Expect: 100-continue\r\n".to_vec()),
        Just(b"Connection: close\r\n".to_vec()),
        Just(b"Upgrade: x\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"3\r\nabc\r\n".to_vec()),
        Just(b"0\r\n\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

    /// Whatever arrives, neither role panics, and the record does not depend on the cutting.
    #[test]
    fn arbitrary_input_never_panics_and_does_not_depend_on_cutting(
        fragments in proptest::collection::vec(http_fragment(), 0..12),
        eof in proptest::bool::ANY,
    ) {
        let input = fragments.concat();
        // Whether a server sends `100 Continue` depends on whether body bytes came with the
        // head (RFC 9110 §10.1.1 lets it skip the 100 then), so the server run goes without it.
        let without_expect: Vec<u8> = fragments
            .iter()
            .filter(|f| f.as_slice() != b"Expect: 100-continue\r\n")
            .flatten()
            .copied()
            .collect();
        exchange(&server, &[&without_expect], eof, answer_errors);
        exchange(&client_get(), &[&input], eof, quiet);
        let put = || {
            let mut conn = Conn::client(ConnOptions::default());
            conn.send_request(&get_request(
                Method::Put,
                "/",
                &[("Content-Length", "3"), ("Expect", "100-continue")],
            ))
            .unwrap();
            conn
        };
        exchange(&put, &[&input], eof, quiet);
    }
}

#[test]
fn content_length_zero_is_complete_at_once() {
    let mut conn = Conn::client(ConnOptions::default());
    conn.send_request(&get_request(Method::Post, "/", &[("Content-Length", "0")]))
        .unwrap();
    assert_eq!(conn.client_state(), State::Done);
    assert_eq!(conn.send_data(b"x").map_err(|_| ()), Err(()));
    conn.send_end(None).unwrap();

    let mut conn = server();
    conn.handle_bytes(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n",
    );
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    assert!(matches!(conn.poll_event(), Ok(Event::EndOfMessage(_))));
    assert_eq!(
        conn.poll_transmit(),
        None,
        "no 100 Continue for an empty body"
    );
    conn.send_response(&response(204, &[])).unwrap();
    conn.send_end(None).unwrap();
    assert_eq!(
        (conn.client_state(), conn.server_state()),
        (State::Idle, State::Idle)
    );
}

#[test]
fn a_head_that_stops_arriving_may_still_get_408() {
    let mut conn = server();
    conn.handle_bytes(b"GET /slow HTTP/1.1\r\nHost: x\r\n");
    assert_eq!(conn.poll_event(), Ok(Event::NeedData));
    // Mid-head both sides are Idle: no response may go out yet.
    assert!(conn.send_response(&response(408, &[])).is_err());
    assert!(conn.handle_timeout(), "a 408 is due");
    assert_eq!(conn.client_state(), State::Error);
    respond(&mut conn, 408, "late");
    let mut out = Vec::new();
    while let Some(Transmit::Bytes(bytes)) = conn.poll_transmit() {
        out.extend_from_slice(bytes);
        let n = bytes.len() as u64;
        conn.advance_transmit(n).unwrap();
    }
    assert_eq!(
        wire_lines(&out),
        wire_lines(
            b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 4\r\nConnection: close\r\n\r\nlate"
        )
    );
    assert_eq!(
        conn.poll_event(),
        Ok(Event::ConnectionClosed(CloseReason::TimedOut))
    );
}

#[test]
fn a_body_that_stops_arriving_gets_408_until_the_response_starts() {
    let post = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc";
    let mut conn = server();
    conn.handle_bytes(post);
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    assert_eq!(conn.poll_event(), Ok(Event::Data(&b"abc"[..])));
    assert!(
        conn.handle_timeout(),
        "no response has started: a 408 is due"
    );
    respond(&mut conn, 408, "late");
    assert!(!conn.is_keep_alive());
    assert_eq!(
        conn.poll_event(),
        Ok(Event::ConnectionClosed(CloseReason::TimedOut))
    );

    // Once the response has started, the timer running out only ends the connection.
    let mut conn = server();
    conn.handle_bytes(post);
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    conn.send_response(&response(200, &[("Content-Length", "2")]))
        .unwrap();
    assert!(!conn.handle_timeout(), "the response is already going out");

    // A client is never owed anything.
    let mut client = client_get()();
    assert!(!client.handle_timeout());
}

/// One GET answered with a 3-byte body, written out; returns what was sent.
fn one_exchange(conn: &mut Conn) -> Vec<u8> {
    let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let buf = conn.receive_buffer();
    buf[..request.len()].copy_from_slice(request);
    conn.handle_received(request.len());
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    assert!(matches!(conn.poll_event(), Ok(Event::EndOfMessage(_))));
    conn.send_response(&response(200, &[("Content-Length", "3")]))
        .unwrap();
    conn.send_data(b"abc").unwrap();
    conn.send_end(None).unwrap();
    let Some(Transmit::Bytes(bytes)) = conn.poll_transmit() else {
        panic!("bytes to write")
    };
    let out = bytes.to_vec();
    conn.advance_transmit(out.len() as u64).unwrap();
    out
}

#[test]
fn buffers_move_between_idle_connections() {
    let mut first = server();
    let sent_first = one_exchange(&mut first);
    let buffers = first.take_buffers();
    assert!(
        buffers.capacity() >= 8 * 1024,
        "the receive buffer and the queue's memory: {}",
        buffers.capacity()
    );
    assert_eq!(first.take_buffers().capacity(), 0, "taken once");

    // Another connection reads and writes into the lent memory, with the same result.
    let mut second = server();
    second.provide_buffers(buffers);
    assert_eq!(one_exchange(&mut second), sent_first);
    // And the first connection still works, on fresh memory.
    assert_eq!(one_exchange(&mut first), sent_first);
}

#[test]
fn buffers_holding_bytes_are_not_taken() {
    let mut conn = server();
    let partial = b"GET / HT";
    conn.receive_buffer()[..partial.len()].copy_from_slice(partial);
    conn.handle_received(partial.len());
    assert!(matches!(conn.poll_event(), Ok(Event::NeedData)));
    let buffers = conn.take_buffers();
    assert_eq!(buffers.capacity(), 0, "a partial head stays where it is");
    let rest = b"TP/1.1\r\nHost: a\r\n\r\n";
    conn.receive_buffer()[..rest.len()].copy_from_slice(rest);
    conn.handle_received(rest.len());
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
}

#[test]
fn no_interim_response_goes_to_an_http10_client() {
    let mut conn = server();
    conn.handle_bytes(b"POST /up HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi");
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    assert_eq!(
        conn.send_response(&response(103, &[("Link", "</s.css>; rel=preload")])),
        Err(SendError::InterimToHttp10)
    );
    assert_eq!(conn.poll_transmit(), None, "nothing was queued");
    // The final response still goes.
    while !matches!(conn.poll_event(), Ok(Event::Paused)) {}
    conn.send_response(&response(201, &[("Content-Length", "0")]))
        .unwrap();
    let Some(Transmit::Bytes(bytes)) = conn.poll_transmit() else {
        panic!("the final response is queued")
    };
    assert!(bytes.starts_with(b"HTTP/1.1 201 "), "{}", escaped(bytes));
}

#[test]
fn an_http11_client_gets_interim_responses() {
    let mut conn = server();
    conn.handle_bytes(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n");
    assert!(matches!(conn.poll_event(), Ok(Event::Request(_))));
    conn.send_response(&response(103, &[("Link", "</s.css>; rel=preload")]))
        .unwrap();
    let Some(Transmit::Bytes(bytes)) = conn.poll_transmit() else {
        panic!("the interim response is queued")
    };
    assert!(bytes.starts_with(b"HTTP/1.1 103 "), "{}", escaped(bytes));
}

mod event_bytes;
