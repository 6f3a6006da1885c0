//! Whether a connection persists after a message, from that message's head alone
//! (RFC 9112 §9.3), as a pure function that [`Conn`](super::Conn) and the shells share.
//!
//! RFC 9112 §9.3 in order, for a recipient of a message:
//!
//! 1. the `close` connection option is present: the connection does not persist;
//! 2. otherwise, HTTP/1.1 (or later): it persists;
//! 3. otherwise, HTTP/1.0 with the `keep-alive` connection option: it persists;
//! 4. otherwise it closes after this message.
//!
//! Out of scope: what the body's framing says (a close-delimited response body also ends the
//! connection, RFC 9112 §6.3; see [`framing`](super::super::framing)), suspect framing, and the
//! limits a shell sets.

use super::super::{FramingFields, Headers, Version};

/// What a message head says about the connection after the message (RFC 9112 §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// The connection may carry another message.
    Persists,
    /// The message carries the `close` connection option (RFC 9112 §9.6).
    Close,
    /// HTTP/1.0 without the `keep-alive` connection option.
    Http10WithoutKeepAlive,
}

impl Persistence {
    /// True when the connection may carry another message.
    pub fn persists(self) -> bool {
        self == Persistence::Persists
    }
}

/// Applies RFC 9112 §9.3 to a message's version and header fields.
///
/// ```
/// use wire::http1::conn::{persistence, Persistence};
/// use wire::http1::{Headers, Version};
///
/// let mut headers = Headers::new();
/// assert_eq!(persistence(Version::Http11, &headers), Persistence::Persists);
/// assert_eq!(persistence(Version::Http10, &headers), Persistence::Http10WithoutKeepAlive);
/// headers.append("Connection", b"Keep-Alive").unwrap();
/// assert_eq!(persistence(Version::Http10, &headers), Persistence::Persists);
/// ```
pub fn persistence(version: Version, headers: &Headers) -> Persistence {
    persistence_given(version, headers, headers.framing_fields())
}

/// [`persistence`] for a connection that has already looked which fields are `present`: without
/// a `Connection` field there is no option to read.
pub(crate) fn persistence_given(
    version: Version,
    headers: &Headers,
    present: FramingFields,
) -> Persistence {
    let option = |token| present.connection && headers.contains_token("connection", token);
    if option("close") {
        return Persistence::Close;
    }
    match version {
        Version::Http11 => Persistence::Persists,
        Version::Http10 if option("keep-alive") => Persistence::Persists,
        Version::Http10 => Persistence::Http10WithoutKeepAlive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[(&str, &str)]) -> Headers {
        let mut headers = Headers::new();
        for (name, value) in fields {
            headers.append(name, value.as_bytes()).unwrap();
        }
        headers
    }

    /// A message's version and fields, and what they say about the connection.
    type Case = (
        Version,
        &'static [(&'static str, &'static str)],
        Persistence,
    );

    #[test]
    fn the_rules_of_rfc_9112_section_9_3_in_order() {
        use Persistence::*;
        use Version::*;
        let cases: &[Case] = &[
            (Http11, &[], Persists),
            (Http11, &[("Connection", "close")], Close),
            (Http11, &[("Connection", "keep-alive, CLOSE")], Close),
            (
                Http11,
                &[("Connection", "upgrade"), ("Connection", "close")],
                Close,
            ),
            (Http10, &[], Http10WithoutKeepAlive),
            (Http10, &[("Connection", "Keep-Alive")], Persists),
            (Http10, &[("Connection", "keep-alive, close")], Close),
            (
                Http10,
                &[("Keep-Alive", "timeout=5")],
                Http10WithoutKeepAlive,
            ),
        ];
        for (version, fields, expected) in cases {
            assert_eq!(
                persistence(*version, &headers(fields)),
                *expected,
                "{version:?} {fields:?}"
            );
        }
    }
}
