//! One event loop of the load generator: a share of the connections, driven with mio.
//!
//! [`run_loop`] turns an `Engine` (the loop's connections, its schedule and a `Shell` with
//! the poller, the plan and the tally) through a few named steps: start requests, check whether
//! the run is over, expire timeouts, wait, handle each event. Each connection is a small state
//! machine: `Unopened`, `Connecting`, `Idle` (connected, nothing outstanding), `Writing` (the
//! request is partly written), `Reading` (waiting for the end of the response), or `Cooling`
//! (its last connect failed; it waits a moment before trying again, so a dead server is not
//! hammered). Whether a response is complete is decided by `wire::http1` through
//! [`crate::response::ResponseTracker`]: this loop never parses HTTP itself.
//!
//! What a request costs the generator, as wrk: the request bytes are built once per run, a
//! request is one `write` and, when the response fits the 64 KiB buffer, one `read` (a short
//! read means the socket is drained); nothing is allocated per request, and the shared progress
//! counter is updated once per wake-up.
//!
//! After an event the loop polls again without sleeping for `--spin` (200 us unless told):
//! a generator asleep in `epoll_wait` must be woken by the server's core, an interprocessor
//! interrupt the server pays for on every response, and a benchmark would then measure the
//! generator's sleep as the server's cost. A paced run (`--rate`) never spins.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::report::Tally;
use crate::response::{Progress, ResponseTracker};

/// When the run stops.
#[derive(Debug)]
pub enum Budget {
    /// After this many requests in all (shared by every loop).
    Requests(AtomicI64),
    /// At this time.
    Until(Instant),
}

impl Budget {
    /// Takes one request from the budget; false when none is left.
    fn take(&self, now: Instant) -> bool {
        match self {
            Budget::Requests(left) => left.fetch_sub(1, Ordering::Relaxed) > 0,
            Budget::Until(at) => now < *at,
        }
    }

    /// Gives back a request that was taken but never sent.
    fn give_back(&self) {
        if let Budget::Requests(left) = self {
            left.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn exhausted(&self, now: Instant) -> bool {
        match self {
            Budget::Requests(left) => left.load(Ordering::Relaxed) <= 0,
            Budget::Until(at) => now >= *at,
        }
    }
}

/// Counters the progress display reads while the loops run.
#[derive(Debug, Default)]
pub struct Live {
    /// Responses received.
    pub completed: AtomicU64,
    /// Requests failed.
    pub failed: AtomicU64,
    /// Set to stop every loop early (Ctrl-C).
    pub stop: AtomicBool,
}

/// What one loop is to do.
#[derive(Debug, Clone)]
pub struct LoopPlan {
    /// Where to connect.
    pub addr: SocketAddr,
    /// The request, every byte of it.
    pub request: Arc<[u8]>,
    /// The request is HEAD (its response has no body whatever the headers say).
    pub head_request: bool,
    /// Connections this loop keeps busy.
    pub connections: usize,
    /// Close after every response (the request says `Connection: close`).
    pub close: bool,
    /// Requests per second for this loop, if paced.
    pub rate: Option<f64>,
    /// A request outstanding longer than this is a timeout.
    pub timeout: Duration,
    /// How long to keep polling without sleeping after the last readiness event (unpaced
    /// runs only); zero sleeps at once.
    pub spin: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No socket (not yet opened, or closed after a response).
    Unopened,
    /// Waiting for the connect to finish, with a request due.
    Connecting,
    /// Connected, nothing outstanding.
    Idle,
    /// The request is partly written.
    Writing { written: usize },
    /// The request is written; reading the response.
    Reading,
    /// The last connect failed; try again after this.
    Cooling { until: Instant },
}

struct Conn {
    stream: Option<TcpStream>,
    state: State,
    tracker: ResponseTracker,
    /// When the outstanding request started counting (its due time when paced).
    started: Instant,
    /// Responses completed on the current socket.
    served: u64,
    /// Bytes of the current response read so far.
    got_bytes: bool,
}

const COOL_DOWN: Duration = Duration::from_millis(20);
const BUFFER: usize = 64 * 1024;
/// How often outstanding requests are checked against the timeout.
const TIMEOUT_SCAN: Duration = Duration::from_millis(50);
/// The longest wait for readiness, so a deadline or Ctrl-C is noticed soon.
const MAX_WAIT: Duration = Duration::from_millis(50);

impl Conn {
    fn new(head_request: bool, now: Instant) -> Conn {
        Conn {
            stream: None,
            state: State::Unopened,
            tracker: ResponseTracker::new(head_request),
            started: now,
            served: 0,
            got_bytes: false,
        }
    }

    /// Nothing outstanding, and allowed to start a request now.
    fn can_start(&self, now: Instant) -> bool {
        match self.state {
            State::Unopened | State::Idle => true,
            State::Cooling { until } => now >= until,
            _ => false,
        }
    }

    /// A request is on its way (connecting, writing or reading).
    fn is_outstanding(&self) -> bool {
        matches!(
            self.state,
            State::Connecting | State::Writing { .. } | State::Reading
        )
    }
}

/// The due times of a paced run (`--rate`).
struct Pacer {
    step: Duration,
    next_due: Instant,
}

/// What every step of the loop reads or counts into: the poller, the plan and the tally.
struct Shell<'a> {
    poll: Poll,
    plan: &'a LoopPlan,
    budget: &'a Budget,
    live: &'a Live,
    tally: Tally,
    /// One read buffer for every connection of the loop.
    buf: Vec<u8>,
    /// Responses not yet added to `live.completed` (it is told once per wake-up).
    unreported: u64,
}

/// One loop between wake-ups: its connections and when requests are due.
struct Engine<'a> {
    shell: Shell<'a>,
    conns: Vec<Conn>,
    pacer: Option<Pacer>,
    last_timeout_scan: Instant,
}

