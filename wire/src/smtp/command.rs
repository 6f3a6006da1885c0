//! SMTP commands (RFC 5321 §4.1.1, with STARTTLS from RFC 3207 and AUTH from RFC 4954).
//!
//! ```text
//! ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
//! helo = "HELO" SP Domain CRLF
//! mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
//! rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
//!        [SP Rcpt-parameters] CRLF
//! data = "DATA" CRLF           rset = "RSET" CRLF        quit = "QUIT" CRLF
//! vrfy = "VRFY" SP String CRLF expn = "EXPN" SP String CRLF
//! help = "HELP" [ SP String ] CRLF                       noop = "NOOP" [ SP String ] CRLF
//! starttls = "STARTTLS" CRLF   auth = "AUTH" SP mechanism [SP initial-response] CRLF
//! ```
//!
//! A [`Command`] writes itself with its CRLF (the client side); [`CommandLine::parse`] reads
//! one from a server's input buffer. Verbs are case-insensitive (§2.4). Strict by default, with
//! named leniencies for what the classic lab skeleton sends (`MAIL FROM: <a>` with a space,
//! a trailing space before CRLF): they are accepted and reported as [`Leniency`] values, so a
//! server can explain them. Lines are limited to 512 octets (§4.5.3.1.4) plus room for AUTH
//! initial responses, and must end in CRLF.

use std::fmt;

use crate::Status;

/// The longest command line accepted, CRLF included. RFC 5321 §4.5.3.1.4 says 512; AUTH
/// initial responses and ESMTP parameters may make lines longer (RFC 4954 §4), so this
/// leaves room for them.
pub const MAX_COMMAND_LINE: usize = 2048;

/// A mailbox address as it appears between angle brackets in MAIL and RCPT (RFC 5321 §4.1.2),
/// without the brackets. The empty path is the null reverse-path `<>` of bounces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path(String);

impl Path {
    /// The null reverse-path `<>`.
    pub fn null() -> Path {
        Path(String::new())
    }

    /// Checks an address given by a person or a peer: `local@domain` (or `Postmaster`), no
    /// spaces outside a quoted local part, no control characters, no angle brackets. A source
    /// route `@a,@b:user@c` is dropped, as §4.1.2 says a server should.
    pub fn new(address: &str) -> Result<Path, PathError> {
        let address = match address.strip_prefix('@') {
            Some(routed) => match routed.find(':') {
                Some(colon) => &routed[colon + 1..],
                None => return Err(PathError::BadRoute),
            },
            None => address,
        };
        if address.is_empty() {
            return Err(PathError::Empty);
        }
        let mut quoted = false;
        let mut escaped = false;
        let mut at = None;
        for (i, c) in address.char_indices() {
            if c.is_control() {
                return Err(PathError::Control { at: i });
            }
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                '\\' if quoted => escaped = true,
                '"' if at.is_none() => quoted = !quoted,
                _ if quoted => {}
                '@' if at.is_none() => at = Some(i),
                '[' | ']' | ':' if at.is_some() => {}
                ' ' | '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '\\' | '[' | ']' | '@' => {
                    return Err(PathError::Forbidden {
                        character: c,
                        at: i,
                    })
                }
                _ => {}
            }
        }
        if quoted {
            return Err(PathError::UnclosedQuote);
        }
        match at {
            Some(0) => Err(PathError::NoLocalPart),
            Some(i) if i + 1 == address.len() => Err(PathError::NoDomain),
            Some(_) => Ok(Path(address.to_owned())),
            None if address.eq_ignore_ascii_case("postmaster") => Ok(Path(address.to_owned())),
            None => Err(PathError::NoAt),
        }
    }

    /// The address, empty for the null path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `<>`.
    pub fn is_null(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the address needs SMTPUTF8 (RFC 6531): it has non-ASCII characters.
    pub fn needs_smtputf8(&self) -> bool {
        !self.0.is_ascii()
    }
}

