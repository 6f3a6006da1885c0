//! Answering a range request from a stored complete response (RFC 9111 §3.3, §4; RFC 9110 §14).
//!
//! A cache that holds a whole `200` may answer `Range: bytes=...` itself, as the origin would:
//! RFC 9110 §14.2 lets any recipient of a GET with `Range` send the selected ranges, and a cache
//! serving from a stored response takes the origin's place. The rules are
//! [`crate::http1::range`]'s; this module applies them to a stored response, in this order, after
//! the cache has evaluated the client's own `If-None-Match` / `If-Modified-Since` (a 304 comes
//! first, RFC 9110 §13.2.2):
//!
//! 1. Only a stored `200` has ranges to give; any other status is served whole.
//! 2. A stored `Accept-Ranges: none` (RFC 9110 §14.3) is the origin saying its ranges are not to
//!    be used: served whole.
//! 3. [`range::decide`] with the request's `Range` and `If-Range`, where the current
//!    representation is the stored one: its `ETag` (compared strongly) and its `Last-Modified`
//!    only when that is a strong validator, that is, at least a second before the stored `Date`
//!    (§8.8.2.2, §13.1.5: a weak date makes `If-Range` false).
//! 4. The answer: the whole stored response ([`RangedReply::Whole`], sent with
//!    [`StoredResponse::reply_head`]), a `206` with one `Content-Range` or a
//!    `multipart/byteranges` body (§14.6) whose parts carry the stored `Content-Type`, or `416`
//!    with `Content-Range: bytes */LEN` (§15.5.17).
//!
//! A `206` head is the `200`'s head (the stored fields with `Age`) with the part's framing:
//! `Content-Length` of what is sent, `Content-Range` for a single part, and the multipart type in
//! place of `Content-Type` for several (§15.3.7 asks for the same `Date`, `ETag`,
//! `Cache-Control`, `Expires`, `Content-Location` and `Vary` a `200` would carry).
//!
//! Out of scope: storing a `206` and combining parts (§3.3, §3.4: this cache stores complete
//! responses only); on a miss the request goes to the origin with its `Range`, and the origin's
//! answer is relayed. The multipart boundary is the caller's, so tests can fix it.

use std::fmt;

use super::stored::StoredResponse;
use crate::http1::conditional::CurrentRepresentation;
use crate::http1::date::HttpDate;
use crate::http1::fields::Headers;
use crate::http1::method::Method;
use crate::http1::range::{
    self, BodySegment, ByteRange, ContentRange, MultipartByteranges, RangeDecision, RangePolicy,
    WholeBecause,
};
use crate::http1::response::ResponseHead;
use crate::http1::status::StatusCode;

/// How the cache answers a request, as far as ranges go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangedReply {
    /// Serve the stored response whole, and why.
    Whole(WholeReason),
    /// `206 Partial Content`: this head, then the body as segments: literal part headers and
    /// spans of the stored body, in order. Their lengths add up to the head's `Content-Length`.
    Partial {
        /// The head, with `Content-Range` or the multipart `Content-Type`.
        head: ResponseHead,
        /// The body in order.
        body: Vec<BodySegment>,
    },
    /// `416 Range Not Satisfiable`: no range overlaps the stored body; send
    /// `Content-Range: ` and this value.
    NotSatisfiable(ContentRange),
}

/// Why a stored response is served whole to a request that may have asked for ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WholeReason {
    /// The range rules say so ([`WholeBecause`]: no `Range`, not a GET, a false `If-Range`...).
    Range(WholeBecause),
    /// The stored status is not 200: there is no representation to take ranges of.
    NotOk(u16),
    /// The stored response says `Accept-Ranges: none`.
    OriginRefusesRanges,
}

impl fmt::Display for WholeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WholeReason::Range(because) => because.fmt(f),
            WholeReason::NotOk(status) => write!(
                f,
                "the stored response is a {status}, not a 200, so it has no ranges to send (RFC 9110 §14.2)"
            ),
            WholeReason::OriginRefusesRanges => f.write_str(
                "the stored response says Accept-Ranges: none, so ranges are not served from it (RFC 9110 §14.3)",
            ),
        }
    }
}

