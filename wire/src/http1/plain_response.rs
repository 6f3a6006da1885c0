//! The framing of a plain response head, in one pass: the fast path of a client that only counts
//! responses (the load generator).
//!
//! Scope: [`PlainResponse::scan`] recognises the common case and nothing else: an `HTTP/1.1`
//! status line with a final status that has a body (not 1xx, 204 or 304), field lines `token ":"
//! OWS value OWS CRLF` with strict bytes, exactly one `Content-Length` of digits, no
//! `Transfer-Encoding`, and at most one `Connection` field that is exactly `close` or
//! `keep-alive`. For such a head it answers what [`super::reader::MessageReader`] would decide
//! (RFC 9112 §6.3 step 5: the body is `Content-Length` bytes; RFC 9112 §9.3: the connection
//! persists unless it says `close`) without building a head: no field is copied, no string is
//! made, nothing is allocated.
//!
//! Everything else is [`NotPlain`]: a bare LF, obs-fold, whitespace before a colon, a control
//! byte, HTTP/1.0, a chunked or close-delimited body, a list or a repeat of the framing fields, a
//! head over the limits. It says nothing about whether such a head is valid: the caller hands the
//! same bytes to the full reader, which decides and names what is wrong. The tests check that
//! whatever this module accepts, the full reader accepts with the same answer.
//!
//! Out of scope: the body itself (the caller counts `content_length` bytes), requests, and
//! anything a person reads (reason phrase, field values).

use super::abnf::{find_invalid_field_value_byte, is_ows, is_tchar};
use super::Limits;
use crate::Status;

/// What a plain response head decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainResponse {
    /// The status code (200 to 599, never 204 or 304).
    pub status: u16,
    /// The body is exactly this many bytes.
    pub content_length: u64,
    /// The head asked to close the connection after this response (`Connection: close`).
    pub close: bool,
}

/// The head is not one this fast path decides; the full reader must read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotPlain;

const STATUS_LINE_START: &[u8] = b"HTTP/1.1 ";

impl PlainResponse {
    /// Scans the response head at the start of `input`. `Complete((n, plain))`: the head is the
    /// first `n` bytes. `Partial`: every byte so far is plain, feed more (the same bytes and
    /// more after them). Heads over `limits` are [`NotPlain`].
    pub fn scan(input: &[u8], limits: &Limits) -> Result<Status<(usize, PlainResponse)>, NotPlain> {
        let head_limit = limits.max_start_line + limits.max_header_section;
        match scan_head(input, limits) {
            Ok(Status::Partial) if input.len() > head_limit => Err(NotPlain),
            other => other,
        }
    }
}

fn scan_head(input: &[u8], limits: &Limits) -> Result<Status<(usize, PlainResponse)>, NotPlain> {
    let (start_line_len, status) = match status_line(input, limits.max_start_line)? {
        Status::Partial => return Ok(Status::Partial),
        Status::Complete(done) => done,
    };
    let mut at = start_line_len;
    let mut content_length = None;
    let mut connection = None;
    let mut fields = 0;
    loop {
        // Near a limit is not plain: the full reader judges the limits.
        if fields >= limits.max_fields || at - start_line_len >= limits.max_header_section {
            return Err(NotPlain);
        }
        let line = &input[at..];
        match line {
            [] | [b'\r'] => return Ok(Status::Partial),
            [b'\r', b'\n', ..] => {
                at += 2;
                break;
            }
            _ => {}
        }
        fields += 1;
        let Status::Complete(FieldLine { used, name, value }) = field_line(line)? else {
            return Ok(Status::Partial);
        };
        at += used;
        if name.eq_ignore_ascii_case(b"content-length") {
            if content_length.is_some() {
                return Err(NotPlain);
            }
            content_length = Some(decimal(value)?);
        } else if name.eq_ignore_ascii_case(b"connection") {
            if connection.is_some() {
                return Err(NotPlain);
            }
            connection = Some(if value.eq_ignore_ascii_case(b"close") {
                true
            } else if value.eq_ignore_ascii_case(b"keep-alive") {
                false
            } else {
                return Err(NotPlain);
            });
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(NotPlain);
        }
    }
    if at - start_line_len >= limits.max_header_section {
        return Err(NotPlain);
    }
    Ok(Status::Complete((
        at,
        PlainResponse {
            status,
            content_length: content_length.ok_or(NotPlain)?,
            close: connection.unwrap_or(false),
        },
    )))
}

