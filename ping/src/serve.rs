//! `ping serve`: the lab's UDP echo server, driving [`wire::ping::echo::EchoServer`].
//!
//! One thread, one socket. Each datagram goes to the core with the time it arrived; whatever the
//! core releases (at once, or when a delay runs out) is sent, and every event is logged with the
//! running counts. Reads never block; when nothing waits, the loop sleeps in `ppoll` until the
//! core's next deadline, capped so that Ctrl-C and [`Stopper::stop`] are noticed (a stopper
//! also sends an empty datagram to wake the loop at once).

use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wire::ping::echo::{self, Counts, EchoServer, Label, ServerEvent};
use wire::ping::fate::{FateModel, LossModel};
use wire::ping::heartbeat::MonitorEvent;
use wire::ping::message::Kind;
use wire::ping::stats::Millis;
use wire::ping::Clock;

use crate::readiness;
use cmdline::Paint;

/// How long the loop may block when nothing is scheduled.
const IDLE: Duration = Duration::from_millis(500);
/// How long log lines may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Everything `ping serve` needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port (0: any free one).
    pub port: u16,
    /// Loss, delay, jitter, duplicates.
    pub fate: FateModel,
    /// RNG seed.
    pub seed: u64,
    /// Heartbeat mode and its dead-after.
    pub heartbeat_dead_after: Option<Duration>,
    /// No per-datagram log; counts once a second instead.
    pub quiet: bool,
    /// Colour or not.
    pub paint: Paint,
}

impl ServeOptions {
    /// The lab's defaults on `127.0.0.1:port` with a fixed seed: 30 % loss, nothing else.
    pub fn lab(port: u16, seed: u64) -> Self {
        ServeOptions {
            bind: IpAddr::from([127, 0, 0, 1]),
            port,
            fate: FateModel::default(),
            seed,
            heartbeat_dead_after: None,
            quiet: false,
            paint: Paint::PLAIN,
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug)]
pub struct ServeError {
    doing: String,
    source: io::Error,
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.doing, self.source)?;
        if self.source.kind() == io::ErrorKind::AddrInUse {
            write!(
                f,
                "; is another `ping serve` running? Stop it or pick another port with --port"
            )?;
        }
        if self.source.kind() == io::ErrorKind::AddrNotAvailable {
            write!(
                f,
                "; --bind must be an address of this machine, such as 127.0.0.1"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ServeError {}

/// Stops a running server from another thread.
#[derive(Debug, Clone)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl Stopper {
    /// Asks the server to stop and wakes it with an empty datagram.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let wake_to = match self.addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => {
                SocketAddr::from(([127, 0, 0, 1], self.addr.port()))
            }
            ip if ip.is_unspecified() => {
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, self.addr.port()))
            }
            _ => self.addr,
        };
        let local: SocketAddr = if wake_to.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        }
        .parse()
        .expect("literal address");
        if let Ok(socket) = UdpSocket::bind(local) {
            let _ = socket.send_to(&[], wake_to);
        }
    }

    /// The flag the server checks (also what SIGINT sets).
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.flag)
    }
}

