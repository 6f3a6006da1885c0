//! How strict the head parsers are, and how much they accept.
//!
//! Strict by default: every deviation from RFC 9112 is a named [`ParseError`](super::ParseError).
//! The REPL, the raw client and the labs turn on named [`Leniencies`] to read what real (or
//! student) peers send, and the parsed head records which ones were needed so the program can say
//! exactly what the peer did wrong.

use std::fmt;

/// Size limits on a message head. Exceeding one is an error with a status hint
/// (414 for the request line, 431 for the header section; RFC 9112 §3 and RFC 6585 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest start line in bytes, CRLF excluded; empty lines before a request line count.
    pub max_start_line: usize,
    /// Largest header section in bytes: every field line and the final empty line, line endings
    /// included.
    pub max_header_section: usize,
    /// Most field lines (obs-fold continuations do not count).
    pub max_fields: usize,
}

impl Limits {
    /// 8 KiB start line, 32 KiB header section, 100 fields.
    pub const DEFAULT: Limits = Limits {
        max_start_line: 8 * 1024,
        max_header_section: 32 * 1024,
        max_fields: 100,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Named departures from RFC 9112 that a parser may accept. As an option, each `true` allows the
/// departure; on a parsed head, each `true` says the departure was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Leniencies {
    /// Lines ending in LF alone (RFC 9112 §2.2 lets a recipient accept them).
    pub bare_lf: bool,
    /// Field values continued on a line starting with SP or HTAB, joined with one SP
    /// (RFC 9112 §5.2); also, whitespace-led lines right after the start line are skipped
    /// (RFC 9112 §2.2).
    pub obs_fold: bool,
    /// Whitespace between a field name and its colon, removed (RFC 9112 §5.1).
    pub space_before_colon: bool,
    /// CTL, DEL, NUL and bare CR bytes in field values, each replaced by SP (RFC 9110 §5.5), so
    /// that the repaired head is valid to send on.
    pub invalid_field_bytes: bool,
    /// Raw UTF-8 (bytes above 0x7F) in the request-target, as a person types `/café` into `nc`:
    /// URI syntax wants it percent-encoded (RFC 3986 §2.1, RFC 9112 §3.2), and the parsed
    /// [`Target`](super::Target) holds it so (`/caf%C3%A9`). Bytes that are not UTF-8 are still
    /// refused.
    pub raw_utf8_target: bool,
}

impl Leniencies {
    /// Nothing allowed: the default.
    pub const NONE: Leniencies = Leniencies {
        bare_lf: false,
        obs_fold: false,
        space_before_colon: false,
        invalid_field_bytes: false,
        raw_utf8_target: false,
    };
    /// Everything allowed, for the REPL and the raw client.
    pub const ALL: Leniencies = Leniencies {
        bare_lf: true,
        obs_fold: true,
        space_before_colon: true,
        invalid_field_bytes: true,
        raw_utf8_target: true,
    };

    /// True when no leniency is set.
    pub fn is_empty(&self) -> bool {
        *self == Leniencies::NONE
    }

    /// True when `leniency` is set.
    pub fn contains(&self, leniency: Leniency) -> bool {
        match leniency {
            Leniency::BareLf => self.bare_lf,
            Leniency::ObsFold => self.obs_fold,
            Leniency::SpaceBeforeColon => self.space_before_colon,
            Leniency::InvalidFieldBytes => self.invalid_field_bytes,
            Leniency::RawUtf8Target => self.raw_utf8_target,
        }
    }

    /// Sets `leniency`.
    pub fn insert(&mut self, leniency: Leniency) {
        match leniency {
            Leniency::BareLf => self.bare_lf = true,
            Leniency::ObsFold => self.obs_fold = true,
            Leniency::SpaceBeforeColon => self.space_before_colon = true,
            Leniency::InvalidFieldBytes => self.invalid_field_bytes = true,
            Leniency::RawUtf8Target => self.raw_utf8_target = true,
        }
    }

    /// The leniencies that are set, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = Leniency> + '_ {
        Leniency::ALL.into_iter().filter(|l| self.contains(*l))
    }
}

/// One named leniency, for reports ("this response used bare LF line endings, RFC 9112 §2.2").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leniency {
    BareLf,
    ObsFold,
    SpaceBeforeColon,
    InvalidFieldBytes,
    RawUtf8Target,
}

impl Leniency {
    /// Every leniency.
    pub const ALL: [Leniency; 5] = [
        Leniency::BareLf,
        Leniency::ObsFold,
        Leniency::SpaceBeforeColon,
        Leniency::InvalidFieldBytes,
        Leniency::RawUtf8Target,
    ];

    /// The RFC section the departure is from.
    pub fn rfc_section(&self) -> &'static str {
        match self {
            Leniency::BareLf => "RFC 9112 §2.2",
            Leniency::ObsFold => "RFC 9112 §5.2",
            Leniency::SpaceBeforeColon => "RFC 9112 §5.1",
            Leniency::InvalidFieldBytes => "RFC 9110 §5.5",
            Leniency::RawUtf8Target => "RFC 3986 §2.1",
        }
    }
}

impl fmt::Display for Leniency {
    /// For example `bare LF line endings (RFC 9112 §2.2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Leniency::BareLf => "bare LF line endings",
            Leniency::ObsFold => "obsolete line folding",
            Leniency::SpaceBeforeColon => "whitespace before a field colon",
            Leniency::InvalidFieldBytes => "control bytes in field values",
            Leniency::RawUtf8Target => "raw UTF-8 in the request-target, read percent-encoded",
        };
        write!(f, "{what} ({})", self.rfc_section())
    }
}

/// Everything a head parser needs to know besides the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOptions {
    pub limits: Limits,
    pub leniencies: Leniencies,
}

impl ParseOptions {
    /// Default limits, no leniency: what a server uses.
    pub const STRICT: ParseOptions = ParseOptions {
        limits: Limits::DEFAULT,
        leniencies: Leniencies::NONE,
    };
    /// Default limits, every leniency: what the REPL and the raw client use.
    pub const LENIENT: ParseOptions = ParseOptions {
        limits: Limits::DEFAULT,
        leniencies: Leniencies::ALL,
    };
}
