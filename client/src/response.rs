//! Reading responses off a connection: a thin adapter over `wire::http1`'s one message reader
//! ([`MessageReader`]) that turns received bytes into heads, body data and ends, and explains
//! what a broken response did wrong.
//!
//! The reader parses the head with every named leniency on (a client shows what it got rather
//! than refusing it), judging each line as its bytes arrive; when a leniency was needed, the head
//! is parsed again strictly to name the first offending byte and the RFC rule. The reader decides
//! how long the body is (RFC 9112 §6.3), decodes a chunked one, and says whether the head lets
//! the connection carry another request (RFC 9112 §9.3, the rule `wire::http1::conn` applies
//! too); this module adds what the framing means for the connection (a close-delimited body,
//! suspect framing) and the words a person reads. It parses nothing itself and decides nothing
//! `wire` already decides.

use std::fmt;
use std::ops::Range;

use wire::http1::chunked::ChunkedError;
use wire::http1::conn::{CloseReason, Persistence};
use wire::http1::framing::{BodyLength, FramingError};
use wire::http1::plain_response::{NotPlain, PlainResponse};
use wire::http1::reader::{MessageReader, Part, ReadError, ReaderOptions};
use wire::http1::{Headers, Method, ParseError, ParseOptions, ResponseHead};
use wire::trace::escape_inline;
use wire::Status;

use crate::ExitCode;

/// A response head, with what the client shows about it.
#[derive(Debug, Clone)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The header fields.
    pub headers: Headers,
    /// The head exactly as received (for `-i`).
    pub raw: Vec<u8>,
    /// How the body is delimited.
    pub body: BodyLength,
    /// One-line explanations of what the head got wrong or what it means for the connection.
    pub diagnoses: Vec<String>,
}

impl Head {
    /// The value of a header field, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }
}

/// Something a response brought.
#[derive(Debug, Clone)]
pub enum ReadEvent {
    /// An interim (1xx) response; the final one follows.
    Interim(Head),
    /// The final response head.
    Head(Head),
    /// Body data, decoded from its framing: this range of the bytes just passed in.
    Data(Range<usize>),
    /// The response is complete.
    End {
        /// Why the connection cannot carry another request; `None`: it can (keep-alive).
        close: Option<CloseReason>,
        /// Remarks about the end (trailers, the close that ended the body).
        diagnoses: Vec<String>,
    },
}

/// A response that cannot be read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// The head is not HTTP, even leniently.
    Head {
        error: ParseError,
        offset_base: usize,
    },
    /// The framing fields contradict each other or do not parse.
    Framing(FramingError),
    /// The chunked coding is broken.
    Chunked(ChunkedError),
    /// The server closed before a single byte of the response.
    Empty,
    /// The server closed in the middle of the head.
    TruncatedHead { received: usize },
    /// The server closed before the body was complete.
    TruncatedBody { missing: Option<u64>, got: u64 },
}

impl ResponseError {
    /// curl's exit code for this.
    pub fn exit_code(&self, _received: usize) -> ExitCode {
        match self {
            ResponseError::Head { .. } | ResponseError::Framing(_) => ExitCode::WeirdServerReply,
            ResponseError::Chunked(_) => ExitCode::RecvError,
            ResponseError::Empty => ExitCode::EmptyReply,
            ResponseError::TruncatedHead { .. } => ExitCode::RecvError,
            ResponseError::TruncatedBody { .. } => ExitCode::PartialFile,
        }
    }

    /// A short name for counting (the load generator's errors by kind).
    pub fn kind(&self) -> String {
        match self {
            ResponseError::Head { error, .. } => format!("bad response: {error}"),
            ResponseError::Framing(e) => format!("bad framing: {e}"),
            ResponseError::Chunked(_) => "bad chunked body".to_string(),
            ResponseError::Empty => "closed by server without a response".to_string(),
            ResponseError::TruncatedHead { .. } => {
                "closed by server in the middle of the head".to_string()
            }
            ResponseError::TruncatedBody { .. } => {
                "closed by server before the body ended".to_string()
            }
        }
    }

