//! The client side's event loop: every client connection waits here (mio, one thread) between
//! requests, and a request that is a fresh hit ([`forward::try_fresh_hit`]: the prepared reply
//! of an entry in memory) is answered here at once, with no thread woken.
//!
//! ```text
//!  accept ──► loop: read, parse ──► fresh hit? ── yes ──► reply written here, wait again
//!                    ▲                   │ no (miss, revalidation, CONNECT, a page, a reply
//!                    │                   ▼     the socket cannot take at once)
//!                    └──── given back ── a thread of its own, blocking, as before
//!                          when waiting for the next request with nothing buffered
//! ```
//!
//! Everything that may wait on something other than the client's socket (an origin, the disk,
//! another request's fetch) stays straight-line code on a thread; the loop only saves the
//! thread wake-up and switch per request that dominated a hit's cost (bench/proxy/README.md).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, Read};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use wire::http1::conn::{Event, State};

use crate::client_side::{may_still_be_sending, serve_on_thread, Client, Parked};
use crate::forward::{self, Request};
use crate::{Shared, SocketGuard};

const WAKER: Token = Token(usize::MAX);

/// How connections reach the loop: from the accept thread, or back from a thread.
#[derive(Debug)]
pub(crate) struct Inbox {
    parked: Mutex<Vec<Parked>>,
    waker: Waker,
}

impl std::fmt::Debug for Parked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Parked({})", self.peer)
    }
}

impl Inbox {
    pub fn new(poll: &Poll) -> io::Result<Inbox> {
        Ok(Inbox {
            parked: Mutex::new(Vec::new()),
            waker: Waker::new(poll.registry(), WAKER)?,
        })
    }

    /// Hands a connection to the loop.
    pub fn park(&self, parked: Parked) {
        self.parked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(parked);
        let _ = self.waker.wake();
    }

    /// Wakes the loop (to see that the proxy is stopping).
    pub fn wake(&self) {
        let _ = self.waker.wake();
    }

    fn take(&self) -> Vec<Parked> {
        std::mem::take(&mut *self.parked.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A connection waiting in the loop.
struct Waiting<'s> {
    client: Client<'s>,
    _registered: SocketGuard<'s>,
    /// When the current request head began (its first byte, or the connection's start for its
    /// first request); `None` between requests.
    head_since: Option<Instant>,
    /// When the loop gives up on it: the header, body-progress or keep-alive timeout, whichever
    /// applies to what it is waiting for.
    deadline: Instant,
    /// The time its live entry in [`Deadlines`] was pushed with.
    armed: Instant,
    /// It has been answered with an error and its sending side shut: what the client still
    /// sends is read and dropped until it closes or [`LINGER_TIME`] is up.
    lingering: bool,
}

/// How long a connection refused with an error (400, 431, ...) goes on reading what its client
/// still sends before it is closed. Closing a socket with unread bytes makes the kernel send a
/// reset, which can destroy the error response before the client reads it (the reason for
/// nginx's `lingering_close`); reading them first lets the close be an orderly FIN.
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(2);

impl Waiting<'_> {
    /// Sets the deadline for what the connection waits for now (after reading at `now`).
    fn renew(&mut self, options: &crate::Options, now: Instant) {
        let conn = &self.client.conn;
        if self.lingering {
            // One budget from the refusal, however much keeps arriving.
            return;
        }
        self.deadline = if conn.their_state() != State::Idle {
            // Part of a request body the loop is draining.
            self.head_since = None;
            now + options.body_timeout
        } else if conn.buffered_len() > 0 || conn.requests() == 0 {
            // Part of a head (or nothing yet on a new connection): the head has one budget
            // however slowly its bytes trickle in.
            let since = *self.head_since.get_or_insert(now);
            since + options.header_timeout
        } else {
            self.head_since = None;
            now + options.keep_alive_timeout
        };
    }
}

/// Every waiting connection's deadline, soonest first, at O(log n) per change that brings one
/// nearer and O(1) for the usual change (activity pushes a deadline later: only the
/// connection's own field moves; the heap entry is re-armed when it comes due).
///
/// An entry whose time is not its connection's `armed` is stale (the connection left, or a
/// nearer deadline was pushed since) and is skipped when it comes up.
struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl Deadlines {
    fn arm(&mut self, token: usize, entry: &mut Waiting<'_>) {
        entry.armed = entry.deadline;
        self.heap.push(Reverse((entry.deadline, token)));
    }

    /// After a connection's deadline changed: a nearer one needs an entry of its own.
    fn update(&mut self, token: usize, entry: &mut Waiting<'_>) {
        if entry.deadline < entry.armed {
            self.arm(token, entry);
        }
    }

    /// How long the loop may sleep.
    fn timeout(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse((at, _))| at.saturating_duration_since(now))
    }

