//! Tests for the chunked decoder and encoder: every input fed whole, byte by byte, at random
//! cuts, and followed by the next message's bytes.

use pretty_assertions::assert_eq;
use proptest::prelude::*;

use super::*;
use crate::testing::{assert_same_every_way, TRAILING};

/// What decoding a sequence of reads gave.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Decoded {
    body: Vec<u8>,
    trailers: Vec<TrailerField>,
    ended: bool,
    /// Bytes after the end of the body, which the decoder must not touch.
    after_end: Vec<u8>,
    error: Option<ChunkedError>,
}

/// Feeds `pieces` to one decoder the way a shell would.
fn decode_pieces(options: ChunkedOptions, pieces: &[&[u8]]) -> Decoded {
    let mut decoder = ChunkedDecoder::new(options);
    let mut out = Decoded::default();
    for piece in pieces {
        if out.ended {
            out.after_end.extend_from_slice(piece);
            continue;
        }
        let mut input: &[u8] = piece;
        while !input.is_empty() {
            match decoder.decode(input) {
                Err(error) => {
                    out.error = Some(error);
                    return out;
                }
                Ok(Status::Partial) => break,
                Ok(Status::Complete((used, ChunkedEvent::Data(range)))) => {
                    assert_eq!(range.end, used, "data ends where the decoder stopped");
                    assert!(!range.is_empty(), "no empty data events");
                    out.body.extend_from_slice(&input[range]);
                    input = &input[used..];
                }
                Ok(Status::Complete((used, ChunkedEvent::End))) => {
                    out.ended = true;
                    out.trailers = decoder.take_trailers();
                    out.after_end.extend_from_slice(&input[used..]);
                    assert!(decoder.is_done());
                    break;
                }
            }
        }
    }
    out
}

/// Decodes `input` every way (strict), and checks the bytes after the end are left alone.
fn decode_with(options: ChunkedOptions, input: &[u8]) -> Decoded {
    let decoded = assert_same_every_way(input, |pieces| decode_pieces(options, pieces));
    if decoded.ended {
        let with_next = [input, TRAILING].concat();
        let followed = assert_same_every_way(&with_next, |pieces| decode_pieces(options, pieces));
        assert_eq!(
            followed,
            Decoded {
                after_end: TRAILING.to_vec(),
                ..decoded.clone()
            }
        );
    }
    decoded
}

fn decode(input: &[u8]) -> Decoded {
    decode_with(ChunkedOptions::default(), input)
}

fn lenient() -> ChunkedOptions {
    ChunkedOptions {
        bare_lf: true,
        ..ChunkedOptions::default()
    }
}

fn field(name: &str, value: &str) -> TrailerField {
    TrailerField {
        name: name.into(),
        value: value.into(),
    }
}

fn ok(body: &str, trailers: Vec<TrailerField>) -> Decoded {
    Decoded {
        body: body.into(),
        trailers,
        ended: true,
        after_end: vec![],
        error: None,
    }
}

fn error_of(input: &[u8]) -> ChunkedError {
    decode(input).error.expect("an error")
}

const TWO_CHUNKS: &[u8] = b"\
    5\r\n\
    hello\r\n\
    6\r\n\
    \x20world\r\n\
    0\r\n\
    \r\n";

#[test]
fn two_chunks_then_the_last_chunk() {
    assert_eq!(decode(TWO_CHUNKS), ok("hello world", vec![]));
}

#[test]
fn data_comes_back_as_ranges_of_the_input() {
    let mut decoder = ChunkedDecoder::default();
    assert_eq!(
        decoder.decode(TWO_CHUNKS),
        Ok(Status::Complete((8, ChunkedEvent::Data(3..8))))
    );
    assert_eq!(
        decoder.decode(&TWO_CHUNKS[8..]),
        Ok(Status::Complete((11, ChunkedEvent::Data(5..11))))
    );
    assert_eq!(
        decoder.decode(&TWO_CHUNKS[19..]),
        Ok(Status::Complete((7, ChunkedEvent::End)))
    );
    assert_eq!(decoder.consumed(), TWO_CHUNKS.len() as u64);
    assert_eq!(
        decoder.decode(b"more"),
        Ok(Status::Complete((0, ChunkedEvent::End)))
    );
}

#[test]
fn a_partial_size_line_is_remembered() {
    let mut decoder = ChunkedDecoder::default();
    assert_eq!(decoder.decode(b"1"), Ok(Status::Partial));
    assert_eq!(decoder.decode(b"0;a=b\r"), Ok(Status::Partial));
    assert_eq!(
        decoder.decode(b"\n0123456789abcdef"),
        Ok(Status::Complete((17, ChunkedEvent::Data(1..17))))
    );
}