    /// One line that names the offending bytes and the RFC rule. `buf` holds the bytes the
    /// offsets count from.
    pub fn diagnosis(&self, buf: &[u8]) -> String {
        match self {
            ResponseError::Head { error, offset_base } => {
                let at = buf.get(*offset_base..).unwrap_or(&[]);
                describe_parse_error(error, at, "the response head is not valid HTTP")
            }
            ResponseError::Framing(e) => format!("the response's framing cannot be trusted: {e}"),
            ResponseError::Chunked(e) => format!("the chunked body is broken: {e}"),
            ResponseError::Empty => {
                "empty reply: the server closed the connection without sending a byte (is it an HTTP server? did it crash on the request?)".to_string()
            }
            ResponseError::TruncatedHead { received } => format!(
                "the server closed the connection after {received} bytes, in the middle of the response head (it never sent the empty line, \\r\\n\\r\\n, RFC 9112 §2.1)"
            ),
            ResponseError::TruncatedBody { missing: Some(n), got } => format!(
                "the server closed the connection after {got} body bytes, {n} short of its Content-Length (RFC 9112 §6.3: the message is incomplete)"
            ),
            ResponseError::TruncatedBody { missing: None, got } => format!(
                "the server closed the connection after {got} bytes of a chunked body without the last chunk (0\\r\\n\\r\\n, RFC 9112 §7.1)"
            ),
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind())
    }
}

impl std::error::Error for ResponseError {}

fn describe_parse_error(error: &ParseError, buf: &[u8], lead: &str) -> String {
    // The error's own text names the rule, its RFC section and the byte offset.
    let mut text = format!("{lead}: {error}");
    let bytes = error.offending(buf);
    if !bytes.is_empty() {
        text.push_str(&format!(": `{}`", escape_inline(bytes)));
    }
    text
}

/// What happens after the reader's part of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// The reader is reading the response.
    Reader,
    /// A tunnel was accepted (2xx to CONNECT): what follows is shown as body until the server
    /// closes.
    UntilClose,
    /// `101 Switching Protocols`: the response is complete; `End` is owed.
    Ending,
    /// The response is complete.
    Done,
}

/// Reads one response (and the 1xx before it). Feed it with [`handle_bytes`](Self::handle_bytes)
/// until it answers `None` (more bytes needed) and [`handle_eof`](Self::handle_eof) when the
/// server closes.
#[derive(Debug)]
pub struct ResponseReader {
    reader: MessageReader,
    after: After,
    /// Why the connection ends after this response (the first reason found), if it does.
    close: Option<CloseReason>,
    end_notes: Vec<String>,
    /// Keep only what the load generator needs (status, framing), copy nothing else.
    lean: bool,
}

impl ResponseReader {
    /// A reader for the response to a request with this method.
    pub fn new(method: &str) -> ResponseReader {
        ResponseReader::with(method, false)
    }

    /// A reader that keeps only the status and the framing (for the load generator): no copy of
    /// the head, no diagnoses.
    pub fn lean(method: &str) -> ResponseReader {
        ResponseReader::with(method, true)
    }

    fn with(method: &str, lean: bool) -> ResponseReader {
        let options = ReaderOptions {
            // A broken line is shown as soon as its bytes arrive.
            partial_lines: true,
            framing_fields_only: lean,
            ..ReaderOptions::new(ParseOptions::LENIENT)
        };
        ResponseReader {
            reader: MessageReader::responses(Method::parse(method).unwrap_or(Method::Get), options),
            after: After::Reader,
            close: None,
            end_notes: Vec::new(),
            lean,
        }
    }

    /// Gets ready for the next response on the same connection.
    pub fn reset(&mut self) {
        self.reader.next_message();
        self.after = After::Reader;
        self.close = None;
        self.end_notes.clear();
    }

    /// Notes that the connection ends after this response; the first reason is the one kept.
    fn close_because(&mut self, reason: CloseReason) {
        self.close.get_or_insert(reason);
    }

    fn end(&mut self) -> ReadEvent {
        self.after = After::Done;
        ReadEvent::End {
            close: self.close,
            diagnoses: std::mem::take(&mut self.end_notes),
        }
    }

