//! `ping HOST`: drives [`wire::ping::pinger::Pinger`] over a connected UDP socket (or an ICMP
//! echo socket) and prints what happens the way iputils ping does.
//!
//! The loop: hand the core the time, send what it queued, print its events, then wait for a
//! datagram at most until [`Pinger::poll_timeout`]. Round trips are measured on the monotonic
//! clock, read right after `recv` returns. Ctrl-C sets a flag; the blocked `recv` returns
//! `EINTR` (a socket with a read timeout is never restarted), and the summary is printed.

use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use wire::ping::pinger::{Config, EndReason, Event, Pinger, Transport};
use wire::ping::stats::ReplyTime;
use wire::ping::Clock;

use crate::histogram::Timeline;
use crate::icmp_socket::{self, IcmpSocketError};
use crate::readiness::{self, Ready};
use cmdline::Paint;

/// Everything `ping HOST` needs.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// As the user typed it (printed in the lines and the summary).
    pub host: String,
    /// UDP port (ignored for ICMP).
    pub port: u16,
    /// Count, interval, timeout, deadline, size, transport.
    pub config: Config,
    /// Only the banner and the summary.
    pub quiet: bool,
    /// Show ignored datagrams.
    pub verbose: bool,
    /// One JSON document instead of text.
    pub json: bool,
    /// Draw the round-trip times after the statistics (a histogram and a sparkline).
    pub histogram: bool,
    /// Colour or not.
    pub paint: Paint,
}

/// How the run went: iputils' exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A reply came (and with -c and -w, `count` of them): exit 0.
    Replied,
    /// None did: exit 1.
    NoReply,
}

/// Why `ping HOST` could not run: exit 2.
#[derive(Debug)]
pub enum ClientError {
    /// The name did not resolve.
    Resolve {
        /// The name.
        host: String,
        /// What the resolver said.
        source: io::Error,
    },
    /// No ICMP socket.
    Icmp(IcmpSocketError),
    /// A socket call failed.
    Socket {
        /// What we were doing.
        doing: &'static str,
        /// What the system said.
        source: io::Error,
    },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Resolve { host, source } => write!(
                f,
                "cannot resolve {host}: {source}; check the name, or use an address such as 127.0.0.1"
            ),
            ClientError::Icmp(e) => write!(f, "{e}"),
            ClientError::Socket { doing, source } => write!(f, "{doing}: {source}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Resolves `host`, preferring IPv4 (the server listens on 127.0.0.1 by default, and
/// `localhost` often resolves to `::1` first).
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, ClientError> {
    let error = |source| ClientError::Resolve {
        host: host.to_string(),
        source,
    };
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().map_err(error)?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| error(io::Error::new(io::ErrorKind::NotFound, "no address")))
}

/// Runs `ping HOST` to the end, writing to `out`; `interrupted` is the Ctrl-C flag.
pub fn run(
    options: &ClientOptions,
    out: &mut dyn Write,
    interrupted: &AtomicBool,
) -> Result<Outcome, ClientError> {
    let peer = resolve(&options.host, options.port)?;
    let socket = match options.config.transport {
        Transport::Udp => connect_udp(peer)?,
        Transport::IcmpEcho => icmp_socket::connect(peer).map_err(ClientError::Icmp)?,
    };
    run_on(options, peer, &socket, out, interrupted)
}

fn connect_udp(peer: SocketAddr) -> Result<UdpSocket, ClientError> {
    let local: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .expect("literal address");
    let socket = UdpSocket::bind(local).map_err(|source| ClientError::Socket {
        doing: "cannot open a UDP socket",
        source,
    })?;
    // Connected, so the kernel reports an ICMP port unreachable to us as ECONNREFUSED.
    socket.connect(peer).map_err(|source| ClientError::Socket {
        doing: "cannot connect the UDP socket",
        source,
    })?;
    Ok(socket)
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Runs the pinger on a socket already connected to `peer`.
pub fn run_on(
    options: &ClientOptions,
    peer: SocketAddr,
    socket: &UdpSocket,
    out: &mut dyn Write,
    interrupted: &AtomicBool,
) -> Result<Outcome, ClientError> {
    let write_error = |source| ClientError::Socket {
        doing: "cannot write the output",
        source,
    };
    let mut report = Report::new(options, peer);
    let start = Instant::now();
    let mut pinger = Pinger::new(options.config.clone(), peer, Clock::new(start, unix_now()));
    if !options.json {
        writeln!(out, "{}", report.banner(pinger.probe_len())).map_err(write_error)?;
    }
    let mut buf = vec![0u8; 65_536];
    // Waits happen in ppoll (microsecond timeouts); reads never block.
    socket
        .set_nonblocking(true)
        .map_err(|source| ClientError::Socket {
            doing: "cannot make the socket non-blocking",
            source,
        })?;
    loop {
        if interrupted.load(Ordering::Relaxed) {
            pinger.handle_interrupt(Instant::now());
        }
        pinger.handle_timeout(Instant::now());
        while let Some(bytes) = pinger.poll_transmit() {
            match socket.send(&bytes) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    // A refusal for an earlier probe, reported on this send; this one was not sent.
                    pinger.handle_unreachable(Instant::now());
                }
                Err(source) => {
                    return Err(ClientError::Socket {
                        doing: "cannot send the probe",
                        source,
                    })
                }
            }
        }
        while let Some(event) = pinger.poll_event() {
            report.event(&event, &pinger, out).map_err(write_error)?;
        }
        out.flush().map_err(write_error)?;
        let Some(due) = pinger.poll_timeout() else {
            break;
        };
        let wait = due.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            continue;
        }
        match readiness::wait_readable(socket, wait) {
            Ok(Ready::Readable) => {}
            Ok(Ready::TimedOut | Ready::Interrupted) => continue,
            Err(source) => {
                return Err(ClientError::Socket {
                    doing: "cannot wait for a reply",
                    source,
                })
            }
        }
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => pinger.handle_datagram(Instant::now(), &buf[..n], from),
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => {}
                io::ErrorKind::ConnectionRefused => pinger.handle_unreachable(Instant::now()),
                _ => {
                    return Err(ClientError::Socket {
                        doing: "cannot receive",
                        source: e,
                    })
                }
            },
        }
    }
    if options.json {
        writeln!(out, "{}", report.json(&pinger)).map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    Ok(if pinger.succeeded() {
        Outcome::Replied
    } else {
        Outcome::NoReply
    })
}

