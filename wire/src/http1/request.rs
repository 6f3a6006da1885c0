//! Request heads: the borrowed [`RawRequest`] a parser yields and the validated [`RequestHead`]
//! that servers and proxies act on (RFC 9112 §3, §5; RFC 9110 §7.2).
//!
//! ```text
//! request-line = method SP request-target SP HTTP-version CRLF      (RFC 9112 §3)
//! ```
//!
//! [`RawRequest::parse`] checks syntax only: the request line, every field line, the limits. It
//! tolerates empty lines before the request line (RFC 9112 §2.2). [`RequestHead::try_from`] then
//! checks meaning: the target's form against the method (RFC 9112 §3.2) and the Host rules:
//! an HTTP/1.1 request needs exactly one Host, every request at most one, and its value must be
//! `uri-host [ ":" port ]` (RFC 9112 §3.2). When the target is in absolute-form its authority
//! wins over Host (RFC 9112 §3.2.2): see [`RequestHead::effective_authority`].
//!
//! Out of scope: the body and its length ([`framing`](super::framing)), keep-alive
//! ([`conn`](super::conn)).

use std::fmt;

use super::abnf::{is_target_byte, is_tchar};
use super::error::ParseError;
use super::fields::Headers;
use super::head::{
    ascii, parse_field_section, start_line, to_headers, FieldSink, ParsedField, RawField,
    StartLineError,
};
use super::method::Method;
use super::options::{Leniencies, ParseOptions};
use super::target::{Authority, Target};
use super::version::{parse_version, Version, VersionSyntax};
use crate::Status;

/// A request head as received, borrowing from the buffer. Syntax is checked; meaning is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest<'b> {
    /// A token, case as sent.
    pub method: &'b str,
    /// The request-target bytes as sent (ASCII).
    pub target: &'b str,
    pub version: Version,
    pub fields: Vec<RawField<'b>>,
    /// Offset of the request line (after any empty lines before it).
    pub request_line_offset: usize,
    /// Offset of the request-target.
    pub target_offset: usize,
    /// The leniencies this head needed.
    pub leniencies_used: Leniencies,
}

impl<'b> RawRequest<'b> {
    /// Parses a request head at the start of `buf`. `Complete((n, raw))`: the head is the first
    /// `n` bytes; the body or the next request starts at `n`.
    pub fn parse(
        buf: &'b [u8],
        options: &ParseOptions,
    ) -> Result<Status<(usize, RawRequest<'b>)>, ParseError> {
        Ok(parse_head(buf, options)?.map(|(n, head)| {
            (
                n,
                RawRequest {
                    method: ascii(head.method),
                    target: ascii(head.target),
                    version: head.version,
                    fields: head.fields,
                    request_line_offset: head.request_line_offset,
                    target_offset: head.target_offset,
                    leniencies_used: head.leniencies_used,
                },
            )
        }))
    }
}

/// A request head whose syntax is checked, its fields kept in `S` (see [`FieldSink`]).
struct ParsedHead<'b, S> {
    method: &'b [u8],
    target: &'b [u8],
    version: Version,
    fields: S,
    request_line_offset: usize,
    target_offset: usize,
    leniencies_used: Leniencies,
}