/// Runs one loop until the budget is spent (or `live.stop`), and returns what it counted.
///
/// Each turn: start a request on every connection free to take one, stop if the run is over,
/// expire requests outstanding too long, wait for readiness, and move each ready connection
/// along (connected, written, read).
pub fn run_loop(plan: &LoopPlan, budget: &Budget, live: &Live) -> io::Result<Tally> {
    let mut engine = Engine::new(plan, budget, live, Instant::now())?;
    let mut events = Events::with_capacity(1024);
    let mut last_event = Instant::now();
    loop {
        let now = Instant::now();
        let stopping = live.stop.load(Ordering::Relaxed);
        if !stopping {
            engine.start_requests(now);
        }
        if engine.is_over(now, stopping) {
            break;
        }
        engine.expire_timeouts(now);
        let spinning = engine.pacer.is_none() && spins(plan.spin, last_event, now);
        let wait = if spinning {
            Duration::ZERO
        } else {
            engine.wait_time(now)
        };
        match engine.shell.poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if !events.is_empty() {
            last_event = now;
        } else if spinning {
            // Nothing yet: let anything else that wants this core (a server sharing it) run.
            std::thread::yield_now();
        }
        for event in events.iter() {
            engine.handle_event(event);
        }
        engine.shell.report_completed();
    }
    Ok(engine.finish())
}

/// Whether to poll again without sleeping: true for `spin` after the last readiness event.
///
/// A generator that sleeps whenever its sockets are momentarily empty makes the server wake it
/// for the next response, and on Linux that wake-up (an interprocessor interrupt when the
/// generator's core is idle; a VM exit on a virtual machine) is paid on the server's core, in
/// the middle of its `sendto`: up to half a microsecond per request on a 1 KiB keep-alive run
/// in this project's benches. A generator still busy polling is woken by nothing: the server's
/// write only marks the socket ready. wrk gets the same effect by being slower (it re-arms
/// `EPOLLOUT` per request, so it is seldom idle).
fn spins(spin: Duration, last_event: Instant, now: Instant) -> bool {
    now.saturating_duration_since(last_event) < spin
}

