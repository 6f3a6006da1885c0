//! Range requests (RFC 9110 §14): which bytes of a representation a GET asked for, and how a
//! server answers: 206 with one part or several, 416, or the whole representation.
//!
//! In scope:
//! - [`RangeHeader`]: the `Range` field, `bytes=` with single, multiple, open (`500-`) and
//!   suffix (`-500`) ranges, optional whitespace and empty list elements; other units are kept
//!   by name so the server can ignore them (§14.2).
//! - [`IfRange`]: `If-Range` (§13.1.5), an entity tag compared strongly or a date that must
//!   equal `Last-Modified` exactly.
//! - [`decide`]: step 5 of RFC 9110 §13.2.2 and the range rules of §14.2, to a
//!   [`RangeDecision`]: the whole representation (and why), 206 with the byte ranges to send, or
//!   416.
//! - [`ContentRange`]: the `Content-Range` field (§14.4), written and read.
//! - [`MultipartByteranges`]: the body of a multi-part 206 (§14.6) as a plan of
//!   [`BodySegment`]s: literal part headers the server writes, and spans of the representation it
//!   can send with `sendfile` between them. The boundary is the caller's (inject it in tests).
//!
//! The policy against abusive range sets ([`RangePolicy`], RFC 9110 §14.2 and §17.15), applied in
//! this order:
//! 1. More than [`RangePolicy::max_ranges`] range-specs: the `Range` field is ignored and the whole
//!    representation is sent (200). The parser stops counting there, so a huge field costs no
//!    more than the limit.
//! 2. Range-specs that do not overlap the representation are dropped; if none is left the answer
//!    is 416 with `Content-Range: bytes */length`.
//! 3. Ranges that overlap, touch, or have at most [`RangePolicy::coalesce_gap`] bytes between
//!    them (about the cost of a part header) are merged. When anything was merged the result is
//!    in ascending order; otherwise the client's order is kept. After this step no byte is sent
//!    twice, so the body is never longer than the representation plus the part headers: `bytes=0-,
//!    0-, 0-, ...` costs one copy, not one per spec.
//!
//! Out of scope: evaluating the other preconditions (that is [`super::conditional`], which runs
//! first: a request answered 304 or 412 never gets here), choosing the boundary, and reading the
//! file.
//!
//! Leniency, named: a `Range` field that does not follow the grammar (including a range whose
//! last position is before its first) is ignored and the whole representation is sent, as §14.2
//! allows ("a server MAY ignore the Range header field"); the reason is kept in
//! [`WholeBecause::Malformed`] for an explanation. An unreadable `If-Range` is false (§13.1.5
//! asks for an exact match), so the whole representation is sent.

use std::fmt;

use super::abnf::is_tchar;
use super::conditional::{parse_entity_tag_at, CurrentRepresentation, EntityTag};
use super::date::HttpDate;
use super::fields::Headers;
use super::method::Method;

/// A span of bytes, first and last position included, as `Content-Range` writes it.
/// Always `first <= last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ByteRange {
    /// Offset of the first byte.
    pub first: u64,
    /// Offset of the last byte (included).
    pub last: u64,
}

impl ByteRange {
    /// Number of bytes in the span (at least 1).
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true: a `ByteRange` holds at least one byte. (Present because `len` is.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The span as a half-open range, for slicing or a file offset and count.
    pub fn as_range(&self) -> std::ops::Range<u64> {
        self.first..self.last + 1
    }
}

/// One range-spec of a `bytes` range set (RFC 9110 §14.1.1), before it meets a length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeSpec {
    /// `first-last`: both positions given.
    FromTo {
        /// first-pos
        first: u64,
        /// last-pos (at least `first`)
        last: u64,
    },
    /// `first-`: from `first` to the end.
    From {
        /// first-pos
        first: u64,
    },
    /// `-length`: the last `length` bytes.
    Suffix {
        /// suffix-length
        length: u64,
    },
}

impl RangeSpec {
    /// The bytes this spec selects from a representation of `length` bytes, or `None` when it
    /// selects none (a first position at or after the end, a zero suffix, an empty
    /// representation). Positions past the end are cut to the end (§14.1.2).
    pub fn resolve(&self, length: u64) -> Option<ByteRange> {
        if length == 0 {
            return None;
        }
        let end = length - 1;
        match *self {
            RangeSpec::FromTo { first, last } if first <= end => Some(ByteRange {
                first,
                last: last.min(end),
            }),
            RangeSpec::From { first } if first <= end => Some(ByteRange { first, last: end }),
            RangeSpec::Suffix { length: suffix } if suffix > 0 => Some(ByteRange {
                first: length.saturating_sub(suffix),
                last: end,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for RangeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeSpec::FromTo { first, last } => write!(f, "{first}-{last}"),
            RangeSpec::From { first } => write!(f, "{first}-"),
            RangeSpec::Suffix { length } => write!(f, "-{length}"),
        }
    }
}

/// The `Range` field (RFC 9110 §14.2): `range-unit "=" range-set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeHeader {
    /// `bytes=...`: the specs in the order the client sent them (never empty).
    Bytes(Vec<RangeSpec>),
    /// Any other unit, which a server that does not know it must ignore (§14.2).
    OtherUnit(String),
}

impl RangeHeader {
    /// Reads a `Range` value. The unit is case-insensitive; whitespace is allowed around the
    /// value and around commas, and empty list elements are skipped. More than `max_ranges`
    /// specs is an error ([`RangeErrorKind::TooManyRanges`]), found without reading further.
    pub fn parse(value: &[u8], max_ranges: usize) -> Result<RangeHeader, RangeError> {
        parse_range_header(value, max_ranges).map_err(|kind| RangeError {
            kind,
            input: printable(value),
        })
    }
}

impl fmt::Display for RangeHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeHeader::Bytes(specs) => {
                f.write_str("bytes=")?;
                for (i, spec) in specs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{spec}")?;
                }
                Ok(())
            }
            RangeHeader::OtherUnit(unit) => write!(f, "{unit}=..."),
        }
    }
}

