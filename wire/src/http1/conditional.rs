//! Conditional requests (RFC 9110 §13): entity tags, their two comparisons, and the order in
//! which a server evaluates the four precondition fields.
//!
//! In scope:
//! - [`EntityTag`] (RFC 9110 §8.8.3): strong `"xyzzy"` or weak `W/"xyzzy"`, parsed strictly
//!   (`etagc` bytes only), written back exactly; strong and weak comparison (§8.8.3.2).
//! - [`EntityTagList`]: the value of `If-Match` and `If-None-Match`, `"*"` or a comma-separated
//!   list. Commas may sit inside an opaque tag (`"a,b"` is one tag), so the list is read here
//!   tag by tag rather than split on commas. Empty list elements are skipped (§5.6.1).
//! - [`RequestConditions`]: the four precondition fields of a request, read from their values.
//! - [`evaluate`]: the decision of §13.2.2 for the selected representation, with the rule that
//!   decided it ([`Rule`]) and the fields that were ignored and why ([`Ignored`]), so a lab can
//!   say exactly why a server answered 304 or 412.
//!
//! Out of scope: `If-Range` (it selects between 206 and 200 rather than answering 304 or 412, so
//! it lives with ranges in [`super::range`]); how a server computes its validators (though
//! [`EntityTag::from_length_and_modified`] is offered as one sound choice); the "already
//! succeeded" exception of steps 1 and 2, which needs knowledge of earlier requests.
//!
//! Leniency, named: an `If-Match` or `If-None-Match` value that is not a valid entity-tag list
//! matches nothing. For `If-Match` that means 412, the safe answer to a request that wanted a
//! guarantee it did not express; for `If-None-Match` it means the request proceeds, as if no
//! listed tag matched. Invalid dates in `If-Modified-Since` and `If-Unmodified-Since` are ignored,
//! as §13.1.3 and §13.1.4 require.
//!
//! Last-Modified is compared at one-second resolution: [`HttpDate`] has no fraction, so a file's
//! modification time converted with `HttpDate::from(SystemTime)` loses its fraction before any
//! comparison, exactly as it does when it is written in the `Last-Modified` field.

use std::fmt;
use std::time::SystemTime;

use super::date::HttpDate;
use super::fields::Headers;
use super::method::Method;

/// An entity tag (RFC 9110 §8.8.3): an opaque string in double quotes, optionally marked weak.
///
/// ```text
/// entity-tag = [ weak ] opaque-tag
/// weak       = %s"W/"
/// opaque-tag = DQUOTE *etagc DQUOTE
/// etagc      = %x21 / %x23-7E / obs-text
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityTag {
    weak: bool,
    /// The bytes between the quotes.
    opaque: Vec<u8>,
}

impl EntityTag {
    /// A strong tag around `opaque` (the part between the quotes), if every byte is an `etagc`.
    pub fn strong(opaque: impl Into<Vec<u8>>) -> Result<EntityTag, EntityTagError> {
        Self::checked(false, opaque.into())
    }

    /// A weak tag around `opaque` (the part between the quotes), if every byte is an `etagc`.
    pub fn weak(opaque: impl Into<Vec<u8>>) -> Result<EntityTag, EntityTagError> {
        Self::checked(true, opaque.into())
    }

    fn checked(weak: bool, opaque: Vec<u8>) -> Result<EntityTag, EntityTagError> {
        match opaque.iter().position(|&b| !is_etagc(b)) {
            Some(offset) => Err(EntityTagError::new(
                EntityTagErrorKind::InvalidByte {
                    offset,
                    byte: opaque[offset],
                },
                &opaque,
            )),
            None => Ok(EntityTag { weak, opaque }),
        }
    }

    /// A strong tag derived from a file's length and modification time, both in hex, with the
    /// sub-second part of the time when the file system keeps one: `"5f3a1c2b.1dcd6500-4d2"`.
    ///
    /// Strong is honest only if the content cannot change without one of the two changing; a file
    /// rewritten with the same length within the clock's resolution keeps its tag. Servers that
    /// cannot accept that risk should hash the content instead.
    pub fn from_length_and_modified(length: u64, modified: SystemTime) -> EntityTag {
        let since_epoch = modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let opaque = if since_epoch.subsec_nanos() == 0 {
            format!("{:x}-{length:x}", since_epoch.as_secs())
        } else {
            format!(
                "{:x}.{:x}-{length:x}",
                since_epoch.as_secs(),
                since_epoch.subsec_nanos()
            )
        };
        EntityTag {
            weak: false,
            opaque: opaque.into_bytes(),
        }
    }

    /// Reads one entity tag, with optional whitespace around it (the `ETag` field's value).
    pub fn parse(value: &[u8]) -> Result<EntityTag, EntityTagError> {
        let start = skip_ows(value, 0);
        let (tag, end) =
            parse_entity_tag_at(value, start).map_err(|kind| EntityTagError::new(kind, value))?;
        let rest = skip_ows(value, end);
        if rest != value.len() {
            return Err(EntityTagError::new(
                EntityTagErrorKind::TrailingBytes { offset: rest },
                value,
            ));
        }
        Ok(tag)
    }

    /// True for a weak tag (`W/"..."`).
    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// The bytes between the quotes.
    pub fn opaque(&self) -> &[u8] {
        &self.opaque
    }

    /// Strong comparison (RFC 9110 §8.8.3.2): both tags strong and their opaque parts equal.
    pub fn strong_eq(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison (RFC 9110 §8.8.3.2): opaque parts equal, weakness ignored.
    pub fn weak_eq(&self, other: &EntityTag) -> bool {
        self.opaque == other.opaque
    }

    /// The field value exactly as it goes on the wire: `W/"xyzzy"` or `"xyzzy"`.
    pub fn to_field_value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.opaque.len() + 4);
        if self.weak {
            out.extend_from_slice(b"W/");
        }
        out.push(b'"');
        out.extend_from_slice(&self.opaque);
        out.push(b'"');
        out
    }
}

