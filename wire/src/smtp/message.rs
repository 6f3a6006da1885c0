//! Building a message: RFC 5322 header fields, RFC 2047 encoded words, MIME multipart bodies
//! (RFC 2045, 2046) with base64 attachments, RFC 2231 parameters for non-ASCII file names.
//!
//! ```text
//! Date: Thu, 01 Jan 2026 12:00:00 +0000          RFC 5322 §3.3, from the clock the shell passes
//! From: Alice <alice@example.org>
//! To: bob@example.org
//! Subject: =?UTF-8?B?...?=                         RFC 2047 §4.1 when not ASCII
//! Message-ID: <...>                               given by the shell (tests inject it)
//! MIME-Version: 1.0
//! Content-Type: multipart/mixed; boundary="..."   boundary given by the shell (tests inject it)
//!
//! --boundary
//! Content-Type: multipart/alternative; ...        text + HTML when both are given
//! --boundary
//! Content-Type: image/png; name="cat.png"         type chosen by the shell from the file name
//! Content-Disposition: attachment; filename="cat.png"
//! Content-Transfer-Encoding: base64               76 characters a line (RFC 2045 §6.8)
//! --boundary--
//! ```
//!
//! Every line ends in CRLF. A header value holding CR or LF is refused ([`MessageError::HeaderInjection`]):
//! a value from a command line must never start a header of its own. Header lines are folded
//! at 78 columns where there is a space (RFC 5322 §2.2.3). Text bodies go as 7bit when they are
//! ASCII with short lines, else as base64; line endings are made CRLF.
//!
//! Out of scope: quoted-printable output, S/MIME, inline images with Content-ID.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::command::{Path, PathError};
use crate::base64;

/// The message the classic lab skeleton sends after DATA (its `msg`, whose final CRLF comes
/// from the skeleton's `"\r\n.\r\n"`): no header section, one line of text.
pub const LAB_MESSAGE: &[u8] = b"\r\n I love computer networks!\r\n";

/// The longest line RFC 5322 §2.1.1 allows, without CRLF.
pub const MAX_LINE: usize = 998;

/// A mailbox in a header field: `Display Name <local@domain>` or just the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: Path,
}

impl Mailbox {
    /// Reads `alice@example.org`, `<alice@example.org>` or `Alice Liddell <alice@example.org>`
    /// (the name may be quoted).
    pub fn parse(text: &str) -> Result<Mailbox, MessageError> {
        let text = text.trim();
        if text.contains(['\r', '\n']) {
            return Err(MessageError::HeaderInjection {
                field: "address".into(),
                value: text.to_owned(),
            });
        }
        let bad = |e: PathError| MessageError::BadAddress {
            text: text.to_owned(),
            problem: e,
        };
        match (text.rfind('<'), text.ends_with('>')) {
            (Some(open), true) => {
                let address = Path::new(&text[open + 1..text.len() - 1]).map_err(bad)?;
                let name = text[..open].trim();
                let name = name
                    .strip_prefix('"')
                    .and_then(|n| n.strip_suffix('"'))
                    .unwrap_or(name);
                let name = name.replace("\\\"", "\"").replace("\\\\", "\\");
                Ok(Mailbox {
                    name: (!name.is_empty()).then_some(name),
                    address,
                })
            }
            _ => Ok(Mailbox {
                name: None,
                address: Path::new(text).map_err(bad)?,
            }),
        }
    }

    /// The mailbox as a header field shows it, the name quoted or encoded as needed.
    pub fn header_form(&self) -> String {
        match &self.name {
            None => self.address.as_str().to_owned(),
            Some(name) => format!("{} <{}>", phrase(name), self.address.as_str()),
        }
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header_form())
    }
}

/// A display name as RFC 5322 §3.2.5 `phrase`: atoms as they are, quoted when it has
/// specials, encoded words when it is not ASCII.
fn phrase(name: &str) -> String {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~ ".contains(c);
    if name.is_ascii() && name.chars().all(atext) && !name.contains("=?") {
        name.to_owned()
    } else if name.is_ascii() && !name.contains("=?") {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        encoded_words(name).join(" ")
    }
}

