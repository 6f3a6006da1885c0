//! What request and response heads share: lines and the field section (RFC 9112 §2.2, §5).
//!
//! ```text
//! HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
//! field-line   = field-name ":" OWS field-value OWS
//! ```
//!
//! Every parser here re-reads the buffer from its start and answers `Partial` until the empty
//! line that ends the head has arrived. Checks run in the order the bytes arrive, and a limit is
//! reported as soon as the bytes seen exceed it, so a prefix of any input either says `Partial`
//! or gives the very error the whole input gives. That is what lets a server refuse an oversized
//! or broken head without waiting for the rest of it.
//!
//! Cost: a call reads the buffer from its start. A field line with no leniency is read in one
//! pass (the name's tchars, then one word-at-a-time scan of the value that stops at its CR); any
//! other line takes the general path, which finds the line's end first and then checks it byte
//! by byte, so that errors and leniencies are reported the same whichever path ran. Measured
//! with callgrind (`bench/wire/run.sh`), an 83-byte curl request head takes about 2.2k
//! instructions for the raw view (3.0k for the owned head, which builds its `Headers` directly)
//! and a 28 KiB head about 96k. A connection should call again only when new bytes have arrived;
//! a peer that trickles a head byte by byte makes the total quadratic, bounded by the limits
//! (8 KiB start line, 32 KiB header section).

use std::borrow::Cow;

use super::abnf::{
    find_byte, find_invalid_field_value_byte, is_field_value_byte, is_ows, is_tchar, trim_ows,
};
use super::error::ParseError;
use super::fields::{Field, Headers};
use super::options::{Leniencies, ParseOptions};
use crate::Status;

/// One field line as received: the name (a token), the value (OWS trimmed; owned only when a
/// leniency had to repair it) and the offset of the line in the parsed buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawField<'b> {
    pub name: &'b str,
    pub value: Cow<'b, [u8]>,
    pub offset: usize,
}

impl RawField<'_> {
    /// True when the name is `name`, ignoring ASCII case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Turns raw field lines into owned [`Headers`].
pub(crate) fn to_headers(fields: &[RawField<'_>]) -> Headers {
    fields
        .iter()
        .map(|f| Field::from_parsed(f.name.as_bytes(), &f.value))
        .collect()
}

/// One field line just parsed: the name's bytes (a token), the value, the line's offset.
pub(crate) struct ParsedField<'b> {
    pub name: &'b [u8],
    pub value: Cow<'b, [u8]>,
    pub offset: usize,
}

/// Where the field lines of a head go as they are parsed: the borrowed views keep
/// [`RawField`]s, the owned heads build their [`Headers`] at once (no list in between, and no
/// UTF-8 check of each name).
pub(crate) trait FieldSink<'b> {
    /// How many fields so far.
    fn count(&self) -> usize;
    fn push(&mut self, field: ParsedField<'b>);
    /// An obs-fold line (RFC 9112 §5.2): `continuation` joins the last field's value after a SP.
    fn fold_into_last(&mut self, continuation: &[u8]);
}

impl<'b> FieldSink<'b> for Vec<RawField<'b>> {
    fn count(&self) -> usize {
        self.len()
    }

    fn push(&mut self, field: ParsedField<'b>) {
        if self.capacity() == 0 {
            self.reserve(16);
        }
        Vec::push(
            self,
            RawField {
                name: ascii(field.name),
                value: field.value,
                offset: field.offset,
            },
        );
    }

    fn fold_into_last(&mut self, continuation: &[u8]) {
        let last = self.last_mut().expect("a field precedes an obs-fold");
        let mut joined = std::mem::take(&mut last.value).into_owned();
        joined.push(b' ');
        joined.extend_from_slice(continuation);
        last.value = Cow::Owned(joined);
    }
}

impl<'b> FieldSink<'b> for Headers {
    fn count(&self) -> usize {
        self.len()
    }

    fn push(&mut self, field: ParsedField<'b>) {
        self.push_parsed(field.name, &field.value);
    }

    fn fold_into_last(&mut self, continuation: &[u8]) {
        self.fold_into_last(continuation);
    }
}

/// A complete line: `content` is `buf[start..content_end]`, the next line starts at `next`.
pub(crate) struct Line {
    pub content_end: usize,
    pub next: usize,
}

