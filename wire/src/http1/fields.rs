//! Header fields and the comma-separated lists inside them (RFC 9110 §5).
//!
//! Scope:
//! - [`Field`] and [`Headers`]: field lines in the order received, names in their original case,
//!   looked up case-insensitively (RFC 9110 §5.1), with helpers to add, replace and remove lines
//!   that check what they add (a proxy or server building a head cannot smuggle a CRLF in).
//! - Lists: [`list_elements`] splits `#element` values (RFC 9110 §5.6.1), skipping empty elements
//!   and never splitting inside a quoted-string (RFC 9110 §5.6.4).
//! - Typed readers for the lists the programs act on: `Connection` tokens (RFC 9110 §7.6.1),
//!   [`CacheDirective`] (RFC 9111 §5.2), [`AcceptEncoding`] (RFC 9110 §12.5.3), [`Te`]
//!   (RFC 9110 §10.1.4), [`Vary`] (RFC 9110 §12.5.5), [`TransferCoding`] (RFC 9112 §6.1) and the
//!   raw `Content-Length` elements that [`framing`](super::framing) judges.
//!
//! Field values are bytes: `obs-text` (0x80-0xFF) is allowed in a value and is not UTF-8.

use std::borrow::Cow;
use std::fmt;

use super::abnf::{
    find_invalid_field_value_byte, is_field_value_byte, is_ows, is_tchar, is_token, trim_ows,
};
use super::error::BuildError;

/// One field line: a name (a token, case kept as received) and a value (OWS trimmed).
///
/// The field keeps the line as it goes on the wire, `name: value\r\n`: inline when it is
/// short (`Host`, `Date`, `Content-Type` and most others fit), else in one heap allocation.
/// Reading or building a typical head then allocates nothing per field, and writing a head is
/// one copy per line.
#[derive(Clone)]
pub struct Field {
    line: FieldLine,
}

/// How many bytes of the line fit inline; chosen so that a [`Field`] is 64 bytes.
const INLINE: usize = 56;

/// `name: value\r\n` and where the name ends.
#[derive(Clone)]
enum FieldLine {
    Inline {
        name_len: u8,
        len: u8,
        bytes: [u8; INLINE],
    },
    Heap {
        name_len: usize,
        bytes: Box<[u8]>,
    },
}

impl FieldLine {
    const EMPTY: FieldLine = FieldLine::Inline {
        name_len: 0,
        len: 0,
        bytes: [0; INLINE],
    };

    /// Writes `name: value\r\n`, in place when it fits inline. Filling a line where it already
    /// lies (a slot of a `Vec<Field>`) saves moving 64 freshly written bytes, which costs more
    /// than the writing: the processor cannot forward many small stores to one wide load.
    fn set(&mut self, name: &[u8], value: &[u8]) {
        let len = name.len() + 2 + value.len() + 2;
        let value_start = name.len() + 2;
        if len > INLINE {
            let mut bytes = Vec::with_capacity(len);
            bytes.extend_from_slice(name);
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"\r\n");
            *self = FieldLine::Heap {
                name_len: name.len(),
                bytes: bytes.into_boxed_slice(),
            };
            return;
        }
        if let FieldLine::Heap { .. } = self {
            *self = FieldLine::EMPTY;
        }
        let FieldLine::Inline {
            name_len: stored_name_len,
            len: stored_len,
            bytes,
        } = self
        else {
            unreachable!("made inline above")
        };
        bytes[..name.len()].copy_from_slice(name);
        bytes[name.len()..value_start].copy_from_slice(b": ");
        bytes[value_start..len - 2].copy_from_slice(value);
        bytes[len - 2..len].copy_from_slice(b"\r\n");
        // Both fit in INLINE (56), so in a u8.
        *stored_name_len = name.len() as u8;
        *stored_len = len as u8;
    }

    fn name_len(&self) -> usize {
        match self {
            FieldLine::Inline { name_len, .. } => usize::from(*name_len),
            FieldLine::Heap { name_len, .. } => *name_len,
        }
    }

    /// The whole line, CRLF included.
    fn bytes(&self) -> &[u8] {
        match self {
            FieldLine::Inline { len, bytes, .. } => &bytes[..usize::from(*len)],
            FieldLine::Heap { bytes, .. } => bytes,
        }
    }

    fn name(&self) -> &[u8] {
        &self.bytes()[..self.name_len()]
    }

    fn value(&self) -> &[u8] {
        let line = self.bytes();
        &line[self.name_len() + 2..line.len() - 2]
    }
}

impl Field {
    /// A field to send. The name must be a token; the value may hold SP, HTAB, VCHAR and
    /// obs-text, but not start or end with whitespace (RFC 9110 §5.5).
    pub fn new(name: &str, value: impl AsRef<[u8]>) -> Result<Field, BuildError> {
        let value = value.as_ref();
        Field::check(name, value)?;
        Ok(Field::from_parsed(name.as_bytes(), value))
    }

