//! One client connection, independent of the I/O model: a thin shell around
//! `wire::http1::conn::Conn`, which owns the protocol (request heads, body framing, chunked
//! coding, keep-alive, pipelining, `100 Continue`, draining unread bodies). This file adds what
//! the core leaves to a shell: the handlers, request-body sinks (memory or an atomic upload),
//! timeouts, file bodies written with `sendfile`, streamed bodies, counters and the access log.
//!
//! Every model (`threads`, `pool`, `epoll`) drives a connection the same way:
//!
//! ```text
//! loop:
//!   match conn.want():
//!     Read          -> conn.read_from(socket)   (0 bytes: the peer closed)
//!     Write         -> conn.write_to(socket)    (sendfile for file bodies)
//!     WaitUntil(t)  -> a streamed body has nothing to send before t
//!     Close         -> drop it
//!   at conn.deadline(): conn.handle_timeout(now)
//! ```
//!
//! Timers, all from the config: a request head (and body) must arrive within `header_timeout`
//! of its first byte (else 408 and close); an idle keep-alive connection closes after
//! `keep_alive_timeout`; a client that stops reading its response is dropped after 60 s.
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wire::http1::conn::{Conn, ConnOptions, Event, State, Transmit};
use wire::http1::fields::Headers;
use wire::http1::framing::BodyLength;
use wire::http1::{Method, ParseOptions, RequestHead, ResponseHead, StatusCode};

use crate::config::{Clock, Level};
use crate::exchange;
use crate::handler::{self, Context};
use crate::log::AccessRecord;
use crate::response::{Body, ChunkSource, Next, Response, Segment};
use crate::routes;
use crate::sendfile::{send_file_range, send_more};
use crate::shared::{Settings, Shared};
use crate::site::Found;
use crate::stats::Phase;
use crate::upload::{Stored, Upload};

/// Bodies and file slices up to this size are copied next to the head and sent in one write.
const INLINE_BODY: u64 = 16 * 1024;
/// A client that accepts no response bytes for this long is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Request bodies held in memory (forms, `/inspect`) are capped here; uploads go to disk.
const MAX_MEMORY_BODY: u64 = 1024 * 1024;
/// Most bytes of a request kept to show it on `/inspect`.
const MAX_CAPTURE: usize = 64 * 1024;

/// What the connection needs next from its I/O shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Read,
    Write,
    /// A streamed body has nothing to send before this instant.
    WaitUntil(Instant),
    Close,
}

/// Where the bytes of a request body go.
enum Sink {
    Memory(Vec<u8>),
    Upload {
        upload: Upload,
        url_path: String,
    },
    /// The answer was already sent (413, an upload that could not start): the core drains the
    /// rest or closes.
    Discard,
}

/// The request being received.
struct InFlight {
    head: RequestHead,
    sink: Sink,
    received: u64,
}

/// Body bytes the shell writes itself, in the order the core asks for them.
enum Source {
    File {
        file: Arc<File>,
        offset: u64,
        left: u64,
    },
    Static {
        bytes: &'static [u8],
    },
    Shared {
        bytes: Arc<[u8]>,
        pos: usize,
    },
}

/// A connection's core, the request in progress and the output it owes.
pub struct Connection {
    core: Conn,
    peer: SocketAddr,
    request: Option<InFlight>,
    sources: VecDeque<Source>,
    stream: Option<Box<dyn ChunkSource>>,
    wait_until: Option<Instant>,
    /// No more HTTP: send what is queued, then close.
    closed: bool,
    /// The request being received exactly as it arrived, for `/inspect` on the demo site: the
    /// bytes of each of its events ([`Conn::event_bytes`]), up to [`MAX_CAPTURE`].
    capture: Option<Vec<u8>>,
    phase: Phase,
    /// When the current timer started (idle, request, or last write progress).
    since: Instant,
    settings: Arc<Settings>,
    generation: u64,
    finished: bool,
    /// Buffers were used since the last release.
    holds_buffers: bool,
    /// Requests served before the connection was last parked (the core counts the rest).
    served: u64,
}

/// All an idle keep-alive connection keeps while it is parked (40 bytes): its timer and what
/// its next request needs. The core, its buffers and its queues are rebuilt when the client
/// speaks again ([`Connection::resume`]).
pub struct Parked {
    since: Instant,
    settings: Arc<Settings>,
    generation: u64,
    served: u32,
    phase: Phase,
}