/// Why a `Range` value could not be read, and the value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    /// What was wrong.
    pub kind: RangeErrorKind,
    /// The offending value, with bytes outside printable ASCII written as `\xHH`, cut at 64 bytes.
    pub input: String,
}

/// What was wrong with a `Range` value. Offsets count from the start of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeErrorKind {
    /// No `=` after the unit.
    MissingEquals,
    /// The unit is not a token.
    InvalidUnit {
        /// Where the first bad byte is.
        offset: usize,
    },
    /// `bytes=` with no range in it.
    NoRanges,
    /// A byte range that is not `first-last`, `first-` or `-suffix` with decimal digits.
    InvalidRangeSpec {
        /// Where the spec starts.
        offset: usize,
    },
    /// `first-last` with `last` before `first` (§14.1.1 calls it invalid).
    LastBeforeFirst {
        /// first-pos
        first: u64,
        /// last-pos
        last: u64,
    },
    /// More range-specs than the server's policy allows.
    TooManyRanges {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Range \"{}\" cannot be used: ", self.input)?;
        match &self.kind {
            RangeErrorKind::MissingEquals => {
                f.write_str("expected a unit and '=', like \"bytes=0-499\"")?
            }
            RangeErrorKind::InvalidUnit { offset } => {
                write!(f, "the range unit has a non-token byte at offset {offset}")?
            }
            RangeErrorKind::NoRanges => f.write_str("there is no range after '='")?,
            RangeErrorKind::InvalidRangeSpec { offset } => write!(
                f,
                "the range at offset {offset} is not \"first-last\", \"first-\" or \"-suffix\""
            )?,
            RangeErrorKind::LastBeforeFirst { first, last } => {
                write!(f, "the range {first}-{last} ends before it starts")?
            }
            RangeErrorKind::TooManyRanges { limit } => write!(
                f,
                "more than {limit} ranges; the whole representation is sent instead"
            )?,
        }
        f.write_str(" (RFC 9110 §14.2)")
    }
}

impl std::error::Error for RangeError {}

/// The validator in an `If-Range` field (RFC 9110 §13.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfRange {
    /// An entity tag; true only on a strong match.
    Tag(EntityTag),
    /// A date; true only when it equals `Last-Modified` exactly.
    Date(HttpDate),
}

impl IfRange {
    /// Reads `entity-tag / HTTP-date`: a value starting with `"` or `W/` is a tag, anything else
    /// a date. Returns `None` when it is neither (which makes the condition false).
    pub fn parse(value: &[u8], now: HttpDate) -> Option<IfRange> {
        let trimmed = value.trim_ascii();
        if trimmed.starts_with(b"\"") || trimmed.starts_with(b"W/") {
            match parse_entity_tag_at(trimmed, 0) {
                Ok((tag, end)) if end == trimmed.len() => Some(IfRange::Tag(tag)),
                _ => None,
            }
        } else {
            HttpDate::parse(trimmed, now).ok().map(IfRange::Date)
        }
    }

    /// True when the client's copy is still the current one: a strong match of entity tags
    /// (a weak tag on either side is false), or a date equal to `Last-Modified`.
    ///
    /// A `Last-Modified` date is a weak validator unless the server knows the representation
    /// cannot change twice within a second (RFC 9110 §8.8.2.2); servers that cannot promise
    /// that should send an `ETag`, which clients prefer in `If-Range`.
    pub fn is_true(&self, current: &CurrentRepresentation) -> bool {
        match self {
            IfRange::Tag(tag) => current
                .etag
                .as_ref()
                .is_some_and(|etag| tag.strong_eq(etag)),
            IfRange::Date(date) => current.last_modified == Some(*date),
        }
    }
}

/// Limits against range sets that would amplify a response (RFC 9110 §14.2, §17.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangePolicy {
    /// Most range-specs read from one `Range` field; beyond it the field is ignored (200).
    pub max_ranges: usize,
    /// Ranges with at most this many bytes between them are merged into one part (ranges that
    /// overlap or touch always are).
    pub coalesce_gap: u64,
}

impl Default for RangePolicy {
    /// At most 16 ranges; ranges at most 80 bytes apart (about one part header) are merged.
    fn default() -> Self {
        RangePolicy {
            max_ranges: 16,
            coalesce_gap: 80,
        }
    }
}

/// Why the whole representation is sent instead of ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WholeBecause {
    /// The request has no `Range` field.
    NoRange,
    /// Range requests are defined for GET only (§14.2).
    NotGet,
    /// The unit is not `bytes`; a server must ignore units it does not know (§14.2).
    UnknownUnit(String),
    /// The `Range` value does not follow the grammar, or breaks [`RangePolicy::max_ranges`].
    Malformed(RangeError),
    /// `If-Range` is false or unreadable: the client's copy is outdated (§13.1.5).
    IfRangeFalse,
    /// The representation is empty: a suffix range is satisfiable but selects no byte, and
    /// `Content-Range` cannot describe an empty span.
    EmptyRepresentation,
}

