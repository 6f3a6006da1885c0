//! Request targets (RFC 9112 §3.2), percent-decoding (RFC 3986 §2.1) and the path normaliser.
//!
//! Scope:
//! - [`Target`]: the four forms of request-target. Which form a target has depends on the method
//!   (RFC 9112 §3.2.3 and §3.2.4): `CONNECT` takes only authority-form, `*` is only for `OPTIONS`,
//!   otherwise a target starting with `/` is origin-form and anything else absolute-form.
//! - [`Authority`]: `uri-host [ ":" port ]` from an absolute URI, a CONNECT target or a `Host`
//!   field (RFC 9110 §4.2.1, §7.2). `userinfo` is refused (RFC 9110 §4.2.4).
//! - [`percent_decode`]: an invalid escape (`%` not followed by two hex digits) is an error, never
//!   kept as is.
//! - [`SafePath`]: a target path turned into segments that can only name something *under* a
//!   root. Safety comes from the type: a [`Segment`] can only be built by the normaliser, and it
//!   is never empty, `.` or `..`, and never holds `/`, `\`, NUL or another control byte. So
//!   joining segments under a root cannot climb out of it, whatever the input was.
//!
//! What the normaliser does with each dangerous shape (the server maps the errors to a status
//! with [`PathError::status_hint`]):
//!
//! | input | outcome |
//! | --- | --- |
//! | `.` segment | removed (RFC 3986 §5.2.4) |
//! | `..` segment | removes the segment before it; at the root: [`PathError::AboveRoot`] (403) |
//! | `//`, empty segments | collapsed |
//! | `%2e`, `%2E%2e`, `.%2e` (a dot segment written with escapes) | [`PathError::EncodedDotSegment`] (400) |
//! | `%2f` (an encoded `/`) | [`PathError::EncodedSlash`] (400) |
//! | `\` or `%5c` | [`PathError::Backslash`] (400) |
//! | `%00` | [`PathError::NulByte`] (400) |
//! | `%01`-`%1f`, `%7f` | [`PathError::ControlByte`] (400) |
//! | `%` not followed by two hex digits | [`PathError::InvalidPercentEncoding`] (400) |
//! | escapes that do not decode to UTF-8 | [`PathError::NotUtf8`] (400) |
//! | a path not starting with `/` | [`PathError::NotAbsolute`] (400) |
//!
//! Out of scope: symbolic links and hidden files under the root are the server's policy.

use std::fmt;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use super::abnf::{is_reg_name_byte, is_target_byte};
use super::method::Method;

/// Why a request-target was refused. Indexes are byte offsets into the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// The target is empty.
    Empty,
    /// A byte that may not appear in a request-target.
    InvalidByte { index: usize },
    /// `%` not followed by two hex digits.
    InvalidPercentEncoding { index: usize },
    /// `*` with a method other than OPTIONS (RFC 9112 §3.2.4).
    AsteriskNotOptions,
    /// CONNECT needs `host:port` (RFC 9112 §3.2.3, RFC 9110 §9.3.6).
    ConnectNeedsAuthorityForm,
    /// An absolute URI needs `scheme://authority` (RFC 9110 §4.2).
    NotAbsoluteUri,
    /// `user@host` is not allowed in an http(s) URI (RFC 9110 §4.2.4).
    Userinfo,
    /// An empty host (RFC 9110 §4.2.1).
    EmptyHost,
    /// A host that is not a reg-name, IPv4 address or bracketed IPv6 address (RFC 3986 §3.2.2).
    InvalidHost,
    /// A port that is not digits or exceeds 65535 (RFC 3986 §3.2.3).
    InvalidPort,
    /// authority-form without a port (RFC 9112 §3.2.3).
    MissingPort,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Empty => f.write_str("empty request-target"),
            TargetError::InvalidByte { index } => write!(f, "byte {index} is not allowed in a URI"),
            TargetError::InvalidPercentEncoding { index } => {
                write!(f, "`%` at byte {index} is not followed by two hex digits")
            }
            TargetError::AsteriskNotOptions => f.write_str("`*` is only for OPTIONS"),
            TargetError::ConnectNeedsAuthorityForm => f.write_str("CONNECT needs `host:port`"),
            TargetError::NotAbsoluteUri => f.write_str("not `/path` nor `scheme://authority/path`"),
            TargetError::Userinfo => f.write_str("`user@` is not allowed in an http URI"),
            TargetError::EmptyHost => f.write_str("empty host"),
            TargetError::InvalidHost => f.write_str("invalid host"),
            TargetError::InvalidPort => f.write_str("port is not a number from 0 to 65535"),
            TargetError::MissingPort => f.write_str("`host:port` without the port"),
        }
    }
}