/// Finds the end of the line starting at `start`; `None` when its LF has not arrived.
/// A bare LF is an error unless the leniency allows it (and then it is recorded).
pub(crate) fn find_line(
    buf: &[u8],
    start: usize,
    leniencies: Leniencies,
    used: &mut Leniencies,
) -> Result<Option<Line>, ParseError> {
    let Some(lf) = find_byte(&buf[start..], b'\n').map(|p| start + p) else {
        return Ok(None);
    };
    if lf > start && buf[lf - 1] == b'\r' {
        return Ok(Some(Line {
            content_end: lf - 1,
            next: lf + 1,
        }));
    }
    if !leniencies.bare_lf {
        return Err(ParseError::BareLf { offset: lf });
    }
    used.bare_lf = true;
    Ok(Some(Line {
        content_end: lf,
        next: lf + 1,
    }))
}

/// The end of the bytes of an unfinished line that are certainly content: a final CR may be the
/// start of the CRLF, so it is left out.
pub(crate) fn unfinished_content_end(buf: &[u8]) -> usize {
    if buf.last() == Some(&b'\r') {
        buf.len() - 1
    } else {
        buf.len()
    }
}

/// How far a start line has arrived. `seen_end` bounds the bytes that are certainly content and
/// within the limit, so early checks (the method, the version prefix) read the same bytes
/// whether the line is complete or not, and run before the limit or the line ending is judged.
pub(crate) struct StartLine {
    pub seen_end: usize,
    outcome: Result<Option<Line>, StartLineError>,
}

impl StartLine {
    /// The complete line, `None` while its end has not arrived, or why it cannot be used.
    pub fn complete(self) -> Result<Option<Line>, StartLineError> {
        self.outcome
    }
}

/// A start line that cannot be parsed at all.
#[derive(Debug)]
pub(crate) enum StartLineError {
    /// Longer than the start-line limit (counted from the start of the buffer).
    TooLong,
    /// A bare LF where leniency does not allow one.
    Parse(ParseError),
}

/// Locates the start line beginning at `start`, enforcing the limit on its content (measured
/// from offset 0, so empty lines before a request line count).
pub(crate) fn start_line(
    buf: &[u8],
    start: usize,
    limit: usize,
    leniencies: Leniencies,
    used: &mut Leniencies,
) -> StartLine {
    let lf = find_byte(&buf[start..], b'\n').map(|p| start + p);
    let (content_end, outcome) = match lf {
        None => (unfinished_content_end(buf), Ok(None)),
        Some(lf) if lf > start && buf[lf - 1] == b'\r' => (
            lf - 1,
            Ok(Some(Line {
                content_end: lf - 1,
                next: lf + 1,
            })),
        ),
        Some(lf) if leniencies.bare_lf => {
            used.bare_lf = true;
            (
                lf,
                Ok(Some(Line {
                    content_end: lf,
                    next: lf + 1,
                })),
            )
        }
        Some(lf) => (
            lf,
            Err(StartLineError::Parse(ParseError::BareLf { offset: lf })),
        ),
    };
    let seen_end = content_end.min(limit).max(start);
    let outcome = if content_end > limit {
        Err(StartLineError::TooLong)
    } else {
        outcome
    };
    StartLine { seen_end, outcome }
}

/// Parses the field lines that start at `start` and the empty line after them. Returns the
/// offset after the empty line and the fields.
pub(crate) fn parse_field_section<'b, S: FieldSink<'b> + Default>(
    buf: &'b [u8],
    start: usize,
    options: &ParseOptions,
    used: &mut Leniencies,
) -> Result<Status<(usize, S)>, ParseError> {
    let limit = options.limits.max_header_section;
    let leniencies = options.leniencies;
    let mut fields = S::default();
    let mut pos = start;
    loop {
        if let Some((field, next)) = plain_field_line(buf, pos) {
            // The common case, read in one pass; the same checks as below, in the same order.
            if next - start > limit {
                return Err(ParseError::HeaderSectionTooLarge { limit });
            }
            if fields.count() == options.limits.max_fields {
                return Err(ParseError::TooManyFields {
                    limit: options.limits.max_fields,
                });
            }
            fields.push(field);
            pos = next;
            continue;
        }
        let Some(line) = find_line(buf, pos, leniencies, used).map_err(|e| {
            // A line too long is reported as such even when its ending is also wrong.
            match e {
                ParseError::BareLf { offset } if offset + 1 - start > limit => {
                    ParseError::HeaderSectionTooLarge { limit }
                }
                other => other,
            }
        })?
        else {
            if buf.len() - start > limit {
                return Err(ParseError::HeaderSectionTooLarge { limit });
            }
            return Ok(Status::Partial);
        };
        if line.next - start > limit {
            return Err(ParseError::HeaderSectionTooLarge { limit });
        }
        let content = &buf[pos..line.content_end];
        match content.first() {
            None => return Ok(Status::Complete((line.next, fields))),
            Some(b' ' | b'\t') if fields.count() == 0 => {
                // RFC 9112 §2.2: whitespace between the start line and the first field.
                if !leniencies.obs_fold {
                    return Err(ParseError::WhitespaceAfterStartLine { offset: pos });
                }
                used.obs_fold = true;
            }
            Some(b' ' | b'\t') => {
                if !leniencies.obs_fold {
                    return Err(ParseError::ObsFold { offset: pos });
                }
                used.obs_fold = true;
                let continuation = parse_field_value(content, pos, leniencies, used)?;
                if !continuation.is_empty() {
                    fields.fold_into_last(&continuation);
                }
            }
            Some(_) => {
                if fields.count() == options.limits.max_fields {
                    return Err(ParseError::TooManyFields {
                        limit: options.limits.max_fields,
                    });
                }
                fields.push(parse_field_line(content, pos, leniencies, used)?);
            }
        }
        pos = line.next;
    }
}

