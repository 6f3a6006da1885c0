//! One HTTP/1.1 message as it arrives, for either role: the head, the framing decision, the body
//! and its trailers (RFC 9112 §2 to §7), without I/O.
//!
//! Every program that reads HTTP reads it this way: the server's connection core ([`super::conn`])
//! for requests and for the proxy's origin responses, the raw client, and labs reading a learner's
//! server. A [`MessageReader`] is handed the bytes received and not yet used, and answers how many
//! of them it used and what they made ([`Part`]):
//!
//! ```text
//!   head (Request | Response, after any Interim)  ->  Data* (decoded from its framing)  ->  End (trailers)
//! ```
//!
//! - The head is parsed by [`RequestHead::parse`] or [`ResponseHead::parse`] with the caller's
//!   [`ParseOptions`]; the leniencies it needed are on the head ([`RequestHead::leniencies_used`]).
//! - The framing is decided from the head alone, by RFC 9112 §6.3 ([`super::framing`]); the
//!   decision is kept ([`MessageReader::framing`]), with whether the head lets the connection
//!   persist (RFC 9112 §9.3, [`MessageReader::persistence`]).
//! - The body comes out as ranges of the input (never copied): a `Content-Length` count, the
//!   chunked coding ([`super::chunked`], trailers kept, bare LF only with the named leniency), or
//!   everything until the peer closes.
//!
//! The reader never asks for a byte twice except the head's: until a head is complete nothing is
//! used, and the caller passes the same bytes again with more after them (the head is judged up
//! to its last complete line, so the answer does not depend on how the bytes arrived, and a head
//! dripped byte by byte costs one parse per line). Body bytes are used as they come.
//!
//! ```
//! use wire::http1::reader::{MessageReader, Part, ReaderOptions};
//! use wire::http1::framing::BodyLength;
//!
//! let bytes = b"POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /";
//! let mut reader = MessageReader::requests(ReaderOptions::default());
//! let (mut at, mut body) = (0, Vec::new());
//! loop {
//!     let (used, part) = reader.read(&bytes[at..], false).unwrap();
//!     match part {
//!         Some(Part::Request(head)) => assert_eq!(head.target.path(), Some("/f")),
//!         Some(Part::Data(range)) => body.extend_from_slice(&bytes[at..][range]),
//!         Some(Part::End(trailers)) => { at += used; assert!(trailers.is_empty()); break }
//!         Some(_) => unreachable!("a request reader reads requests"),
//!         None => unreachable!("the whole message is there"),
//!     }
//!     at += used;
//! }
//! assert_eq!(body, b"abc");
//! assert_eq!(&bytes[at..], b"GET /");
//! assert_eq!(reader.framing().map(|f| f.body), Some(BodyLength::Chunked));
//! ```
//!
//! Out of scope: what the message means, limits on a body's total size (the caller counts
//! [`MessageReader::body_received`]), the connection's state (who may send what when: that is
//! [`super::conn`]), and anything about the bytes after the message.

use std::fmt;
use std::ops::Range;

use super::chunked::{ChunkedDecoder, ChunkedError, ChunkedEvent, ChunkedLimits, ChunkedOptions};
use super::conn::persistence::persistence_given;
use super::conn::Persistence;
use super::fields::Field;
use super::framing::{
    request_body_length_given, response_body_length_given, BodyLength, Framing, FramingError,
};
use super::{
    FramingFields, Headers, Method, ParseError, ParseOptions, RawResponse, RequestHead,
    ResponseHead, StatusCode,
};
use crate::Status;

/// How a reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Limits and leniencies for heads; `leniencies.bare_lf` applies to chunked bodies too.
    pub parse: ParseOptions,
    /// Limits for chunked bodies (size lines, extensions, trailers).
    pub chunked: ChunkedLimits,
    /// Judge a head's last line before its LF arrives, so an error shows as soon as its bytes
    /// do (the raw client shows a peer's mistake at once). Off (the default), a head is parsed
    /// only up to its last complete line: the answer is the same however the bytes arrive.
    pub partial_lines: bool,
    /// (Responses) Keep only the fields that decide the framing and the connection
    /// (`Content-Length`, `Transfer-Encoding`, `Connection`) and no reason phrase: a load
    /// generator counting responses copies nothing else.
    pub framing_fields_only: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions::new(ParseOptions::STRICT)
    }
}

