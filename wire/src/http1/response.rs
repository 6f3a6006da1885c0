//! Response heads: the borrowed [`RawResponse`] a parser yields and the validated
//! [`ResponseHead`] that clients and proxies act on (RFC 9112 §4, §5; RFC 9110 §15).
//!
//! ```text
//! status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF      (RFC 9112 §4)
//! ```
//!
//! One tolerance that needs no option: a status line with no reason phrase may also lack the SP
//! before it (`HTTP/1.1 200\r\n`), which real servers send and clients accept; the reason
//! phrase carries no meaning (RFC 9112 §4).
//!
//! Out of scope: whether the response has a body and how long it is
//! ([`framing`](super::framing)); interim 1xx handling ([`conn`](super::conn)).

use std::borrow::Cow;
use std::fmt;

use super::abnf::is_obs_text;
use super::error::{BuildError, ParseError};
use super::fields::Headers;
use super::head::{parse_field_section, start_line, to_headers, RawField, StartLineError};
use super::options::{Leniencies, ParseOptions};
use super::status::StatusCode;
use super::version::{parse_version, Version, VersionSyntax};
use crate::Status;

/// A response head as received, borrowing from the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse<'b> {
    pub version: Version,
    /// 100 to 599.
    pub status: u16,
    /// The reason phrase bytes (may be empty, may hold obs-text).
    pub reason: &'b [u8],
    pub fields: Vec<RawField<'b>>,
    /// The leniencies this head needed.
    pub leniencies_used: Leniencies,
}

impl<'b> RawResponse<'b> {
    /// Parses a response head at the start of `buf`. `Complete((n, raw))`: the head is the first
    /// `n` bytes; the body starts at `n`. Empty lines before the status line are not tolerated
    /// (RFC 9112 §2.2 allows that only before a request line).
    pub fn parse(
        buf: &'b [u8],
        options: &ParseOptions,
    ) -> Result<Status<(usize, RawResponse<'b>)>, ParseError> {
        let mut used = Leniencies::NONE;
        let limit = options.limits.max_start_line;
        let line = start_line(buf, 0, limit, options.leniencies, &mut used);

        // The version can be judged as it arrives: a reply that does not start with `HTTP/`
        // is refused at its first wrong byte.
        let seen = &buf[..line.seen_end];
        let version_end = seen.iter().position(|&b| b == b' ').unwrap_or(seen.len());
        if let VersionSyntax::Malformed { at } = parse_version(&seen[..version_end]) {
            if at < version_end {
                return Err(bare_cr_or(
                    seen,
                    at,
                    ParseError::MalformedVersion { offset: at },
                ));
            }
        }
        let line = match line.complete() {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(Status::Partial),
            Err(StartLineError::TooLong) => return Err(ParseError::StatusLineTooLong { limit }),
            Err(StartLineError::Parse(e)) => return Err(e),
        };
        let content = &buf[..line.content_end];
        let version = match parse_version(&content[..version_end]) {
            VersionSyntax::Supported(version) => version,
            VersionSyntax::Unsupported { major, minor } => {
                return Err(ParseError::UnsupportedVersion {
                    offset: 0,
                    major,
                    minor,
                })
            }
            VersionSyntax::Malformed { at } => {
                return Err(ParseError::MalformedVersion { offset: at })
            }
        };
        if version_end == content.len() {
            return Err(ParseError::MalformedStatusLine {
                offset: version_end,
            });
        }

        let code_start = version_end + 1;
        let mut status: u16 = 0;
        for i in 0..3 {
            let at = code_start + i;
            match content.get(at) {
                Some(&b) if b.is_ascii_digit() => status = status * 10 + u16::from(b - b'0'),
                _ => {
                    return Err(bare_cr_or(
                        content,
                        at,
                        ParseError::InvalidStatusCode { offset: at },
                    ))
                }
            }
        }
        if !(100..=599).contains(&status) {
            return Err(ParseError::InvalidStatusCode { offset: code_start });
        }
        let after_code = code_start + 3;
        let reason: &[u8] = match content.get(after_code) {
            None => &[],
            Some(b' ') => &content[after_code + 1..],
            Some(_) => {
                let error = ParseError::InvalidStatusCode { offset: after_code };
                return Err(bare_cr_or(content, after_code, error));
            }
        };
        let reason_start = after_code + 1;
        for (i, &b) in reason.iter().enumerate() {
            let ok = b == b'\t' || (0x20..0x7f).contains(&b) || is_obs_text(b);
            if !ok {
                let at = reason_start + i;
                return Err(bare_cr_or(
                    content,
                    at,
                    ParseError::MalformedStatusLine { offset: at },
                ));
            }
        }

        let Status::Complete((end, fields)) =
            parse_field_section(buf, line.next, options, &mut used)?
        else {
            return Ok(Status::Partial);
        };
        Ok(Status::Complete((
            end,
            RawResponse {
                version,
                status,
                reason,
                fields,
                leniencies_used: used,
            },
        )))
    }
}