impl fmt::Display for Path {
    /// `<alice@example.org>`, or `<>` for the null path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

/// Why an address is not a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    Empty,
    NoAt,
    NoLocalPart,
    NoDomain,
    UnclosedQuote,
    BadRoute,
    Control { at: usize },
    Forbidden { character: char, at: usize },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Empty => f.write_str("the address is empty"),
            PathError::NoAt => f.write_str(
                "the address has no '@' (a mailbox is local-part@domain, RFC 5321 section 4.1.2)",
            ),
            PathError::NoLocalPart => f.write_str("the address has nothing before '@'"),
            PathError::NoDomain => f.write_str("the address has no domain after '@'"),
            PathError::UnclosedQuote => {
                f.write_str("the address opens a quoted local part but does not close it")
            }
            PathError::BadRoute => f.write_str(
                "the address starts with '@' but is not a source route like @relay:user@domain",
            ),
            PathError::Control { at } => {
                write!(f, "the address has a control character at position {at}")
            }
            PathError::Forbidden { character, at } => {
                write!(f, "the address has {character:?} at position {at}, which a mailbox cannot hold unquoted")
            }
        }
    }
}

impl std::error::Error for PathError {}

/// An ESMTP parameter on MAIL or RCPT: `SIZE=1024`, `BODY=8BITMIME`, `SMTPUTF8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Parameter {
    /// The keyword, as sent (compare with `eq_ignore_ascii_case`).
    pub keyword: String,
    /// The value after `=`, if any.
    pub value: Option<String>,
}

impl Parameter {
    /// `KEYWORD=value`.
    pub fn new(keyword: &str, value: Option<&str>) -> Parameter {
        Parameter {
            keyword: keyword.to_owned(),
            value: value.map(str::to_owned),
        }
    }

    fn parse(text: &str) -> Option<Parameter> {
        let (keyword, value) = match text.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (text, None),
        };
        let keyword_ok = keyword
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && keyword
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let value_ok = value
            .is_none_or(|v| !v.is_empty() && v.bytes().all(|b| b > b' ' && b != b'=' && b != 0x7f));
        (keyword_ok && value_ok).then(|| Parameter::new(keyword, value))
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}={value}", self.keyword),
            None => f.write_str(&self.keyword),
        }
    }
}

/// One command. `Display` writes it as it goes on the wire, CRLF included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO domain`: hello, and tell me your extensions.
    Ehlo(String),
    /// `HELO domain`: the original hello, no extensions.
    Helo(String),
    /// `MAIL FROM:<path> params`: start a mail transaction.
    Mail {
        from: Path,
        parameters: Vec<Parameter>,
    },
    /// `RCPT TO:<path> params`: one recipient.
    Rcpt {
        to: Path,
        parameters: Vec<Parameter>,
    },
    /// `DATA`: the message follows after a 354 reply.
    Data,
    /// `RSET`: forget the transaction.
    Rset,
    /// `VRFY string`.
    Vrfy(String),
    /// `EXPN string`.
    Expn(String),
    /// `HELP [string]`.
    Help(Option<String>),
    /// `NOOP [string]`.
    Noop(Option<String>),
    /// `QUIT`.
    Quit,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954). The initial response is base64, or `=`
    /// for an empty one.
    Auth {
        mechanism: String,
        initial_response: Option<String>,
    },
}