/// A field line at `pos` that needs no leniency and has arrived whole: `token ":" OWS
/// field-value OWS CRLF`, with the offset of the next line. `None` for anything else (an empty
/// line, obs-fold, an error, a leniency, a line not complete yet), which the general path then
/// reads byte by byte. One scan finds both the end of the value and any invalid byte in it: CR
/// is not a field-value byte, so the scan stops there.
fn plain_field_line(buf: &[u8], pos: usize) -> Option<(ParsedField<'_>, usize)> {
    let line = &buf[pos..];
    let name_end = line.iter().position(|&b| !is_tchar(b))?;
    if name_end == 0 || line[name_end] != b':' {
        return None;
    }
    let rest = &line[name_end + 1..];
    let value_end = find_invalid_field_value_byte(rest)?;
    if rest.get(value_end..value_end + 2) != Some(b"\r\n") {
        return None;
    }
    let next = pos + name_end + 1 + value_end + 2;
    Some((
        ParsedField {
            name: &line[..name_end],
            value: Cow::Borrowed(trim_ows(&rest[..value_end])),
            offset: pos,
        },
        next,
    ))
}

/// `field-name ":" OWS field-value OWS`, `line` starting at `offset` in the buffer.
fn parse_field_line<'b>(
    line: &'b [u8],
    offset: usize,
    leniencies: Leniencies,
    used: &mut Leniencies,
) -> Result<ParsedField<'b>, ParseError> {
    let mut name_end = line.len();
    for (i, &b) in line.iter().enumerate() {
        if is_tchar(b) {
            continue;
        }
        if b == b':' {
            name_end = i;
            break;
        }
        if is_ows(b) {
            // Whitespace before the colon (RFC 9112 §5.1), or whitespace inside a name.
            let ws_end = line[i..]
                .iter()
                .position(|&c| !is_ows(c))
                .map_or(line.len(), |p| i + p);
            if line.get(ws_end) == Some(&b':') && i > 0 {
                if !leniencies.space_before_colon {
                    return Err(ParseError::SpaceBeforeColon { offset: offset + i });
                }
                used.space_before_colon = true;
                name_end = i;
                let value =
                    parse_field_value(&line[ws_end + 1..], offset + ws_end + 1, leniencies, used)?;
                return Ok(ParsedField {
                    name: &line[..name_end],
                    value,
                    offset,
                });
            }
            return Err(ParseError::InvalidFieldName { offset: offset + i });
        }
        if b == b'\r' {
            return Err(ParseError::BareCr { offset: offset + i });
        }
        return Err(ParseError::InvalidFieldName { offset: offset + i });
    }
    if name_end == line.len() {
        return Err(ParseError::MissingColon {
            offset: offset + line.len(),
        });
    }
    if name_end == 0 {
        return Err(ParseError::InvalidFieldName { offset });
    }
    let value = parse_field_value(
        &line[name_end + 1..],
        offset + name_end + 1,
        leniencies,
        used,
    )?;
    Ok(ParsedField {
        name: &line[..name_end],
        value,
        offset,
    })
}