impl ReaderOptions {
    /// Heads read with `parse`, default chunked limits.
    pub const fn new(parse: ParseOptions) -> ReaderOptions {
        ReaderOptions {
            parse,
            chunked: ChunkedLimits {
                max_size_line: 1024,
                max_extension_bytes: 16 * 1024,
                max_trailer_bytes: 8 * 1024,
                max_trailer_fields: 64,
            },
            partial_lines: false,
            framing_fields_only: false,
        }
    }

    /// The options the chunked decoder gets: these limits, and bare LF as heads allow it.
    pub fn chunked_options(&self) -> ChunkedOptions {
        ChunkedOptions {
            limits: self.chunked,
            bare_lf: self.parse.leniencies.bare_lf,
        }
    }

    fn head_limit(&self) -> usize {
        self.parse.limits.max_start_line + self.parse.limits.max_header_section
    }
}

/// What some bytes made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A request head; its body follows (at once [`Part::End`] when it has none).
    Request(RequestHead),
    /// An interim (1xx other than 101) response head; the next head follows.
    Interim(ResponseHead),
    /// The final response head (or `101 Switching Protocols`); its body follows, except after
    /// a 101 or a 2xx to CONNECT ([`BodyLength::Tunnel`]), after which nothing is HTTP.
    Response(ResponseHead),
    /// Body data, decoded from its framing: `input[range]` of the bytes just passed.
    Data(Range<usize>),
    /// The message is complete, with the trailer fields of a chunked body (usually none).
    End(Headers),
}

/// What the peer got wrong in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The head (RFC 9112 §2 to §5).
    Head(ParseError),
    /// The framing fields (RFC 9112 §6).
    Framing(FramingError),
    /// The chunked coding (RFC 9112 §7.1).
    Chunked(ChunkedError),
    /// The stream ended in the middle of a head, after this many bytes of it.
    IncompleteHead {
        /// Bytes of the head that had arrived (never 0: an end before any byte is no message).
        received: usize,
    },
    /// The stream ended in the middle of a body (RFC 9112 §8).
    IncompleteBody {
        /// Bytes still owed by `Content-Length` (`None` for a chunked body).
        missing: Option<u64>,
    },
}

impl ReadError {
    /// The status a server answers a request with this error with (400, 414, 431, 501, 505).
    pub fn status_hint(&self) -> u16 {
        match self {
            ReadError::Head(e) => e.status_hint(),
            ReadError::Framing(e) => e.status_hint(),
            ReadError::Chunked(e) => e.status_hint(),
            ReadError::IncompleteHead { .. } | ReadError::IncompleteBody { .. } => 400,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Head(e) => write!(f, "{e}"),
            ReadError::Framing(e) => write!(f, "{e}"),
            ReadError::Chunked(e) => write!(f, "{e}"),
            ReadError::IncompleteHead { received } => write!(
                f,
                "the connection closed after {received} bytes of a message head"
            ),
            ReadError::IncompleteBody { missing: Some(n) } => write!(
                f,
                "the connection closed with {n} bytes of the body missing (RFC 9112 §8)"
            ),
            ReadError::IncompleteBody { missing: None } => write!(
                f,
                "the connection closed before the last chunk (RFC 9112 §8)"
            ),
        }
    }
}

impl std::error::Error for ReadError {}

/// Which messages a reader reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reads {
    Requests,
    /// Responses to a request with this method (HEAD and CONNECT change the framing).
    Responses(Method),
}

/// Where the reader is in the current message. Plain data (no drop, copied freely): the chunked
/// decoder lives beside it in the reader, so moving from one phase to the next costs a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a head (a final one after any interim ones).
    Head,
    /// A `Content-Length` body with this many bytes still owed.
    Length { remaining: u64 },
    /// A chunked body, read by the reader's decoder.
    Chunked,
    /// A body that ends when the peer closes.
    UntilClose,
    /// The body is complete (it had no trailers); [`Part::End`] is owed.
    Ending,
    /// The message is complete (or became a tunnel): nothing more is read until [`MessageReader::next_message`].
    Done,
}

