//! What can go wrong with an HTTP/1.1 message head, who is to blame, and what to answer.
//!
//! Scope: [`ParseError`] for bytes that came from a peer (request or response heads, RFC 9112
//! §2 to §5 and the Host rules of RFC 9112 §3.2), and [`BuildError`] for a head this side tried
//! to build with values that cannot go on the wire. Body framing errors belong to
//! [`framing`](super::framing) and [`chunked`](super::chunked).
//!
//! Every positional error carries the byte offset (from the start of the buffer given to the
//! parser) of the offending byte; [`ParseError::report`] turns that into a two-line picture with
//! a caret under the byte, in the `.trace` escape syntax.

use std::fmt;

use super::target::TargetError;
use crate::trace::escape::{self, Also};

/// Who broke the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The peer sent bytes that are not valid HTTP/1.1 (or exceed our limits).
    RemotePeer,
    /// This program tried to build something that cannot be sent.
    Local,
}

impl fmt::Display for Blame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Blame::RemotePeer => "remote peer",
            Blame::Local => "local",
        })
    }
}

/// A message head received from a peer was refused.
///
/// [`status_hint`](Self::status_hint) is the status a server answers a bad *request* with. When
/// the bad head was a *response*, a proxy answers 502 (Bad Gateway) whatever the variant, and a
/// client simply reports the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The request line (with any empty lines before it) is longer than the limit (RFC 9112 §3).
    RequestLineTooLong { limit: usize },
    /// The status line is longer than the limit (RFC 9112 §4).
    StatusLineTooLong { limit: usize },
    /// The field lines and the empty line after the start line exceed the limit (RFC 6585 §5).
    HeaderSectionTooLarge { limit: usize },
    /// More field lines than the limit (RFC 6585 §5).
    TooManyFields { limit: usize },
    /// A line ended in LF without CR (RFC 9112 §2.2); allowed by `Leniencies::bare_lf`.
    BareLf { offset: usize },
    /// A CR not followed by LF (RFC 9112 §2.2).
    BareCr { offset: usize },
    /// The method is not a token (RFC 9112 §3.1, RFC 9110 §9.1).
    InvalidMethod { offset: usize },
    /// A byte that may not appear in a request-target (RFC 9112 §3.2, RFC 3986 §2).
    InvalidTargetByte { offset: usize },
    /// The request line is not `method SP request-target SP HTTP-version` (RFC 9112 §3).
    MalformedRequestLine { offset: usize },
    /// The protocol version is not `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3).
    MalformedVersion { offset: usize },
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1 (RFC 9110 §15.6.6).
    UnsupportedVersion { offset: usize, major: u8, minor: u8 },
    /// The status line is not `HTTP-version SP status-code SP [ reason-phrase ]` (RFC 9112 §4).
    MalformedStatusLine { offset: usize },
    /// The status code is not three digits from 100 to 599 (RFC 9110 §15).
    InvalidStatusCode { offset: usize },
    /// A field line starting with SP or HTAB: obs-fold (RFC 9112 §5.2); allowed by
    /// `Leniencies::obs_fold`.
    ObsFold { offset: usize },
    /// Whitespace at the start of the first field line, right after the start line
    /// (RFC 9112 §2.2); with `Leniencies::obs_fold` the line is consumed and ignored.
    WhitespaceAfterStartLine { offset: usize },
    /// Whitespace between a field name and the colon (RFC 9112 §5.1); allowed by
    /// `Leniencies::space_before_colon`.
    SpaceBeforeColon { offset: usize },
    /// A field line without a colon (RFC 9112 §5).
    MissingColon { offset: usize },
    /// A field name that is empty or not a token (RFC 9110 §5.1).
    InvalidFieldName { offset: usize },
    /// A byte that may not appear in a field value: a CTL, DEL, NUL or bare CR
    /// (RFC 9110 §5.5); allowed by `Leniencies::invalid_field_bytes`.
    InvalidFieldValue { offset: usize, byte: u8 },
    /// The request-target does not have the form its method needs (RFC 9112 §3.2).
    InvalidTarget { offset: usize, error: TargetError },
    /// An HTTP/1.1 request without a Host field (RFC 9112 §3.2).
    MissingHost,
    /// More than one Host field line (RFC 9112 §3.2).
    DuplicateHost { offset: usize },
    /// A Host field value that is not `uri-host [ ":" port ]` (RFC 9112 §3.2, RFC 9110 §7.2).
    InvalidHost { offset: usize },
}

impl ParseError {
    /// The status a server answers a request with when its head has this error.
    pub fn status_hint(&self) -> u16 {
        use ParseError::*;
        match self {
            RequestLineTooLong { .. } => 414,
            HeaderSectionTooLarge { .. } | TooManyFields { .. } => 431,
            UnsupportedVersion { .. } => 505,
            StatusLineTooLong { .. } | MalformedStatusLine { .. } | InvalidStatusCode { .. } => 502,
            _ => 400,
        }
    }

