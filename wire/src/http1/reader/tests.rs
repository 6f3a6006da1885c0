use pretty_assertions::assert_eq;
use proptest::prelude::*;

use super::*;
use crate::http1::chunked::encode_chunk;
use crate::http1::conn::Persistence;
use crate::http1::strategies;
use crate::http1::Version;
use crate::testing::{assert_same_every_way, TRAILING};

/// What a reader made of a stream, in a form that does not depend on how the bytes arrived:
/// the heads (as their status or target), the body as one piece, the trailers, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transcript {
    heads: Vec<String>,
    body: Vec<u8>,
    trailers: Vec<(String, Vec<u8>)>,
    ended: bool,
    error: Option<ReadError>,
    /// The bytes the reader did not use (those it was never fed included).
    rest: Vec<u8>,
    framing: Option<BodyLength>,
    chunks: u64,
}

/// Feeds `pieces` the way a socket would (the unused bytes stay and new ones are appended), then
/// the end of the stream when `eof`, and records one message.
fn run(mut reader: MessageReader, pieces: &[&[u8]], eof: bool) -> Transcript {
    let mut t = Transcript {
        heads: Vec::new(),
        body: Vec::new(),
        trailers: Vec::new(),
        ended: false,
        error: None,
        rest: Vec::new(),
        framing: None,
        chunks: 0,
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut pieces = pieces.iter();
    let mut at_eof = false;
    loop {
        match reader.read(&buf, at_eof) {
            Err(e) => {
                t.error = Some(e);
                break;
            }
            Ok((used, part)) => {
                match &part {
                    Some(Part::Request(h)) => t.heads.push(format!("{} {}", h.method, h.target)),
                    Some(Part::Interim(h)) | Some(Part::Response(h)) => {
                        t.heads.push(h.status.as_u16().to_string())
                    }
                    Some(Part::Data(range)) => t.body.extend_from_slice(&buf[range.clone()]),
                    Some(Part::End(trailers)) => {
                        t.trailers = trailers
                            .iter()
                            .map(|f| (f.name().to_string(), f.value().to_vec()))
                            .collect();
                        t.ended = true;
                    }
                    None => {}
                }
                buf.drain(..used);
                if t.ended || reader.is_done() {
                    break;
                }
                if part.is_none() {
                    match pieces.next() {
                        Some(p) => buf.extend_from_slice(p),
                        None if eof && !at_eof => at_eof = true,
                        None => break,
                    }
                }
            }
        }
    }
    // What was not used: the unused received bytes and the pieces never fed.
    for p in pieces {
        buf.extend_from_slice(p);
    }
    t.rest = buf;
    t.framing = reader.framing().map(|f| f.body);
    t.chunks = reader.chunks();
    t
}

/// The transcript for `input` fed every way (whole, byte by byte, cut at each single byte
/// boundary, seeded random cuttings), checked to be the same each time.
fn every_way(make: impl Fn() -> MessageReader, input: &[u8], eof: bool) -> Transcript {
    let whole = run(make(), &[input], eof);
    for cut in 1..input.len() {
        let (a, b) = input.split_at(cut);
        assert_eq!(run(make(), &[a, b], eof), whole, "cut at byte {cut}");
    }
    assert_same_every_way(input, |pieces| run(make(), pieces, eof))
}

fn requests() -> MessageReader {
    MessageReader::requests(ReaderOptions::default())
}

fn lenient_requests() -> MessageReader {
    MessageReader::requests(ReaderOptions::new(ParseOptions::LENIENT))
}

fn responses_to(method: Method) -> impl Fn() -> MessageReader {
    move || MessageReader::responses(method.clone(), ReaderOptions::default())
}

fn with_next(message: &[u8]) -> Vec<u8> {
    [message, TRAILING].concat()
}

#[test]
fn a_request_with_content_length_stops_before_the_next_request() {
    let input = with_next(
        b"POST /form HTTP/1.1\r\n\
          Host: a\r\n\
          Content-Length: 5\r\n\
          \r\n\
          hello",
    );
    let t = every_way(requests, &input, false);
    assert_eq!(t.heads, ["POST /form"]);
    assert_eq!(t.body, b"hello");
    assert!(t.ended && t.error.is_none());
    assert_eq!(t.rest, TRAILING);
    assert_eq!(t.framing, Some(BodyLength::ContentLength(5)));
}

#[test]
fn a_chunked_request_is_decoded_once_with_its_trailers() {
    let input = with_next(
        b"POST /up HTTP/1.1\r\n\
          Host: a\r\n\
          Transfer-Encoding: chunked\r\n\
          \r\n\
          3;name=value\r\n\
          abc\r\n\
          A\r\n\
          0123456789\r\n\
          0\r\n\
          Checksum: 42\r\n\
          \r\n",
    );
    let t = every_way(requests, &input, false);
    assert_eq!(t.body, b"abc0123456789");
    assert_eq!(t.trailers, [("Checksum".to_string(), b"42".to_vec())]);
    assert_eq!(t.chunks, 2);
    assert_eq!(t.rest, TRAILING);
    assert_eq!(t.framing, Some(BodyLength::Chunked));
}

#[test]
fn a_request_without_a_body_ends_with_its_head() {
    let input = with_next(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let t = every_way(requests, &input, false);
    assert_eq!((t.heads.len(), t.body.len(), t.ended), (1, 0, true));
    assert_eq!(t.rest, TRAILING);
    assert_eq!(t.framing, Some(BodyLength::Empty));
}

#[test]
fn bare_lf_is_read_only_when_named_and_is_recorded() {
    let input = b"POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n2\nhi\n0\n\n";
    let strict = every_way(requests, input, false);
    assert!(matches!(
        strict.error,
        Some(ReadError::Head(ParseError::BareLf { .. }))
    ));

    let lenient = every_way(lenient_requests, input, false);
    assert_eq!(lenient.body, b"hi");
    assert!(lenient.ended);
    let mut reader = lenient_requests();
    let (used, Some(Part::Request(head))) = reader.read(input, false).unwrap() else {
        panic!("a head")
    };
    assert!(head.leniencies_used.bare_lf);
    let mut at = used;
    while !reader.is_done() {
        let (used, _) = reader.read(&input[at..], false).unwrap();
        at += used;
    }
    assert!(reader.chunked_bare_lf_used());
}

#[test]
fn smuggling_shapes_are_framing_errors_before_any_body_is_read() {
    let input = b"POST / HTTP/1.1\r\n\
                  Host: a\r\n\
                  Transfer-Encoding: chunked\r\n\
                  Content-Length: 3\r\n\
                  \r\n\
                  abc";
    let t = every_way(requests, input, false);
    assert_eq!(
        t.error,
        Some(ReadError::Framing(
            FramingError::TransferEncodingWithContentLength
        ))
    );
    assert_eq!(t.error.as_ref().map(ReadError::status_hint), Some(400));
    assert!(t.heads.is_empty());
}

#[test]
fn a_broken_chunk_names_the_byte() {
    let input = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX";
    let t = every_way(requests, input, false);
    assert_eq!(t.body, b"abc");
    assert!(matches!(
        t.error,
        Some(ReadError::Chunked(ChunkedError::UnexpectedByte {
            byte: b'X',
            ..
        }))
    ));
}

#[test]
fn the_end_of_the_stream_is_judged_where_it_falls() {
    // Between messages: no message, no error.
    assert_eq!(run(requests(), &[], true).error, None);
    assert!(run(requests(), &[], true).heads.is_empty());
    // In a head (even inside its last line).
    let t = every_way(requests, b"GET / HTTP/1.1\r\nHost:", true);
    assert_eq!(t.error, Some(ReadError::IncompleteHead { received: 21 }));
    // In a Content-Length body.
    let t = every_way(
        requests,
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc",
        true,
    );
    assert_eq!(t.body, b"abc");
    assert_eq!(
        t.error,
        Some(ReadError::IncompleteBody { missing: Some(6) })
    );
    // In a chunked body.
    let t = every_way(
        requests,
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
        true,
    );
    assert_eq!(t.error, Some(ReadError::IncompleteBody { missing: None }));
}

#[test]
fn interim_responses_come_before_the_final_one() {
    let input = with_next(
        b"HTTP/1.1 100 Continue\r\n\
          \r\n\
          HTTP/1.1 103 Early Hints\r\n\
          Link: </s.css>\r\n\
          \r\n\
          HTTP/1.1 200 OK\r\n\
          Content-Length: 2\r\n\
          \r\n\
          ok",
    );
    let t = every_way(responses_to(Method::Post), &input, false);
    assert_eq!(t.heads, ["100", "103", "200"]);
    assert_eq!(t.body, b"ok");
    assert_eq!(t.rest, TRAILING);
}

#[test]
fn the_request_method_and_status_decide_a_response_body() {
    let head_response = with_next(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n");
    let t = every_way(responses_to(Method::Head), &head_response, false);
    assert_eq!((t.body.len(), t.ended), (0, true));
    assert_eq!(t.framing, Some(BodyLength::Empty));
    assert_eq!(t.rest, TRAILING);

    let t = every_way(
        responses_to(Method::Get),
        b"HTTP/1.1 200 OK\r\n\r\nuntil the end",
        true,
    );
    assert_eq!(t.body, b"until the end");
    assert!(t.ended);
    assert_eq!(t.framing, Some(BodyLength::CloseDelimited));

    let tunnel = b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01";
    let t = every_way(responses_to(Method::Connect), tunnel, false);
    assert_eq!(t.framing, Some(BodyLength::Tunnel));
    assert_eq!(t.rest, b"\x16\x03\x01");

    let switch = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00";
    let t = every_way(responses_to(Method::Get), switch, false);
    assert_eq!(t.heads, ["101"]);
    assert_eq!(t.rest, b"\x81\x00");
}

#[test]
fn persistence_and_suspect_framing_are_kept_with_the_head() {
    let mut reader = MessageReader::responses(Method::Get, ReaderOptions::default());
    let input = b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let (_, part) = reader.read(input, false).unwrap();
    assert!(matches!(part, Some(Part::Response(_))));
    assert_eq!(reader.persistence(), Persistence::Http10WithoutKeepAlive);
    assert!(reader.framing().unwrap().close_after.is_some());

    let mut reader = MessageReader::requests(ReaderOptions::default());
    reader
        .read(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            false,
        )
        .unwrap();
    assert_eq!(reader.persistence(), Persistence::Close);
    assert!(reader.framing_fields().connection);
}

#[test]
fn framing_fields_only_keeps_what_decides_the_connection() {
    let options = ReaderOptions {
        framing_fields_only: true,
        ..ReaderOptions::default()
    };
    let mut reader = MessageReader::responses(Method::Get, options);
    let input = b"HTTP/1.1 404 Not Found\r\nServer: x\r\nContent-Length: 1\r\nConnection: close\r\nDate: y\r\n\r\n!";
    let (_, Some(Part::Response(head))) = reader.read(input, false).unwrap() else {
        panic!("a head")
    };
    assert_eq!(head.status.as_u16(), 404);
    assert_eq!(head.reason(), "");
    let names: Vec<&str> = head.headers.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["Content-Length", "Connection"]);
    assert_eq!(reader.persistence(), Persistence::Close);
}

#[test]
fn partial_lines_report_an_error_before_its_line_ends() {
    let options = ReaderOptions {
        partial_lines: true,
        ..ReaderOptions::default()
    };
    let mut eager = MessageReader::responses(Method::Get, options);
    assert!(matches!(
        eager.read(b"SSH-2.0", false),
        Err(ReadError::Head(_))
    ));
    let mut by_lines = MessageReader::responses(Method::Get, ReaderOptions::default());
    assert_eq!(by_lines.read(b"SSH-2.0", false), Ok((0, None)));
}

#[test]
fn next_message_reads_the_next_one_on_the_stream() {
    let input = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut reader = requests();
    let mut at = 0;
    let mut targets = Vec::new();
    for _ in 0..2 {
        loop {
            let (used, part) = reader.read(&input[at..], false).unwrap();
            at += used;
            match part {
                Some(Part::Request(h)) => targets.push(h.target.to_string()),
                Some(Part::End(_)) => break,
                _ => {}
            }
        }
        reader.next_message();
    }
    assert_eq!(targets, ["/a", "/b"]);
    assert_eq!(at, input.len());
}

/// A body framed as a Content-Length or as chunks of the given sizes, with trailers.
#[derive(Debug, Clone)]
enum Framed {
    Length(Vec<u8>),
    Chunked(Vec<Vec<u8>>, Vec<(String, Vec<u8>)>),
}

fn framed() -> impl Strategy<Value = Framed> {
    let data = prop::collection::vec(any::<u8>(), 0..64);
    let chunk = prop::collection::vec(any::<u8>(), 1..40);
    let trailer = (strategies::token(), strategies::field_value()).prop_filter(
        "a trailer the framing ignores",
        |(name, _)| {
            !["content-length", "transfer-encoding", "host"]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n))
        },
    );
    prop_oneof![
        data.prop_map(Framed::Length),
        (
            prop::collection::vec(chunk, 0..5),
            prop::collection::vec(trailer, 0..3)
        )
            .prop_map(|(chunks, trailers)| Framed::Chunked(chunks, trailers)),
    ]
}