/// A CR inside a line is reported as a bare CR whatever element it broke.
fn bare_cr_or(content: &[u8], at: usize, otherwise: ParseError) -> ParseError {
    if content.get(at) == Some(&b'\r') {
        ParseError::BareCr { offset: at }
    } else {
        otherwise
    }
}

/// A validated response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub version: Version,
    pub status: StatusCode,
    /// Borrowed when it is the standard phrase (no allocation for a typical response).
    reason: Cow<'static, str>,
    pub headers: Headers,
    /// The leniencies the received head needed (none for a head built here).
    pub leniencies_used: Leniencies,
}

impl ResponseHead {
    /// An HTTP/1.1 head with the standard reason phrase (empty for an unregistered code) and no
    /// fields.
    pub fn new(status: StatusCode) -> ResponseHead {
        ResponseHead {
            version: Version::Http11,
            status,
            reason: Cow::Borrowed(status.canonical_reason().unwrap_or("")),
            headers: Headers::new(),
            leniencies_used: Leniencies::NONE,
        }
    }

    /// [`RawResponse::parse`] then [`ResponseHead::from`] in one step.
    pub fn parse(
        buf: &[u8],
        options: &ParseOptions,
    ) -> Result<Status<(usize, ResponseHead)>, ParseError> {
        Ok(RawResponse::parse(buf, options)?.map(|(n, raw)| (n, ResponseHead::from(&raw))))
    }

    /// The reason phrase as text (obs-text bytes that were not UTF-8 show as U+FFFD).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Replaces the reason phrase; HTAB, SP and visible characters only (RFC 9112 §4).
    pub fn set_reason(&mut self, reason: &str) -> Result<(), BuildError> {
        if !reason
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b) || is_obs_text(b))
        {
            return Err(BuildError::InvalidReason);
        }
        self.reason = Cow::Owned(reason.to_owned());
        Ok(())
    }

    /// Builder form of [`set_reason`](Self::set_reason).
    pub fn with_reason(mut self, reason: &str) -> Result<ResponseHead, BuildError> {
        self.set_reason(reason)?;
        Ok(self)
    }

    /// Appends the status line, the field lines and the empty line, CRLF everywhere.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let code = self.status.as_u16();
        out.extend_from_slice(self.version.as_str().as_bytes());
        // A status code is three digits (100 to 599).
        out.extend_from_slice(&[
            b' ',
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
            b' ',
        ]);
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        self.headers.write_to(out);
        out.extend_from_slice(b"\r\n");
    }

    /// The head as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

