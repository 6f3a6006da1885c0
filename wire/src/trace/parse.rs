//! Reading traces: one text line at a time, errors that point at the line, column and text.

use std::fmt;

use super::render::{escape_value, literal_in_text, RESERVED_AFTER_ANGLE};
use super::{
    check_known_value, known_value_rule, valid_key, ElidedBody, Event, Payload, Piece, Tag, Trace,
    Transport,
};

/// What is wrong with a line of a trace file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The line is not `TAG: payload`, a `#` line, or blank.
    NotAnItem,
    /// The text before the colon is not one of `C`, `S`, `C>P`, `P>O`, `O>P`, `P>C`.
    UnknownTag,
    /// The colon after a tag must be followed by exactly one space.
    NoSpaceAfterTag,
    /// `TAG:` with nothing after it is an empty datagram, which only a UDP trace can hold.
    EmptyStreamLine,
    /// A backslash followed by something other than `r n t \ xHH`.
    UnknownEscape,
    /// `\x` not followed by two hex digits.
    BadHexEscape,
    /// A byte that must be written as an escape appeared literally (a tab, a control byte,
    /// non-ASCII text).
    NotPrintable,
    /// `<close>`, `<lost>` or `<wait Nms>` written wrongly.
    BadEvent,
    /// An event shares its line with payload bytes; events stand alone.
    EventNotAlone,
    /// `<lost>` in a TCP trace.
    LostOverTcp,
    /// `<body N bytes sha256=HEX>` written wrongly.
    BadElidedBody,
    /// The same metadata key twice.
    DuplicateMetadata,
    /// A known metadata key with a value it cannot have (`now`, `seed`, `transport`).
    BadMetadataValue,
    /// A metadata value whose escapes do not make UTF-8 text.
    MetadataNotUtf8,
}

impl ParseErrorKind {
    fn explain(self) -> &'static str {
        match self {
            ParseErrorKind::NotAnItem => {
                "expected `TAG: payload` (tags C, S, C>P, P>O, O>P, P>C), a `# key: value` line or a blank line"
            }
            ParseErrorKind::UnknownTag => "unknown tag; the tags are C, S, C>P, P>O, O>P and P>C",
            ParseErrorKind::NoSpaceAfterTag => "the colon after a tag must be followed by one space",
            ParseErrorKind::EmptyStreamLine => {
                "an empty line for a tag is an empty datagram, which needs `# transport: udp`"
            }
            ParseErrorKind::UnknownEscape => r"unknown escape; the escapes are \r \n \t \\ and \xHH",
            ParseErrorKind::BadHexEscape => r"\x must be followed by two hex digits",
            ParseErrorKind::NotPrintable => {
                r"only printable ASCII may appear as it is; write this byte as \t, \r, \n or \xHH"
            }
            ParseErrorKind::BadEvent => "malformed event; the events are <close>, <wait 1500ms> and <lost>",
            ParseErrorKind::EventNotAlone => {
                r"an event must stand alone after its tag; write a literal < as \x3c"
            }
            ParseErrorKind::LostOverTcp => "<lost> is for UDP traces (`# transport: udp`)",
            ParseErrorKind::BadElidedBody => {
                "malformed elided body; expected <body N bytes sha256=64 hex digits>"
            }
            ParseErrorKind::DuplicateMetadata => "this metadata key was already given",
            ParseErrorKind::BadMetadataValue => "invalid value for this metadata key",
            ParseErrorKind::MetadataNotUtf8 => "a metadata value must be UTF-8 text once unescaped",
        }
    }
}

/// A trace file that cannot be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, counted in characters.
    pub column: usize,
    /// The offending text, as it appears in the file.
    pub text: String,
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// For [`ParseErrorKind::BadMetadataValue`], what the value must look like.
    pub rule: Option<&'static str>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text as it is in the file, unless it holds what a terminal would not show plainly.
        let shown = if self.text.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            self.text.clone()
        } else {
            escape_value(self.text.as_bytes())
        };
        write!(
            f,
            "line {}, column {}: `{}`: {}",
            self.line,
            self.column,
            shown,
            self.kind.explain()
        )?;
        if let Some(rule) = self.rule {
            write!(f, " (expected {rule})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// One line being read, to point errors into it.
struct Line<'t> {
    number: usize,
    text: &'t str,
}

impl Line<'_> {
    fn error(&self, at: usize, len: usize, kind: ParseErrorKind) -> ParseError {
        let at = at.min(self.text.len());
        let mut end = (at + len).min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        ParseError {
            line: self.number,
            column: self.text[..at].chars().count() + 1,
            text: self.text[at..end].to_owned(),
            kind,
            rule: None,
        }
    }
}