/// Turns the pinger's events into iputils' lines (or collects them for JSON).
pub struct Report<'o> {
    options: &'o ClientOptions,
    peer: SocketAddr,
    hinted: bool,
    replies: Vec<serde_json::Value>,
    timeouts: Vec<u64>,
    unreachable: Vec<Option<u64>>,
    timeline: Timeline,
}

impl<'o> Report<'o> {
    /// A report for `options.host`, which resolved to `peer`.
    pub fn new(options: &'o ClientOptions, peer: SocketAddr) -> Self {
        Report {
            options,
            peer,
            hinted: false,
            replies: Vec::new(),
            timeouts: Vec::new(),
            unreachable: Vec::new(),
            timeline: Timeline::default(),
        }
    }

    fn ip(&self) -> IpAddr {
        self.peer.ip()
    }

    /// The first line: `PING host (addr) UDP port P: N bytes of data.`
    pub fn banner(&self, probe_len: usize) -> String {
        let (host, ip) = (&self.options.host, self.ip());
        match self.options.config.transport {
            Transport::Udp => format!(
                "PING {host} ({ip}) UDP port {}: {probe_len} bytes of data.",
                self.peer.port()
            ),
            Transport::IcmpEcho => {
                format!(
                    "PING {host} ({ip}) ICMP echo: {}({probe_len}) bytes of data.",
                    probe_len - wire::ping::icmp::HEADER_LEN
                )
            }
        }
    }

    fn reply_line(&self, bytes: usize, seq: u64, rtt: Duration) -> String {
        format!(
            "{bytes} bytes from {} ({}): seq={seq} time={} ms",
            self.options.host,
            self.ip(),
            ReplyTime(rtt)
        )
    }