/// Reads one message at a time; see the module documentation.
#[derive(Debug)]
pub struct MessageReader {
    reads: Reads,
    options: ReaderOptions,
    phase: Phase,
    /// The chunked body's decoder, while [`Phase::Chunked`] (kept for the next chunked body).
    decoder: Option<Box<ChunkedDecoder>>,
    /// How many bytes of the input were already searched for the LF that could end a head.
    head_scanned: usize,
    framing: Option<Framing>,
    present: FramingFields,
    persistence: Persistence,
    /// Body bytes handed out for the current message.
    body_received: u64,
    /// Bytes of framed body used (the chunked coding's own bytes included).
    body_used: u64,
    /// Bytes of heads used for the current message (interim heads included).
    head_bytes: u64,
    chunks: u64,
    chunked_bare_lf: bool,
}

impl MessageReader {
    /// A reader of requests (a server's side).
    pub fn requests(options: ReaderOptions) -> MessageReader {
        MessageReader::new(Reads::Requests, options)
    }

    /// A reader of the responses to requests with `method` (a client's side; change it with
    /// [`respond_to`](Self::respond_to) for each request).
    pub fn responses(method: Method, options: ReaderOptions) -> MessageReader {
        MessageReader::new(Reads::Responses(method), options)
    }

    fn new(reads: Reads, options: ReaderOptions) -> MessageReader {
        MessageReader {
            reads,
            options,
            phase: Phase::Head,
            decoder: None,
            head_scanned: 0,
            framing: None,
            present: FramingFields::default(),
            persistence: Persistence::Persists,
            body_received: 0,
            body_used: 0,
            head_bytes: 0,
            chunks: 0,
            chunked_bare_lf: false,
        }
    }

    /// (Responses) The next response answers a request with `method`.
    pub fn respond_to(&mut self, method: Method) {
        self.reads = Reads::Responses(method);
    }

    /// Gets ready for the next message on the same stream, whatever state this one was in.
    pub fn next_message(&mut self) {
        self.phase = Phase::Head;
        self.head_scanned = 0;
        self.framing = None;
        self.present = FramingFields::default();
        self.persistence = Persistence::Persists;
        self.body_received = 0;
        self.body_used = 0;
        self.head_bytes = 0;
        self.chunks = 0;
        self.chunked_bare_lf = false;
    }

    /// The options this reader reads with.
    pub fn options(&self) -> &ReaderOptions {
        &self.options
    }

    /// True until a final head has been read.
    pub fn is_reading_head(&self) -> bool {
        matches!(self.phase, Phase::Head)
    }

    /// True once the message is complete ([`Part::End`] was given) or became a tunnel.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The framing decided from the final head (RFC 9112 §6.3), once it was read.
    pub fn framing(&self) -> Option<&Framing> {
        self.framing.as_ref()
    }

    /// Which framing and connection fields the final head holds.
    pub fn framing_fields(&self) -> FramingFields {
        self.present
    }

    /// Whether the final head lets the connection carry another message (RFC 9112 §9.3; what the
    /// framing implies, a close-delimited body or suspect framing, is in [`framing`](Self::framing)).
    pub fn persistence(&self) -> Persistence {
        self.persistence
    }

    /// Body bytes handed out so far for this message, decoded.
    pub fn body_received(&self) -> u64 {
        self.body_received
    }

    /// Body bytes used so far for this message as they were framed (for a chunked body, its
    /// size lines and trailers too).
    pub fn body_used(&self) -> u64 {
        match (self.phase, &self.decoder) {
            (Phase::Chunked, Some(decoder)) => decoder.consumed(),
            _ => self.body_used,
        }
    }

    /// Bytes of heads used for this message (interim responses' heads included).
    pub fn head_bytes(&self) -> u64 {
        self.head_bytes
    }

    /// (`Content-Length` bodies) Bytes still owed.
    pub fn remaining(&self) -> Option<u64> {
        match self.phase {
            Phase::Length { remaining } => Some(remaining),
            _ => None,
        }
    }

    /// Chunks whose data has begun (0 for a body that is not chunked).
    pub fn chunks(&self) -> u64 {
        match (self.phase, &self.decoder) {
            (Phase::Chunked, Some(decoder)) => decoder.chunks(),
            _ => self.chunks,
        }
    }

    /// True once the chunked body needed the bare-LF leniency.
    pub fn chunked_bare_lf_used(&self) -> bool {
        match (self.phase, &self.decoder) {
            (Phase::Chunked, Some(decoder)) => decoder.bare_lf_used(),
            _ => self.chunked_bare_lf,
        }
    }

