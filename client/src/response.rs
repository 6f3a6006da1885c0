//! Reading responses off a connection: a thin adapter over `wire::http1` that turns received
//! bytes into heads, body data and ends, and explains what a broken response did wrong.
//!
//! The head is parsed by [`ResponseHead::parse`] with every named leniency on (a client shows
//! what it got rather than refusing it); when a leniency was needed, the head is parsed again
//! strictly to name the first offending byte and the RFC rule. How long the body is comes from
//! [`response_body_length`] (RFC 9112 §6.3), and a chunked body is decoded by
//! [`ChunkedDecoder`]. Whether the connection can carry another request is
//! [`persistence`] (RFC 9112 §9.3), the rule `wire::http1::conn` applies too, plus what the
//! framing says (a close-delimited body, suspect framing). This module only strings those
//! together; it parses nothing itself and decides nothing `wire` already decides.

use std::fmt;
use std::ops::Range;

use wire::http1::chunked::{ChunkedDecoder, ChunkedError, ChunkedOptions};
use wire::http1::conn::{persistence, CloseReason, Persistence};
use wire::http1::framing::{response_body_length, BodyLength, FramingError};
use wire::http1::{Headers, Method, ParseError, ParseOptions, RawResponse, ResponseHead, Version};
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
    /// The version on the status line.
    pub version: Version,
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

#[derive(Debug)]
enum Body {
    Length { remaining: u64, total: u64 },
    Chunked(Box<ChunkedDecoder>),
    UntilClose { got: u64 },
}

#[derive(Debug)]
enum Phase {
    /// Waiting for a (final or interim) head.
    Head,
    /// Reading the body.
    Body(Body),
    /// The body is complete; `End` is owed.
    Ending,
    /// The response is complete.
    Done,
}

/// Reads one response (and the 1xx before it). Feed it with [`handle_bytes`](Self::handle_bytes)
/// until it answers `None` (more bytes needed) and [`handle_eof`](Self::handle_eof) when the
/// server closes.
#[derive(Debug)]
pub struct ResponseReader {
    method: Method,
    phase: Phase,
    /// Why the connection ends after this response (the first reason found), if it does.
    close: Option<CloseReason>,
    /// Bytes of this response seen so far (for messages).
    seen: u64,
    end_notes: Vec<String>,
    /// Keep only what the load generator needs (status, framing), copy nothing else.
    lean: bool,
}

impl ResponseReader {
    /// A reader for the response to a request with this method.
    pub fn new(method: &str) -> ResponseReader {
        ResponseReader {
            method: Method::parse(method).unwrap_or(Method::Get),
            phase: Phase::Head,
            close: None,
            seen: 0,
            end_notes: Vec::new(),
            lean: false,
        }
    }

    /// A reader that keeps only the status and the framing (for the load generator): no copy of
    /// the head, no diagnoses.
    pub fn lean(method: &str) -> ResponseReader {
        ResponseReader {
            lean: true,
            ..ResponseReader::new(method)
        }
    }

    /// Gets ready for the next response on the same connection.
    pub fn reset(&mut self) {
        self.phase = Phase::Head;
        self.close = None;
        self.seen = 0;
        self.end_notes.clear();
    }

    /// True once the response is complete.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Notes that the connection ends after this response; the first reason is the one kept.
    fn close_because(&mut self, reason: CloseReason) {
        self.close.get_or_insert(reason);
    }