/// Splits text into RFC 2047 `B` encoded words of at most 75 characters each, cut between
/// characters (§5: an encoded word must hold whole characters).
pub fn encoded_words(text: &str) -> Vec<String> {
    // "=?UTF-8?B?" + base64 + "?=" <= 75 leaves 63 characters: 15 groups, 45 bytes.
    const MAX_BYTES: usize = 45;
    let mut words = Vec::new();
    let mut chunk_start = 0;
    let mut chunk_end = 0;
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if end - chunk_start > MAX_BYTES {
            words.push(format!(
                "=?UTF-8?B?{}?=",
                base64::encode(&text.as_bytes()[chunk_start..chunk_end])
            ));
            chunk_start = chunk_end;
        }
        chunk_end = end;
    }
    if chunk_end > chunk_start || words.is_empty() {
        words.push(format!(
            "=?UTF-8?B?{}?=",
            base64::encode(&text.as_bytes()[chunk_start..chunk_end])
        ));
    }
    words
}

/// An attachment: its file name (no directories), MIME type and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Everything a message is made of. The shell fills in the date, the Message-ID and the
/// boundary; tests inject fixed ones so the bytes are the same every time.
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Extra header fields (`--header 'Name: value'`). One with the name of a generated field
    /// replaces it.
    pub headers: Vec<(String, String)>,
    pub date: SystemTime,
    /// Without angle brackets: `1767268800.4f2a@example.org`.
    pub message_id: String,
    /// The multipart boundary (the nested alternative part adds `-alt`).
    pub boundary: String,
}

/// Why a message cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// A header value holds CR or LF: it would start a header (or a body) of its own.
    HeaderInjection { field: String, value: String },
    /// A header name that is not printable ASCII without `:` (RFC 5322 §3.6.8).
    BadHeaderName { name: String },
    /// An address that is not a mailbox.
    BadAddress { text: String, problem: PathError },
    /// A boundary that is empty, too long or uses characters RFC 2046 §5.1.1 does not allow.
    BadBoundary { boundary: String },
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::HeaderInjection { field, value } => write!(
                f,
                "the {field} value {} contains a line break (CR or LF); a header value must be one line, \
                 or it could add header fields of its own (header injection)",
                crate::trace::escape_inline(value.as_bytes())
            ),
            MessageError::BadHeaderName { name } => write!(
                f,
                "{name:?} is not a header field name: use printable ASCII without ':' or spaces, as in --header 'X-Lab: 1' (RFC 5322 §3.6.8)"
            ),
            MessageError::BadAddress { text, problem } => write!(f, "{text:?} is not an email address: {problem}"),
            MessageError::BadBoundary { boundary } => write!(
                f,
                "{boundary:?} is not a MIME boundary: 1 to 70 characters from letters, digits and '()+_,-./:=? (RFC 2046 §5.1.1)"
            ),
        }
    }
}

impl std::error::Error for MessageError {}

/// Header fields in order, written with folding.
#[derive(Default)]
struct Header {
    fields: Vec<(String, String)>,
}

impl Header {
    fn set(&mut self, name: &str, value: String) {
        match self
            .fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(field) => *field = (name.to_owned(), value),
            None => self.fields.push((name.to_owned(), value)),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        for (name, value) in &self.fields {
            write_folded(out, name, value);
        }
    }
}

/// Writes `Name: value` CRLF, folding at spaces so lines stay within 78 columns where they can
/// (RFC 5322 §2.2.3). A word longer than a line stays whole (up to 998).
fn write_folded(out: &mut Vec<u8>, name: &str, value: &str) {
    let mut line_len = name.len() + 1;
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    for (i, word) in value.split(' ').enumerate() {
        if i > 0 && line_len + 1 + word.len() > 78 && line_len > 1 {
            out.extend_from_slice(b"\r\n");
            line_len = 0;
        }
        out.push(b' ');
        out.extend_from_slice(word.as_bytes());
        line_len += 1 + word.len();
    }
    out.extend_from_slice(b"\r\n");
}