pub(super) fn parse(text: &str) -> Result<Trace, ParseError> {
    let mut trace = Trace::default();
    let mut in_metadata = true;
    let mut has_transport = false;

    for (index, raw) in text.split('\n').enumerate() {
        // File newlines may be LF or CRLF; neither is ever payload.
        let line = Line {
            number: index + 1,
            text: raw.strip_suffix('\r').unwrap_or(raw),
        };
        if line.text.trim().is_empty() {
            continue;
        }
        if line.text.starts_with('#') {
            if in_metadata {
                if let Some((key, value_at)) = metadata_key(line.text) {
                    let value = parse_metadata_value(&line, key, value_at)?;
                    let duplicate = if key == "transport" {
                        std::mem::replace(&mut has_transport, true)
                    } else {
                        trace.meta(key).is_some()
                    };
                    if duplicate {
                        return Err(line.error(2, key.len(), ParseErrorKind::DuplicateMetadata));
                    }
                    if key == "transport" {
                        trace.transport = if value == "udp" {
                            Transport::Udp
                        } else {
                            Transport::Tcp
                        };
                    } else {
                        trace.metadata.push((key.to_owned(), value));
                    }
                }
            }
            continue;
        }
        in_metadata = false;
        parse_item(&line, &mut trace)?;
    }
    Ok(trace)
}

/// `# key:` or `# key: value`: the key and where the value starts. Other `#` lines are comments.
fn metadata_key(text: &str) -> Option<(&str, usize)> {
    let rest = text.strip_prefix("# ")?;
    let colon = rest.find(':')?;
    let key = &rest[..colon];
    if !valid_key(key) {
        return None;
    }
    let after = &rest[colon + 1..];
    if after.is_empty() {
        Some((key, text.len()))
    } else if after.starts_with(' ') {
        Some((key, 2 + colon + 2))
    } else {
        None
    }
}

fn parse_metadata_value(line: &Line<'_>, key: &str, value_at: usize) -> Result<String, ParseError> {
    let mut bytes = Vec::new();
    let text = line.text.as_bytes();
    let mut at = value_at;
    while at < text.len() {
        // Printable non-ASCII text is allowed as it is in a value (not in a payload).
        if let Some(c) = line.text[at..]
            .chars()
            .next()
            .filter(|&c| literal_in_text(c))
        {
            bytes.extend_from_slice(&text[at..at + c.len_utf8()]);
            at += c.len_utf8();
            continue;
        }
        at = unescape_one(line, at, &mut bytes)?;
    }
    let value = String::from_utf8(bytes).map_err(|_| {
        line.error(
            value_at,
            text.len() - value_at,
            ParseErrorKind::MetadataNotUtf8,
        )
    })?;
    if !check_known_value(key, &value) {
        let mut error = line.error(
            value_at,
            text.len() - value_at,
            ParseErrorKind::BadMetadataValue,
        );
        error.rule = known_value_rule(key);
        return Err(error);
    }
    Ok(value)
}

/// Reads one literal byte or escape at `at`, appends its byte, returns where the next one starts.
fn unescape_one(line: &Line<'_>, at: usize, out: &mut Vec<u8>) -> Result<usize, ParseError> {
    let text = line.text.as_bytes();
    match text[at] {
        b'\\' => match text.get(at + 1) {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let digits = text.get(at + 2..at + 4).unwrap_or(&text[at + 2..]);
                let value = (digits.len() == 2)
                    .then(|| std::str::from_utf8(digits).ok())
                    .flatten()
                    .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|d| u8::from_str_radix(d, 16).ok());
                match value {
                    Some(byte) => {
                        out.push(byte);
                        return Ok(at + 4);
                    }
                    None => {
                        let len = 2 + digits.len();
                        return Err(line.error(at, len, ParseErrorKind::BadHexEscape));
                    }
                }
            }
            _ => return Err(line.error(at, 2, ParseErrorKind::UnknownEscape)),
        },
        byte @ 0x20..=0x7e => {
            out.push(byte);
            return Ok(at + 1);
        }
        _ => return Err(line.error(at, 1, ParseErrorKind::NotPrintable)),
    }
    Ok(at + 2)
}