impl fmt::Display for EntityTag {
    /// The field value; bytes beyond ASCII (`obs-text`) are shown as `\xHH`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.weak {
            f.write_str("W/")?;
        }
        f.write_str("\"")?;
        for &b in &self.opaque {
            if b.is_ascii() {
                write!(f, "{}", char::from(b))?;
            } else {
                crate::trace::escape::write_byte(f, b, crate::trace::escape::Also::Nothing)?;
            }
        }
        f.write_str("\"")
    }
}

/// The value of `If-Match` or `If-None-Match`: `"*"` or one or more entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityTagList {
    /// `*`: any current representation.
    Any,
    /// The listed tags, in order (never empty).
    Tags(Vec<EntityTag>),
}

impl EntityTagList {
    /// Reads `"*" / #entity-tag` (RFC 9110 §13.1.1). Empty elements and optional whitespace are
    /// skipped; `*` must stand alone.
    pub fn parse(value: &[u8]) -> Result<EntityTagList, EntityTagError> {
        parse_list(value).map_err(|kind| EntityTagError::new(kind, value))
    }

    /// Reads a field sent as several lines, which means the same as their values joined with
    /// commas (RFC 9110 §5.3).
    pub fn parse_lines<'v>(
        values: impl IntoIterator<Item = &'v [u8]>,
    ) -> Result<EntityTagList, EntityTagError> {
        let joined = values.into_iter().collect::<Vec<_>>().join(&b", "[..]);
        Self::parse(&joined)
    }

    /// The strong comparison `If-Match` uses: `*` matches any current representation, a list
    /// matches when one of its tags strongly equals the current tag.
    pub fn matches_strongly(&self, current: Option<&CurrentRepresentation>) -> bool {
        match (self, current) {
            (_, None) => false,
            (EntityTagList::Any, Some(_)) => true,
            (EntityTagList::Tags(tags), Some(current)) => current
                .etag
                .as_ref()
                .is_some_and(|etag| tags.iter().any(|tag| tag.strong_eq(etag))),
        }
    }

    /// The weak comparison `If-None-Match` uses: `*` matches any current representation, a list
    /// matches when one of its tags weakly equals the current tag.
    pub fn matches_weakly(&self, current: Option<&CurrentRepresentation>) -> bool {
        match (self, current) {
            (_, None) => false,
            (EntityTagList::Any, Some(_)) => true,
            (EntityTagList::Tags(tags), Some(current)) => current
                .etag
                .as_ref()
                .is_some_and(|etag| tags.iter().any(|tag| tag.weak_eq(etag))),
        }
    }
}

impl fmt::Display for EntityTagList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityTagList::Any => f.write_str("*"),
            EntityTagList::Tags(tags) => {
                for (i, tag) in tags.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{tag}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why bytes are not an entity tag or a list of them, and the bytes themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTagError {
    /// What was wrong.
    pub kind: EntityTagErrorKind,
    /// The offending value, with bytes outside printable ASCII written as `\xHH`, cut at 64 bytes.
    pub input: String,
}

/// What was wrong with an entity tag. Offsets count from the start of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityTagErrorKind {
    /// No tag at all (an empty value, or only commas and whitespace).
    Empty,
    /// A tag must start with `"` or `W/"`.
    ExpectedQuote {
        /// Where the tag was expected.
        offset: usize,
    },
    /// The closing `"` is missing.
    Unterminated {
        /// Where the opening quote is.
        offset: usize,
    },
    /// A byte that no entity tag may hold (a control character, a space, or a backslash escape).
    InvalidByte {
        /// Where it is.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// Two tags without a comma between them, or bytes after a single tag.
    TrailingBytes {
        /// Where the unexpected bytes start.
        offset: usize,
    },
    /// `*` together with other members; it must be the whole value.
    StarInList {
        /// Where the `*` is, or where the list starts when `*` came first.
        offset: usize,
    },
}

impl EntityTagError {
    fn new(kind: EntityTagErrorKind, value: &[u8]) -> EntityTagError {
        EntityTagError {
            kind,
            input: printable(value),
        }
    }
}

impl fmt::Display for EntityTagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" is not a valid entity tag: ", self.input)?;
        match &self.kind {
            EntityTagErrorKind::Empty => f.write_str("there is no tag in it")?,
            EntityTagErrorKind::ExpectedQuote { offset } => write!(
                f,
                "expected '\"' or 'W/\"' at byte {offset} (tags are quoted, like \"v1\")"
            )?,
            EntityTagErrorKind::Unterminated { offset } => {
                write!(f, "the quote opened at byte {offset} is never closed")?
            }
            EntityTagErrorKind::InvalidByte { offset, byte } => write!(
                f,
                "byte 0x{byte:02X} at offset {offset} cannot appear in an entity tag"
            )?,
            EntityTagErrorKind::TrailingBytes { offset } => write!(
                f,
                "unexpected bytes at offset {offset}; separate tags with commas"
            )?,
            EntityTagErrorKind::StarInList { offset } => write!(
                f,
                "'*' at byte {offset} must be the whole value, not part of a list"
            )?,
        }
        f.write_str(" (RFC 9110 §8.8.3)")
    }
}

impl std::error::Error for EntityTagError {}

/// What the server knows about the selected representation: its current validators. Pass
/// `None` where this module asks for an `Option<&CurrentRepresentation>` when the target
/// resource has no current representation (a `PUT` that would create it, a 404).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrentRepresentation {
    /// The `ETag` the server would send, if it sends one.
    pub etag: Option<EntityTag>,
    /// The `Last-Modified` the server would send, if it has one (whole seconds).
    pub last_modified: Option<HttpDate>,
}

/// The four precondition fields of a request, as read from their values.
///
/// A field that is absent is `None`; one that is present but unreadable keeps its error, so
/// [`evaluate`] can apply the right rule and say what it ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestConditions {
    /// `If-Match` (RFC 9110 §13.1.1).
    pub if_match: Option<Result<EntityTagList, EntityTagError>>,
    /// `If-None-Match` (RFC 9110 §13.1.2).
    pub if_none_match: Option<Result<EntityTagList, EntityTagError>>,
    /// `If-Modified-Since` (RFC 9110 §13.1.3).
    pub if_modified_since: Option<Result<HttpDate, super::date::DateError>>,
    /// `If-Unmodified-Since` (RFC 9110 §13.1.4).
    pub if_unmodified_since: Option<Result<HttpDate, super::date::DateError>>,
}