impl Parked {
    /// When the parked connection is closed if the client stays silent (what
    /// [`Connection::deadline`] says of an idle connection).
    pub fn deadline(&self) -> Instant {
        let c = &self.settings.config;
        if self.served > 0 {
            self.since + c.keep_alive_timeout
        } else {
            self.since + c.header_timeout
        }
    }

    /// The parked connection is closed: balance the gauges.
    pub fn finish(self, shared: &Shared) {
        shared.stats.leave(self.phase);
    }
}

/// The core's options for a connection that has already served `served` requests.
fn conn_options(settings: &Settings, served: u64) -> ConnOptions {
    let mut parse = ParseOptions::STRICT;
    // RFC 9112 §2.2 lets a server accept a bare LF as a line end, and a request typed into
    // `nc` has nothing else; `--strict` keeps the parser's default, a 400 that says why.
    parse.leniencies.bare_lf = !settings.config.strict;
    // Likewise a path typed with raw UTF-8 (`/café`) is read as if percent-encoded, as nginx
    // reads it: it then names a file, or gets 404.
    parse.leniencies.raw_utf8_target = !settings.config.strict;
    let limit = u64::from(settings.config.requests_per_connection);
    ConnOptions {
        parse,
        max_body: Some(settings.config.max_body),
        max_requests: Some(limit.saturating_sub(served)),
        ..ConnOptions::default()
    }
}

impl Connection {
    /// A new connection from `peer`, counted in `shared.stats`.
    pub fn new(peer: SocketAddr, shared: &Shared, now: Instant) -> Connection {
        shared.stats.enter(Phase::Reading);
        Connection::build(peer, shared.settings(), shared.generation(), 0, now)
    }

    fn build(
        peer: SocketAddr,
        settings: Arc<Settings>,
        generation: u64,
        served: u64,
        now: Instant,
    ) -> Connection {
        Connection {
            core: Conn::server(conn_options(&settings, served)),
            peer,
            request: None,
            sources: VecDeque::new(),
            stream: None,
            wait_until: None,
            closed: false,
            capture: None,
            phase: Phase::Reading,
            since: now,
            generation,
            settings,
            finished: false,
            holds_buffers: false,
            served,
        }
    }

    /// True when the connection has nothing in progress and read nothing since its buffers were
    /// released: it can be [parked](Connection::park).
    pub fn can_park(&self) -> bool {
        !self.holds_buffers
            && !self.closed
            && !self.finished
            && self.is_between_requests()
            && self.sources.is_empty()
            && self.wait_until.is_none()
            && self.capture.is_none()
    }

    /// What an idle connection keeps; the rest of it is dropped. Only after
    /// [`can_park`](Connection::can_park).
    pub fn park(self) -> Parked {
        Parked {
            since: self.since,
            served: u32::try_from(self.requests()).unwrap_or(u32::MAX),
            phase: self.phase,
            generation: self.generation,
            settings: self.settings,
        }
    }

    /// The connection again, as it was before it was parked (the peer's address is not kept:
    /// the shell asks the socket).
    pub fn resume(parked: Parked, peer: SocketAddr) -> Connection {
        let Parked {
            since,
            settings,
            generation,
            served,
            phase,
        } = parked;
        let mut conn = Connection::build(peer, settings, generation, u64::from(served), since);
        conn.phase = phase;
        conn
    }