/// The syntax of a request head (RFC 9112 §2.2, §3, §5), for [`RawRequest::parse`] and
/// [`RequestHead::parse`].
fn parse_head<'b, S: FieldSink<'b> + Default>(
    buf: &'b [u8],
    options: &ParseOptions,
) -> Result<Status<(usize, ParsedHead<'b, S>)>, ParseError> {
    let mut used = Leniencies::NONE;
    let limit = options.limits.max_start_line;
    let too_long = ParseError::RequestLineTooLong { limit };

    // RFC 9112 §2.2: empty lines before the request line are ignored. They count towards
    // the request line limit so that a stream of CRLFs cannot go on forever.
    let mut pos = 0;
    loop {
        match &buf[pos..] {
            [b'\r', b'\n', ..] => pos += 2,
            [b'\n', ..] if options.leniencies.bare_lf => {
                used.bare_lf = true;
                pos += 1;
            }
            [b'\n', ..] => return Err(ParseError::BareLf { offset: pos }),
            [] | [b'\r'] => {
                return if buf.len() > limit {
                    Err(too_long)
                } else {
                    Ok(Status::Partial)
                };
            }
            _ => break,
        }
        if pos > limit {
            return Err(too_long);
        }
    }
    let line_start = pos;

    let line = start_line(buf, line_start, limit, options.leniencies, &mut used);
    // The method can be judged before the line is complete (a TLS ClientHello sent to a
    // plain HTTP port fails at its first byte), and is judged before the line's length.
    let method_end = check_method(&buf[..line.seen_end], line_start)?;
    let line = match line.complete() {
        Ok(Some(line)) => line,
        Ok(None) => return Ok(Status::Partial),
        Err(StartLineError::TooLong) => return Err(too_long),
        Err(StartLineError::Parse(e)) => return Err(e),
    };
    let content = &buf[..line.content_end];
    let Some(method_end) = method_end else {
        return Err(ParseError::MalformedRequestLine {
            offset: line.content_end,
        });
    };

    let target_start = method_end + 1;
    let mut target_end = None;
    for (i, &b) in content[target_start..].iter().enumerate() {
        let at = target_start + i;
        match b {
            b' ' if i == 0 => return Err(ParseError::MalformedRequestLine { offset: at }),
            b' ' => {
                target_end = Some(at);
                break;
            }
            b'\r' => return Err(ParseError::BareCr { offset: at }),
            _ if is_target_byte(b) => {}
            0x80.. if options.leniencies.raw_utf8_target => used.raw_utf8_target = true,
            _ => return Err(ParseError::InvalidTargetByte { offset: at }),
        }
    }
    let Some(target_end) = target_end else {
        return Err(ParseError::MalformedRequestLine {
            offset: content.len(),
        });
    };
    if used.raw_utf8_target {
        // Raw bytes above 0x7F are taken only as UTF-8.
        if let Err(e) = std::str::from_utf8(&content[target_start..target_end]) {
            return Err(ParseError::InvalidTargetByte {
                offset: target_start + e.valid_up_to(),
            });
        }
    }

    let version_start = target_end + 1;
    let version = match parse_version(&content[version_start..]) {
        VersionSyntax::Supported(version) => version,
        VersionSyntax::Unsupported { major, minor } => {
            return Err(ParseError::UnsupportedVersion {
                offset: version_start,
                major,
                minor,
            })
        }
        VersionSyntax::Malformed { at } => {
            let offset = version_start + at;
            return Err(
                if buf.get(offset) == Some(&b'\r') && offset < line.content_end {
                    ParseError::BareCr { offset }
                } else {
                    ParseError::MalformedVersion { offset }
                },
            );
        }
    };

    let Status::Complete((end, fields)) = parse_field_section(buf, line.next, options, &mut used)?
    else {
        return Ok(Status::Partial);
    };
    Ok(Status::Complete((
        end,
        ParsedHead {
            method: &buf[line_start..method_end],
            target: &buf[target_start..target_end],
            version,
            fields,
            request_line_offset: line_start,
            target_offset: target_start,
            leniencies_used: used,
        },
    )))
}

/// The fields of a request read straight into [`Headers`], with what the Host rules need.
#[derive(Default)]
struct RequestFields {
    headers: Headers,
    /// The offset of the first Host line's value.
    first_host: Option<usize>,
    /// The offset of the second Host line.
    second_host: Option<usize>,
}

impl<'b> FieldSink<'b> for RequestFields {
    fn count(&self) -> usize {
        self.headers.len()
    }

    fn push(&mut self, field: ParsedField<'b>) {
        if field.name.eq_ignore_ascii_case(b"host") {
            if self.first_host.is_none() {
                self.first_host = Some(field.offset + field.name.len() + 1);
            } else if self.second_host.is_none() {
                self.second_host = Some(field.offset);
            }
        }
        FieldSink::push(&mut self.headers, field);
    }

