//! Reading a stored message back: header fields (RFC 5322 §2.2, unfolded), encoded words
//! (RFC 2047), MIME parts (RFC 2045, RFC 2046 §5.1), transfer encodings (base64,
//! quoted-printable) and file names (RFC 2231 parameters, continuations included).
//!
//! This is the reader behind `smtp show`; it is lenient where stored mail is messy: bare LF
//! line endings are accepted, unknown charsets are decoded as UTF-8 with replacement, a missing
//! closing boundary ends the part at the end of the message. Nesting is limited to
//! [`MAX_DEPTH`] levels.

use std::fmt;

use crate::base64;

/// How deep multiparts may nest before the reader stops looking inside.
pub const MAX_DEPTH: usize = 16;

/// One part of a message (the message itself is the outermost part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Header fields, unfolded, in order, names as written.
    pub headers: Vec<(String, String)>,
    /// The body as stored, still transfer-encoded.
    pub body: Vec<u8>,
    /// The parts inside a multipart body.
    pub children: Vec<Part>,
}

/// Why a message cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MimeError {
    /// A part's body says it is base64 but is not.
    BadBase64(base64::DecodeError),
}

impl fmt::Display for MimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MimeError::BadBase64(e) => write!(f, "a base64 body does not decode: {e}"),
        }
    }
}

impl std::error::Error for MimeError {}

/// A Content-Type value: `type/subtype` in lower case and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    pub mime_type: String,
    pub parameters: Vec<(String, String)>,
}

impl ContentType {
    /// The value of a parameter (names compared case-insensitively), RFC 2231 decoded.
    pub fn parameter(&self, name: &str) -> Option<String> {
        parameter_value(&self.parameters, name)
    }
}

impl Part {
    /// Reads a message (never fails: what cannot be understood stays as bytes).
    pub fn parse(message: &[u8]) -> Result<Part, MimeError> {
        Ok(parse_part(message, 0))
    }

    /// The value of the first header field with this name, unfolded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of a header field with encoded words decoded.
    pub fn header_text(&self, name: &str) -> Option<String> {
        self.header(name).map(decode_words)
    }

    /// The content type; `text/plain` when absent (RFC 2045 §5.2).
    pub fn content_type(&self) -> ContentType {
        match self.header("Content-Type") {
            Some(value) => {
                let (mime_type, parameters) = split_parameters(value);
                ContentType {
                    mime_type: mime_type.to_ascii_lowercase(),
                    parameters,
                }
            }
            None => ContentType {
                mime_type: "text/plain".into(),
                parameters: Vec::new(),
            },
        }
    }

    /// The transfer encoding in lower case; `7bit` when absent.
    pub fn transfer_encoding(&self) -> String {
        self.header("Content-Transfer-Encoding")
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase()
    }

    /// The file name from Content-Disposition `filename` or Content-Type `name`, decoded.
    pub fn file_name(&self) -> Option<String> {
        let from_disposition = self.header("Content-Disposition").and_then(|value| {
            let (_, parameters) = split_parameters(value);
            parameter_value(&parameters, "filename")
        });
        from_disposition
            .or_else(|| self.content_type().parameter("name"))
            .map(|name| decode_words(&name))
    }

    /// True when Content-Disposition says `attachment`, or the part has a file name.
    pub fn is_attachment(&self) -> bool {
        let disposition = self.header("Content-Disposition").unwrap_or_default();
        disposition
            .trim()
            .to_ascii_lowercase()
            .starts_with("attachment")
            || self.file_name().is_some()
    }

    /// The body with its transfer encoding undone.
    pub fn decoded_body(&self) -> Result<Vec<u8>, MimeError> {
        match self.transfer_encoding().as_str() {
            "base64" => base64::decode_mime(&self.body).map_err(MimeError::BadBase64),
            "quoted-printable" => Ok(decode_quoted_printable(&self.body)),
            _ => Ok(self.body.clone()),
        }
    }