impl fmt::Display for WholeBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WholeBecause::NoRange => f.write_str("the request has no Range field"),
            WholeBecause::NotGet => {
                f.write_str("Range applies to GET only, so it is ignored (RFC 9110 §14.2)")
            }
            WholeBecause::UnknownUnit(unit) => write!(
                f,
                "the range unit \"{unit}\" is not bytes, so Range is ignored (RFC 9110 §14.2)"
            ),
            WholeBecause::Malformed(error) => write!(f, "{error}; Range is ignored"),
            WholeBecause::IfRangeFalse => f.write_str(
                "If-Range does not match the current representation, so it is sent whole (RFC 9110 §13.1.5)",
            ),
            WholeBecause::EmptyRepresentation => {
                f.write_str("the representation is empty, so there is no byte to send a range of")
            }
        }
    }
}

/// How a server answers the range part of a GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeDecision {
    /// 200 with the whole representation, and why.
    Whole(WholeBecause),
    /// 206 with these ranges: one is a single-part response with `Content-Range`, more than one
    /// a `multipart/byteranges` body ([`MultipartByteranges`]). Never empty, never overlapping.
    Partial(Vec<ByteRange>),
    /// 416 with `Content-Range: bytes */length` ([`ContentRange::Unsatisfied`]).
    NotSatisfiable,
}

impl RangeDecision {
    /// The status code of the answer: 200, 206 or 416.
    pub fn status(&self) -> u16 {
        match self {
            RangeDecision::Whole(_) => 200,
            RangeDecision::Partial(_) => 206,
            RangeDecision::NotSatisfiable => 416,
        }
    }
}

/// Decides how to answer a request's `Range` for a representation of `length` bytes, after the
/// other preconditions let the request proceed:
///
/// 1. Range applies to GET only; otherwise, and without a `Range` field, send the whole.
/// 2. Step 5 of RFC 9110 §13.2.2: with `If-Range`, a false (or unreadable) condition means the
///    whole representation.
/// 3. Read `Range` ([`RangeHeader::parse`] with the policy's limit): an unknown unit or a
///    malformed value is ignored.
/// 4. Resolve each spec against `length`, drop the unsatisfiable ones; none left is 416.
/// 5. Coalesce overlapping and nearby ranges as the module doc describes; 206.
///
/// `now` resolves two-digit years in an `If-Range` date of the obsolete RFC 850 form.
pub fn decide(
    method: &Method,
    range: Option<&[u8]>,
    if_range: Option<&[u8]>,
    current: &CurrentRepresentation,
    length: u64,
    policy: &RangePolicy,
    now: HttpDate,
) -> RangeDecision {
    if *method != Method::Get {
        return RangeDecision::Whole(WholeBecause::NotGet);
    }
    let Some(range) = range else {
        return RangeDecision::Whole(WholeBecause::NoRange);
    };
    if let Some(if_range) = if_range {
        let holds = IfRange::parse(if_range, now).is_some_and(|v| v.is_true(current));
        if !holds {
            return RangeDecision::Whole(WholeBecause::IfRangeFalse);
        }
    }
    match RangeHeader::parse(range, policy.max_ranges) {
        Err(error) => RangeDecision::Whole(WholeBecause::Malformed(error)),
        Ok(RangeHeader::OtherUnit(unit)) => RangeDecision::Whole(WholeBecause::UnknownUnit(unit)),
        Ok(RangeHeader::Bytes(specs)) => resolve(&specs, length, policy),
    }
}

/// [`decide`] with `Range` and `If-Range` taken from a request's header section. Several lines
/// of either are joined with commas, which no valid value survives, so they are ignored.
pub fn decide_for_request(
    method: &Method,
    headers: &Headers,
    current: &CurrentRepresentation,
    length: u64,
    policy: &RangePolicy,
    now: HttpDate,
) -> RangeDecision {
    let joined = |name: &str| -> Option<Vec<u8>> {
        let mut lines = headers.get_all(name).peekable();
        lines.peek()?;
        Some(lines.collect::<Vec<_>>().join(&b", "[..]))
    };
    decide(
        method,
        joined("range").as_deref(),
        joined("if-range").as_deref(),
        current,
        length,
        policy,
        now,
    )
}

/// Steps 4 and 5 of [`decide`] for specs already read: drop what lies outside `length`, answer
/// 416 if nothing is left, otherwise coalesce and answer 206.
pub fn resolve(specs: &[RangeSpec], length: u64, policy: &RangePolicy) -> RangeDecision {
    let ranges: Vec<ByteRange> = specs.iter().filter_map(|s| s.resolve(length)).collect();
    if ranges.is_empty() {
        // §14.1.1: a non-zero suffix is satisfiable even when the representation is empty.
        let satisfiable_suffix = specs
            .iter()
            .any(|s| matches!(s, RangeSpec::Suffix { length } if *length > 0));
        return if length == 0 && satisfiable_suffix {
            RangeDecision::Whole(WholeBecause::EmptyRepresentation)
        } else {
            RangeDecision::NotSatisfiable
        };
    }
    RangeDecision::Partial(coalesce(ranges, policy.coalesce_gap))
}

/// Merges ranges that overlap, touch, or have at most `gap` bytes between them. Keeps the given order when
/// nothing merges; otherwise returns the merged ranges in ascending order.
pub fn coalesce(ranges: Vec<ByteRange>, gap: u64) -> Vec<ByteRange> {
    let mut sorted = ranges.clone();
    sorted.sort_unstable();
    let mut merged: Vec<ByteRange> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(previous)
                if range.first <= previous.last.saturating_add(gap).saturating_add(1) =>
            {
                previous.last = previous.last.max(range.last);
            }
            _ => merged.push(range),
        }
    }
    if merged.len() == ranges.len() {
        ranges
    } else {
        merged
    }
}