    /// Reads from `input` (the bytes not yet used). Answers how many bytes were used and what
    /// they made; `(used, None)` means feed more bytes (after dropping the `used` ones).
    pub fn handle_bytes(
        &mut self,
        input: &[u8],
    ) -> Result<(usize, Option<ReadEvent>), ResponseError> {
        match self.after {
            After::Done => return Ok((0, None)),
            After::Ending => return Ok((0, Some(self.end()))),
            After::UntilClose if input.is_empty() => return Ok((0, None)),
            After::UntilClose => return Ok((input.len(), Some(ReadEvent::Data(0..input.len())))),
            After::Reader => {}
        }
        let (used, part) = self.reader.read(input, false).map_err(response_error)?;
        let event = match part {
            None => None,
            Some(Part::Interim(head)) => Some(ReadEvent::Interim(self.head(head, &input[..used]))),
            Some(Part::Response(head)) => Some(self.final_head(head, &input[..used])),
            Some(Part::Data(range)) => Some(ReadEvent::Data(range)),
            Some(Part::End(trailers)) => {
                if !trailers.is_empty() {
                    let names: Vec<&str> = trailers.iter().map(|t| t.name()).collect();
                    self.end_notes.push(format!(
                        "trailer fields after the last chunk: {}",
                        names.join(", ")
                    ));
                }
                Some(self.end())
            }
            Some(Part::Request(_)) => unreachable!("a response reader reads responses"),
        };
        Ok((used, event))
    }

    /// A head as the client shows it: `raw` is its bytes.
    fn head(&self, head: ResponseHead, raw: &[u8]) -> Head {
        let raw = if self.lean { Vec::new() } else { raw.to_vec() };
        let mut diagnoses = Vec::new();
        if !head.leniencies_used.is_empty() && !self.lean {
            let names: Vec<String> = head.leniencies_used.iter().map(|l| l.to_string()).collect();
            let first = match ResponseHead::parse(&raw, &ParseOptions::STRICT) {
                Err(e) => describe_parse_error(&e, &raw, "the server broke a rule"),
                Ok(_) => "the server broke a rule".to_string(),
            };
            diagnoses.push(format!("{first}; read leniently ({})", names.join(", ")));
        }
        Head {
            status: head.status.as_u16(),
            reason: if self.lean {
                String::new()
            } else {
                head.reason().to_string()
            },
            headers: head.headers,
            raw,
            body: BodyLength::Empty,
            diagnoses,
        }
    }

    /// The final head, with what its framing means for the connection.
    fn final_head(&mut self, head: ResponseHead, raw: &[u8]) -> ReadEvent {
        let mut head = self.head(head, raw);
        let (body, close_after, codings) = match self.reader.framing() {
            Some(f) => (f.body, f.close_after, f.codings.join(", ")),
            None => (BodyLength::Empty, None, String::new()),
        };
        if let Some(suspect) = close_after {
            head.diagnoses.push(format!(
                "suspect framing: {suspect}; the connection cannot be reused"
            ));
            self.close_because(CloseReason::SuspectFraming(suspect));
        }
        if !codings.is_empty() {
            head.diagnoses.push(format!(
                "the body is still in the transfer coding {codings} (shown as sent)"
            ));
        }
        match self.reader.persistence() {
            Persistence::Persists => {}
            Persistence::Close => self.close_because(CloseReason::PeerAskedToClose),
            Persistence::Http10WithoutKeepAlive => self.close_because(CloseReason::Http10),
        }
        match body {
            BodyLength::CloseDelimited => {
                self.close_because(CloseReason::CloseDelimitedBody);
                head.diagnoses.push(
                    "no Content-Length and no chunked coding: the body ends when the server closes the connection (RFC 9112 §6.3, rule 8), so it cannot be reused".to_string(),
                );
            }
            BodyLength::Tunnel => {
                self.close_because(CloseReason::CloseDelimitedBody);
                self.after = After::UntilClose;
            }
            _ if head.status == 101 => self.after = After::Ending,
            _ => {}
        }
        head.body = body;
        ReadEvent::Head(head)
    }

