//! The HTTP/1.1 connection state machine, for both roles (RFC 9112 §9, RFC 9110 §7.6 and §10.1.1).
//!
//! A [`Conn`] is fed the bytes that arrive ([`Conn::receive_buffer`] and
//! [`Conn::handle_received`], or [`Conn::handle_bytes`]) and the end of the stream
//! ([`Conn::handle_eof`]); it answers with [`Event`]s ([`Conn::poll_event`]): message heads, body
//! data, the end of each message with its trailers, and what to do next (read more, wait, close).
//! The peer's messages are read by one [`MessageReader`](super::reader::MessageReader) (head,
//! framing decision, body, trailers: the reader every HTTP reader in the workspace uses); this
//! file adds who may send what when. What the application sends goes through [`Conn::send_request`] / [`Conn::send_response`],
//! [`Conn::send_data`] and [`Conn::send_end`], which frame the body, and comes back out as bytes
//! to write ([`Conn::poll_transmit`], [`Conn::advance_transmit`]). It never touches a socket.
//!
//! A shell's loop (a server; a client is the same with `send_request`):
//!
//! ```text
//! loop {
//!     match conn.poll_event()? {
//!         Event::Request(head) => handler.start(head),       // may send_response at once
//!         Event::Data(bytes) => handler.body(bytes),
//!         Event::EndOfMessage(trailers) => handler.finish(trailers), // sends the response
//!         Event::NeedData => read the socket into conn.receive_buffer(), or handle_eof(),
//!         Event::Paused => wait until the response is sent (the handler owes it),
//!         Event::SwitchedProtocol => hand the socket and conn.take_received() over,
//!         Event::ConnectionClosed(reason) => { flush; close; break }
//!         ...
//!     }
//!     while let Some(t) = conn.poll_transmit() { write it; conn.advance_transmit(n) }
//! }
//! ```
//!
//! # The state machine
//!
//! Each side (client, server) has a [`State`]; [`Conn::client_state`] and
//! [`Conn::server_state`] show them, and `conn/state.rs` holds every transition. The client's
//! side moves when the client sends, the server's when the server sends, except that a request
//! moves the server from `Idle` to `SendResponse`:
//!
//! ```text
//!   CLIENT SIDE                              SERVER SIDE
//!
//!   Idle                                     Idle
//!    |  sends a request head  - - - - - - - - -> |  (moved by the client's request)
//!    v                                           v
//!   SendBody <--+ data                       SendResponse <--+ 1xx interim response
//!    |  |       |                             |    |         |
//!    |  +-------+                             |    +---------+
//!    |                                        |
//!    | end of message                         | final response head
//!    |                                        v
//!    +-- asked to switch (CONNECT, Upgrade)  SendBody <--+ data
//!    |     v                                  |  |       |
//!    |   MightSwitchProtocol                  |  +-------+
//!    |     |  server sends 101, or 2xx to     | end of message
//!    |     |  CONNECT: both sides ----------> | - - - - -> SwitchedProtocol (both sides)
//!    |     |  any other final response        |
//!    v     v                                  v
//!   Done                                     Done
//!    |                                        |
//!    +-- both Done, keep-alive on: both go back to Idle (the next exchange) --+
//!    |                                        |
//!    v  keep-alive off                        v  keep-alive off
//!   MustClose -- closes --> Closed           MustClose -- closes --> Closed
//!
//!   either side, any state: breaks the protocol, or closes mid-message --> Error
//! ```
//!
//! The server answers 101 or a 2xx to CONNECT straight from `SendResponse`; the switch needs the
//! client in `MightSwitchProtocol` (its request complete). After a request that could not be
//! read (client in `Error`), the server may still go from `Idle` to `SendBody` with one error
//! response.
//!
//! Keep-alive ends (and [`CloseReason`] says why) when: a message says `Connection: close`; the
//! peer speaks HTTP/1.0 without `Connection: keep-alive` (RFC 9112 §9.3); a response body is
//! delimited by closing; the request limit per connection is reached; a framing is suspect;
//! a request body could not be read or drained; or the peer broke the protocol. The first two
//! are [`persistence`], a pure function of one head that shells reading messages without a
//! `Conn` (the raw client) call too, so there is one rule.
//!
//! # Pipelining, 100-continue, zero copies
//!
//! - The server reads one request at a time: while its response to request N is not complete,
//!   [`Conn::poll_event`] answers [`Event::Paused`] and leaves request N+1 in the buffer, however
//!   many requests arrived in one read.
//! - `Expect: 100-continue` (RFC 9110 §10.1.1): the server core queues `100 Continue` the first
//!   time the application polls for body data and none has arrived yet. If the application sends
//!   a final response first, no `100` is sent; the connection then closes after the response
//!   unless the client had started sending the body anyway, which is then drained.
//! - A response finished before its request body was read: the rest of the body is drained
//!   (up to [`ConnOptions::max_drain`]) without events, then the next request is read.
//! - Body data comes out as slices of the receive buffer; heads are written straight into the
//!   transmit buffer; [`Conn::send_body_from_shell`] lets the shell write a file's bytes itself
//!   (`sendfile`) while the core keeps `Content-Length` honest and adds chunk framing around them.
//!
//! What the core decided and used is there to ask: the framing of the peer's message and of
//! this side's ([`Conn::their_framing`], [`Conn::our_framing`]), and the bytes each event used
//! exactly as received ([`Conn::event_bytes`]: a shell showing a request as it arrived keeps
//! no copy of its own). When the shell's timer for the peer's message runs out,
//! [`Conn::handle_timeout`] ends it and says whether the one final response, `408`, is due; it
//! goes out through [`Conn::send_response`] like any other.
//!
//! Out of scope: what a request means (the server's handlers), caching, the clock (the shell
//! owns the timers and closes idle connections), and pipelining on the client side (one request
//! at a time).

use std::fmt;
use std::ops::Range;

use super::chunked::{ChunkedError, ChunkedLimits, TrailerEncodeError};
use super::framing::{parse_decimal, BodyLength, Framing, FramingError, SuspectFraming};
use super::reader::{MessageReader, Part, ReadError, ReaderOptions};
use super::{
    FramingFields, Headers, Method, ParseError, ParseOptions, RequestHead, ResponseHead, Version,
};

mod body;
pub(crate) mod persistence;
mod receive_buffer;
mod state;
mod transmit;