    /// Every part that is not a multipart, depth first.
    pub fn leaves(&self) -> Vec<&Part> {
        if self.children.is_empty() {
            return vec![self];
        }
        self.children.iter().flat_map(Part::leaves).collect()
    }
}

fn parse_part(bytes: &[u8], depth: usize) -> Part {
    let (headers, body_start) = parse_headers(bytes);
    let mut part = Part {
        headers,
        body: bytes[body_start..].to_vec(),
        children: Vec::new(),
    };
    let content_type = part.content_type();
    if depth < MAX_DEPTH && content_type.mime_type.starts_with("multipart/") {
        if let Some(boundary) = content_type.parameter("boundary") {
            part.children = split_multipart(&part.body, &boundary)
                .into_iter()
                .map(|child| parse_part(child, depth + 1))
                .collect();
        }
    }
    part
}

/// Reads header lines up to the empty line; returns the fields and where the body starts.
fn parse_headers(bytes: &[u8]) -> (Vec<(String, String)>, usize) {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| at + i + 1);
        let line = &bytes[at..end];
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.is_empty() {
            return (fields, end);
        }
        let text = String::from_utf8_lossy(text);
        if text.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                // Unfolding (RFC 5322 §2.2.3): remove the CRLF, keep the whitespace.
                value.push_str(&text);
            }
        } else if let Some((name, value)) = text.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim_start().to_owned()));
        } else {
            // Not a header line: the header section has ended without an empty line.
            return (fields, at);
        }
        at = end;
    }
    (fields, bytes.len())
}

/// The bodies between `--boundary` delimiter lines (RFC 2046 §5.1.1); the CRLF before each
/// delimiter belongs to the delimiter.
fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut current: Option<usize> = None;
    let mut at = 0;
    while at < body.len() {
        let end = body[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| at + i + 1);
        let line = &body[at..end];
        let trimmed = trim_line_end(line);
        if let Some(rest) = trimmed.strip_prefix(delimiter.as_bytes()) {
            let rest_trimmed: &[u8] = trim_whitespace_end(rest);
            if rest_trimmed.is_empty() || rest_trimmed == b"--" {
                if let Some(start) = current {
                    parts.push(strip_final_line_break(&body[start..at]));
                }
                if rest_trimmed == b"--" {
                    return parts;
                }
                current = Some(end);
            }
        }
        at = end;
    }
    if let Some(start) = current {
        parts.push(&body[start..]);
    }
    parts
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_whitespace_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b" \t".contains(b))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

fn strip_final_line_break(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Splits `type/subtype; a=1; b="two; three"` into the value and its parameters (names in
/// lower case, quoted values unquoted).
fn split_parameters(value: &str) -> (String, Vec<(String, String)>) {
    // Split at semicolons outside quoted strings, keeping the quotes for now.
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        current.push(c);
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                current.pop();
                pieces.push(std::mem::take(&mut current));
            }
            _ => {}
        }
    }
    pieces.push(current);
    let mut pieces = pieces.into_iter();
    let main = pieces.next().unwrap_or_default().trim().to_owned();
    let parameters = pieces
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            Some((name.trim().to_ascii_lowercase(), unquote(value.trim())))
        })
        .collect();
    (main, parameters)
}