impl RequestConditions {
    /// Reads the fields from their values (several lines of one field joined with `", "`).
    /// `now` resolves two-digit years in obsolete RFC 850 dates.
    pub fn from_field_values(
        if_match: Option<&[u8]>,
        if_none_match: Option<&[u8]>,
        if_modified_since: Option<&[u8]>,
        if_unmodified_since: Option<&[u8]>,
        now: HttpDate,
    ) -> RequestConditions {
        RequestConditions {
            if_match: if_match.map(EntityTagList::parse),
            if_none_match: if_none_match.map(EntityTagList::parse),
            if_modified_since: if_modified_since.map(|v| HttpDate::parse(v, now)),
            if_unmodified_since: if_unmodified_since.map(|v| HttpDate::parse(v, now)),
        }
    }

    /// Reads the four fields from a request's header section. A field sent as several lines is
    /// read as their values joined with commas (RFC 9110 §5.3), which makes two
    /// `If-Modified-Since` lines an invalid date, ignored as §13.1.3 requires.
    pub fn from_headers(headers: &Headers, now: HttpDate) -> RequestConditions {
        let joined = |name: &str| -> Option<Vec<u8>> {
            let mut lines = headers.get_all(name).peekable();
            lines.peek()?;
            Some(lines.collect::<Vec<_>>().join(&b", "[..]))
        };
        RequestConditions::from_field_values(
            joined("if-match").as_deref(),
            joined("if-none-match").as_deref(),
            joined("if-modified-since").as_deref(),
            joined("if-unmodified-since").as_deref(),
            now,
        )
    }

    /// True when no precondition field is present at all.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }
}

/// What the server does after evaluating the preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Perform the method (and for GET, go on to evaluate `If-Range` and `Range`).
    Proceed,
    /// 304 Not Modified (GET and HEAD only).
    NotModified,
    /// 412 Precondition Failed.
    PreconditionFailed,
}

impl Outcome {
    /// The status code this outcome answers with, or `None` to perform the method.
    pub fn status(self) -> Option<u16> {
        match self {
            Outcome::Proceed => None,
            Outcome::NotModified => Some(304),
            Outcome::PreconditionFailed => Some(412),
        }
    }
}

/// The rule of RFC 9110 §13.2.2 that decided an [`Outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Step 6: no precondition field applied.
    NoPreconditions,
    /// Step 6: every precondition that applied was true.
    AllTrue,
    /// Step 1 false: `If-Match: *` but there is no current representation.
    IfMatchAnyWithoutRepresentation,
    /// Step 1 false: no listed tag strongly matches the current `ETag` (weak tags never do).
    IfMatchNoStrongMatch,
    /// Step 1 false: the `If-Match` value could not be read, so it matches nothing.
    IfMatchUnreadable,
    /// Step 2 false: the representation was modified after the `If-Unmodified-Since` date.
    ModifiedAfterIfUnmodifiedSince,
    /// Step 3 false for GET/HEAD: a listed tag weakly matches, or `*` and a representation exists.
    IfNoneMatchMatchedForRead,
    /// Step 3 false for other methods: as above, answered with 412.
    IfNoneMatchMatchedForWrite,
    /// Step 4 false: not modified since the `If-Modified-Since` date.
    NotModifiedSinceIfModifiedSince,
}

impl Rule {
    /// The step number of RFC 9110 §13.2.2 this rule belongs to.
    pub fn step(self) -> u8 {
        match self {
            Rule::NoPreconditions | Rule::AllTrue => 6,
            Rule::IfMatchAnyWithoutRepresentation
            | Rule::IfMatchNoStrongMatch
            | Rule::IfMatchUnreadable => 1,
            Rule::ModifiedAfterIfUnmodifiedSince => 2,
            Rule::IfNoneMatchMatchedForRead | Rule::IfNoneMatchMatchedForWrite => 3,
            Rule::NotModifiedSinceIfModifiedSince => 4,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Rule::NoPreconditions => "no precondition applied, so the method is performed",
            Rule::AllTrue => "every precondition was true, so the method is performed",
            Rule::IfMatchAnyWithoutRepresentation => {
                "If-Match: * is false because there is no current representation"
            }
            Rule::IfMatchNoStrongMatch => {
                "If-Match is false: no listed tag strongly matches the current ETag (weak tags never match)"
            }
            Rule::IfMatchUnreadable => {
                "If-Match is not a valid list of entity tags, so it matches nothing and is false"
            }
            Rule::ModifiedAfterIfUnmodifiedSince => {
                "If-Unmodified-Since is false: Last-Modified is later than the date given"
            }
            Rule::IfNoneMatchMatchedForRead => {
                "If-None-Match is false (a listed tag weakly matches the current ETag, or * and the representation exists), and for GET or HEAD that means 304"
            }
            Rule::IfNoneMatchMatchedForWrite => {
                "If-None-Match is false (a listed tag weakly matches the current ETag, or * and the representation exists), and for methods other than GET or HEAD that means 412"
            }
            Rule::NotModifiedSinceIfModifiedSince => {
                "If-Modified-Since is false: Last-Modified is not later than the date given"
            }
        };
        write!(f, "{text} (RFC 9110 §13.2.2 step {})", self.step())
    }
}

