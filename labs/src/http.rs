//! HTTP as labs speaks it to a learner's server: requests built byte by byte, responses read
//! strictly with `wire::http1`, and expectations that explain themselves.

use crate::check::Failure;
use crate::exchange::{Peer, ReadEnd};
use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

/// The Host labs sends.
pub const HOST: &str = "127.0.0.1";

/// A response as labs read it.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The head's bytes exactly as received.
    pub head: Vec<u8>,
    /// Header fields in order, names as sent.
    pub headers: Headers,
    /// The body after removing the transfer coding.
    pub body: Vec<u8>,
    /// How many chunks the body came in (0 when not chunked).
    pub chunks: usize,
}

impl Response {
    /// The first value of a field, by case-insensitive name.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }
}

/// A request with a Host field, the given extra fields and body, CRLF everywhere.
pub fn request(method: &str, target: &str, fields: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {HOST}\r\n");
    for (name, value) in fields {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty()
        && !fields
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `GET target` with only a Host field.
pub fn get(target: &str) -> Vec<u8> {
    request("GET", target, &[], b"")
}

/// A send that failed: the learner's program closed or reset the connection.
pub fn send_failed(e: std::io::Error) -> Failure {
    use std::io::ErrorKind::{BrokenPipe, ConnectionReset};
    // Which of the two a write into a closed connection meets is a race (whether the peer's
    // reset has arrived yet): both say the same thing, so the report says it once.
    let problem = match e.kind() {
        BrokenPipe | ConnectionReset => "sending the request failed: your program had closed the connection before it read the whole request".to_string(),
        _ => format!("sending the request failed: {e} (your program closed the connection before reading it)"),
    };
    Failure::new("A server reads the request it is sent", problem)
        .hint("read the request before answering and closing")
}

/// A read that ended without a complete response.
pub fn read_failed(end: &ReadEnd, peer: &Peer) -> Failure {
    let got = peer.unconsumed().to_vec();
    let (problem, hint) = match end {
        ReadEnd::Closed if got.is_empty() => (
            "your server closed the connection without sending anything".to_string(),
            "write the response before closing; check your program's output for an error",
        ),
        ReadEnd::Closed => (
            "your server closed the connection before the response was complete".to_string(),
            "send the whole head, ending in an empty line (\\r\\n\\r\\n), and then exactly Content-Length bytes of body",
        ),
        ReadEnd::TimedOut(_) if got.is_empty() => (
            format!("{end}: your server sent nothing"),
            "is your server stuck reading? It must answer once it has seen \\r\\n\\r\\n",
        ),
        ReadEnd::TimedOut(_) => (
            format!("{end}: the response stopped part-way"),
            "a response head ends with an empty line (\\r\\n\\r\\n); a body needs Content-Length, chunked coding, or a close",
        ),
        ReadEnd::TooLarge(_) => (end.to_string(), "a response must end: check your loop that writes the body"),
        ReadEnd::Failed(_) => (end.to_string(), "the connection broke; check your program's output for an error"),
    };
    Failure::new(
        "A server answers each request with a complete HTTP response (RFC 9112 §2.1)",
        problem,
    )
    .hint(hint)
}

/// Requires a status code; `line` is the status line a correct server would send. The line
/// must also have its second space (see [`expect_status_line_spaces`]).
pub fn expect_status(response: &Response, status: u16, line: &str) -> Result<(), Failure> {
    if response.status == status {
        return expect_status_line_spaces(response, line);
    }
    let got_line_end = response
        .head
        .iter()
        .position(|&b| b == b'\n')
        .map_or(response.head.len(), |p| p + 1);
    let got_line = &response.head[..got_line_end];
    // Compare with the learner's own version, so that the caret sits under the status code
    // (what differs) and not under `HTTP/1.0` when the server speaks 1.0.
    let mut expected = line.as_bytes().to_vec();
    if got_line.len() > 9 && got_line.starts_with(b"HTTP/") && got_line[8] == b' ' {
        expected[..8].copy_from_slice(&got_line[..8]);
    }
    Err(Failure::new(
        format!("This request is answered with status {status}"),
        format!("the status was {}", response.status),
    )
    .bytes(expected, got_line.to_vec()))
}

/// Requires the space after the status code. RFC 9112 §4: `status-line = HTTP-version SP
/// status-code SP [ reason-phrase ]`, and a server MUST send that second space even when the
/// reason phrase is empty. `wire` reads `HTTP/1.1 200\r\n` as 200, as most clients do, so
/// labs checks the bytes of the line itself.
pub fn expect_status_line_spaces(response: &Response, line: &str) -> Result<(), Failure> {
    let head = &response.head;
    let Some(version_end) = head.iter().position(|&b| b == b' ') else {
        return Ok(());
    };
    let after_code = version_end + 4;
    if !matches!(head.get(after_code), Some(b'\r' | b'\n')) {
        return Ok(());
    }
    let line_end = head
        .iter()
        .position(|&b| b == b'\n')
        .map_or(head.len(), |p| p + 1);
    let mut expected = line.as_bytes().to_vec();
    if version_end == 8 && expected.len() > 8 {
        expected[..8].copy_from_slice(&head[..8]);
    }
    let hint = format!(
        "send the reason phrase: {}; a line with no reason phrase still has the space, {} \\r\\n",
        wire::trace::escape_inline(&expected),
        String::from_utf8_lossy(&head[..after_code])
    );
    Err(Failure::new(
        "The status line is the version, a space, the code, a space and the reason phrase; the second space is required even when the reason is empty (RFC 9112 §4)",
        format!("there is no space after the status code {}", response.status),
    )
    .bytes(expected, head[..line_end].to_vec())
    .diagnosis(format!("clients differ here: curl, Python's http.client and Node.js read the line as a plain {code}, so trying your server with them looks fine; a parser that follows the grammar to the letter refuses the whole response (Perl's HTTP::Parser::XS, for one; picohttpparser and Rust's ureq did too until they added a leniency for servers like this)", code = response.status))
    .hint(hint))
}

/// How long labs waits after a framed response for bytes that should not be there (a
/// trailing `\r\n` sent with a second send(), say).
const AFTER_BODY_WAIT: Duration = Duration::from_millis(50);

/// Requires that nothing came after the response's framed end: bytes past Content-Length (a
/// trailing `\r\n` after the body, say) would be read as the start of the next response.
pub fn expect_nothing_after(peer: &mut Peer, response: &Response) -> Result<(), Failure> {
    if peer.unconsumed().is_empty() && !peer.peer_closed() {
        // A quiet connection is what a correct server leaves; only what arrives matters here.
        let _ = peer.stays_quiet(AFTER_BODY_WAIT);
    }
    let extra = peer.unconsumed();
    if extra.is_empty() {
        return Ok(());
    }
    let mut got = response.body.clone();
    got.extend_from_slice(extra);
    Err(Failure::new(
        "A response ends where its framing says: exactly Content-Length bytes of body (RFC 9112 §6.3)",
        format!(
            "{} more byte(s) came after the {}-byte body",
            extra.len(),
            response.body.len()
        ),
    )
    .bytes(response.body.clone(), got)
    .diagnosis("a client that keeps the connection open reads these bytes as the start of the next response and fails there; one that closes never notices")
    .hint(if response.body.is_empty() {
        "this response has no body: it ends at the empty line after the head, so send nothing after that"
    } else {
        "send exactly the body after the empty line: no \\r\\n after it, and Content-Length counting every byte"
    }))
}

/// Requires a body, byte for byte.
pub fn expect_body(response: &Response, body: &[u8]) -> Result<(), Failure> {
    if response.body == body {
        return Ok(());
    }
    let problem = if response.body.len() != body.len() {
        format!(
            "the body was {} bytes, {} were expected",
            response.body.len(),
            body.len()
        )
    } else {
        "the body's bytes differ from what was expected".to_string()
    };
    Err(
        Failure::new("The body is exactly the expected bytes", problem)
            .bytes(body.to_vec(), response.body.clone()),
    )
}

/// Requires Content-Type to name `media_type` (parameters such as charset allowed).
pub fn expect_media_type(response: &Response, media_type: &str) -> Result<(), Failure> {
    let Some(value) = response.field("Content-Type") else {
        return Err(Failure::new(
            "A response with a body says what it is in Content-Type (RFC 9110 §8.3)",
            "there was no Content-Type field",
        )
        .hint(format!("add Content-Type: {media_type}")));
    };
    let essence = value.split(|&b| b == b';').next().unwrap_or(b"");
    if essence
        .trim_ascii()
        .eq_ignore_ascii_case(media_type.as_bytes())
    {
        return Ok(());
    }
    Err(Failure::new(
        format!("Content-Type is {media_type} here"),
        format!("Content-Type was {}", String::from_utf8_lossy(value)),
    )
    .bytes(
        format!("Content-Type: {media_type}").into_bytes(),
        [b"Content-Type: ".as_slice(), value].concat(),
    ))
}

/// Requires a field with exactly `value`.
pub fn expect_field(response: &Response, name: &str, value: &str) -> Result<(), Failure> {
    match response.field(name) {
        Some(v) if v == value.as_bytes() => Ok(()),
        Some(v) => Err(Failure::new(
            format!("{name} is `{value}` here"),
            format!("{name} was `{}`", String::from_utf8_lossy(v)),
        )
        .bytes(
            format!("{name}: {value}").into_bytes(),
            [name.as_bytes(), b": ", v].concat(),
        )),
        None => Err(Failure::new(
            format!("The response carries {name}: {value}"),
            format!("there was no {name} field"),
        )),
    }
}

/// Requires a field to be present; `example` shows a correct one.
pub fn expect_field_present(response: &Response, name: &str, example: &str) -> Result<(), Failure> {
    if response.field(name).is_some() {
        return Ok(());
    }
    Err(Failure::new(
        format!("Every response carries {name}"),
        format!("there was no {name} field"),
    )
    .hint(format!("add a line like {}", example.trim_end())))
}

/// Requires a comma-separated field to contain `token` (case-insensitive).
pub fn expect_token(response: &Response, name: &str, token: &str) -> Result<(), Failure> {
    if response.headers.contains_token(name, token) {
        return Ok(());
    }
    Err(Failure::new(
        format!("The response carries {name}: {token}"),
        match response.field(name) {
            Some(v) => format!("{name} was `{}`", String::from_utf8_lossy(v)),
            None => format!("there was no {name} field"),
        },
    ))
}

/// Requires a valid IMF-fixdate `Date` field (RFC 9110 §6.6.1).
pub fn expect_date(response: &Response) -> Result<(), Failure> {
    let Some(value) = response.field("Date") else {
        return Err(Failure::new(
            "An origin server sends Date (RFC 9110 §6.6.1)",
            "there was no Date field",
        )
        .hint("add Date: Sun, 06 Nov 1994 08:49:37 GMT, with the current time in GMT"));
    };
    match wire::http1::date::HttpDate::parse_imf_fixdate(value).ok() {
        Some(_) => Ok(()),
        None => Err(Failure::new(
            "Date is an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7)",
            format!("Date was `{}`", String::from_utf8_lossy(value)),
        )
        .bytes(
            b"Date: <any>, <any> <any> <any> <any>:<any>:<any> GMT".to_vec(),
            [b"Date: ".as_slice(), value].concat(),
        )
        .hint(
            "use the English day and month names, two-digit day, 24-hour time, and the letters GMT",
        )),
    }
}

/// Requires the learner to close the connection now (any bytes first are a failure).
pub fn expect_close(peer: &mut Peer, why: &str) -> Result<(), Failure> {
    match peer.read_to_close() {
        Ok(extra) if extra.is_empty() => Ok(()),
        Ok(extra) => Err(Failure::new(
            "After the response, the connection closes",
            format!("{} more bytes came before the close", extra.len()),
        )
        .bytes(Vec::new(), extra)),
        Err(end) => Err(Failure::new(
            "The server closes the connection here",
            format!("it stayed open: {end}"),
        )
        .hint(why.to_string())),
    }
}

/// Writes a fixture file into the learner's files folder.
pub fn put_file(dir: &Path, name: &str, content: &[u8]) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join(name), content))
        .map_err(|e| {
            Failure::new(
                "labs puts test files in your files folder",
                format!("cannot write {}: {e}", dir.join(name).display()),
            )
        })
}

