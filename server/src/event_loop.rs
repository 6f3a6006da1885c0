//! The readiness models: `epoll` (one event loop per core, each with its own `SO_REUSEPORT`
//! listener, doing all the work itself) and `pool` (one event loop that only waits for
//! readiness and hands ready connections to a fixed pool of workers through a bounded queue).
//!
//! Both use mio (epoll on Linux), edge-triggered: a connection remembers that its socket is
//! readable or writable until a call answers `WouldBlock`. Timeouts are checked by a sweep every
//! [`SWEEP`]. A keep-alive connection idle across a sweep gives its buffers back; idle across
//! the next one too, it is parked: only its socket, its timer and what its next request needs
//! are kept, in its slot (56 bytes), and the rest is rebuilt when the client speaks.
//!
//! A new connection is served the moment it is accepted and enters the epoll set only if it
//! has to wait: a request answered with `Connection: close` costs `accept4`, `recvfrom`,
//! `sendto` and `close`, and nothing else (see [`EventLoop::add`]). In `pool` the same holds
//! with a worker doing the serving: the reactor hands the new connection to the queue at once
//! and registers it only when the worker gives it back with something to wait for.
use std::collections::{HashSet, VecDeque};
use std::io::{self, ErrorKind, Read};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::config::Level;
use crate::connection::{Connection, Parked, Want};
use crate::shared::Shared;

/// How often deadlines are checked.
const SWEEP: Duration = Duration::from_millis(100);
const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// A connection with its socket and what the socket is known to be ready for.
pub struct Entry {
    pub stream: TcpStream,
    pub conn: Connection,
    pub readable: bool,
    pub writable: bool,
    /// The client's end of stream was reported: it may be queued behind the data, so a short
    /// read no longer means the socket is drained.
    pub peer_closed: bool,
}

/// Drives a connection until it needs readiness it does not have. Returns false when it should
/// be closed. A panic in the handler closes this connection only.
pub fn drive(entry: &mut Entry, shared: &Shared) -> bool {
    let outcome = catch_unwind(AssertUnwindSafe(|| drive_inner(entry, shared)));
    match outcome {
        Ok(keep) => keep,
        Err(_) => {
            shared.log(
                Level::Error,
                &format!(
                    "{}: a request handler panicked; the connection was closed",
                    entry.conn.peer()
                ),
            );
            false
        }
    }
}

fn drive_inner(entry: &mut Entry, shared: &Shared) -> bool {
    loop {
        let now = Instant::now();
        match entry.conn.want() {
            Want::Close => return false,
            Want::WaitUntil(_) => return true,
            Want::Write => {
                if !entry.writable {
                    return true;
                }
                match entry.conn.write_to(&mut entry.stream, shared, now) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => entry.writable = false,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
            Want::Read => {
                if !entry.readable {
                    return true;
                }
                let mut socket = ShortRead {
                    stream: &mut entry.stream,
                    drained: false,
                };
                match entry.conn.read_from(&mut socket, shared, now) {
                    // A read that did not fill the buffer took all the socket had: the next
                    // arrival raises a new edge, so asking again would only answer WouldBlock.
                    Ok(_) if socket.drained && !entry.peer_closed => entry.readable = false,
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => entry.readable = false,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
        }
    }
}

/// A socket that remembers whether its last read left room in the buffer (the kernel had no
/// more bytes queued at that moment), as nginx does, to save the read that would block.
struct ShortRead<'a> {
    stream: &'a mut TcpStream,
    drained: bool,
}

impl Read for ShortRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.drained = n > 0 && n < buf.len();
        Ok(n)
    }
}

/// The fixed answer to a connection beyond `max_connections`.
pub const BUSY: &[u8] = b"\
HTTP/1.1 503 Service Unavailable\r\n\
Server: protolab\r\n\
Retry-After: 1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 53\r\n\
Connection: close\r\n\
\r\n\
503 Service Unavailable: too many connections; retry\n";

