//! The protocol version of an HTTP/1.x message (RFC 9112 §2.3).
//!
//! `HTTP-version = HTTP-name "/" DIGIT "." DIGIT`, with `HTTP-name` case-sensitive. This crate
//! speaks HTTP/1.0 and HTTP/1.1; any other well-formed version is a 505 (RFC 9110 §15.6.6).

use std::fmt;

/// HTTP/1.0 or HTTP/1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What 8 bytes that should be an HTTP-version turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionSyntax {
    Supported(Version),
    /// Well-formed, but not 1.0 or 1.1.
    Unsupported {
        major: u8,
        minor: u8,
    },
    /// Not `HTTP/` DIGIT `.` DIGIT; the index of the first wrong byte.
    Malformed {
        at: usize,
    },
}

/// Checks `bytes` against `HTTP/` DIGIT `.` DIGIT, byte by byte so that a prefix that could
/// still become a version is never reported as malformed.
pub(crate) fn parse_version(bytes: &[u8]) -> VersionSyntax {
    const SHAPE: &[u8; 8] = b"HTTP/0.0";
    // Nearly every message: one comparison.
    match bytes {
        b"HTTP/1.1" => return VersionSyntax::Supported(Version::Http11),
        b"HTTP/1.0" => return VersionSyntax::Supported(Version::Http10),
        _ => {}
    }
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match i {
            5 | 7 => b.is_ascii_digit(),
            0..=7 => b == SHAPE[i],
            _ => false,
        };
        if !ok {
            return VersionSyntax::Malformed { at: i };
        }
    }
    if bytes.len() < SHAPE.len() {
        return VersionSyntax::Malformed { at: bytes.len() };
    }
    match (bytes[5] - b'0', bytes[7] - b'0') {
        (1, 0) => VersionSyntax::Supported(Version::Http10),
        (1, 1) => VersionSyntax::Supported(Version::Http11),
        (major, minor) => VersionSyntax::Unsupported { major, minor },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_case_sensitive_and_exact() {
        assert_eq!(
            parse_version(b"HTTP/1.1"),
            VersionSyntax::Supported(Version::Http11)
        );
        assert_eq!(
            parse_version(b"HTTP/1.0"),
            VersionSyntax::Supported(Version::Http10)
        );
        assert_eq!(
            parse_version(b"HTTP/2.0"),
            VersionSyntax::Unsupported { major: 2, minor: 0 }
        );
        assert_eq!(
            parse_version(b"http/1.1"),
            VersionSyntax::Malformed { at: 0 }
        );
        assert_eq!(
            parse_version(b"HTTP/1.10"),
            VersionSyntax::Malformed { at: 8 }
        );
        assert_eq!(parse_version(b"HTTP/2"), VersionSyntax::Malformed { at: 6 });
    }
}