    /// What [`new`](Self::new) checks.
    fn check(name: &str, value: &[u8]) -> Result<(), BuildError> {
        if !is_token(name.as_bytes()) {
            return Err(BuildError::InvalidFieldName {
                name: name.to_owned(),
            });
        }
        let bad_edge =
            value.first().is_some_and(|&b| is_ows(b)) || value.last().is_some_and(|&b| is_ows(b));
        if bad_edge || find_invalid_field_value_byte(value).is_some() {
            return Err(BuildError::InvalidFieldValue {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// A field from a parser that has already checked (or, leniently, repaired) both parts.
    pub(crate) fn from_parsed(name: &[u8], value: &[u8]) -> Field {
        let mut field = Field {
            line: FieldLine::EMPTY,
        };
        field.line.set(name, value);
        field
    }

    /// The name as received or given, original case.
    pub fn name(&self) -> &str {
        std::str::from_utf8(self.line.name()).expect("a field name is a token, so ASCII")
    }

    /// The value bytes.
    pub fn value(&self) -> &[u8] {
        self.line.value()
    }

    /// The value as text, or `None` when it holds obs-text that is not UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(self.value()).ok()
    }

    /// True when the name is `name`, ignoring ASCII case.
    pub fn is(&self, name: &str) -> bool {
        // Lengths first: most lines of a head are not the one looked for.
        self.line.name_len() == name.len() && self.line.name().eq_ignore_ascii_case(name.as_bytes())
    }

    /// Appends `name: value\r\n`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.line.bytes());
    }
}

impl PartialEq for Field {
    fn eq(&self, other: &Field) -> bool {
        self.line.bytes() == other.line.bytes()
    }
}

impl Eq for Field {}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {:?}",
            self.name(),
            String::from_utf8_lossy(self.value())
        )
    }
}

/// The header (or trailer) section of a message: field lines in order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<Field>,
}

/// Which of the fields that frame a message or decide what happens to the connection a head
/// has, found in one pass over its lines: the framing fields (RFC 9112 §6.1, §6.2), `Connection`
/// (RFC 9110 §7.6.1), `Upgrade` (RFC 9110 §7.8) and `Expect` (RFC 9110 §10.1.1). A connection
/// reads the values only of the fields that are there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FramingFields {
    pub transfer_encoding: bool,
    pub content_length: bool,
    pub connection: bool,
    pub upgrade: bool,
    pub expect: bool,
}

/// True when `token` (a field name: tchars only) is `lower` (lower-case letters, digits and
/// `-`, of the same length) in any case. Setting bit 0x20 lower-cases a letter, and for a tchar
/// it gives a letter, digit or `-` only when the tchar already was that letter (either case),
/// digit or `-`; so eight bytes are compared at a time.
fn is_token_named(token: &[u8], lower: &[u8]) -> bool {
    debug_assert!(lower
        .iter()
        .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    if token.len() != lower.len() {
        return false;
    }
    let case = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().expect("eight bytes"));
    let mut token_words = token.chunks_exact(8);
    let mut lower_words = lower.chunks_exact(8);
    let words_match = (&mut token_words)
        .zip(&mut lower_words)
        .all(|(t, l)| case(t) | 0x2020_2020_2020_2020 == case(l));
    words_match
        && token_words
            .remainder()
            .iter()
            .zip(lower_words.remainder())
            .all(|(&t, &l)| t | 0x20 == l)
}