#[test]
fn upper_case_hex_and_leading_zeros() {
    let input = b"\
        000A\r\n\
        0123456789\r\n\
        1f\r\n\
        0123456789abcdef0123456789abcde\r\n\
        000\r\n\
        \r\n";
    assert_eq!(
        decode(input),
        ok("01234567890123456789abcdef0123456789abcde", vec![])
    );
}

#[test]
fn extensions_are_checked_and_skipped() {
    let input = b"\
        4;name=value;flag\r\n\
        Wiki\r\n\
        5 ; q = \"a \\\"quoted\\\" ; value\" ;x\r\n\
        pedia\r\n\
        0;last=\"yes\"\r\n\
        \r\n";
    assert_eq!(decode(input), ok("Wikipedia", vec![]));
}

#[test]
fn trailers_are_kept_with_their_case_and_trimmed_values() {
    let input = b"\
        3\r\n\
        abc\r\n\
        0\r\n\
        Expires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\
        X-Checksum:\t  sha256=abc  \r\n\
        x-empty:\r\n\
        \r\n";
    assert_eq!(
        decode(input),
        ok(
            "abc",
            vec![
                field("Expires", "Wed, 21 Oct 2015 07:28:00 GMT"),
                field("X-Checksum", "sha256=abc"),
                field("x-empty", ""),
            ]
        )
    );
}

#[test]
fn an_empty_body() {
    assert_eq!(decode(b"0\r\n\r\n"), ok("", vec![]));
}

#[test]
fn the_largest_size_fits_and_one_more_digit_overflows() {
    let mut decoder = ChunkedDecoder::default();
    assert_eq!(
        decoder.decode(b"ffffffffffffffff\r\nab"),
        Ok(Status::Complete((20, ChunkedEvent::Data(18..20))))
    );
    assert_eq!(
        error_of(b"10000000000000000\r\n"),
        ChunkedError::SizeOverflow {
            value_so_far: 0x1000_0000_0000_0000,
            digit: b'0',
            offset: 16,
        }
    );
    assert_eq!(
        error_of(b"10000000000000000\r\n").to_string(),
        "chunked body: chunk-size `10000000000000000` at offset 16 does not fit in 64 bits \
         (RFC 9112 §7.1)"
    );
}

#[test]
fn a_size_must_be_hex_digits() {
    for (input, byte, offset) in [
        (&b"\r\n"[..], b'\r', 0),
        (b"-1\r\n", b'-', 0),
        (b";ext\r\n", b';', 0),
        (b" 5\r\n", b' ', 0),
        (b"0x5\r\n", b'x', 1),
        (b"5g\r\n", b'g', 1),
        (b"+5\r\n", b'+', 0),
    ] {
        let error = error_of(input);
        assert!(
            matches!(error, ChunkedError::UnexpectedByte { part: ChunkPart::ChunkSize, byte: b, offset: o, .. } if b == byte && o == offset),
            "{input:?}: {error:?}"
        );
        assert_eq!(error.status_hint(), 400);
    }
    assert_eq!(
        error_of(b"5g\r\n").to_string(),
        "chunked body, chunk-size: unexpected byte `g` at offset 1, expected a hex digit, `;` \
         or CRLF (RFC 9112 §7.1)"
    );
}

