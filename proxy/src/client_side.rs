//! One client connection: read requests through `wire::http1::Conn` (server role), hand each to
//! [`crate::forward`], write what the core queues, until the connection is over.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use wire::cache::invalidation::cache_key;

use wire::http1::conn::{CloseReason, Conn, ConnOptions, Event, State, Transmit};
use wire::http1::{
    Headers, Leniencies, Limits, ParseOptions, RequestHead, ResponseHead, StatusCode, Target,
};

use crate::forward::{self, CacheStatus};
use crate::request_target::absolute_uri;
use crate::store::{FreshHit, ReadyReply};
use crate::Shared;

/// How the proxy reads clients' requests: strict framing (a proxy that guesses invites request
/// smuggling), with the header-line leniencies browsers never need but hand-typed requests do.
fn client_conn_options() -> ConnOptions {
    ConnOptions {
        parse: ParseOptions {
            limits: Limits {
                max_header_section: 64 * 1024,
                max_fields: 200,
                ..Limits::DEFAULT
            },
            leniencies: Leniencies {
                bare_lf: true,
                ..Leniencies::NONE
            },
        },
        ..ConnOptions::default()
    }
}

/// The client's connection, as the request handlers see it.
pub(crate) struct Client<'s> {
    pub shared: &'s Shared,
    pub stream: TcpStream,
    pub conn: Conn,
    pub peer: SocketAddr,
    /// What the last requests on this connection had in common with the next (a client
    /// usually asks for the same few URIs again and again).
    pub memo: Memo,
}

/// Per-connection leftovers that save work on the next request.
#[derive(Default)]
pub(crate) struct Memo {
    /// The last request-target, its absolute URI and its cache key.
    key: Option<(Target, Arc<str>, Arc<str>)>,
    /// The last fresh hit's head with the proxy's fields added, and the `Age` it carries.
    hit: Option<(Arc<ReadyReply>, ResponseHead, u64)>,
}