impl Command {
    /// The verb, upper case, as RFC 5321 spells it.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Rset => "RSET",
            Command::Vrfy(_) => "VRFY",
            Command::Expn(_) => "EXPN",
            Command::Help(_) => "HELP",
            Command::Noop(_) => "NOOP",
            Command::Quit => "QUIT",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
        }
    }

    /// Reads one command line from the start of `buf` (see [`CommandLine::parse`]), dropping
    /// the list of leniencies.
    pub fn parse(buf: &[u8]) -> Result<Status<(usize, Command)>, CommandError> {
        Ok(CommandLine::parse(buf)?.map(|(used, line)| (used, line.command)))
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = |f: &mut fmt::Formatter<'_>, parameters: &[Parameter]| -> fmt::Result {
            for p in parameters {
                write!(f, " {p}")?;
            }
            Ok(())
        };
        match self {
            Command::Ehlo(domain) => write!(f, "EHLO {domain}\r\n"),
            Command::Helo(domain) => write!(f, "HELO {domain}\r\n"),
            Command::Mail { from, parameters } => {
                write!(f, "MAIL FROM:{from}")?;
                params(f, parameters)?;
                f.write_str("\r\n")
            }
            Command::Rcpt { to, parameters } => {
                write!(f, "RCPT TO:{to}")?;
                params(f, parameters)?;
                f.write_str("\r\n")
            }
            Command::Data => f.write_str("DATA\r\n"),
            Command::Rset => f.write_str("RSET\r\n"),
            Command::Vrfy(s) => write!(f, "VRFY {s}\r\n"),
            Command::Expn(s) => write!(f, "EXPN {s}\r\n"),
            Command::Help(None) => f.write_str("HELP\r\n"),
            Command::Help(Some(s)) => write!(f, "HELP {s}\r\n"),
            Command::Noop(None) => f.write_str("NOOP\r\n"),
            Command::Noop(Some(s)) => write!(f, "NOOP {s}\r\n"),
            Command::Quit => f.write_str("QUIT\r\n"),
            Command::StartTls => f.write_str("STARTTLS\r\n"),
            Command::Auth {
                mechanism,
                initial_response: None,
            } => write!(f, "AUTH {mechanism}\r\n"),
            Command::Auth {
                mechanism,
                initial_response: Some(r),
            } => write!(f, "AUTH {mechanism} {r}\r\n"),
        }
    }
}

/// Something a peer did that RFC 5321 does not allow but that this parser accepted, so a
/// teaching server can point it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leniency {
    /// `MAIL FROM: <a>`: a space between the colon and the path (the lab skeleton does this).
    SpaceAfterColon,
    /// `MAIL FROM:a@b`: the path without its angle brackets.
    MissingAngleBrackets,
    /// A space or tab before the CRLF.
    TrailingWhitespace,
}

impl fmt::Display for Leniency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Leniency::SpaceAfterColon => {
                "a space after \"FROM:\"/\"TO:\"; RFC 5321 section 4.1.1.2 writes \"MAIL FROM:<a@b>\" with no space"
            }
            Leniency::MissingAngleBrackets => "the address lacks its angle brackets; RFC 5321 section 4.1.2 requires <a@b>",
            Leniency::TrailingWhitespace => "whitespace before CRLF; RFC 5321 section 4.1.1 has none",
        })
    }
}

/// A command as read by a server, with the leniencies it needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    pub command: Command,
    pub leniencies: Vec<Leniency>,
}

/// Finds the end of the next line: `Ok(Some(n))` when `buf[..n]` is a line with its CRLF,
/// `Ok(None)` when no CRLF has arrived yet. A bare LF, or no CRLF within `limit` bytes, is an
/// error that says how many bytes to skip.
pub fn frame_line(buf: &[u8], limit: usize) -> Result<Option<usize>, CommandError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(lf) if lf > 0 && buf[lf - 1] == b'\r' => {
            if lf + 1 > limit {
                Err(CommandError::LineTooLong {
                    len: lf + 1,
                    skip: lf + 1,
                })
            } else {
                Ok(Some(lf + 1))
            }
        }
        Some(lf) => Err(CommandError::BareLf {
            offset: lf,
            line: buf[..lf].to_vec(),
        }),
        None if buf.len() >= limit => Err(CommandError::LineTooLong {
            len: buf.len(),
            skip: 0,
        }),
        None => Ok(None),
    }
}