fn parse_item(line: &Line<'_>, trace: &mut Trace) -> Result<(), ParseError> {
    let Some(colon) = line.text.find(':') else {
        return Err(line.error(0, line.text.len(), ParseErrorKind::NotAnItem));
    };
    let name = &line.text[..colon];
    let Some(tag) = Tag::from_name(name) else {
        let kind = if name.len() <= 3 && !name.contains(' ') {
            ParseErrorKind::UnknownTag
        } else {
            ParseErrorKind::NotAnItem
        };
        return Err(line.error(0, colon + 1, kind));
    };
    let after = &line.text[colon + 1..];
    if after.is_empty() {
        if trace.transport == Transport::Tcp {
            return Err(line.error(0, colon + 1, ParseErrorKind::EmptyStreamLine));
        }
        trace.push_payload(tag, Payload::default());
        return Ok(());
    }
    if !after.starts_with(' ') {
        return Err(line.error(colon + 1, 1, ParseErrorKind::NoSpaceAfterTag));
    }
    let start = colon + 2;
    if let Some(event) = parse_event(line, start)? {
        if event == Event::Lost && trace.transport == Transport::Tcp {
            return Err(line.error(start, line.text.len() - start, ParseErrorKind::LostOverTcp));
        }
        trace.push_event(tag, event);
        return Ok(());
    }
    let payload = parse_payload(line, start)?;
    if payload.is_empty() && trace.transport == Transport::Tcp {
        // Only "TAG: " with a trailing space and nothing else gets here.
        return Err(line.error(0, colon + 2, ParseErrorKind::EmptyStreamLine));
    }
    trace.push_payload(tag, payload);
    Ok(())
}

/// The event on this line, if the payload text is one.
fn parse_event(line: &Line<'_>, start: usize) -> Result<Option<Event>, ParseError> {
    let text = &line.text[start..];
    let whole = |event| {
        if text.len() == event_len(text) {
            Ok(Some(event))
        } else {
            Err(line.error(start, text.len(), ParseErrorKind::BadEvent))
        }
    };
    if text.starts_with("<close>") {
        return whole(Event::Close);
    }
    if text.starts_with("<lost>") {
        return whole(Event::Lost);
    }
    if let Some(rest) = text.strip_prefix("<wait ") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let millis = rest[..digits].parse::<u64>().ok();
        return match (millis, &rest[digits..]) {
            (Some(millis), "ms>") => Ok(Some(Event::Wait { millis })),
            _ => Err(line.error(start, text.len(), ParseErrorKind::BadEvent)),
        };
    }
    Ok(None)
}

/// The length of the `<...>` at the start of `text`, up to and including the first `>`.
fn event_len(text: &str) -> usize {
    text.find('>').map_or(text.len(), |end| end + 1)
}

fn parse_payload(line: &Line<'_>, start: usize) -> Result<Payload, ParseError> {
    let text = line.text.as_bytes();
    let mut payload = Payload::default();
    let mut bytes = Vec::new();
    let mut at = start;
    while at < text.len() {
        if text[at] == b'<' {
            let after = &text[at + 1..];
            if after.starts_with(b"any>") {
                payload.push_bytes(&std::mem::take(&mut bytes));
                payload.push(Piece::Any);
                at += 5;
                continue;
            }
            if after.starts_with(b"body ") {
                let len = event_len(&line.text[at..]);
                let body = parse_elided(&line.text[at..at + len])
                    .ok_or_else(|| line.error(at, len, ParseErrorKind::BadElidedBody))?;
                payload.push_bytes(&std::mem::take(&mut bytes));
                payload.push(Piece::Elided(body));
                at += len;
                continue;
            }
            if RESERVED_AFTER_ANGLE
                .iter()
                .any(|word| after.starts_with(word))
            {
                let len = event_len(&line.text[at..]);
                return Err(line.error(at, len, ParseErrorKind::EventNotAlone));
            }
        }
        at = unescape_one(line, at, &mut bytes)?;
    }
    payload.push_bytes(&bytes);
    Ok(payload)
}

/// `<body 48213 bytes sha256=HEX>`
fn parse_elided(text: &str) -> Option<ElidedBody> {
    let inner = text.strip_prefix("<body ")?.strip_suffix('>')?;
    let (len, rest) = inner.split_once(' ')?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len = len.parse().ok()?;
    let hex = rest.strip_prefix("bytes sha256=")?;
    if hex.len() != 64 {
        return None;
    }
    let mut sha256 = [0u8; 32];
    for (byte, pair) in sha256.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        if !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(ElidedBody { len, sha256 })
}
