//! One event loop of the load generator: a share of the connections, driven with mio.
//!
//! Each connection is a small state machine: `Idle` (connected, nothing outstanding), `Connecting`,
//! `Writing` (the request is partly written), `Reading` (waiting for the end of the response), or
//! `Cooling` (its last connect failed; it waits a moment before trying again, so a dead server is
//! not hammered). Whether a response is complete is decided by `wire::http1` through
//! [`crate::response::ResponseTracker`]: this loop never parses HTTP itself.
//!
//! The loop reads until a read comes back short rather than until `WouldBlock` (mio is
//! edge-triggered): a response that fits in one read costs one `read` call, not two.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Runs one loop until the budget is spent (or `live.stop`), and returns what it counted.
pub fn run_loop(plan: &LoopPlan, budget: &Budget, live: &Live) -> io::Result<Tally> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut tally = Tally::default();
    let mut buf = vec![0u8; BUFFER];
    let begin = Instant::now();
    let mut conns: Vec<Conn> = (0..plan.connections)
        .map(|_| Conn {
            stream: None,
            state: State::Unopened,
            tracker: ResponseTracker::new(plan.head_request),
            started: begin,
            served: 0,
            got_bytes: false,
        })
        .collect();
    let interval = plan
        .rate
        .map(|r| Duration::from_secs_f64(1.0 / r.max(1e-6)));
    let mut next_due = begin;
    let mut last_timeout_scan = begin;

    loop {
        let now = Instant::now();
        let stopping = live.stop.load(Ordering::Relaxed);

        // Start requests on every connection that can take one.
        if !stopping {
            #[allow(clippy::needless_range_loop)] // the index is the connection's mio token
            for i in 0..conns.len() {
                let ready = match conns[i].state {
                    State::Unopened | State::Idle => true,
                    State::Cooling { until } => now >= until,
                    _ => false,
                };
                if !ready {
                    continue;
                }
                if interval.is_some() && now < next_due {
                    break;
                }
                if !budget.take(now) {
                    break;
                }
                let started = match interval {
                    Some(step) => {
                        let due = next_due;
                        next_due += step;
                        due
                    }
                    None => now,
                };
                conns[i].started = started;
                start_request(&poll, &mut conns[i], i, plan, &mut tally, live, budget)?;
            }
        }

        let busy = conns.iter().any(|c| {
            matches!(
                c.state,
                State::Connecting | State::Writing { .. } | State::Reading
            )
        });
        if stopping || (!busy && budget.exhausted(now)) {
            // Ctrl-C stops at once: requests in flight are not counted, as at the deadline.
            break;
        }
        if let Budget::Until(at) = budget {
            if now >= *at {
                // In-flight requests at the deadline are not counted either way.
                break;
            }
        }

        // Requests outstanding too long are timeouts.
        if now.duration_since(last_timeout_scan) >= Duration::from_millis(50) {
            last_timeout_scan = now;
            for conn in conns.iter_mut() {
                let outstanding = matches!(
                    conn.state,
                    State::Connecting | State::Writing { .. } | State::Reading
                );
                if outstanding && now.duration_since(conn.started) > plan.timeout {
                    fail(conn, &poll, &mut tally, live, "timeout");
                }
            }
        }

        let mut wait = Duration::from_millis(50);
        if let Some(_step) = interval {
            if next_due > now {
                wait = wait.min(next_due - now);
            } else {
                wait = Duration::ZERO.max(wait.min(Duration::from_millis(1)));
            }
        }
        if let Budget::Until(at) = budget {
            wait = wait.min(at.saturating_duration_since(now));
        }
        for conn in &conns {
            if let State::Cooling { until } = conn.state {
                wait = wait.min(until.saturating_duration_since(now));
            }
        }
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let i = event.token().0;
            let conn = &mut conns[i];
            if conn.state == State::Connecting && (event.is_writable() || event.is_error()) {
                let stream = conn.stream.as_ref().expect("connecting has a socket");
                match stream.take_error() {
                    Ok(Some(e)) | Err(e) => {
                        connect_failed(conn, &poll, &mut tally, live, &e);
                        continue;
                    }
                    Ok(None) => {}
                }
                match stream.peer_addr() {
                    Ok(_) => {
                        let _ = stream.set_nodelay(true);
                        conn.state = State::Writing { written: 0 };
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => continue,
                    Err(e) => {
                        connect_failed(conn, &poll, &mut tally, live, &e);
                        continue;
                    }
                }
            }
            if let State::Writing { .. } = conn.state {
                write_some(conn, &poll, plan, &mut tally, live);
            }
            if conn.state == State::Reading && (event.is_readable() || event.is_read_closed()) {
                read_some(conn, i, &poll, plan, &mut buf, &mut tally, live, budget)?;
            }
        }
    }
    for conn in conns.iter_mut() {
        if let Some(mut s) = conn.stream.take() {
            let _ = poll.registry().deregister(&mut s);
        }
    }
    Ok(tally)
}

fn open(
    poll: &Poll,
    conn: &mut Conn,
    token: usize,
    addr: SocketAddr,
    tally: &mut Tally,
) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    poll.registry().register(
        &mut stream,
        Token(token),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    conn.stream = Some(stream);
    conn.served = 0;
    tally.connects += 1;
    Ok(())
}

fn start_request(
    poll: &Poll,
    conn: &mut Conn,
    token: usize,
    plan: &LoopPlan,
    tally: &mut Tally,
    live: &Live,
    budget: &Budget,
) -> io::Result<()> {
    conn.tracker.reset();
    conn.got_bytes = false;
    match conn.state {
        State::Idle => {
            conn.state = State::Writing { written: 0 };
            write_some(conn, poll, plan, tally, live);
        }
        _ => match open(poll, conn, token, plan.addr, tally) {
            Ok(()) => conn.state = State::Connecting,
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                // Out of local ports (many --close connections in TIME_WAIT): not the server's
                // fault, so give the request back and wait a moment.
                budget.give_back();
                conn.state = State::Cooling {
                    until: Instant::now() + COOL_DOWN,
                };
            }
            Err(e) => connect_failed(conn, poll, tally, live, &e),
        },
    }
    Ok(())
}