fn check_value(field: &str, value: &str) -> Result<(), MessageError> {
    if value.contains(['\r', '\n']) {
        return Err(MessageError::HeaderInjection {
            field: field.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// Unstructured text (Subject, extra fields): as it is when ASCII, else encoded words.
fn unstructured(value: &str) -> String {
    if value.is_ascii()
        && !value.contains("=?")
        && value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        value.to_owned()
    } else {
        encoded_words(value).join(" ")
    }
}

impl MessageBuilder {
    /// A message with only the required parts; the rest is filled in field by field.
    pub fn new(
        from: Mailbox,
        date: SystemTime,
        message_id: &str,
        boundary: &str,
    ) -> MessageBuilder {
        MessageBuilder {
            from,
            to: Vec::new(),
            cc: Vec::new(),
            subject: None,
            text: None,
            html: None,
            attachments: Vec::new(),
            headers: Vec::new(),
            date,
            message_id: message_id.to_owned(),
            boundary: boundary.to_owned(),
        }
    }

    /// The message bytes, CRLF everywhere, ready to be dot-stuffed.
    pub fn build(&self) -> Result<Vec<u8>, MessageError> {
        let boundary_ok = (1..=60).contains(&self.boundary.len())
            && self
                .boundary
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(&b));
        if !boundary_ok {
            return Err(MessageError::BadBoundary {
                boundary: self.boundary.clone(),
            });
        }
        if let Some(subject) = &self.subject {
            check_value("Subject", subject)?;
        }
        check_value("Message-ID", &self.message_id)?;
        for (name, value) in &self.headers {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| (b'!'..=b'~').contains(&b) && b != b':')
            {
                return Err(MessageError::BadHeaderName { name: name.clone() });
            }
            check_value(name, value)?;
        }

        let mut header = Header::default();
        header.set("Date", rfc5322_date(self.date));
        header.set("From", self.from.header_form());
        let list = |boxes: &[Mailbox]| {
            boxes
                .iter()
                .map(Mailbox::header_form)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.to.is_empty() {
            header.set("To", list(&self.to));
        }
        if !self.cc.is_empty() {
            header.set("Cc", list(&self.cc));
        }
        if let Some(subject) = &self.subject {
            header.set("Subject", unstructured(subject));
        }
        header.set("Message-ID", format!("<{}>", self.message_id));
        header.set("MIME-Version", "1.0".to_owned());

        let mut body = Vec::new();
        let boundary = self.unused_boundary();
        let alternative = format!("{boundary}-alt");
        let text_part = |out: &mut Vec<u8>, header: &mut Header| {
            let (encoding, content) = text_body(self.text.as_deref().unwrap_or_default());
            header.set("Content-Type", "text/plain; charset=utf-8".to_owned());
            header.set("Content-Transfer-Encoding", encoding.to_owned());
            out.extend(content);
        };
        let body_part = |out: &mut Vec<u8>, header: &mut Header| match &self.html {
            None => text_part(out, header),
            Some(html) => {
                header.set(
                    "Content-Type",
                    format!("multipart/alternative; boundary=\"{alternative}\""),
                );
                let mut text_header = Header::default();
                let mut text = Vec::new();
                text_part(&mut text, &mut text_header);
                let (encoding, html_content) = text_body(html);
                let mut html_header = Header::default();
                html_header.set("Content-Type", "text/html; charset=utf-8".to_owned());
                html_header.set("Content-Transfer-Encoding", encoding.to_owned());
                write_parts(
                    out,
                    &alternative,
                    [(text_header, text), (html_header, html_content)],
                );
            }
        };
        if self.attachments.is_empty() {
            body_part(&mut body, &mut header);
        } else {
            header.set(
                "Content-Type",
                format!("multipart/mixed; boundary=\"{boundary}\""),
            );
            let mut parts = Vec::new();
            let mut first_header = Header::default();
            let mut first = Vec::new();
            body_part(&mut first, &mut first_header);
            parts.push((first_header, first));
            for attachment in &self.attachments {
                parts.push(attachment_part(attachment));
            }
            write_parts(&mut body, &boundary, parts);
        }
        for (name, value) in &self.headers {
            header.set(name, unstructured(value));
        }

        let mut out = Vec::with_capacity(body.len() + 1024);
        header.write(&mut out);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The boundary, lengthened until no text line could be mistaken for it (attachments are
    /// base64, which has no '-' or '_', so only text needs checking).
    fn unused_boundary(&self) -> String {
        let texts: Vec<&str> = [self.text.as_deref(), self.html.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let mut boundary = self.boundary.clone();
        let mut n = 0;
        while texts.iter().any(|t| t.contains(&format!("--{boundary}"))) {
            n += 1;
            boundary = format!("{}_{n}", self.boundary);
        }
        boundary
    }
}

/// Writes multipart parts with their delimiters and the closing delimiter (RFC 2046 §5.1.1):
/// the CRLF before each `--boundary` belongs to the delimiter, not to the part, so a part whose
/// text ends in CRLF is followed by an empty-looking line.
fn write_parts(
    out: &mut Vec<u8>,
    boundary: &str,
    parts: impl IntoIterator<Item = (Header, Vec<u8>)>,
) {
    for (i, (header, content)) in parts.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        header.write(out);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&content);
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
}

/// A text body with CRLF line endings: 7bit when ASCII with lines of at most 998 octets,
/// else base64.
fn text_body(text: &str) -> (&'static str, Vec<u8>) {
    let mut crlf = Vec::with_capacity(text.len() + text.len() / 40 + 2);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                crlf.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => crlf.extend_from_slice(b"\r\n"),
            b => crlf.push(b),
        }
        i += 1;
    }
    if !crlf.is_empty() && !crlf.ends_with(b"\r\n") {
        crlf.extend_from_slice(b"\r\n");
    }
    let seven_bit = crlf.iter().all(|&b| b < 0x80 && b != 0)
        && crlf
            .split(|&b| b == b'\n')
            .all(|line| line.len() <= MAX_LINE + 1);
    if seven_bit {
        ("7bit", crlf)
    } else {
        let mut out = Vec::new();
        base64::encode_wrapped(&crlf, &mut out);
        ("base64", out)
    }
}

fn attachment_part(attachment: &Attachment) -> (Header, Vec<u8>) {
    let mut header = Header::default();
    let name = attachment.file_name.as_str();
    header.set(
        "Content-Type",
        format!("{}; {}", attachment.content_type, parameter("name", name)),
    );
    header.set(
        "Content-Disposition",
        format!("attachment; {}", parameter("filename", name)),
    );
    header.set("Content-Transfer-Encoding", "base64".to_owned());
    let mut content = Vec::with_capacity(base64::encoded_len(attachment.data.len()) * 78 / 76 + 2);
    base64::encode_wrapped(&attachment.data, &mut content);
    (header, content)
}

/// A MIME parameter: `name="value"` when the value is printable ASCII, else the RFC 2231
/// form `name*=UTF-8''%E2%82%AC.txt`, split into `name*0*=`, `name*1*=`... pieces when long.
pub fn parameter(name: &str, value: &str) -> String {
    let printable = value.bytes().all(|b| (b' '..=b'~').contains(&b));
    if printable && value.len() <= 60 {
        return format!(
            "{name}=\"{}\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        );
    }
    let mut encoded = Vec::new();
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push((b as char).to_string());
        } else {
            encoded.push(format!("%{b:02X}"));
        }
    }
    const PIECE: usize = 40;
    let joined: String = encoded.concat();
    if joined.len() <= PIECE {
        return format!("{name}*=UTF-8''{joined}");
    }
    // Continuations (RFC 2231 §3), never splitting a %XX triple.
    let mut pieces = Vec::new();
    let mut current = String::new();
    for unit in encoded {
        if current.len() + unit.len() > PIECE {
            pieces.push(std::mem::take(&mut current));
        }
        current.push_str(&unit);
    }
    pieces.push(current);
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let charset = if i == 0 { "UTF-8''" } else { "" };
            format!("{name}*{i}*={charset}{piece}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The date as RFC 5322 §3.3 writes it, in UTC: `Thu, 01 Jan 2026 12:00:00 +0000`.
pub fn rfc5322_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][month as usize - 1];
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::time::Duration;

    /// 2026-01-01T12:00:00Z
    fn new_year() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_268_800)
    }

    fn builder() -> MessageBuilder {
        let mut b = MessageBuilder::new(
            Mailbox::parse("Alice <alice@example.org>").unwrap(),
            new_year(),
            "1767268800.test@example.org",
            "=_protolab_test",
        );
        b.to = vec![Mailbox::parse("bob@example.org").unwrap()];
        b
    }

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(new_year()), "Thu, 01 Jan 2026 12:00:00 +0000");
        assert_eq!(rfc5322_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 +0000"
        );
    }

    #[test]
    fn plain_text_message() {
        let mut b = builder();
        b.subject = Some("Hello".into());
        b.text = Some("Hi Bob,\n.dots stay\nbye".into());
        let message = String::from_utf8(b.build().unwrap()).unwrap();
        assert_eq!(
            message,
            "Date: Thu, 01 Jan 2026 12:00:00 +0000\r\n\
             From: Alice <alice@example.org>\r\n\
             To: bob@example.org\r\n\
             Subject: Hello\r\n\
             Message-ID: <1767268800.test@example.org>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 7bit\r\n\
             \r\n\
             Hi Bob,\r\n\
             .dots stay\r\n\
             bye\r\n"
        );
    }

    #[test]
    fn non_ascii_subject_and_names_become_encoded_words() {
        let mut b = builder();
        b.from = Mailbox::parse("Zoë Ünal <zoe@example.org>").unwrap();
        b.subject =
            Some("Grüße aus Köln — ein längerer Betreff, der über mehrere Wörter geht".into());
        b.text = Some("Grüße".into());
        let message = String::from_utf8(b.build().unwrap()).unwrap();
        assert!(
            message.contains("From: =?UTF-8?B?Wm/DqyDDnG5hbA==?= <zoe@example.org>\r\n"),
            "{message}"
        );
        let subject_start = message.find("Subject:").unwrap();
        let subject: String = message[subject_start..]
            .lines()
            .take_while(|l| l.starts_with("Subject") || l.starts_with(' '))
            .collect();
        for word in subject.trim_start_matches("Subject:").split_whitespace() {
            assert!(word.len() <= 75 && word.starts_with("=?UTF-8?B?"), "{word}");
        }
        assert_eq!(
            crate::smtp::mime::decode_words(&subject["Subject:".len()..]),
            b.subject.clone().unwrap()
        );
        assert!(
            message.contains("Content-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZQ0K\r\n"),
            "{message}"
        );
        // Quoted names with specials.
        assert_eq!(
            Mailbox::parse("\"Doe, John\" <j@x.test>")
                .unwrap()
                .header_form(),
            "\"Doe, John\" <j@x.test>"
        );
    }

    #[test]
    fn header_injection_is_refused() {
        let mut b = builder();
        b.subject = Some("hi\r\nBcc: everyone@example.org".into());
        let error = b.build().unwrap_err();
        assert!(
            matches!(error, MessageError::HeaderInjection { ref field, .. } if field == "Subject")
        );
        assert!(error.to_string().contains("\\r\\n"), "{error}");
        let mut b = builder();
        b.headers = vec![("X-Test".into(), "a\nb".into())];
        assert!(matches!(
            b.build(),
            Err(MessageError::HeaderInjection { .. })
        ));
        let mut b = builder();
        b.headers = vec![("X Test".into(), "a".into())];
        assert!(matches!(b.build(), Err(MessageError::BadHeaderName { .. })));
        assert!(matches!(
            Mailbox::parse("a@b.c\r\nBcc: x@y.z"),
            Err(MessageError::HeaderInjection { .. })
        ));
    }

    #[test]
    fn extra_headers_replace_or_add() {
        let mut b = builder();
        b.headers = vec![
            ("X-Lab".into(), "1".into()),
            ("subject".into(), "replaced".into()),
        ];
        b.subject = Some("original".into());
        let message = String::from_utf8(b.build().unwrap()).unwrap();
        assert!(message.contains("subject: replaced\r\n") && !message.contains("original"));
        assert!(message.contains("X-Lab: 1\r\n"));
    }

    #[test]
    fn multipart_with_html_and_attachments() {
        let mut b = builder();
        b.text = Some("see attached".into());
        b.html = Some("<p>see attached</p>".into());
        b.attachments = vec![
            Attachment {
                file_name: "data.bin".into(),
                content_type: "application/octet-stream".into(),
                data: (0..=255).collect(),
            },
            Attachment {
                file_name: "€ report.txt".into(),
                content_type: "text/plain".into(),
                data: b"x".to_vec(),
            },
        ];
        let bytes = b.build().unwrap();
        let message = String::from_utf8(bytes.clone()).unwrap();
        assert!(message.contains("Content-Type: multipart/mixed; boundary=\"=_protolab_test\"\r\n"));
        assert!(
            message.contains(
                "Content-Type: multipart/alternative; boundary=\"=_protolab_test-alt\"\r\n"
            ),
            "{message}"
        );
        assert!(
            message.contains(
                "Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20report.txt\r\n"
            ),
            "{message}"
        );
        assert!(message.ends_with("--=_protolab_test--\r\n"));
        // Every line ends in CRLF and none is longer than 78.
        for line in message.split_inclusive('\n') {
            assert!(line.ends_with("\r\n"), "{line:?}");
            assert!(line.len() <= 80, "{line:?}");
        }
        let parsed = crate::smtp::mime::Part::parse(&bytes).unwrap();
        let leaves = parsed.leaves();
        assert_eq!(leaves.len(), 4);
        // The CRLF before a delimiter belongs to it: the text keeps its own final CRLF.
        assert_eq!(leaves[0].decoded_body().unwrap(), b"see attached\r\n");
        assert_eq!(
            leaves[1].decoded_body().unwrap(),
            b"<p>see attached</p>\r\n"
        );
        assert_eq!(
            leaves[2].decoded_body().unwrap(),
            (0..=255).collect::<Vec<u8>>()
        );
        assert_eq!(leaves[3].file_name().as_deref(), Some("€ report.txt"));
    }

    #[test]
    fn long_non_ascii_file_names_use_continuations() {
        let name = "Überraschung-".repeat(6) + ".pdf";
        let param = parameter("filename", &name);
        assert!(
            param.starts_with("filename*0*=UTF-8''%C3%9Cberraschung-"),
            "{param}"
        );
        assert!(param.contains("; filename*1*="));
        let parsed = crate::smtp::mime::Part::parse(
            format!("Content-Disposition: attachment; {param}\r\n\r\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(parsed.file_name(), Some(name));
    }

    #[test]
    fn boundary_is_changed_when_text_contains_it() {
        let mut b = builder();
        b.text = Some("--=_protolab_test\nsneaky".into());
        b.attachments = vec![Attachment {
            file_name: "a".into(),
            content_type: "text/plain".into(),
            data: vec![],
        }];
        let message = String::from_utf8(b.build().unwrap()).unwrap();
        assert!(message.contains("boundary=\"=_protolab_test_1\""));
        let mut b = builder();
        b.boundary = "bad boundary\r\n".into();
        assert!(matches!(b.build(), Err(MessageError::BadBoundary { .. })));
    }

    #[test]
    fn lab_message_is_the_skeleton() {
        assert_eq!(
            crate::smtp::dot_stuffing::stuff(LAB_MESSAGE),
            b"\r\n I love computer networks!\r\n.\r\n"
        );
    }
}
