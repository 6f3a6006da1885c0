//! SMTP replies (RFC 5321 §4.2): three-digit codes, multi-line replies, enhanced status codes
//! (RFC 3463, announced by ENHANCEDSTATUSCODES, RFC 2034).
//!
//! ```text
//! Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//!              Reply-code [ SP textstring ] CRLF
//! Reply-code = %x32-35 %x30-35 %x30-39
//! ```
//!
//! Every line of a multi-line reply carries the same code; `-` after the code means "more lines
//! follow", a space (or nothing) means "this is the last line". The first digit says how it went
//! (§4.2.1): 2 done, 3 go on, 4 failed for now (try again later), 5 failed for good.
//!
//! In scope: parsing replies incrementally for the client, writing replies for the server.
//! Text is kept as the server sent it (decoded lossily if it is not UTF-8, which RFC 5321 does
//! not allow but some servers send). Lines end in CRLF; a bare LF is refused and named.

use std::fmt;

use crate::Status;

/// The longest reply line this parser accepts, CRLF included. RFC 5321 §4.5.3.1.5 sets 512;
/// real servers send longer banners, so there is room to spare.
pub const MAX_REPLY_LINE: usize = 4096;

/// The most lines one reply may have (an EHLO reply has one per extension).
pub const MAX_REPLY_LINES: usize = 256;

/// A three-digit reply code, `200..=599` with a second digit of 0 to 5 (RFC 5321 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(u16);

impl ReplyCode {
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    pub const CLOSING: ReplyCode = ReplyCode(221);
    pub const AUTH_SUCCEEDED: ReplyCode = ReplyCode(235);
    pub const OK: ReplyCode = ReplyCode(250);
    pub const CANNOT_VRFY: ReplyCode = ReplyCode(252);
    pub const HELP: ReplyCode = ReplyCode(214);
    pub const AUTH_CONTINUE: ReplyCode = ReplyCode(334);
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);
    pub const SERVICE_NOT_AVAILABLE: ReplyCode = ReplyCode(421);
    pub const LOCAL_ERROR: ReplyCode = ReplyCode(451);
    pub const TLS_NOT_AVAILABLE: ReplyCode = ReplyCode(454);
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    pub const PARAMETER_SYNTAX_ERROR: ReplyCode = ReplyCode(501);
    pub const NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    pub const PARAMETER_NOT_IMPLEMENTED: ReplyCode = ReplyCode(504);
    pub const AUTH_REQUIRED: ReplyCode = ReplyCode(530);
    pub const AUTH_FAILED: ReplyCode = ReplyCode(535);
    pub const MAILBOX_UNAVAILABLE: ReplyCode = ReplyCode(550);
    pub const EXCEEDED_STORAGE: ReplyCode = ReplyCode(552);
    pub const TRANSACTION_FAILED: ReplyCode = ReplyCode(554);
    pub const PARAMETERS_NOT_RECOGNIZED: ReplyCode = ReplyCode(555);

    /// The code for a number, if it is a valid reply code.
    pub fn new(code: u16) -> Option<ReplyCode> {
        let (first, second) = (code / 100, code / 10 % 10);
        ((2..=5).contains(&first) && second <= 5).then_some(ReplyCode(code))
    }

    /// The number.
    pub fn get(self) -> u16 {
        self.0
    }

    /// What the first digit says (RFC 5321 §4.2.1).
    pub fn severity(self) -> Severity {
        match self.0 / 100 {
            2 => Severity::PositiveCompletion,
            3 => Severity::PositiveIntermediate,
            4 => Severity::TransientNegative,
            _ => Severity::PermanentNegative,
        }
    }

    /// 2xx.
    pub fn is_positive_completion(self) -> bool {
        self.severity() == Severity::PositiveCompletion
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The first digit of a reply code (RFC 5321 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// 2yz: the action is done.
    PositiveCompletion,
    /// 3yz: go on with the next part (the message after DATA, the next AUTH line).
    PositiveIntermediate,
    /// 4yz: not done, but the same command may work later.
    TransientNegative,
    /// 5yz: not done, and repeating it will not help.
    PermanentNegative,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::PositiveCompletion => "positive completion (2xx)",
            Severity::PositiveIntermediate => "positive intermediate (3xx)",
            Severity::TransientNegative => {
                "transient failure (4xx): the same command may work later"
            }
            Severity::PermanentNegative => "permanent failure (5xx): retrying will not help",
        })
    }
}