/// The validators an `If-Range` is compared with (step 3 of the module documentation).
pub fn if_range_validators(stored: &StoredResponse) -> CurrentRepresentation {
    let strong_date = match (stored.last_modified(), stored.date()) {
        (Some(modified), Some(date)) if date.seconds_since(modified) >= 1 => Some(modified),
        _ => None,
    };
    CurrentRepresentation {
        etag: stored.etag(),
        last_modified: strong_date,
    }
}

/// Decides how to answer `method` with `request_headers` from `stored`, whose body is `body_len`
/// bytes and which is `age` seconds old ([`StoredResponse::age`], or
/// [`Prepared::current_age`](super::Prepared::current_age)), following the module documentation. `boundary`
/// separates the parts of a multipart answer (1 to 70 of RFC 2046's boundary characters that do
/// not occur in the body; an unusable one makes the answer whole). `now` reads two-digit years
/// in an `If-Range` date.
#[allow(clippy::too_many_arguments)]
pub fn ranged_reply(
    stored: &StoredResponse,
    method: &Method,
    request_headers: &Headers,
    age: u64,
    body_len: u64,
    boundary: &str,
    policy: &RangePolicy,
    now: HttpDate,
) -> RangedReply {
    if !request_headers.contains("range") {
        return RangedReply::Whole(WholeReason::Range(WholeBecause::NoRange));
    }
    if stored.status != 200 {
        return RangedReply::Whole(WholeReason::NotOk(stored.status));
    }
    if stored.headers.contains_token("accept-ranges", "none") {
        return RangedReply::Whole(WholeReason::OriginRefusesRanges);
    }
    let current = if_range_validators(stored);
    let decision =
        range::decide_for_request(method, request_headers, &current, body_len, policy, now);
    match decision {
        RangeDecision::Whole(because) => RangedReply::Whole(WholeReason::Range(because)),
        RangeDecision::NotSatisfiable => RangedReply::NotSatisfiable(ContentRange::Unsatisfied {
            complete_length: body_len,
        }),
        RangeDecision::Partial(ranges) => partial(stored, age, body_len, ranges, boundary),
    }
}

fn partial(
    stored: &StoredResponse,
    age: u64,
    body_len: u64,
    ranges: Vec<ByteRange>,
    boundary: &str,
) -> RangedReply {
    if let [only] = ranges[..] {
        let mut head = partial_head(stored, age, only.len());
        let content_range = ContentRange::Satisfied {
            range: only,
            complete_length: Some(body_len),
        };
        // A Content-Range value is always a valid field value.
        let _ = head
            .headers
            .insert("Content-Range", content_range.to_string());
        return RangedReply::Partial {
            head,
            body: vec![BodySegment::Representation(only)],
        };
    }
    let part_type = stored.headers.get_str("content-type");
    let Ok(plan) = MultipartByteranges::new(boundary, part_type, body_len, ranges) else {
        return RangedReply::Whole(WholeReason::Range(WholeBecause::NoRange));
    };
    let body = plan.segments();
    let length = body.iter().map(BodySegment::len).sum();
    let mut head = partial_head(stored, age, length);
    // The multipart type replaces the representation's: the parts carry that.
    let _ = head.headers.insert("Content-Type", plan.content_type());
    RangedReply::Partial { head, body }
}