    /// Takes the connections whose deadline has passed out of `waiting`.
    fn expire<'s>(
        &mut self,
        waiting: &mut HashMap<usize, Waiting<'s>>,
        now: Instant,
        expired: &mut Vec<Waiting<'s>>,
    ) {
        while let Some(&Reverse((at, token))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            let Some(entry) = waiting.get_mut(&token) else {
                continue;
            };
            if entry.armed != at {
                continue;
            }
            if entry.deadline <= now {
                expired.extend(waiting.remove(&token));
            } else {
                self.arm(token, entry);
            }
        }
        // Connections handed to threads leave stale entries behind; rebuild when they dominate.
        if self.heap.len() > 64 + 4 * waiting.len() {
            self.heap.clear();
            self.heap
                .extend(waiting.iter().map(|(&token, w)| Reverse((w.armed, token))));
        }
    }
}

/// What a connection needs after the loop has read what it could.
enum Next {
    /// Wait for more bytes.
    Wait,
    /// It is over: close it.
    Close,
    /// It was answered with an error: shut its sending side, then drain and close it.
    Linger,
    /// Give it to a thread, with the request that needs one (if any).
    Thread(Option<Box<Request>>),
}

/// Runs the loop until the proxy stops.
pub(crate) fn run(shared: &Arc<Shared>, mut poll: Poll) {
    let mut events = Events::with_capacity(256);
    let mut waiting: HashMap<usize, Waiting<'_>> = HashMap::new();
    let mut deadlines = Deadlines {
        heap: BinaryHeap::new(),
    };
    let mut expired = Vec::new();
    let mut next_token = 0usize;
    let options = &shared.options;
    loop {
        let timeout = deadlines.timeout(Instant::now());
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("proxy: the client event loop failed: {e}");
            return;
        }
        if shared.stopping.load(Ordering::SeqCst) {
            // Dropping the waiting connections closes them.
            drop(shared.inbox.take());
            return;
        }
        // One clock read per wake-up, not per event.
        let now = Instant::now();
        for event in events.iter() {
            let token = event.token();
            if token == WAKER {
                continue;
            }
            let Some(mut entry) = waiting.remove(&token.0) else {
                continue;
            };
            let next = if entry.lingering {
                discard(&mut entry.client)
            } else {
                step(&mut entry.client)
            };
            match next {
                Next::Wait => {
                    entry.renew(options, now);
                    deadlines.update(token.0, &mut entry);
                    waiting.insert(token.0, entry);
                }
                Next::Close => leave(&poll, entry, None, shared),
                Next::Linger => {
                    let _ = entry.client.stream.shutdown(Shutdown::Write);
                    // What is already buffered gives no new readiness event: drop it now.
                    if matches!(discard(&mut entry.client), Next::Close) {
                        leave(&poll, entry, None, shared);
                        continue;
                    }
                    entry.lingering = true;
                    entry.deadline = now + LINGER_TIME;
                    deadlines.update(token.0, &mut entry);
                    waiting.insert(token.0, entry);
                }
                Next::Thread(request) => leave(&poll, entry, Some(request), shared),
            }
        }
        for parked in shared.inbox.take() {
            let token = next_token;
            next_token = next_token.wrapping_add(1) % (usize::MAX - 1);
            let registered = shared.sockets.register(&parked.stream);
            let fd = parked.stream.as_raw_fd();
            let watched = parked.stream.set_nonblocking(true).is_ok()
                && poll
                    .registry()
                    .register(&mut SourceFd(&fd), Token(token), Interest::READABLE)
                    .is_ok();
            if !watched {
                drop(registered);
                shared.connections.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            // Bytes that arrived before it was registered are reported by the registration.
            let mut entry = Waiting {
                client: parked.into_client(shared),
                _registered: registered,
                head_since: None,
                deadline: now,
                armed: now,
                lingering: false,
            };
            entry.renew(options, now);
            deadlines.arm(token, &mut entry);
            waiting.insert(token, entry);
        }
        deadlines.expire(&mut waiting, now, &mut expired);
        for mut entry in expired.drain(..) {
            let conn = &mut entry.client.conn;
            if !entry.lingering && conn.buffered_len() > 0 && conn.their_state() == State::Idle {
                // RFC 9110 §15.5.9: tell a client that stopped halfway through a head. The core
                // allows one response once it knows the head will not come.
                conn.handle_timeout();
                let _ = entry.client.respond_error(
                    408,
                    &format!(
                        "the request head did not arrive within {:?} (--header-timeout)",
                        options.header_timeout
                    ),
                );
            }
            leave(&poll, entry, None, shared);
        }
    }
}