impl Client<'_> {
    /// The absolute URI a forwarded request names and its cache key (RFC 9111 §2); the same
    /// target as last time costs a comparison.
    pub fn uri_and_key(&mut self, head: &RequestHead) -> (Arc<str>, Arc<str>) {
        if let Some((target, uri, key)) = &self.memo.key {
            if *target == head.target {
                return (uri.clone(), key.clone());
            }
        }
        let uri = absolute_uri(head);
        let key: Arc<str> = cache_key(&uri).unwrap_or_else(|| uri.clone()).into();
        let uri: Arc<str> = uri.into();
        self.memo.key = Some((head.target.clone(), uri.clone(), key.clone()));
        (uri, key)
    }

    /// Serves a fresh hit from its prepared head and in-memory body: the head (with `Via` and
    /// `X-Cache: HIT`) is built once per connection and entry, and only `Age` changes.
    pub fn send_fresh_hit(&mut self, hit: &FreshHit) -> io::Result<forward::Served> {
        let reuse = matches!(&self.memo.hit, Some((r, _, _)) if Arc::ptr_eq(r, &hit.reply));
        if !reuse {
            let mut head = hit.reply.head.clone();
            self.add_proxy_fields(&mut head.headers, CacheStatus::Hit);
            let age = u64::MAX;
            self.memo.hit = Some((hit.reply.clone(), head, age));
        }
        let (_, head, age) = self.memo.hit.as_mut().expect("just set");
        if *age != hit.age {
            // A decimal number is always a valid field value.
            let _ = head.headers.insert("Age", hit.age.to_string());
            *age = hit.age;
        }
        self.conn.send_response(head).map_err(io::Error::other)?;
        let mut sent = 0;
        if self.conn.can_send_data() {
            let body = &hit.reply.body;
            self.conn.send_data(body).map_err(io::Error::other)?;
            sent = body.len() as u64;
        }
        let status = head.status.as_u16();
        self.conn.send_end(None).map_err(io::Error::other)?;
        self.flush()?;
        Ok(forward::Served {
            status,
            bytes: sent,
            cache: CacheStatus::Hit,
        })
    }

    /// Writes everything the core has queued.
    pub fn flush(&mut self) -> io::Result<()> {
        while let Some(transmit) = self.conn.poll_transmit() {
            let Transmit::Bytes(bytes) = transmit else {
                return Err(io::Error::other(
                    "the core asked for a shell-written body, which this proxy never promises",
                ));
            };
            let n = self.stream.write(bytes)?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.conn
                .advance_transmit(n as u64)
                .map_err(io::Error::other)?;
        }
        Ok(())
    }

    /// Writes what is queued, then reads once more from the client into the core. An idle
    /// timeout or a reset is an error; the end of the stream is handed to the core.
    pub fn read_more(&mut self) -> io::Result<()> {
        self.flush()?;
        let n = self.stream.read(self.conn.receive_buffer())?;
        if n == 0 {
            self.conn.handle_eof();
        } else {
            self.conn.handle_received(n);
        }
        Ok(())
    }

    /// Reads once more from the client, waiting at most `limit`: `Ok(false)` when nothing came.
    pub fn read_within(&mut self, limit: Duration) -> io::Result<bool> {
        self.stream.set_read_timeout(Some(limit))?;
        let read = self.stream.read(self.conn.receive_buffer());
        self.stream
            .set_read_timeout(Some(self.shared.options.body_timeout))?;
        match read {
            Ok(0) => self.conn.handle_eof(),
            Ok(n) => self.conn.handle_received(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(false)
            }
            Err(e) => return Err(e),
        }
        Ok(true)
    }

    /// The fields every response the proxy sends gets: `Via` and `X-Cache`.
    pub fn add_proxy_fields(&self, headers: &mut Headers, cache: CacheStatus) {
        let _ = headers.append("Via", format!("1.1 {}", self.shared.via_name));
        let _ = headers.insert("X-Cache", cache.as_str());
    }

    /// A response the proxy makes itself, with a complete body (and no `Content-Type` when
    /// `content_type` is empty).
    pub fn respond(
        &mut self,
        status: u16,
        content_type: &str,
        body: &[u8],
        cache: CacheStatus,
        extra: &[(&str, &str)],
    ) -> io::Result<forward::Served> {
        let mut head = ResponseHead::new(
            StatusCode::new(status).unwrap_or_else(|_| StatusCode::new(500).expect("500")),
        );
        let date = self.shared.options.clock.http_date();
        let _ = head.headers.append("Date", date.to_string());
        if !content_type.is_empty() {
            let _ = head.headers.append("Content-Type", content_type);
        }
        let _ = head
            .headers
            .append("Content-Length", body.len().to_string());
        for (name, value) in extra {
            let _ = head.headers.append(name, value);
        }
        self.add_proxy_fields(&mut head.headers, cache);
        self.conn.send_response(&head).map_err(io::Error::other)?;
        if self.conn.can_send_data() {
            self.conn.send_data(body).map_err(io::Error::other)?;
        }
        self.conn.send_end(None).map_err(io::Error::other)?;
        self.flush()?;
        Ok(forward::Served {
            status,
            bytes: body.len() as u64,
            cache,
        })
    }

    /// An error response with a readable explanation.
    pub fn respond_error(&mut self, status: u16, why: &str) -> io::Result<forward::Served> {
        self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
        let reason = StatusCode::new(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        let body = format!("{status} {reason}\n\n{why}\n");
        self.respond(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes(),
            CacheStatus::Bypass,
            &[("Cache-Control", "no-store")],
        )
    }
}

/// How long a thread that has answered a request waits for the client's next one before it
/// gives the connection back to the event loop.
const LINGER: Duration = Duration::from_millis(20);

/// A client connection between owners (the event loop, a thread): its socket, the HTTP state
/// machine on it, and what it remembers.
pub(crate) struct Parked {
    pub stream: TcpStream,
    pub conn: Conn,
    pub peer: SocketAddr,
    pub memo: Memo,
}

impl Parked {
    /// A connection just accepted.
    pub fn accepted(shared: &Shared, stream: TcpStream, peer: SocketAddr) -> Parked {
        let _ = stream.set_nodelay(true);
        // On a thread, a read or write that makes no progress for this long ends the connection
        // (the body-progress timeout); the event loop keeps the header and keep-alive timeouts.
        let _ = stream.set_read_timeout(Some(shared.options.body_timeout));
        let _ = stream.set_write_timeout(Some(shared.options.body_timeout));
        Parked {
            stream,
            conn: Conn::server(client_conn_options()),
            peer,
            memo: Memo::default(),
        }
    }

    /// The connection as the request handlers see it.
    pub fn into_client(self, shared: &Shared) -> Client<'_> {
        Client {
            shared,
            stream: self.stream,
            conn: self.conn,
            peer: self.peer,
            memo: self.memo,
        }
    }
}