/// A precondition field that [`evaluate`] did not evaluate, and the rule that says to skip it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ignored {
    /// `If-Unmodified-Since` is ignored when `If-Match` is present (§13.1.4).
    IfUnmodifiedSinceBecauseIfMatch,
    /// `If-Unmodified-Since` is not a valid HTTP-date (§13.1.4).
    IfUnmodifiedSinceInvalidDate,
    /// `If-Unmodified-Since` with no `Last-Modified` to compare to (§13.1.4).
    IfUnmodifiedSinceWithoutLastModified,
    /// `If-None-Match` is not a valid entity-tag list, so nothing matches it and it is true.
    IfNoneMatchUnreadable,
    /// `If-Modified-Since` is ignored when `If-None-Match` is present (§13.1.3).
    IfModifiedSinceBecauseIfNoneMatch,
    /// `If-Modified-Since` applies to GET and HEAD only (§13.1.3).
    IfModifiedSinceNotGetOrHead,
    /// `If-Modified-Since` is not a single valid HTTP-date (§13.1.3).
    IfModifiedSinceInvalidDate,
    /// `If-Modified-Since` with no `Last-Modified` to compare to (§13.1.3).
    IfModifiedSinceWithoutLastModified,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ignored::IfUnmodifiedSinceBecauseIfMatch => {
                "If-Unmodified-Since ignored because If-Match is present (RFC 9110 §13.1.4)"
            }
            Ignored::IfUnmodifiedSinceInvalidDate => {
                "If-Unmodified-Since ignored because it is not a valid HTTP-date (RFC 9110 §13.1.4)"
            }
            Ignored::IfUnmodifiedSinceWithoutLastModified => {
                "If-Unmodified-Since ignored because the resource has no modification date (RFC 9110 §13.1.4)"
            }
            Ignored::IfNoneMatchUnreadable => {
                "If-None-Match is not a valid list of entity tags, so no tag matches it (RFC 9110 §13.1.2)"
            }
            Ignored::IfModifiedSinceBecauseIfNoneMatch => {
                "If-Modified-Since ignored because If-None-Match is present (RFC 9110 §13.1.3)"
            }
            Ignored::IfModifiedSinceNotGetOrHead => {
                "If-Modified-Since ignored because the method is neither GET nor HEAD (RFC 9110 §13.1.3)"
            }
            Ignored::IfModifiedSinceInvalidDate => {
                "If-Modified-Since ignored because it is not a single valid HTTP-date (RFC 9110 §13.1.3)"
            }
            Ignored::IfModifiedSinceWithoutLastModified => {
                "If-Modified-Since ignored because the resource has no modification date (RFC 9110 §13.1.3)"
            }
        })
    }
}

/// The result of [`evaluate`]: what to do, which rule decided, and what was skipped on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Perform the method, 304 or 412.
    pub outcome: Outcome,
    /// The rule that decided the outcome.
    pub rule: Rule,
    /// Fields that were present but not evaluated, in the order they were met.
    pub ignored: Vec<Ignored>,
}

/// The fields a 304 response carries when the 200 would have carried them (RFC 9110 §15.4.5).
pub const NOT_MODIFIED_FIELDS: [&str; 6] = [
    "Cache-Control",
    "Content-Location",
    "Date",
    "ETag",
    "Expires",
    "Vary",
];

/// Evaluates the preconditions of a request to an origin server, in the order of RFC 9110
/// §13.2.2:
///
/// 1. When `If-Match` is present: if it is true, go to step 3; if false, answer 412.
///    True means `*` and a current representation exists, or a listed tag *strongly* matches the
///    current `ETag`.
/// 2. When `If-Match` is absent and `If-Unmodified-Since` is present (a valid date, and the
///    resource has a `Last-Modified`): if `Last-Modified` is not later than the date, it is true,
///    go to step 3; if false, answer 412.
/// 3. When `If-None-Match` is present: if it is true, go to step 5; if false, answer 304 for GET
///    and HEAD and 412 for any other method. False means `*` and a current representation exists,
///    or a listed tag *weakly* matches the current `ETag`.
/// 4. When the method is GET or HEAD, `If-None-Match` is absent and `If-Modified-Since` is present
///    (a valid date, and the resource has a `Last-Modified`): if `Last-Modified` is later than the
///    date, it is true, go to step 5; if false, answer 304.
/// 5. When the method is GET and both `Range` and `If-Range` are present, evaluate `If-Range`
///    ([`super::range::IfRange`]): true means the ranges are served, false means the whole
///    representation is.
/// 6. Otherwise, perform the method.
///
/// This function answers steps 1 to 4 and 6; [`Outcome::Proceed`] is where step 5 begins.
/// `current` is `None` when the target resource has no current representation.
pub fn evaluate(
    method: &Method,
    conditions: &RequestConditions,
    current: Option<&CurrentRepresentation>,
) -> Evaluation {
    let is_read = matches!(method, Method::Get | Method::Head);
    let last_modified = current.and_then(|c| c.last_modified);
    let mut ignored = Vec::new();
    let mut evaluated_any = false;
    let decided = |outcome, rule, ignored| Evaluation {
        outcome,
        rule,
        ignored,
    };

    // Step 1: If-Match, strong comparison.
    if let Some(if_match) = &conditions.if_match {
        evaluated_any = true;
        let failure = match if_match {
            Err(_) => Some(Rule::IfMatchUnreadable),
            Ok(list) if list.matches_strongly(current) => None,
            Ok(EntityTagList::Any) => Some(Rule::IfMatchAnyWithoutRepresentation),
            Ok(EntityTagList::Tags(_)) => Some(Rule::IfMatchNoStrongMatch),
        };
        if let Some(rule) = failure {
            return decided(Outcome::PreconditionFailed, rule, ignored);
        }
        if conditions.if_unmodified_since.is_some() {
            ignored.push(Ignored::IfUnmodifiedSinceBecauseIfMatch);
        }
    } else if let Some(if_unmodified_since) = &conditions.if_unmodified_since {
        // Step 2: If-Unmodified-Since, only without If-Match.
        match (if_unmodified_since, last_modified) {
            (Err(_), _) => ignored.push(Ignored::IfUnmodifiedSinceInvalidDate),
            (Ok(_), None) => ignored.push(Ignored::IfUnmodifiedSinceWithoutLastModified),
            (Ok(date), Some(modified)) => {
                evaluated_any = true;
                if modified > *date {
                    return decided(
                        Outcome::PreconditionFailed,
                        Rule::ModifiedAfterIfUnmodifiedSince,
                        ignored,
                    );
                }
            }
        }
    }

    // Step 3: If-None-Match, weak comparison.
    if let Some(if_none_match) = &conditions.if_none_match {
        match if_none_match {
            Err(_) => ignored.push(Ignored::IfNoneMatchUnreadable),
            Ok(list) => {
                evaluated_any = true;
                if list.matches_weakly(current) {
                    return if is_read {
                        decided(
                            Outcome::NotModified,
                            Rule::IfNoneMatchMatchedForRead,
                            ignored,
                        )
                    } else {
                        decided(
                            Outcome::PreconditionFailed,
                            Rule::IfNoneMatchMatchedForWrite,
                            ignored,
                        )
                    };
                }
            }
        }
        if conditions.if_modified_since.is_some() {
            ignored.push(Ignored::IfModifiedSinceBecauseIfNoneMatch);
        }
    } else if let Some(if_modified_since) = &conditions.if_modified_since {
        // Step 4: If-Modified-Since, only for GET and HEAD without If-None-Match.
        match (is_read, if_modified_since, last_modified) {
            (false, _, _) => ignored.push(Ignored::IfModifiedSinceNotGetOrHead),
            (true, Err(_), _) => ignored.push(Ignored::IfModifiedSinceInvalidDate),
            (true, Ok(_), None) => ignored.push(Ignored::IfModifiedSinceWithoutLastModified),
            (true, Ok(date), Some(modified)) => {
                evaluated_any = true;
                if modified <= *date {
                    return decided(
                        Outcome::NotModified,
                        Rule::NotModifiedSinceIfModifiedSince,
                        ignored,
                    );
                }
            }
        }
    }

    // Step 6 (step 5 is If-Range, evaluated by the range module).
    let rule = if evaluated_any {
        Rule::AllTrue
    } else {
        Rule::NoPreconditions
    };
    decided(Outcome::Proceed, rule, ignored)
}