/// Takes a connection out of the loop: closes it, or gives it to a new thread.
fn leave(
    poll: &Poll,
    entry: Waiting<'_>,
    thread: Option<Option<Box<Request>>>,
    shared: &Arc<Shared>,
) {
    let fd = entry.client.stream.as_raw_fd();
    let _ = poll.registry().deregister(&mut SourceFd(&fd));
    let Waiting {
        client,
        _registered,
        ..
    } = entry;
    drop(_registered);
    let Some(request) = thread else {
        // Counted out before the socket closes, so a client that sees the close may connect
        // again at once without meeting --max-connections.
        shared.connections.fetch_sub(1, Ordering::SeqCst);
        drop(client);
        return;
    };
    let parked = client.park();
    let on_thread = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("proxy-conn".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let shared = on_thread;
            match serve_on_thread(&shared, parked, request.map(|r| *r)) {
                Some(parked) if !shared.stopping.load(Ordering::SeqCst) => {
                    shared.inbox.park(parked)
                }
                _ => {
                    shared.connections.fetch_sub(1, Ordering::SeqCst);
                }
            }
        });
    if spawned.is_err() {
        shared.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads what the socket has and answers what can be answered without blocking.
fn step(client: &mut Client<'_>) -> Next {
    loop {
        match client.conn.poll_event() {
            Ok(Event::NeedData) => {
                let read = client.stream.read(client.conn.receive_buffer());
                match read {
                    Ok(0) => client.conn.handle_eof(),
                    Ok(n) => client.conn.handle_received(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Wait,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return Next::Close,
                }
            }
            Ok(Event::Request(head)) => {
                client.shared.stats.requests.fetch_add(1, Ordering::Relaxed);
                let request = Request::new(head);
                match forward::try_fresh_hit(client, &request) {
                    Some(Ok(())) => {}
                    Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                        // The reply is queued but the socket is full: a thread finishes it.
                        return Next::Thread(None);
                    }
                    Some(Err(_)) => return Next::Close,
                    None => return Next::Thread(Some(Box::new(request))),
                }
            }
            Ok(Event::ConnectionClosed(reason)) => {
                return if client.conn.pending_transmit() > 0 && client.flush().is_err() {
                    Next::Thread(None)
                } else if may_still_be_sending(&client.conn, reason) {
                    Next::Linger
                } else {
                    Next::Close
                };
            }
            Ok(Event::SwitchedProtocol | Event::Paused) => return Next::Close,
            // Body bytes of a request nobody reads: the core drains them.
            Ok(_) => {}
            Err(error) => {
                let status = error.status_hint();
                let why = format!("the proxy could not read the request: {error}");
                return match client.respond_error(status, &why) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Next::Thread(None),
                    Ok(_) => Next::Linger,
                    Err(_) => Next::Close,
                };
            }
        }
    }
}

/// Reads and drops what a lingering connection's client still sends: `Close` at its end of
/// stream (or a failure), `Wait` when the socket is empty.
fn discard(client: &mut Client<'_>) -> Next {
    let mut sink = [0u8; 16 * 1024];
    loop {
        match client.stream.read(&mut sink) {
            Ok(0) => return Next::Close,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Wait,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Next::Close,
        }
    }
}