/// How many field lines a head built field by field has room for at first.
const TYPICAL_FIELDS: usize = 8;

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Empty, with room for `n` field lines.
    pub fn with_capacity(n: usize) -> Headers {
        Headers {
            fields: Vec::with_capacity(n),
        }
    }

    /// How many bytes [`write_to`](Self::write_to) writes.
    fn wire_len(&self) -> usize {
        self.fields.iter().map(|f| f.line.bytes().len()).sum()
    }

    /// Number of field lines.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Field lines in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Field> {
        self.fields.iter()
    }

    /// The value of the first line named `name` (any case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields.iter().find(|f| f.is(name)).map(|f| f.value())
    }

    /// The value of the first line named `name`, as text; `None` when absent or not UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The values of every line named `name`, in order.
    pub fn get_all<'h>(&'h self, name: &'h str) -> impl Iterator<Item = &'h [u8]> + 'h {
        self.fields
            .iter()
            .filter(move |f| f.is(name))
            .map(|f| f.value())
    }

    /// How many lines are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.fields.iter().filter(|f| f.is(name)).count()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.is(name))
    }

    /// Which framing and connection fields are present, in one pass (see [`FramingFields`]).
    pub fn framing_fields(&self) -> FramingFields {
        let mut present = FramingFields::default();
        for field in &self.fields {
            let name = field.line.name();
            // The length first: most lines are none of these.
            match name.len() {
                6 if is_token_named(name, b"expect") => present.expect = true,
                7 if is_token_named(name, b"upgrade") => present.upgrade = true,
                10 if is_token_named(name, b"connection") => present.connection = true,
                14 if is_token_named(name, b"content-length") => present.content_length = true,
                17 if is_token_named(name, b"transfer-encoding") => {
                    present.transfer_encoding = true;
                }
                _ => {}
            }
        }
        present
    }

    /// Every list element of every line named `name` (RFC 9110 §5.6.1: the lines of a list field
    /// combine as if joined with commas; empty elements are skipped).
    pub fn list<'h>(&'h self, name: &'h str) -> impl Iterator<Item = &'h [u8]> + 'h {
        self.get_all(name).flat_map(list_elements)
    }

    /// True when the list field `name` has an element equal to `token`, ignoring ASCII case;
    /// for example `contains_token("connection", "close")`.
    pub fn contains_token(&self, name: &str, token: &str) -> bool {
        self.fields
            .iter()
            .filter(|f| f.is(name))
            .any(|f| list_elements(f.value()).any(|e| e.eq_ignore_ascii_case(token.as_bytes())))
    }

    /// Adds a line at the end, keeping any existing line of the same name.
    pub fn append(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), BuildError> {
        let value = value.as_ref();
        Field::check(name, value)?;
        self.push_parsed(name.as_bytes(), value);
        Ok(())
    }

    /// Adds a line whose parts are checked (or, leniently, repaired), written in its place.
    pub(crate) fn push_parsed(&mut self, name: &[u8], value: &[u8]) {
        self.push(Field {
            line: FieldLine::EMPTY,
        });
        let last = self.fields.last_mut().expect("just pushed");
        last.line.set(name, value);
    }

    /// Adds a field at the end.
    pub fn push(&mut self, field: Field) {
        if self.fields.capacity() == 0 {
            // Room for a typical head at once, instead of growing 4, then 8.
            self.fields.reserve(TYPICAL_FIELDS);
        }
        self.fields.push(field);
    }

    /// Sets `name` to a single line with `value`: the first existing line is replaced in place,
    /// later ones removed; with no existing line, one is appended.
    pub fn insert(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), BuildError> {
        let field = Field::new(name, value)?;
        match self.fields.iter().position(|f| f.is(name)) {
            Some(first) => {
                self.fields[first] = field;
                let mut index = 0;
                self.fields.retain(|f| {
                    index += 1;
                    index - 1 <= first || !f.is(name)
                });
            }
            None => self.push(field),
        }
        Ok(())
    }

    /// An obs-fold line (RFC 9112 §5.2) read leniently: `continuation` joins the value of the
    /// last line after a SP.
    pub(crate) fn fold_into_last(&mut self, continuation: &[u8]) {
        let last = self
            .fields
            .last_mut()
            .expect("a field precedes an obs-fold");
        let mut value = last.value().to_vec();
        value.push(b' ');
        value.extend_from_slice(continuation);
        *last = Field::from_parsed(last.line.name(), &value);
    }

    /// Removes every line named `name`; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.fields.len();
        self.fields.retain(|f| !f.is(name));
        before - self.fields.len()
    }

    /// Keeps only the lines for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Field) -> bool) {
        self.fields.retain(keep);
    }

    /// The `Connection` options, lower-cased (RFC 9110 §7.6.1): `close`, `keep-alive`, `upgrade`,
    /// and names of hop-by-hop fields.
    pub fn connection_options(&self) -> Vec<String> {
        self.list("connection")
            .map(|e| String::from_utf8_lossy(e).to_ascii_lowercase())
            .collect()
    }

    /// What a proxy does before forwarding (RFC 9110 §7.6.1): removes every field named in
    /// `Connection`, then `Connection` itself and the hop-by-hop fields that are never forwarded
    /// (`Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding`, `Upgrade`). Returns the
    /// number of lines removed. A proxy that forwards `Upgrade` or a body re-adds what it needs.
    pub fn remove_hop_by_hop(&mut self) -> usize {
        let named = self.connection_options();
        let before = self.fields.len();
        const ALWAYS: [&str; 6] = [
            "connection",
            "proxy-connection",
            "keep-alive",
            "te",
            "transfer-encoding",
            "upgrade",
        ];
        self.fields
            .retain(|f| !ALWAYS.iter().any(|n| f.is(n)) && !named.iter().any(|n| f.is(n)));
        before - self.fields.len()
    }

    /// Every `Content-Length` element, trimmed, across all lines, in order. Unlike [`list`](Self::list)
    /// an empty element is kept (as an empty slice): `Content-Length: ` or `5,,5` must not look
    /// like a valid length to [`framing`](super::framing) (RFC 9112 §6.3).
    pub fn content_lengths(&self) -> ContentLengths<'_> {
        ContentLengths {
            fields: self.fields.iter(),
            rest: None,
        }
    }

    /// The `Transfer-Encoding` codings across all lines, in order (RFC 9112 §6.1); an element that
    /// is not `token *( OWS ";" OWS parameter )` is an error carrying its bytes.
    pub fn transfer_codings(&self) -> Result<Vec<TransferCoding>, MalformedElement> {
        self.list("transfer-encoding")
            .map(TransferCoding::parse)
            .collect()
    }

    /// The `Cache-Control` directives across all lines; malformed elements are skipped
    /// (RFC 9111 §5.2: a cache ignores what it does not understand).
    pub fn cache_control(&self) -> Vec<CacheDirective> {
        self.list("cache-control")
            .filter_map(CacheDirective::parse)
            .collect()
    }

    /// Writes every field line, each ending in CRLF (not the empty line that ends a head).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.wire_len());
        for field in &self.fields {
            field.write_to(out);
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.fields).finish()
    }
}