    /// The server closed its side. `buffered` is how many bytes were fed but not used (an
    /// unfinished head). Answers the end of a close-delimited body, or why the response is
    /// incomplete.
    pub fn handle_eof(&mut self, buffered: usize) -> Result<Option<ReadEvent>, ResponseError> {
        match self.after {
            After::Done => return Ok(None),
            After::Ending | After::UntilClose => {
                self.close_because(CloseReason::PeerClosed);
                return Ok(Some(self.end()));
            }
            After::Reader => {}
        }
        if self.reader.is_reading_head() {
            let seen = self.reader.head_bytes() as usize;
            return Err(if seen == 0 && buffered == 0 {
                ResponseError::Empty
            } else {
                ResponseError::TruncatedHead {
                    received: seen + buffered,
                }
            });
        }
        match self.reader.read(&[], true) {
            Ok((_, Some(Part::End(_)))) => {
                self.close_because(CloseReason::PeerClosed);
                Ok(Some(self.end()))
            }
            Err(ReadError::IncompleteBody { missing }) => Err(ResponseError::TruncatedBody {
                missing,
                got: match missing {
                    Some(_) => self.reader.body_received(),
                    None => self.reader.body_used(),
                },
            }),
            Err(e) => Err(response_error(e)),
            Ok(_) => Ok(None),
        }
    }
}

/// The client's words for what the reader found wrong.
fn response_error(e: ReadError) -> ResponseError {
    match e {
        ReadError::Head(error) => ResponseError::Head {
            error,
            offset_base: 0,
        },
        ReadError::Framing(e) => ResponseError::Framing(e),
        ReadError::Chunked(e) => ResponseError::Chunked(e),
        ReadError::IncompleteHead { received } => ResponseError::TruncatedHead { received },
        ReadError::IncompleteBody { missing } => ResponseError::TruncatedBody { missing, got: 0 },
    }
}

/// Why a response ends its connection, said from the client's side (the server is the peer).
pub fn close_reason_text(reason: CloseReason) -> String {
    match reason {
        CloseReason::PeerAskedToClose => {
            "the server sent Connection: close (RFC 9112 §9.6)".to_string()
        }
        CloseReason::Http10 => {
            "an HTTP/1.0 response without Connection: keep-alive (RFC 9112 §9.3)".to_string()
        }
        CloseReason::CloseDelimitedBody => {
            "the body ran until the server closed (RFC 9112 §6.3)".to_string()
        }
        CloseReason::PeerClosed => "the server closed the connection".to_string(),
        other => other.to_string(),
    }
}

/// The load generator's view: is the response complete, and how did it end.
///
/// A plain head (what servers send for a file: `HTTP/1.1`, one `Content-Length`, no chunked
/// coding, see [`wire::http1::plain_response`]) is scanned in one pass and its body counted
/// here, with nothing copied or allocated; any other head, and every malformed one, goes to the
/// full reader ([`ResponseReader`]), which decides and names what is wrong.
#[derive(Debug)]
pub struct ResponseTracker {
    reader: ResponseReader,
    track: Track,
    status: u16,
    head_request: bool,
    /// An unfinished head, kept until the rest arrives.
    pending: Vec<u8>,
}

/// How the current response is being followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Track {
    /// Waiting for the head, hoping it is plain.
    Scan,
    /// A plain head was read: counting its body.
    Body {
        remaining: u64,
        got: u64,
        close: bool,
    },
    /// The full reader reads this response.
    Full,
}

/// A finished response, as the load generator counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// The final status.
    pub status: u16,
    /// The connection may carry another request.
    pub keep_alive: bool,
    /// Bytes of the last input used (anything after is not part of this response).
    pub used: usize,
}

/// Where a response stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Feed more bytes.
    NeedMore,
    /// Complete.
    Done(Done),
}

impl ResponseTracker {
    /// A tracker for responses to GET (or HEAD).
    pub fn new(head_request: bool) -> ResponseTracker {
        ResponseTracker {
            reader: ResponseReader::lean(if head_request { "HEAD" } else { "GET" }),
            track: ResponseTracker::first_track(head_request),
            status: 0,
            head_request,
            pending: Vec::new(),
        }
    }

    /// A response to HEAD has no body whatever its head says: the full reader knows that.
    fn first_track(head_request: bool) -> Track {
        if head_request {
            Track::Full
        } else {
            Track::Scan
        }
    }

    /// Gets ready for the next response.
    pub fn reset(&mut self) {
        self.reader.reset();
        self.track = ResponseTracker::first_track(self.head_request);
        self.status = 0;
        self.pending.clear();
    }