use persistence::persistence_given;
pub use persistence::{persistence, Persistence};
pub use state::{BadTransition, State};
pub use transmit::Transmit;

/// The memory of a connection's buffers, taken from one with nothing buffered
/// ([`Conn::take_buffers`]) and lent to another ([`Conn::provide_buffers`]): a shell that keeps
/// a few of these spares each new or waking connection an allocation and the zeroing of its
/// receive buffer. What is inside is the core's business.
#[derive(Debug, Default)]
pub struct Buffers {
    received: Vec<u8>,
    transmit: Vec<u8>,
}

impl Buffers {
    /// Bytes of memory held.
    pub fn capacity(&self) -> usize {
        self.received.capacity() + self.transmit.capacity()
    }
}

use body::BodyWriter;
use receive_buffer::ReceiveBuffer;
use state::{Outcome, States, Step};
use transmit::TransmitQueue;

/// Which end of the connection this side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends requests, receives responses.
    Client,
    /// Receives requests, sends responses.
    Server,
}

impl Role {
    /// The other end.
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Client => "client",
            Role::Server => "server",
        })
    }
}

/// How a connection reads and what it tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnOptions {
    /// Limits and leniencies for heads; `leniencies.bare_lf` applies to chunked bodies too.
    pub parse: ParseOptions,
    /// Limits for chunked bodies (size lines, extensions, trailers).
    pub chunked: ChunkedLimits,
    /// Largest body accepted from the peer; a server answers a larger request with 413.
    pub max_body: Option<u64>,
    /// Most requests on one connection; the response to the last one says `Connection: close`.
    pub max_requests: Option<u64>,
    /// Most bytes of an unread request body the server drains after its response, to keep the
    /// connection; past that it closes instead.
    pub max_drain: u64,
}

impl Default for ConnOptions {
    fn default() -> Self {
        ConnOptions {
            parse: ParseOptions::STRICT,
            chunked: ChunkedLimits::default(),
            max_body: None,
            max_requests: None,
            max_drain: 256 * 1024,
        }
    }
}

/// Something the peer did, for the application.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// (Server) A request head. Its body follows as [`Event::Data`], then
    /// [`Event::EndOfMessage`] (at once when there is no body).
    Request(RequestHead),
    /// (Client) An interim response: 100 Continue, 103 Early Hints, ... The final one follows.
    InformationalResponse(ResponseHead),
    /// (Client) The final response head (or `101 Switching Protocols`). Its body follows.
    Response(ResponseHead),
    /// Body data, decoded from its framing: a slice of the receive buffer.
    Data(&'a [u8]),
    /// The end of the message, with the trailer fields of a chunked body (usually none).
    EndOfMessage(Headers),
    /// Nothing more can be decided without more bytes: read from the socket.
    NeedData,
    /// The next message may be in the buffer but is not read until this side finishes its own
    /// message (a server's response to the current request; a client's request body).
    Paused,
    /// The connection now carries another protocol or a tunnel: take the bytes already received
    /// with [`Conn::take_received`] and stop using HTTP on it.
    SwitchedProtocol,
    /// No more HTTP on this connection: write what [`Conn::poll_transmit`] still has, then
    /// close it. When the peer may still be sending (a server closing after an error or with a
    /// request body unread), shut down the writing side first and read and discard for a moment
    /// before closing: closing a socket with unread bytes makes the kernel send a reset, which
    /// can destroy the response before the peer reads it (RFC 9112 §9.6).
    ConnectionClosed(CloseReason),
}

/// Why a connection is not kept for another message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed its side between messages.
    PeerClosed,
    /// The peer's message said `Connection: close` (RFC 9112 §9.6).
    PeerAskedToClose,
    /// This side's message said `Connection: close`.
    LocalAskedToClose,
    /// The peer spoke HTTP/1.0 without `Connection: keep-alive` (RFC 9112 §9.3).
    Http10,
    /// A response body delimited by the end of the connection (RFC 9112 §6.3 step 8).
    CloseDelimitedBody,
    /// [`ConnOptions::max_requests`] requests have been read on this connection.
    RequestLimit,
    /// The peer's framing could be read but is suspect (RFC 9112 §6.1, §6.3).
    SuspectFraming(SuspectFraming),
    /// The final response was sent before the request body was read and it could not be drained
    /// (a `100 Continue` was never sent, or the rest exceeds [`ConnOptions::max_drain`]).
    UnreadRequestBody,
    /// The peer broke the protocol (the [`ConnError`] was returned by [`Conn::poll_event`]).
    ProtocolError,
    /// The shell's timer for the peer's message ran out ([`Conn::handle_timeout`]).
    TimedOut,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("the peer closed the connection"),
            CloseReason::PeerAskedToClose => f.write_str("the peer sent Connection: close"),
            CloseReason::LocalAskedToClose => f.write_str("this side sent Connection: close"),
            CloseReason::Http10 => {
                f.write_str("HTTP/1.0 without Connection: keep-alive (RFC 9112 §9.3)")
            }
            CloseReason::CloseDelimitedBody => {
                f.write_str("the response body ends when the connection closes (RFC 9112 §6.3)")
            }
            CloseReason::RequestLimit => f.write_str("the request limit for one connection"),
            CloseReason::SuspectFraming(why) => write!(f, "suspect framing: {why}"),
            CloseReason::UnreadRequestBody => {
                f.write_str("the response was sent before the request body was read")
            }
            CloseReason::ProtocolError => f.write_str("the peer broke the protocol"),
            CloseReason::TimedOut => f.write_str("the peer's message did not arrive in time"),
        }
    }
}

/// What the peer got wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The message head (RFC 9112 §2 to §5).
    Head(ParseError),
    /// The body framing fields (RFC 9112 §6).
    Framing(FramingError),
    /// The chunked coding (RFC 9112 §7.1).
    Chunked(ChunkedError),
    /// A body larger than [`ConnOptions::max_body`].
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The connection closed in the middle of a head.
    IncompleteHead {
        /// How many bytes of it had arrived.
        received: usize,
    },
    /// The connection closed in the middle of a body.
    IncompleteBody {
        /// Bytes still owed by `Content-Length` (unknown for a chunked body).
        missing: Option<u64>,
    },
    /// (Client) Bytes arrived while no request was outstanding.
    UnsolicitedResponse {
        /// The first of them.
        first: u8,
    },
    /// (Client) `101 Switching Protocols` to a request that did not ask to switch, or before the
    /// request was complete (RFC 9110 §15.2.2).
    UnexpectedSwitch,
}