    fn fold_into_last(&mut self, continuation: &[u8]) {
        self.headers.fold_into_last(continuation);
    }
}

/// `target` with every byte above 0x7F written `%XX` (RFC 3986 §2.1).
fn percent_encode_non_ascii(target: &str) -> String {
    let mut out = String::with_capacity(target.len() * 2);
    for &b in target.as_bytes() {
        if b.is_ascii() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a request means, checked after its syntax: the method, the target's form against the
/// method (RFC 9112 §3.2), and the Host rules (RFC 9112 §3.2): at most one Host, exactly one in
/// HTTP/1.1, and its value `uri-host [ ":" port ]` or empty. `first_host` is the offset and the
/// value of the first Host line, `second_host` the offset of the second.
fn check_meaning(
    method: &str,
    target: &str,
    version: Version,
    request_line_offset: usize,
    target_offset: usize,
    first_host: Option<(usize, &[u8])>,
    second_host: Option<usize>,
) -> Result<(Method, Target), ParseError> {
    let method = Method::parse(method).map_err(|_| ParseError::InvalidMethod {
        offset: request_line_offset,
    })?;
    // Raw UTF-8 the parser let through (`Leniencies::raw_utf8_target`) is held percent-encoded.
    let encoded;
    let target = if target.is_ascii() {
        target
    } else {
        encoded = percent_encode_non_ascii(target);
        &encoded
    };
    let target = Target::parse(&method, target).map_err(|error| ParseError::InvalidTarget {
        offset: target_offset,
        error,
    })?;
    match (first_host, second_host) {
        (_, Some(offset)) => return Err(ParseError::DuplicateHost { offset }),
        (Some((offset, value)), None) => {
            if !value.is_empty() && Authority::check(value).is_err() {
                return Err(ParseError::InvalidHost { offset });
            }
        }
        (None, None) if version == Version::Http11 => return Err(ParseError::MissingHost),
        (None, None) => {}
    }
    Ok((method, target))
}

/// Checks the method token at `content[start..]`. `Ok(Some(end))` when the SP after it was
/// found, `Ok(None)` when every byte seen is a tchar but no SP came yet.
fn check_method(content: &[u8], start: usize) -> Result<Option<usize>, ParseError> {
    for (i, &b) in content[start..].iter().enumerate() {
        let at = start + i;
        match b {
            b' ' if i > 0 => return Ok(Some(at)),
            b'\r' => return Err(ParseError::BareCr { offset: at }),
            _ if is_tchar(b) => {}
            _ => return Err(ParseError::InvalidMethod { offset: at }),
        }
    }
    Ok(None)
}

/// A validated request head: what a server or proxy decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: Method,
    pub target: Target,
    pub version: Version,
    pub headers: Headers,
    /// The leniencies the received head needed (none for a head built here).
    pub leniencies_used: Leniencies,
}

impl RequestHead {
    /// A head with no fields. Add `Host` (required for HTTP/1.1) through `headers`.
    pub fn new(method: Method, target: Target, version: Version) -> RequestHead {
        RequestHead {
            method,
            target,
            version,
            headers: Headers::new(),
            leniencies_used: Leniencies::NONE,
        }
    }

    /// [`RawRequest::parse`] then [`RequestHead::try_from`] in one step.
    pub fn parse(
        buf: &[u8],
        options: &ParseOptions,
    ) -> Result<Status<(usize, RequestHead)>, ParseError> {
        // The same checks as `RawRequest::parse` and `try_from`, with the fields going straight
        // into `Headers`.
        let Status::Complete((n, head)) = parse_head::<RequestFields>(buf, options)? else {
            return Ok(Status::Partial);
        };
        let fields = head.fields;
        let first_host = fields
            .first_host
            .map(|offset| (offset, fields.headers.get("host").unwrap_or_default()));
        // Method and target are UTF-8 (ASCII, or raw UTF-8 the parser checked) and one SP
        // apart: one UTF-8 check for both.
        let method_and_target =
            ascii(&buf[head.request_line_offset..head.target_offset + head.target.len()]);
        let (method, target) = check_meaning(
            &method_and_target[..head.method.len()],
            &method_and_target[head.method.len() + 1..],
            head.version,
            head.request_line_offset,
            head.target_offset,
            first_host,
            fields.second_host,
        )?;
        Ok(Status::Complete((
            n,
            RequestHead {
                method,
                target,
                version: head.version,
                headers: fields.headers,
                leniencies_used: head.leniencies_used,
            },
        )))
    }

    /// The authority the request is for (RFC 9112 §3.2.2, RFC 9110 §7.2): the target's own for
    /// absolute-form and authority-form (Host is then ignored, even when it disagrees), else the
    /// Host field's; `None` when Host is absent or empty (HTTP/1.0) or the target is `*` without
    /// a Host.
    pub fn effective_authority(&self) -> Option<Authority> {
        if let Some(authority) = self.target.authority() {
            return Some(authority.clone());
        }
        self.host()
    }

    /// The Host field parsed, `None` when absent or empty.
    pub fn host(&self) -> Option<Authority> {
        let value = self.headers.get_str("host")?;
        if value.is_empty() {
            return None;
        }
        Authority::parse(value).ok()
    }

    /// True when the target is in absolute-form and the Host field names another authority;
    /// RFC 9112 §3.2.2 says to ignore Host then, and this tells a REPL or lab to point it out.
    pub fn host_disagrees_with_target(&self) -> bool {
        match (&self.target, self.host()) {
            (
                Target::Absolute {
                    scheme, authority, ..
                },
                Some(host),
            ) => {
                let default_port = if scheme == "https" { 443 } else { 80 };
                !authority.same_origin_as(&host, default_port)
            }
            (Target::Absolute { .. }, None) => {
                self.headers.get("host").is_some_and(|v| !v.is_empty())
            }
            _ => false,
        }
    }

    /// The request a proxy sends on to the origin server for an absolute-form request
    /// (RFC 9112 §3.2.1, §3.2.2, §3.2.4): the target in origin-form (`*` for an OPTIONS whose
    /// URI has an empty path) and Host replaced by the URI's authority (without the port when
    /// it is the scheme's default). An origin-form request comes back unchanged; CONNECT and
    /// asterisk-form have no origin-form (`None`). Hop-by-hop fields are left to
    /// [`Headers::remove_hop_by_hop`].
    pub fn to_origin_form(&self) -> Option<RequestHead> {
        let Target::Absolute {
            scheme,
            authority,
            path,
            ..
        } = &self.target
        else {
            return matches!(self.target, Target::Origin { .. }).then(|| self.clone());
        };
        let mut head = self.clone();
        head.target =
            if self.method == Method::Options && path.is_empty() && self.target.query().is_none() {
                Target::Asterisk
            } else {
                self.target.to_origin_form()?
            };
        let default_port = if scheme == "https" { 443 } else { 80 };
        let host = Authority {
            host: authority.host.clone(),
            port: authority.port.filter(|&p| p != default_port),
        };
        head.headers.insert("Host", host.to_string()).ok()?;
        Some(head)
    }

    /// Appends the request line, the field lines and the empty line, CRLF everywhere.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        match &self.target {
            // The usual form, written piece by piece; the others through their Display.
            Target::Origin { path, query } => {
                out.extend_from_slice(path.as_bytes());
                if let Some(query) = query {
                    out.push(b'?');
                    out.extend_from_slice(query.as_bytes());
                }
            }
            other => {
                use std::io::Write as _;
                write!(out, "{other}").expect("writing to a Vec cannot fail");
            }
        }
        out.push(b' ');
        out.extend_from_slice(self.version.as_str().as_bytes());
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

impl fmt::Display for RequestHead {
    /// The head as text, CRLF everywhere; bytes of field values that are not UTF-8 show as
    /// U+FFFD (use [`write_to`](Self::write_to) for the exact bytes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl TryFrom<&RawRequest<'_>> for RequestHead {
    type Error = ParseError;

    fn try_from(raw: &RawRequest<'_>) -> Result<RequestHead, ParseError> {
        let mut hosts = raw.fields.iter().filter(|f| f.is("host"));
        let first_host = hosts
            .next()
            .map(|host| (host.offset + host.name.len() + 1, &*host.value));
        let second_host = hosts.next().map(|host| host.offset);
        let (method, target) = check_meaning(
            raw.method,
            raw.target,
            raw.version,
            raw.request_line_offset,
            raw.target_offset,
            first_host,
            second_host,
        )?;
        Ok(RequestHead {
            method,
            target,
            version: raw.version,
            headers: to_headers(&raw.fields),
            leniencies_used: raw.leniencies_used,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::error::ParseError as E;
    use crate::http1::target::TargetError;
    use crate::testing::feed_every_way;
    use pretty_assertions::assert_eq;

    fn head(input: &[u8]) -> Result<Status<(usize, RequestHead)>, ParseError> {
        feed_every_way(input, |buf| RequestHead::parse(buf, &ParseOptions::STRICT))
    }

    fn lenient(input: &[u8]) -> Result<Status<(usize, RequestHead)>, ParseError> {
        feed_every_way(input, |buf| RequestHead::parse(buf, &ParseOptions::LENIENT))
    }

    fn complete(input: &[u8]) -> RequestHead {
        match head(input) {
            Ok(Status::Complete((n, head))) => {
                assert_eq!(n, input.len());
                head
            }
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    const SIMPLE: &[u8] = b"\
        GET /index.html?x=1 HTTP/1.1\r\n\
        Host: localhost:8080\r\n\
        Accept: */*\r\n\
        \r\n";

    #[test]
    fn a_simple_request() {
        let h = complete(SIMPLE);
        assert_eq!(h.method, Method::Get);
        assert_eq!(
            h.target,
            Target::Origin {
                path: "/index.html".into(),
                query: Some("x=1".into())
            }
        );
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.headers.get_str("host"), Some("localhost:8080"));
        assert_eq!(
            h.effective_authority(),
            Some(Authority {
                host: "localhost".into(),
                port: Some(8080)
            })
        );
        assert!(h.leniencies_used.is_empty());
        assert_eq!(h.to_bytes(), SIMPLE);
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let input = b"\
            \r\n\
            \r\n\
            HEAD / HTTP/1.0\r\n\
            \r\n";
        let h = complete(input);
        assert_eq!(h.method, Method::Head);
        assert_eq!(h.version, Version::Http10);
    }

    #[test]
    fn partial_until_the_empty_line() {
        assert_eq!(
            RequestHead::parse(b"GET / HTTP/1.1\r\nHost: a\r\n", &ParseOptions::STRICT),
            Ok(Status::Partial)
        );
        assert_eq!(
            RequestHead::parse(b"", &ParseOptions::STRICT),
            Ok(Status::Partial)
        );
    }

    #[test]
    fn raw_utf8_in_the_target_is_read_percent_encoded_when_allowed() {
        let typed = "GET /caf\u{e9}/r\u{e9}sum\u{e9}.txt?q=\u{fc} HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut options = ParseOptions::STRICT;
        options.leniencies.raw_utf8_target = true;
        let parsed = feed_every_way(typed.as_bytes(), |buf| RequestHead::parse(buf, &options));
        let Ok(Status::Complete((_, head))) = parsed else {
            panic!("{parsed:?}");
        };
        assert_eq!(head.target.path(), Some("/caf%C3%A9/r%C3%A9sum%C3%A9.txt"));
        assert_eq!(head.target.query(), Some("q=%C3%BC"));
        assert!(head.leniencies_used.raw_utf8_target);
        // Strict: the byte is named.
        assert_eq!(
            head_of(typed.as_bytes()),
            Err(E::InvalidTargetByte { offset: 8 })
        );
        // Bytes above 0x7F that are not UTF-8 are refused either way.
        let latin1 = b"GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(
            feed_every_way(latin1, |buf| RequestHead::parse(buf, &options)),
            Err(E::InvalidTargetByte { offset: 8 })
        );
        // The borrowed view keeps the bytes as sent.
        let Ok(Status::Complete((_, raw))) = RawRequest::parse(typed.as_bytes(), &options) else {
            panic!("no raw request");
        };
        assert_eq!(raw.target, "/caf\u{e9}/r\u{e9}sum\u{e9}.txt?q=\u{fc}");
    }

    fn head_of(input: &[u8]) -> Result<Status<(usize, RequestHead)>, ParseError> {
        head(input)
    }

    #[test]
    fn the_request_line_is_strict() {
        assert_eq!(
            head(b"GET  / HTTP/1.1\r\n\r\n"),
            Err(E::MalformedRequestLine { offset: 4 })
        );
        assert_eq!(
            head(b"GET / HTTP/1.1 \r\n\r\n"),
            Err(E::MalformedVersion { offset: 14 })
        );
        assert_eq!(
            head(b"GET /\r\n\r\n"),
            Err(E::MalformedRequestLine { offset: 5 })
        );
        assert_eq!(
            head(b"GET\r\n\r\n"),
            Err(E::MalformedRequestLine { offset: 3 })
        );
        assert_eq!(
            head(b"G(T / HTTP/1.1\r\n\r\n"),
            Err(E::InvalidMethod { offset: 1 })
        );
        assert_eq!(
            head(b"\x16\x03\x01\x02\x00"),
            Err(E::InvalidMethod { offset: 0 })
        );
        assert_eq!(
            head(b" GET / HTTP/1.1\r\n\r\n"),
            Err(E::InvalidMethod { offset: 0 })
        );
        assert_eq!(
            head(b"GET /a\"b HTTP/1.1\r\n\r\n"),
            Err(E::InvalidTargetByte { offset: 6 })
        );
        assert_eq!(
            head(b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n"),
            Err(E::InvalidTargetByte { offset: 5 })
        );
        assert_eq!(
            head(b"GET / http/1.1\r\n\r\n"),
            Err(E::MalformedVersion { offset: 6 })
        );
        assert_eq!(
            head(b"GET / HTTP/2.0\r\n\r\n"),
            Err(E::UnsupportedVersion {
                offset: 6,
                major: 2,
                minor: 0
            })
        );
        assert_eq!(
            head(b"GET / HTTP/1.1\r\n\r\n").unwrap_err().status_hint(),
            400
        );
        assert_eq!(
            head(b"GET\r/ HTTP/1.1\r\n\r\n"),
            Err(E::BareCr { offset: 3 })
        );
        assert_eq!(head(b"GET / HTTP/1.1\n\r\n"), Err(E::BareLf { offset: 14 }));
        assert_eq!(
            head(b"\nGET / HTTP/1.1\r\n\r\n"),
            Err(E::BareLf { offset: 0 })
        );
    }

    #[test]
    fn host_rules() {
        assert_eq!(head(b"GET / HTTP/1.1\r\n\r\n"), Err(E::MissingHost));
        assert!(head(b"GET / HTTP/1.0\r\n\r\n").is_ok());
        assert_eq!(
            head(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
            Err(E::DuplicateHost { offset: 25 })
        );
        assert_eq!(
            head(b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"),
            Err(E::DuplicateHost { offset: 25 })
        );
        assert_eq!(
            head(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
            Err(E::InvalidHost { offset: 21 })
        );
        assert_eq!(
            head(b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
            Err(E::InvalidHost { offset: 21 })
        );
        assert!(head(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").is_ok());

        // RFC 9112 §3.2.2: the absolute-form authority wins, Host is ignored.
        let h = complete(b"GET http://example.com/x HTTP/1.1\r\nHost: other:81\r\n\r\n");
        assert_eq!(
            h.effective_authority(),
            Some(Authority {
                host: "example.com".into(),
                port: None
            })
        );
        assert!(h.host_disagrees_with_target());
        let same = complete(b"GET http://Example.com:80/x HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert!(!same.host_disagrees_with_target());
    }

    #[test]
    fn a_proxy_rewrites_absolute_form_for_the_origin() {
        let h = complete(
            b"\
            GET http://example.com:80/a?b HTTP/1.1\r\n\
            Host: wrong\r\n\
            Accept: */*\r\n\
            \r\n",
        );
        let origin = h.to_origin_form().unwrap();
        assert_eq!(
            origin.to_bytes(),
            b"\
            GET /a?b HTTP/1.1\r\n\
            Host: example.com\r\n\
            Accept: */*\r\n\
            \r\n"
        );
        let h =
            complete(b"OPTIONS http://example.com:8001 HTTP/1.1\r\nHost: example.com:8001\r\n\r\n");
        assert_eq!(
            h.to_origin_form().unwrap().to_bytes(),
            b"OPTIONS * HTTP/1.1\r\nHost: example.com:8001\r\n\r\n"
        );
        let h = complete(b"GET https://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert_eq!(h.to_origin_form().unwrap().target.to_string(), "/");
        let h = complete(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.to_origin_form(), Some(h.clone()));
        let h = complete(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
        assert_eq!(h.to_origin_form(), None);
    }

    #[test]
    fn targets_must_fit_their_method() {
        let connect =
            complete(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
        assert_eq!(
            connect.target,
            Target::Authority(Authority {
                host: "example.com".into(),
                port: Some(443)
            })
        );
        let options = complete(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(options.target, Target::Asterisk);
        assert_eq!(
            head(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
            Err(E::InvalidTarget {
                offset: 4,
                error: TargetError::AsteriskNotOptions
            })
        );
        assert_eq!(
            head(b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"),
            Err(E::InvalidTarget {
                offset: 8,
                error: TargetError::ConnectNeedsAuthorityForm
            })
        );
        let input = b"GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n";
        let error = head(input).unwrap_err();
        assert_eq!(
            error,
            E::InvalidTarget {
                offset: 4,
                error: TargetError::InvalidPercentEncoding { index: 2 }
            }
        );
        assert_eq!(error.offending(input), b"/a%zz");
    }

    #[test]
    fn limits_have_their_own_errors() {
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(8192));
        let error = head(long_target.as_bytes()).unwrap_err();
        assert_eq!(error, E::RequestLineTooLong { limit: 8192 });
        assert_eq!(error.status_hint(), 414);
        // Exactly at the limit is fine.
        let at_limit = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(8192 - 15));
        assert!(head(at_limit.as_bytes()).is_ok());

        let big_value = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "v".repeat(32 * 1024)
        );
        assert_eq!(
            head(big_value.as_bytes()),
            Err(E::HeaderSectionTooLarge { limit: 32 * 1024 })
        );

        let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..100 {
            many.push_str(&format!("X-{i}: v\r\n"));
        }
        many.push_str("\r\n");
        let error = head(many.as_bytes()).unwrap_err();
        assert_eq!(error, E::TooManyFields { limit: 100 });
        assert_eq!(error.status_hint(), 431);

        let small = ParseOptions {
            limits: crate::http1::options::Limits {
                max_start_line: 10,
                max_header_section: 20,
                max_fields: 1,
            },
            ..ParseOptions::STRICT
        };
        let parse = |b: &[u8]| feed_every_way(b, |buf| RequestHead::parse(buf, &small));
        assert!(parse(b"GET / HTTP/1.0\r\n\r\n").is_err());
        assert!(parse(b"GET /a HTTP/1.0\r\n\r\n").is_err());
        assert!(parse(b"GET / HTTP/1.0\r\n\r\n").is_err());
    }

    #[test]
    fn leniencies_are_named_and_recorded() {
        let input = b"\
            GET /\xc3\xa9 HTTP/1.1\n\
            Host : a\n\
            X: one\n\
            \x20two\n\
            Y: \x01\n\
            \n";
        assert_eq!(head(input), Err(E::BareLf { offset: 16 }));
        let Ok(Status::Complete((n, h))) = lenient(input) else {
            panic!("lenient parse")
        };
        assert_eq!(n, input.len());
        assert_eq!(h.headers.get("x"), Some(&b"one two"[..]));
        assert_eq!(h.leniencies_used, Leniencies::ALL);
        let names: Vec<String> = h.leniencies_used.iter().map(|l| l.to_string()).collect();
        assert_eq!(names[0], "bare LF line endings (RFC 9112 §2.2)");
    }

    #[test]
    fn the_report_points_at_the_offending_byte() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n";
        let error = head(input).unwrap_err();
        assert_eq!(error, E::InvalidFieldName { offset: 28 });
        assert_eq!(error.report(input), "field name is empty or not a token (RFC 9110 §5.1) at byte 28\n  Bad Name: x\\r\\n\n     ^");
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #[test]
        fn parse_of_write_is_identity(head in crate::http1::strategies::request_head()) {
            let bytes = head.to_bytes();
            let parsed = feed_every_way(&bytes, |buf| RequestHead::parse(buf, &ParseOptions::STRICT));
            proptest::prop_assert_eq!(parsed, Ok(Status::Complete((bytes.len(), head))));
        }

        #[test]
        fn the_owned_head_is_the_raw_view_validated(
            input in proptest::prop_oneof![
                crate::http1::strategies::noise(),
                // A valid head with noise spliced in somewhere.
                (
                    crate::http1::strategies::request_head(),
                    crate::http1::strategies::noise(),
                    proptest::prelude::any::<proptest::sample::Index>(),
                )
                    .prop_map(|(head, noise, at): (RequestHead, Vec<u8>, proptest::sample::Index)| {
                        let mut bytes = head.to_bytes();
                        let at = at.index(bytes.len() + 1);
                        bytes.splice(at..at, noise);
                        bytes
                    }),
                // A valid head with a second Host line, or a Host line with noise in it.
                (
                    crate::http1::strategies::request_head(),
                    crate::http1::strategies::noise(),
                )
                    .prop_map(|(head, noise): (RequestHead, Vec<u8>)| {
                        let mut bytes = head.to_bytes();
                        let line_end = bytes.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1);
                        let mut host = b"Host: ".to_vec();
                        host.extend_from_slice(&noise);
                        host.extend_from_slice(b"\r\n");
                        bytes.splice(line_end..line_end, host);
                        bytes
                    }),
            ]
        ) {
            // RequestHead::parse reads the fields straight into Headers; it must say exactly
            // what RawRequest::parse followed by try_from says.
            for options in [ParseOptions::STRICT, ParseOptions::LENIENT] {
                let direct = RequestHead::parse(&input, &options);
                let via_raw = RawRequest::parse(&input, &options).and_then(|status| match status {
                    Status::Partial => Ok(Status::Partial),
                    Status::Complete((n, raw)) => {
                        Ok(Status::Complete((n, RequestHead::try_from(&raw)?)))
                    }
                });
                proptest::prop_assert_eq!(direct, via_raw);
            }
        }

        #[test]
        fn any_bytes_give_one_answer_however_split(input in crate::http1::strategies::noise()) {
            let strict = feed_every_way(&input, |buf| RequestHead::parse(buf, &ParseOptions::STRICT));
            if let Ok(Status::Complete((_, head))) = strict {
                // What the strict parser accepts, written back, reads back the same.
                let written = head.to_bytes();
                let again = RequestHead::parse(&written, &ParseOptions::STRICT);
                proptest::prop_assert_eq!(again, Ok(Status::Complete((written.len(), head))));
            }
            if let Ok(Status::Complete((_, head))) =
                feed_every_way(&input, |buf| RequestHead::parse(buf, &ParseOptions::LENIENT))
            {
                // A leniently read head is repaired: written back, it is strictly valid.
                let written = head.to_bytes();
                let again = RequestHead::parse(&written, &ParseOptions::STRICT);
                proptest::prop_assert!(matches!(again, Ok(Status::Complete(_))), "{:?}", again);
            }
        }
    }
}