impl fmt::Display for ResponseHead {
    /// The head as text, CRLF everywhere; bytes of field values that are not UTF-8 show as
    /// U+FFFD (use [`write_to`](Self::write_to) for the exact bytes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl From<&RawResponse<'_>> for ResponseHead {
    /// Everything a response head needs was checked by the parser, so this cannot fail.
    fn from(raw: &RawResponse<'_>) -> ResponseHead {
        let status = StatusCode::new(raw.status).expect("the parser checked 100..=599");
        let reason = match status.canonical_reason() {
            Some(standard) if standard.as_bytes() == raw.reason => Cow::Borrowed(standard),
            _ => Cow::Owned(String::from_utf8_lossy(raw.reason).into_owned()),
        };
        ResponseHead {
            version: raw.version,
            status,
            reason,
            headers: to_headers(&raw.fields),
            leniencies_used: raw.leniencies_used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::error::ParseError as E;
    use crate::testing::feed_every_way;
    use pretty_assertions::assert_eq;

    fn head(input: &[u8]) -> Result<Status<(usize, ResponseHead)>, ParseError> {
        feed_every_way(input, |buf| ResponseHead::parse(buf, &ParseOptions::STRICT))
    }

    const NOT_MODIFIED: &[u8] = b"\
        HTTP/1.1 304 Not Modified\r\n\
        ETag: \"v2\"\r\n\
        \r\n";

    #[test]
    fn a_simple_response_round_trips() {
        let Ok(Status::Complete((n, h))) = head(NOT_MODIFIED) else {
            panic!("complete")
        };
        assert_eq!(n, NOT_MODIFIED.len());
        assert_eq!(h.status, StatusCode::NOT_MODIFIED);
        assert_eq!(h.reason(), "Not Modified");
        assert_eq!(h.headers.get("etag"), Some(&b"\"v2\""[..]));
        assert_eq!(h.to_bytes(), NOT_MODIFIED);
    }

    #[test]
    fn reason_phrases_may_be_empty_or_missing() {
        let Ok(Status::Complete((_, h))) = head(b"HTTP/1.0 200 \r\n\r\n") else {
            panic!()
        };
        assert_eq!((h.version, h.reason()), (Version::Http10, ""));
        let Ok(Status::Complete((_, h))) = head(b"HTTP/1.1 599\r\n\r\n") else {
            panic!()
        };
        assert_eq!(h.status.as_u16(), 599);
        let Ok(Status::Complete((_, h))) = head(b"HTTP/1.1 200 \xe9t\xe9 ok\r\n\r\n") else {
            panic!()
        };
        assert_eq!(h.reason(), "\u{fffd}t\u{fffd} ok");
        let built = ResponseHead::new(StatusCode::new(299).unwrap());
        assert_eq!(built.to_bytes(), b"HTTP/1.1 299 \r\n\r\n");
    }

    #[test]
    fn status_lines_are_strict() {
        assert_eq!(
            head(b"HTTP/1.1 20 OK\r\n\r\n"),
            Err(E::InvalidStatusCode { offset: 11 })
        );
        assert_eq!(
            head(b"HTTP/1.1 2000 OK\r\n\r\n"),
            Err(E::InvalidStatusCode { offset: 12 })
        );
        assert_eq!(
            head(b"HTTP/1.1 099 OK\r\n\r\n"),
            Err(E::InvalidStatusCode { offset: 9 })
        );
        assert_eq!(
            head(b"HTTP/1.1 600 OK\r\n\r\n"),
            Err(E::InvalidStatusCode { offset: 9 })
        );
        assert_eq!(
            head(b"HTTP/1.1\r\n\r\n"),
            Err(E::MalformedStatusLine { offset: 8 })
        );
        assert_eq!(
            head(b"HTTP/1.1 200 O\x01K\r\n\r\n"),
            Err(E::MalformedStatusLine { offset: 14 })
        );
        assert_eq!(
            head(b"HTTP/1.1 200 O\rK\r\n\r\n"),
            Err(E::BareCr { offset: 14 })
        );
        assert_eq!(
            head(b"SSH-2.0-OpenSSH_9.2\r\n"),
            Err(E::MalformedVersion { offset: 0 })
        );
        assert_eq!(
            head(b"HTTP/1.1  200 OK\r\n\r\n"),
            Err(E::InvalidStatusCode { offset: 9 })
        );
        assert_eq!(
            head(b"HTTP/2 200\r\n\r\n"),
            Err(E::MalformedVersion { offset: 6 })
        );
        assert_eq!(
            head(b"HTTP/3.0 200 OK\r\n\r\n"),
            Err(E::UnsupportedVersion {
                offset: 0,
                major: 3,
                minor: 0
            })
        );
        assert_eq!(
            head(b"\r\nHTTP/1.1 200 OK\r\n\r\n"),
            Err(E::MalformedVersion { offset: 0 })
        );
        let error = head(b"HTTP/1.1 200 OK\nServer: x\n\n").unwrap_err();
        assert_eq!(error, E::BareLf { offset: 15 });
    }

    #[test]
    fn a_lenient_client_reads_sloppy_servers_and_says_what_they_did() {
        let input = b"HTTP/1.1 200 OK\nServer : x\n\n";
        let parse = |buf: &[u8]| ResponseHead::parse(buf, &ParseOptions::LENIENT);
        let Ok(Status::Complete((n, h))) = feed_every_way(input, parse) else {
            panic!()
        };
        assert_eq!(n, input.len());
        assert_eq!(h.headers.get_str("server"), Some("x"));
        let said: Vec<String> = h.leniencies_used.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            said,
            [
                "bare LF line endings (RFC 9112 §2.2)",
                "whitespace before a field colon (RFC 9112 §5.1)"
            ]
        );
    }

    #[test]
    fn status_line_limit() {
        let long = format!("HTTP/1.1 200 {}\r\n\r\n", "x".repeat(9000));
        let error = head(long.as_bytes()).unwrap_err();
        assert_eq!(error, E::StatusLineTooLong { limit: 8192 });
        assert_eq!(error.status_hint(), 502);
    }

    proptest::proptest! {
        #[test]
        fn parse_of_write_is_identity(head in crate::http1::strategies::response_head()) {
            let bytes = head.to_bytes();
            let parsed = feed_every_way(&bytes, |buf| ResponseHead::parse(buf, &ParseOptions::STRICT));
            proptest::prop_assert_eq!(parsed, Ok(Status::Complete((bytes.len(), head))));
        }

        #[test]
        fn any_bytes_give_one_answer_however_split(input in crate::http1::strategies::noise()) {
            let strict = feed_every_way(&input, |buf| ResponseHead::parse(buf, &ParseOptions::STRICT));
            if let Ok(Status::Complete((_, head))) = strict {
                // What the strict parser accepts, written back, reads back the same.
                let written = head.to_bytes();
                let again = ResponseHead::parse(&written, &ParseOptions::STRICT);
                proptest::prop_assert_eq!(again, Ok(Status::Complete((written.len(), head))));
            }
            if let Ok(Status::Complete((_, head))) =
                feed_every_way(&input, |buf| ResponseHead::parse(buf, &ParseOptions::LENIENT))
            {
                // A leniently read head is repaired: written back, it is strictly valid.
                let written = head.to_bytes();
                let again = ResponseHead::parse(&written, &ParseOptions::STRICT);
                proptest::prop_assert!(matches!(again, Ok(Status::Complete(_))), "{:?}", again);
            }
        }
    }
}