impl From<ReadError> for ProtocolError {
    fn from(e: ReadError) -> ProtocolError {
        match e {
            ReadError::Head(e) => ProtocolError::Head(e),
            ReadError::Framing(e) => ProtocolError::Framing(e),
            ReadError::Chunked(e) => ProtocolError::Chunked(e),
            ReadError::IncompleteHead { received } => ProtocolError::IncompleteHead { received },
            ReadError::IncompleteBody { missing } => ProtocolError::IncompleteBody { missing },
        }
    }
}

/// The peer broke HTTP/1.1; the connection ends (see [`ConnError::status_hint`] for the answer a
/// server gives first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnError {
    /// The side that broke the protocol: always the peer.
    pub peer: Role,
    /// What it did.
    pub error: ProtocolError,
}

impl ConnError {
    /// The status to answer with: for a bad request, what the server sends before closing
    /// (400, 413, 414, 431, 501, 505); for a bad response, what a proxy sends its client (502).
    pub fn status_hint(&self) -> u16 {
        if self.peer == Role::Server {
            return 502;
        }
        match &self.error {
            ProtocolError::Head(e) => e.status_hint(),
            ProtocolError::Framing(e) => e.status_hint(),
            ProtocolError::Chunked(e) => e.status_hint(),
            ProtocolError::BodyTooLarge { .. } => 413,
            _ => 400,
        }
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} broke HTTP/1.1: ", self.peer)?;
        match &self.error {
            ProtocolError::Head(e) => write!(f, "{e}"),
            ProtocolError::Framing(e) => write!(f, "{e}"),
            ProtocolError::Chunked(e) => write!(f, "{e}"),
            ProtocolError::BodyTooLarge { limit } => {
                write!(f, "a body larger than the limit of {limit} bytes")
            }
            ProtocolError::IncompleteHead { received } => write!(
                f,
                "the connection closed after {received} bytes of a message head"
            ),
            ProtocolError::IncompleteBody { missing: Some(n) } => write!(
                f,
                "the connection closed with {n} bytes of the body missing (RFC 9112 §8)"
            ),
            ProtocolError::IncompleteBody { missing: None } => write!(
                f,
                "the connection closed before the last chunk (RFC 9112 §8)"
            ),
            ProtocolError::UnsolicitedResponse { first } => {
                f.write_str("bytes starting with `")?;
                crate::trace::escape::write_byte(f, *first, crate::trace::escape::Also::Spaces)?;
                f.write_str("` arrived while no request was outstanding")
            }
            ProtocolError::UnexpectedSwitch => f.write_str(
                "101 Switching Protocols to a request that did not ask for it (RFC 9110 §15.2.2)",
            ),
        }
    }
}

impl std::error::Error for ConnError {}

/// This side asked for something the protocol does not allow now: a bug in the application,
/// never the peer's fault. Nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The message does not fit the state (a response before a request, data after the end, ...).
    WrongState(BadTransition),
    /// A request from a server or a response from a client.
    WrongRole(Role),
    /// Body data for a message that has none (HEAD, 1xx, 204, 304, or no framing fields on a
    /// request).
    NoBodyAllowed,
    /// More data than the `Content-Length` sent.
    BodyLongerThanContentLength {
        /// Bytes over.
        excess: u64,
    },
    /// The message ended before its `Content-Length` was met.
    BodyShorterThanContentLength {
        /// Bytes missing.
        missing: u64,
    },
    /// Trailer fields on a body that is not chunked.
    TrailersNeedChunked,
    /// A trailer field that cannot be sent.
    InvalidTrailer(TrailerEncodeError),
    /// The head's framing fields are not something this side may send: both `Content-Length` and
    /// `Transfer-Encoding`, a coding other than `chunked`, an invalid `Content-Length`, or
    /// `Transfer-Encoding` to an HTTP/1.0 peer (RFC 9112 §6.1).
    InvalidFraming(&'static str),
    /// [`Conn::advance_transmit`] was told more bytes were written than were offered.
    AdvancedPastTransmit,
    /// A 1xx interim response to an HTTP/1.0 client, which does not know them (RFC 9110 §15.2:
    /// a server must not send one).
    InterimToHttp10,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::WrongState(bad) => write!(f, "{bad}"),
            SendError::WrongRole(role) => write!(f, "a {role} cannot send that"),
            SendError::NoBodyAllowed => f.write_str("this message cannot have a body"),
            SendError::BodyLongerThanContentLength { excess } => {
                write!(f, "{excess} bytes more than the Content-Length")
            }
            SendError::BodyShorterThanContentLength { missing } => {
                write!(
                    f,
                    "the body ended {missing} bytes short of its Content-Length"
                )
            }
            SendError::TrailersNeedChunked => {
                f.write_str("trailer fields need the chunked coding (RFC 9112 §7.1.2)")
            }
            SendError::InvalidTrailer(e) => write!(f, "{e}"),
            SendError::InvalidFraming(why) => write!(f, "cannot send this head: {why}"),
            SendError::AdvancedPastTransmit => {
                f.write_str("advanced past the bytes poll_transmit offered")
            }
            SendError::InterimToHttp10 => f.write_str(
                "an HTTP/1.0 client cannot be sent a 1xx interim response (RFC 9110 §15.2)",
            ),
        }
    }
}

impl std::error::Error for SendError {}

/// One step of the peer's body, before it becomes an [`Event`]: small, so the body path never
/// moves a head-sized value.
enum BodyStep {
    /// [`Event::Data`]: this range of the receive buffer's bytes.
    Data(Range<usize>),
    NeedData,
    EndOfMessage(Headers),
    ConnectionClosed(CloseReason),
    /// Drained without an event: look again.
    Drained,
}