fn strip_framing(headers: &Headers) -> Headers {
    headers
        .iter()
        .filter(|f| {
            ![
                "content-length",
                "transfer-encoding",
                "connection",
                "expect",
                "upgrade",
            ]
            .iter()
            .any(|n| f.name().eq_ignore_ascii_case(n))
        })
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any request head with any framed body reads back as written, cut at any byte.
    #[test]
    fn requests_read_back_as_written_however_they_are_cut(
        head in strategies::request_head(),
        body in framed(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut head = head;
        head.headers = strip_framing(&head.headers);
        // HTTP/1.0 has no chunked coding (RFC 9112 §6.1): the same bytes go as a Content-Length.
        let body = match body {
            Framed::Chunked(chunks, _) if head.version == Version::Http10 => {
                Framed::Length(chunks.concat())
            }
            body => body,
        };
        let (expected_body, expected_trailers) = match &body {
            Framed::Length(data) => {
                head.headers.append("Content-Length", data.len().to_string()).unwrap();
                (data.clone(), Vec::new())
            }
            Framed::Chunked(chunks, trailers) => {
                head.headers.append("Transfer-Encoding", "chunked").unwrap();
                (chunks.concat(), trailers.clone())
            }
        };
        let mut input = head.to_bytes();
        match &body {
            Framed::Length(data) => input.extend_from_slice(data),
            Framed::Chunked(chunks, trailers) => {
                for c in chunks {
                    encode_chunk(c, &mut input);
                }
                crate::http1::chunked::encode_last_chunk(
                    trailers.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
                    &mut input,
                ).unwrap();
            }
        }
        input.extend_from_slice(TRAILING);
        let cut = cut.index(input.len());
        let (a, b) = input.split_at(cut);
        let whole = run(requests(), &[&input], false);
        let split = run(requests(), &[a, b], false);
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(whole.error, None);
        prop_assert_eq!(whole.body, expected_body);
        prop_assert_eq!(whole.trailers, expected_trailers);
        prop_assert_eq!(whole.rest, TRAILING.to_vec());
        let one_by_one: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(run(requests(), &one_by_one, false), split);
    }

    /// Noise never panics and gives the same answer however it is cut.
    #[test]
    fn noise_reads_the_same_however_it_is_cut(noise in strategies::noise(), cut in any::<prop::sample::Index>()) {
        let cut = cut.index(noise.len() + 1);
        let (a, b) = noise.split_at(cut);
        prop_assert_eq!(run(lenient_requests(), &[a, b], true), run(lenient_requests(), &[&noise], true));
        let responses = responses_to(Method::Get);
        prop_assert_eq!(run(responses(), &[a, b], true), run(responses(), &[&noise], true));
    }
}