impl std::error::Error for TargetError {}

/// `uri-host [ ":" port ]`. The host keeps its case and, for IPv6, its brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub host: String,
    /// `None` when absent or empty (`host:`), meaning the scheme's default.
    pub port: Option<u16>,
}

impl Authority {
    /// Parses `uri-host [ ":" port ]`, refusing userinfo and an empty host.
    pub fn parse(s: &str) -> Result<Authority, TargetError> {
        let (host_len, port) = Authority::split(s.as_bytes())?;
        Ok(Authority {
            host: s[..host_len].to_owned(),
            port,
        })
    }

    /// Checks `uri-host [ ":" port ]` like [`parse`](Self::parse) without keeping it (no
    /// allocation, no UTF-8 check: a server checks every `Host` field).
    pub(crate) fn check(s: &[u8]) -> Result<(), TargetError> {
        Authority::split(s).map(|_| ())
    }

    /// The length of the host (brackets included) and the port of a valid authority.
    fn split(s: &[u8]) -> Result<(usize, Option<u16>), TargetError> {
        // `@` anywhere is userinfo, whatever else is wrong. A valid authority has none, so it is
        // looked for only when something is wrong.
        Authority::split_without_userinfo(s).map_err(|e| {
            if s.contains(&b'@') {
                TargetError::Userinfo
            } else {
                e
            }
        })
    }

    fn split_without_userinfo(s: &[u8]) -> Result<(usize, Option<u16>), TargetError> {
        let (host, port) = if let Some(rest) = s.strip_prefix(b"[") {
            let close = rest
                .iter()
                .position(|&b| b == b']')
                .ok_or(TargetError::InvalidHost)?;
            std::str::from_utf8(&rest[..close])
                .ok()
                .and_then(|literal| literal.parse::<Ipv6Addr>().ok())
                .ok_or(TargetError::InvalidHost)?;
            let after = &rest[close + 1..];
            let port = match after {
                [] => None,
                _ => Some(after.strip_prefix(b":").ok_or(TargetError::InvalidHost)?),
            };
            (&s[..close + 2], port)
        } else {
            // The host runs to the first byte that is not a reg-name byte, which must be the
            // colon before the port, if anything.
            let host_end = s
                .iter()
                .position(|&b| !is_reg_name_byte(b))
                .unwrap_or(s.len());
            let port = match s.get(host_end) {
                None => None,
                Some(b':') => Some(&s[host_end + 1..]),
                Some(_) => return Err(TargetError::InvalidHost),
            };
            let host = &s[..host_end];
            if host.is_empty() {
                return Err(TargetError::EmptyHost);
            }
            check_percent_escapes(host).map_err(|_| TargetError::InvalidHost)?;
            (host, port)
        };
        let port = match port {
            None | Some([]) => None,
            Some(digits) => Some(
                digits
                    .iter()
                    .try_fold(0u16, |n, &b| {
                        if b.is_ascii_digit() {
                            n.checked_mul(10)?.checked_add(u16::from(b - b'0'))
                        } else {
                            None
                        }
                    })
                    .ok_or(TargetError::InvalidPort)?,
            ),
        };
        Ok((host.len(), port))
    }

    /// The port, or `default` when none was given.
    pub fn port_or(&self, default: u16) -> u16 {
        self.port.unwrap_or(default)
    }