/// Requires a file in the learner's folder to hold exactly `content`.
pub fn expect_file(dir: &Path, name: &str, content: &[u8]) -> Result<(), Failure> {
    match std::fs::read(dir.join(name)) {
        Ok(found) if found == content => Ok(()),
        Ok(found) => Err(Failure::new("The uploaded file holds exactly the request's body", "the file on disk differs from the body sent")
            .bytes(content.to_vec(), found)),
        Err(e) => Err(Failure::new(
            "POST /files/NAME writes the body to NAME in your files folder",
            format!("{} could not be read: {e}", dir.join(name).display()),
        )
        .hint("read exactly Content-Length bytes of body (or the chunks), then write them to the file")),
    }
}

/// Decompresses a gzip body.
pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(16 * 1024 * 1024)
        .read_to_end(&mut out)
        .map_err(|e| {
            Failure::new(
                "Content-Encoding: gzip means the body is a gzip stream (RFC 1952)",
                format!("it did not decompress: {e}"),
            )
            .hint("compress the whole body once, then set Content-Length to the compressed size")
        })?;
    Ok(out)
}

/// True when `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Requires a request head (from a learner's client) to start with exactly `line`.
pub fn expect_request_line(head: &[u8], line: &str) -> Result<(), Failure> {
    let end = head
        .iter()
        .position(|&b| b == b'\n')
        .map_or(head.len(), |p| p + 1);
    if &head[..end] == line.as_bytes() {
        return Ok(());
    }
    Err(Failure::new(
        "The request line is METHOD SP TARGET SP HTTP-VERSION CRLF (RFC 9112 §3)",
        "the request line differs from what was expected",
    )
    .bytes(line.as_bytes().to_vec(), head[..end].to_vec())
    .hint("one space between the parts, a target starting with /, and \\r\\n at the end"))
}