impl<'h> IntoIterator for &'h Headers {
    type Item = &'h Field;
    type IntoIter = std::slice::Iter<'h, Field>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}

impl IntoIterator for Headers {
    type Item = Field;
    type IntoIter = std::vec::IntoIter<Field>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.into_iter()
    }
}

/// Moves field lines in at the end, in order (a shell that builds its own lines moves them into
/// the head it sends without writing them again).
impl Extend<Field> for Headers {
    fn extend<I: IntoIterator<Item = Field>>(&mut self, iter: I) {
        self.fields.extend(iter);
    }
}

impl FromIterator<Field> for Headers {
    fn from_iter<I: IntoIterator<Item = Field>>(iter: I) -> Headers {
        Headers {
            fields: iter.into_iter().collect(),
        }
    }
}

/// Iterator returned by [`Headers::content_lengths`].
#[derive(Debug, Clone)]
pub struct ContentLengths<'h> {
    fields: std::slice::Iter<'h, Field>,
    /// What is left of the current line's value, after the elements already returned.
    rest: Option<&'h [u8]>,
}

impl<'h> Iterator for ContentLengths<'h> {
    type Item = &'h [u8];
    fn next(&mut self) -> Option<&'h [u8]> {
        let rest = match self.rest {
            Some(rest) => rest,
            None => self.fields.find(|f| f.is("content-length"))?.value(),
        };
        Some(trim_ows(match rest.iter().position(|&b| b == b',') {
            Some(comma) => {
                self.rest = Some(&rest[comma + 1..]);
                &rest[..comma]
            }
            None => {
                self.rest = None;
                rest
            }
        }))
    }
}

/// The elements of one `#element` list value (RFC 9110 §5.6.1), OWS trimmed, empty ones
/// skipped; commas inside a quoted-string do not split.
pub fn list_elements(value: &[u8]) -> ListElements<'_> {
    ListElements { rest: value }
}

/// Iterator returned by [`list_elements`].
#[derive(Debug, Clone)]
pub struct ListElements<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ListElements<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let mut in_quotes = false;
            let mut escaped = false;
            let mut end = self.rest.len();
            for (i, &b) in self.rest.iter().enumerate() {
                if escaped {
                    escaped = false;
                } else if in_quotes && b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_quotes = !in_quotes;
                } else if b == b',' && !in_quotes {
                    end = i;
                    break;
                }
            }
            let element = trim_ows(&self.rest[..end]);
            self.rest = if end < self.rest.len() {
                &self.rest[end + 1..]
            } else {
                &[]
            };
            if !element.is_empty() {
                return Some(element);
            }
        }
        None
    }
}

/// A list element that does not have the shape its field needs; the element's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedElement(pub Vec<u8>);

impl fmt::Display for MalformedElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed list element {:?}",
            String::from_utf8_lossy(&self.0)
        )
    }
}

impl std::error::Error for MalformedElement {}

/// Reads a `quoted-string` at the start of `s` (RFC 9110 §5.6.4): its unescaped content and the
/// bytes after the closing quote. `None` when `s` does not start with a complete quoted-string.
pub fn parse_quoted_string(s: &[u8]) -> Option<(Cow<'_, str>, &[u8])> {
    let inner = s.strip_prefix(b"\"")?;
    let mut owned: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            b'"' => {
                let text = match owned {
                    None => Cow::Borrowed(std::str::from_utf8(&inner[..i]).ok()?),
                    Some(bytes) => Cow::Owned(String::from_utf8(bytes).ok()?),
                };
                return Some((text, &inner[i + 1..]));
            }
            b'\\' => {
                let next = *inner.get(i + 1)?;
                if !is_field_value_byte(next) {
                    return None;
                }
                owned.get_or_insert_with(|| inner[..i].to_vec()).push(next);
                i += 2;
            }
            b if is_field_value_byte(b) => {
                if let Some(bytes) = owned.as_mut() {
                    bytes.push(b);
                }
                i += 1;
            }
            _ => return None,
        }
    }
    None
}