/// A bound server, not yet running.
#[derive(Debug)]
pub struct Server {
    socket: UdpSocket,
    addr: SocketAddr,
    options: ServeOptions,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Binds the socket (port 0 picks a free port; see [`Server::local_addr`]).
    pub fn bind(options: ServeOptions) -> Result<Server, ServeError> {
        let wanted = SocketAddr::new(options.bind, options.port);
        let socket = UdpSocket::bind(wanted).map_err(|source| ServeError {
            doing: format!("cannot listen on UDP {wanted}"),
            source,
        })?;
        let addr = socket.local_addr().map_err(|source| ServeError {
            doing: "cannot read the bound address".into(),
            source,
        })?;
        Ok(Server {
            socket,
            addr,
            options,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop it.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            flag: Arc::clone(&self.stop),
            addr: self.addr,
        }
    }

    /// Uses `flag` (set by a signal handler) as the stop flag.
    pub fn stop_on(&mut self, flag: Arc<AtomicBool>) {
        self.stop = flag;
    }

    /// Runs in a thread, logging to `log`; stops (and joins) when the handle is dropped.
    pub fn spawn(self, log: Box<dyn Write + Send>) -> ServerHandle {
        let addr = self.addr;
        let stopper = self.stopper();
        let thread = std::thread::spawn(move || {
            let mut log = log;
            self.run(&mut *log)
        });
        ServerHandle {
            addr,
            stopper,
            thread: Some(thread),
        }
    }

    /// Serves until stopped; returns the final counts.
    pub fn run(self, log: &mut dyn Write) -> Result<Counts, ServeError> {
        let log_error = |source| ServeError {
            doing: "cannot write the log".into(),
            source,
        };
        let socket_error = |doing: &str| {
            let doing = doing.to_string();
            move |source| ServeError { doing, source }
        };
        let options = &self.options;
        let start = Instant::now();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let config = echo::Config {
            fate: options.fate,
            seed: options.seed,
            heartbeat_dead_after: options.heartbeat_dead_after,
        };
        let mut core = EchoServer::new(config, Clock::new(start, unix));
        core.set_datagram_events(!options.quiet);
        let mut log = io::BufWriter::with_capacity(64 * 1024, log);
        writeln!(log, "{}", banner(self.addr, options)).map_err(log_error)?;
        log.flush().map_err(log_error)?;

        let mut lines = LogLines {
            paint: options.paint,
            counts: Counts::default(),
        };
        let mut buf = vec![0u8; 65_536];
        self.socket
            .set_nonblocking(true)
            .map_err(socket_error("cannot make the socket non-blocking"))?;
        let mut last_flush = Instant::now();
        let mut last_counts = (Instant::now(), Counts::default());
        loop {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            // Read without blocking while datagrams wait; block (in ppoll) only when none do.
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if self.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    core.handle_datagram(Instant::now(), &buf[..n], from);
                }
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => {
                        let now = Instant::now();
                        let cap = if !log.buffer().is_empty() || options.quiet {
                            FLUSH_EVERY
                        } else {
                            IDLE
                        };
                        let wait = core
                            .poll_timeout()
                            .map_or(cap, |due| due.saturating_duration_since(now).min(cap));
                        if !wait.is_zero() {
                            readiness::wait_readable(&self.socket, wait)
                                .map_err(socket_error("cannot wait for datagrams"))?;
                        }
                    }
                    io::ErrorKind::Interrupted => {}
                    // An ICMP error for an earlier echo (the client went away): not ours to fix.
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => {}
                    _ => {
                        return Err(ServeError {
                            doing: "cannot receive".into(),
                            source: e,
                        })
                    }
                },
            }
            let now = Instant::now();
            core.handle_timeout(now);
            while let Some(t) = core.poll_transmit() {
                if let Err(e) = self.socket.send_to(&t.bytes, t.to) {
                    writeln!(log, "could not echo to {}: {e}", t.to).map_err(log_error)?;
                }
            }
            while let Some(event) = core.poll_event() {
                lines.write(&event, &mut log).map_err(log_error)?;
            }
            if options.quiet && now.duration_since(last_counts.0) >= Duration::from_secs(1) {
                let counts = core.counts();
                if counts != last_counts.1 {
                    writeln!(log, "{}", counts_line(counts)).map_err(log_error)?;
                }
                last_counts = (now, counts);
            }
            if !log.buffer().is_empty() && now.duration_since(last_flush) >= FLUSH_EVERY {
                log.flush().map_err(log_error)?;
                last_flush = now;
            }
        }
        let counts = core.counts();
        writeln!(log, "stopped. {}", counts_line(counts)).map_err(log_error)?;
        log.flush().map_err(log_error)?;
        Ok(counts)
    }
}

/// A server running in a thread.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stopper: Stopper,
    thread: Option<JoinHandle<Result<Counts, ServeError>>>,
}

impl ServerHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it and returns its final counts.
    pub fn stop(mut self) -> Result<Counts, ServeError> {
        self.stopper.stop();
        let thread = self.thread.take().expect("joined only once");
        thread.join().unwrap_or_else(|_| {
            Err(ServeError {
                doing: "server thread".into(),
                source: io::Error::other("the server thread panicked"),
            })
        })
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stopper.stop();
            let _ = thread.join();
        }
    }
}