/// Requires a request head to carry a field.
pub fn expect_request_field(head: &[u8], name: &str) -> Result<(), Failure> {
    let found = head
        .split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|line| line.split(|&b| b == b':').next())
        .any(|n| n.eq_ignore_ascii_case(name.as_bytes()));
    if found {
        return Ok(());
    }
    Err(Failure::new(
        format!("The request carries {name} (RFC 9112 §3.2)"),
        format!("there was no {name} field"),
    )
    .hint(format!(
        "add a line `{name}: ...\\r\\n` after the request line"
    )))
}

use wire::http1::framing::{BodyLength, FramingError};
use wire::http1::reader::{MessageReader, Part, ReadError, ReaderOptions};
use wire::http1::request::RequestHead;
use wire::http1::response::ResponseHead;
use wire::http1::{Headers, Method, ParseOptions, RawResponse};
use wire::Status;

/// How labs reads a learner's messages: strictly, and each head judged as its bytes arrive (so
/// a broken line is reported even when the program then stops sending).
fn strict_reader() -> ReaderOptions {
    ReaderOptions {
        partial_lines: true,
        ..ReaderOptions::new(ParseOptions::STRICT)
    }
}

/// Reads one response strictly with `wire::http1`'s message reader: the head, then the body as
/// RFC 9112 §6.3 frames it. A head that strict HTTP refuses is reported with the offending byte
/// and whether a lenient client would have taken it.
pub fn read_response(peer: &mut Peer, method: &str) -> Result<Response, Failure> {
    let method = Method::parse(method).unwrap_or(Method::Get);
    let mut reader = MessageReader::responses(method, strict_reader());
    let (head_bytes, part) = read_head(peer, &mut reader)?;
    let (head, interim) = match part {
        Ok(Part::Response(head)) => (head, false),
        // A 1xx is what labs was answered (a server sends 100 Continue only when asked).
        Ok(Part::Interim(head)) => (head, true),
        Ok(_) => return Err(lost_track()),
        Err(e) => {
            return Err(Failure::new(
                "The response says where its body ends (RFC 9112 §6.3)",
                e.to_string(),
            )
            .bytes(Vec::new(), head_bytes))
        }
    };
    let (body, chunks) = if interim {
        (Vec::new(), 0)
    } else {
        read_body(peer, &mut reader, true)?
    };
    Ok(Response {
        status: head.status.as_u16(),
        head: head_bytes,
        headers: head.headers,
        body,
        chunks,
    })
}