    /// Reads from `input`, the bytes received and not yet used; `eof` says the peer has closed
    /// and no more will come. Answers how many bytes were used and what they made; `(used,
    /// None)` means: drop the `used` bytes and call again when more have arrived.
    ///
    /// At `eof` with no input before a head: `(0, None)`, no message (the peer closed between
    /// messages). After [`Part::End`] (or a tunnel's head) every call answers `(0, None)` until
    /// [`next_message`](Self::next_message).
    pub fn read(&mut self, input: &[u8], eof: bool) -> Result<(usize, Option<Part>), ReadError> {
        match self.phase {
            Phase::Head => self.read_head(input, eof),
            Phase::Done => Ok((0, None)),
            Phase::Ending => {
                self.phase = Phase::Done;
                Ok((0, Some(Part::End(Headers::new()))))
            }
            Phase::Length { remaining } => {
                if input.is_empty() {
                    return if eof {
                        Err(ReadError::IncompleteBody {
                            missing: Some(remaining),
                        })
                    } else {
                        Ok((0, None))
                    };
                }
                let take = remaining.min(input.len() as u64) as usize;
                let remaining = remaining - take as u64;
                self.phase = if remaining == 0 {
                    Phase::Ending
                } else {
                    Phase::Length { remaining }
                };
                self.body_received += take as u64;
                self.body_used += take as u64;
                Ok((take, Some(Part::Data(0..take))))
            }
            Phase::UntilClose => {
                if !input.is_empty() {
                    self.body_received += input.len() as u64;
                    self.body_used += input.len() as u64;
                    Ok((input.len(), Some(Part::Data(0..input.len()))))
                } else if eof {
                    self.phase = Phase::Done;
                    Ok((0, Some(Part::End(Headers::new()))))
                } else {
                    Ok((0, None))
                }
            }
            Phase::Chunked => self.read_chunked(input, eof),
        }
    }

    fn read_chunked(
        &mut self,
        input: &[u8],
        eof: bool,
    ) -> Result<(usize, Option<Part>), ReadError> {
        let decoder = self
            .decoder
            .as_mut()
            .expect("a chunked body has its decoder");
        match decoder.decode(input) {
            Err(e) => Err(ReadError::Chunked(e)),
            Ok(Status::Complete((used, ChunkedEvent::Data(range)))) => {
                self.body_received += range.len() as u64;
                Ok((used, Some(Part::Data(range))))
            }
            Ok(Status::Complete((used, ChunkedEvent::End))) => {
                let trailers = decoder
                    .take_trailers()
                    .into_iter()
                    .map(|t| Field::from_parsed(t.name.as_bytes(), &t.value))
                    .collect();
                self.body_used = decoder.consumed();
                self.chunks = decoder.chunks();
                self.chunked_bare_lf = decoder.bare_lf_used();
                self.phase = Phase::Done;
                Ok((used, Some(Part::End(trailers))))
            }
            Ok(Status::Partial) if eof => Err(ReadError::IncompleteBody { missing: None }),
            Ok(Status::Partial) => Ok((input.len(), None)),
        }
    }