impl Client<'_> {
    /// Gives up the connection (to the event loop or a thread).
    pub fn park(self) -> Parked {
        Parked {
            stream: self.stream,
            conn: self.conn,
            peer: self.peer,
            memo: self.memo,
        }
    }
}

/// Answers 503 on a connection over `--max-connections`, counts it out and closes it.
pub(crate) fn refuse(shared: &Shared, stream: TcpStream, peer: SocketAddr) {
    let _registered = shared.sockets.register(&stream);
    let mut client = Parked::accepted(shared, stream, peer).into_client(shared);
    // A silent client over the limit holds this thread for the header timeout at most.
    let _ = client.read_within(shared.options.header_timeout);
    let _ = client.conn.poll_event();
    let _ = client.respond_error(
        503,
        &format!(
            "the proxy already has {} connections open (--max-connections); try again shortly",
            shared.options.max_connections
        ),
    );
    // Counted out before the socket closes, as the event loop does.
    shared.connections.fetch_sub(1, Ordering::SeqCst);
    drop(client);
}

/// Serves a connection on a thread (blocking reads and writes, as the request handlers expect):
/// first what is still queued for it, then `pending`, then further requests. When the
/// connection is waiting for its next request with nothing buffered, it is given back (`Some`)
/// for the event loop to watch; `None` when it is over (closed, failed, idle too long, or the
/// proxy is stopping).
pub(crate) fn serve_on_thread(
    shared: &Shared,
    parked: Parked,
    pending: Option<forward::Request>,
) -> Option<Parked> {
    if parked.stream.set_nonblocking(false).is_err() {
        return None;
    }
    let _registered = shared.sockets.register(&parked.stream);
    if shared.stopping.load(Ordering::SeqCst) {
        return None;
    }
    let mut client = parked.into_client(shared);
    if client.flush().is_err() {
        return None;
    }
    if let Some(request) = pending {
        if forward::handle_request(&mut client, request).is_err() {
            return None;
        }
    }
    loop {
        match client.conn.poll_event() {
            Ok(Event::Request(head)) => {
                shared.stats.requests.fetch_add(1, Ordering::Relaxed);
                if forward::handle(&mut client, head).is_err() {
                    return None;
                }
            }
            Ok(Event::NeedData) => {
                let between_requests =
                    client.conn.buffered_len() == 0 || client.conn.their_state() == State::Idle;
                if between_requests && client.conn.pending_transmit() == 0 {
                    // Between requests (or part of the next head read): a client that asks
                    // again at once (the next miss of a page) is served by this thread; a quiet
                    // one goes back to the event loop, which keeps its header or keep-alive
                    // timeout.
                    match client.read_within(LINGER) {
                        Ok(true) => continue,
                        Ok(false) => return Some(client.park()),
                        Err(_) => return None,
                    }
                }
                if client.read_more().is_err() {
                    return None;
                }
            }
            Ok(Event::ConnectionClosed(reason)) => {
                if client.flush().is_ok() && may_still_be_sending(&client.conn, reason) {
                    lingering_close(&client.stream);
                }
                return None;
            }
            Ok(Event::SwitchedProtocol | Event::Paused) => return None,
            // Body bytes of a request whose handler did not read them: the core drains them.
            Ok(_) => {}
            Err(error) => {
                let status = error.status_hint();
                let answered = client
                    .respond_error(
                        status,
                        &format!("the proxy could not read the request: {error}"),
                    )
                    .and_then(|_| client.flush());
                if answered.is_ok() {
                    lingering_close(&client.stream);
                }
                return None;
            }
        }
    }
}

/// True when the connection closes while its client may still be sending: it broke the
/// protocol and was told so, or it was answered before its body was read (an origin's early
/// 413) and the rest could not be drained.
pub(crate) fn may_still_be_sending(conn: &Conn, reason: CloseReason) -> bool {
    conn.their_state() == State::Error || reason == CloseReason::UnreadRequestBody
}

/// After an error response: shuts the sending side, then reads and drops what the client still
/// sends until it closes or [`crate::client_loop::LINGER_TIME`] is up, so the close is not a
/// reset that could destroy the response before the client reads it. Blocks this thread.
pub(crate) fn lingering_close(stream: &TcpStream) {
    let until = std::time::Instant::now() + crate::client_loop::LINGER_TIME;
    if stream.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
    let mut sink = [0u8; 16 * 1024];
    let mut reader = stream;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || reader.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match reader.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