/// Reads one request strictly (for the servers labs runs itself, such as the proxy track's origin).
pub fn read_request(peer: &mut Peer) -> Result<crate::origin::Seen, Failure> {
    let mut reader = MessageReader::requests(strict_reader());
    let head = match read_head(peer, &mut reader)?.1 {
        Ok(Part::Request(head)) => head,
        Ok(_) => return Err(lost_track()),
        Err(e) => {
            return Err(Failure::new(
                "The request says where its body ends (RFC 9112 §6.3)",
                e.to_string(),
            ))
        }
    };
    let (body, _) = read_body(peer, &mut reader, false)?;
    Ok(crate::origin::Seen {
        method: head.method.to_string(),
        target: head.target.to_string(),
        headers: head.headers,
        body,
        closes: !reader.persistence().persists(),
    })
}

fn lost_track() -> Failure {
    Failure::new(
        "A message head parses",
        "labs lost track of the head it read",
    )
}

/// Reads one message head with the reader; returns its bytes and the head, or the framing
/// error the head has (its bytes then are the head's).
fn read_head(
    peer: &mut Peer,
    reader: &mut MessageReader,
) -> Result<(Vec<u8>, Result<Part, FramingError>), Failure> {
    let mut outcome = None;
    let head_bytes = peer
        .read_until(|buf| match reader.read(buf, false) {
            Ok((used, Some(part))) => {
                outcome = Some(Ok(Ok(part)));
                Some(used)
            }
            Ok((_, None)) => None,
            Err(ReadError::Framing(e)) => {
                outcome = Some(Ok(Err(e)));
                Some(head_len(buf).unwrap_or(buf.len()))
            }
            Err(e) => {
                outcome = Some(Err(e));
                Some(buf.len())
            }
        })
        .map_err(|end| read_failed(&end, peer))?;
    match outcome {
        Some(Ok(part)) => Ok((head_bytes, part)),
        Some(Err(ReadError::Head(error))) => Err(head_failure(&head_bytes, &error)),
        Some(Err(other)) => Err(Failure::new("A message head parses", other.to_string())),
        None => Err(lost_track()),
    }
}