/// Splits `token` off the start of `s`, returning it and the rest.
fn split_token(s: &[u8]) -> Option<(&str, &[u8])> {
    let end = s.iter().position(|&b| !is_tchar(b)).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    // A token is ASCII, so this cannot fail.
    let token = std::str::from_utf8(&s[..end]).ok()?;
    Some((token, &s[end..]))
}

/// `token / quoted-string` at the start of `s`.
fn split_token_or_quoted(s: &[u8]) -> Option<(Cow<'_, str>, &[u8])> {
    if s.first() == Some(&b'"') {
        parse_quoted_string(s)
    } else {
        split_token(s).map(|(t, rest)| (Cow::Borrowed(t), rest))
    }
}

/// `token *( OWS ";" OWS parameter )` with `parameter = token "=" ( token / quoted-string )`
/// (RFC 9110 §5.6.6). Parameter names are lower-cased; values keep their case.
pub fn parse_parameterised(element: &[u8]) -> Option<(&str, Vec<(String, String)>)> {
    let (name, mut rest) = split_token(element)?;
    let mut params = Vec::new();
    loop {
        rest = trim_start_ows(rest);
        if rest.is_empty() {
            return Some((name, params));
        }
        rest = trim_start_ows(rest.strip_prefix(b";")?);
        let (param, after) = split_token(rest)?;
        let after = after.strip_prefix(b"=")?;
        let (value, after) = split_token_or_quoted(after)?;
        params.push((param.to_ascii_lowercase(), value.into_owned()));
        rest = after;
    }
}