#[test]
fn malformed_extensions_are_refused() {
    for (input, byte, offset) in [
        (&b"5 \r\n"[..], b'\r', 2),
        (b"5;\r\n", b'\r', 2),
        (b"5;=v\r\n", b'=', 2),
        (b"5;a=\r\n", b'\r', 4),
        (b"5;a b\r\n", b'b', 4),
        (b"5;a=\"x\r\n", b'\r', 6),
        (b"5;a=\"x\"y\r\n", b'y', 7),
        (b"5;a=b=c\r\n", b'=', 5),
        (b"5;a=\"\\\r\"\r\n", b'\r', 6),
        (b"5;a@\r\n", b'@', 3),
    ] {
        let error = error_of(input);
        assert!(
            matches!(error, ChunkedError::UnexpectedByte { byte: b, offset: o, .. } if b == byte && o == offset),
            "{:?}: {error:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn the_crlf_after_data_is_checked() {
    assert_eq!(
        error_of(b"5\r\nhello world\r\n"),
        ChunkedError::UnexpectedByte {
            part: ChunkPart::AfterData,
            byte: b' ',
            offset: 8,
            expected: "CRLF right after the chunk-size bytes of data",
        }
    );
    assert_eq!(
        error_of(b"5\r\nhello\rX"),
        ChunkedError::UnexpectedByte {
            part: ChunkPart::AfterData,
            byte: b'X',
            offset: 9,
            expected: "`\\n` after `\\r`",
        }
    );
    assert_eq!(
        error_of(b"5\r\rhello"),
        ChunkedError::UnexpectedByte {
            part: ChunkPart::SizeLineEnd,
            byte: b'\r',
            offset: 2,
            expected: "`\\n` after `\\r`",
        }
    );
}

const BARE_LF: &[u8] = b"\
    5\n\
    hello\n\
    0\n\
    Trailer-A: 1\n\
    \n";

#[test]
fn bare_lf_only_with_the_leniency() {
    assert_eq!(
        error_of(BARE_LF),
        ChunkedError::BareLf {
            part: ChunkPart::SizeLineEnd,
            offset: 1
        }
    );
    assert_eq!(
        error_of(b"5\r\nhello\n0\r\n\r\n"),
        ChunkedError::BareLf {
            part: ChunkPart::AfterData,
            offset: 8
        }
    );
    assert_eq!(
        error_of(b"0\r\nA: 1\n\r\n"),
        ChunkedError::BareLf {
            part: ChunkPart::TrailerSection,
            offset: 7
        }
    );
    assert_eq!(
        error_of(b"5;a=b\n"),
        ChunkedError::BareLf {
            part: ChunkPart::SizeLineEnd,
            offset: 5
        }
    );
    assert_eq!(
        decode_with(lenient(), BARE_LF),
        ok("hello", vec![field("Trailer-A", "1")])
    );
    assert_eq!(
        decode_with(lenient(), b"5;a=b\nhello\r\n0\n\r\n"),
        ok("hello", vec![])
    );
}

#[test]
fn an_over_long_size_line_is_refused() {
    let mut zeros = vec![b'0'; 1100];
    zeros.extend_from_slice(b"5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(
        error_of(&zeros),
        ChunkedError::SizeLineTooLong {
            limit: 1024,
            offset: 1024
        }
    );
    let mut extension = b"5;x=".to_vec();
    extension.extend(std::iter::repeat_n(b'a', 1100));
    assert_eq!(
        error_of(&extension),
        ChunkedError::SizeLineTooLong {
            limit: 1024,
            offset: 1024
        }
    );
}

#[test]
fn extensions_are_capped_over_the_whole_body() {
    let options = ChunkedOptions {
        limits: ChunkedLimits {
            max_extension_bytes: 20,
            ..ChunkedLimits::default()
        },
        ..ChunkedOptions::default()
    };
    // Each line has 6 extension bytes (";a=bcd"): three lines fit, the fourth goes over.
    let input = b"\
        1;a=bcd\r\n\
        x\r\n\
        1;a=bcd\r\n\
        x\r\n\
        1;a=bcd\r\n\
        x\r\n\
        1;a=bcd\r\n\
        x\r\n\
        0\r\n\
        \r\n";
    assert_eq!(
        decode_with(options, input).error,
        Some(ChunkedError::ExtensionsTooLong {
            limit: 20,
            offset: 3 * 12 + 3
        })
    );
}

#[test]
fn malformed_trailers_are_refused() {
    for (input, reason) in [
        (&b"0\r\nNo-Colon\r\n\r\n"[..], "no `:` after the field name"),
        (b"0\r\n: empty\r\n\r\n", "empty field name"),
        (
            b"0\r\nName : v\r\n\r\n",
            "the field name must be a token (no whitespace before `:`)",
        ),
        (
            b"0\r\nA: 1\r\n folded\r\n\r\n",
            "a line starting with whitespace (obs-fold) is not allowed",
        ),
        (
            b"0\r\nA: 1\x002\r\n\r\n",
            "control characters in the field value",
        ),
    ] {
        match error_of(input) {
            ChunkedError::InvalidTrailerField { reason: r, .. } => assert_eq!(r, reason),
            other => panic!("{input:?}: {other:?}"),
        }
    }
    assert_eq!(
        error_of(b"0\r\nA: 1\r\nName : v\r\n\r\n"),
        ChunkedError::InvalidTrailerField {
            line: b"Name : v".to_vec(),
            offset: 9,
            reason: "the field name must be a token (no whitespace before `:`)",
        }
    );
    assert_eq!(
        error_of(b"0\r\nName : v\r\n\r\n").to_string(),
        "chunked body: trailer field line `Name\\x20:\\x20v` at offset 3: the field name must \
         be a token (no whitespace before `:`) (RFC 9112 §7.1.2)"
    );
}

#[test]
fn trailers_are_limited_in_size_and_count() {
    let small = ChunkedOptions {
        limits: ChunkedLimits {
            max_trailer_bytes: 20,
            max_trailer_fields: 2,
            ..ChunkedLimits::default()
        },
        ..ChunkedOptions::default()
    };
    assert_eq!(
        decode_with(small, b"0\r\nA: 1\r\nB: 2\r\n\r\n"),
        ok("", vec![field("A", "1"), field("B", "2")])
    );
    assert_eq!(
        decode_with(small, b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n").error,
        Some(ChunkedError::TooManyTrailerFields {
            limit: 2,
            offset: 15
        })
    );
    assert_eq!(
        decode_with(small, b"0\r\nLong-Name: 0123456789ab\r\n\r\n").error,
        Some(ChunkedError::TrailerSectionTooLarge {
            limit: 20,
            offset: 23
        })
    );
}

#[test]
fn chunk_headers_are_lower_case_hex_without_leading_zeros() {
    for (len, text) in [
        (1u64, &b"1\r\n"[..]),
        (15, b"f\r\n"),
        (16, b"10\r\n"),
        (255, b"ff\r\n"),
        (4096, b"1000\r\n"),
        (u64::MAX, b"ffffffffffffffff\r\n"),
    ] {
        assert_eq!(ChunkHeader::new(len).as_bytes(), text);
    }
}

#[test]
fn encoding_chunks_and_the_last_chunk() {
    let mut out = Vec::new();
    encode_chunk(b"hello", &mut out);
    encode_chunk(b"", &mut out);
    encode_chunk(b" world", &mut out);
    encode_last_chunk([("Expires", "never"), ("X-Sum", "1")], &mut out).unwrap();
    let expected: &[u8] = b"\
        5\r\n\
        hello\r\n\
        6\r\n\
        \x20world\r\n\
        0\r\n\
        Expires: never\r\n\
        X-Sum: 1\r\n\
        \r\n";
    assert_eq!(out, expected);
    let mut out = Vec::new();
    encode_last_chunk(std::iter::empty::<(&str, &str)>(), &mut out).unwrap();
    assert_eq!(out, b"0\r\n\r\n");
}

#[test]
fn trailers_that_would_break_the_framing_are_not_written() {
    let mut out = b"kept".to_vec();
    assert_eq!(
        encode_last_chunk([("A", "1"), ("Bad Name", "2")], &mut out),
        Err(TrailerEncodeError::InvalidName(b"Bad Name".to_vec()))
    );
    assert_eq!(
        encode_last_chunk([("X", "1\r\nInjected: yes")], &mut out),
        Err(TrailerEncodeError::InvalidValue {
            name: b"X".to_vec()
        })
    );
    assert_eq!(out, b"kept");
    assert_eq!(
        TrailerEncodeError::InvalidName(b"Bad Name".to_vec()).to_string(),
        "trailer field name `Bad\\x20Name` is not a token (RFC 9110 §5.1)"
    );
}

/// Encodes `body` cut at `cuts` (positions into it), with `trailers`.
fn encode_cut(body: &[u8], cuts: &[usize], trailers: &[(String, String)]) -> Vec<u8> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([body.len()]) {
        encode_chunk(&body[start..cut], &mut out);
        start = cut;
    }
    encode_last_chunk(trailers.iter().map(|(n, v)| (n, v)), &mut out).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decode_undoes_encode_for_any_chunking(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        trailers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,20}"), 0..3),
    ) {
        let encoded = encode_cut(&body, &cuts, &trailers);
        let decoded = decode(&encoded);
        let expected_trailers: Vec<TrailerField> = trailers
            .iter()
            .map(|(n, v)| TrailerField { name: n.clone(), value: v.trim_matches([' ', '\t']).into() })
            .collect();
        prop_assert_eq!(decoded, Decoded {
            body,
            trailers: expected_trailers,
            ended: true,
            after_end: vec![],
            error: None,
        });
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_do_not_depend_on_cutting(
        input in proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'0'), Just(b'a'), Just(b';'), Just(b'"'), any::<u8>()],
            0..64,
        ),
    ) {
        let strict = assert_same_every_way(&input, |p| decode_pieces(ChunkedOptions::default(), p));
        let lenient = assert_same_every_way(&input, |p| decode_pieces(lenient(), p));
        // Whatever strict accepts, the leniency accepts the same way.
        if strict.error.is_none() {
            prop_assert_eq!(strict, lenient);
        }
    }
}