/// An HTTP/1.1 connection, client or server, without I/O. See the module documentation.
#[derive(Debug)]
pub struct Conn {
    role: Role,
    options: ConnOptions,
    states: States,
    close_reason: Option<CloseReason>,
    received: ReceiveBuffer,
    /// The peer closed its side.
    eof: bool,
    transmit: TransmitQueue,
    /// The peer's current message: its head, framing and body (one reader for both roles).
    message: MessageReader,
    /// Body bytes of the peer's current message so far (or drained since the response ended).
    body_received: u64,
    /// The body of this side's current message.
    writer: BodyWriter,
    /// The framing this side's current message was sent with.
    our_framing: Option<BodyLength>,
    /// This side's last message had no body and was ended by the core; `send_end` may still be
    /// called once and does nothing.
    ended_by_core: bool,
    /// The peer's HTTP version, from its last head.
    peer_version: Option<Version>,
    /// The method of the current request (needed to frame the response).
    method: Option<Method>,
    /// Server: the request expects `100 Continue` and none has been sent. Client: the request
    /// was sent with `Expect: 100-continue` and no response has arrived yet.
    expecting_continue: bool,
    /// Server: the response is complete and the rest of the request body is being dropped.
    draining: bool,
    /// Requests read (server) or sent (client).
    requests: u64,
    /// An error to report at the next poll, after the data that came before it.
    pending_error: Option<ProtocolError>,
}

impl Conn {
    /// A connection for `role`.
    pub fn new(role: Role, options: ConnOptions) -> Conn {
        Conn {
            role,
            options,
            states: States::default(),
            close_reason: None,
            received: ReceiveBuffer::default(),
            eof: false,
            transmit: TransmitQueue::default(),
            message: {
                let options = ReaderOptions {
                    chunked: options.chunked,
                    ..ReaderOptions::new(options.parse)
                };
                match role {
                    Role::Server => MessageReader::requests(options),
                    // Set for each request by `send_request`.
                    Role::Client => MessageReader::responses(Method::Get, options),
                }
            },
            body_received: 0,
            writer: BodyWriter::Empty,
            our_framing: None,
            ended_by_core: false,
            peer_version: None,
            method: None,
            expecting_continue: false,
            draining: false,
            requests: 0,
            pending_error: None,
        }
    }

    /// A server-side connection (it reads requests).
    pub fn server(options: ConnOptions) -> Conn {
        Conn::new(Role::Server, options)
    }

    /// A client-side connection (it sends requests).
    pub fn client(options: ConnOptions) -> Conn {
        Conn::new(Role::Client, options)
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The client side's state.
    pub fn client_state(&self) -> State {
        self.states.client
    }

    /// The server side's state.
    pub fn server_state(&self) -> State {
        self.states.server
    }

    /// This side's state.
    pub fn our_state(&self) -> State {
        self.states.of(self.role)
    }

    /// The peer's state.
    pub fn their_state(&self) -> State {
        self.states.of(self.role.peer())
    }

    /// Why the connection will not be kept, once that is decided.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    /// True while the connection may carry another exchange after the current one.
    pub fn is_keep_alive(&self) -> bool {
        self.states.keep_alive
    }

    /// Requests read (server) or sent (client) on this connection.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// (Client) The request asked for `100 Continue` and no response has arrived yet: hold the
    /// body back for a while (the shell's timer decides how long, typically a second).
    pub fn is_waiting_for_continue(&self) -> bool {
        self.role == Role::Client && self.expecting_continue
    }

    /// True when the current response may carry a body (false for HEAD, 1xx, 204, 304 and before
    /// a response head was sent). A handler serving GET and HEAD alike checks this.
    pub fn can_send_data(&self) -> bool {
        self.our_state() == State::SendBody && self.writer != BodyWriter::Empty
    }

    // ----- input -----

    /// Room to read into, at least 8 KiB: `let n = socket.read(conn.receive_buffer())?`, then
    /// [`handle_received(n)`](Self::handle_received) (or [`handle_eof`](Self::handle_eof) when
    /// `n == 0`).
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        self.received.spare()
    }

    /// Records that `n` bytes were read into [`receive_buffer`](Self::receive_buffer).
    pub fn handle_received(&mut self, n: usize) {
        self.received.commit(n);
    }