fn trim_start_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ows(*first) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` in thousandths
/// (RFC 9110 §12.4.2): `0.5` is 500, `1` is 1000.
pub fn parse_qvalue(s: &str) -> Option<u16> {
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// A transfer coding from `Transfer-Encoding` or `TE` (RFC 9112 §7): name lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCoding {
    pub name: String,
    pub params: Vec<(String, String)>,
}

impl TransferCoding {
    /// Parses one list element.
    pub fn parse(element: &[u8]) -> Result<TransferCoding, MalformedElement> {
        let (name, params) =
            parse_parameterised(element).ok_or_else(|| MalformedElement(element.to_vec()))?;
        Ok(TransferCoding {
            name: name.to_ascii_lowercase(),
            params,
        })
    }

    /// True for `chunked`.
    pub fn is_chunked(&self) -> bool {
        self.name == "chunked"
    }
}

/// One `Cache-Control` directive: `token [ "=" ( token / quoted-string ) ]` (RFC 9111 §5.2).
/// The name is lower-cased (directives are case-insensitive); the argument is unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDirective {
    pub name: String,
    pub argument: Option<String>,
}

impl CacheDirective {
    /// Parses one list element, or `None` when it is malformed.
    pub fn parse(element: &[u8]) -> Option<CacheDirective> {
        let (name, rest) = split_token(element)?;
        let name = name.to_ascii_lowercase();
        if rest.is_empty() {
            return Some(CacheDirective {
                name,
                argument: None,
            });
        }
        let (argument, rest) = split_token_or_quoted(rest.strip_prefix(b"=")?)?;
        if !rest.is_empty() {
            return None;
        }
        Some(CacheDirective {
            name,
            argument: Some(argument.into_owned()),
        })
    }

    /// The argument as `delta-seconds` (RFC 9111 §1.2.2): digits only; values too large for 31
    /// bits become 2^31. `None` when there is no argument or it is not digits.
    pub fn seconds(&self) -> Option<u64> {
        let digits = self.argument.as_deref()?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(digits.parse::<u64>().map_or(1 << 31, |n| n.min(1 << 31)))
    }

    /// The argument as a list of field names, for `no-cache="Set-Cookie"` and `private="..."`.
    pub fn field_names(&self) -> Vec<String> {
        match &self.argument {
            Some(list) => list_elements(list.as_bytes())
                .map(|e| String::from_utf8_lossy(e).to_ascii_lowercase())
                .collect(),
            None => Vec::new(),
        }
    }
}

/// One coding with its weight in thousandths (RFC 9110 §12.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedCoding {
    /// Lower-cased; `x-gzip` and `x-compress` are kept as sent (see [`canonical_coding`]).
    pub coding: String,
    /// 0 to 1000; 0 means "not acceptable".
    pub q: u16,
}

/// `gzip` for `x-gzip`, `compress` for `x-compress` (RFC 9110 §8.4.1), otherwise the name
/// lower-cased.
pub fn canonical_coding(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "x-gzip" => "gzip".to_owned(),
        "x-compress" => "compress".to_owned(),
        _ => lower,
    }
}

/// Parses `coding [ weight ]`; `None` when malformed.
fn parse_weighted(element: &[u8]) -> Option<WeightedCoding> {
    let (name, params) = parse_parameterised(element)?;
    let mut q = 1000;
    for (param, value) in &params {
        if param == "q" {
            q = parse_qvalue(value)?;
        }
    }
    Some(WeightedCoding {
        coding: canonical_coding(name),
        q,
    })
}

/// What content codings a user agent accepts (RFC 9110 §12.5.3).
///
/// - No `Accept-Encoding` field: every coding is acceptable (quality 1000).
/// - An empty field: only `identity`.
/// - Otherwise: an explicit entry for the coding gives its quality; else a `*` entry does; else
///   `identity` is acceptable (1000) and every other coding is not (0). `identity;q=0`, or `*;q=0`
///   with no `identity` entry, makes identity unacceptable.
///
/// Malformed elements (a bad q-value, say) are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptEncoding {
    /// False when the request had no `Accept-Encoding` field.
    pub present: bool,
    pub entries: Vec<WeightedCoding>,
}

impl AcceptEncoding {
    /// Reads every `Accept-Encoding` line of `headers`.
    pub fn from_headers(headers: &Headers) -> AcceptEncoding {
        AcceptEncoding {
            present: headers.contains("accept-encoding"),
            entries: headers
                .list("accept-encoding")
                .filter_map(parse_weighted)
                .collect(),
        }
    }

    /// The quality (0 to 1000) of `coding` for this user agent; 0 means not acceptable.
    pub fn quality(&self, coding: &str) -> u16 {
        if !self.present {
            return 1000;
        }
        let coding = canonical_coding(coding);
        if let Some(entry) = self.entries.iter().find(|e| e.coding == coding) {
            return entry.q;
        }
        if let Some(star) = self.entries.iter().find(|e| e.coding == "*") {
            return star.q;
        }
        if coding == "identity" {
            1000
        } else {
            0
        }
    }

    /// True when `coding` has a quality above 0.
    pub fn accepts(&self, coding: &str) -> bool {
        self.quality(coding) > 0
    }

    /// Of the codings a server can produce (in the server's order of preference), the acceptable
    /// one with the highest quality; ties go to the server's order. `None`: nothing acceptable,
    /// a 406 or the unencoded representation (RFC 9110 §12.5.3).
    pub fn preferred<'c>(&self, available: &[&'c str]) -> Option<&'c str> {
        let mut best: Option<(&'c str, u16)> = None;
        for &coding in available {
            let q = self.quality(coding);
            if q > 0 && best.is_none_or(|(_, best_q)| q > best_q) {
                best = Some((coding, q));
            }
        }
        best.map(|(coding, _)| coding)
    }
}

/// The `TE` field of a request (RFC 9110 §10.1.4): transfer codings the client accepts in the
/// response besides `chunked`, and whether it accepts trailer fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Te {
    pub trailers: bool,
    pub codings: Vec<WeightedCoding>,
}

impl Te {
    /// Reads every `TE` line; malformed elements are skipped.
    pub fn from_headers(headers: &Headers) -> Te {
        let mut te = Te::default();
        for element in headers.list("te") {
            if element.eq_ignore_ascii_case(b"trailers") {
                te.trailers = true;
            } else if let Some(coding) = parse_weighted(element) {
                te.codings.push(coding);
            }
        }
        te
    }

    /// True when the client accepts `coding` (`chunked` always, for HTTP/1.1).
    pub fn accepts(&self, coding: &str) -> bool {
        let coding = canonical_coding(coding);
        coding == "chunked" || self.codings.iter().any(|c| c.coding == coding && c.q > 0)
    }
}

/// The `Vary` field of a response (RFC 9110 §12.5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vary {
    /// `*`: the response varies on things outside the request fields; a cache cannot reuse it
    /// without revalidating.
    Any,
    /// The request field names (lower-cased) the response varies on; empty when absent.
    Fields(Vec<String>),
}

impl Vary {
    /// Reads every `Vary` line.
    pub fn from_headers(headers: &Headers) -> Vary {
        let mut names = Vec::new();
        for element in headers.list("vary") {
            if element == b"*" {
                return Vary::Any;
            }
            names.push(String::from_utf8_lossy(element).to_ascii_lowercase());
        }
        Vary::Fields(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (name, value) in lines {
            h.append(name, value).unwrap();
        }
        h
    }

    #[test]
    fn lookup_ignores_case_and_keeps_order_and_case() {
        let h = headers(&[("Host", "a"), ("X-One", "1"), ("x-one", "2")]);
        assert_eq!(h.get("HOST"), Some(&b"a"[..]));
        assert_eq!(
            h.get_all("X-ONE").collect::<Vec<_>>(),
            vec![&b"1"[..], &b"2"[..]]
        );
        let names: Vec<&str> = h.iter().map(Field::name).collect();
        assert_eq!(names, ["Host", "X-One", "x-one"]);
    }

    #[test]
    fn short_and_long_fields_read_back_the_same() {
        assert_eq!(std::mem::size_of::<Field>(), 64);
        for len in [0, 1, INLINE - 9, INLINE - 8, INLINE - 7, 300] {
            let value = "v".repeat(len);
            let field = Field::new("Name", &value).unwrap();
            assert_eq!((field.name(), field.value()), ("Name", value.as_bytes()));
            assert!(field.is("NAME") && !field.is("Nam") && !field.is("Names"));
            let mut out = Vec::new();
            field.write_to(&mut out);
            assert_eq!(out, format!("Name: {value}\r\n").as_bytes());
            assert_eq!(field.clone(), field);
            assert_ne!(Field::new("Name", format!("{value}x")).unwrap(), field);
        }
        let long_name = "X".repeat(INLINE + 1);
        let field = Field::new(&long_name, "").unwrap();
        assert_eq!(
            (field.name(), field.value()),
            (long_name.as_str(), &b""[..])
        );
    }

    #[test]
    fn framing_fields_are_found_in_any_case() {
        let h = headers(&[
            ("Host", "a"),
            ("TRANSFER-ENCODING", "chunked"),
            ("connection", "close"),
            ("Expect", "100-continue"),
        ]);
        assert_eq!(
            h.framing_fields(),
            FramingFields {
                transfer_encoding: true,
                content_length: false,
                connection: true,
                upgrade: false,
                expect: true,
            }
        );
        let h = headers(&[("Content-Length", "5"), ("Upgrade", "websocket")]);
        let present = h.framing_fields();
        assert!(present.content_length && present.upgrade && !present.connection);
        assert_eq!(Headers::new().framing_fields(), FramingFields::default());
    }

    #[test]
    fn token_names_compare_in_any_case_and_only_to_themselves() {
        let names: [&[u8]; 5] = [
            b"expect",
            b"upgrade",
            b"connection",
            b"content-length",
            b"transfer-encoding",
        ];
        for lower in names {
            assert!(is_token_named(lower, lower));
            assert!(is_token_named(&lower.to_ascii_uppercase(), lower));
            // Every tchar in every position: only the two cases of the right byte match.
            for at in 0..lower.len() {
                for b in (0..=255u8).filter(|&b| crate::http1::abnf::is_tchar(b)) {
                    let mut token = lower.to_vec();
                    token[at] = b;
                    assert_eq!(
                        is_token_named(&token, lower),
                        b.to_ascii_lowercase() == lower[at],
                        "{:?}",
                        String::from_utf8_lossy(&token)
                    );
                }
            }
        }
        assert!(!is_token_named(b"connectio", b"connection"));
    }

    #[test]
    fn insert_replaces_in_place_and_drops_later_duplicates() {
        let mut h = headers(&[("A", "1"), ("B", "2"), ("a", "3"), ("C", "4")]);
        h.insert("a", "9").unwrap();
        let lines: Vec<(&str, &[u8])> = h.iter().map(|f| (f.name(), f.value())).collect();
        assert_eq!(lines, [("a", &b"9"[..]), ("B", b"2"), ("C", b"4")]);
        assert_eq!(h.remove("b"), 1);
        h.insert("New", "x").unwrap();
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn builders_refuse_what_cannot_go_on_the_wire() {
        let mut h = Headers::new();
        assert!(h.append("Bad Name", "x").is_err());
        assert!(h.append("X", "a\r\nInjected: yes").is_err());
        assert!(h.append("X", "\0").is_err());
        assert!(h.append("X", " padded").is_err());
        assert!(h.append("X", "").is_ok());
        assert!(h.append("X", "caf\u{e9}").is_ok());
    }

    #[test]
    fn list_elements_skip_empties_and_respect_quotes() {
        let v = b" , a ,, \"b, c\" ,d;x=\"1,\\\"2\" , ";
        let elements: Vec<&[u8]> = list_elements(v).collect();
        assert_eq!(elements, [&b"a"[..], b"\"b, c\"", b"d;x=\"1,\\\"2\""]);
        assert_eq!(list_elements(b"").count(), 0);
        assert_eq!(list_elements(b" , ,").count(), 0);
    }

    #[test]
    fn contains_token_looks_across_lines() {
        let h = headers(&[
            ("Connection", "keep-alive"),
            ("connection", "Upgrade, CLOSE"),
        ]);
        assert!(h.contains_token("Connection", "close"));
        assert!(!h.contains_token("Connection", "clos"));
        assert_eq!(h.connection_options(), ["keep-alive", "upgrade", "close"]);
    }

    #[test]
    fn remove_hop_by_hop_removes_named_and_standard_fields() {
        let mut h = headers(&[
            ("Connection", "X-Secret, close"),
            ("X-Secret", "1"),
            ("Keep-Alive", "timeout=5"),
            ("Accept", "*/*"),
        ]);
        assert_eq!(h.remove_hop_by_hop(), 3);
        assert_eq!(h.len(), 1);
        assert!(h.contains("accept"));
    }

    #[test]
    fn cache_control_directives_with_token_and_quoted_arguments() {
        let h = headers(&[
            ("Cache-Control", "Max-Age=60, no-cache=\"Set-Cookie, X-A\""),
            ("Cache-Control", "public, =bad, s-maxage=99999999999"),
        ]);
        let d = h.cache_control();
        assert_eq!(d.len(), 4);
        assert_eq!(
            d[0],
            CacheDirective {
                name: "max-age".into(),
                argument: Some("60".into())
            }
        );
        assert_eq!(d[0].seconds(), Some(60));
        assert_eq!(d[1].field_names(), ["set-cookie", "x-a"]);
        assert_eq!(
            d[2],
            CacheDirective {
                name: "public".into(),
                argument: None
            }
        );
        assert_eq!(d[3].seconds(), Some(1 << 31));
    }

    #[test]
    fn qvalues_follow_the_grammar() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.05"), Some(50));
        assert_eq!(parse_qvalue("0"), Some(0));
        assert_eq!(parse_qvalue("1.5"), None);
        assert_eq!(parse_qvalue("0.1234"), None);
        assert_eq!(parse_qvalue("2"), None);
        assert_eq!(parse_qvalue(".5"), None);
    }

    #[test]
    fn accept_encoding_follows_rfc_9110_section_12_5_3() {
        let absent = AcceptEncoding::from_headers(&Headers::new());
        assert!(absent.accepts("br") && absent.accepts("identity"));

        let empty = AcceptEncoding::from_headers(&headers(&[("Accept-Encoding", "")]));
        assert!(empty.accepts("identity") && !empty.accepts("gzip"));

        let ae = AcceptEncoding::from_headers(&headers(&[(
            "Accept-Encoding",
            "x-gzip;q=0.5, br;q=0, *;q=0.1",
        )]));
        assert_eq!(ae.quality("gzip"), 500);
        assert_eq!(ae.quality("br"), 0);
        assert_eq!(ae.quality("zstd"), 100);
        assert_eq!(ae.quality("identity"), 100);
        assert_eq!(ae.preferred(&["br", "zstd", "gzip"]), Some("gzip"));

        let no_identity =
            AcceptEncoding::from_headers(&headers(&[("Accept-Encoding", "gzip, *;q=0")]));
        assert!(!no_identity.accepts("identity"));
        assert_eq!(no_identity.preferred(&["identity"]), None);
        let identity_kept =
            AcceptEncoding::from_headers(&headers(&[("Accept-Encoding", "*;q=0, identity")]));
        assert!(identity_kept.accepts("identity") && !identity_kept.accepts("gzip"));

        let bad_q = AcceptEncoding::from_headers(&headers(&[("Accept-Encoding", "gzip;q=2, br")]));
        assert!(!bad_q.accepts("gzip") && bad_q.accepts("br"));
    }

    #[test]
    fn te_vary_transfer_codings_and_content_lengths() {
        let h = headers(&[
            ("TE", "trailers, deflate;q=0.5, gzip;q=0"),
            ("Vary", "Accept-Encoding, user-agent"),
            ("Transfer-Encoding", "gzip, Chunked"),
            ("Content-Length", "5, 5"),
            ("Content-Length", ""),
        ]);
        let te = Te::from_headers(&h);
        assert!(
            te.trailers && te.accepts("deflate") && te.accepts("chunked") && !te.accepts("gzip")
        );
        assert_eq!(
            Vary::from_headers(&h),
            Vary::Fields(vec!["accept-encoding".into(), "user-agent".into()])
        );
        assert_eq!(Vary::from_headers(&headers(&[("Vary", "a, *")])), Vary::Any);
        let codings = h.transfer_codings().unwrap();
        assert_eq!(
            codings.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["gzip", "chunked"]
        );
        assert!(codings[1].is_chunked());
        assert_eq!(
            h.content_lengths().collect::<Vec<_>>(),
            [&b"5"[..], b"5", b""]
        );
        let h = headers(&[
            ("Content-Length", ",7 ,"),
            ("X", "1"),
            ("content-length", "8"),
        ]);
        assert_eq!(
            h.content_lengths().collect::<Vec<_>>(),
            [&b""[..], b"7", b"", b"8"]
        );
        let bad = headers(&[("Transfer-Encoding", "chunked, ;x")]);
        assert_eq!(
            bad.transfer_codings(),
            Err(MalformedElement(b";x".to_vec()))
        );
    }

    #[test]
    fn quoted_strings_unescape() {
        let (text, rest) = parse_quoted_string(b"\"a\\\"b\" tail").unwrap();
        assert_eq!(text, "a\"b");
        assert_eq!(rest, b" tail");
        assert!(parse_quoted_string(b"\"open").is_none());
    }
}