/// `"a \"b\""` to `a "b"`; a value without quotes stays as it is.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// A parameter's value: plain `name`, RFC 2231 `name*` (charset'language'%XX), or the
/// continuations `name*0`, `name*1*`, ... joined in order.
fn parameter_value(parameters: &[(String, String)], name: &str) -> Option<String> {
    let name = name.to_ascii_lowercase();
    if let Some((_, v)) = parameters.iter().find(|(n, _)| *n == name) {
        return Some(v.clone());
    }
    if let Some((_, v)) = parameters.iter().find(|(n, _)| *n == format!("{name}*")) {
        return Some(decode_extended(v));
    }
    let mut pieces: Vec<(usize, bool, &str)> = parameters
        .iter()
        .filter_map(|(n, v)| {
            let rest = n.strip_prefix(&name)?.strip_prefix('*')?;
            let (index, extended) = match rest.strip_suffix('*') {
                Some(i) => (i, true),
                None => (rest, false),
            };
            Some((index.parse().ok()?, extended, v.as_str()))
        })
        .collect();
    if pieces.is_empty() {
        return None;
    }
    pieces.sort_by_key(|(i, _, _)| *i);
    let mut bytes = Vec::new();
    for (i, extended, value) in pieces {
        if extended {
            let value = if i == 0 {
                value.splitn(3, '\'').nth(2).unwrap_or(value)
            } else {
                value
            };
            bytes.extend(percent_decode(value));
        } else {
            bytes.extend_from_slice(value.as_bytes());
        }
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `UTF-8''%E2%82%AC.txt` to `€.txt` (the charset and language are skipped).
fn decode_extended(value: &str) -> String {
    let encoded = value.splitn(3, '\'').nth(2).unwrap_or(value);
    String::from_utf8_lossy(&percent_decode(encoded)).into_owned()
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?B?...?=`, `=?iso-8859-1?Q?...?=`) in a header
/// value; whitespace between two encoded words is dropped (§6.2), other text is kept.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut pending_space = String::new();
    let mut last_was_word = false;
    while !rest.is_empty() {
        if let Some((decoded, used)) = rest.strip_prefix("=?").and_then(decode_one_word) {
            if !last_was_word {
                out.push_str(&pending_space);
            }
            pending_space.clear();
            out.push_str(&decoded);
            rest = &rest[2 + used..];
            last_was_word = true;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c == ' ' || c == '\t' {
            pending_space.push(c);
        } else {
            out.push_str(&pending_space);
            pending_space.clear();
            out.push(c);
            last_was_word = false;
        }
        rest = &rest[c.len_utf8()..];
    }
    if !last_was_word {
        out.push_str(&pending_space);
    }
    out.trim().to_owned()
}

/// `charset?B?text?=` after the `=?`: the decoded text and how many bytes were used.
fn decode_one_word(after: &str) -> Option<(String, usize)> {
    let q1 = after.find('?')?;
    let charset = &after[..q1];
    let q2 = q1 + 1 + after[q1 + 1..].find('?')?;
    let encoding = &after[q1 + 1..q2];
    let text_start = q2 + 1;
    let text_end = text_start + after[text_start..].find("?=")?;
    let text = &after[text_start..text_end];
    if text.contains(' ') || charset.is_empty() || charset.contains(' ') {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => base64::decode(text.as_bytes()).ok()?,
        "Q" | "q" => decode_q(text),
        _ => return None,
    };
    // RFC 2231 §5 lets a language follow the charset: `UTF-8*en`.
    let charset = charset
        .split('*')
        .next()
        .unwrap_or(charset)
        .to_ascii_lowercase();
    let decoded = match charset.as_str() {
        "iso-8859-1" | "latin1" | "us-ascii" => bytes.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    };
    Some((decoded, text_end + 2))
}

/// The `Q` encoding of RFC 2047 §4.2: `_` is a space, `=XX` a byte.
fn decode_q(text: &str) -> Vec<u8> {
    let bytes = text.replace('_', " ");
    decode_quoted_printable(bytes.as_bytes())
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` is a byte, `=` at the end of a line joins it to the
/// next (a soft line break); anything malformed is kept as it is.
pub fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'=' {
            match (body.get(i + 1), body.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => {
                    i += 3;
                    continue;
                }
                (Some(b'\n'), _) => {
                    i += 2;
                    continue;
                }
                (Some(&h), Some(&l)) => {
                    if let (Some(h), Some(l)) = (hex(h), hex(l)) {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(body[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn headers_unfold_and_words_decode() {
        let part = Part::parse(
            b"Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n =?UTF-8?Q?_aus_K=C3=B6ln?=\r\nX-Long: one\r\n\ttwo\r\n\r\nbody\r\n",
        )
        .unwrap();
        assert_eq!(
            part.header_text("subject").as_deref(),
            Some("Grüße aus Köln")
        );
        assert_eq!(part.header("X-Long"), Some("one\ttwo"));
        assert_eq!(part.body, b"body\r\n");
        assert_eq!(
            decode_words("Re: =?iso-8859-1?q?caf=E9?= ok"),
            "Re: café ok"
        );
        assert_eq!(decode_words("=?bogus"), "=?bogus");
    }

    #[test]
    fn quoted_printable() {
        assert_eq!(
            decode_quoted_printable(b"caf=C3=A9 soft=\r\nbreak =3D =zz"),
            "café softbreak = =zz".as_bytes()
        );
    }

    #[test]
    fn multipart_as_smtplib_and_mutt_write_it() {
        let message = b"\
            MIME-Version: 1.0\n\
            Content-Type: multipart/mixed; boundary=\"===============123==\"\n\
            \n\
            preamble\n\
            --===============123==\n\
            Content-Type: text/plain; charset=\"utf-8\"\n\
            Content-Transfer-Encoding: quoted-printable\n\
            \n\
            Gr=C3=BC=C3=9Fe\n\
            --===============123==\n\
            Content-Type: application/octet-stream\n\
            Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.bin\n\
            Content-Transfer-Encoding: base64\n\
            \n\
            AAEC\n\
            /w==\n\
            --===============123==--\n\
            epilogue\n";
        let part = Part::parse(message).unwrap();
        assert_eq!(part.children.len(), 2);
        assert_eq!(part.children[0].decoded_body().unwrap(), "Grüße".as_bytes());
        assert_eq!(part.children[1].file_name().as_deref(), Some("€.bin"));
        assert!(part.children[1].is_attachment());
        assert_eq!(part.children[1].decoded_body().unwrap(), [0, 1, 2, 255]);
    }

    #[test]
    fn continuations_and_quoted_names() {
        let part = Part::parse(
            b"Content-Type: text/plain; name*0=\"long \"; name*1*=%E2%82%AC; name*2=\".txt\"\r\n\r\n",
        )
        .unwrap();
        assert_eq!(part.file_name().as_deref(), Some("long €.txt"));
        let part = Part::parse(
            b"Content-Disposition: attachment; filename=\"a \\\"q\\\"; b.txt\"\r\n\r\n",
        )
        .unwrap();
        assert_eq!(part.file_name().as_deref(), Some("a \"q\"; b.txt"));
    }

    #[test]
    fn a_message_without_mime_is_one_text_part() {
        let part = Part::parse(b"\r\n I love computer networks!\r\n").unwrap();
        assert!(part.headers.is_empty());
        assert_eq!(part.content_type().mime_type, "text/plain");
        assert_eq!(part.leaves().len(), 1);
        assert_eq!(
            part.decoded_body().unwrap(),
            b" I love computer networks!\r\n"
        );
    }

    #[test]
    fn bad_base64_is_an_error_not_a_panic() {
        let part = Part::parse(b"Content-Transfer-Encoding: base64\r\n\r\n!!!!\r\n").unwrap();
        assert!(matches!(part.decoded_body(), Err(MimeError::BadBase64(_))));
    }

    #[test]
    fn nesting_is_bounded() {
        let mut message = Vec::new();
        for _ in 0..100 {
            message.extend_from_slice(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n");
        }
        let part = Part::parse(&message).unwrap();
        let mut depth = 0;
        let mut p = &part;
        while let Some(child) = p.children.first() {
            depth += 1;
            p = child;
        }
        assert!(depth <= MAX_DEPTH);
    }
}