/// The length of the (strictly valid) response head at the start of `buf`.
fn head_len(buf: &[u8]) -> Option<usize> {
    match RawResponse::parse(buf, &ParseOptions::STRICT) {
        Ok(Status::Complete((n, _))) => Some(n),
        _ => None,
    }
}

/// Reads the body the reader's head framed; returns it and the number of chunks it came in.
/// The reader decodes it once, as the bytes arrive.
fn read_body(
    peer: &mut Peer,
    reader: &mut MessageReader,
    from_server: bool,
) -> Result<(Vec<u8>, usize), Failure> {
    let rule = "The body is exactly as long as its framing says (RFC 9112 §6)";
    match reader.framing().map_or(BodyLength::Empty, |f| f.body) {
        BodyLength::Empty | BodyLength::Tunnel => Ok((Vec::new(), 0)),
        BodyLength::ContentLength(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > peer.cap {
                return Err(Failure::new(
                    rule,
                    format!(
                        "Content-Length: {n} is more than labs reads ({} bytes)",
                        peer.cap
                    ),
                ));
            }
            match read_framed(peer, reader) {
                Ok((_, Ok(body))) => Ok((body, 0)),
                // A Content-Length body cannot break its framing; only its end can be missing.
                Ok((raw, Err(e))) => Err(Failure::new(rule, e.to_string()).bytes(Vec::new(), raw)),
                Err(end) => {
                    let got = peer.unconsumed().len();
                    Err(Failure::new(
                        rule,
                        format!("Content-Length said {n} bytes, {got} arrived and then {end}"),
                    )
                    .hint("Content-Length counts the body's bytes exactly; send them all"))
                }
            }
        }
        BodyLength::Chunked => match read_framed(peer, reader) {
            Ok((_, Ok(body))) => Ok((body, reader.chunks() as usize)),
            Ok((raw, Err(e))) => Err(Failure::new(
                "A chunked body follows RFC 9112 §7.1",
                e.to_string(),
            )
            .bytes(Vec::new(), raw)),
            Err(end) => Err(Failure::new(
                rule,
                format!("the chunked body never ended with a 0 chunk: {end}"),
            )
            .hint("end a chunked body with 0\\r\\n\\r\\n")),
        },
        BodyLength::CloseDelimited if from_server => {
            let body = peer.read_to_close().map_err(|end| {
                let sent = peer.unconsumed().len();
                let failure = Failure::new(
                    "A response without Content-Length or chunked coding ends when the server closes (RFC 9112 §6.3)",
                    format!("the connection stayed open: {end}"),
                );
                if sent == 0 {
                    failure.hint("this response has no body: say so with Content-Length: 0, or close the connection after it")
                } else {
                    failure.hint(format!("send Content-Length with every response that has a body (Content-Length: {sent} for the {sent} bytes labs saw), or close the connection after it"))
                }
            })?;
            Ok((body, 0))
        }
        BodyLength::CloseDelimited => Ok((Vec::new(), 0)),
    }
}