/// Admission: counts the connection, or answers 503 at once when the server is full.
/// Returns true when the connection may be served.
pub fn admit(shared: &Shared, max: usize, write_busy: impl FnOnce(&[u8])) -> bool {
    shared.stats.accepted.fetch_add(1, Relaxed);
    if shared.open.fetch_add(1, SeqCst) >= max {
        shared.open.fetch_sub(1, SeqCst);
        shared.stats.refused.fetch_add(1, Relaxed);
        write_busy(BUSY);
        return false;
    }
    shared.stats.handled.fetch_add(1, Relaxed);
    true
}

/// Where a loop runs its connections.
enum Mode {
    /// Drive connections on the loop's own thread (`epoll`).
    Inline,
    /// Hand ready connections to workers (`pool`).
    Pool {
        jobs: SyncSender<Job>,
        done: Receiver<Job>,
        /// Ready connections waiting for room in the queue, oldest first, and the same as a set.
        pending: VecDeque<usize>,
        pending_set: HashSet<usize>,
    },
}

/// What an event said a socket is ready for.
#[derive(Clone, Copy)]
struct Readiness {
    readable: bool,
    writable: bool,
    peer_closed: bool,
}

/// A connection handed to a pool worker.
pub struct Job {
    slot: usize,
    entry: Entry,
    keep: bool,
    /// The socket is in the epoll set. A new connection goes to a worker before it is
    /// registered, and is registered only if it comes back with something to wait for.
    registered: bool,
}

/// A parked idle connection: its socket and the little it needs to resume. Kept in the slot
/// itself, not boxed: small allocations left among the freed buffers of 10,000 connections
/// would keep their pages resident.
struct Idle {
    stream: TcpStream,
    parked: Parked,
    writable: bool,
}

enum Slot {
    Free,
    Here(Box<Entry>),
    Idle(Idle),
    /// With a worker; readiness seen meanwhile is remembered.
    Away {
        readable: bool,
        writable: bool,
        peer_closed: bool,
    },
}

/// One readiness loop and its connections.
pub struct EventLoop {
    poll: Poll,
    listener: Option<TcpListener>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
    shared: Arc<Shared>,
    mode: Mode,
    /// Buffers released since the last trim, and when that was.
    released: usize,
    last_trim: Instant,
    /// Connections accepted and not yet started (kept to reuse its memory).
    accepted: Vec<(TcpStream, SocketAddr)>,
}

impl EventLoop {
    /// A loop that accepts from `listener` and serves inline.
    pub fn new(
        listener: std::net::TcpListener,
        shared: Arc<Shared>,
    ) -> io::Result<(EventLoop, Arc<Waker>)> {
        Self::build(listener, shared, Mode::Inline)
    }

    /// A loop that accepts from `listener` and hands work to `workers` threads through a queue
    /// of `queue` connections. Returns the loop, its waker and the worker threads.
    pub fn with_pool(
        listener: std::net::TcpListener,
        shared: Arc<Shared>,
        workers: usize,
        queue: usize,
    ) -> io::Result<(EventLoop, Arc<Waker>, Vec<std::thread::JoinHandle<()>>)> {
        let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Job>(queue.max(1));
        let (done_tx, done_rx) = mpsc::channel::<Job>();
        let (lp, waker) = Self::build(
            listener,
            Arc::clone(&shared),
            Mode::Pool {
                jobs: jobs_tx,
                done: done_rx,
                pending: VecDeque::new(),
                pending_set: HashSet::new(),
            },
        )?;
        let jobs_rx = Arc::new(std::sync::Mutex::new(jobs_rx));
        let mut handles = Vec::new();
        for i in 0..workers.max(1) {
            let jobs_rx = Arc::clone(&jobs_rx);
            let done_tx = done_tx.clone();
            let waker = Arc::clone(&waker);
            let shared = Arc::clone(&shared);
            handles.push(
                std::thread::Builder::new()
                    .name(format!("pool-{i}"))
                    .spawn(move || loop {
                        let job = match jobs_rx.lock() {
                            Ok(rx) => rx.recv_timeout(SWEEP),
                            Err(_) => return,
                        };
                        let mut job = match job {
                            Ok(job) => job,
                            Err(mpsc::RecvTimeoutError::Timeout) => {
                                crate::file_cache::drop_expired(Instant::now());
                                continue;
                            }
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        };
                        job.keep = drive(&mut job.entry, &shared);
                        if done_tx.send(job).is_err() {
                            return;
                        }
                        let _ = waker.wake();
                    })?,
            );
        }
        Ok((lp, waker, handles))
    }