/// An enhanced status code like `5.1.1` (RFC 3463): class, subject, detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2 success, 4 persistent transient failure, 5 permanent failure.
    pub class: u8,
    /// 0-999: what it is about (1 addressing, 2 mailbox, 3 mail system, 4 network, 5 protocol,
    /// 6 content, 7 security).
    pub subject: u16,
    /// 0-999: the detail within the subject.
    pub detail: u16,
}

impl EnhancedCode {
    /// A code; nothing is checked beyond the types.
    pub const fn new(class: u8, subject: u16, detail: u16) -> EnhancedCode {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    /// Reads `class.subject.detail` at the start of `text`, followed by a space or the end.
    /// Returns the code and the rest of the text after the space.
    pub fn split_from(text: &str) -> Option<(EnhancedCode, &str)> {
        let (token, rest) = match text.find(' ') {
            Some(i) => (&text[..i], &text[i + 1..]),
            None => (text, ""),
        };
        let mut parts = token.split('.');
        let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let number = |s: &str, max_digits: usize| -> Option<u16> {
            (!s.is_empty() && s.len() <= max_digits && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let class = number(class, 1)?;
        if !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some((
            EnhancedCode::new(class as u8, number(subject, 3)?, number(detail, 3)?),
            rest,
        ))
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// One whole reply: its code and the text of each line (without code, separator and CRLF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: ReplyCode,
    lines: Vec<String>,
}

impl Reply {
    /// A reply with one or more lines of text. A reply always has at least one line: no lines
    /// makes one empty line. Text must not hold CR or LF; any that do are replaced by spaces
    /// so a reply can never smuggle a second one.
    pub fn new<S: Into<String>>(code: ReplyCode, lines: impl IntoIterator<Item = S>) -> Reply {
        let mut lines: Vec<String> = lines
            .into_iter()
            .map(|l| l.into().replace(['\r', '\n'], " "))
            .collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Reply { code, lines }
    }

    /// A one-line reply that starts with an enhanced status code: `250 2.1.0 Ok`.
    pub fn enhanced(code: ReplyCode, enhanced: EnhancedCode, text: &str) -> Reply {
        Reply::new(code, [format!("{enhanced} {text}")])
    }

    /// The code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// What the first digit says.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// True for 2xx.
    pub fn is_positive_completion(&self) -> bool {
        self.code.is_positive_completion()
    }

    /// The text of every line, in order.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The enhanced status code at the start of the first line, when there is one and its
    /// class agrees with the reply code's first digit (RFC 3463 §2).
    pub fn enhanced_code(&self) -> Option<EnhancedCode> {
        let (code, _) = EnhancedCode::split_from(&self.lines[0])?;
        (u16::from(code.class) == self.code.get() / 100).then_some(code)
    }

    /// The text of all lines joined by spaces, without the enhanced code of the first line.
    pub fn text(&self) -> String {
        let mut lines: Vec<&str> = self.lines.iter().map(String::as_str).collect();
        if let Some((_, rest)) = self
            .enhanced_code()
            .and_then(|_| EnhancedCode::split_from(lines[0]))
        {
            lines[0] = rest;
        }
        lines.join(" ")
    }

    /// Reads one reply from the start of `buf`.
    ///
    /// `Partial` until the last line (code and a space or CRLF) has arrived with its CRLF;
    /// then `Complete((used, reply))`. Errors say which line is wrong and why.
    pub fn parse(buf: &[u8]) -> Result<Status<(usize, Reply)>, ReplyError> {
        let mut at = 0;
        let mut code: Option<ReplyCode> = None;
        let mut lines = Vec::new();
        loop {
            let rest = &buf[at..];
            let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() >= MAX_REPLY_LINE {
                    return Err(ReplyError::LineTooLong {
                        offset: at,
                        len: rest.len(),
                    });
                }
                // Look at what we have so far: a broken code need not wait for the CRLF.
                check_code_prefix(rest.strip_suffix(b"\r").unwrap_or(rest), at)?;
                return Ok(Status::Partial);
            };
            if lf + 1 > MAX_REPLY_LINE {
                return Err(ReplyError::LineTooLong {
                    offset: at,
                    len: lf + 1,
                });
            }
            if lf == 0 || rest[lf - 1] != b'\r' {
                return Err(ReplyError::BareLf {
                    offset: at + lf,
                    line: rest[..lf].to_vec(),
                });
            }
            let line = &rest[..lf - 1];
            if let Some(cr) = line.iter().position(|&b| b == b'\r') {
                return Err(ReplyError::BareCr {
                    offset: at + cr,
                    line: line.to_vec(),
                });
            }
            let (this_code, last, text) = split_line(line, at)?;
            match code {
                None => code = Some(this_code),
                Some(first) if first != this_code => {
                    return Err(ReplyError::CodeChanged {
                        offset: at,
                        first,
                        then: this_code,
                    });
                }
                Some(_) => {}
            }
            lines.push(String::from_utf8_lossy(text).into_owned());
            at += lf + 1;
            if last {
                let code = code.unwrap_or(this_code);
                return Ok(Status::Complete((at, Reply { code, lines })));
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(ReplyError::TooManyLines { lines: lines.len() });
            }
        }
    }
}

/// Checks the first bytes of an unfinished line: three digits and then `-` or space.
fn check_code_prefix(rest: &[u8], offset: usize) -> Result<(), ReplyError> {
    let shown = &rest[..rest.len().min(3)];
    for (i, &b) in shown.iter().enumerate() {
        let ok = match i {
            0 => (b'2'..=b'5').contains(&b),
            1 => (b'0'..=b'5').contains(&b),
            _ => b.is_ascii_digit(),
        };
        if !ok {
            return Err(ReplyError::BadCode {
                offset,
                line: rest.to_vec(),
            });
        }
    }
    if rest.len() > 3 && !matches!(rest[3], b'-' | b' ' | b'\r') {
        return Err(ReplyError::BadSeparator {
            offset: offset + 3,
            line: rest.to_vec(),
        });
    }
    Ok(())
}

/// Splits `250-text` / `250 text` / `250` into the code, "is the last line", and the text.
fn split_line(line: &[u8], offset: usize) -> Result<(ReplyCode, bool, &[u8]), ReplyError> {
    check_code_prefix(line, offset)?;
    if line.len() < 3 {
        return Err(ReplyError::BadCode {
            offset,
            line: line.to_vec(),
        });
    }
    let number = line[..3]
        .iter()
        .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    let code = ReplyCode::new(number).ok_or_else(|| ReplyError::BadCode {
        offset,
        line: line.to_vec(),
    })?;
    match line.get(3) {
        None => Ok((code, true, &[])),
        Some(b' ') => Ok((code, true, &line[4..])),
        Some(b'-') => Ok((code, false, &line[4..])),
        Some(_) => Err(ReplyError::BadSeparator {
            offset: offset + 3,
            line: line.to_vec(),
        }),
    }
}

impl fmt::Display for Reply {
    /// Writes the reply as it goes on the wire: `250-first\r\n250 last\r\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.lines.len() - 1;
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            if line.is_empty() && i == last && self.code != ReplyCode::AUTH_CONTINUE {
                // `250` alone; but an empty AUTH challenge is `334 ` as RFC 4954 §4 writes it.
                write!(f, "{}\r\n", self.code)?;
            } else {
                write!(f, "{}{sep}{line}\r\n", self.code)?;
            }
        }
        Ok(())
    }
}

/// Why bytes from a server are not a reply. The server broke the protocol in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// A line does not start with a three-digit code `2..5`, `0..5`, `0..9`.
    BadCode { offset: usize, line: Vec<u8> },
    /// After the code comes neither `-`, a space, nor the end of the line.
    BadSeparator { offset: usize, line: Vec<u8> },
    /// A line of a multi-line reply carries a different code than the first.
    CodeChanged {
        offset: usize,
        first: ReplyCode,
        then: ReplyCode,
    },
    /// A line ends in LF without CR.
    BareLf { offset: usize, line: Vec<u8> },
    /// A CR inside a line that is not followed by LF.
    BareCr { offset: usize, line: Vec<u8> },
    /// A line longer than [`MAX_REPLY_LINE`].
    LineTooLong { offset: usize, len: usize },
    /// More than [`MAX_REPLY_LINES`] lines.
    TooManyLines { lines: usize },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |line: &[u8]| crate::trace::escape_inline(&line[..line.len().min(80)]);
        match self {
            ReplyError::BadCode { offset, line } => write!(
                f,
                "the server sent {:?} at offset {offset}, which does not start with a reply code of three digits 2-5, 0-5, 0-9 (RFC 5321 §4.2)",
                show(line)
            ),
            ReplyError::BadSeparator { offset, line } => write!(
                f,
                "the server sent {:?}: after the code at offset {offset} comes neither '-' (more lines) nor a space (last line) (RFC 5321 §4.2)",
                show(line)
            ),
            ReplyError::CodeChanged { offset, first, then } => write!(
                f,
                "the server's multi-line reply started with code {first} but the line at offset {offset} has {then}; every line must repeat the code (RFC 5321 §4.2.1)"
            ),
            ReplyError::BareLf { offset, line } => write!(
                f,
                "the server ended the line {:?} with a bare LF at offset {offset}; SMTP lines end in CRLF (RFC 5321 §2.3.8)",
                show(line)
            ),
            ReplyError::BareCr { offset, line } => write!(
                f,
                "the server sent a CR not followed by LF at offset {offset} in {:?} (RFC 5321 §2.3.8)",
                show(line)
            ),
            ReplyError::LineTooLong { offset, len } => write!(
                f,
                "the server's reply line at offset {offset} is {len} bytes with no end in sight; RFC 5321 §4.5.3.1.5 allows 512"
            ),
            ReplyError::TooManyLines { lines } => {
                write!(f, "the server's reply goes on for more than {lines} lines")
            }
        }
    }
}