impl<'a> Engine<'a> {
    fn new(
        plan: &'a LoopPlan,
        budget: &'a Budget,
        live: &'a Live,
        now: Instant,
    ) -> io::Result<Engine<'a>> {
        Ok(Engine {
            shell: Shell {
                poll: Poll::new()?,
                plan,
                budget,
                live,
                tally: Tally::default(),
                buf: vec![0u8; BUFFER],
                unreported: 0,
            },
            conns: (0..plan.connections)
                .map(|_| Conn::new(plan.head_request, now))
                .collect(),
            pacer: plan.rate.map(|r| Pacer {
                step: Duration::from_secs_f64(1.0 / r.max(1e-6)),
                next_due: now,
            }),
            last_timeout_scan: now,
        })
    }

    /// Starts a request on every connection that can take one, while the budget (and, when
    /// paced, the schedule) allows.
    fn start_requests(&mut self, now: Instant) {
        let Engine {
            shell,
            conns,
            pacer,
            ..
        } = self;
        for (token, conn) in conns.iter_mut().enumerate() {
            if !conn.can_start(now) {
                continue;
            }
            if pacer.as_ref().is_some_and(|p| now < p.next_due) {
                break;
            }
            if !shell.budget.take(now) {
                break;
            }
            conn.started = match pacer {
                // Latency counts from when the request was due, not from when it went out.
                Some(p) => {
                    let due = p.next_due;
                    p.next_due += p.step;
                    due
                }
                None => now,
            };
            shell.start_request(conn, token);
        }
    }

    /// True when the loop should stop: Ctrl-C (at once: requests in flight are not counted,
    /// as at the deadline), the deadline, or a spent budget with nothing outstanding.
    fn is_over(&self, now: Instant, stopping: bool) -> bool {
        if stopping {
            return true;
        }
        match self.shell.budget {
            Budget::Until(at) => now >= *at,
            Budget::Requests(_) => {
                self.shell.budget.exhausted(now) && !self.conns.iter().any(Conn::is_outstanding)
            }
        }
    }

    /// Counts requests outstanding longer than the timeout as failed (checked every
    /// [`TIMEOUT_SCAN`]).
    fn expire_timeouts(&mut self, now: Instant) {
        if now.duration_since(self.last_timeout_scan) < TIMEOUT_SCAN {
            return;
        }
        self.last_timeout_scan = now;
        let timeout = self.shell.plan.timeout;
        for conn in self.conns.iter_mut() {
            if conn.is_outstanding() && now.duration_since(conn.started) > timeout {
                self.shell.fail(conn, "timeout");
            }
        }
    }

    /// How long to wait for readiness: until the next due request, the deadline or the end of
    /// a cool-down, whichever is first, and never more than [`MAX_WAIT`].
    fn wait_time(&self, now: Instant) -> Duration {
        let mut wait = MAX_WAIT;
        if let Some(p) = &self.pacer {
            wait = wait.min(if p.next_due > now {
                p.next_due - now
            } else {
                Duration::from_millis(1)
            });
        }
        if let Budget::Until(at) = self.shell.budget {
            wait = wait.min(at.saturating_duration_since(now));
        }
        for conn in &self.conns {
            if let State::Cooling { until } = conn.state {
                wait = wait.min(until.saturating_duration_since(now));
            }
        }
        wait
    }

    /// Moves the connection an event is about as far as its socket allows.
    fn handle_event(&mut self, event: &Event) {
        let token = event.token().0;
        let Engine { shell, conns, .. } = self;
        let Some(conn) = conns.get_mut(token) else {
            return;
        };
        if conn.state == State::Connecting
            && (event.is_writable() || event.is_error())
            && !shell.finish_connect(conn)
        {
            return;
        }
        if let State::Writing { .. } = conn.state {
            shell.write_some(conn);
        }
        if conn.state == State::Reading && (event.is_readable() || event.is_read_closed()) {
            shell.read_some(conn, token);
        }
    }

    /// Closes every socket and hands back what was counted.
    fn finish(mut self) -> Tally {
        for conn in self.conns.iter_mut() {
            drop_stream(conn, &self.shell.poll);
        }
        self.shell.report_completed();
        self.shell.tally
    }
}