    fn build(
        listener: std::net::TcpListener,
        shared: Arc<Shared>,
        mode: Mode,
    ) -> io::Result<(EventLoop, Arc<Waker>)> {
        let poll = Poll::new()?;
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok((
            EventLoop {
                poll,
                listener: Some(listener),
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
                shared,
                mode,
                released: 0,
                last_trim: Instant::now(),
                accepted: Vec::new(),
            },
            waker,
        ))
    }

    /// Runs until a graceful stop has finished.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut next_sweep = Instant::now() + SWEEP;
        let mut stop_deadline: Option<(Instant, Instant)> = None;
        loop {
            let now = Instant::now();
            let timeout = next_sweep.saturating_duration_since(now);
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != ErrorKind::Interrupted {
                    self.shared
                        .log(Level::Error, &format!("event loop stopped: {e}"));
                    return;
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(slot) => {
                        let readiness = Readiness {
                            readable: ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                            writable: ev.is_writable() || ev.is_error(),
                            peer_closed: ev.is_read_closed() || ev.is_error(),
                        };
                        self.ready(slot, readiness);
                    }
                }
            }
            self.collect_returns();
            let now = Instant::now();
            if now >= next_sweep {
                next_sweep = now + SWEEP;
                self.sweep(now);
            }
            if self.shared.is_stopping() {
                let (began, deadline) = *stop_deadline.get_or_insert_with(|| {
                    self.listener = None;
                    (now, now + self.shared.settings().config.grace)
                });
                self.close_idle();
                if self.live == 0 {
                    return;
                }
                if now >= deadline {
                    let message = crate::server::cut_at_stop(self.live, now - began);
                    self.shared.log(Level::Warn, &message);
                    return;
                }
            }
        }
    }

    /// Takes every connection the kernel has queued, then starts each one. Accepting the whole
    /// batch first gives the requests behind the handshakes time to arrive.
    fn accept(&mut self) {
        let mut batch = std::mem::take(&mut self.accepted);
        while let Some(listener) = &self.listener {
            match listener.accept() {
                Ok(pair) => batch.push(pair),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors, say: log it and try again at the next event.
                    self.shared
                        .log(Level::Error, &format!("accept failed: {e}"));
                    break;
                }
            }
        }
        for (stream, peer) in batch.drain(..) {
            self.add(stream, peer);
        }
        self.accepted = batch;
    }

    /// Admits a new connection and serves it at once (in `pool`, hands it to a worker at once):
    /// a client sends its request right behind the handshake, so it is usually there already
    /// (the listener defers the accept until it is). Only a connection
    /// that must wait (for more of its request, for room to write, for its next request) is
    /// registered with epoll; one answered and closed in one go costs no `epoll_ctl` and no
    /// wake-up. Registering after the socket has answered `WouldBlock` loses nothing: adding a
    /// socket to an epoll set reports what it is ready for at that moment.
    fn add(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        let max = self.shared.settings().config.max_connections;
        let admitted = admit(&self.shared, max, |busy| {
            use std::io::Write;
            let _ = stream.write(busy);
        });
        if !admitted {
            return;
        }
        // TCP_NODELAY came from the listener (see `server::listen`).
        let inline = matches!(self.mode, Mode::Inline);
        // On the stack until it has to wait: one answered at once is never boxed.
        let mut entry = Entry {
            stream,
            conn: Connection::new(peer, &self.shared, Instant::now()),
            readable: inline,
            writable: true,
            peer_closed: false,
        };
        if inline && !drive(&mut entry, &self.shared) {
            close_entry(entry, &self.shared);
            return;
        }
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::Free);
            self.slots.len() - 1
        });
        self.live += 1;
        if let Mode::Pool {
            jobs,
            pending,
            pending_set,
            ..
        } = &mut self.mode
        {
            // The request is usually there already (TCP_DEFER_ACCEPT): a worker reads it now.
            entry.readable = true;
            self.slots[slot] = Slot::Away {
                readable: false,
                writable: false,
                peer_closed: false,
            };
            let job = Job {
                slot,
                entry,
                keep: true,
                registered: false,
            };
            let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) = jobs.try_send(job)
            else {
                return;
            };
            // The queue is full: wait here, registered, for a free worker.
            entry = job.entry;
            if pending_set.insert(slot) {
                pending.push_back(slot);
            }
        }
        let mut entry = Box::new(entry);
        if self.register(&mut entry.stream, slot).is_err() {
            self.slots[slot] = Slot::Free;
            self.free.push(slot);
            self.live -= 1;
            close_entry(*entry, &self.shared);
            return;
        }
        self.slots[slot] = Slot::Here(entry);
    }

    fn register(&self, stream: &mut TcpStream, slot: usize) -> io::Result<()> {
        self.poll
            .registry()
            .register(stream, Token(slot), Interest::READABLE | Interest::WRITABLE)
    }

    fn ready(&mut self, slot: usize, ready: Readiness) {
        if matches!(self.slots.get(slot), Some(Slot::Idle(_))) {
            self.unpark(slot);
        }
        match self.slots.get_mut(slot) {
            Some(Slot::Here(entry)) => {
                entry.readable |= ready.readable;
                entry.writable |= ready.writable;
                entry.peer_closed |= ready.peer_closed;
                self.run_slot(slot);
            }
            Some(Slot::Away {
                readable,
                writable,
                peer_closed,
            }) => {
                *readable |= ready.readable;
                *writable |= ready.writable;
                *peer_closed |= ready.peer_closed;
            }
            _ => {}
        }
    }

    /// Drives a connection here or hands it to a worker.
    fn run_slot(&mut self, slot: usize) {
        match &mut self.mode {
            Mode::Inline => {
                let Some(Slot::Here(entry)) = self.slots.get_mut(slot) else {
                    return;
                };
                if !drive(entry, &self.shared) {
                    self.remove(slot);
                }
            }
            Mode::Pool {
                jobs,
                pending,
                pending_set,
                ..
            } => {
                let Some(Slot::Here(entry)) = self.slots.get(slot) else {
                    return;
                };
                if !can_progress(entry) {
                    if matches!(entry.conn.want(), Want::Close) {
                        self.remove(slot);
                    }
                    return;
                }
                let Slot::Here(entry) = std::mem::replace(
                    &mut self.slots[slot],
                    Slot::Away {
                        readable: false,
                        writable: false,
                        peer_closed: false,
                    },
                ) else {
                    return;
                };
                match jobs.try_send(Job {
                    slot,
                    entry: *entry,
                    keep: true,
                    registered: true,
                }) {
                    Ok(()) => {}
                    Err(TrySendError::Full(job)) | Err(TrySendError::Disconnected(job)) => {
                        // The queue is full: keep it here and try again when a worker is free.
                        self.slots[slot] = Slot::Here(Box::new(job.entry));
                        if pending_set.insert(slot) {
                            pending.push_back(slot);
                        }
                    }
                }
            }
        }
    }

    /// Takes back connections the workers finished with.
    fn collect_returns(&mut self) {
        let Mode::Pool { done, .. } = &self.mode else {
            return;
        };
        let returned: Vec<Job> = done.try_iter().collect();
        for job in returned {
            let Job {
                slot,
                mut entry,
                keep,
                registered,
            } = job;
            if let Some(Slot::Away {
                readable,
                writable,
                peer_closed,
            }) = self.slots.get(slot)
            {
                entry.readable |= *readable;
                entry.writable |= *writable;
                entry.peer_closed |= *peer_closed;
            }
            // A new connection that must wait enters the epoll set now; one answered and
            // closed by its worker never did. Adding a socket reports what it is ready for at
            // that moment, so nothing that happened meanwhile is lost.
            let keep = keep && (registered || self.register(&mut entry.stream, slot).is_ok());
            self.slots[slot] = Slot::Here(Box::new(entry));
            if !keep {
                self.remove(slot);
            } else {
                self.run_slot(slot);
            }
        }
        // Hand waiting connections to the queue while it has room; stop at the first refusal
        // (the queue is full again) so a long wait list costs nothing per wake-up.
        loop {
            let Mode::Pool {
                pending,
                pending_set,
                ..
            } = &mut self.mode
            else {
                return;
            };
            let Some(&slot) = pending.front() else { return };
            pending.pop_front();
            pending_set.remove(&slot);
            let before = pending.len();
            self.run_slot(slot);
            let Mode::Pool { pending, .. } = &self.mode else {
                return;
            };
            if pending.len() > before {
                // run_slot put it back: the queue is full.
                return;
            }
        }
    }

    /// A parked connection becomes a whole one again.
    fn unpark(&mut self, slot: usize) {
        if let Slot::Idle(idle) = std::mem::replace(&mut self.slots[slot], Slot::Free) {
            let Idle {
                stream,
                parked,
                writable,
            } = idle;
            let peer = stream
                .peer_addr()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
            self.slots[slot] = Slot::Here(Box::new(Entry {
                stream,
                conn: Connection::resume(parked, peer),
                readable: false,
                writable,
                peer_closed: false,
            }));
        }
    }

    /// Keeps only what an idle connection needs (see [`Connection::park`]).
    fn park(&mut self, slot: usize) {
        if let Slot::Here(entry) = std::mem::replace(&mut self.slots[slot], Slot::Free) {
            let Entry {
                stream,
                conn,
                writable,
                ..
            } = *entry;
            self.slots[slot] = Slot::Idle(Idle {
                stream,
                parked: conn.park(),
                writable,
            });
            self.released += 1;
        }
    }

    fn sweep(&mut self, now: Instant) {
        crate::file_cache::drop_expired(now);
        for slot in 0..self.slots.len() {
            let entry = match &mut self.slots[slot] {
                Slot::Here(entry) => entry,
                Slot::Idle(idle) => {
                    // A silent idle connection whose time is up just closes.
                    if now >= idle.parked.deadline() {
                        self.remove(slot);
                    }
                    continue;
                }
                _ => continue,
            };
            if now >= entry.conn.deadline() {
                entry.conn.handle_timeout(&self.shared, now);
                self.run_slot(slot);
            } else if entry.conn.can_park() && !entry.readable {
                // Idle across two sweeps with nothing read in between.
                self.park(slot);
            } else if entry.conn.is_idle() {
                // Idle since the last sweep at least: give its buffers back (10,000 idle
                // keep-alive connections then cost almost nothing). Not on every WouldBlock,
                // which would free and allocate them again for every request.
                if entry.conn.release_buffers() {
                    self.released += 1;
                }
            }
        }
        // Many buffers freed: hand the pages back, at most once a second.
        if self.released >= 256 && now.duration_since(self.last_trim) >= Duration::from_secs(1) {
            crate::memory::release_free_memory();
            self.released = 0;
            self.last_trim = now;
        }
    }

    fn close_idle(&mut self) {
        for slot in 0..self.slots.len() {
            if matches!(self.slots[slot], Slot::Idle(_)) {
                self.remove(slot);
                continue;
            }
            if let Slot::Here(entry) = &mut self.slots[slot] {
                entry.conn.close_when_done();
                if matches!(entry.conn.want(), Want::Close) {
                    self.remove(slot);
                }
            }
        }
    }

    fn remove(&mut self, slot: usize) {
        match std::mem::replace(&mut self.slots[slot], Slot::Free) {
            Slot::Here(entry) => close_entry(*entry, &self.shared),
            Slot::Idle(idle) => {
                idle.parked.finish(&self.shared);
                self.shared.open.fetch_sub(1, SeqCst);
            }
            other => {
                self.slots[slot] = other;
                return;
            }
        }
        self.free.push(slot);
        self.live -= 1;
    }
}