/// A body read to its end: the raw bytes used, and the decoded body or the error that broke it.
type ReadBody = (Vec<u8>, Result<Vec<u8>, ReadError>);

/// Feeds the peer's bytes to the reader until the body ends.
fn read_framed(peer: &mut Peer, reader: &mut MessageReader) -> Result<ReadBody, ReadEnd> {
    let mut at = 0;
    let mut body = Vec::new();
    let mut error = None;
    let raw = peer.read_until(|buf| loop {
        match reader.read(&buf[at..], false) {
            Ok((used, Some(Part::Data(range)))) => {
                body.extend_from_slice(&buf[at..][range]);
                at += used;
            }
            Ok((used, Some(Part::End(_)))) => return Some(at + used),
            Ok((used, _)) => {
                at += used;
                return None;
            }
            Err(e) => {
                error = Some(e);
                return Some(buf.len());
            }
        }
    })?;
    Ok((raw, error.map_or(Ok(body), Err)))
}

/// A failure for a head that strict parsing refused, with the caret on the offending byte and a
/// word on whether a lenient reader would have taken it.
fn head_failure(head: &[u8], error: &wire::http1::ParseError) -> Failure {
    let offset = error.offset().unwrap_or(head.len()).min(head.len());
    let mut expected = head[..offset].to_vec();
    if matches!(error, wire::http1::ParseError::BareLf { .. }) {
        expected.extend_from_slice(b"\r\n");
    } else {
        expected.extend_from_slice(b"<any>");
    }
    let lenient = ResponseHead::parse(head, &ParseOptions::LENIENT)
        .ok()
        .filter(Status::is_complete)
        .is_some()
        || RequestHead::parse(head, &ParseOptions::LENIENT)
            .ok()
            .filter(Status::is_complete)
            .is_some();
    let diagnosis = if lenient {
        "a lenient reader (a browser, curl) would accept this, which is why it may seem to work; strict HTTP/1.1 refuses it, and so do many proxies and security filters"
    } else {
        "no HTTP/1.1 reader can make sense of this"
    };
    Failure::new(
        format!(
            "A message head follows the syntax of {}",
            error.rfc_section()
        ),
        error.to_string(),
    )
    .bytes(expected, head.to_vec())
    .diagnosis(diagnosis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8], status: u16) -> Response {
        Response {
            status,
            head: bytes.to_vec(),
            ..Response::default()
        }
    }

    #[test]
    fn the_second_space_of_the_status_line_is_required_and_the_caret_finds_it() {
        let ok = "HTTP/1.1 200 OK\r\n";
        for line in [
            &b"HTTP/1.1 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 200 \r\n\r\n",
            b"HTTP/1.0 200 Fine\r\n\r\n",
        ] {
            assert_eq!(expect_status(&head(line, 200), 200, ok), Ok(()));
        }
        let failure = expect_status(&head(b"HTTP/1.1 200\r\nA: b\r\n\r\n", 200), 200, ok)
            .expect_err("no space after the code");
        assert!(failure.rule.contains("RFC 9112 §4"), "{}", failure.rule);
        assert_eq!(failure.got.as_deref(), Some(&b"HTTP/1.1 200\r\n"[..]));
        assert_eq!(
            crate::report::first_difference(
                failure.expected.as_deref().unwrap(),
                failure.got.as_deref().unwrap()
            ),
            Some(12)
        );
        // A 1.0 server is compared with a 1.0 line, so the caret is not on the version.
        let failure = expect_status(
            &head(b"HTTP/1.0 404\n\n", 404),
            404,
            "HTTP/1.1 404 Not Found\r\n",
        )
        .expect_err("no space after the code");
        assert_eq!(
            failure.expected.as_deref(),
            Some(&b"HTTP/1.0 404 Not Found\r\n"[..])
        );
    }
}