    /// How much of `input` the head parser should see, or `None` when nothing new can be
    /// decided: up to the last LF, or everything once the input is over the limit or ended.
    fn head_view_len(&mut self, input: &[u8], eof: bool) -> Option<usize> {
        if eof || self.options.partial_lines || input.len() > self.options.head_limit() {
            return Some(input.len());
        }
        let scanned = self.head_scanned.min(input.len());
        self.head_scanned = input.len();
        input[scanned..]
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|p| scanned + p + 1)
    }

    // The head path hands the head up by value through as few layers as possible: each layer
    // that rewraps a 160-byte head in another type costs a copy (bench/wire's `exchange`
    // counts them). `read_request_head` and `read_response_head` build `read`'s own answer.

    fn read_head(&mut self, input: &[u8], eof: bool) -> Result<(usize, Option<Part>), ReadError> {
        let Some(view) = self.head_view_len(input, eof) else {
            return Ok((0, None));
        };
        let input = &input[..view];
        match &self.reads {
            Reads::Requests => self.read_request_head(input, eof),
            Reads::Responses(_) => self.read_response_head(input, eof),
        }
    }

    /// The head is not complete in `input`: wait for more, or at the end of the stream, the
    /// peer stopped in the middle of it.
    fn head_incomplete(input: &[u8], eof: bool) -> Result<(usize, Option<Part>), ReadError> {
        if eof && !input.is_empty() {
            Err(ReadError::IncompleteHead {
                received: input.len(),
            })
        } else {
            Ok((0, None))
        }
    }

    /// A head of `used` bytes was read.
    fn head_used(&mut self, used: usize) {
        self.head_scanned = 0;
        self.head_bytes += used as u64;
    }

    fn read_request_head(
        &mut self,
        input: &[u8],
        eof: bool,
    ) -> Result<(usize, Option<Part>), ReadError> {
        let (used, head) = match RequestHead::parse(input, &self.options.parse) {
            Err(e) => return Err(ReadError::Head(e)),
            Ok(Status::Partial) => return Self::head_incomplete(input, eof),
            Ok(Status::Complete(done)) => done,
        };
        // One pass finds the fields that matter here; only their values are read.
        let present = head.headers.framing_fields();
        let framing = request_body_length_given(head.version, &head.headers, present)
            .map_err(ReadError::Framing)?;
        self.persistence = persistence_given(head.version, &head.headers, present);
        self.start_body(framing, present);
        self.head_used(used);
        Ok((used, Some(Part::Request(head))))
    }

    fn read_response_head(
        &mut self,
        input: &[u8],
        eof: bool,
    ) -> Result<(usize, Option<Part>), ReadError> {
        let parsed = if self.options.framing_fields_only {
            framing_only_response(input, &self.options.parse)
        } else {
            ResponseHead::parse(input, &self.options.parse)
        };
        let (used, head) = match parsed {
            Err(e) => return Err(ReadError::Head(e)),
            Ok(Status::Partial) => return Self::head_incomplete(input, eof),
            Ok(Status::Complete(done)) => done,
        };
        let status = head.status.as_u16();
        if (100..200).contains(&status) && status != 101 {
            self.head_used(used);
            return Ok((used, Some(Part::Interim(head))));
        }
        let Reads::Responses(method) = &self.reads else {
            unreachable!("read_response_head reads responses")
        };
        let present = head.headers.framing_fields();
        let framing =
            response_body_length_given(method, status, head.version, &head.headers, present)
                .map_err(ReadError::Framing)?;
        self.persistence = persistence_given(head.version, &head.headers, present);
        if status == 101 || framing.body == BodyLength::Tunnel {
            self.framing = Some(framing);
            self.present = present;
            self.phase = Phase::Done;
        } else {
            self.start_body(framing, present);
        }
        self.head_used(used);
        Ok((used, Some(Part::Response(head))))
    }

    fn start_body(&mut self, framing: Framing, present: FramingFields) {
        self.phase = match framing.body {
            BodyLength::Empty | BodyLength::Tunnel | BodyLength::ContentLength(0) => Phase::Ending,
            BodyLength::ContentLength(n) => Phase::Length { remaining: n },
            BodyLength::Chunked => {
                let fresh = ChunkedDecoder::new(self.options.chunked_options());
                match &mut self.decoder {
                    // The last chunked body's memory serves this one.
                    Some(decoder) => **decoder = fresh,
                    None => self.decoder = Some(Box::new(fresh)),
                }
                Phase::Chunked
            }
            BodyLength::CloseDelimited => Phase::UntilClose,
        };
        self.framing = Some(framing);
        self.present = present;
    }
}

/// A response head keeping only the fields that decide framing and persistence.
fn framing_only_response(
    input: &[u8],
    options: &ParseOptions,
) -> Result<Status<(usize, ResponseHead)>, ParseError> {
    let Status::Complete((used, raw)) = RawResponse::parse(input, options)? else {
        return Ok(Status::Partial);
    };
    let mut headers = Headers::new();
    for f in &raw.fields {
        if f.is("content-length") || f.is("transfer-encoding") || f.is("connection") {
            let _ = headers.append(f.name, &f.value);
        }
    }
    let mut head =
        ResponseHead::new(StatusCode::new(raw.status).expect("the parser checked 100..=599"));
    let _ = head.set_reason("");
    head.version = raw.version;
    head.headers = headers;
    head.leniencies_used = raw.leniencies_used;
    Ok(Status::Complete((used, head)))
}

#[cfg(test)]
mod tests;