/// `etagc = %x21 / %x23-7E / obs-text`: visible ASCII except `"`, and bytes 0x80-0xFF.
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}

fn skip_ows(value: &[u8], mut at: usize) -> usize {
    while at < value.len() && (value[at] == b' ' || value[at] == b'\t') {
        at += 1;
    }
    at
}

/// Reads `[ W/ ] DQUOTE *etagc DQUOTE` starting at `start`; returns the tag and the offset after it.
pub(crate) fn parse_entity_tag_at(
    value: &[u8],
    start: usize,
) -> Result<(EntityTag, usize), EntityTagErrorKind> {
    let rest = &value[start..];
    let (weak, quote) = if rest.starts_with(b"W/\"") {
        (true, start + 2)
    } else if rest.starts_with(b"\"") {
        (false, start)
    } else if rest.is_empty() {
        return Err(EntityTagErrorKind::Empty);
    } else {
        return Err(EntityTagErrorKind::ExpectedQuote { offset: start });
    };
    let body_start = quote + 1;
    for (i, &b) in value[body_start..].iter().enumerate() {
        if b == b'"' {
            let end = body_start + i;
            let tag = EntityTag {
                weak,
                opaque: value[body_start..end].to_vec(),
            };
            return Ok((tag, end + 1));
        }
        if !is_etagc(b) {
            return Err(EntityTagErrorKind::InvalidByte {
                offset: body_start + i,
                byte: b,
            });
        }
    }
    Err(EntityTagErrorKind::Unterminated { offset: quote })
}

fn parse_list(value: &[u8]) -> Result<EntityTagList, EntityTagErrorKind> {
    let start = skip_ows(value, 0);
    let end = start + skip_ows_back(&value[start..]);
    if &value[start..end] == b"*" {
        return Ok(EntityTagList::Any);
    }
    let mut tags = Vec::new();
    let mut at = 0;
    let mut separated = true;
    loop {
        // Skip whitespace and empty elements (RFC 9110 §5.6.1).
        while at < value.len() && matches!(value[at], b' ' | b'\t' | b',') {
            separated |= value[at] == b',';
            at += 1;
        }
        if at == value.len() {
            break;
        }
        if value[at] == b'*' {
            return Err(EntityTagErrorKind::StarInList { offset: at });
        }
        if !separated {
            return Err(EntityTagErrorKind::TrailingBytes { offset: at });
        }
        let (tag, next) = parse_entity_tag_at(value, at)?;
        tags.push(tag);
        at = next;
        separated = false;
    }
    if tags.is_empty() {
        Err(EntityTagErrorKind::Empty)
    } else {
        Ok(EntityTagList::Tags(tags))
    }
}