impl CommandLine {
    /// Reads one command line from the start of `buf`: `Partial` until its CRLF arrives.
    pub fn parse(buf: &[u8]) -> Result<Status<(usize, CommandLine)>, CommandError> {
        match frame_line(buf, MAX_COMMAND_LINE)? {
            None => Ok(Status::Partial),
            Some(used) => Ok(Status::Complete((
                used,
                CommandLine::from_line(&buf[..used - 2])?,
            ))),
        }
    }

    /// Reads a command from one line without its CRLF.
    pub fn from_line(line: &[u8]) -> Result<CommandLine, CommandError> {
        if let Some(at) = line.iter().position(|&b| b == b'\r' || b == 0) {
            return Err(CommandError::NotText {
                offset: at,
                line: line.to_vec(),
            });
        }
        let text = std::str::from_utf8(line).map_err(|e| CommandError::NotText {
            offset: e.valid_up_to(),
            line: line.to_vec(),
        })?;
        let mut leniencies = Vec::new();
        let trimmed = text.trim_end_matches([' ', '\t']);
        if trimmed.len() != text.len() {
            leniencies.push(Leniency::TrailingWhitespace);
        }
        let (verb, rest) = match trimmed.find(' ') {
            Some(i) => (&trimmed[..i], Some(&trimmed[i + 1..])),
            None => (trimmed, None),
        };
        let syntax = |verb: &'static str, problem: SyntaxProblem| CommandError::Syntax {
            verb,
            problem,
            line: line.to_vec(),
        };
        let upper = verb.to_ascii_uppercase();
        let no_argument = |verb: &'static str, command: Command| match rest {
            None => Ok(command),
            Some(_) => Err(syntax(verb, SyntaxProblem::UnexpectedArgument)),
        };
        let required = |verb: &'static str| match rest {
            Some(arg) if !arg.trim().is_empty() => Ok(arg.trim().to_owned()),
            _ => Err(syntax(verb, SyntaxProblem::MissingArgument)),
        };
        let command = match upper.as_str() {
            "EHLO" | "HELO" => {
                let domain = required(if upper == "EHLO" { "EHLO" } else { "HELO" })?;
                if domain.contains(' ') {
                    let verb = if upper == "EHLO" { "EHLO" } else { "HELO" };
                    return Err(syntax(verb, SyntaxProblem::DomainWithSpace));
                }
                if upper == "EHLO" {
                    Command::Ehlo(domain)
                } else {
                    Command::Helo(domain)
                }
            }
            "MAIL" => {
                let (from, parameters) =
                    path_and_parameters("MAIL", "FROM:", rest, line, &mut leniencies, true)?;
                Command::Mail { from, parameters }
            }
            "RCPT" => {
                let (to, parameters) =
                    path_and_parameters("RCPT", "TO:", rest, line, &mut leniencies, false)?;
                Command::Rcpt { to, parameters }
            }
            "DATA" => no_argument("DATA", Command::Data)?,
            "RSET" => no_argument("RSET", Command::Rset)?,
            "QUIT" => no_argument("QUIT", Command::Quit)?,
            "STARTTLS" => no_argument("STARTTLS", Command::StartTls)?,
            "VRFY" => Command::Vrfy(required("VRFY")?),
            "EXPN" => Command::Expn(required("EXPN")?),
            "HELP" => Command::Help(rest.map(str::to_owned)),
            "NOOP" => Command::Noop(rest.map(str::to_owned)),
            "AUTH" => {
                let arg = required("AUTH")?;
                let mut words = arg.split(' ');
                let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
                let initial_response = words.next().map(str::to_owned);
                if words.next().is_some() {
                    return Err(syntax("AUTH", SyntaxProblem::UnexpectedArgument));
                }
                Command::Auth {
                    mechanism,
                    initial_response,
                }
            }
            _ => {
                return Err(CommandError::UnknownVerb {
                    verb: verb.as_bytes().to_vec(),
                })
            }
        };
        Ok(CommandLine {
            command,
            leniencies,
        })
    }
}