/// Closes a connection and balances the counts. Closing the descriptor takes it out of the
/// epoll set, if it is in one: no deregister call is needed.
fn close_entry(mut entry: Entry, shared: &Shared) {
    if entry.conn.has_unread_input() {
        close_gently(&mut entry.stream);
    }
    entry.conn.finish(shared);
    shared.open.fetch_sub(1, SeqCst);
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        for slot in 0..self.slots.len() {
            self.remove(slot);
        }
    }
}

/// Ends our side first and reads what the client already sent, so closing does not answer its
/// unread bytes with a reset that could destroy a response it has not read yet.
fn close_gently(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match stream.read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
}

fn can_progress(entry: &Entry) -> bool {
    match entry.conn.want() {
        Want::Read => entry.readable,
        Want::Write => entry.writable,
        Want::WaitUntil(_) | Want::Close => false,
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::shared::Settings;
    use std::io::{Read, Write};

    /// Drives `conn` on a blocking socket until the response to one request is written, and
    /// returns that response's head as the client read it.
    fn exchange(
        conn: &mut Connection,
        client: &mut std::net::TcpStream,
        server_side: &mut std::net::TcpStream,
        shared: &Shared,
    ) -> String {
        client
            .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        while conn.want() == Want::Read {
            conn.read_from(server_side, shared, Instant::now()).unwrap();
        }
        assert_eq!(conn.want(), Want::Write);
        conn.write_to(server_side, shared, Instant::now()).unwrap();
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\nhello") {
            client.read_exact(&mut byte).unwrap();
            got.push(byte[0]);
        }
        String::from_utf8(got).unwrap()
    }

    #[test]
    fn a_parked_connection_resumes_where_it_was() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.txt"), "hello").unwrap();
        let mut config = Config::for_tests(Some(root.path()));
        config.requests_per_connection = 2;
        config.keep_alive_timeout = Duration::from_secs(7);
        let shared = Shared::new(Settings::open(config).unwrap());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server_side, peer) = listener.accept().unwrap();

        let mut conn = Connection::new(peer, &shared, Instant::now());
        let first = exchange(&mut conn, &mut client, &mut server_side, &shared);
        assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
        assert!(!first.contains("Connection: close"), "{first}");
        assert!(!conn.can_park(), "buffers used since the last release");
        assert!(conn.release_buffers());
        assert!(conn.can_park());

        let deadline = conn.deadline();
        let parked = conn.park();
        assert_eq!(parked.deadline(), deadline, "the keep-alive timer is kept");
        assert_eq!(shared.stats.snapshot().waiting, 1);

        let mut conn = Connection::resume(parked, peer);
        assert_eq!(conn.want(), Want::Read);
        assert_eq!(conn.deadline(), deadline);
        let second = exchange(&mut conn, &mut client, &mut server_side, &shared);
        assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
        assert!(
            second.contains("Connection: close\r\n"),
            "the request count survived parking, so the second of two says close: {second}"
        );
        assert_eq!(shared.stats.snapshot().requests, 2);
    }

    #[test]
    fn an_idle_slot_is_small() {
        // What 10,000 idle keep-alive connections cost the loop, besides their sockets.
        assert!(
            std::mem::size_of::<Slot>() <= 64,
            "{}",
            std::mem::size_of::<Slot>()
        );
    }
}