    /// Reads from `input` (the bytes not yet used). Answers how many bytes were used and what
    /// they made; `(used, None)` means feed more bytes (after dropping the `used` ones).
    pub fn handle_bytes(
        &mut self,
        input: &[u8],
    ) -> Result<(usize, Option<ReadEvent>), ResponseError> {
        match &mut self.phase {
            Phase::Done => Ok((0, None)),
            Phase::Ending => {
                self.phase = Phase::Done;
                let diagnoses = std::mem::take(&mut self.end_notes);
                Ok((
                    0,
                    Some(ReadEvent::End {
                        close: self.close,
                        diagnoses,
                    }),
                ))
            }
            Phase::Head => self.read_head(input),
            Phase::Body(Body::Length { remaining, .. }) => {
                if *remaining == 0 {
                    self.phase = Phase::Ending;
                    return self.handle_bytes(input);
                }
                let take = (*remaining).min(input.len() as u64) as usize;
                if take == 0 {
                    return Ok((0, None));
                }
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.phase = Phase::Ending;
                }
                Ok((take, Some(ReadEvent::Data(0..take))))
            }
            Phase::Body(Body::UntilClose { got }) => {
                if input.is_empty() {
                    return Ok((0, None));
                }
                *got += input.len() as u64;
                Ok((input.len(), Some(ReadEvent::Data(0..input.len()))))
            }
            Phase::Body(Body::Chunked(decoder)) => {
                if input.is_empty() {
                    return Ok((0, None));
                }
                match decoder.decode(input).map_err(ResponseError::Chunked)? {
                    Status::Partial => Ok((input.len(), None)),
                    Status::Complete((used, wire::http1::chunked::ChunkedEvent::Data(range))) => {
                        Ok((used, Some(ReadEvent::Data(range))))
                    }
                    Status::Complete((used, wire::http1::chunked::ChunkedEvent::End)) => {
                        let trailers = decoder.take_trailers();
                        if !trailers.is_empty() {
                            let names: Vec<&str> =
                                trailers.iter().map(|t| t.name.as_str()).collect();
                            self.end_notes.push(format!(
                                "trailer fields after the last chunk: {}",
                                names.join(", ")
                            ));
                        }
                        self.phase = Phase::Ending;
                        let (more, event) = self.handle_bytes(&input[used..])?;
                        Ok((used + more, event))
                    }
                }
            }
        }
    }

    fn read_head(&mut self, input: &[u8]) -> Result<(usize, Option<ReadEvent>), ResponseError> {
        let head_error = |error| ResponseError::Head {
            error,
            offset_base: 0,
        };
        let (used, status, reason, version, headers, leniencies) = if self.lean {
            // The load generator needs only the status and the framing fields: read the borrowed
            // view and keep just those, without copying the rest of the head.
            let parsed = RawResponse::parse(input, &ParseOptions::LENIENT).map_err(head_error)?;
            let Status::Complete((used, raw)) = parsed else {
                return Ok((0, None));
            };
            let mut headers = Headers::new();
            for f in &raw.fields {
                if f.is("content-length") || f.is("transfer-encoding") || f.is("connection") {
                    let _ = headers.append(f.name, &f.value);
                }
            }
            (
                used,
                raw.status,
                String::new(),
                raw.version,
                headers,
                raw.leniencies_used,
            )
        } else {
            let parsed = ResponseHead::parse(input, &ParseOptions::LENIENT).map_err(head_error)?;
            let Status::Complete((used, head)) = parsed else {
                return Ok((0, None));
            };
            let reason = head.reason().to_string();
            (
                used,
                head.status.as_u16(),
                reason,
                head.version,
                head.headers,
                head.leniencies_used,
            )
        };
        self.seen += used as u64;
        let raw = if self.lean {
            Vec::new()
        } else {
            input[..used].to_vec()
        };
        let mut diagnoses = Vec::new();
        if !leniencies.is_empty() && !self.lean {
            let names: Vec<String> = leniencies.iter().map(|l| l.to_string()).collect();
            let first = match ResponseHead::parse(&raw, &ParseOptions::STRICT) {
                Err(e) => describe_parse_error(&e, &raw, "the server broke a rule"),
                Ok(_) => "the server broke a rule".to_string(),
            };
            diagnoses.push(format!("{first}; read leniently ({})", names.join(", ")));
        }
        if (100..200).contains(&status) && status != 101 {
            let interim = Head {
                status,
                reason,
                version,
                headers,
                raw,
                body: BodyLength::Empty,
                diagnoses,
            };
            return Ok((used, Some(ReadEvent::Interim(interim))));
        }
        let framing = response_body_length(&self.method, status, version, &headers)
            .map_err(ResponseError::Framing)?;
        if let Some(suspect) = framing.close_after {
            diagnoses.push(format!(
                "suspect framing: {suspect}; the connection cannot be reused"
            ));
            self.close_because(CloseReason::SuspectFraming(suspect));
        }
        if !framing.codings.is_empty() {
            diagnoses.push(format!(
                "the body is still in the transfer coding {} (shown as sent)",
                framing.codings.join(", ")
            ));
        }
        match persistence(version, &headers) {
            Persistence::Persists => {}
            Persistence::Close => self.close_because(CloseReason::PeerAskedToClose),
            Persistence::Http10WithoutKeepAlive => self.close_because(CloseReason::Http10),
        }
        let body = framing.body;
        self.phase = match body {
            BodyLength::Empty => Phase::Ending,
            BodyLength::ContentLength(n) => Phase::Body(Body::Length {
                remaining: n,
                total: n,
            }),
            BodyLength::Chunked => {
                let options = ChunkedOptions {
                    bare_lf: true,
                    ..ChunkedOptions::default()
                };
                Phase::Body(Body::Chunked(Box::new(ChunkedDecoder::new(options))))
            }
            BodyLength::CloseDelimited | BodyLength::Tunnel => {
                self.close_because(CloseReason::CloseDelimitedBody);
                if body == BodyLength::CloseDelimited {
                    diagnoses.push(
                        "no Content-Length and no chunked coding: the body ends when the server closes the connection (RFC 9112 §6.3, rule 8), so it cannot be reused".to_string(),
                    );
                }
                Phase::Body(Body::UntilClose { got: 0 })
            }
        };
        let final_head = Head {
            status,
            reason,
            version,
            headers,
            raw,
            body,
            diagnoses,
        };
        Ok((used, Some(ReadEvent::Head(final_head))))
    }

    /// The server closed its side. `buffered` is how many bytes were fed but not used (an
    /// unfinished head). Answers the end of a close-delimited body, or why the response is
    /// incomplete.
    pub fn handle_eof(&mut self, buffered: usize) -> Result<Option<ReadEvent>, ResponseError> {
        match &self.phase {
            Phase::Done => Ok(None),
            Phase::Ending => {
                self.phase = Phase::Done;
                self.close_because(CloseReason::PeerClosed);
                let diagnoses = std::mem::take(&mut self.end_notes);
                Ok(Some(ReadEvent::End {
                    close: self.close,
                    diagnoses,
                }))
            }
            Phase::Head if self.seen == 0 && buffered == 0 => Err(ResponseError::Empty),
            Phase::Head => Err(ResponseError::TruncatedHead {
                received: self.seen as usize + buffered,
            }),
            Phase::Body(Body::UntilClose { .. }) => {
                self.phase = Phase::Done;
                self.close_because(CloseReason::PeerClosed);
                Ok(Some(ReadEvent::End {
                    close: self.close,
                    diagnoses: std::mem::take(&mut self.end_notes),
                }))
            }
            Phase::Body(Body::Length { remaining, total }) => Err(ResponseError::TruncatedBody {
                missing: Some(*remaining),
                got: total - remaining,
            }),
            Phase::Body(Body::Chunked(d)) => Err(ResponseError::TruncatedBody {
                missing: None,
                got: d.consumed(),
            }),
        }
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
#[derive(Debug)]
pub struct ResponseTracker {
    reader: ResponseReader,
    status: u16,
    head_request: bool,
    /// An unfinished head, kept until the rest arrives.
    pending: Vec<u8>,
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
            status: 0,
            head_request,
            pending: Vec::new(),
        }
    }

    /// Gets ready for the next response.
    pub fn reset(&mut self) {
        self.reader.reset();
        self.status = 0;
        self.pending.clear();
    }

    /// Feeds bytes. An unfinished head is kept inside until it completes.
    pub fn handle_bytes(&mut self, input: &[u8]) -> Result<Progress, ResponseError> {
        if self.pending.is_empty() {
            return self.feed(input, input.len());
        }
        // The head arrived in pieces: parse the kept piece and the new bytes together.
        let kept = self.pending.len();
        let mut joined = std::mem::take(&mut self.pending);
        joined.extend_from_slice(input);
        let progress = self.feed(&joined, joined.len());
        match progress {
            Ok(Progress::Done(mut done)) => {
                done.used = done.used.saturating_sub(kept);
                Ok(Progress::Done(done))
            }
            other => other,
        }
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
        match self.reader.handle_eof(self.pending.len())? {
            Some(ReadEvent::End { .. }) => Ok(Some(Done {
                status: self.status,
                keep_alive: false,
                used: 0,
            })),
            _ => Ok(None),
        }
    }

    /// True for a HEAD tracker.
    pub fn is_head(&self) -> bool {
        self.head_request
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
}
