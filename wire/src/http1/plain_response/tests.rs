use pretty_assertions::assert_eq;
use proptest::prelude::*;

use super::*;
use crate::http1::conn::Persistence;
use crate::http1::framing::BodyLength;
use crate::http1::reader::{MessageReader, Part, ReaderOptions};
use crate::http1::{Method, ParseOptions};
use crate::testing::feed_every_way;

/// The head `server` sends for a static file.
const SERVER_HEAD: &[u8] = b"\
HTTP/1.1 200 OK\r\n\
Server: protolab\r\n\
Date: Mon, 07 Dec 2026 14:59:22 GMT\r\n\
Content-Type: application/octet-stream\r\n\
Last-Modified: Mon, 07 Dec 2026 14:59:19 GMT\r\n\
ETag: \"6b16c9c7.370d1ae0-400\"\r\n\
Accept-Ranges: bytes\r\n\
Content-Length: 1024\r\n\
\r\n";

fn scan(input: &[u8]) -> Result<Status<(usize, PlainResponse)>, NotPlain> {
    feed_every_way(input, |buf| PlainResponse::scan(buf, &Limits::default()))
}

/// What the full reader decides for a response to GET: the head's length, status, body length
/// and whether the connection persists; `None` when it refuses the head or reads no final one.
fn full_reader(input: &[u8], options: ParseOptions) -> Option<(usize, u16, BodyLength, bool)> {
    let mut reader = MessageReader::responses(Method::Get, ReaderOptions::new(options));
    let Ok((used, Some(Part::Response(head)))) = reader.read(input, false) else {
        return None;
    };
    let framing = reader.framing()?;
    let persists = reader.persistence() == Persistence::Persists && framing.close_after.is_none();
    Some((used, head.status.as_u16(), framing.body, persists))
}

/// Whatever the fast path decides, the full reader decides the same, strict and lenient.
fn agrees_with_the_full_reader(input: &[u8]) {
    if let Ok(Status::Complete((used, plain))) = PlainResponse::scan(input, &Limits::default()) {
        let expected = Some((
            used,
            plain.status,
            BodyLength::ContentLength(plain.content_length),
            !plain.close,
        ));
        for options in [ParseOptions::STRICT, ParseOptions::LENIENT] {
            assert_eq!(
                full_reader(input, options),
                expected,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}

#[test]
fn the_servers_head_is_plain() {
    let got = scan(SERVER_HEAD);
    assert_eq!(
        got,
        Ok(Status::Complete((
            SERVER_HEAD.len(),
            PlainResponse {
                status: 200,
                content_length: 1024,
                close: false
            }
        )))
    );
    agrees_with_the_full_reader(SERVER_HEAD);
}

#[test]
fn connection_close_and_keep_alive_are_read_whatever_their_case() {
    let cases: [(&[u8], bool); 3] = [
        (
            b"HTTP/1.1 404 Not Found\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n",
            true,
        ),
        (
            b"HTTP/1.1 200 OK\r\nCONNECTION:keep-alive \r\nContent-Length:\t7\t\r\n\r\n",
            false,
        ),
        (b"HTTP/1.1 503 \r\nContent-Length: 12\r\n\r\n", false),
    ];
    for (input, close) in cases {
        let Ok(Status::Complete((used, plain))) = scan(input) else {
            panic!("{:?} is plain", String::from_utf8_lossy(input));
        };
        assert_eq!((used, plain.close), (input.len(), close));
        agrees_with_the_full_reader(input);
    }
}

#[test]
fn anything_the_full_reader_must_judge_is_not_plain() {
    let cases: [&[u8]; 20] = [
        b"HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\n",
        b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x01b\r\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close, TE\r\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 1\r\n\r\n",
        b"http/1.1 200 OK\r\nContent-Length: 1\r\n\r\n",
    ];
    for input in cases {
        assert_eq!(
            scan(input),
            Err(NotPlain),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn a_head_near_the_limits_is_left_to_the_full_reader() {
    let limits = Limits {
        max_start_line: 64,
        max_header_section: 128,
        max_fields: 3,
    };
    let long_reason = [b"HTTP/1.1 200 ".as_slice(), &[b'x'; 80], b"\r\n"].concat();
    let many_fields = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 1\r\n\r\n";
    let long_field = [b"HTTP/1.1 200 OK\r\nA: ".as_slice(), &[b'x'; 200], b"\r\n"].concat();
    for input in [&long_reason[..], many_fields, &long_field] {
        assert_eq!(PlainResponse::scan(input, &limits), Err(NotPlain));
    }
    // An unfinished head longer than the limit is not left waiting for more.
    let endless = [b"HTTP/1.1 200 OK\r\nA: ".as_slice(), &[b'x'; 4096]].concat();
    assert_eq!(PlainResponse::scan(&endless, &limits), Err(NotPlain));
}

/// Field lines a head is made of: plain ones, and each way a line can need the full reader.
fn field_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"Server: protolab\r\n".to_vec()),
        Just(b"Content-Length: 5\r\n".to_vec()),
        Just(b"content-length:5 \r\n".to_vec()),
        Just(b"Content-Length: 5, 5\r\n".to_vec()),
        Just(b"Content-Length: 6\r\n".to_vec()),
        Just(b"Connection: close\r\n".to_vec()),
        Just(b"Connection: keep-alive\r\n".to_vec()),
        Just(b"Connection: upgrade\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"X: a\r\n b\r\n".to_vec()),
        Just(b"X : a\r\n".to_vec()),
        Just(b"X: a\n".to_vec()),
        Just(b"X:\r\n".to_vec()),
        Just(b"X: \xff\r\n".to_vec()),
        "[A-Za-z-]{1,12}: [ -~]{0,20}\r\n".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

fn status_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"HTTP/1.1 200 OK\r\n".to_vec()),
        Just(b"HTTP/1.1 404 \r\n".to_vec()),
        Just(b"HTTP/1.1 101 Switching Protocols\r\n".to_vec()),
        Just(b"HTTP/1.1 204 No Content\r\n".to_vec()),
        Just(b"HTTP/1.0 200 OK\r\n".to_vec()),
        "HTTP/1\\.1 [1-6][0-9]{2} [ -~]{0,10}\r\n".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever heads are made of, the fast path never decides differently from the full
    /// reader, and never panics.
    #[test]
    fn the_fast_path_agrees_with_the_full_reader(
        start in status_line(),
        fields in proptest::collection::vec(field_line(), 0..6),
        end in prop_oneof![Just(b"\r\n".to_vec()), Just(b"\n".to_vec()), Just(Vec::new())],
    ) {
        let input = [start, fields.concat(), end, b"hello".to_vec()].concat();
        agrees_with_the_full_reader(&input);
    }
}