impl Shell<'_> {
    fn open(&mut self, conn: &mut Conn, token: usize) -> io::Result<()> {
        let mut stream = TcpStream::connect(self.plan.addr)?;
        self.poll.registry().register(
            &mut stream,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        conn.stream = Some(stream);
        conn.served = 0;
        self.tally.connects += 1;
        Ok(())
    }

    /// Sends the request on a kept-alive connection, or opens a new one for it.
    fn start_request(&mut self, conn: &mut Conn, token: usize) {
        conn.tracker.reset();
        conn.got_bytes = false;
        if conn.state == State::Idle {
            conn.state = State::Writing { written: 0 };
            self.write_some(conn);
            return;
        }
        match self.open(conn, token) {
            Ok(()) => conn.state = State::Connecting,
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                // Out of local ports (many --close connections in TIME_WAIT): not the server's
                // fault, so give the request back and wait a moment.
                self.budget.give_back();
                conn.state = State::Cooling {
                    until: Instant::now() + COOL_DOWN,
                };
            }
            Err(e) => self.connect_failed(conn, &e),
        }
    }

    /// A connecting socket became writable: true when it is connected (and ready to write).
    fn finish_connect(&mut self, conn: &mut Conn) -> bool {
        let stream = conn.stream.as_ref().expect("connecting has a socket");
        match stream.take_error() {
            Ok(Some(e)) | Err(e) => {
                self.connect_failed(conn, &e);
                return false;
            }
            Ok(None) => {}
        }
        match stream.peer_addr() {
            Ok(_) => {
                let _ = stream.set_nodelay(true);
                conn.state = State::Writing { written: 0 };
                true
            }
            // Not yet: a later event finishes it.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => false,
            Err(e) => {
                self.connect_failed(conn, &e);
                false
            }
        }
    }

    fn fail(&mut self, conn: &mut Conn, kind: &str) {
        self.tally.error(kind);
        self.live.failed.fetch_add(1, Ordering::Relaxed);
        drop_stream(conn, &self.poll);
        conn.state = State::Unopened;
    }

    fn connect_failed(&mut self, conn: &mut Conn, e: &io::Error) {
        let kind = match e.kind() {
            io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
            io::ErrorKind::TimedOut => "connect: timed out".to_string(),
            _ => format!("connect: {e}"),
        };
        self.fail(conn, &kind);
        conn.state = State::Cooling {
            until: Instant::now() + COOL_DOWN,
        };
    }

    /// Writes as much of the request as the socket takes; all of it makes the connection
    /// `Reading`.
    fn write_some(&mut self, conn: &mut Conn) {
        let State::Writing { mut written } = conn.state else {
            return;
        };
        let request = &self.plan.request;
        let stream = conn.stream.as_mut().expect("writing has a socket");
        while written < request.len() {
            match stream.write(&request[written..]) {
                Ok(0) => {
                    self.fail(conn, "connection closed by server while sending");
                    return;
                }
                Ok(n) => {
                    written += n;
                    self.tally.bytes_written += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.state = State::Writing { written };
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail(conn, &io_kind(&e));
                    return;
                }
            }
        }
        conn.state = State::Reading;
    }

    /// Reads until the response is complete or the socket has no more for now. A read that
    /// comes back short took everything queued (mio is edge-triggered, and the next arrival
    /// raises a new edge), so a response that fits in one read costs one `read` call.
    fn read_some(&mut self, conn: &mut Conn, token: usize) {
        loop {
            let stream = conn.stream.as_mut().expect("reading has a socket");
            let n = match stream.read(&mut self.buf) {
                Ok(0) => return self.read_eof(conn, token),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset && closed_while_idle(conn) => {
                    return self.retry_on_fresh_connection(conn, token);
                }
                Err(e) => return self.fail(conn, &io_kind(&e)),
            };
            self.tally.bytes_read += n as u64;
            conn.got_bytes = true;
            match conn.tracker.handle_bytes(&self.buf[..n]) {
                Ok(Progress::NeedMore) => {}
                Ok(Progress::Done(done)) if done.used < n => {
                    return self.fail(conn, "bad response: bytes after the end of the response");
                }
                Ok(Progress::Done(done)) => {
                    let keep = done.keep_alive && !self.plan.close;
                    return self.complete(conn, done.status, keep);
                }
                Err(e) => return self.fail(conn, &e.kind()),
            }
            if n < self.buf.len() {
                return;
            }
        }
    }

    /// The server closed its side while a response was awaited.
    fn read_eof(&mut self, conn: &mut Conn, token: usize) {
        if closed_while_idle(conn) {
            // A keep-alive limit or timeout closed the connection before this request reached
            // the server: not a failure of the request. Send it again on a new connection.
            return self.retry_on_fresh_connection(conn, token);
        }
        match conn.tracker.handle_eof() {
            Ok(Some(done)) => self.complete(conn, done.status, false),
            Ok(None) if conn.got_bytes => {
                self.fail(conn, "closed by server before the response ended");
            }
            Ok(None) => self.fail(conn, "closed by server without a response"),
            Err(e) => self.fail(conn, &e.kind()),
        }
    }

    fn retry_on_fresh_connection(&mut self, conn: &mut Conn, token: usize) {
        self.tally.reconnects += 1;
        drop_stream(conn, &self.poll);
        conn.state = State::Unopened;
        let started = conn.started;
        self.start_request(conn, token);
        conn.started = started;
    }

    fn complete(&mut self, conn: &mut Conn, status: u16, keep_alive: bool) {
        self.tally.record_latency(conn.started.elapsed());
        *self.tally.statuses.entry(status).or_default() += 1;
        self.unreported += 1;
        conn.served += 1;
        if keep_alive {
            conn.state = State::Idle;
        } else {
            drop_stream(conn, &self.poll);
            conn.state = State::Unopened;
        }
    }

    /// Adds the responses counted since the last call to what the progress line shows.
    fn report_completed(&mut self) {
        if self.unreported > 0 {
            self.live
                .completed
                .fetch_add(self.unreported, Ordering::Relaxed);
            self.unreported = 0;
        }
    }
}