    /// Writes the lines for one event (none for some, or with `-q`, `--json`).
    pub fn event(&mut self, event: &Event, pinger: &Pinger, out: &mut dyn Write) -> io::Result<()> {
        let paint = self.options.paint;
        let text = !self.options.json;
        let lines = text && !self.options.quiet;
        match *event {
            Event::Sent { .. } => {}
            Event::Reply {
                seq,
                rtt,
                bytes,
                duplicate,
            } => {
                self.replies.push(json!({"seq": seq, "bytes": bytes, "time_ms": ms(rtt), "duplicate": duplicate, "late": false}));
                if !duplicate {
                    self.timeline.reply(seq, rtt);
                }
                if lines {
                    let dup = if duplicate {
                        paint.note(" (DUP!)")
                    } else {
                        String::new()
                    };
                    writeln!(out, "{}{dup}", self.reply_line(bytes, seq, rtt))?;
                }
            }
            Event::Late { seq, rtt, bytes } => {
                self.replies.push(json!({"seq": seq, "bytes": bytes, "time_ms": ms(rtt), "duplicate": false, "late": true}));
                if lines {
                    let timeout =
                        wire::ping::stats::format_g(pinger.config().timeout.as_secs_f64() * 1000.0);
                    let note = paint.note(&format!(
                        " (late: after the {timeout} ms timeout, still counted as lost)"
                    ));
                    writeln!(out, "{}{note}", self.reply_line(bytes, seq, rtt))?;
                }
            }
            Event::TimedOut { seq } => {
                self.timeouts.push(seq);
                self.timeline.lost(seq);
                if lines {
                    writeln!(
                        out,
                        "{}",
                        paint.warn(&format!("Request timed out (seq={seq})"))
                    )?;
                }
            }
            Event::Unreachable { seq } => {
                self.unreachable.push(seq);
                if let Some(seq) = seq {
                    self.timeline.lost(seq);
                }
                if text && (lines || !self.hinted) {
                    let seq = seq.map(|s| format!(" seq={s}")).unwrap_or_default();
                    writeln!(
                        out,
                        "From {}{seq} {}",
                        self.ip(),
                        paint.error("Destination port unreachable")
                    )?;
                }
                if text && !self.hinted {
                    self.hinted = true;
                    writeln!(
                        out,
                        "  nothing is listening on UDP port {} at {}: start the lab's server with `ping serve` \
                         (or point -p at the port it uses)",
                        self.peer.port(),
                        self.ip()
                    )?;
                }
            }
            Event::Ignored { bytes, ref reason } => {
                if text && self.options.verbose {
                    writeln!(
                        out,
                        "{}",
                        paint.note(&format!("ignored {bytes} bytes: {reason}"))
                    )?;
                }
            }
            Event::Done(reason) => {
                if text {
                    if reason == EndReason::Interrupted && lines {
                        writeln!(out, "^C")?;
                    }
                    writeln!(out)?;
                    write!(out, "{}", pinger.summary().render(&self.options.host))?;
                    if self.options.histogram {
                        write!(out, "{}", self.timeline.render(paint))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The whole run as one JSON document.
    pub fn json(&self, pinger: &Pinger) -> serde_json::Value {
        let summary = pinger.summary();
        let s = &summary.statistics;
        let rtt = s.rtt().map(
            |r| json!({"min": ms(r.min), "avg": ms(r.avg), "max": ms(r.max), "mdev": ms(r.mdev)}),
        );
        let end = match pinger.end_reason() {
            Some(EndReason::Completed) => "completed",
            Some(EndReason::Deadline) => "deadline",
            Some(EndReason::CountReached) => "count reached",
            Some(EndReason::Interrupted) => "interrupted",
            None => "running",
        };
        let transport = match self.options.config.transport {
            Transport::Udp => "udp",
            Transport::IcmpEcho => "icmp",
        };
        let mut doc = json!({
            "host": self.options.host,
            "address": self.ip().to_string(),
            "port": (transport == "udp").then_some(self.peer.port()),
            "transport": transport,
            "transmitted": s.transmitted,
            "received": s.received,
            "duplicates": s.duplicates,
            "late": s.late,
            "errors": s.errors,
            "loss_percent": s.loss_percent(),
            "time_ms": summary.elapsed.as_millis() as u64,
            "rtt_ms": rtt,
            "replies": self.replies,
            "timeouts": self.timeouts,
            "unreachable": self.unreachable,
            "rtts_ms": self.timeline.rtts().into_iter().map(ms).collect::<Vec<f64>>(),
            "end": end,
        });
        if self.options.histogram {
            doc["histogram"] = self.timeline.json();
        }
        doc
    }
}

/// A duration in milliseconds, to the microsecond (the JSON's `*_ms`).
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}