/// Trims OWS and checks each byte of a field value (RFC 9110 §5.5). With
/// `invalid_field_bytes`, each invalid byte (CTL, DEL, NUL, bare CR) becomes SP, so that a
/// repaired value is valid to send on (RFC 9110 §5.5 allows that replacement).
fn parse_field_value<'b>(
    raw: &'b [u8],
    offset: usize,
    leniencies: Leniencies,
    used: &mut Leniencies,
) -> Result<Cow<'b, [u8]>, ParseError> {
    let lead = raw.iter().position(|&b| !is_ows(b)).unwrap_or(raw.len());
    let trail = raw
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(lead, |p| p + 1);
    let value = &raw[lead..trail];
    let Some(first_bad) = find_invalid_field_value_byte(value) else {
        return Ok(Cow::Borrowed(value));
    };
    let mut repaired: Option<Vec<u8>> = None;
    for (i, &b) in value.iter().enumerate().skip(first_bad) {
        if is_field_value_byte(b) {
            continue;
        }
        let at = offset + lead + i;
        if !leniencies.invalid_field_bytes {
            return Err(if b == b'\r' {
                ParseError::BareCr { offset: at }
            } else {
                ParseError::InvalidFieldValue {
                    offset: at,
                    byte: b,
                }
            });
        }
        used.invalid_field_bytes = true;
        repaired.get_or_insert_with(|| value.to_vec())[i] = b' ';
    }
    Ok(match repaired {
        Some(bytes) => Cow::Owned(trim_ows(&bytes).to_vec()),
        None => Cow::Borrowed(value),
    })
}

/// Bytes already checked to be tchars (ASCII) as text.
pub(crate) fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("checked to be ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    type Section = Vec<(String, Vec<u8>)>;

    fn section(buf: &[u8], options: &ParseOptions) -> Result<Status<(usize, Section)>, ParseError> {
        let mut used = Leniencies::NONE;
        parse_field_section::<Vec<RawField<'_>>>(buf, 0, options, &mut used).map(|s| {
            s.map(|(n, fields)| {
                (
                    n,
                    fields
                        .into_iter()
                        .map(|f| (f.name.to_owned(), f.value.into_owned()))
                        .collect(),
                )
            })
        })
    }

    #[test]
    fn values_are_trimmed_and_names_keep_case() {
        let got = section(b"X-A:  v 1 \t\r\nx-b:\r\n\r\n", &ParseOptions::STRICT).unwrap();
        assert_eq!(
            got,
            Status::Complete((
                21,
                vec![("X-A".into(), b"v 1".to_vec()), ("x-b".into(), Vec::new())]
            ))
        );
    }

    #[test]
    fn strict_errors_point_at_the_byte() {
        let strict = ParseOptions::STRICT;
        assert_eq!(
            section(b"A : b\r\n\r\n", &strict),
            Err(ParseError::SpaceBeforeColon { offset: 1 })
        );
        assert_eq!(
            section(b"A B: b\r\n\r\n", &strict),
            Err(ParseError::InvalidFieldName { offset: 1 })
        );
        assert_eq!(
            section(b"AB\r\n\r\n", &strict),
            Err(ParseError::MissingColon { offset: 2 })
        );
        assert_eq!(
            section(b": b\r\n\r\n", &strict),
            Err(ParseError::InvalidFieldName { offset: 0 })
        );
        assert_eq!(
            section(b"A: b\x7f\r\n\r\n", &strict),
            Err(ParseError::InvalidFieldValue {
                offset: 4,
                byte: 0x7f
            })
        );
        assert_eq!(
            section(b"A: b\rc\r\n\r\n", &strict),
            Err(ParseError::BareCr { offset: 4 })
        );
        assert_eq!(
            section(b"A: b\r\n c\r\n\r\n", &strict),
            Err(ParseError::ObsFold { offset: 6 })
        );
        assert_eq!(
            section(b" A: b\r\n\r\n", &strict),
            Err(ParseError::WhitespaceAfterStartLine { offset: 0 })
        );
        assert_eq!(
            section(b"A: b\n\r\n", &strict),
            Err(ParseError::BareLf { offset: 4 })
        );
    }

    #[test]
    fn leniencies_repair_and_are_recorded() {
        let lenient = ParseOptions::LENIENT;
        let mut used = Leniencies::NONE;
        let buf = b" skipped\r\nA : b\x00c\r\n  folded \r\n\tagain\nB: x\x01y\x7f\r\n\r\n";
        let Status::Complete((n, fields)) =
            parse_field_section::<Vec<RawField<'_>>>(buf, 0, &lenient, &mut used).unwrap()
        else {
            panic!("complete")
        };
        assert_eq!(n, buf.len());
        assert_eq!(fields[0].name, "A");
        assert_eq!(&*fields[0].value, b"b c folded again");
        assert_eq!(&*fields[1].value, b"x y");
        // Every leniency of a field section (the target's is the request line's).
        let mut expected = Leniencies::ALL;
        expected.raw_utf8_target = false;
        assert_eq!(used, expected);
    }
}