/// The `Content-Range` field (RFC 9110 §14.4), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentRange {
    /// `bytes first-last/length`, or `bytes first-last/*` when the length is unknown.
    Satisfied {
        /// The bytes enclosed.
        range: ByteRange,
        /// The whole representation's length, if known.
        complete_length: Option<u64>,
    },
    /// `bytes */length`, sent with 416.
    Unsatisfied {
        /// The whole representation's length.
        complete_length: u64,
    },
}

impl ContentRange {
    /// Reads a `bytes` Content-Range value (for a client or proxy checking a 206 or 416).
    /// Returns `None` for other units or a value that does not follow the grammar, including a
    /// range that ends before it starts or runs past the complete length.
    pub fn parse(value: &[u8]) -> Option<ContentRange> {
        let value = value.trim_ascii();
        let (unit, rest) = split_once(value, b' ')?;
        if !unit.eq_ignore_ascii_case(b"bytes") {
            return None;
        }
        let (span, complete) = split_once(rest, b'/')?;
        let complete_length = if complete == b"*" {
            None
        } else {
            Some(parse_decimal(complete)?)
        };
        if span == b"*" {
            return complete_length
                .map(|complete_length| ContentRange::Unsatisfied { complete_length });
        }
        let (first, last) = split_once(span, b'-')?;
        let range = ByteRange {
            first: parse_decimal(first)?,
            last: parse_decimal(last)?,
        };
        let within = complete_length.is_none_or(|length| range.last < length);
        (range.first <= range.last && within).then_some(ContentRange::Satisfied {
            range,
            complete_length,
        })
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentRange::Satisfied {
                range,
                complete_length: Some(length),
            } => write!(f, "bytes {}-{}/{length}", range.first, range.last),
            ContentRange::Satisfied {
                range,
                complete_length: None,
            } => write!(f, "bytes {}-{}/*", range.first, range.last),
            ContentRange::Unsatisfied { complete_length } => {
                write!(f, "bytes */{complete_length}")
            }
        }
    }
}

/// A piece of a response body: bytes to write as they are, or a span of the representation
/// (for `sendfile` or a read at that offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySegment {
    /// Bytes produced here: part headers, separators, the closing boundary.
    Literal(Vec<u8>),
    /// Bytes of the representation.
    Representation(ByteRange),
}

impl BodySegment {
    /// Number of bytes this segment puts on the wire.
    pub fn len(&self) -> u64 {
        match self {
            BodySegment::Literal(bytes) => bytes.len() as u64,
            BodySegment::Representation(range) => range.len(),
        }
    }

    /// True for an empty literal (never produced by [`MultipartByteranges::segments`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The body of a multi-part 206 response (RFC 9110 §14.6):
///
/// ```text
/// --BOUNDARY\r\n
/// Content-Type: text/plain\r\n
/// Content-Range: bytes 0-4/26\r\n
/// \r\n
/// <bytes 0-4>\r\n
/// --BOUNDARY\r\n
/// Content-Type: text/plain\r\n
/// Content-Range: bytes 20-25/26\r\n
/// \r\n
/// <bytes 20-25>\r\n
/// --BOUNDARY--\r\n
/// ```
///
/// The CRLF before each delimiter belongs to the delimiter (RFC 2046 §5.1.1), not to the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartByteranges {
    boundary: String,
    part_content_type: Option<String>,
    complete_length: u64,
    ranges: Vec<ByteRange>,
}

/// Why a multipart boundary cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundaryError {
    /// The boundary given.
    pub boundary: String,
}

impl fmt::Display for BoundaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is not a multipart boundary: use 1 to 70 letters, digits or '()+_,-./:=? (RFC 2046 §5.1.1)",
            self.boundary
        )
    }
}

impl std::error::Error for BoundaryError {}

impl MultipartByteranges {
    /// Plans the body for `ranges` of a representation of `complete_length` bytes. Each part
    /// carries `Content-Type: part_content_type` when one is given (the type the 200 would have
    /// had). The boundary must be 1 to 70 of RFC 2046's `bcharsnospace`, and must not occur in
    /// the content: the caller picks it (randomly in production, fixed in tests).
    pub fn new(
        boundary: &str,
        part_content_type: Option<&str>,
        complete_length: u64,
        ranges: Vec<ByteRange>,
    ) -> Result<MultipartByteranges, BoundaryError> {
        let valid = (1..=70).contains(&boundary.len())
            && boundary
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(&b));
        if !valid {
            return Err(BoundaryError {
                boundary: boundary.to_owned(),
            });
        }
        Ok(MultipartByteranges {
            boundary: boundary.to_owned(),
            part_content_type: part_content_type.map(str::to_owned),
            complete_length,
            ranges,
        })
    }

    /// The response's `Content-Type` value: `multipart/byteranges; boundary=...`, the boundary
    /// quoted when it holds characters a token cannot.
    pub fn content_type(&self) -> String {
        let is_token = self
            .boundary
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"'+_-.".contains(&b));
        if is_token {
            format!("multipart/byteranges; boundary={}", self.boundary)
        } else {
            format!("multipart/byteranges; boundary=\"{}\"", self.boundary)
        }
    }

    /// The body in order: a literal part header before each span, the closing delimiter last.
    pub fn segments(&self) -> Vec<BodySegment> {
        let mut segments = Vec::with_capacity(self.ranges.len() * 2 + 1);
        for (i, range) in self.ranges.iter().enumerate() {
            let mut header = Vec::with_capacity(128);
            if i > 0 {
                header.extend_from_slice(b"\r\n");
            }
            header.extend_from_slice(b"--");
            header.extend_from_slice(self.boundary.as_bytes());
            header.extend_from_slice(b"\r\n");
            if let Some(content_type) = &self.part_content_type {
                header.extend_from_slice(b"Content-Type: ");
                header.extend_from_slice(content_type.as_bytes());
                header.extend_from_slice(b"\r\n");
            }
            let content_range = ContentRange::Satisfied {
                range: *range,
                complete_length: Some(self.complete_length),
            };
            header.extend_from_slice(format!("Content-Range: {content_range}\r\n\r\n").as_bytes());
            segments.push(BodySegment::Literal(header));
            segments.push(BodySegment::Representation(*range));
        }
        let mut closing = Vec::with_capacity(self.boundary.len() + 8);
        if !self.ranges.is_empty() {
            closing.extend_from_slice(b"\r\n");
        }
        closing.extend_from_slice(b"--");
        closing.extend_from_slice(self.boundary.as_bytes());
        closing.extend_from_slice(b"--\r\n");
        segments.push(BodySegment::Literal(closing));
        segments
    }

    /// The body's length, for `Content-Length`.
    pub fn content_length(&self) -> u64 {
        self.segments().iter().map(BodySegment::len).sum()
    }

    /// The ranges the parts enclose, in order.
    pub fn ranges(&self) -> &[ByteRange] {
        &self.ranges
    }
}