    /// Feeds bytes. An unfinished head is kept inside until it completes.
    pub fn handle_bytes(&mut self, input: &[u8]) -> Result<Progress, ResponseError> {
        if self.pending.is_empty() {
            return self.track(input);
        }
        // The head arrived in pieces: read the kept piece and the new bytes together.
        let kept = self.pending.len();
        let mut joined = std::mem::take(&mut self.pending);
        joined.extend_from_slice(input);
        let progress = self.track(&joined);
        match progress {
            Ok(Progress::Done(mut done)) => {
                done.used = done.used.saturating_sub(kept);
                Ok(Progress::Done(done))
            }
            other => other,
        }
    }

    fn track(&mut self, input: &[u8]) -> Result<Progress, ResponseError> {
        match self.track {
            Track::Scan => self.scan(input),
            Track::Body { .. } => Ok(self.count_body(input, 0)),
            Track::Full => self.feed(input, input.len()),
        }
    }

    /// Reads the head if it is plain, else hands every byte to the full reader.
    fn scan(&mut self, input: &[u8]) -> Result<Progress, ResponseError> {
        let limits = &self.reader.reader.options().parse.limits;
        match PlainResponse::scan(input, limits) {
            Ok(Status::Complete((used, plain))) => {
                self.status = plain.status;
                self.track = Track::Body {
                    remaining: plain.content_length,
                    got: 0,
                    close: plain.close,
                };
                Ok(self.count_body(&input[used..], used))
            }
            Ok(Status::Partial) => {
                self.pending.extend_from_slice(input);
                Ok(Progress::NeedMore)
            }
            Err(NotPlain) => {
                self.track = Track::Full;
                self.feed(input, input.len())
            }
        }
    }

    /// Counts body bytes of a plain response; `before` bytes of the input came before `body`.
    fn count_body(&mut self, body: &[u8], before: usize) -> Progress {
        let Track::Body {
            remaining,
            got,
            close,
        } = &mut self.track
        else {
            unreachable!("counting a body follows a plain head")
        };
        let take = (*remaining).min(body.len() as u64);
        *remaining -= take;
        *got += take;
        if *remaining > 0 {
            return Progress::NeedMore;
        }
        Progress::Done(Done {
            status: self.status,
            keep_alive: !*close,
            used: before + take as usize,
        })
    }

    fn feed(&mut self, input: &[u8], len: usize) -> Result<Progress, ResponseError> {
        let mut at = 0;
        loop {
            let (used, event) = self.reader.handle_bytes(&input[at..])?;
            at += used;
            match event {
                Some(ReadEvent::Head(h)) => self.status = h.status,
                Some(ReadEvent::End { close, .. }) => {
                    return Ok(Progress::Done(Done {
                        status: self.status,
                        keep_alive: close.is_none(),
                        used: at,
                    }));
                }
                Some(_) => {}
                None => {
                    if at < len {
                        self.pending.extend_from_slice(&input[at..]);
                    }
                    return Ok(Progress::NeedMore);
                }
            }
        }
    }