    /// True when both name the same host and port: hosts compare ignoring ASCII case
    /// (RFC 3986 §6.2.2.1), a missing port equals `default_port`.
    pub fn same_origin_as(&self, other: &Authority, default_port: u16) -> bool {
        self.host.eq_ignore_ascii_case(&other.host)
            && self.port_or(default_port) == other.port_or(default_port)
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// A request-target in one of its four forms (RFC 9112 §3.2). Path and query are kept as sent,
/// still percent-encoded; the path is checked for valid escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `absolute-path [ "?" query ]`, what a client sends to an origin server.
    Origin { path: String, query: Option<String> },
    /// `scheme "://" authority path-abempty [ "?" query ]`, what a client sends to a proxy.
    /// The scheme is lower-cased; the path may be empty (meaning `/`).
    Absolute {
        scheme: String,
        authority: Authority,
        path: String,
        query: Option<String>,
    },
    /// `host:port`, for CONNECT only.
    Authority(Authority),
    /// `*`, for a server-wide OPTIONS only.
    Asterisk,
}

impl Target {
    /// Parses `s` as the target of a request with `method`.
    pub fn parse(method: &Method, s: &str) -> Result<Target, TargetError> {
        if s.is_empty() {
            return Err(TargetError::Empty);
        }
        if let Some(index) = s.bytes().position(|b| !is_target_byte(b)) {
            return Err(TargetError::InvalidByte { index });
        }
        if *method == Method::Connect {
            let authority = Authority::parse(s).map_err(|e| match e {
                TargetError::InvalidHost if s.starts_with('/') || s.contains("://") => {
                    TargetError::ConnectNeedsAuthorityForm
                }
                other => other,
            })?;
            if authority.port.is_none() {
                return Err(if s.ends_with(':') {
                    TargetError::InvalidPort
                } else {
                    TargetError::MissingPort
                });
            }
            return Ok(Target::Authority(authority));
        }
        if s == "*" {
            return if *method == Method::Options {
                Ok(Target::Asterisk)
            } else {
                Err(TargetError::AsteriskNotOptions)
            };
        }
        if s.starts_with('/') {
            let (path, query) = split_query(s);
            check_percent_escapes(s.as_bytes())?;
            return Ok(Target::Origin {
                path: path.to_owned(),
                query: query.map(str::to_owned),
            });
        }
        let colon = s.find(':').ok_or(TargetError::NotAbsoluteUri)?;
        let scheme = &s[..colon];
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        let rest = s[colon + 1..]
            .strip_prefix("//")
            .filter(|_| scheme_ok)
            .ok_or(TargetError::NotAbsoluteUri)?;
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = Authority::parse(&rest[..authority_end])?;
        let (path, query) = split_query(&rest[authority_end..]);
        check_percent_escapes(&rest.as_bytes()[authority_end..]).map_err(|e| match e {
            TargetError::InvalidPercentEncoding { index } => TargetError::InvalidPercentEncoding {
                index: index + colon + 3 + authority_end,
            },
            other => other,
        })?;
        Ok(Target::Absolute {
            scheme: scheme.to_ascii_lowercase(),
            authority,
            path: path.to_owned(),
            query: query.map(str::to_owned),
        })
    }

    /// An origin-form target for `path` (which must start with `/`) and an optional query.
    pub fn origin(path: &str, query: Option<&str>) -> Result<Target, TargetError> {
        let s = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        match Target::parse(&Method::Get, &s)? {
            target @ Target::Origin { .. } => Ok(target),
            _ => Err(TargetError::NotAbsoluteUri),
        }
    }

    /// The path, still encoded; `/` for an absolute URI with an empty path; `None` for
    /// authority-form and `*`.
    pub fn path(&self) -> Option<&str> {
        match self {
            Target::Origin { path, .. } => Some(path),
            Target::Absolute { path, .. } if path.is_empty() => Some("/"),
            Target::Absolute { path, .. } => Some(path),
            Target::Authority(_) | Target::Asterisk => None,
        }
    }

    /// The query without `?`, still encoded.
    pub fn query(&self) -> Option<&str> {
        match self {
            Target::Origin { query, .. } | Target::Absolute { query, .. } => query.as_deref(),
            Target::Authority(_) | Target::Asterisk => None,
        }
    }

    /// The authority the target names (absolute-form and authority-form only).
    pub fn authority(&self) -> Option<&Authority> {
        match self {
            Target::Absolute { authority, .. } | Target::Authority(authority) => Some(authority),
            Target::Origin { .. } | Target::Asterisk => None,
        }
    }