/// Reads `FROM:<path> params` (or `TO:`), allowing the lab's `FROM: <path>`.
fn path_and_parameters(
    verb: &'static str,
    keyword: &str,
    rest: Option<&str>,
    line: &[u8],
    leniencies: &mut Vec<Leniency>,
    null_allowed: bool,
) -> Result<(Path, Vec<Parameter>), CommandError> {
    let syntax = |problem: SyntaxProblem| CommandError::Syntax {
        verb,
        problem,
        line: line.to_vec(),
    };
    let rest = rest.unwrap_or_default();
    if rest.len() < keyword.len() || !rest[..keyword.len()].eq_ignore_ascii_case(keyword) {
        return Err(syntax(SyntaxProblem::MissingKeyword(if verb == "MAIL" {
            "FROM:"
        } else {
            "TO:"
        })));
    }
    let mut after = &rest[keyword.len()..];
    if after.starts_with(' ') {
        leniencies.push(Leniency::SpaceAfterColon);
        after = after.trim_start_matches(' ');
    }
    let (address, params) = if let Some(inner) = after.strip_prefix('<') {
        let close = inner
            .find('>')
            .ok_or_else(|| syntax(SyntaxProblem::UnclosedPath))?;
        (&inner[..close], &inner[close + 1..])
    } else {
        leniencies.push(Leniency::MissingAngleBrackets);
        match after.find(' ') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        }
    };
    let path = if address.is_empty() {
        if !null_allowed {
            return Err(syntax(SyntaxProblem::NullRecipient));
        }
        Path::null()
    } else {
        Path::new(address).map_err(|e| syntax(SyntaxProblem::BadAddress(e)))?
    };
    let mut parameters = Vec::new();
    if !params.is_empty() {
        let Some(list) = params.strip_prefix(' ') else {
            return Err(syntax(SyntaxProblem::JunkAfterPath));
        };
        for word in list.split(' ').filter(|w| !w.is_empty()) {
            parameters.push(
                Parameter::parse(word)
                    .ok_or_else(|| syntax(SyntaxProblem::BadParameter(word.to_owned())))?,
            );
        }
    }
    Ok((path, parameters))
}

/// What is wrong with the arguments of a known command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxProblem {
    MissingArgument,
    UnexpectedArgument,
    DomainWithSpace,
    MissingKeyword(&'static str),
    UnclosedPath,
    NullRecipient,
    JunkAfterPath,
    BadAddress(PathError),
    BadParameter(String),
}

impl fmt::Display for SyntaxProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxProblem::MissingArgument => f.write_str("an argument is required"),
            SyntaxProblem::UnexpectedArgument => f.write_str("this command takes no argument"),
            SyntaxProblem::DomainWithSpace => f.write_str("the domain may not contain spaces"),
            SyntaxProblem::MissingKeyword(k) => write!(f, "expected {k} after the verb"),
            SyntaxProblem::UnclosedPath => f.write_str("'<' without a closing '>'"),
            SyntaxProblem::NullRecipient => f.write_str("RCPT TO:<> names no recipient"),
            SyntaxProblem::JunkAfterPath => {
                f.write_str("parameters must be separated from the path by a space")
            }
            SyntaxProblem::BadAddress(e) => e.fmt(f),
            SyntaxProblem::BadParameter(p) => {
                write!(f, "{p:?} is not a parameter like KEYWORD or KEYWORD=value")
            }
        }
    }
}

/// Why a line from a client is not a command. The client broke the protocol in every case;
/// [`CommandError::reply_code`] is the reply a server gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The verb is not one this server knows.
    UnknownVerb { verb: Vec<u8> },
    /// A known verb with bad arguments.
    Syntax {
        verb: &'static str,
        problem: SyntaxProblem,
        line: Vec<u8>,
    },
    /// The line ends in LF without CR; `offset` is where the LF is.
    BareLf { offset: usize, line: Vec<u8> },
    /// The line holds a CR, a NUL or bytes that are not UTF-8.
    NotText { offset: usize, line: Vec<u8> },
    /// No CRLF within [`MAX_COMMAND_LINE`] bytes. `skip` bytes can be dropped now (0: drop
    /// until the next CRLF arrives).
    LineTooLong { len: usize, skip: usize },
}