    /// The server closed.
    pub fn handle_eof(&mut self) -> Result<Option<Done>, ResponseError> {
        if let Track::Body { remaining, got, .. } = self.track {
            return Err(ResponseError::TruncatedBody {
                missing: Some(remaining),
                got,
            });
        }
        match self.reader.handle_eof(self.pending.len())? {
            Some(ReadEvent::End { .. }) => Ok(Some(Done {
                status: self.status,
                keep_alive: false,
                used: 0,
            })),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// Feeds `input` to a reader in pieces of `step` bytes (the buffer grows as a socket's
    /// would) and answers the body and how the response ended.
    fn read(input: &[u8], step: usize) -> (Vec<u8>, Option<CloseReason>) {
        let mut reader = ResponseReader::new("GET");
        let mut body = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        loop {
            let (used, event) = reader.handle_bytes(&buf).unwrap();
            match event {
                Some(ReadEvent::Data(range)) => body.extend_from_slice(&buf[range]),
                Some(ReadEvent::End { close, .. }) => return (body, close),
                Some(_) => {}
                None if fed == input.len() => match reader.handle_eof(buf.len() - used) {
                    Ok(Some(ReadEvent::End { close, .. })) => return (body, close),
                    other => panic!("{other:?}"),
                },
                None => {
                    let more = step.min(input.len() - fed);
                    buf.drain(..used);
                    buf.extend_from_slice(&input[fed..fed + more]);
                    fed += more;
                    continue;
                }
            }
            buf.drain(..used);
        }
    }

    #[test]
    fn the_connection_is_kept_by_the_rule_wire_applies() {
        let cases: [(&[u8], Option<CloseReason>); 5] = [
            (
                b"HTTP/1.1 200 OK\r\n\
                  Content-Length: 2\r\n\
                  \r\n\
                  hi",
                None,
            ),
            (
                b"HTTP/1.1 200 OK\r\n\
                  Connection: close\r\n\
                  Content-Length: 2\r\n\
                  \r\n\
                  hi",
                Some(CloseReason::PeerAskedToClose),
            ),
            (
                b"HTTP/1.0 200 OK\r\n\
                  Content-Length: 2\r\n\
                  \r\n\
                  hi",
                Some(CloseReason::Http10),
            ),
            (
                b"HTTP/1.0 200 OK\r\n\
                  Connection: keep-alive\r\n\
                  Content-Length: 2\r\n\
                  \r\n\
                  hi",
                None,
            ),
            (
                b"HTTP/1.1 200 OK\r\n\
                  \r\n\
                  hi",
                Some(CloseReason::CloseDelimitedBody),
            ),
        ];
        for (input, expected) in cases {
            for step in [input.len(), 1, 7] {
                let got = read(input, step);
                assert_eq!(got, (b"hi".to_vec(), expected), "step {step}");
            }
        }
    }

    /// Feeds a tracker `input` in pieces of `step` bytes, then the end of the stream.
    fn track(input: &[u8], step: usize) -> Result<Option<Done>, ResponseError> {
        let mut tracker = ResponseTracker::new(false);
        for piece in input.chunks(step) {
            if let Progress::Done(done) = tracker.handle_bytes(piece)? {
                return Ok(Some(done));
            }
        }
        tracker.handle_eof()
    }

    const PLAIN: &[u8] = b"\
HTTP/1.1 200 OK\r\n\
Server: protolab\r\n\
Content-Length: 5\r\n\
\r\n\
hello";

    #[test]
    fn the_tracker_ends_a_response_where_its_framing_says_however_it_arrives() {
        let cases: [(&[u8], u16, bool); 4] = [
            (PLAIN, 200, true),
            (
                b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
                404,
                false,
            ),
            // Not plain (chunked; a bare LF): the full reader reads them.
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
                200,
                true,
            ),
            (b"HTTP/1.1 201 Created\nContent-Length: 2\n\nhi", 201, true),
        ];
        for (input, status, keep_alive) in cases {
            for step in [input.len(), 1, 3, 7] {
                let last_piece = match input.len() % step {
                    0 => step,
                    n => n,
                };
                let expected = Done {
                    status,
                    keep_alive,
                    used: last_piece,
                };
                assert_eq!(track(input, step), Ok(Some(expected)), "step {step}");
            }
        }
    }

    #[test]
    fn the_tracker_refuses_a_broken_response_with_what_is_wrong() {
        let broken = b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello";
        for step in [broken.len(), 1] {
            let Err(e) = track(broken, step) else {
                panic!("differing lengths are refused");
            };
            assert!(matches!(e, ResponseError::Framing(_)), "{e:?}");
            assert!(
                e.diagnosis(broken).contains("framing"),
                "{}",
                e.diagnosis(broken)
            );
        }
        let not_http = b"SSH-2.0-OpenSSH_9.2\r\n";
        assert!(matches!(
            track(not_http, 4),
            Err(ResponseError::Head { .. })
        ));
    }

    #[test]
    fn the_tracker_says_how_much_of_a_body_a_close_cut_off() {
        let cut = &PLAIN[..PLAIN.len() - 2];
        for step in [cut.len(), 1] {
            assert_eq!(
                track(cut, step),
                Err(ResponseError::TruncatedBody {
                    missing: Some(2),
                    got: 3
                })
            );
        }
        assert_eq!(
            track(&PLAIN[..20], 20),
            Err(ResponseError::TruncatedHead { received: 20 })
        );
        assert_eq!(track(b"", 1), Err(ResponseError::Empty));
    }
}