    /// Feeds bytes the shell already has (a copy; [`receive_buffer`](Self::receive_buffer)
    /// avoids it).
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        self.received.extend(bytes);
    }

    /// Records that the peer closed its side (a read returned 0).
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// Records that the shell's timer for the peer's current message ran out: a head or a body
    /// that stopped arriving (the shell owns the clock and decides how long is too long). The
    /// peer's side goes to `Error` and the connection will not be kept; a server whose response
    /// has not started may still send one final response, `408 Request Timeout` (RFC 9110
    /// §15.5.9), which is how a shell tells a client that stopped halfway through a head.
    ///
    /// Returns true when that response is due: this side is a server and its response has not
    /// started. The shell sends it like any other, with [`send_response`](Self::send_response)
    /// (the core adds `Connection: close`), then closes once it is written:
    ///
    /// ```text
    /// at the read deadline, mid-request:
    ///     if conn.handle_timeout() { conn.send_response(408 head); send_data(text); send_end() }
    ///     flush poll_transmit; close      // poll_event now says ConnectionClosed(TimedOut)
    /// ```
    pub fn handle_timeout(&mut self) -> bool {
        self.end_keep_alive(CloseReason::TimedOut);
        let _ = self.states.apply(self.role.peer(), Step::ProtocolError);
        self.role == Role::Server && matches!(self.our_state(), State::Idle | State::SendResponse)
    }

    /// True when reading from the socket is useful now: the core is waiting for the peer's bytes,
    /// and the buffer is not already holding more than a head can be.
    pub fn wants_read(&self) -> bool {
        if self.eof {
            return false;
        }
        let reading = match self.their_state() {
            State::Idle => self.our_state() == State::Idle,
            State::SendResponse | State::SendBody => true,
            _ => false,
        };
        reading && self.received.len() <= self.head_limit()
    }

    /// How many received bytes are buffered and not yet used.
    pub fn buffered_len(&self) -> usize {
        self.received.len()
    }

    /// The received bytes the last [`poll_event`](Self::poll_event) used, exactly as they
    /// arrived: for [`Event::Request`] or [`Event::Response`] the head (obs-fold, bare LF and
    /// all), for [`Event::Data`] the framed bytes (a chunk's size line and CRLF included), for
    /// [`Event::EndOfMessage`] the last chunk and the trailers; for [`Event::NeedData`] the part
    /// of a chunk's framing it read ahead. Empty when the event used none (a body with
    /// `Content-Length` ends without a byte of its own). A shell that shows a request as it
    /// was sent concatenates these; no copy of what it reads is needed.
    ///
    /// The bytes stay valid until the next [`receive_buffer`](Self::receive_buffer),
    /// [`handle_bytes`](Self::handle_bytes) or [`take_received`](Self::take_received): then
    /// this is empty until the next event.
    pub fn event_bytes(&self) -> &[u8] {
        self.received.step_bytes()
    }

    /// How the peer's current message is framed (RFC 9112 §6.3), as decided from its head: once
    /// the head was read and until the next message starts.
    pub fn their_framing(&self) -> Option<&Framing> {
        self.message.framing()
    }

    /// How this side's current message is framed, as decided when its head was sent (the
    /// fields it carried, or what the core added): until the exchange ends.
    /// [`BodyLength::Empty`] for a message that has no body (HEAD, 1xx, 204, 304,
    /// `Content-Length: 0`, a request without framing fields); [`BodyLength::Tunnel`] after
    /// `101` or a 2xx to CONNECT.
    pub fn our_framing(&self) -> Option<BodyLength> {
        self.our_framing
    }

    /// Takes every byte received and not used as HTTP: after [`Event::SwitchedProtocol`], the
    /// first bytes of the other protocol or the tunnel.
    pub fn take_received(&mut self) -> Vec<u8> {
        self.received.take()
    }

    /// Gives back the buffers' memory when nothing is buffered; a shell calls it on an idle
    /// keep-alive connection it parks (10,000 idle connections then hold almost nothing).
    pub fn release_idle_buffers(&mut self) {
        self.received.release_if_empty();
        self.transmit.release_if_empty();
    }

    /// Takes the buffers' memory out, the parts that hold nothing (all of it on an idle
    /// connection), for [`provide_buffers`](Self::provide_buffers) on another connection. Like
    /// [`release_idle_buffers`](Self::release_idle_buffers), but the memory is kept.
    pub fn take_buffers(&mut self) -> Buffers {
        Buffers {
            received: self.received.take_if_empty(),
            transmit: self.transmit.take_if_empty(),
        }
    }

    /// Lends this connection buffers from [`take_buffers`](Self::take_buffers); each part is
    /// used only where the connection holds no memory of its own, and dropped otherwise.
    pub fn provide_buffers(&mut self, buffers: Buffers) {
        self.received.provide(buffers.received);
        self.transmit.provide(buffers.transmit);
    }

    // ----- events -----

    /// The next thing the peer did, or what the shell should do. See [`Event`].
    ///
    /// After an `Err`, the connection is over: a server sends the error response
    /// ([`ConnError::status_hint`]) if [`our_state`](Self::our_state) allows one, then closes.
    pub fn poll_event(&mut self) -> Result<Event<'_>, ConnError> {
        self.received.begin_step();
        // Each event is built where it is decided, in this function's own return slot (a head
        // is 160 bytes: every move into another type would be a copy).
        if let Some(error) = self.pending_error.take() {
            return Err(self.fail(error));
        }
        loop {
            let ours = self.our_state();
            let theirs = self.their_state();
            match theirs {
                State::Idle if self.role == Role::Client => {
                    // No request outstanding: nothing may arrive but the end of the connection.
                    if let Some(&first) = self.received.data().first() {
                        return Err(self.fail(ProtocolError::UnsolicitedResponse { first }));
                    }
                    if self.eof {
                        self.peer_closed();
                        continue;
                    }
                    return Ok(Event::NeedData);
                }
                State::Idle => return self.read_request_head(),
                // Only a server is ever in SendResponse: this is the client waiting for it.
                State::SendResponse => return self.read_response_head(),
                State::SendBody => {
                    if self.role == Role::Server
                        && matches!(ours, State::MustClose | State::Closed | State::Error)
                    {
                        // The response is complete and the connection closes: the rest of the
                        // request body is not read.
                        return Ok(Event::ConnectionClosed(self.reason()));
                    }
                    return Ok(match self.read_body()? {
                        BodyStep::Data(range) => Event::Data(&self.received.bytes()[range]),
                        BodyStep::NeedData => Event::NeedData,
                        BodyStep::EndOfMessage(trailers) => Event::EndOfMessage(trailers),
                        BodyStep::ConnectionClosed(reason) => Event::ConnectionClosed(reason),
                        BodyStep::Drained => {
                            // Drained bytes belong to no event.
                            self.received.begin_step();
                            continue;
                        }
                    });
                }
                State::Done | State::MightSwitchProtocol => return Ok(Event::Paused),
                State::MustClose => {
                    return Ok(match ours {
                        State::MustClose | State::Closed | State::Error => {
                            Event::ConnectionClosed(self.reason())
                        }
                        _ => Event::Paused,
                    })
                }
                State::Closed | State::Error => return Ok(Event::ConnectionClosed(self.reason())),
                State::SwitchedProtocol => return Ok(Event::SwitchedProtocol),
            }
        }
    }

    fn reason(&self) -> CloseReason {
        self.close_reason.unwrap_or(CloseReason::PeerClosed)
    }

    fn head_limit(&self) -> usize {
        let limits = self.options.parse.limits;
        limits.max_start_line + limits.max_header_section
    }

    /// Ends keep-alive for `reason` (the first reason is the one kept).
    fn end_keep_alive(&mut self, reason: CloseReason) {
        self.close_reason.get_or_insert(reason);
        self.states.end_keep_alive();
    }

    /// Records a protocol error by the peer and returns it.
    fn fail(&mut self, error: ProtocolError) -> ConnError {
        let peer = self.role.peer();
        self.end_keep_alive(CloseReason::ProtocolError);
        let _ = self.states.apply(peer, Step::ProtocolError);
        ConnError { peer, error }
    }

    /// The peer closed between messages.
    fn peer_closed(&mut self) {
        self.end_keep_alive(CloseReason::PeerClosed);
        let _ = self.states.apply(self.role.peer(), Step::ConnectionClosed);
    }

    /// The peer's head is not complete: wait, or (at the end of the stream with nothing
    /// buffered) the peer closed between messages.
    fn head_incomplete(&mut self) -> Result<Event<'static>, ConnError> {
        if !self.eof {
            return Ok(Event::NeedData);
        }
        self.peer_closed();
        Ok(Event::ConnectionClosed(self.reason()))
    }

    // The reader's answer is matched where it is made (no helper rewraps it): a head is 160
    // bytes, and every move into another type is a copy.

    fn read_request_head(&mut self) -> Result<Event<'static>, ConnError> {
        match self.message.read(self.received.data(), self.eof) {
            Ok((used, Some(Part::Request(head)))) => {
                self.start_request(used, &head)?;
                Ok(Event::Request(head))
            }
            Ok((_, None)) => self.head_incomplete(),
            Ok(_) => unreachable!("a server's reader reads requests"),
            Err(e) => Err(self.fail(e.into())),
        }
    }

    /// The request head of `used` bytes the reader just read: the limits, the states, and what
    /// the connection must remember of it.
    fn start_request(&mut self, used: usize, head: &RequestHead) -> Result<(), ConnError> {
        let body = self.message.framing().map_or(BodyLength::Empty, |f| f.body);
        if let (Some(limit), BodyLength::ContentLength(n)) = (self.options.max_body, body) {
            if n > limit {
                return Err(self.fail(ProtocolError::BodyTooLarge { limit }));
            }
        }
        self.received.consume(used);
        let present = self.message.framing_fields();
        let proposes_switch =
            head.method == Method::Connect || (head.version == Version::Http11 && present.upgrade);
        self.states
            .apply(Role::Client, Step::Request { proposes_switch })
            .expect("the server reads a request only when both sides are idle");
        self.requests += 1;
        self.start_peer_message(head.version);
        if self
            .options
            .max_requests
            .is_some_and(|max| self.requests >= max)
        {
            self.end_keep_alive(CloseReason::RequestLimit);
        }
        self.expecting_continue = head.version == Version::Http11
            && !matches!(body, BodyLength::Empty | BodyLength::ContentLength(0))
            && present.expect
            && head.headers.contains_token("expect", "100-continue");
        self.method = Some(head.method.clone());
        Ok(())
    }

    fn read_response_head(&mut self) -> Result<Event<'static>, ConnError> {
        match self.message.read(self.received.data(), self.eof) {
            Err(e) => Err(self.fail(e.into())),
            Ok((_, None)) => self.head_incomplete(),
            Ok((used, Some(Part::Interim(head)))) => {
                self.received.consume(used);
                self.states
                    .apply(Role::Server, Step::InformationalResponse)
                    .expect("a response head is read only in SendResponse");
                if head.status.as_u16() == 100 {
                    self.expecting_continue = false;
                }
                Ok(Event::InformationalResponse(head))
            }
            Ok((used, Some(Part::Response(head)))) => {
                self.start_response(used, &head)?;
                Ok(Event::Response(head))
            }
            Ok(_) => unreachable!("a client's reader reads responses"),
        }
    }

    /// The final response head of `used` bytes the reader just read.
    fn start_response(&mut self, used: usize, head: &ResponseHead) -> Result<(), ConnError> {
        let status = head.status.as_u16();
        let (body, close_after) = self
            .message
            .framing()
            .map_or((BodyLength::Empty, None), |f| (f.body, f.close_after));
        if status == 101 || body == BodyLength::Tunnel {
            if self
                .states
                .apply(Role::Server, Step::SwitchAccepted)
                .is_err()
            {
                return Err(self.fail(ProtocolError::UnexpectedSwitch));
            }
            self.received.consume(used);
            self.expecting_continue = false;
            self.peer_version = Some(head.version);
            return Ok(());
        }
        if let (Some(limit), BodyLength::ContentLength(n)) = (self.options.max_body, body) {
            if n > limit {
                return Err(self.fail(ProtocolError::BodyTooLarge { limit }));
            }
        }
        self.received.consume(used);
        self.states
            .apply(Role::Server, Step::Response)
            .expect("a response head is read only in SendResponse");
        self.expecting_continue = false;
        self.start_peer_message(head.version);
        if let Some(why) = close_after {
            self.end_keep_alive(CloseReason::SuspectFraming(why));
        }
        if body == BodyLength::CloseDelimited {
            self.end_keep_alive(CloseReason::CloseDelimitedBody);
        }
        Ok(())
    }

    /// Keep-alive rules for a head the peer sent (RFC 9112 §9.3), as the reader found them.
    fn start_peer_message(&mut self, version: Version) {
        self.peer_version = Some(version);
        self.body_received = 0;
        match self.message.persistence() {
            Persistence::Persists => {}
            Persistence::Close => self.end_keep_alive(CloseReason::PeerAskedToClose),
            Persistence::Http10WithoutKeepAlive => self.end_keep_alive(CloseReason::Http10),
        }
    }

    /// One step of the peer's body.
    fn read_body(&mut self) -> Result<BodyStep, ConnError> {
        if self.expecting_continue && self.role == Role::Server {
            // The application asks for the body: this is when `100 Continue` goes out, unless
            // the client is already sending it (RFC 9110 §10.1.1).
            self.expecting_continue = false;
            if self.received.is_empty() && self.states.server == State::SendResponse {
                self.transmit
                    .bytes_mut()
                    .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
        }
        match self.message.read(self.received.data(), self.eof) {
            Err(e) => Err(self.fail(e.into())),
            Ok((_, Some(Part::Data(range)))) => {
                let start = self.received.offset();
                self.received.consume(range.end);
                let mut range = start + range.start..start + range.end;
                self.body_received += range.len() as u64;
                if self.draining {
                    if self.body_received > self.options.max_drain {
                        self.end_keep_alive(CloseReason::UnreadRequestBody);
                        return Ok(BodyStep::ConnectionClosed(self.reason()));
                    }
                    return Ok(BodyStep::Drained);
                }
                if let Some(limit) = self.options.max_body {
                    if self.body_received > limit {
                        // Hand out the bytes up to the limit (so the events do not depend on how
                        // the bytes arrived), and the error next.
                        let over = (self.body_received - limit) as usize;
                        range.end -= over.min(range.len());
                        self.body_received = limit;
                        if range.is_empty() {
                            return Err(self.fail(ProtocolError::BodyTooLarge { limit }));
                        }
                        self.pending_error = Some(ProtocolError::BodyTooLarge { limit });
                    }
                }
                Ok(BodyStep::Data(range))
            }
            Ok((used, None)) => {
                self.received.consume(used);
                if self.draining {
                    // Drained bytes belong to no event.
                    self.received.begin_step();
                }
                Ok(BodyStep::NeedData)
            }
            Ok((used, Some(Part::End(trailers)))) => {
                self.received.consume(used);
                let draining = std::mem::take(&mut self.draining);
                let outcome = self
                    .states
                    .apply(self.role.peer(), Step::EndOfMessage)
                    .expect("the peer was in SendBody");
                if outcome == Outcome::NextCycle {
                    self.next_cycle();
                }
                if draining {
                    Ok(BodyStep::Drained)
                } else {
                    Ok(BodyStep::EndOfMessage(trailers))
                }
            }
            Ok((_, Some(_))) => unreachable!("the reader gives a head only before the body"),
        }
    }

    /// Both messages of an exchange are complete and the connection is kept.
    fn next_cycle(&mut self) {
        self.message.next_message();
        self.writer = BodyWriter::Empty;
        self.our_framing = None;
        self.expecting_continue = false;
        self.draining = false;
        if self.role == Role::Server {
            self.method = None;
        }
    }

    // ----- sending -----

    /// (Server) Sends a response head: a 1xx interim response, `101 Switching Protocols`, or the
    /// final response.
    ///
    /// The body framing comes from the head: `Content-Length` if present, `Transfer-Encoding:
    /// chunked` if present; with neither, the core adds `Transfer-Encoding: chunked` for an
    /// HTTP/1.1 client and delimits the body by closing for an HTTP/1.0 one. Responses to HEAD and
    /// 1xx, 204 and 304 responses have no body and are complete at once. The core adds
    /// `Connection: close` when the connection will not be kept, and `Connection: keep-alive`
    /// when it keeps an HTTP/1.0 client's connection.
    ///
    /// After a [`ConnError`] from a request that could not be read, one final response (the
    /// error response) may still be sent.
    pub fn send_response(&mut self, head: &ResponseHead) -> Result<(), SendError> {
        if self.role != Role::Server {
            return Err(SendError::WrongRole(self.role));
        }
        let status = head.status.as_u16();
        if (100..200).contains(&status) && status != 101 {
            if self.peer_version == Some(Version::Http10) {
                return Err(SendError::InterimToHttp10);
            }
            self.states
                .apply(Role::Server, Step::InformationalResponse)
                .map_err(SendError::WrongState)?;
            if status == 100 {
                self.expecting_continue = false;
            }
            head.write_to(self.transmit.bytes_mut());
            return Ok(());
        }
        let method = self.method.as_ref().unwrap_or(&Method::Get);
        let switches =
            status == 101 || (*method == Method::Connect && (200..300).contains(&status));
        if status == 101 && self.states.client != State::MightSwitchProtocol {
            return Err(SendError::WrongState(BadTransition {
                role: Role::Server,
                state: self.states.server,
                step: "101 Switching Protocols (the request did not ask to switch, or its body \
                       is not complete)",
            }));
        }
        let present = head.headers.framing_fields();
        let writer = if switches || *method == Method::Head || status == 204 || status == 304 {
            Ok((BodyWriter::Empty, false))
        } else {
            self.outgoing_framing(&head.headers, present)
        }?;
        let (writer, add_chunked) = writer;
        let step = if switches {
            Step::SwitchAccepted
        } else {
            Step::Response
        };
        let mut trial = self.states.clone();
        trial
            .apply(Role::Server, step)
            .map_err(SendError::WrongState)?;

        // Every check passed: from here on the response goes out.
        let unread_body = self.states.client == State::SendBody;
        if self.expecting_continue && unread_body && self.received.is_empty() {
            // No `100 Continue` was sent, so the client may or may not send the body.
            self.end_keep_alive(CloseReason::UnreadRequestBody);
        }
        self.expecting_continue = false;
        let asks_close = present.connection && head.headers.contains_token("connection", "close");
        if asks_close {
            self.end_keep_alive(CloseReason::LocalAskedToClose);
        }
        if writer == BodyWriter::UntilClose {
            self.end_keep_alive(CloseReason::CloseDelimitedBody);
        }
        self.states
            .apply(Role::Server, step)
            .expect("the trial run allowed it");

        let transfer_encoding = add_chunked.then_some(("Transfer-Encoding", "chunked"));
        let mut connection = None;
        if !switches {
            if !self.states.keep_alive {
                if !asks_close {
                    connection = Some(("Connection", "close"));
                }
            } else if self.peer_version == Some(Version::Http10)
                && !(present.connection && head.headers.contains_token("connection", "keep-alive"))
            {
                connection = Some(("Connection", "keep-alive"));
            }
        }
        let out = self.transmit.bytes_mut();
        head.write_to(out);
        add_fields_to_head(out, &[transfer_encoding, connection]);
        self.writer = writer;
        self.our_framing = Some(if switches {
            BodyLength::Tunnel
        } else {
            writer.framing()
        });
        self.ended_by_core = switches;
        if switches {
            return Ok(());
        }
        if writer == BodyWriter::Empty {
            self.end_bodiless_response();
        }
        Ok(())
    }

    /// (Client) Sends a request head. Its body is framed by the head's `Content-Length` or
    /// `Transfer-Encoding: chunked`; with neither, the request has no body and is complete at
    /// once. One request at a time: the next may be sent when this exchange is over.
    pub fn send_request(&mut self, head: &RequestHead) -> Result<(), SendError> {
        if self.role != Role::Client {
            return Err(SendError::WrongRole(self.role));
        }
        let present = head.headers.framing_fields();
        let (writer, add_chunked) = self.outgoing_framing(&head.headers, present)?;
        debug_assert!(!add_chunked, "a request without framing fields has no body");
        let proposes_switch =
            head.method == Method::Connect || (head.version == Version::Http11 && present.upgrade);
        self.states
            .apply(Role::Client, Step::Request { proposes_switch })
            .map_err(SendError::WrongState)?;
        self.requests += 1;
        self.message.respond_to(head.method.clone());
        self.expecting_continue = writer != BodyWriter::Empty
            && present.expect
            && head.headers.contains_token("expect", "100-continue");
        match persistence_given(head.version, &head.headers, present) {
            Persistence::Persists => {}
            Persistence::Close => self.end_keep_alive(CloseReason::LocalAskedToClose),
            Persistence::Http10WithoutKeepAlive => self.end_keep_alive(CloseReason::Http10),
        }
        head.write_to(self.transmit.bytes_mut());
        self.writer = writer;
        self.our_framing = Some(writer.framing());
        self.ended_by_core = false;
        if writer == BodyWriter::Empty {
            let outcome = self
                .states
                .apply(Role::Client, Step::EndOfMessage)
                .expect("the client just entered SendBody");
            self.after_our_end(outcome);
            self.ended_by_core = true;
        }
        Ok(())
    }

    /// The framing of a message this side sends, from its head's fields, and whether the core
    /// must add `Transfer-Encoding: chunked`.
    fn outgoing_framing(
        &self,
        headers: &Headers,
        present: FramingFields,
    ) -> Result<(BodyWriter, bool), SendError> {
        let has_te = present.transfer_encoding;
        let has_cl = present.content_length;
        if has_te && has_cl {
            return Err(SendError::InvalidFraming(
                "both Content-Length and Transfer-Encoding (RFC 9112 §6.2)",
            ));
        }
        if has_te {
            let codings = headers
                .transfer_codings()
                .map_err(|_| SendError::InvalidFraming("a malformed Transfer-Encoding"))?;
            if codings.len() != 1 || !codings[0].is_chunked() || !codings[0].params.is_empty() {
                return Err(SendError::InvalidFraming(
                    "a Transfer-Encoding other than `chunked` (this side only frames chunked)",
                ));
            }
            if self.role == Role::Server && self.peer_version == Some(Version::Http10) {
                return Err(SendError::InvalidFraming(
                    "Transfer-Encoding in a response to an HTTP/1.0 request (RFC 9112 §6.1)",
                ));
            }
            return Ok((BodyWriter::Chunked, false));
        }
        if has_cl {
            let mut length = None;
            for element in headers.content_lengths() {
                let n = parse_decimal(element).ok_or(SendError::InvalidFraming(
                    "a Content-Length that is not a number",
                ))?;
                if length.is_some_and(|l| l != n) {
                    return Err(SendError::InvalidFraming("differing Content-Length values"));
                }
                length = Some(n);
            }
            let n = length.ok_or(SendError::InvalidFraming("an empty Content-Length"))?;
            // `Content-Length: 0` is a message without a body: it is complete at once.
            let writer = if n == 0 {
                BodyWriter::Empty
            } else {
                BodyWriter::Length { remaining: n }
            };
            return Ok((writer, false));
        }
        Ok(match self.role {
            Role::Client => (BodyWriter::Empty, false),
            Role::Server if self.peer_version == Some(Version::Http11) => {
                (BodyWriter::Chunked, true)
            }
            Role::Server => (BodyWriter::UntilClose, false),
        })
    }

    /// Sends body data (copied into the transmit buffer, framed).
    pub fn send_data(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.check_sending_body()?;
        self.writer.write(data, &mut self.transmit)
    }

    /// Promises that the shell writes `len` body bytes itself (`sendfile`, a mapped file) at this
    /// point of the stream: [`poll_transmit`](Self::poll_transmit) answers [`Transmit::Body`]
    /// when it is time. The core counts them against `Content-Length` and frames them in a chunk
    /// when the body is chunked.
    pub fn send_body_from_shell(&mut self, len: u64) -> Result<(), SendError> {
        self.check_sending_body()?;
        self.writer.write_from_shell(len, &mut self.transmit)
    }

    fn check_sending_body(&self) -> Result<(), SendError> {
        if self.our_state() != State::SendBody {
            return Err(SendError::WrongState(BadTransition {
                role: self.role,
                state: self.our_state(),
                step: "body data",
            }));
        }
        Ok(())
    }

    /// Ends this side's message: checks `Content-Length` was met, writes the last chunk with
    /// `trailers` for a chunked body. For a message that had no body the core already ended it,
    /// and this does nothing.
    pub fn send_end(&mut self, trailers: Option<&Headers>) -> Result<(), SendError> {
        if self.ended_by_core && trailers.is_none_or(Headers::is_empty) {
            self.ended_by_core = false;
            return Ok(());
        }
        self.check_sending_body()?;
        self.writer.finish(trailers, &mut self.transmit)?;
        let outcome = self
            .states
            .apply(self.role, Step::EndOfMessage)
            .expect("this side was in SendBody");
        if self.role == Role::Server {
            self.end_our_message_after_body(outcome);
        } else {
            self.after_our_end(outcome);
        }
        Ok(())
    }

    /// (Server) A response without a body is complete as soon as its head is out.
    fn end_bodiless_response(&mut self) {
        let outcome = self
            .states
            .apply(Role::Server, Step::EndOfMessage)
            .expect("the server just entered SendBody");
        self.end_our_message_after_body(outcome);
        self.ended_by_core = true;
    }

    /// (Server) The response is complete: drain an unread request body if the connection stays.
    fn end_our_message_after_body(&mut self, outcome: Outcome) {
        if self.states.client == State::SendBody && self.states.keep_alive {
            let owed = self.message.remaining().unwrap_or(0);
            if owed > self.options.max_drain {
                self.end_keep_alive(CloseReason::UnreadRequestBody);
            } else {
                self.draining = true;
                self.body_received = 0;
            }
        }
        self.after_our_end(outcome);
    }

    fn after_our_end(&mut self, outcome: Outcome) {
        if outcome == Outcome::NextCycle {
            self.next_cycle();
        }
    }

    // ----- output -----

    /// What to write next, or `None` when everything is written. The same answer comes back
    /// until [`advance_transmit`](Self::advance_transmit) records progress.
    pub fn poll_transmit(&self) -> Option<Transmit<'_>> {
        self.transmit.peek()
    }

    /// Records that the shell wrote `n` bytes of what [`poll_transmit`](Self::poll_transmit)
    /// returned (fewer on a partial write).
    pub fn advance_transmit(&mut self, n: u64) -> Result<(), SendError> {
        if self.transmit.advance(n) {
            Ok(())
        } else {
            Err(SendError::AdvancedPastTransmit)
        }
    }

    /// Bytes queued and not yet written (a shell stops producing body data above some amount).
    pub fn pending_transmit(&self) -> u64 {
        self.transmit.pending()
    }
}

/// Adds `extra` field lines to the head just written at the end of `out`, before its final
/// empty line.
fn add_fields_to_head(out: &mut Vec<u8>, extra: &[Option<(&str, &str)>]) {
    if extra.iter().all(Option::is_none) {
        return;
    }
    debug_assert!(out.ends_with(b"\r\n\r\n"));
    out.truncate(out.len() - 2);
    for (name, value) in extra.iter().flatten() {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