impl std::error::Error for ReplyError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::feed_every_way_with;
    use pretty_assertions::assert_eq;

    /// The reply fed every way (an error seen early carries only the bytes seen so far, so only
    /// its kind must match the whole's), then followed by `trailing`.
    fn every_way(input: &[u8], trailing: &[u8]) -> Result<Status<(usize, Reply)>, ReplyError> {
        feed_every_way_with(
            input,
            &[trailing],
            |a, b| std::mem::discriminant(a) == std::mem::discriminant(b),
            Reply::parse,
        )
    }

    fn complete(input: &[u8]) -> (usize, Reply) {
        match every_way(input, b"250 trailing\r\n") {
            Ok(Status::Complete(done)) => done,
            other => panic!("expected a complete reply, got {other:?}"),
        }
    }

    fn failed(input: &[u8]) -> ReplyError {
        match every_way(input, b"\r\n250 ok\r\n") {
            Err(error) => error,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn one_line_reply() {
        let (used, reply) = complete(b"220 mail.example.org ESMTP ready\r\n");
        assert_eq!(used, 34);
        assert_eq!(reply.code(), ReplyCode::SERVICE_READY);
        assert_eq!(reply.lines(), ["mail.example.org ESMTP ready"]);
        assert_eq!(reply.severity(), Severity::PositiveCompletion);
    }

    #[test]
    fn multi_line_ehlo_reply() {
        const EHLO: &[u8] = b"\
            250-smtp.example.org at your service\r\n\
            250-SIZE 35882577\r\n\
            250-8BITMIME\r\n\
            250-STARTTLS\r\n\
            250-ENHANCEDSTATUSCODES\r\n\
            250 SMTPUTF8\r\n";
        let (used, reply) = complete(EHLO);
        assert_eq!(used, EHLO.len());
        assert_eq!(reply.lines().len(), 6);
        assert_eq!(reply.lines()[5], "SMTPUTF8");
        assert_eq!(reply.to_string().as_bytes(), EHLO);
    }

    #[test]
    fn code_alone_and_empty_continuation() {
        let (_, reply) = complete(b"250\r\n");
        assert_eq!(reply.lines(), [""]);
        assert_eq!(reply.to_string(), "250\r\n");
        let (_, reply) = complete(b"334 \r\n");
        assert_eq!(reply.code(), ReplyCode::AUTH_CONTINUE);
        assert_eq!(reply.lines(), [""]);
        assert_eq!(reply.to_string(), "334 \r\n");
        let (_, reply) = complete(b"250-\r\n250 last\r\n");
        assert_eq!(reply.lines(), ["", "last"]);
    }

    #[test]
    fn enhanced_codes_are_read_when_their_class_agrees() {
        let (_, reply) =
            complete(b"550 5.1.1 <nobody@example.org>: Recipient address rejected\r\n");
        assert_eq!(reply.enhanced_code(), Some(EnhancedCode::new(5, 1, 1)));
        assert_eq!(
            reply.text(),
            "<nobody@example.org>: Recipient address rejected"
        );
        assert_eq!(reply.severity(), Severity::PermanentNegative);
        let (_, reply) = complete(b"451 4.3.0 Try again later\r\n");
        assert_eq!(reply.enhanced_code(), Some(EnhancedCode::new(4, 3, 0)));
        assert_eq!(reply.severity(), Severity::TransientNegative);
        // A version number is not an enhanced code, nor is a code of another class.
        let (_, reply) = complete(b"220 2.0 ESMTP\r\n");
        assert_eq!(reply.enhanced_code(), None);
        let (_, reply) = complete(b"250 5.1.1 odd\r\n");
        assert_eq!(reply.enhanced_code(), None);
        assert_eq!(reply.text(), "5.1.1 odd");
    }

    #[test]
    fn writes_itself_with_crlf() {
        let reply = Reply::new(ReplyCode::OK, ["mx.test", "PIPELINING", "AUTH PLAIN LOGIN"]);
        assert_eq!(
            reply.to_string(),
            "250-mx.test\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n"
        );
        let reply = Reply::enhanced(
            ReplyCode::BAD_SEQUENCE,
            EnhancedCode::new(5, 5, 1),
            "Error: need MAIL command",
        );
        assert_eq!(reply.to_string(), "503 5.5.1 Error: need MAIL command\r\n");
        // Text can never carry a line break onto the wire.
        let reply = Reply::new(ReplyCode::OK, ["a\r\n250 forged"]);
        assert_eq!(reply.to_string(), "250 a  250 forged\r\n");
    }

    #[test]
    fn partial_until_the_last_line_is_whole() {
        assert_eq!(Reply::parse(b"250-a\r\n250-b\r\n"), Ok(Status::Partial));
        assert_eq!(Reply::parse(b"250 a\r"), Ok(Status::Partial));
        assert_eq!(Reply::parse(b""), Ok(Status::Partial));
    }

    #[test]
    fn broken_replies_are_named() {
        assert!(matches!(
            failed(b"hello\r\n"),
            ReplyError::BadCode { offset: 0, .. }
        ));
        assert!(matches!(failed(b"199 no\r\n"), ReplyError::BadCode { .. }));
        assert!(matches!(
            failed(b"2500 no\r\n"),
            ReplyError::BadSeparator { offset: 3, .. }
        ));
        assert!(matches!(
            failed(b"25\r\n"),
            ReplyError::BadSeparator { .. } | ReplyError::BadCode { .. }
        ));
        assert_eq!(
            failed(b"250-a\r\n251 b\r\n"),
            ReplyError::CodeChanged {
                offset: 7,
                first: ReplyCode::OK,
                then: ReplyCode::new(251).unwrap()
            }
        );
        assert_eq!(
            failed(b"220 hi\n"),
            ReplyError::BareLf {
                offset: 6,
                line: b"220 hi".to_vec()
            }
        );
        assert!(matches!(
            failed(b"220 a\rb\r\n"),
            ReplyError::BareCr { offset: 5, .. }
        ));
        let long = [b"220 ".as_slice(), &[b'x'; MAX_REPLY_LINE]].concat();
        assert!(matches!(
            Reply::parse(&long),
            Err(ReplyError::LineTooLong { .. })
        ));
        let message = failed(b"220 hi\n").to_string();
        assert!(
            message.contains("bare LF") && message.contains("RFC 5321 §2.3.8"),
            "{message}"
        );
    }

    #[test]
    fn too_many_lines() {
        let mut input = Vec::new();
        for _ in 0..MAX_REPLY_LINES + 1 {
            input.extend_from_slice(b"250-x\r\n");
        }
        assert!(matches!(
            Reply::parse(&input),
            Err(ReplyError::TooManyLines { .. })
        ));
    }

    #[test]
    fn non_utf8_text_is_kept_lossily() {
        let (_, reply) = complete(b"220 caf\xe9\r\n");
        assert_eq!(reply.lines(), ["caf\u{fffd}"]);
    }
}