impl CommandError {
    /// 500 for lines that are not commands, 501 for bad arguments (RFC 5321 §4.2.2).
    pub fn reply_code(&self) -> super::ReplyCode {
        match self {
            CommandError::Syntax { .. } => super::ReplyCode::PARAMETER_SYNTAX_ERROR,
            _ => super::ReplyCode::SYNTAX_ERROR,
        }
    }

    /// The enhanced code that goes with [`CommandError::reply_code`] (RFC 3463).
    pub fn enhanced_code(&self) -> super::EnhancedCode {
        match self {
            CommandError::Syntax {
                problem: SyntaxProblem::BadAddress(_),
                verb: "MAIL",
                ..
            } => super::EnhancedCode::new(5, 1, 7),
            CommandError::Syntax {
                problem: SyntaxProblem::BadAddress(_),
                ..
            } => super::EnhancedCode::new(5, 1, 3),
            CommandError::Syntax { .. } => super::EnhancedCode::new(5, 5, 4),
            _ => super::EnhancedCode::new(5, 5, 2),
        }
    }

    /// The reply a server sends for this error.
    pub fn reply(&self) -> super::Reply {
        super::Reply::enhanced(self.reply_code(), self.enhanced_code(), &self.to_string())
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |b: &[u8]| crate::trace::escape_inline(&b[..b.len().min(60)]);
        match self {
            CommandError::UnknownVerb { verb } => write!(
                f,
                "Syntax error: command \"{}\" not recognized (RFC 5321 section 4.1 lists EHLO HELO MAIL RCPT DATA RSET VRFY EXPN HELP NOOP QUIT)",
                show(verb)
            ),
            CommandError::Syntax { verb, problem, .. } => {
                write!(f, "Syntax error in {verb}: {problem} (RFC 5321 section 4.1.1)")
            }
            CommandError::BareLf { offset, line } => write!(
                f,
                "Syntax error: \"{}\" ends in a bare LF at offset {offset}; SMTP lines end in CRLF, \\r\\n (RFC 5321 section 2.3.8)",
                show(line)
            ),
            CommandError::NotText { offset, line } => write!(
                f,
                "Syntax error: \"{}\" has a CR, NUL or non-UTF-8 byte at offset {offset} (RFC 5321 section 2.3.8)",
                show(line)
            ),
            CommandError::LineTooLong { .. } => write!(
                f,
                "Line too long: no CRLF within {MAX_COMMAND_LINE} bytes; command lines are at most 512 octets (RFC 5321 section 4.5.3.1.4)"
            ),
        }
    }
}