fn split_once(bytes: &[u8], separator: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == separator)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

/// `1*DIGIT`, saturating at `u64::MAX` (a position that large is past any representation).
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

fn parse_range_header(value: &[u8], max_ranges: usize) -> Result<RangeHeader, RangeErrorKind> {
    let leading = value.len() - value.trim_ascii_start().len();
    let trimmed = value.trim_ascii();
    let equals = trimmed
        .iter()
        .position(|&b| b == b'=')
        .ok_or(RangeErrorKind::MissingEquals)?;
    let unit = &trimmed[..equals];
    if unit.is_empty() {
        return Err(RangeErrorKind::InvalidUnit { offset: leading });
    }
    if let Some(bad) = unit.iter().position(|&b| !is_tchar(b)) {
        return Err(RangeErrorKind::InvalidUnit {
            offset: leading + bad,
        });
    }
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return Ok(RangeHeader::OtherUnit(
            String::from_utf8_lossy(unit).into_owned(),
        ));
    }
    let set_start = leading + equals + 1;
    let mut specs = Vec::new();
    let mut offset = set_start;
    for element in value[set_start..leading + trimmed.len()].split(|&b| b == b',') {
        let element_offset = offset;
        offset += element.len() + 1;
        let spec_offset = element_offset + (element.len() - element.trim_ascii_start().len());
        let element = element.trim_ascii();
        if element.is_empty() {
            continue; // empty list elements are allowed (RFC 9110 §5.6.1)
        }
        if specs.len() == max_ranges {
            return Err(RangeErrorKind::TooManyRanges { limit: max_ranges });
        }
        let invalid = RangeErrorKind::InvalidRangeSpec {
            offset: spec_offset,
        };
        let (first, last) = split_once(element, b'-').ok_or(invalid.clone())?;
        let spec = match (first.is_empty(), last.is_empty()) {
            (true, true) => return Err(invalid),
            (true, false) => RangeSpec::Suffix {
                length: parse_decimal(last).ok_or(invalid)?,
            },
            (false, true) => RangeSpec::From {
                first: parse_decimal(first).ok_or(invalid)?,
            },
            (false, false) => {
                let first = parse_decimal(first).ok_or(invalid.clone())?;
                let last = parse_decimal(last).ok_or(invalid)?;
                if last < first {
                    return Err(RangeErrorKind::LastBeforeFirst { first, last });
                }
                RangeSpec::FromTo { first, last }
            }
        };
        specs.push(spec);
    }
    if specs.is_empty() {
        return Err(RangeErrorKind::NoRanges);
    }
    Ok(RangeHeader::Bytes(specs))
}