/// A kept-alive connection that the server closed before sending a byte of this response.
fn closed_while_idle(conn: &Conn) -> bool {
    !conn.got_bytes && conn.served > 0
}

fn drop_stream(conn: &mut Conn, poll: &Poll) {
    if let Some(mut s) = conn.stream.take() {
        let _ = poll.registry().deregister(&mut s);
    }
}

fn io_kind(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => "connection reset by server".to_string(),
        io::ErrorKind::BrokenPipe => "connection closed by server while sending".to_string(),
        _ => format!("i/o: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    const OK: &[u8] = b"\
HTTP/1.1 200 OK\r\n\
Content-Length: 2\r\n\
\r\n\
hi";

    const OK_CLOSE: &[u8] = b"\
HTTP/1.1 200 OK\r\n\
Content-Length: 2\r\n\
Connection: close\r\n\
\r\n\
hi";

    /// How the test server answers each request head it reads on a connection.
    #[derive(Clone, Copy)]
    enum Answer {
        /// `OK` to every request, until the client closes.
        KeepAlive,
        /// `OK_CLOSE`, then close.
        Close,
        /// `OK` to the first request only, then close (a keep-alive limit of 1, told to nobody).
        OneThenClose,
        /// `OK` followed by bytes that belong to no response.
        Trailing,
        /// Read the request and never answer.
        Silent,
    }

    /// A server on 127.0.0.1:0 that takes `connections` connections, each on its own thread.
    fn serve(answer: Answer, connections: usize) -> (SocketAddr, JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let threads: Vec<JoinHandle<usize>> = (0..connections)
                .map(|_| {
                    let (stream, _) = listener.accept().unwrap();
                    std::thread::spawn(move || answer_requests(stream, answer))
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).sum()
        });
        (addr, handle)
    }

    /// Answers request heads until the client closes; returns how many it read.
    fn answer_requests(stream: std::net::TcpStream, answer: Answer) -> usize {
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut heads = 0;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return heads;
            }
            if line != "\r\n" {
                continue;
            }
            heads += 1;
            match answer {
                Answer::KeepAlive => writer.write_all(OK).unwrap(),
                Answer::Close => {
                    writer.write_all(OK_CLOSE).unwrap();
                    return heads;
                }
                Answer::OneThenClose => {
                    writer.write_all(OK).unwrap();
                    return heads;
                }
                Answer::Trailing => writer
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP")
                    .unwrap(),
                Answer::Silent => {}
            }
        }
    }

    fn plan(addr: SocketAddr, connections: usize) -> LoopPlan {
        LoopPlan {
            addr,
            request: Arc::from(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]),
            head_request: false,
            connections,
            close: false,
            rate: None,
            timeout: Duration::from_secs(10),
            spin: Duration::from_micros(200),
        }
    }

    fn requests(n: i64) -> Budget {
        Budget::Requests(AtomicI64::new(n))
    }

    fn statuses(tally: &Tally) -> Vec<(u16, u64)> {
        tally.statuses.iter().map(|(s, n)| (*s, *n)).collect()
    }

    #[test]
    fn keep_alive_sends_every_request_on_the_first_connections() {
        let (addr, server) = serve(Answer::KeepAlive, 2);
        let live = Live::default();
        let tally = run_loop(&plan(addr, 2), &requests(10), &live).unwrap();
        assert_eq!(statuses(&tally), vec![(200, 10)]);
        assert_eq!(tally.completed(), 10);
        assert_eq!((tally.connects, tally.reconnects), (2, 0));
        assert_eq!(tally.bytes_written, 10 * 27);
        assert_eq!(live.completed.load(Ordering::Relaxed), 10, "reported");
        assert_eq!(server.join().unwrap(), 10, "the server read 10 heads");
    }

    #[test]
    fn without_spinning_the_same_requests_are_sent_and_counted() {
        let (addr, server) = serve(Answer::KeepAlive, 2);
        let mut p = plan(addr, 2);
        p.spin = Duration::ZERO;
        let tally = run_loop(&p, &requests(10), &Live::default()).unwrap();
        assert_eq!(statuses(&tally), vec![(200, 10)]);
        assert_eq!((tally.connects, tally.reconnects), (2, 0));
        assert_eq!(server.join().unwrap(), 10);
    }

    #[test]
    fn the_loop_spins_only_within_the_spin_time_of_the_last_event() {
        let t0 = Instant::now();
        let spin = Duration::from_micros(200);
        assert!(spins(spin, t0, t0));
        assert!(spins(spin, t0, t0 + Duration::from_micros(199)));
        assert!(!spins(spin, t0, t0 + spin), "then it sleeps");
        assert!(!spins(Duration::ZERO, t0, t0), "--spin 0 never spins");
        assert!(
            spins(spin, t0 + Duration::from_secs(1), t0),
            "a clock read late is no gap"
        );
    }

    #[test]
    fn close_opens_a_connection_per_request() {
        let (addr, server) = serve(Answer::Close, 5);
        let mut p = plan(addr, 1);
        p.close = true;
        let tally = run_loop(&p, &requests(5), &Live::default()).unwrap();
        assert_eq!(statuses(&tally), vec![(200, 5)]);
        assert_eq!(tally.connects, 5);
        assert_eq!(server.join().unwrap(), 5);
    }

    #[test]
    fn a_connection_the_server_closed_while_idle_is_opened_again() {
        let (addr, server) = serve(Answer::OneThenClose, 3);
        let tally = run_loop(&plan(addr, 1), &requests(3), &Live::default()).unwrap();
        assert_eq!(statuses(&tally), vec![(200, 3)]);
        assert!(tally.errors.is_empty(), "{:?}", tally.errors);
        assert_eq!((tally.connects, tally.reconnects), (3, 2));
        assert_eq!(server.join().unwrap(), 3);
    }

    #[test]
    fn bytes_after_the_response_are_an_error() {
        let (addr, server) = serve(Answer::Trailing, 1);
        let live = Live::default();
        let tally = run_loop(&plan(addr, 1), &requests(1), &live).unwrap();
        assert_eq!(tally.completed(), 0);
        let errors: Vec<_> = tally.errors.into_iter().collect();
        assert_eq!(
            errors,
            vec![(
                "bad response: bytes after the end of the response".to_string(),
                1
            )]
        );
        assert_eq!(live.failed.load(Ordering::Relaxed), 1);
        server.join().unwrap();
    }

    #[test]
    fn a_response_that_never_comes_is_a_timeout() {
        let (addr, server) = serve(Answer::Silent, 1);
        let mut p = plan(addr, 1);
        p.timeout = Duration::from_millis(100);
        let tally = run_loop(&p, &requests(1), &Live::default()).unwrap();
        let errors: Vec<_> = tally.errors.into_iter().collect();
        assert_eq!(errors, vec![("timeout".to_string(), 1)]);
        server.join().unwrap();
    }

    #[test]
    fn a_refused_connect_is_counted_by_kind_and_retried_after_a_pause() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        // Nothing listens there now.
        let budget = Budget::Until(Instant::now() + Duration::from_millis(200));
        let tally = run_loop(&plan(addr, 1), &budget, &Live::default()).unwrap();
        assert_eq!(tally.completed(), 0);
        let refused = tally.errors["connect: connection refused"];
        // One attempt per cool-down at most: about 10 in 200 ms, never hundreds.
        assert!((1..=12).contains(&refused), "{refused} attempts");
    }

    #[test]
    fn ctrl_c_stops_the_loop_with_what_was_counted() {
        let (addr, server) = serve(Answer::KeepAlive, 1);
        let live = Live::default();
        live.stop.store(true, Ordering::Relaxed);
        let tally = run_loop(&plan(addr, 1), &requests(1_000_000), &live).unwrap();
        assert_eq!(tally.completed(), 0, "stopped before the first request");
        drop(std::net::TcpStream::connect(addr));
        server.join().unwrap();
    }

    #[test]
    fn a_paced_run_waits_for_each_due_time() {
        let (addr, server) = serve(Answer::KeepAlive, 1);
        let mut p = plan(addr, 1);
        p.rate = Some(100.0);
        let started = Instant::now();
        let tally = run_loop(&p, &requests(5), &Live::default()).unwrap();
        assert_eq!(tally.completed(), 5);
        // Due at 0, 10, 20, 30 and 40 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(40),
            "{:?}",
            started.elapsed()
        );
        server.join().unwrap();
    }
}