/// `HTTP/1.1 SP 3DIGIT SP reason-phrase CRLF` (RFC 9112 §4) with a final status that has a body.
/// Answers the bytes used and the status.
fn status_line(input: &[u8], limit: usize) -> Result<Status<(usize, u16)>, NotPlain> {
    let prefix = input.len().min(STATUS_LINE_START.len());
    if input[..prefix] != STATUS_LINE_START[..prefix] {
        return Err(NotPlain);
    }
    if prefix < STATUS_LINE_START.len() {
        return Ok(Status::Partial);
    }
    let code_at = STATUS_LINE_START.len();
    let Some(code) = input.get(code_at..code_at + 4) else {
        return match input.get(code_at..) {
            Some(digits) if digits.iter().all(u8::is_ascii_digit) => Ok(Status::Partial),
            _ => Err(NotPlain),
        };
    };
    let [a @ b'2'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9', b' '] = *code else {
        return Err(NotPlain);
    };
    let status = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    if status == 204 || status == 304 {
        return Err(NotPlain);
    }
    let reason_at = code_at + 4;
    match line_end(input, reason_at)? {
        Status::Partial if input.len() >= limit => Err(NotPlain),
        Status::Partial => Ok(Status::Partial),
        Status::Complete(end) if end >= limit => Err(NotPlain),
        Status::Complete(end) => Ok(Status::Complete((end, status))),
    }
}

/// Where the line whose content starts at `from` ends (after its CRLF), when every content byte
/// is a field value byte (the reason phrase allows the same bytes, RFC 9112 §4).
fn line_end(input: &[u8], from: usize) -> Result<Status<usize>, NotPlain> {
    let rest = &input[from..];
    let Some(cr) = find_invalid_field_value_byte(rest) else {
        return Ok(Status::Partial);
    };
    match rest[cr..] {
        [b'\r', b'\n', ..] => Ok(Status::Complete(from + cr + 2)),
        [b'\r'] => Ok(Status::Partial),
        _ => Err(NotPlain),
    }
}

/// One field line: its length (CRLF included), its name and its value without OWS.
struct FieldLine<'b> {
    used: usize,
    name: &'b [u8],
    value: &'b [u8],
}

/// `field-name ":" OWS field-value OWS CRLF` (RFC 9112 §5), with no whitespace before the colon.
fn field_line(line: &[u8]) -> Result<Status<FieldLine<'_>>, NotPlain> {
    let name_len = line
        .iter()
        .position(|&b| !is_tchar(b))
        .unwrap_or(line.len());
    match line.get(name_len) {
        None => return Ok(Status::Partial),
        Some(b':') if name_len > 0 => {}
        Some(_) => return Err(NotPlain),
    }
    let Status::Complete(end) = line_end(line, name_len + 1)? else {
        return Ok(Status::Partial);
    };
    let mut value = &line[name_len + 1..end - 2];
    while let [first, rest @ ..] = value {
        if !is_ows(*first) {
            break;
        }
        value = rest;
    }
    while let [rest @ .., last] = value {
        if !is_ows(*last) {
            break;
        }
        value = rest;
    }
    Ok(Status::Complete(FieldLine {
        used: end,
        name: &line[..name_len],
        value,
    }))
}

/// `1*DIGIT` (RFC 9110 §8.6), at most 18 digits so it cannot overflow.
fn decimal(digits: &[u8]) -> Result<u64, NotPlain> {
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(NotPlain);
    }
    Ok(digits.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
}

#[cfg(test)]
mod tests;