    /// Requests read on this connection.
    fn requests(&self) -> u64 {
        self.served + self.core.requests()
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn has_output(&self) -> bool {
        self.core.poll_transmit().is_some()
    }

    /// True between requests, with nothing received, owed or queued.
    fn is_between_requests(&self) -> bool {
        self.request.is_none()
            && self.stream.is_none()
            && self.core.buffered_len() == 0
            && self.core.their_state() == State::Idle
            && !self.has_output()
    }

    /// What the shell should do next.
    pub fn want(&self) -> Want {
        if self.has_output() {
            return Want::Write;
        }
        if let (Some(_), Some(at)) = (&self.stream, self.wait_until) {
            return Want::WaitUntil(at);
        }
        if self.closed || !self.core.wants_read() {
            return Want::Close;
        }
        Want::Read
    }

    /// When [`Connection::handle_timeout`] must be called if nothing happens before.
    pub fn deadline(&self) -> Instant {
        let c = &self.settings.config;
        if let Some(at) = self.wait_until {
            return at;
        }
        if self.has_output() {
            return self.since + SEND_TIMEOUT;
        }
        if self.is_between_requests() && self.requests() > 0 {
            return self.since + c.keep_alive_timeout;
        }
        self.since + c.header_timeout
    }

    fn set_phase(&mut self, shared: &Shared, phase: Phase) {
        shared.stats.switch(self.phase, phase);
        self.phase = phase;
    }

    /// The connection is gone: balance the gauges. Dropping an unfinished upload removes its
    /// temporary file.
    pub fn finish(&mut self, shared: &Shared) {
        // The request goes first: dropping it removes an unfinished upload's temporary file,
        // so a connection /server-status counts as closed has left nothing behind.
        self.request = None;
        if !self.finished {
            self.finished = true;
            shared.stats.leave(self.phase);
        }
        self.closed = true;
        if self.holds_buffers {
            exchange::keep_buffers(self.core.take_buffers());
            self.holds_buffers = false;
        }
    }

    /// Reads once from `socket` into the core and processes what arrived.
    /// Returns the number of bytes read; 0 means the peer closed its side.
    pub fn read_from<S: Read>(
        &mut self,
        socket: &mut S,
        shared: &Shared,
        now: Instant,
    ) -> io::Result<usize> {
        let was_idle = self.is_between_requests();
        if !self.holds_buffers {
            // New or idle until now: memory a closed or idle connection left, if there is some.
            exchange::lend_buffers(&mut self.core);
            self.holds_buffers = true;
        }
        let buf = self.core.receive_buffer();
        let n = socket.read(buf)?;
        if n == 0 {
            self.core.handle_eof();
        } else {
            self.core.handle_received(n);
            if was_idle {
                self.since = now;
                if self.phase == Phase::Waiting {
                    self.set_phase(shared, Phase::Reading);
                }
            }
        }
        self.process(shared, now);
        Ok(n)
    }

    /// Time is up for whatever the connection was waiting for.
    pub fn handle_timeout(&mut self, shared: &Shared, now: Instant) {
        if self.wait_until.is_some_and(|at| now >= at) {
            self.wait_until = None;
            self.pump_stream(shared, now);
            return;
        }
        if now < self.deadline() {
            return;
        }
        if self.has_output() || self.is_between_requests() {
            // A client that stopped reading, or an idle keep-alive connection: just close.
            self.closed = true;
            self.drop_output();
            return;
        }
        // A request that did not arrive in time: 408, if no response has started.
        let what = if self.request.is_some() {
            "request body"
        } else {
            "request head"
        };
        self.request = None;
        self.closed = true;
        self.capture = None;
        // The core ends the request and says whether its one final response is still due.
        if self.core.handle_timeout() {
            let text = format!(
                "408 Request Timeout: the {what} did not arrive within the server's time limit\n"
            );
            shared.log(Level::Info, &format!("{}: the {what} timed out", self.peer));
            self.set_phase(shared, Phase::Writing);
            self.send(shared, None, Response::text(408, text).closing(), now);
        }
    }

    fn drop_output(&mut self) {
        // Nothing more will be written: forget what is queued.
        while let Some(t) = self.core.poll_transmit() {
            let n = match t {
                Transmit::Bytes(b) => b.len() as u64,
                Transmit::Body(n) => n,
            };
            if self.core.advance_transmit(n).is_err() {
                break;
            }
        }
        self.sources.clear();
        self.stream = None;
    }

    /// Adds the bytes the core's last event used to the capture, when one is running.
    fn capture_event_bytes(&mut self) {
        if let Some(c) = &mut self.capture {
            let bytes = self.core.event_bytes();
            let room = MAX_CAPTURE.saturating_sub(c.len());
            c.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    /// Takes events from the core until it needs input or is waiting for our response.
    fn process(&mut self, shared: &Shared, now: Instant) {
        loop {
            if self.closed || self.stream.is_some() {
                return;
            }
            let event = match self.core.poll_event() {
                Ok(e) => e,
                Err(e) => {
                    self.request = None;
                    self.capture = None;
                    self.closed = true;
                    shared.log(
                        Level::Info,
                        &format!("{}: refused a request: {e}", self.peer),
                    );
                    if self.core.our_state() == State::Idle
                        || self.core.our_state() == State::SendResponse
                    {
                        shared.stats.requests.fetch_add(1, Relaxed);
                        let status = e.status_hint();
                        let text = format!("{status} {}: {}", handler::reason(status), e);
                        self.send(shared, None, Response::text(status, text).closing(), now);
                    }
                    return;
                }
            };
            match event {
                Event::Request(head) => {
                    if head.target.path() == Some("/inspect") && self.settings.source.is_demo() {
                        // The demo's /inspect shows this request as it arrived.
                        self.capture = Some(Vec::new());
                    }
                    self.capture_event_bytes();
                    self.on_request(shared, head, now);
                }
                Event::Data(bytes) => {
                    // Disjoint fields: the core lends `bytes`, the sink takes a copy.
                    let failure = match &mut self.request {
                        Some(req) => take_body(req, bytes, &self.settings),
                        None => None,
                    };
                    self.capture_event_bytes();
                    self.since = now;
                    if let Some(resp) = failure {
                        self.respond_early(shared, resp, now);
                    }
                }
                Event::EndOfMessage(_trailers) => {
                    self.capture_event_bytes();
                    if let Some(req) = self.request.take() {
                        self.on_complete(shared, req, now);
                    }
                }
                Event::NeedData | Event::Paused => {
                    // NeedData may have read ahead in a chunk's framing.
                    self.capture_event_bytes();
                    return;
                }
                Event::ConnectionClosed(_)
                | Event::SwitchedProtocol
                | Event::InformationalResponse(_)
                | Event::Response(_) => {
                    self.closed = true;
                    return;
                }
            }
        }
    }

    fn on_request(&mut self, shared: &Shared, head: RequestHead, now: Instant) {
        shared.stats.requests.fetch_add(1, Relaxed);
        if shared.generation() != self.generation {
            self.settings = shared.settings();
            self.generation = shared.generation();
        }
        self.since = now;
        self.set_phase(shared, Phase::Writing);
        if !head.leniencies_used.is_empty() && self.settings.logs.enabled(Level::Debug) {
            for leniency in head.leniencies_used.iter() {
                shared.log(
                    Level::Debug,
                    &format!("{}: accepted {leniency}; --strict refuses it", self.peer),
                );
            }
        }
        let sink = match self.body_sink(&head, shared) {
            Ok(sink) => sink,
            Err(resp) => {
                // Answer now; the core drains the body or closes the connection.
                self.request = Some(InFlight {
                    head,
                    sink: Sink::Discard,
                    received: 0,
                });
                return self.respond_early(shared, resp, now);
            }
        };
        self.request = Some(InFlight {
            head,
            sink,
            received: 0,
        });
    }

    /// Chooses where a body goes before any of it is read, so a refusal needs no body at all.
    fn body_sink(&self, head: &RequestHead, shared: &Shared) -> Result<Sink, Response> {
        let settings = &self.settings;
        // The framing the core decided for this request (RFC 9112 §6.3).
        let framing = self.core.their_framing().map(|f| f.body);
        let declared = match framing {
            Some(BodyLength::ContentLength(n)) => Some(n),
            _ => None,
        };
        let writable = settings.config.allow_write && !settings.source.is_demo();
        let has_body = !matches!(
            framing,
            Some(BodyLength::Empty | BodyLength::ContentLength(0))
        );
        let uploads = head.method == Method::Put && writable;
        let memory_limit = settings.config.max_body.min(MAX_MEMORY_BODY);
        if !uploads && declared.is_some_and(|n| n > memory_limit) {
            // Too large is known from the head alone, whatever the handler (nginx checks
            // client_max_body_size before the handler too).
            return Err(too_large(memory_limit));
        }
        // A writable DELETE acts when it runs, so it is never tried ahead of its body.
        let acts = head.method == Method::Delete && writable;
        if has_body
            && !uploads
            && !acts
            && !routes::reads_body(&head.method, handler::path(head), settings)
        {
            // No handler reads this body, so the answer does not depend on it: a refusal goes
            // out now, before any of the body is read (and without `100 Continue`, RFC 9110
            // §10.1.1), instead of after an upload for nothing. The handlers tried here have
            // no side effects (file lookups, 405s, 404s), so a success is simply run again
            // once the body has arrived.
            let cx = Context {
                body: &[],
                raw: &[],
                now: settings.config.clock.now(),
                settings,
                shared,
            };
            let answer = handler::handle(head, &cx);
            if answer.status >= 400 {
                return Err(answer);
            }
        }
        if uploads {
            let safe = match wire::http1::SafePath::from_target_path(handler::path(head)) {
                Ok(p) => p,
                Err(e) => {
                    let status = e.status_hint();
                    return Err(Response::text(
                        status,
                        format!("{status} {}: {e}", handler::reason(status)),
                    ));
                }
            };
            let url_path = handler::decoded_path(&safe);
            let target = match settings.source.write_target(&safe) {
                Ok(t) => t,
                Err(Found::NotFound) => {
                    return Err(Response::text(
                        404,
                        format!("404 Not Found: the folder for {url_path} does not exist"),
                    ))
                }
                Err(_) => {
                    return Err(Response::text(
                        403,
                        format!("403 Forbidden: {url_path} may not be written"),
                    ))
                }
            };
            return match Upload::begin(&target) {
                Ok(upload) => Ok(Sink::Upload { upload, url_path }),
                Err(e) => Err(Response::text(
                    409,
                    format!("409 Conflict: cannot store {url_path}: {e}"),
                )),
            };
        }
        Ok(Sink::Memory(Vec::new()))
    }

    /// Sends a final answer before the request body was read (the sink becomes a drain).
    fn respond_early(&mut self, shared: &Shared, resp: Response, now: Instant) {
        let Some(mut req) = self.request.take() else {
            return;
        };
        req.sink = Sink::Discard;
        self.capture = None;
        let resp = if matches!(resp.status, 413) {
            resp.closing()
        } else {
            resp
        };
        self.send(shared, Some(&req.head), resp, now);
        self.request = Some(req);
    }

    /// The whole request has arrived: store an upload or run the handler.
    fn on_complete(&mut self, shared: &Shared, req: InFlight, now: Instant) {
        let InFlight { head, sink, .. } = req;
        match sink {
            Sink::Discard => {}
            Sink::Upload { upload, url_path } => {
                let fixed = match self.settings.config.clock {
                    Clock::Fixed(t) => Some(t),
                    Clock::System => None,
                };
                let committed = upload.commit(fixed);
                crate::file_cache::note_write();
                let resp = match committed {
                    Ok(Stored::Created) => Response::text(201, format!("201 Created: {url_path}"))
                        .header("Location", &url_path),
                    Ok(Stored::Replaced) => Response::new(204),
                    Err(e) => Response::text(
                        500,
                        format!("500 Internal Server Error: storing {url_path} failed: {e}"),
                    ),
                };
                self.send(shared, Some(&head), resp, now);
            }
            Sink::Memory(body) => {
                let settings = Arc::clone(&self.settings);
                let raw = self.capture.take().unwrap_or_default();
                let cx = Context {
                    body: &body,
                    raw: &raw,
                    now: settings.config.clock.now(),
                    settings: &settings,
                    shared,
                };
                let resp = handler::handle(&head, &cx);
                self.send(shared, Some(&head), resp, now);
            }
        }
    }

    /// Hands a response to the core: the head with `Date`, `Server` and the length, then the
    /// body (small parts copied, files as `sendfile` promises, streams chunk by chunk).
    fn send(
        &mut self,
        shared: &Shared,
        head: Option<&RequestHead>,
        mut resp: Response,
        now: Instant,
    ) {
        let settings = Arc::clone(&self.settings);
        let body_len = resp.body.known_len();
        let mut out = ResponseHead::new(
            StatusCode::new(resp.status).unwrap_or(StatusCode::new(500).expect("500 is valid")),
        );
        let fields = resp.take_headers();
        let h = &mut out.headers;
        *h = Headers::with_capacity(fields.len() + 4);
        let _ = h.append("Server", "protolab");
        exchange::with_date(settings.config.clock.now(), |d| {
            let _ = h.append("Date", d);
        });
        h.extend(fields);
        let no_body = matches!(resp.status, 100..=199 | 204 | 304);
        if let (Some(n), false) = (body_len, no_body) {
            let _ = h.append("Content-Length", n.to_string());
        }
        if resp.close || shared.is_stopping() {
            let _ = h.append("Connection", "close");
        }
        if let Err(e) = self.core.send_response(&out) {
            shared.log(
                Level::Error,
                &format!("{}: the response could not be sent: {e}", self.peer),
            );
            self.closed = true;
            return;
        }
        if settings.logs.wants_access() {
            let sends_body = self.core.can_send_data();
            let request_line = head.map(exchange::request_line);
            settings.logs.access(&AccessRecord {
                peer: self.peer.ip(),
                time: settings.config.clock.now(),
                request_line: request_line.as_deref().unwrap_or(b"-"),
                status: resp.status,
                bytes: if sends_body { body_len.unwrap_or(0) } else { 0 },
                referer: head.and_then(|h| h.headers.get("referer")),
                user_agent: head.and_then(|h| h.headers.get("user-agent")),
                elapsed: Instant::now().saturating_duration_since(self.since),
            });
        }
        if self.core.can_send_data() {
            match resp.body {
                Body::Fixed(segments) => {
                    for seg in segments {
                        self.send_segment(seg);
                    }
                    let _ = self.core.send_end(None);
                }
                Body::Stream(source) => {
                    self.stream = Some(source);
                    self.pump_stream(shared, now);
                }
            }
        } else {
            let _ = self.core.send_end(None);
        }
        self.since = now;
        self.set_phase(shared, Phase::Writing);
    }

    /// Queues one body segment: small ones are copied behind the head, so one write sends both.
    fn send_segment(&mut self, seg: Segment) {
        let small = seg.len() <= INLINE_BODY;
        let result = match seg {
            Segment::Bytes(b) if small => self.core.send_data(&b),
            Segment::Static(b) if small => self.core.send_data(b),
            Segment::File { file, offset, len } if small => {
                let mut buf = vec![0; len as usize];
                match file.read_exact_at(&mut buf, offset) {
                    Ok(()) => self.core.send_data(&buf),
                    Err(_) => {
                        // The file shrank under us: the promised length cannot be kept.
                        self.closed = true;
                        return;
                    }
                }
            }
            Segment::Bytes(bytes) => {
                let len = bytes.len() as u64;
                self.sources.push_back(Source::Shared { bytes, pos: 0 });
                self.core.send_body_from_shell(len)
            }
            Segment::Static(bytes) => {
                self.sources.push_back(Source::Static { bytes });
                self.core.send_body_from_shell(bytes.len() as u64)
            }
            Segment::File { file, offset, len } => {
                self.sources.push_back(Source::File {
                    file,
                    offset,
                    left: len,
                });
                self.core.send_body_from_shell(len)
            }
        };
        if result.is_err() {
            self.closed = true;
        }
    }

    /// Moves a streamed body forward: chunks that are due go to the core.
    fn pump_stream(&mut self, shared: &Shared, now: Instant) {
        while let Some(source) = &mut self.stream {
            if self.core.pending_transmit() > 64 * 1024 {
                return;
            }
            match source.next(now) {
                Next::Chunk(data) => {
                    if self.core.send_data(&data).is_err() {
                        self.stream = None;
                        self.closed = true;
                    }
                }
                Next::WaitUntil(at) => {
                    self.wait_until = Some(at);
                    return;
                }
                Next::End => {
                    self.stream = None;
                    self.wait_until = None;
                    let _ = self.core.send_end(None);
                    self.process(shared, now);
                    return;
                }
            }
        }
    }

    /// Writes queued output until it is all sent or the socket would block.
    pub fn write_to<S: Write + AsRawFd>(
        &mut self,
        socket: &mut S,
        shared: &Shared,
        now: Instant,
    ) -> io::Result<()> {
        loop {
            let n = match self.core.poll_transmit() {
                None => break,
                // A head before a file body: held back to share the body's first segment.
                Some(Transmit::Bytes(bytes))
                    if matches!(self.sources.front(), Some(Source::File { .. }))
                        || self.last_words() =>
                {
                    send_more(socket, bytes)? as u64
                }
                Some(Transmit::Bytes(bytes)) => socket.write(bytes)? as u64,
                Some(Transmit::Body(len)) => self.write_source(socket, len)?,
            };
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.core
                .advance_transmit(n)
                .map_err(|e| io::Error::other(e.to_string()))?;
            self.since = now;
        }
        // Everything queued is out: more of a stream, or the next (pipelined) request.
        if self.stream.is_some() {
            if self.wait_until.is_none() {
                self.pump_stream(shared, now);
            }
            return Ok(());
        }
        if !self.closed {
            self.since = now;
            let phase = if self.core.buffered_len() == 0 {
                Phase::Waiting
            } else {
                Phase::Reading
            };
            self.set_phase(shared, phase);
            self.process(shared, now);
        }
        Ok(())
    }

    /// True when everything this connection will ever send is queued and closing follows:
    /// the last response of a connection that does not stay open, with no stream still
    /// producing and no request body still to read (a `100 Continue` must not wait).
    /// Its bytes then go with `MSG_MORE`: held until the close, they leave in one segment with
    /// the FIN (Linux puts the FIN on a queued segment not yet sent), one segment fewer for
    /// the client to take and answer per closed connection.
    fn last_words(&self) -> bool {
        self.stream.is_none() && !self.core.is_keep_alive() && !self.core.wants_read()
    }

    /// Writes up to `len` bytes of the front body source.
    fn write_source<S: Write + AsRawFd>(&mut self, socket: &mut S, len: u64) -> io::Result<u64> {
        let last_words = self.last_words();
        let Some(front) = self.sources.front_mut() else {
            return Err(io::Error::other("a body the core expected is missing"));
        };
        let (n, done) = match front {
            Source::File { file, offset, left } => {
                let want = len.min(*left);
                let n = send_file_range(
                    socket,
                    file,
                    *offset,
                    usize::try_from(want).unwrap_or(usize::MAX),
                )? as u64;
                if n == 0 {
                    // The file shrank: the promised length cannot be kept.
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file became shorter while it was sent",
                    ));
                }
                *offset += n;
                *left -= n;
                (n, *left == 0)
            }
            Source::Static { bytes } => {
                let part = &bytes[..(len as usize).min(bytes.len())];
                let n = if last_words {
                    send_more(socket, part)?
                } else {
                    socket.write(part)?
                };
                *bytes = &bytes[n..];
                (n as u64, bytes.is_empty())
            }
            Source::Shared { bytes, pos } => {
                let end = (*pos + len as usize).min(bytes.len());
                let part = &bytes[*pos..end];
                let n = if last_words {
                    send_more(socket, part)?
                } else {
                    socket.write(part)?
                };
                *pos += n;
                (n as u64, *pos == bytes.len())
            }
        };
        if done {
            self.sources.pop_front();
        }
        Ok(n)
    }

    /// Frees the buffers of a connection with nothing in progress, so an idle keep-alive
    /// connection costs no buffer memory.
    /// Returns true when there was something to give back.
    pub fn release_buffers(&mut self) -> bool {
        if self.holds_buffers && self.is_between_requests() {
            exchange::keep_buffers(self.core.take_buffers());
            self.holds_buffers = false;
            return true;
        }
        false
    }

    /// True when the client sent bytes this side has not used (a body left unread after an early
    /// answer, pipelined requests after a close): closing then needs the gentle way.
    pub fn has_unread_input(&self) -> bool {
        self.core.buffered_len() > 0 || self.request.is_some()
    }

    /// True while no request is partly received or answered: safe to close at a graceful stop.
    pub fn is_idle(&self) -> bool {
        self.is_between_requests()
    }

    /// Stop after the current exchange (graceful stop).
    pub fn close_when_done(&mut self) {
        if self.is_between_requests() {
            self.closed = true;
        }
    }
}

/// Copies body bytes into the sink; an answer to send at once when the body cannot be taken.
fn take_body(req: &mut InFlight, bytes: &[u8], settings: &Settings) -> Option<Response> {
    req.received += bytes.len() as u64;
    match &mut req.sink {
        Sink::Discard => None,
        Sink::Memory(v) => {
            let limit = settings.config.max_body.min(MAX_MEMORY_BODY);
            if req.received > limit {
                return Some(too_large(limit));
            }
            v.extend_from_slice(bytes);
            None
        }
        Sink::Upload { upload, url_path } => match upload.write(bytes) {
            Ok(()) => None,
            Err(e) => Some(
                Response::text(
                    500,
                    format!("500 Internal Server Error: writing {url_path} failed: {e}"),
                )
                .closing(),
            ),
        },
    }
}

fn too_large(limit: u64) -> Response {
    Response::text(
        413,
        format!(
            "413 Content Too Large: the body is larger than this server's limit of {limit} bytes"
        ),
    )
}