impl std::error::Error for CommandError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::feed_every_way_with;
    use pretty_assertions::assert_eq;

    /// The command on one line, fed every way (an error seen early carries only the bytes seen so
    /// far, so only its kind must match the whole's), then followed by another command.
    fn parse_every_way(input: &[u8]) -> Result<Status<(usize, CommandLine)>, CommandError> {
        feed_every_way_with(
            input,
            &[b"NOOP\r\n"],
            |a, b| std::mem::discriminant(a) == std::mem::discriminant(b),
            CommandLine::parse,
        )
    }

    fn parse_ok(input: &[u8]) -> CommandLine {
        match parse_every_way(input) {
            Ok(Status::Complete((used, line))) => {
                assert_eq!(used, input.len());
                line
            }
            other => panic!("expected a command from {input:?}, got {other:?}"),
        }
    }

    fn parse_err(input: &[u8]) -> CommandError {
        match parse_every_way(input) {
            Err(e) => e,
            other => panic!("expected an error from {input:?}, got {other:?}"),
        }
    }

    fn mail(from: &str, params: &[(&str, Option<&str>)]) -> Command {
        Command::Mail {
            from: if from.is_empty() {
                Path::null()
            } else {
                Path::new(from).unwrap()
            },
            parameters: params.iter().map(|(k, v)| Parameter::new(k, *v)).collect(),
        }
    }

    #[test]
    fn every_command_writes_and_reads_back() {
        let commands = [
            Command::Ehlo("client.example".into()),
            Command::Helo("Alice".into()),
            mail(
                "alice@example.org",
                &[("SIZE", Some("1234")), ("BODY", Some("8BITMIME"))],
            ),
            mail("", &[]),
            Command::Rcpt {
                to: Path::new("bob@example.org").unwrap(),
                parameters: vec![],
            },
            Command::Rcpt {
                to: Path::new("Postmaster").unwrap(),
                parameters: vec![],
            },
            Command::Data,
            Command::Rset,
            Command::Vrfy("bob".into()),
            Command::Expn("staff".into()),
            Command::Help(None),
            Command::Help(Some("MAIL".into())),
            Command::Noop(None),
            Command::Quit,
            Command::StartTls,
            Command::Auth {
                mechanism: "PLAIN".into(),
                initial_response: Some("AGFsaWNlAHNlY3JldA==".into()),
            },
            Command::Auth {
                mechanism: "LOGIN".into(),
                initial_response: None,
            },
        ];
        for command in commands {
            let wire = command.to_string();
            assert!(wire.ends_with("\r\n"), "{wire:?}");
            let line = parse_ok(wire.as_bytes());
            assert_eq!(line.command, command, "{wire:?}");
            assert!(line.leniencies.is_empty());
        }
    }

    #[test]
    fn wire_forms() {
        assert_eq!(
            mail("alice@example.org", &[("SIZE", Some("42"))]).to_string(),
            "MAIL FROM:<alice@example.org> SIZE=42\r\n"
        );
        assert_eq!(mail("", &[]).to_string(), "MAIL FROM:<>\r\n");
    }

    #[test]
    fn verbs_are_case_insensitive() {
        // smtplib sends lower-case verbs.
        assert_eq!(
            parse_ok(b"ehlo [127.0.0.1]\r\n").command,
            Command::Ehlo("[127.0.0.1]".into())
        );
        assert_eq!(
            parse_ok(b"mail FROM:<a@b.c> size=10\r\n").command,
            mail("a@b.c", &[("size", Some("10"))])
        );
        assert_eq!(parse_ok(b"rcpt to:<d@e.f>\r\n").command.verb(), "RCPT");
        assert_eq!(parse_ok(b"StartTLS\r\n").command, Command::StartTls);
        assert_eq!(
            parse_ok(b"auth login dXNlcg==\r\n").command,
            Command::Auth {
                mechanism: "LOGIN".into(),
                initial_response: Some("dXNlcg==".into())
            }
        );
    }

    #[test]
    fn the_lab_skeleton_is_accepted_and_its_leniencies_named() {
        let line = parse_ok(b"MAIL FROM: <alice@crepes.fr>\r\n");
        assert_eq!(line.command, mail("alice@crepes.fr", &[]));
        assert_eq!(line.leniencies, [Leniency::SpaceAfterColon]);
        let line = parse_ok(b"RCPT TO: <bob@hamburger.edu> \r\n");
        assert_eq!(
            line.leniencies,
            [Leniency::TrailingWhitespace, Leniency::SpaceAfterColon]
        );
        let line = parse_ok(b"MAIL FROM:alice@crepes.fr\r\n");
        assert_eq!(line.leniencies, [Leniency::MissingAngleBrackets]);
        assert_eq!(line.command, mail("alice@crepes.fr", &[]));
    }

    #[test]
    fn source_routes_are_dropped() {
        assert_eq!(
            parse_ok(b"RCPT TO:<@relay.example,@other.example:bob@example.org>\r\n").command,
            Command::Rcpt {
                to: Path::new("bob@example.org").unwrap(),
                parameters: vec![]
            }
        );
    }

    #[test]
    fn errors_give_500_or_501_and_say_why() {
        let e = parse_err(b"HELLO there\r\n");
        assert_eq!(
            e,
            CommandError::UnknownVerb {
                verb: b"HELLO".to_vec()
            }
        );
        assert_eq!(e.reply_code().get(), 500);
        let e = parse_err(b"MAIL <a@b.c>\r\n");
        assert_eq!(e.reply_code().get(), 501);
        assert!(e.to_string().contains("expected FROM:"), "{e}");
        assert!(matches!(
            parse_err(b"MAIL FROM:<a@b.c\r\n"),
            CommandError::Syntax {
                problem: SyntaxProblem::UnclosedPath,
                ..
            }
        ));
        assert!(matches!(
            parse_err(b"RCPT TO:<>\r\n"),
            CommandError::Syntax {
                problem: SyntaxProblem::NullRecipient,
                ..
            }
        ));
        assert!(matches!(
            parse_err(b"RCPT TO:<bob>\r\n"),
            CommandError::Syntax {
                problem: SyntaxProblem::BadAddress(PathError::NoAt),
                ..
            }
        ));
        assert!(matches!(
            parse_err(b"MAIL FROM:<a@b.c>SIZE=1\r\n"),
            CommandError::Syntax {
                problem: SyntaxProblem::JunkAfterPath,
                ..
            }
        ));
        assert!(matches!(
            parse_err(b"MAIL FROM:<a@b.c> =x\r\n"),
            CommandError::Syntax {
                problem: SyntaxProblem::BadParameter(_),
                ..
            }
        ));
        assert!(matches!(
            parse_err(b"DATA now\r\n"),
            CommandError::Syntax {
                problem: SyntaxProblem::UnexpectedArgument,
                ..
            }
        ));
        assert!(matches!(
            parse_err(b"EHLO\r\n"),
            CommandError::Syntax {
                problem: SyntaxProblem::MissingArgument,
                ..
            }
        ));
        assert!(matches!(
            parse_err(b"HELO a b\r\n"),
            CommandError::Syntax {
                problem: SyntaxProblem::DomainWithSpace,
                ..
            }
        ));
        assert_eq!(
            parse_err(b"QUIT\n"),
            CommandError::BareLf {
                offset: 4,
                line: b"QUIT".to_vec()
            }
        );
        assert!(parse_err(b"QUIT\n").to_string().contains("CRLF"));
        assert!(matches!(
            parse_err(b"NOOP \xff\r\n"),
            CommandError::NotText { offset: 5, .. }
        ));
        assert!(matches!(
            parse_err(b"NOOP a\rb\r\n"),
            CommandError::NotText { offset: 6, .. }
        ));
    }

    #[test]
    fn long_lines_are_refused_with_how_much_to_skip() {
        let mut long = b"NOOP ".to_vec();
        long.resize(MAX_COMMAND_LINE + 10, b'x');
        assert_eq!(
            CommandLine::parse(&long),
            Err(CommandError::LineTooLong {
                len: long.len(),
                skip: 0
            })
        );
        long.extend_from_slice(b"\r\n");
        assert_eq!(
            CommandLine::parse(&long),
            Err(CommandError::LineTooLong {
                len: long.len(),
                skip: long.len()
            })
        );
    }

    #[test]
    fn addresses() {
        assert!(Path::new("\"john doe\"@example.org").is_ok());
        assert!(Path::new("jöhn@exämple.org").unwrap().needs_smtputf8());
        assert_eq!(
            Path::new("john doe@example.org"),
            Err(PathError::Forbidden {
                character: ' ',
                at: 4
            })
        );
        assert_eq!(
            Path::new("a@b\r\nRCPT TO:<c@d>"),
            Err(PathError::Control { at: 3 })
        );
        assert_eq!(Path::new("@b.c"), Err(PathError::BadRoute));
        assert_eq!(Path::new("a@"), Err(PathError::NoDomain));
        assert_eq!(Path::new("\"a@b"), Err(PathError::UnclosedQuote));
    }
}