/// The value as a person can read it in an error message (at most 64 bytes of it).
fn printable(value: &[u8]) -> String {
    crate::trace::escape::escape_prefix(value, 64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    fn span(first: u64, last: u64) -> ByteRange {
        ByteRange { first, last }
    }

    fn current() -> CurrentRepresentation {
        CurrentRepresentation {
            etag: Some(EntityTag::strong("v1").expect("valid")),
            last_modified: HttpDate::from_unix_seconds(784_111_777),
        }
    }

    fn now() -> HttpDate {
        HttpDate::from_unix_seconds(1_767_225_600).expect("in range")
    }

    fn get(range: &[u8], length: u64) -> RangeDecision {
        decide(
            &Method::Get,
            Some(range),
            None,
            &current(),
            length,
            &RangePolicy::default(),
            now(),
        )
    }

    fn parse(value: &[u8]) -> Result<RangeHeader, RangeErrorKind> {
        RangeHeader::parse(value, 16).map_err(|e| e.kind)
    }

    #[test]
    fn rfc_9110_byte_range_examples() {
        // RFC 9110 §14.1.2, for a representation of 10000 bytes.
        let length = 10_000;
        let cases: [(&[u8], Vec<ByteRange>); 5] = [
            (b"bytes=0-499", vec![span(0, 499)]),
            (b"bytes=500-999", vec![span(500, 999)]),
            (b"bytes=-500", vec![span(9500, 9999)]),
            (b"bytes=9500-", vec![span(9500, 9999)]),
            (b"bytes=0-0,-1", vec![span(0, 0), span(9999, 9999)]),
        ];
        for (value, expected) in cases {
            assert_eq!(
                get(value, length),
                RangeDecision::Partial(expected),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        // Overlapping and adjacent examples from the same section, coalesced into one part.
        assert_eq!(
            get(b"bytes=500-600,601-999", length),
            RangeDecision::Partial(vec![span(500, 999)])
        );
        assert_eq!(
            get(b"bytes=500-700,601-999", length),
            RangeDecision::Partial(vec![span(500, 999)])
        );
    }

    #[test]
    fn parses_every_spec_form_with_whitespace_and_empty_elements() {
        assert_eq!(
            parse(b" bytes=0-1, 5-,-3 ,\t, 7-9 "),
            Ok(RangeHeader::Bytes(vec![
                RangeSpec::FromTo { first: 0, last: 1 },
                RangeSpec::From { first: 5 },
                RangeSpec::Suffix { length: 3 },
                RangeSpec::FromTo { first: 7, last: 9 },
            ]))
        );
        assert_eq!(
            parse(b"BYTES=0-1"),
            Ok(RangeHeader::Bytes(vec![RangeSpec::FromTo {
                first: 0,
                last: 1
            }]))
        );
        assert_eq!(
            parse(b"items=1-2"),
            Ok(RangeHeader::OtherUnit("items".to_owned()))
        );
    }

    #[test]
    fn huge_positions_saturate_instead_of_overflowing() {
        assert_eq!(
            get(b"bytes=5-99999999999999999999999999", 10),
            RangeDecision::Partial(vec![span(5, 9)])
        );
        assert_eq!(
            get(b"bytes=99999999999999999999999999-", 10),
            RangeDecision::NotSatisfiable
        );
        assert_eq!(
            get(b"bytes=-99999999999999999999999999", 10),
            RangeDecision::Partial(vec![span(0, 9)])
        );
    }

    #[test]
    fn malformed_ranges_say_where() {
        let cases: [(&[u8], RangeErrorKind); 9] = [
            (b"bytes", RangeErrorKind::MissingEquals),
            (b"=0-1", RangeErrorKind::InvalidUnit { offset: 0 }),
            (b"by tes=0-1", RangeErrorKind::InvalidUnit { offset: 2 }),
            (b"bytes=", RangeErrorKind::NoRanges),
            (b"bytes= , ,", RangeErrorKind::NoRanges),
            (b"bytes=-", RangeErrorKind::InvalidRangeSpec { offset: 6 }),
            (
                b"bytes=0-1, x-2",
                RangeErrorKind::InvalidRangeSpec { offset: 11 },
            ),
            (
                b"bytes=1-2-3",
                RangeErrorKind::InvalidRangeSpec { offset: 6 },
            ),
            (
                b"bytes=5-2",
                RangeErrorKind::LastBeforeFirst { first: 5, last: 2 },
            ),
        ];
        for (value, kind) in cases {
            assert_eq!(
                parse(value),
                Err(kind),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        assert_eq!(
            RangeHeader::parse(b"bytes=5-2", 16).expect_err("invalid").to_string(),
            "Range \"bytes=5-2\" cannot be used: the range 5-2 ends before it starts (RFC 9110 §14.2)"
        );
    }

    /// (what the row shows, method, Range, If-Range, expected decision)
    type DecisionRow = (
        &'static str,
        Method,
        Option<&'static [u8]>,
        Option<&'static [u8]>,
        RangeDecision,
    );

    #[test]
    fn decisions_table() {
        let length = 1000;
        let policy = RangePolicy::default();
        let rows: Vec<DecisionRow> = vec![
            (
                "§14.2: no Range, whole",
                Method::Get,
                None,
                None,
                RangeDecision::Whole(WholeBecause::NoRange),
            ),
            (
                "§14.2: Range is for GET only",
                Method::Head,
                Some(b"bytes=0-1"),
                None,
                RangeDecision::Whole(WholeBecause::NotGet),
            ),
            (
                "§14.2: unknown units are ignored",
                Method::Get,
                Some(b"lines=1-2"),
                None,
                RangeDecision::Whole(WholeBecause::UnknownUnit("lines".to_owned())),
            ),
            (
                "§14.1.1: no spec overlaps the representation, 416",
                Method::Get,
                Some(b"bytes=1000-,2000-3000"),
                None,
                RangeDecision::NotSatisfiable,
            ),
            (
                "§14.1.1: a zero suffix selects nothing, 416",
                Method::Get,
                Some(b"bytes=-0"),
                None,
                RangeDecision::NotSatisfiable,
            ),
            (
                "§14.1.1: one satisfiable spec is enough; the rest are dropped",
                Method::Get,
                Some(b"bytes=5000-,10-19"),
                None,
                RangeDecision::Partial(vec![span(10, 19)]),
            ),
            (
                "§14.1.2: last-pos past the end is cut to the end",
                Method::Get,
                Some(b"bytes=990-5000"),
                None,
                RangeDecision::Partial(vec![span(990, 999)]),
            ),
            (
                "§14.1.2: a suffix longer than the representation is all of it",
                Method::Get,
                Some(b"bytes=-5000"),
                None,
                RangeDecision::Partial(vec![span(0, 999)]),
            ),
            (
                "§13.1.5: If-Range with the current strong tag, ranges served",
                Method::Get,
                Some(b"bytes=0-9"),
                Some(b"\"v1\""),
                RangeDecision::Partial(vec![span(0, 9)]),
            ),
            (
                "§13.1.5: If-Range with an old tag, whole",
                Method::Get,
                Some(b"bytes=0-9"),
                Some(b"\"v0\""),
                RangeDecision::Whole(WholeBecause::IfRangeFalse),
            ),
            (
                "§13.1.5: If-Range with a weak tag never matches",
                Method::Get,
                Some(b"bytes=0-9"),
                Some(b"W/\"v1\""),
                RangeDecision::Whole(WholeBecause::IfRangeFalse),
            ),
            (
                "§13.1.5: If-Range date equal to Last-Modified",
                Method::Get,
                Some(b"bytes=0-9"),
                Some(b"Sun, 06 Nov 1994 08:49:37 GMT"),
                RangeDecision::Partial(vec![span(0, 9)]),
            ),
            (
                "§13.1.5: If-Range date later than Last-Modified is still false",
                Method::Get,
                Some(b"bytes=0-9"),
                Some(b"Sun, 06 Nov 1994 08:49:38 GMT"),
                RangeDecision::Whole(WholeBecause::IfRangeFalse),
            ),
            (
                "§13.1.5: an unreadable If-Range is false",
                Method::Get,
                Some(b"bytes=0-9"),
                Some(b"yesterday"),
                RangeDecision::Whole(WholeBecause::IfRangeFalse),
            ),
            (
                "§13.1.5: If-Range without Range is ignored",
                Method::Get,
                None,
                Some(b"\"v0\""),
                RangeDecision::Whole(WholeBecause::NoRange),
            ),
            (
                "§14.2: disjoint ranges far apart keep the client's order",
                Method::Get,
                Some(b"bytes=500-599,0-99"),
                None,
                RangeDecision::Partial(vec![span(500, 599), span(0, 99)]),
            ),
            (
                "§14.3 (policy): ranges closer than the gap merge, ascending",
                Method::Get,
                Some(b"bytes=500-599,0-99,150-199"),
                None,
                RangeDecision::Partial(vec![span(0, 199), span(500, 599)]),
            ),
            (
                "§17.15 (policy): repeated whole-file ranges collapse to one",
                Method::Get,
                Some(b"bytes=0-,0-,0-,0-,0-,0-,0-,0-"),
                None,
                RangeDecision::Partial(vec![span(0, 999)]),
            ),
        ];
        for (what, method, range, if_range, expected) in rows {
            assert_eq!(
                decide(&method, range, if_range, &current(), length, &policy, now()),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn too_many_ranges_are_refused_by_sending_the_whole() {
        let value: Vec<u8> = format!(
            "bytes={}",
            (0..17)
                .map(|i| format!("{}-{}", i * 200, i * 200))
                .collect::<Vec<_>>()
                .join(",")
        )
        .into_bytes();
        let decision = get(&value, 10_000);
        assert!(
            matches!(
                &decision,
                RangeDecision::Whole(WholeBecause::Malformed(RangeError {
                    kind: RangeErrorKind::TooManyRanges { limit: 16 },
                    ..
                }))
            ),
            "{decision:?}"
        );
        assert_eq!(decision.status(), 200);
        let sixteen = &value[..value.iter().rposition(|&b| b == b',').expect("comma")];
        assert_eq!(get(sixteen, 10_000).status(), 206);
    }

    #[test]
    fn fields_are_read_from_a_header_section() {
        let mut headers = Headers::new();
        headers.append("Range", "bytes=0-9").expect("valid");
        headers.append("If-Range", "\"v1\"").expect("valid");
        let decide_now = |headers: &Headers| {
            decide_for_request(
                &Method::Get,
                headers,
                &current(),
                100,
                &RangePolicy::default(),
                now(),
            )
        };
        assert_eq!(
            decide_now(&headers),
            RangeDecision::Partial(vec![span(0, 9)])
        );
        headers.append("range", "bytes=20-29").expect("valid");
        assert!(matches!(
            decide_now(&headers),
            RangeDecision::Whole(WholeBecause::Malformed(_))
        ));
        assert_eq!(
            decide_now(&Headers::new()),
            RangeDecision::Whole(WholeBecause::NoRange)
        );
    }

    #[test]
    fn empty_representation() {
        assert_eq!(get(b"bytes=0-", 0), RangeDecision::NotSatisfiable);
        assert_eq!(
            get(b"bytes=-5", 0),
            RangeDecision::Whole(WholeBecause::EmptyRepresentation)
        );
    }

    #[test]
    fn content_range_values() {
        let cases: [(ContentRange, &str); 3] = [
            (
                ContentRange::Satisfied {
                    range: span(0, 499),
                    complete_length: Some(1234),
                },
                "bytes 0-499/1234",
            ),
            (
                ContentRange::Satisfied {
                    range: span(500, 999),
                    complete_length: None,
                },
                "bytes 500-999/*",
            ),
            (
                ContentRange::Unsatisfied {
                    complete_length: 1234,
                },
                "bytes */1234",
            ),
        ];
        for (value, text) in cases {
            assert_eq!(value.to_string(), text);
            assert_eq!(ContentRange::parse(text.as_bytes()), Some(value));
        }
        for bad in [
            &b"bytes 5-2/10"[..],
            b"bytes 0-10/10",
            b"bytes */*",
            b"items 0-1/2",
            b"bytes 0-1",
            b"bytes a-1/2",
        ] {
            assert_eq!(
                ContentRange::parse(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// RFC 9110 §14.6's example, with a boundary injected and short parts.
    #[test]
    fn multipart_body_plan() {
        let body = MultipartByteranges::new(
            "THIS_STRING_SEPARATES",
            Some("application/pdf"),
            8000,
            vec![span(500, 999), span(7000, 7999)],
        )
        .expect("valid boundary");
        assert_eq!(
            body.content_type(),
            "multipart/byteranges; boundary=THIS_STRING_SEPARATES"
        );
        const FIRST_PART: &[u8] = b"\
            --THIS_STRING_SEPARATES\r\n\
            Content-Type: application/pdf\r\n\
            Content-Range: bytes 500-999/8000\r\n\
            \r\n";
        const SECOND_PART: &[u8] = b"\
            \r\n\
            --THIS_STRING_SEPARATES\r\n\
            Content-Type: application/pdf\r\n\
            Content-Range: bytes 7000-7999/8000\r\n\
            \r\n";
        const CLOSING: &[u8] = b"\
            \r\n\
            --THIS_STRING_SEPARATES--\r\n";
        assert_eq!(
            body.segments(),
            vec![
                BodySegment::Literal(FIRST_PART.to_vec()),
                BodySegment::Representation(span(500, 999)),
                BodySegment::Literal(SECOND_PART.to_vec()),
                BodySegment::Representation(span(7000, 7999)),
                BodySegment::Literal(CLOSING.to_vec()),
            ]
        );
        assert_eq!(
            body.content_length(),
            (FIRST_PART.len() + SECOND_PART.len() + CLOSING.len()) as u64 + 500 + 1000
        );
    }

    #[test]
    fn multipart_body_assembles_into_a_parsable_document() {
        let representation: Vec<u8> = (b'a'..=b'z').collect();
        let body = MultipartByteranges::new("b0undary", None, 26, vec![span(0, 4), span(20, 25)])
            .expect("valid");
        let mut wire = Vec::new();
        for segment in body.segments() {
            match segment {
                BodySegment::Literal(bytes) => wire.extend_from_slice(&bytes),
                BodySegment::Representation(r) => {
                    let r = r.as_range();
                    wire.extend_from_slice(&representation[r.start as usize..r.end as usize]);
                }
            }
        }
        const EXPECTED: &[u8] = b"\
            --b0undary\r\n\
            Content-Range: bytes 0-4/26\r\n\
            \r\n\
            abcde\r\n\
            --b0undary\r\n\
            Content-Range: bytes 20-25/26\r\n\
            \r\n\
            uvwxyz\r\n\
            --b0undary--\r\n";
        assert_eq!(
            String::from_utf8_lossy(&wire),
            String::from_utf8_lossy(EXPECTED)
        );
        assert_eq!(body.content_length(), EXPECTED.len() as u64);
    }

    #[test]
    fn boundaries_are_checked_and_quoted_when_needed() {
        assert!(MultipartByteranges::new("", None, 1, vec![]).is_err());
        assert!(MultipartByteranges::new(&"x".repeat(71), None, 1, vec![]).is_err());
        assert!(MultipartByteranges::new("has space", None, 1, vec![]).is_err());
        assert!(MultipartByteranges::new("semi;colon", None, 1, vec![]).is_err());
        let quoted = MultipartByteranges::new("a=b", None, 1, vec![]).expect("bchars");
        assert_eq!(
            quoted.content_type(),
            "multipart/byteranges; boundary=\"a=b\""
        );
    }

    fn any_spec() -> impl Strategy<Value = RangeSpec> {
        prop_oneof![
            (0u64..3000, 0u64..3000).prop_map(|(a, b)| RangeSpec::FromTo {
                first: a.min(b),
                last: a.max(b)
            }),
            (0u64..3000).prop_map(|first| RangeSpec::From { first }),
            (0u64..3000).prop_map(|length| RangeSpec::Suffix { length }),
        ]
    }

    proptest! {
        #[test]
        fn ranges_never_reach_beyond_the_length_nor_overlap(
            specs in proptest::collection::vec(any_spec(), 1..20),
            length in 0u64..2500,
            gap in 0u64..200,
        ) {
            let policy = RangePolicy { max_ranges: 32, coalesce_gap: gap };
            match resolve(&specs, length, &policy) {
                RangeDecision::Partial(ranges) => {
                    prop_assert!(!ranges.is_empty());
                    for r in &ranges {
                        prop_assert!(r.first <= r.last && r.last < length, "{r:?} for {length}");
                    }
                    let mut sorted = ranges.clone();
                    sorted.sort();
                    for pair in sorted.windows(2) {
                        prop_assert!(pair[0].last + 1 + gap < pair[1].first);
                    }
                    let total: u64 = ranges.iter().map(ByteRange::len).sum();
                    prop_assert!(total <= length);
                }
                RangeDecision::NotSatisfiable => {
                    prop_assert!(specs.iter().all(|s| s.resolve(length).is_none()));
                }
                RangeDecision::Whole(why) => prop_assert_eq!(why, WholeBecause::EmptyRepresentation),
            }
        }

        #[test]
        fn written_range_headers_read_back(specs in proptest::collection::vec(any_spec(), 1..16)) {
            let header = RangeHeader::Bytes(specs);
            prop_assert_eq!(RangeHeader::parse(header.to_string().as_bytes(), 16), Ok(header));
        }

        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = RangeHeader::parse(&bytes, 16);
            let _ = ContentRange::parse(&bytes);
            let _ = IfRange::parse(&bytes, HttpDate::UNIX_EPOCH);
        }

        #[test]
        fn multipart_length_matches_its_segments(
            ranges in proptest::collection::vec((0u64..500, 0u64..500), 1..6)
        ) {
            let ranges: Vec<ByteRange> = ranges
                .into_iter()
                .map(|(a, b)| span(a.min(b), a.max(b)))
                .collect();
            let body = MultipartByteranges::new("sep", Some("text/plain"), 500, ranges.clone())
                .expect("valid");
            let spans: Vec<ByteRange> = body
                .segments()
                .into_iter()
                .filter_map(|s| match s {
                    BodySegment::Representation(r) => Some(r),
                    BodySegment::Literal(_) => None,
                })
                .collect();
            prop_assert_eq!(spans, ranges);
            prop_assert_eq!(
                body.content_length(),
                body.segments().iter().map(BodySegment::len).sum::<u64>()
            );
        }
    }
}