    /// The origin-form a proxy sends on to the origin server (RFC 9112 §3.2.1): the path
    /// (`/` when empty) and query of an absolute URI; an origin-form target is returned as is.
    pub fn to_origin_form(&self) -> Option<Target> {
        match self {
            Target::Origin { .. } => Some(self.clone()),
            Target::Absolute { query, .. } => Some(Target::Origin {
                path: self.path().unwrap_or("/").to_owned(),
                query: query.clone(),
            }),
            Target::Authority(_) | Target::Asterisk => None,
        }
    }
}

impl fmt::Display for Target {
    /// The target as it goes on the request line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Origin { path, query } => {
                f.write_str(path)?;
                if let Some(q) = query {
                    write!(f, "?{q}")?;
                }
                Ok(())
            }
            Target::Absolute {
                scheme,
                authority,
                path,
                query,
            } => {
                write!(f, "{scheme}://{authority}{path}")?;
                if let Some(q) = query {
                    write!(f, "?{q}")?;
                }
                Ok(())
            }
            Target::Authority(authority) => write!(f, "{authority}"),
            Target::Asterisk => f.write_str("*"),
        }
    }
}

fn split_query(s: &str) -> (&str, Option<&str>) {
    // A byte search: `?` is ASCII, and short targets are the rule.
    match s.bytes().position(|b| b == b'?') {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks that every `%` is followed by two hex digits, without decoding (no allocation).
fn check_percent_escapes(bytes: &[u8]) -> Result<(), TargetError> {
    let mut from = 0;
    while let Some(p) = bytes[from..].iter().position(|&b| b == b'%') {
        let i = from + p;
        let high = bytes.get(i + 1).copied().and_then(hex_value);
        let low = bytes.get(i + 2).copied().and_then(hex_value);
        if high.is_none() || low.is_none() {
            return Err(TargetError::InvalidPercentEncoding { index: i });
        }
        from = i + 3;
    }
    Ok(())
}

/// Decodes `%HH` escapes (RFC 3986 §2.1). A `%` not followed by two hex digits is an error with
/// its index; `+` is left alone (it means space only in HTML forms, not in URIs).
pub fn percent_decode(s: &str) -> Result<Vec<u8>, TargetError> {
    percent_decode_bytes(s.as_bytes())
}

fn percent_decode_bytes(s: &[u8]) -> Result<Vec<u8>, TargetError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let high = s.get(i + 1).copied().and_then(hex_value);
            let low = s.get(i + 2).copied().and_then(hex_value);
            match (high, low) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err(TargetError::InvalidPercentEncoding { index: i }),
            }
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Why a target path cannot be mapped under a root. See the module table for each shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// `%` not followed by two hex digits, at this byte of the path.
    InvalidPercentEncoding { index: usize },
    /// `..` would climb above the root.
    AboveRoot,
    /// A `.` or `..` segment written with `%2e`.
    EncodedDotSegment,
    /// `%2f` inside a segment.
    EncodedSlash,
    /// `\` or `%5c`, a separator on some systems.
    Backslash,
    /// `%00`.
    NulByte,
    /// Another control byte (`%01`-`%1f`, `%7f`).
    ControlByte,
    /// The decoded segment is not UTF-8.
    NotUtf8,
}

impl PathError {
    /// The status a file server answers with: 403 for climbing above the root, 400 otherwise.
    pub fn status_hint(&self) -> u16 {
        match self {
            PathError::AboveRoot => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "path does not start with `/`",
            PathError::InvalidPercentEncoding { .. } => "`%` not followed by two hex digits",
            PathError::AboveRoot => "`..` climbs above the root",
            PathError::EncodedDotSegment => "dot segment hidden as `%2e`",
            PathError::EncodedSlash => "encoded slash `%2f` in a segment",
            PathError::Backslash => "backslash in the path",
            PathError::NulByte => "NUL byte `%00` in the path",
            PathError::ControlByte => "control byte in the path",
            PathError::NotUtf8 => "path does not decode to UTF-8",
        })
    }
}

impl std::error::Error for PathError {}

/// One decoded path segment that is safe to use as a file name: never empty, `.` or `..`, and
/// free of `/`, `\`, NUL and control bytes. Only [`SafePath::from_target_path`] builds one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Segment(String);

