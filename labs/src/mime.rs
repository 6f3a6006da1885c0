//! Just enough MIME (RFC 2045, RFC 2046) to find a part in a learner's message and decode it.
//!
//! In scope: header fields with folded lines, `multipart/*` with a boundary (nested too),
//! `Content-Transfer-Encoding: base64` and identity encodings. Out of scope: building messages
//! (that is `wire::smtp`), quoted-printable, encoded words.

/// Splits a message (or a part) into its header section and body at the first empty line. A
/// part that begins with the empty line has no header at all.
fn split_head(part: &[u8]) -> (&[u8], &[u8]) {
    if let Some(body) = part
        .strip_prefix(b"\r\n")
        .or_else(|| part.strip_prefix(b"\n"))
    {
        return (b"", body);
    }
    if let Some(p) = part.windows(4).position(|w| w == b"\r\n\r\n") {
        return (&part[..p + 2], &part[p + 4..]);
    }
    if let Some(p) = part.windows(2).position(|w| w == b"\n\n") {
        return (&part[..p + 1], &part[p + 2..]);
    }
    (part, b"")
}

/// The value of a header field, unfolded, by case-insensitive name.
fn field(head: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let mut value: Option<String> = None;
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(v) = value.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.trim().eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_string());
            }
        }
    }
    value
}

/// A parameter of a structured field value (`boundary="abc"`).
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// A message's header section as it arrived, with the empty line that ends it (the whole
/// message when no empty line does).
pub fn header_section(message: &[u8]) -> &[u8] {
    let (head, body) = split_head(message);
    let end = message.len() - body.len();
    &message[..end.max(head.len())]
}

/// A message's Content-Type field as it arrived, name to line end, its folded lines too; `None`
/// when its header has none.
pub fn content_type_field(message: &[u8]) -> Option<&[u8]> {
    let (head, _) = split_head(message);
    let mut start = None;
    let mut offset = 0;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let folded = line.starts_with(b" ") || line.starts_with(b"\t");
        match start {
            Some(s) if !folded => return Some(&head[s..offset]),
            None if line.len() >= 13 && line[..13].eq_ignore_ascii_case(b"content-type:") => {
                start = Some(offset)
            }
            _ => {}
        }
        offset += line.len();
    }
    start.map(|s| &head[s..])
}

/// A message's media type: its Content-Type value, or `text/plain` when it has none (the
/// default of RFC 2045 §5.2).
pub fn media_type(message: &[u8]) -> String {
    let (head, _) = split_head(message);
    field(head, "Content-Type").unwrap_or_else(|| "text/plain".into())
}

/// Finds the first part whose Content-Type starts with `prefix` and returns its decoded body.
pub fn find_part(message: &[u8], prefix: &str) -> Result<Vec<u8>, String> {
    let (head, body) = split_head(message);
    let content_type = field(head, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let lower = content_type.to_ascii_lowercase();
    if lower.starts_with(prefix) {
        return decode(head, body);
    }
    if !lower.starts_with("multipart/") {
        return Err(format!(
            "a part of type `{content_type}` holds no {prefix}* part"
        ));
    }
    let boundary = parameter(&content_type, "boundary")
        .ok_or_else(|| format!("`Content-Type: {content_type}` has no boundary parameter"))?;
    let delimiter = format!("--{boundary}");
    let chunks = split_on_delimiter(body, delimiter.as_bytes());
    if chunks.is_empty() {
        return Err(format!(
            "no `{delimiter}` line separates the parts (the Content-Type's boundary is `{boundary}`); \
             the body begins `{}`",
            first_line(body)
        ));
    }
    for chunk in &chunks {
        if let Ok(part) = find_part(chunk, prefix) {
            return Ok(part);
        }
    }
    let types: Vec<String> = chunks
        .iter()
        .map(|chunk| format!("`{}`", media_type(chunk)))
        .collect();
    Err(format!(
        "no part has a Content-Type starting with {prefix}: the {} part{} {} {}",
        types.len(),
        if types.len() == 1 { "" } else { "s" },
        if types.len() == 1 { "is" } else { "are" },
        types.join(", ")
    ))
}

/// The first line of some bytes as trace syntax would show it (`\r\n` and other controls
/// escaped), at most 60 bytes of it.
fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| p + 1)
        .min(60);
    let shown = wire::trace::render_payload("", &bytes[..end]);
    shown.trim_end_matches('\n').to_string()
}