/// The 200's head as 206, with `Content-Length: length` and no `Content-Range` it may have
/// stored.
fn partial_head(stored: &StoredResponse, age: u64, length: u64) -> ResponseHead {
    let mut head = ResponseHead::new(StatusCode::PARTIAL_CONTENT);
    head.headers = stored.reply_head(age, length).headers;
    head.headers.remove("content-range");
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::range::RangeSpec;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    const T: i64 = 1_767_225_600;

    fn at(seconds: i64) -> HttpDate {
        HttpDate::from_unix_seconds(T + seconds).expect("in range")
    }

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (name, value) in lines {
            h.append(name, value).expect("valid field");
        }
        h
    }

    /// A stored 200 dated T with a strong ETag and a Last-Modified a day before.
    fn stored(extra: &[(&str, &str)]) -> StoredResponse {
        let mut lines = vec![
            ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
            ("Content-Type", "text/plain"),
            ("ETag", "\"v1\""),
            ("Last-Modified", "Wed, 31 Dec 2025 00:00:00 GMT"),
            ("Cache-Control", "max-age=60"),
        ];
        lines.extend_from_slice(extra);
        StoredResponse::new(200, &headers(&lines), &Headers::new(), at(0), at(0))
    }

    fn reply(stored: &StoredResponse, request: &[(&str, &str)], len: u64) -> RangedReply {
        ranged_reply(
            stored,
            &Method::Get,
            &headers(request),
            5,
            len,
            "B0UND",
            &RangePolicy::default(),
            at(5),
        )
    }

    /// The bytes of the reply's body, from `body` as the stored body.
    fn assemble(segments: &[BodySegment], body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for segment in segments {
            match segment {
                BodySegment::Literal(bytes) => out.extend_from_slice(bytes),
                BodySegment::Representation(r) => {
                    out.extend_from_slice(&body[r.first as usize..=r.last as usize]);
                }
            }
        }
        out
    }

    #[test]
    fn one_range_is_a_206_with_content_range() {
        let RangedReply::Partial { head, body } =
            reply(&stored(&[]), &[("Range", "bytes=0-99")], 1000)
        else {
            panic!("a satisfiable range is a 206");
        };
        assert_eq!(
            head.to_string(),
            "HTTP/1.1 206 Partial Content\r\n\
             Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n\
             Content-Type: text/plain\r\n\
             ETag: \"v1\"\r\n\
             Last-Modified: Wed, 31 Dec 2025 00:00:00 GMT\r\n\
             Cache-Control: max-age=60\r\n\
             Age: 5\r\n\
             Content-Length: 100\r\n\
             Content-Range: bytes 0-99/1000\r\n\
             \r\n"
        );
        assert_eq!(
            body,
            vec![BodySegment::Representation(ByteRange {
                first: 0,
                last: 99
            })]
        );
    }

    #[test]
    fn several_ranges_are_multipart_byteranges() {
        // Ranges more than the policy's 80 bytes apart stay separate parts.
        let RangedReply::Partial { head, body } =
            reply(&stored(&[]), &[("Range", "bytes=0-4, -6")], 300)
        else {
            panic!("two satisfiable ranges are a 206");
        };
        assert_eq!(
            head.headers.get_str("content-type"),
            Some("multipart/byteranges; boundary=B0UND")
        );
        let stored_body: Vec<u8> = (0..300u32).map(|i| b'a' + (i % 26) as u8).collect();
        let bytes = assemble(&body, &stored_body);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "--B0UND\r\n\
             Content-Type: text/plain\r\n\
             Content-Range: bytes 0-4/300\r\n\
             \r\n\
             abcde\r\n\
             --B0UND\r\n\
             Content-Type: text/plain\r\n\
             Content-Range: bytes 294-299/300\r\n\
             \r\n\
             ijklmn\r\n\
             --B0UND--\r\n"
        );
        let length = bytes.len().to_string();
        assert_eq!(
            head.headers.get_str("content-length"),
            Some(length.as_str())
        );
        assert_eq!(head.headers.count("content-type"), 1);
        assert_eq!(head.headers.get("content-range"), None);
    }

    #[test]
    fn no_overlapping_range_is_416_with_the_length() {
        assert_eq!(
            reply(&stored(&[]), &[("Range", "bytes=1000-")], 1000),
            RangedReply::NotSatisfiable(ContentRange::Unsatisfied {
                complete_length: 1000
            })
        );
        assert_eq!(
            ContentRange::Unsatisfied {
                complete_length: 1000
            }
            .to_string(),
            "bytes */1000"
        );
    }

    #[test]
    fn if_range_with_a_strong_validator_or_else_the_whole() {
        let s = stored(&[]);
        let partial = |r: &RangedReply| matches!(r, RangedReply::Partial { .. });
        let whole_if_range = RangedReply::Whole(WholeReason::Range(WholeBecause::IfRangeFalse));
        let range = ("Range", "bytes=0-9");
        // The stored ETag, strongly compared.
        assert!(partial(&reply(&s, &[range, ("If-Range", "\"v1\"")], 100)));
        assert_eq!(
            reply(&s, &[range, ("If-Range", "\"v0\"")], 100),
            whole_if_range
        );
        assert_eq!(
            reply(&s, &[range, ("If-Range", "W/\"v1\"")], 100),
            whole_if_range
        );
        // Last-Modified, a day before Date: a strong validator.
        let modified = ("If-Range", "Wed, 31 Dec 2025 00:00:00 GMT");
        assert!(partial(&reply(&s, &[range, modified], 100)));
        assert_eq!(
            reply(
                &s,
                &[range, ("If-Range", "Wed, 31 Dec 2025 00:00:01 GMT")],
                100
            ),
            whole_if_range
        );
        // Last-Modified equal to Date is weak (RFC 9110 §8.8.2.2): If-Range by date is false.
        let same_second = StoredResponse::new(
            200,
            &headers(&[
                ("Date", "Wed, 31 Dec 2025 00:00:00 GMT"),
                ("Last-Modified", "Wed, 31 Dec 2025 00:00:00 GMT"),
            ]),
            &Headers::new(),
            at(0),
            at(0),
        );
        assert_eq!(reply(&same_second, &[range, modified], 100), whole_if_range);
    }

    #[test]
    fn what_is_served_whole() {
        let range = [("Range", "bytes=0-9")];
        assert_eq!(
            reply(&stored(&[]), &[], 100),
            RangedReply::Whole(WholeReason::Range(WholeBecause::NoRange))
        );
        assert_eq!(
            reply(&stored(&[("Accept-Ranges", "none")]), &range, 100),
            RangedReply::Whole(WholeReason::OriginRefusesRanges)
        );
        let not_found = StoredResponse::new(404, &Headers::new(), &Headers::new(), at(0), at(0));
        assert_eq!(
            reply(&not_found, &range, 100),
            RangedReply::Whole(WholeReason::NotOk(404))
        );
        let head = ranged_reply(
            &stored(&[]),
            &Method::Head,
            &headers(&range),
            0,
            100,
            "B",
            &RangePolicy::default(),
            at(0),
        );
        assert_eq!(
            head,
            RangedReply::Whole(WholeReason::Range(WholeBecause::NotGet))
        );
        assert_eq!(
            reply(&stored(&[]), &[("Range", "lines=1-2")], 100),
            RangedReply::Whole(WholeReason::Range(WholeBecause::UnknownUnit(
                "lines".into()
            )))
        );
    }

    fn any_spec() -> impl Strategy<Value = RangeSpec> {
        prop_oneof![
            (0u64..300, 0u64..300).prop_map(|(a, b)| RangeSpec::FromTo {
                first: a.min(b),
                last: a.max(b)
            }),
            (0u64..300).prop_map(|first| RangeSpec::From { first }),
            (0u64..300).prop_map(|length| RangeSpec::Suffix { length }),
        ]
    }

    /// Reads a multipart/byteranges body back: each part's Content-Range and data.
    fn parts(body: &[u8], boundary: &str) -> Vec<(ContentRange, Vec<u8>)> {
        let text = body.to_vec();
        let delimiter = format!("--{boundary}");
        let mut out = Vec::new();
        let mut rest = &text[..];
        loop {
            let at = find(rest, delimiter.as_bytes()).expect("a delimiter");
            rest = &rest[at + delimiter.len()..];
            if rest.starts_with(b"--") {
                assert_eq!(rest, b"--\r\n", "nothing after the closing delimiter");
                return out;
            }
            let head_end = find(rest, b"\r\n\r\n").expect("part header ends") + 4;
            let head = String::from_utf8(rest[..head_end].to_vec()).unwrap();
            let value = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Range: "))
                .expect("each part has Content-Range");
            let range = ContentRange::parse(value.as_bytes()).expect("a valid Content-Range");
            rest = &rest[head_end..];
            let ContentRange::Satisfied { range: r, .. } = range else {
                panic!("a part holds bytes");
            };
            out.push((range, rest[..r.len() as usize].to_vec()));
            rest = &rest[r.len() as usize..];
            assert!(rest.starts_with(b"\r\n--"), "CRLF before each delimiter");
        }
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    proptest! {
        /// Whatever the range set and body length: a 206's body is the requested bytes and
        /// nothing else, its Content-Length is what is sent, and 416 comes exactly when no
        /// spec overlaps the body.
        #[test]
        fn a_206_carries_exactly_the_bytes_it_names(
            specs in prop::collection::vec(any_spec(), 1..8),
            len in 0u64..300,
        ) {
            let body: Vec<u8> = (0..len).map(|i| b"0123456789abcdefghij"[(i % 20) as usize]).collect();
            let value = format!(
                "bytes={}",
                specs.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
            );
            let answer = reply(&stored(&[]), &[("Range", &value)], len);
            let overlapping = specs.iter().any(|s| s.resolve(len).is_some());
            match answer {
                RangedReply::Partial { head, body: segments } => {
                    prop_assert!(overlapping);
                    let sent = assemble(&segments, &body);
                    let sent_len = sent.len().to_string();
                    prop_assert_eq!(head.headers.get_str("content-length"), Some(sent_len.as_str()));
                    prop_assert_eq!(head.status.as_u16(), 206);
                    let pieces = match head.headers.get("content-range") {
                        Some(value) => vec![(ContentRange::parse(value).unwrap(), sent.clone())],
                        None => parts(&sent, "B0UND"),
                    };
                    let asked: Vec<ByteRange> = specs.iter().filter_map(|s| s.resolve(len)).collect();
                    let gap = RangePolicy::default().coalesce_gap;
                    let mut sent_ranges = Vec::new();
                    for (range, data) in pieces {
                        let ContentRange::Satisfied { range, complete_length } = range else {
                            panic!("{range:?}");
                        };
                        prop_assert_eq!(complete_length, Some(len));
                        prop_assert_eq!(&data[..], &body[range.first as usize..=range.last as usize]);
                        sent_ranges.push(range);
                    }
                    let is_sent = |i: u64| sent_ranges.iter().any(|r| r.first <= i && i <= r.last);
                    for i in 0..len {
                        let is_asked = asked.iter().any(|r| r.first <= i && i <= r.last);
                        // What was asked for is sent; what was not is at most a gap the policy
                        // bridges between two asked ranges.
                        if is_asked {
                            prop_assert!(is_sent(i), "byte {} was asked for and not sent", i);
                        } else if is_sent(i) {
                            let left = asked.iter().filter(|r| r.last < i).map(|r| r.last).max();
                            let right = asked.iter().filter(|r| r.first > i).map(|r| r.first).min();
                            let bridged = matches!((left, right), (Some(l), Some(r)) if r - l - 1 <= gap);
                            prop_assert!(bridged, "byte {} was sent and not asked for", i);
                        }
                    }
                    // No byte twice.
                    prop_assert!(sent_ranges.iter().map(ByteRange::len).sum::<u64>() <= len);
                }
                RangedReply::NotSatisfiable(_) => prop_assert!(!overlapping),
                RangedReply::Whole(why) => prop_assert_eq!(
                    why,
                    WholeReason::Range(WholeBecause::EmptyRepresentation)
                ),
            }
        }
    }
}
