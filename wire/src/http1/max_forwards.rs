//! `Max-Forwards` (RFC 9110 §7.6.2): how many more times a TRACE or OPTIONS request may be
//! forwarded, so a client can ask a chain of proxies about any one of them.
//!
//! ```text
//! TRACE or OPTIONS, received by an intermediary:
//!   no Max-Forwards ──────► forward it unchanged
//!   Max-Forwards: 0 ──────► do not forward: answer as the final recipient
//!   Max-Forwards: N > 0 ──► forward it with Max-Forwards: N - 1
//! any other method ───────► forward it unchanged ("a recipient MAY ignore" the field)
//! ```
//!
//! The final recipient of a TRACE reflects the request it received as a `message/http` body,
//! without the fields that carry credentials (RFC 9110 §9.3.8): [`trace_reflection`].
//!
//! In scope: reading and decrementing the field, the reflection. Out of scope: what an OPTIONS
//! answer says (the intermediary knows its own methods).

use std::fmt;

use super::framing::parse_decimal;
use super::{Headers, Method, RequestHead};

/// What an intermediary does with a request, as far as `Max-Forwards` is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// Forward it as it is: no `Max-Forwards`, or a method the field does not apply to.
    Forward,
    /// Forward it with `Max-Forwards` set to this (the received value less one).
    ForwardWith(u64),
    /// `Max-Forwards: 0`: the intermediary "MUST NOT forward the request; instead, [it] MUST
    /// respond as the final recipient".
    AnswerHere,
}

/// A `Max-Forwards` that is not one `1*DIGIT` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMaxForwards {
    /// The field's value as received (lines joined with `,`).
    pub value: Vec<u8>,
}

impl fmt::Display for InvalidMaxForwards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Max-Forwards `")?;
        super::chunked::escape_bytes(&self.value, f)?;
        f.write_str("` is not one number of hops (RFC 9110 §7.6.2: Max-Forwards = 1*DIGIT)")
    }
}

impl std::error::Error for InvalidMaxForwards {}

/// The methods `Max-Forwards` applies to (RFC 9110 §7.6.2).
pub fn applies_to(method: &Method) -> bool {
    matches!(method, Method::Trace | Method::Options)
}

/// Decides what an intermediary does with a request carrying `headers`. A value too large for
/// 64 bits counts as the largest this side supports (the RFC lets a recipient cap it).
pub fn next_hop(method: &Method, headers: &Headers) -> Result<Hop, InvalidMaxForwards> {
    if !applies_to(method) {
        return Ok(Hop::Forward);
    }
    let mut lines = headers.get_all("max-forwards");
    let Some(first) = lines.next() else {
        return Ok(Hop::Forward);
    };
    let invalid = || InvalidMaxForwards {
        value: headers
            .get_all("max-forwards")
            .collect::<Vec<_>>()
            .join(&b","[..]),
    };
    if lines.next().is_some() {
        return Err(invalid());
    }
    let digits = first.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let value = parse_decimal(digits).unwrap_or(u64::MAX);
    Ok(match value {
        0 => Hop::AnswerHere,
        n => Hop::ForwardWith(n - 1),
    })
}

/// The fields a TRACE reflection leaves out: "fields that are likely to contain sensitive
/// data" (RFC 9110 §9.3.8), the credentials a client or a proxy before this one added.
pub const NOT_REFLECTED: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// The body of the final recipient's `200` to a TRACE (`Content-Type: message/http`): the
/// request line and fields as received, without [`NOT_REFLECTED`], CRLF everywhere.
pub fn trace_reflection(head: &RequestHead) -> Vec<u8> {
    let mut reflected = head.clone();
    for name in NOT_REFLECTED {
        reflected.headers.remove(name);
    }
    reflected.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::{ParseOptions, Version};
    use crate::Status;
    use pretty_assertions::assert_eq;

    fn fields(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (name, value) in lines {
            h.append(name, value).expect("valid field");
        }
        h
    }

    #[test]
    fn zero_is_answered_here_and_more_is_decremented() {
        let zero = fields(&[("Max-Forwards", "0")]);
        assert_eq!(next_hop(&Method::Trace, &zero), Ok(Hop::AnswerHere));
        assert_eq!(next_hop(&Method::Options, &zero), Ok(Hop::AnswerHere));
        let three = fields(&[("Max-Forwards", "3")]);
        assert_eq!(next_hop(&Method::Options, &three), Ok(Hop::ForwardWith(2)));
        let one = fields(&[("max-forwards", "1")]);
        assert_eq!(next_hop(&Method::Trace, &one), Ok(Hop::ForwardWith(0)));
        let huge = fields(&[("Max-Forwards", "99999999999999999999999")]);
        assert_eq!(
            next_hop(&Method::Trace, &huge),
            Ok(Hop::ForwardWith(u64::MAX - 1))
        );
    }

    #[test]
    fn other_methods_and_requests_without_the_field_are_forwarded_as_they_are() {
        let zero = fields(&[("Max-Forwards", "0")]);
        assert_eq!(next_hop(&Method::Get, &zero), Ok(Hop::Forward));
        assert_eq!(next_hop(&Method::Post, &zero), Ok(Hop::Forward));
        assert_eq!(next_hop(&Method::Trace, &Headers::new()), Ok(Hop::Forward));
    }

    #[test]
    fn a_value_that_is_not_one_number_is_an_error_that_shows_it() {
        for bad in ["-1", "two", "", "1 2", "+3"] {
            let h = fields(&[("Max-Forwards", bad)]);
            assert!(next_hop(&Method::Trace, &h).is_err(), "{bad:?}");
        }
        let twice = fields(&[("Max-Forwards", "1"), ("Max-Forwards", "1")]);
        let e = next_hop(&Method::Options, &twice).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Max-Forwards `1,1` is not one number of hops (RFC 9110 §7.6.2: Max-Forwards = 1*DIGIT)"
        );
    }

    #[test]
    fn the_reflection_is_the_request_without_credentials() {
        let raw = b"TRACE http://a.test/x HTTP/1.1\r\n\
            Host: a.test\r\n\
            Cookie: id=1\r\n\
            Max-Forwards: 0\r\n\
            Authorization: Basic eDp5\r\n\
            \r\n";
        let Ok(Status::Complete((_, head))) = RequestHead::parse(raw, &ParseOptions::STRICT) else {
            panic!("a valid head")
        };
        assert_eq!(head.version, Version::Http11);
        assert_eq!(
            String::from_utf8(trace_reflection(&head)).unwrap(),
            "TRACE http://a.test/x HTTP/1.1\r\nHost: a.test\r\nMax-Forwards: 0\r\n\r\n"
        );
    }
}