/// The parts between delimiter lines (the preamble and epilogue dropped).
fn split_on_delimiter<'a>(body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(delimiter) {
            if let Some(s) = start {
                // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
                let mut end = offset;
                if body[..end].ends_with(b"\r\n") {
                    end -= 2;
                } else if body[..end].ends_with(b"\n") {
                    end -= 1;
                }
                parts.push(&body[s..end.max(s)]);
            }
            if line[delimiter.len()..].starts_with(b"--") {
                return parts;
            }
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    parts
}

fn decode(head: &[u8], body: &[u8]) -> Result<Vec<u8>, String> {
    let encoding = field(head, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "base64" => {
            let compact: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            wire::base64::decode(&compact)
                .map_err(|e| format!("the base64 body does not decode: {e}"))
        }
        "" | "7bit" | "8bit" | "binary" => Ok(body.to_vec()),
        other => Err(format!(
            "Content-Transfer-Encoding `{other}` is not one labs reads; use base64"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"\
From: a@example.com\r\n\
Content-Type: multipart/mixed;\r\n\
\x20boundary=\"XYZ\"\r\n\
\r\n\
preamble\r\n\
--XYZ\r\n\
Content-Type: text/plain\r\n\
\r\n\
hello\r\n\
--XYZ\r\n\
Content-Type: image/png\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
iVBORw0K\r\n\
Ggo=\r\n\
--XYZ--\r\n";

    #[test]
    fn finds_and_decodes_the_image_part() {
        assert_eq!(find_part(MESSAGE, "image/").unwrap(), b"\x89PNG\r\n\x1a\n");
        assert_eq!(find_part(MESSAGE, "text/plain").unwrap(), b"hello");
        assert_eq!(
            find_part(MESSAGE, "audio/").unwrap_err(),
            "no part has a Content-Type starting with audio/: the 2 parts are `text/plain`, `image/png`"
        );
        assert_eq!(
            find_part(
                b"Content-Type: multipart/mixed; boundary=SEP\r\n\r\n--sep\r\nhi\r\n--sep--\r\n",
                "image/"
            )
            .unwrap_err(),
            "no `--SEP` line separates the parts (the Content-Type's boundary is `SEP`); \
             the body begins `--sep\\r\\n`"
        );
        assert!(
            find_part(b"Content-Type: multipart/mixed\r\n\r\nx", "image/")
                .unwrap_err()
                .contains("no boundary")
        );
    }

    #[test]
    fn the_top_level_type_and_the_field_it_came_from() {
        assert_eq!(media_type(MESSAGE), "multipart/mixed; boundary=\"XYZ\"");
        assert_eq!(
            content_type_field(MESSAGE),
            Some(&b"Content-Type: multipart/mixed;\r\n boundary=\"XYZ\"\r\n"[..])
        );
        assert_eq!(header_section(MESSAGE).len(), 72);
        assert!(header_section(MESSAGE).ends_with(b"\r\n\r\n"));
        // No Content-Type: text/plain, and the header is all there is to show.
        let plain = b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n";
        assert_eq!(media_type(plain), "text/plain");
        assert_eq!(content_type_field(plain), None);
        assert_eq!(
            header_section(plain),
            b"From: a@example.com\r\nSubject: hi\r\n\r\n"
        );
        // A message that begins with the empty line has no header, even with a colon below.
        let bare = b"\r\nNote: I love computer networks!\r\n";
        assert_eq!(header_section(bare), b"\r\n");
        assert_eq!(media_type(bare), "text/plain");
        assert_eq!(content_type_field(bare), None);
        // A last field with no empty line after it.
        assert_eq!(
            content_type_field(b"content-type: text/html\r\n"),
            Some(&b"content-type: text/html\r\n"[..])
        );
    }
}