impl Segment {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A decoded segment, checked as the normaliser checks every segment (a non-empty one).
    fn from_decoded(decoded: Vec<u8>) -> Result<Segment, PathError> {
        for &b in &decoded {
            match b {
                b'/' => return Err(PathError::EncodedSlash),
                b'\\' => return Err(PathError::Backslash),
                0 => return Err(PathError::NulByte),
                0x01..=0x1f | 0x7f => return Err(PathError::ControlByte),
                _ => {}
            }
        }
        let text = String::from_utf8(decoded).map_err(|_| PathError::NotUtf8)?;
        if text == "." || text == ".." {
            return Err(PathError::EncodedDotSegment);
        }
        Ok(Segment(text))
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A request path reduced to safe segments under a root (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafePath {
    segments: Vec<Segment>,
    trailing_slash: bool,
}

impl SafePath {
    /// Normalises an encoded target path (no query) such as [`Target::path`] returns.
    pub fn from_target_path(path: &str) -> Result<SafePath, PathError> {
        let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
        let mut segments: Vec<Segment> = Vec::new();
        let mut trailing_slash = true;
        let mut index = 1;
        for raw in rest.split('/') {
            let start = index;
            index += raw.len() + 1;
            trailing_slash = matches!(raw, "" | "." | "..");
            match raw {
                "" | "." => continue,
                ".." => {
                    segments.pop().ok_or(PathError::AboveRoot)?;
                    continue;
                }
                _ => {}
            }
            let decoded = percent_decode_bytes(raw.as_bytes()).map_err(|e| match e {
                TargetError::InvalidPercentEncoding { index } => {
                    PathError::InvalidPercentEncoding {
                        index: start + index,
                    }
                }
                _ => PathError::InvalidPercentEncoding { index: start },
            })?;
            segments.push(Segment::from_decoded(decoded)?);
        }
        Ok(SafePath {
            segments,
            trailing_slash,
        })
    }

    /// The decoded segments, outermost first; empty for the root.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// True for `/` (and paths that reduce to it, like `/a/..`).
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// True when the request named a directory: the path ended in `/`, `/.` or `/..`.
    pub fn has_trailing_slash(&self) -> bool {
        self.trailing_slash
    }

    /// The path one level down: `name` (decoded, not empty) as a last segment, checked as every
    /// segment is; `None` when it could not be one. A folder's `index.html` is `child("index.html")`.
    pub fn child(&self, name: &str) -> Option<SafePath> {
        if name.is_empty() {
            return None;
        }
        let mut segments = self.segments.clone();
        segments.push(Segment::from_decoded(name.as_bytes().to_vec()).ok()?);
        Some(SafePath {
            segments,
            trailing_slash: false,
        })
    }

    /// The same path with `suffix` added to its last segment (`/a.txt` to `/a.txt.gz`), checked
    /// as every segment is; `None` for the root or when the result could not be a segment.
    pub fn with_suffix(&self, suffix: &str) -> Option<SafePath> {
        let (last, parents) = self.segments.split_last()?;
        let mut name = last.0.clone().into_bytes();
        name.extend_from_slice(suffix.as_bytes());
        let mut segments = parents.to_vec();
        segments.push(Segment::from_decoded(name).ok()?);
        Some(SafePath {
            segments,
            trailing_slash: false,
        })
    }

    /// The file system path under `root`. Each segment is one component that cannot be `..`,
    /// absolute or contain a separator, so the result always starts with `root`.
    pub fn to_path_under(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        for segment in &self.segments {
            path.push(&segment.0);
        }
        path
    }

    /// The normalised path, percent-encoded again, for a redirect or a listing link.
    pub fn to_url_path(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            for &b in segment.0.as_bytes() {
                if super::abnf::is_pchar_literal(b) && b != b'%' {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
        if self.trailing_slash || self.segments.is_empty() {
            out.push('/');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn segments(path: &str) -> Result<Vec<String>, PathError> {
        SafePath::from_target_path(path)
            .map(|p| p.segments().iter().map(|s| s.as_str().to_owned()).collect())
    }

    #[test]
    fn four_forms_depend_on_the_method() {
        let get = Method::Get;
        assert_eq!(
            Target::parse(&get, "/a%20b?x=1&y").unwrap(),
            Target::Origin {
                path: "/a%20b".into(),
                query: Some("x=1&y".into())
            }
        );
        let absolute = Target::parse(&get, "HTTP://Example.com:8080/p?q").unwrap();
        assert_eq!(
            absolute,
            Target::Absolute {
                scheme: "http".into(),
                authority: Authority {
                    host: "Example.com".into(),
                    port: Some(8080)
                },
                path: "/p".into(),
                query: Some("q".into()),
            }
        );
        assert_eq!(absolute.to_string(), "http://Example.com:8080/p?q");
        let bare = Target::parse(&get, "http://example.com").unwrap();
        assert_eq!(bare.path(), Some("/"));
        assert_eq!(bare.to_origin_form().unwrap().to_string(), "/");
        assert_eq!(
            Target::parse(&Method::Connect, "example.com:443").unwrap(),
            Target::Authority(Authority {
                host: "example.com".into(),
                port: Some(443)
            })
        );
        assert_eq!(
            Target::parse(&Method::Options, "*").unwrap(),
            Target::Asterisk
        );
        assert_eq!(
            Target::parse(&get, "*"),
            Err(TargetError::AsteriskNotOptions)
        );
        assert_eq!(
            Target::parse(&Method::Connect, "/x"),
            Err(TargetError::ConnectNeedsAuthorityForm)
        );
        assert_eq!(
            Target::parse(&Method::Connect, "example.com"),
            Err(TargetError::MissingPort)
        );
        assert_eq!(
            Target::parse(&get, "example.com:443"),
            Err(TargetError::NotAbsoluteUri)
        );
        assert_eq!(
            Target::parse(&get, "http://user@host/"),
            Err(TargetError::Userinfo)
        );
        assert_eq!(
            Target::parse(&get, "http:///x"),
            Err(TargetError::EmptyHost)
        );
        assert_eq!(
            Target::parse(&get, "http://h:99999/"),
            Err(TargetError::InvalidPort)
        );
        assert_eq!(
            Target::parse(&get, "/a%zz"),
            Err(TargetError::InvalidPercentEncoding { index: 2 })
        );
        assert_eq!(
            Target::parse(&get, "/a#frag"),
            Err(TargetError::InvalidByte { index: 2 })
        );
        assert_eq!(Target::parse(&get, ""), Err(TargetError::Empty));
    }

    #[test]
    fn authorities_with_ipv6_and_ports() {
        assert_eq!(
            Authority::parse("[::1]:8080").unwrap(),
            Authority {
                host: "[::1]".into(),
                port: Some(8080)
            }
        );
        assert_eq!(Authority::parse("[::1]").unwrap().port, None);
        assert_eq!(Authority::parse("host:").unwrap().port, None);
        assert_eq!(Authority::parse("[zz]"), Err(TargetError::InvalidHost));
        assert_eq!(Authority::parse("a b"), Err(TargetError::InvalidHost));
        assert_eq!(Authority::parse("h:8x"), Err(TargetError::InvalidPort));
        assert_eq!(Authority::parse(""), Err(TargetError::EmptyHost));
        let a = Authority::parse("Example.COM").unwrap();
        assert!(a.same_origin_as(&Authority::parse("example.com:80").unwrap(), 80));
    }

    #[test]
    fn percent_decoding_refuses_broken_escapes() {
        assert_eq!(percent_decode("a%2Fb%c3%A9+").unwrap(), b"a/b\xc3\xa9+");
        assert_eq!(
            percent_decode("%"),
            Err(TargetError::InvalidPercentEncoding { index: 0 })
        );
        assert_eq!(
            percent_decode("ab%4"),
            Err(TargetError::InvalidPercentEncoding { index: 2 })
        );
        assert_eq!(
            percent_decode("%g0"),
            Err(TargetError::InvalidPercentEncoding { index: 0 })
        );
    }

    #[test]
    fn normaliser_outcomes_match_the_module_table() {
        assert_eq!(segments("/").unwrap(), Vec::<String>::new());
        assert_eq!(segments("/a/./b//c/").unwrap(), ["a", "b", "c"]);
        assert_eq!(segments("/a/b/../c").unwrap(), ["a", "c"]);
        assert_eq!(segments("/a/%C3%A9t%C3%A9").unwrap(), ["a", "été"]);
        assert_eq!(segments("/a/.."), Ok(vec![]));
        assert_eq!(segments("/.."), Err(PathError::AboveRoot));
        assert_eq!(segments("/a/../../etc/passwd"), Err(PathError::AboveRoot));
        assert_eq!(segments("/%2e%2e/etc"), Err(PathError::EncodedDotSegment));
        assert_eq!(segments("/a/.%2E"), Err(PathError::EncodedDotSegment));
        assert_eq!(segments("/a/%2e"), Err(PathError::EncodedDotSegment));
        assert_eq!(segments("/..%2fetc"), Err(PathError::EncodedSlash));
        assert_eq!(segments("/a%5c..%5cb"), Err(PathError::Backslash));
        assert_eq!(segments("/a\\b"), Err(PathError::Backslash));
        assert_eq!(segments("/a%00.html"), Err(PathError::NulByte));
        assert_eq!(segments("/a%0d"), Err(PathError::ControlByte));
        assert_eq!(segments("/a%ff"), Err(PathError::NotUtf8));
        assert_eq!(
            segments("/a/%zz"),
            Err(PathError::InvalidPercentEncoding { index: 3 })
        );
        assert_eq!(segments("a/b"), Err(PathError::NotAbsolute));
        assert_eq!(segments("/...").unwrap(), ["..."]);
        assert_eq!(segments("/.hidden").unwrap(), [".hidden"]);
    }

    #[test]
    fn safe_paths_join_under_the_root_and_re_encode() {
        let p = SafePath::from_target_path("/docs/../img/a%20b.png").unwrap();
        assert_eq!(
            p.to_path_under(Path::new("/srv/www")),
            PathBuf::from("/srv/www/img/a b.png")
        );
        assert_eq!(p.to_url_path(), "/img/a%20b.png");
        assert!(!p.has_trailing_slash());
        let index = SafePath::from_target_path("/docs/")
            .unwrap()
            .child("index.html");
        assert_eq!(
            index.map(|p| p.to_url_path()).as_deref(),
            Some("/docs/index.html")
        );
        let gz = SafePath::from_target_path("/a%20b.txt")
            .unwrap()
            .with_suffix(".gz");
        assert_eq!(
            gz.map(|p| p.to_url_path()).as_deref(),
            Some("/a%20b.txt.gz")
        );
        let root = SafePath::from_target_path("/").unwrap();
        assert_eq!(
            root.with_suffix(".gz"),
            None,
            "the root has no name to extend"
        );
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0b", "a\tb"] {
            assert_eq!(root.child(bad), None, "{bad:?} is no segment");
        }
        assert_eq!(
            SafePath::from_target_path("/a")
                .unwrap()
                .with_suffix("/../b"),
            None
        );
        let dir = SafePath::from_target_path("/docs/").unwrap();
        assert!(dir.has_trailing_slash());
        assert_eq!(dir.to_url_path(), "/docs/");
        let root = SafePath::from_target_path("/a/..").unwrap();
        assert!(root.is_root() && root.has_trailing_slash());
        assert_eq!(root.to_url_path(), "/");
    }

    /// Inputs built from the pieces traversal attacks are made of, plus arbitrary text.
    fn hostile_path() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just("/"),
            Just("//"),
            Just("."),
            Just(".."),
            Just("%2e"),
            Just("%2E"),
            Just("%2f"),
            Just("%2F"),
            Just("%5c"),
            Just("\\"),
            Just("%00"),
            Just("%"),
            Just("%zz"),
            Just("a"),
            Just("etc"),
            Just("%c3%a9"),
            Just("%ff"),
            Just("~"),
            Just(":"),
            Just("%252e"),
        ];
        prop_oneof![
            4 => prop::collection::vec(piece, 0..16).prop_map(|p| p.concat()),
            1 => any::<String>(),
            1 => any::<String>().prop_map(|s| format!("/{s}")),
        ]
    }

    proptest::proptest! {
        #[test]
        fn the_normaliser_never_yields_dot_dot_or_empty_segments(path in hostile_path()) {
            if let Ok(safe) = SafePath::from_target_path(&path) {
                for segment in safe.segments() {
                    let s = segment.as_str();
                    proptest::prop_assert!(!s.is_empty() && s != "." && s != "..", "{s:?} from {path:?}");
                    proptest::prop_assert!(!s.contains(['/', '\\', '\0']), "{s:?} from {path:?}");
                }
                let root = Path::new("/srv/root");
                let joined = safe.to_path_under(root);
                proptest::prop_assert!(joined.starts_with(root));
                proptest::prop_assert_eq!(joined.components().count(), root.components().count() + safe.segments().len());
                // Normalising the normalised path changes nothing.
                proptest::prop_assert_eq!(SafePath::from_target_path(&safe.to_url_path()), Ok(safe));
            }
        }
    }
}