fn drop_stream(conn: &mut Conn, poll: &Poll) {
    if let Some(mut s) = conn.stream.take() {
        let _ = poll.registry().deregister(&mut s);
    }
}

fn fail(conn: &mut Conn, poll: &Poll, tally: &mut Tally, live: &Live, kind: &str) {
    tally.error(kind);
    live.failed.fetch_add(1, Ordering::Relaxed);
    drop_stream(conn, poll);
    conn.state = State::Unopened;
}

fn connect_failed(conn: &mut Conn, poll: &Poll, tally: &mut Tally, live: &Live, e: &io::Error) {
    let kind = match e.kind() {
        io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
        io::ErrorKind::TimedOut => "connect: timed out".to_string(),
        _ => format!("connect: {e}"),
    };
    fail(conn, poll, tally, live, &kind);
    conn.state = State::Cooling {
        until: Instant::now() + COOL_DOWN,
    };
}

fn io_kind(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => "connection reset by server".to_string(),
        io::ErrorKind::BrokenPipe => "connection closed by server while sending".to_string(),
        _ => format!("i/o: {e}"),
    }
}

fn write_some(conn: &mut Conn, poll: &Poll, plan: &LoopPlan, tally: &mut Tally, live: &Live) {
    let State::Writing { mut written } = conn.state else {
        return;
    };
    let stream = conn.stream.as_mut().expect("writing has a socket");
    while written < plan.request.len() {
        match stream.write(&plan.request[written..]) {
            Ok(0) => {
                fail(
                    conn,
                    poll,
                    tally,
                    live,
                    "connection closed by server while sending",
                );
                return;
            }
            Ok(n) => {
                written += n;
                tally.bytes_written += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                conn.state = State::Writing { written };
                return;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let kind = io_kind(&e);
                fail(conn, poll, tally, live, &kind);
                return;
            }
        }
    }
    conn.state = State::Reading;
}

#[allow(clippy::too_many_arguments)]
fn read_some(
    conn: &mut Conn,
    token: usize,
    poll: &Poll,
    plan: &LoopPlan,
    buf: &mut [u8],
    tally: &mut Tally,
    live: &Live,
    budget: &Budget,
) -> io::Result<()> {
    loop {
        let stream = conn.stream.as_mut().expect("reading has a socket");
        let n = match stream.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if e.kind() == io::ErrorKind::ConnectionReset
                    && !conn.got_bytes
                    && conn.served > 0 =>
            {
                retry_on_fresh_connection(conn, token, poll, plan, tally, live, budget)?;
                return Ok(());
            }
            Err(e) => {
                let kind = io_kind(&e);
                fail(conn, poll, tally, live, &kind);
                return Ok(());
            }
        };
        if n == 0 {
            if !conn.got_bytes && conn.served > 0 {
                // The server closed a kept-alive connection while it was idle (a keep-alive
                // limit or timeout): not a failure of this request. Send it again on a new one.
                retry_on_fresh_connection(conn, token, poll, plan, tally, live, budget)?;
                return Ok(());
            }
            match conn.tracker.handle_eof() {
                Ok(Some(done)) => complete(conn, poll, done.status, false, tally, live),
                Ok(None) => unreachable_eof(conn, poll, tally, live),
                Err(e) => fail(conn, poll, tally, live, &e.kind()),
            }
            return Ok(());
        }
        tally.bytes_read += n as u64;
        conn.got_bytes = true;
        match conn.tracker.handle_bytes(&buf[..n]) {
            Ok(Progress::NeedMore) => {}
            Ok(Progress::Done(done)) => {
                if done.used < n {
                    fail(
                        conn,
                        poll,
                        tally,
                        live,
                        "bad response: bytes after the end of the response",
                    );
                    return Ok(());
                }
                let keep = done.keep_alive && !plan.close;
                complete(conn, poll, done.status, keep, tally, live);
                return Ok(());
            }
            Err(e) => {
                fail(conn, poll, tally, live, &e.kind());
                return Ok(());
            }
        }
        if n < buf.len() {
            return Ok(());
        }
    }
}

fn unreachable_eof(conn: &mut Conn, poll: &Poll, tally: &mut Tally, live: &Live) {
    let kind = if conn.got_bytes {
        "closed by server before the response ended"
    } else {
        "closed by server without a response"
    };
    fail(conn, poll, tally, live, kind);
}

fn retry_on_fresh_connection(
    conn: &mut Conn,
    token: usize,
    poll: &Poll,
    plan: &LoopPlan,
    tally: &mut Tally,
    live: &Live,
    budget: &Budget,
) -> io::Result<()> {
    tally.reconnects += 1;
    drop_stream(conn, poll);
    conn.state = State::Unopened;
    let started = conn.started;
    start_request(poll, conn, token, plan, tally, live, budget)?;
    conn.started = started;
    Ok(())
}

fn complete(
    conn: &mut Conn,
    poll: &Poll,
    status: u16,
    keep_alive: bool,
    tally: &mut Tally,
    live: &Live,
) {
    tally.record_latency(conn.started.elapsed());
    *tally.statuses.entry(status).or_default() += 1;
    live.completed.fetch_add(1, Ordering::Relaxed);
    conn.served += 1;
    if keep_alive {
        conn.state = State::Idle;
    } else {
        drop_stream(conn, poll);
        conn.state = State::Unopened;
    }
}