/// How many bytes of `value` remain once trailing spaces and tabs are dropped.
fn skip_ows_back(value: &[u8]) -> usize {
    value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1)
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

    fn strong(s: &str) -> EntityTag {
        EntityTag::strong(s).expect("valid")
    }

    fn weak(s: &str) -> EntityTag {
        EntityTag::weak(s).expect("valid")
    }

    fn at(seconds: i64) -> HttpDate {
        HttpDate::from_unix_seconds(seconds).expect("in range")
    }

    #[test]
    fn rfc_9110_comparison_table() {
        // RFC 9110 §8.8.3.2: (ETag 1, ETag 2, strong comparison, weak comparison)
        let rows = [
            (weak("1"), weak("1"), false, true),
            (weak("1"), weak("2"), false, false),
            (weak("1"), strong("1"), false, true),
            (strong("1"), strong("1"), true, true),
        ];
        for (a, b, strong_match, weak_match) in rows {
            assert_eq!(a.strong_eq(&b), strong_match, "{a} vs {b} strong");
            assert_eq!(a.weak_eq(&b), weak_match, "{a} vs {b} weak");
            assert_eq!(b.strong_eq(&a), strong_match, "{b} vs {a} strong");
            assert_eq!(b.weak_eq(&a), weak_match, "{b} vs {a} weak");
        }
    }

    #[test]
    fn entity_tags_read_and_write_back_exactly() {
        let cases: [&[u8]; 5] = [
            b"\"xyzzy\"",
            b"W/\"xyzzy\"",
            b"\"\"",
            b"\"a,b\"",
            b"\"caf\xc3\xa9\"",
        ];
        for text in cases {
            let tag = EntityTag::parse(text).expect("valid");
            assert_eq!(tag.to_field_value(), text.to_vec());
        }
        assert_eq!(EntityTag::parse(b" W/\"v2\"\t"), Ok(weak("v2")));
        assert_eq!(weak("v2").to_string(), "W/\"v2\"");
        assert_eq!(strong("caf\u{e9}").to_string(), "\"caf\\xc3\\xa9\"");
    }

    #[test]
    fn malformed_entity_tags_say_where() {
        let cases: [(&[u8], EntityTagErrorKind); 7] = [
            (b"", EntityTagErrorKind::Empty),
            (b"xyzzy", EntityTagErrorKind::ExpectedQuote { offset: 0 }),
            (b"w/\"x\"", EntityTagErrorKind::ExpectedQuote { offset: 0 }),
            (b"\"xyzzy", EntityTagErrorKind::Unterminated { offset: 0 }),
            (
                b"\"a b\"",
                EntityTagErrorKind::InvalidByte {
                    offset: 2,
                    byte: b' ',
                },
            ),
            (
                b"\"a\" \"b\"",
                EntityTagErrorKind::TrailingBytes { offset: 4 },
            ),
            (
                b"W/\"a\x7f\"",
                EntityTagErrorKind::InvalidByte {
                    offset: 4,
                    byte: 0x7f,
                },
            ),
        ];
        for (text, kind) in cases {
            assert_eq!(
                EntityTag::parse(text).map_err(|e| e.kind),
                Err(kind),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(
            EntityTag::parse(b"\"a b\"").expect_err("space").to_string(),
            "\"\"a b\"\" is not a valid entity tag: byte 0x20 at offset 2 cannot appear in an entity tag (RFC 9110 §8.8.3)"
        );
        assert!(EntityTag::strong("has\"quote").is_err());
    }

    #[test]
    fn lists_of_entity_tags() {
        let cases: [(&[u8], EntityTagList); 6] = [
            (b"*", EntityTagList::Any),
            (b"  *  ", EntityTagList::Any),
            (b"\"xyzzy\"", EntityTagList::Tags(vec![strong("xyzzy")])),
            // RFC 9110 §13.1.1's examples
            (
                b"\"xyzzy\", \"r2d2xxxx\", \"c3piozzzz\"",
                EntityTagList::Tags(vec![
                    strong("xyzzy"),
                    strong("r2d2xxxx"),
                    strong("c3piozzzz"),
                ]),
            ),
            (
                b"W/\"xyzzy\", W/\"r2d2xxxx\", W/\"c3piozzzz\"",
                EntityTagList::Tags(vec![weak("xyzzy"), weak("r2d2xxxx"), weak("c3piozzzz")]),
            ),
            // empty elements and a comma inside a tag
            (
                b" , \"a,b\" ,,\t\"c\",",
                EntityTagList::Tags(vec![strong("a,b"), strong("c")]),
            ),
        ];
        for (text, list) in cases {
            assert_eq!(
                EntityTagList::parse(text),
                Ok(list),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn malformed_lists() {
        let cases: [(&[u8], EntityTagErrorKind); 5] = [
            (b"", EntityTagErrorKind::Empty),
            (b" , ,", EntityTagErrorKind::Empty),
            (b"*, \"a\"", EntityTagErrorKind::StarInList { offset: 0 }),
            (b"\"a\", *", EntityTagErrorKind::StarInList { offset: 5 }),
            (
                b"\"a\" \"b\"",
                EntityTagErrorKind::TrailingBytes { offset: 4 },
            ),
        ];
        for (text, kind) in cases {
            assert_eq!(
                EntityTagList::parse(text).map_err(|e| e.kind),
                Err(kind),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn several_field_lines_join_as_one_list() {
        let lines: [&[u8]; 2] = [b"\"a\"", b"W/\"b\""];
        assert_eq!(
            EntityTagList::parse_lines(lines),
            Ok(EntityTagList::Tags(vec![strong("a"), weak("b")]))
        );
        let star_and_tag: [&[u8]; 2] = [b"*", b"\"b\""];
        assert!(EntityTagList::parse_lines(star_and_tag).is_err());
    }

    #[test]
    fn entity_tag_from_file_metadata() {
        let modified = SystemTime::UNIX_EPOCH + std::time::Duration::new(0x5f3a_1c2b, 500_000_000);
        assert_eq!(
            EntityTag::from_length_and_modified(1234, modified).to_string(),
            "\"5f3a1c2b.1dcd6500-4d2\""
        );
        let whole = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(0x5f3a_1c2b);
        assert_eq!(
            EntityTag::from_length_and_modified(0, whole).to_string(),
            "\"5f3a1c2b-0\""
        );
    }

    /// One row of the §13.2.2 table: which fields the request carries, the method, the resource.
    struct Row {
        rule_text: &'static str,
        method: Method,
        if_match: Option<&'static [u8]>,
        if_none_match: Option<&'static [u8]>,
        if_modified_since: Option<&'static [u8]>,
        if_unmodified_since: Option<&'static [u8]>,
        current: Option<CurrentRepresentation>,
        outcome: Outcome,
        rule: Rule,
        ignored: Vec<Ignored>,
    }

    const EARLIER: &[u8] = b"Sat, 05 Nov 1994 08:49:37 GMT";
    const SAME: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";
    const LATER: &[u8] = b"Mon, 07 Nov 1994 08:49:37 GMT";
    const MODIFIED: i64 = 784_111_777; // SAME

    fn resource(etag: Option<EntityTag>) -> Option<CurrentRepresentation> {
        Some(CurrentRepresentation {
            etag,
            last_modified: Some(at(MODIFIED)),
        })
    }

    fn row(rule_text: &'static str, method: &str) -> Row {
        Row {
            rule_text,
            method: Method::parse(method).expect("a method token"),
            if_match: None,
            if_none_match: None,
            if_modified_since: None,
            if_unmodified_since: None,
            current: resource(Some(strong("v1"))),
            outcome: Outcome::Proceed,
            rule: Rule::NoPreconditions,
            ignored: vec![],
        }
    }

    #[test]
    fn precondition_order_of_rfc_9110_section_13_2_2() {
        let rows = vec![
            Row {
                ..row("step 6: nothing to evaluate", "GET")
            },
            Row {
                if_match: Some(b"\"v1\""),
                rule: Rule::AllTrue,
                ..row("step 1 true: strong match", "PUT")
            },
            Row {
                if_match: Some(b"W/\"v1\""),
                outcome: Outcome::PreconditionFailed,
                rule: Rule::IfMatchNoStrongMatch,
                ..row("step 1 false: a weak tag never matches strongly", "PUT")
            },
            Row {
                if_match: Some(b"\"v1\""),
                current: resource(Some(weak("v1"))),
                outcome: Outcome::PreconditionFailed,
                rule: Rule::IfMatchNoStrongMatch,
                ..row("step 1 false: the current tag is weak", "PUT")
            },
            Row {
                if_match: Some(b"\"v1\""),
                current: resource(None),
                outcome: Outcome::PreconditionFailed,
                rule: Rule::IfMatchNoStrongMatch,
                ..row("step 1 false: the resource has no ETag", "DELETE")
            },
            Row {
                if_match: Some(b"*"),
                rule: Rule::AllTrue,
                ..row("step 1 true: * and a representation exists", "PUT")
            },
            Row {
                if_match: Some(b"*"),
                current: None,
                outcome: Outcome::PreconditionFailed,
                rule: Rule::IfMatchAnyWithoutRepresentation,
                ..row("step 1 false: * and nothing exists", "PUT")
            },
            Row {
                if_match: Some(b"v1"),
                outcome: Outcome::PreconditionFailed,
                rule: Rule::IfMatchUnreadable,
                ..row("step 1: an unreadable If-Match matches nothing", "PUT")
            },
            Row {
                if_match: Some(b"\"v0\""),
                if_none_match: Some(b"\"v0\""),
                outcome: Outcome::PreconditionFailed,
                rule: Rule::IfMatchNoStrongMatch,
                ..row("step 1 comes before step 3", "GET")
            },
            Row {
                if_match: Some(b"\"v1\""),
                if_unmodified_since: Some(EARLIER),
                rule: Rule::AllTrue,
                ignored: vec![Ignored::IfUnmodifiedSinceBecauseIfMatch],
                ..row("step 2 is skipped when If-Match is present", "PUT")
            },
            Row {
                if_unmodified_since: Some(SAME),
                rule: Rule::AllTrue,
                ..row("step 2 true: not modified after the date", "PUT")
            },
            Row {
                if_unmodified_since: Some(EARLIER),
                outcome: Outcome::PreconditionFailed,
                rule: Rule::ModifiedAfterIfUnmodifiedSince,
                ..row("step 2 false: modified after the date", "PUT")
            },
            Row {
                if_unmodified_since: Some(b"yesterday"),
                ignored: vec![Ignored::IfUnmodifiedSinceInvalidDate],
                ..row("step 2: an invalid date is ignored", "PUT")
            },
            Row {
                if_unmodified_since: Some(EARLIER),
                current: Some(CurrentRepresentation {
                    etag: None,
                    last_modified: None,
                }),
                ignored: vec![Ignored::IfUnmodifiedSinceWithoutLastModified],
                ..row("step 2: no Last-Modified, ignored", "PUT")
            },
            Row {
                if_none_match: Some(b"\"v0\", W/\"v1\""),
                outcome: Outcome::NotModified,
                rule: Rule::IfNoneMatchMatchedForRead,
                ..row("step 3 false for GET: weak match, 304", "GET")
            },
            Row {
                if_none_match: Some(b"\"v1\""),
                outcome: Outcome::NotModified,
                rule: Rule::IfNoneMatchMatchedForRead,
                ..row("step 3 false for HEAD: 304", "HEAD")
            },
            Row {
                if_none_match: Some(b"\"v1\""),
                outcome: Outcome::PreconditionFailed,
                rule: Rule::IfNoneMatchMatchedForWrite,
                ..row("step 3 false for POST: 412", "POST")
            },
            Row {
                if_none_match: Some(b"*"),
                outcome: Outcome::PreconditionFailed,
                rule: Rule::IfNoneMatchMatchedForWrite,
                ..row(
                    "step 3: If-None-Match: * guards a PUT that must create",
                    "PUT",
                )
            },
            Row {
                if_none_match: Some(b"*"),
                current: None,
                rule: Rule::AllTrue,
                ..row("step 3 true: * and nothing exists yet", "PUT")
            },
            Row {
                if_none_match: Some(b"\"v0\""),
                if_modified_since: Some(LATER),
                rule: Rule::AllTrue,
                ignored: vec![Ignored::IfModifiedSinceBecauseIfNoneMatch],
                ..row(
                    "step 3 true; If-Modified-Since ignored beside If-None-Match",
                    "GET",
                )
            },
            Row {
                if_none_match: Some(b"v1"),
                if_modified_since: Some(LATER),
                ignored: vec![
                    Ignored::IfNoneMatchUnreadable,
                    Ignored::IfModifiedSinceBecauseIfNoneMatch,
                ],
                ..row("step 3: an unreadable If-None-Match matches nothing", "GET")
            },
            Row {
                if_modified_since: Some(SAME),
                outcome: Outcome::NotModified,
                rule: Rule::NotModifiedSinceIfModifiedSince,
                ..row("step 4 false: Last-Modified equals the date, 304", "GET")
            },
            Row {
                if_modified_since: Some(LATER),
                outcome: Outcome::NotModified,
                rule: Rule::NotModifiedSinceIfModifiedSince,
                ..row("step 4 false: Last-Modified before the date, 304", "HEAD")
            },
            Row {
                if_modified_since: Some(EARLIER),
                rule: Rule::AllTrue,
                ..row("step 4 true: modified since, 200", "GET")
            },
            Row {
                if_modified_since: Some(b"Sunday, 06-Nov-94 08:49:37 GMT"),
                outcome: Outcome::NotModified,
                rule: Rule::NotModifiedSinceIfModifiedSince,
                ..row("step 4: obsolete date forms are read", "GET")
            },
            Row {
                if_modified_since: Some(SAME),
                ignored: vec![Ignored::IfModifiedSinceNotGetOrHead],
                ..row("step 4 applies to GET and HEAD only", "POST")
            },
            Row {
                if_modified_since: Some(
                    b"Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
                ),
                ignored: vec![Ignored::IfModifiedSinceInvalidDate],
                ..row("step 4: a list of dates is ignored", "GET")
            },
            Row {
                if_modified_since: Some(b"Sun, 06 Nov 1994 08:49:37 CET"),
                ignored: vec![Ignored::IfModifiedSinceInvalidDate],
                ..row("step 4: an invalid date is ignored", "GET")
            },
            Row {
                if_modified_since: Some(SAME),
                current: Some(CurrentRepresentation {
                    etag: None,
                    last_modified: None,
                }),
                ignored: vec![Ignored::IfModifiedSinceWithoutLastModified],
                ..row("step 4: no Last-Modified, ignored", "GET")
            },
            Row {
                if_unmodified_since: Some(SAME),
                if_modified_since: Some(SAME),
                outcome: Outcome::NotModified,
                rule: Rule::NotModifiedSinceIfModifiedSince,
                ..row("step 2 true then step 4 false", "GET")
            },
            Row {
                if_match: Some(b"\"v1\""),
                if_none_match: Some(b"\"v1\""),
                outcome: Outcome::NotModified,
                rule: Rule::IfNoneMatchMatchedForRead,
                ..row("step 1 true then step 3 false", "GET")
            },
            Row {
                if_none_match: Some(b"\"v1\""),
                outcome: Outcome::PreconditionFailed,
                rule: Rule::IfNoneMatchMatchedForWrite,
                ..row(
                    "methods are case-sensitive: get is not GET, so a match is 412",
                    "get",
                )
            },
        ];
        let now = at(1_767_225_600);
        for row in rows {
            let conditions = RequestConditions::from_field_values(
                row.if_match,
                row.if_none_match,
                row.if_modified_since,
                row.if_unmodified_since,
                now,
            );
            assert_eq!(
                evaluate(&row.method, &conditions, row.current.as_ref()),
                Evaluation {
                    outcome: row.outcome,
                    rule: row.rule,
                    ignored: row.ignored,
                },
                "{}",
                row.rule_text
            );
        }
    }

    #[test]
    fn fields_are_read_from_a_header_section() {
        let mut headers = Headers::new();
        headers.append("If-None-Match", "\"v0\"").expect("valid");
        headers.append("if-none-match", "W/\"v1\"").expect("valid");
        headers.append("If-Modified-Since", SAME).expect("valid");
        headers.append("If-Unmodified-Since", SAME).expect("valid");
        headers.append("If-Unmodified-Since", LATER).expect("valid");
        let conditions = RequestConditions::from_headers(&headers, at(0));
        assert_eq!(
            conditions.if_none_match,
            Some(Ok(EntityTagList::Tags(vec![strong("v0"), weak("v1")])))
        );
        assert_eq!(conditions.if_modified_since, Some(Ok(at(MODIFIED))));
        // Two If-Unmodified-Since lines are a list of dates: invalid, hence ignored (§13.1.4).
        assert!(matches!(conditions.if_unmodified_since, Some(Err(_))));
        assert_eq!(conditions.if_match, None);
        assert_eq!(
            evaluate(
                &Method::Get,
                &conditions,
                resource(Some(strong("v1"))).as_ref()
            ),
            Evaluation {
                outcome: Outcome::NotModified,
                rule: Rule::IfNoneMatchMatchedForRead,
                ignored: vec![Ignored::IfUnmodifiedSinceInvalidDate],
            }
        );
        assert!(RequestConditions::from_headers(&Headers::new(), at(0)).is_empty());
    }

    #[test]
    fn last_modified_compares_in_whole_seconds() {
        // A file modified 0.7 s after the date in If-Modified-Since is not "modified since".
        let modified =
            SystemTime::UNIX_EPOCH + std::time::Duration::new(MODIFIED as u64, 700_000_000);
        let current = CurrentRepresentation {
            etag: None,
            last_modified: Some(HttpDate::from(modified)),
        };
        let conditions = RequestConditions::from_field_values(None, None, Some(SAME), None, at(0));
        assert_eq!(
            evaluate(&Method::Get, &conditions, Some(&current)).outcome,
            Outcome::NotModified
        );
    }

    #[test]
    fn outcomes_and_rules_explain_themselves() {
        assert_eq!(Outcome::NotModified.status(), Some(304));
        assert_eq!(Outcome::PreconditionFailed.status(), Some(412));
        assert_eq!(Outcome::Proceed.status(), None);
        assert_eq!(
            Rule::NotModifiedSinceIfModifiedSince.to_string(),
            "If-Modified-Since is false: Last-Modified is not later than the date given (RFC 9110 §13.2.2 step 4)"
        );
        assert_eq!(
            Ignored::IfModifiedSinceBecauseIfNoneMatch.to_string(),
            "If-Modified-Since ignored because If-None-Match is present (RFC 9110 §13.1.3)"
        );
    }

    fn any_tag() -> impl Strategy<Value = EntityTag> {
        (
            any::<bool>(),
            proptest::collection::vec(any::<u8>().prop_filter("etagc", |b| is_etagc(*b)), 0..12),
        )
            .prop_map(|(weak, opaque)| EntityTag { weak, opaque })
    }

    proptest! {
        #[test]
        fn lists_read_back_what_was_written(tags in proptest::collection::vec(any_tag(), 1..6)) {
            let mut text = Vec::new();
            for (i, tag) in tags.iter().enumerate() {
                if i > 0 {
                    text.extend_from_slice(b" ,");
                }
                text.extend_from_slice(&tag.to_field_value());
            }
            prop_assert_eq!(EntityTagList::parse(&text), Ok(EntityTagList::Tags(tags)));
        }

        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let _ = EntityTagList::parse(&bytes);
            let _ = EntityTag::parse(&bytes);
        }

        #[test]
        fn strong_match_implies_weak_match(a in any_tag(), b in any_tag()) {
            prop_assert!(!a.strong_eq(&b) || a.weak_eq(&b));
        }
    }
}