fn banner(addr: SocketAddr, options: &ServeOptions) -> String {
    let fate = &options.fate;
    let mut what = match fate.loss {
        LossModel::LabDice => {
            "rolling the lab's dice (drop when randint(0, 10) < 4, about 36%)".to_string()
        }
        LossModel::Probability(p) => format!(
            "dropping {}% of datagrams",
            wire::ping::stats::format_g(p * 100.0)
        ),
    };
    what += &format!(" (seed {})", options.seed);
    if !fate.delay.is_zero() || !fate.jitter.is_zero() {
        what += &format!(
            ", delaying {} ms + 0..={} ms",
            fate.delay.as_millis(),
            fate.jitter.as_millis()
        );
    }
    if fate.duplicate > 0.0 {
        what += &format!(
            ", duplicating {}%",
            wire::ping::stats::format_g(fate.duplicate * 100.0)
        );
    }
    if let Some(dead_after) = options.heartbeat_dead_after {
        what += &format!(
            ", tracking heartbeats (stopped after {} s of silence)",
            wire::ping::stats::format_g(dead_after.as_secs_f64())
        );
    }
    format!("ping serve: listening on UDP {addr}; {what}. Ctrl-C to stop.")
}

fn counts_line(c: Counts) -> String {
    let share = if c.received == 0 {
        0.0
    } else {
        c.dropped as f64 * 100.0 / c.received as f64
    };
    let mut line = format!(
        "received {}, dropped {} ({share:.1}%), echoed {}",
        c.received, c.dropped, c.echoed
    );
    if c.duplicated > 0 {
        line += &format!(" (+{} duplicates)", c.duplicated);
    }
    if c.heartbeats > 0 {
        line += &format!(", heartbeats {}", c.heartbeats);
    }
    line
}

fn describe(label: Label) -> String {
    match (label.kind, label.seq) {
        (Some(Kind::Ping), Some(seq)) => format!("Ping {seq}"),
        (Some(Kind::Heartbeat), Some(seq)) => format!("Heartbeat {seq}"),
        _ => "a datagram that is not the lab's message".to_string(),
    }
}

/// Log lines, each with the counts as they stand after it.
struct LogLines {
    paint: Paint,
    counts: Counts,
}

impl LogLines {
    fn write(&mut self, event: &ServerEvent, log: &mut dyn Write) -> io::Result<()> {
        let paint = self.paint;
        let line = match event {
            ServerEvent::Received { from, bytes, label } => {
                self.counts.received += 1;
                format!("received {} ({bytes} bytes) from {from}", describe(*label))
            }
            ServerEvent::Dropped { from, label, roll } => {
                self.counts.dropped += 1;
                let why = roll
                    .map(|r| format!(" (dice rolled {r}, below 4)"))
                    .unwrap_or_default();
                paint.warn(&format!("dropped {} from {from}{why}", describe(*label)))
            }
            ServerEvent::Echoed {
                to,
                label,
                delay,
                copy,
            } => {
                self.counts.echoed += 1;
                let mut line = format!("echoed {} to {to}", describe(*label).to_uppercase());
                if !delay.is_zero() {
                    line += &format!(" after {} ms", Millis(*delay));
                }
                if *copy == 2 {
                    self.counts.duplicated += 1;
                    line += &paint.note(" (duplicate copy)");
                }
                line
            }
            ServerEvent::Heartbeat(event) => {
                let line = heartbeat_line(event, paint);
                return writeln!(log, "{line}");
            }
        };
        let c = self.counts;
        writeln!(
            log,
            "{line}  [received {}, dropped {}, echoed {}]",
            c.received, c.dropped, c.echoed
        )
    }
}

fn heartbeat_line(event: &MonitorEvent, paint: Paint) -> String {
    match event {
        MonitorEvent::Started { from, seq } => format!("heartbeat {from}: client started at seq {seq}"),
        MonitorEvent::Beat { from, seq, one_way_us } => {
            let sign = if *one_way_us < 0 { "-" } else { "" };
            let us = one_way_us.unsigned_abs();
            format!("heartbeat {from}: seq {seq}, one-way delay {sign}{}.{:03} ms", us / 1000, us % 1000)
        }
        MonitorEvent::Lost { from, first, last } => {
            let range = if first == last { format!("{first}") } else { format!("{first}..{last}") };
            paint.warn(&format!("heartbeat {from}: lost seq {range}"))
        }
        MonitorEvent::OutOfOrder { from, seq, newest } => {
            paint.note(&format!("heartbeat {from}: seq {seq} arrived after seq {newest} (late or duplicated)"))
        }
        MonitorEvent::Stopped { from, last_seq, silent, received, lost } => paint.error(&format!(
            "heartbeat {from}: client stopped (silent for {} s after seq {last_seq}; received {received}, lost {lost})",
            wire::ping::stats::format_g((silent.as_secs_f64() * 10.0).round() / 10.0)
        )),
    }
}