    /// Who broke the protocol: always the peer that sent the bytes.
    pub fn blame(&self) -> Blame {
        Blame::RemotePeer
    }

    /// Where in the buffer the problem is, when it is at one byte.
    pub fn offset(&self) -> Option<usize> {
        use ParseError::*;
        match *self {
            RequestLineTooLong { .. }
            | StatusLineTooLong { .. }
            | HeaderSectionTooLarge { .. }
            | TooManyFields { .. }
            | MissingHost => None,
            BareLf { offset }
            | BareCr { offset }
            | InvalidMethod { offset }
            | InvalidTargetByte { offset }
            | MalformedRequestLine { offset }
            | MalformedVersion { offset }
            | UnsupportedVersion { offset, .. }
            | MalformedStatusLine { offset }
            | InvalidStatusCode { offset }
            | ObsFold { offset }
            | WhitespaceAfterStartLine { offset }
            | SpaceBeforeColon { offset }
            | MissingColon { offset }
            | InvalidFieldName { offset }
            | InvalidFieldValue { offset, .. }
            | InvalidTarget { offset, .. }
            | DuplicateHost { offset }
            | InvalidHost { offset } => Some(offset),
        }
    }

    /// The offending bytes in `buf` (the buffer that was parsed): the single byte at the offset,
    /// or for whole-element errors (target, version, Host) the element up to the end of its line.
    pub fn offending<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        let Some(offset) = self.offset() else {
            return &[];
        };
        if offset >= buf.len() {
            return &[];
        }
        let rest = &buf[offset..];
        match self {
            ParseError::InvalidTarget { .. } => {
                let end = rest
                    .iter()
                    .position(|&b| b == b' ' || b == b'\r' || b == b'\n');
                &rest[..end.unwrap_or(rest.len())]
            }
            ParseError::UnsupportedVersion { .. }
            | ParseError::DuplicateHost { .. }
            | ParseError::InvalidHost { .. } => {
                let end = rest.iter().position(|&b| b == b'\r' || b == b'\n');
                &rest[..end.unwrap_or(rest.len())]
            }
            _ => &rest[..1],
        }
    }

    /// The RFC section that the rule broken comes from.
    pub fn rfc_section(&self) -> &'static str {
        use ParseError::*;
        match self {
            RequestLineTooLong { .. } => "RFC 9112 §3",
            StatusLineTooLong { .. } | MalformedStatusLine { .. } => "RFC 9112 §4",
            HeaderSectionTooLarge { .. } | TooManyFields { .. } => "RFC 6585 §5",
            BareLf { .. } | BareCr { .. } | WhitespaceAfterStartLine { .. } => "RFC 9112 §2.2",
            InvalidMethod { .. } => "RFC 9112 §3.1",
            InvalidTargetByte { .. } | InvalidTarget { .. } => "RFC 9112 §3.2",
            MalformedRequestLine { .. } => "RFC 9112 §3",
            MalformedVersion { .. } => "RFC 9112 §2.3",
            UnsupportedVersion { .. } => "RFC 9110 §15.6.6",
            InvalidStatusCode { .. } => "RFC 9110 §15",
            ObsFold { .. } => "RFC 9112 §5.2",
            SpaceBeforeColon { .. } => "RFC 9112 §5.1",
            MissingColon { .. } => "RFC 9112 §5",
            InvalidFieldName { .. } => "RFC 9110 §5.1",
            InvalidFieldValue { .. } => "RFC 9110 §5.5",
            MissingHost | DuplicateHost { .. } | InvalidHost { .. } => "RFC 9112 §3.2",
        }
    }

    /// A human report: the message, then the offending line in `.trace` escapes with a caret
    /// under the offending byte. `buf` is the buffer that was parsed.
    ///
    /// ```text
    /// bare LF line ending, expected CRLF (RFC 9112 §2.2) at byte 14
    ///   GET / HTTP/1.1\n
    ///                 ^
    /// ```
    pub fn report(&self, buf: &[u8]) -> String {
        let mut out = self.to_string();
        let Some(offset) = self.offset().filter(|&o| o < buf.len()) else {
            return out;
        };
        let line_start = buf[..offset]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line_end = buf[offset..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |p| offset + p + 1);
        let mut line = String::new();
        let mut caret_col = 0;
        for (i, &b) in buf[line_start..line_end].iter().enumerate() {
            if line_start + i == offset {
                caret_col = line.chars().count();
            }
            // Writing to a String cannot fail.
            let _ = escape::write_byte(&mut line, b, Also::Nothing);
        }
        out.push_str("\n  ");
        out.push_str(&line);
        out.push_str("\n  ");
        out.extend(std::iter::repeat_n(' ', caret_col));
        out.push('^');
        out
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseError::*;
        match self {
            RequestLineTooLong { limit } => write!(f, "request line longer than {limit} bytes"),
            StatusLineTooLong { limit } => write!(f, "status line longer than {limit} bytes"),
            HeaderSectionTooLarge { limit } => {
                write!(f, "header section larger than {limit} bytes")
            }
            TooManyFields { limit } => write!(f, "more than {limit} header fields"),
            BareLf { .. } => f.write_str("bare LF line ending, expected CRLF"),
            BareCr { .. } => f.write_str("CR not followed by LF"),
            InvalidMethod { .. } => f.write_str("the method is not a token"),
            InvalidTargetByte { .. } => f.write_str("byte not allowed in a request-target"),
            MalformedRequestLine { .. } => {
                f.write_str("request line is not `method SP request-target SP HTTP-version`")
            }
            MalformedVersion { .. } => {
                f.write_str("protocol version is not `HTTP/<digit>.<digit>`")
            }
            UnsupportedVersion { major, minor, .. } => {
                write!(
                    f,
                    "HTTP/{major}.{minor} is not supported (HTTP/1.0 and HTTP/1.1 are)"
                )
            }
            MalformedStatusLine { .. } => {
                f.write_str("status line is not `HTTP-version SP status-code SP reason-phrase`")
            }
            InvalidStatusCode { .. } => f.write_str("status code is not three digits in 100..=599"),
            ObsFold { .. } => {
                f.write_str("obsolete line folding (a field line starting with whitespace)")
            }
            WhitespaceAfterStartLine { .. } => {
                f.write_str("whitespace at the start of the line after the start line")
            }
            SpaceBeforeColon { .. } => f.write_str("whitespace between field name and colon"),
            MissingColon { .. } => f.write_str("field line without a colon"),
            InvalidFieldName { .. } => f.write_str("field name is empty or not a token"),
            InvalidFieldValue { byte, .. } => {
                write!(f, "byte 0x{byte:02X} is not allowed in a field value")
            }
            InvalidTarget { error, .. } => write!(f, "bad request-target: {error}"),
            MissingHost => f.write_str("HTTP/1.1 request without a Host header field"),
            DuplicateHost { .. } => f.write_str("more than one Host header field"),
            InvalidHost { .. } => f.write_str("Host value is not `host[:port]`"),
        }?;
        write!(f, " ({})", self.rfc_section())?;
        if let Some(offset) = self.offset() {
            write!(f, " at byte {offset}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// This program tried to build a head that cannot go on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// A field name that is not a token (RFC 9110 §5.1).
    InvalidFieldName { name: String },
    /// A field value with a CTL, DEL, CR, LF or NUL, or with whitespace at either end
    /// (RFC 9110 §5.5).
    InvalidFieldValue { name: String },
    /// A status code outside 100..=599 (RFC 9110 §15).
    InvalidStatusCode { code: u16 },
    /// A reason phrase with a byte outside HTAB, SP, VCHAR, obs-text (RFC 9112 §4).
    InvalidReason,
    /// A method that is not a token (RFC 9110 §9.1).
    InvalidMethod { method: String },
}

impl BuildError {
    /// Always this program.
    pub fn blame(&self) -> Blame {
        Blame::Local
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidFieldName { name } => {
                write!(f, "field name {name:?} is not a token (RFC 9110 §5.1)")
            }
            BuildError::InvalidFieldValue { name } => write!(
                f,
                "value of field {name:?} has a control byte or surrounding whitespace (RFC 9110 §5.5)"
            ),
            BuildError::InvalidStatusCode { code } => {
                write!(f, "status code {code} is outside 100..=599 (RFC 9110 §15)")
            }
            BuildError::InvalidReason => {
                f.write_str("reason phrase has a control byte (RFC 9112 §4)")
            }
            BuildError::InvalidMethod { method } => {
                write!(f, "method {method:?} is not a token (RFC 9110 §9.1)")
            }
        }
    }
}

impl std::error::Error for BuildError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_points_a_caret_at_the_escaped_byte() {
        let buf = b"GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n";
        let error = ParseError::InvalidFieldValue {
            offset: 23,
            byte: 1,
        };
        assert_eq!(error.offending(buf), b"\x01");
        let report = error.report(buf);
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(
            lines[0],
            "byte 0x01 is not allowed in a field value (RFC 9110 §5.5) at byte 23"
        );
        assert_eq!(lines[1], "  Host: a\\x01b\\r\\n");
        assert_eq!(lines[2], "         ^");
    }

    #[test]
    fn hints_follow_the_limits_table() {
        assert_eq!(
            ParseError::RequestLineTooLong { limit: 8192 }.status_hint(),
            414
        );
        assert_eq!(
            ParseError::HeaderSectionTooLarge { limit: 1 }.status_hint(),
            431
        );
        assert_eq!(ParseError::TooManyFields { limit: 1 }.status_hint(), 431);
        let version = ParseError::UnsupportedVersion {
            offset: 0,
            major: 2,
            minor: 0,
        };
        assert_eq!(version.status_hint(), 505);
        assert_eq!(ParseError::MissingHost.status_hint(), 400);
        assert_eq!(ParseError::MissingHost.blame(), Blame::RemotePeer);
        assert_eq!(BuildError::InvalidReason.blame(), Blame::Local);
    }
}
