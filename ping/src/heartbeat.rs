//! `ping heartbeat HOST`: drives [`wire::ping::heartbeat::Sender`], one `Heartbeat <seq> <time>`
//! datagram every interval, never waiting for an answer.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wire::ping::heartbeat::{Sender, SenderEvent};
use wire::ping::message::UnixTime;
use wire::ping::Clock;

use crate::client::{resolve, ClientError};
use crate::readiness::{self, Ready};
use cmdline::Paint;

/// Everything `ping heartbeat` needs.
#[derive(Debug, Clone)]
pub struct HeartbeatOptions {
    /// Host as typed.
    pub host: String,
    /// UDP port.
    pub port: u16,
    /// How many (default: until Ctrl-C).
    pub count: Option<u64>,
    /// Time between heartbeats.
    pub interval: Duration,
    /// Pad to this many bytes.
    pub size: usize,
    /// Do not print each heartbeat.
    pub quiet: bool,
    /// Colour or not.
    pub paint: Paint,
}

/// Sends heartbeats until `count` or Ctrl-C; returns how many went out.
pub fn run(
    options: &HeartbeatOptions,
    out: &mut dyn Write,
    interrupted: &AtomicBool,
) -> Result<u64, ClientError> {
    let write_error = |source| ClientError::Socket {
        doing: "cannot write the output",
        source,
    };
    let peer = resolve(&options.host, options.port)?;
    let local = if peer.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = std::net::UdpSocket::bind(local).map_err(|source| ClientError::Socket {
        doing: "cannot open a UDP socket",
        source,
    })?;
    socket.connect(peer).map_err(|source| ClientError::Socket {
        doing: "cannot connect the UDP socket",
        source,
    })?;
    let start = Instant::now();
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut sender = Sender::new(
        Clock::new(start, unix),
        options.interval,
        options.count,
        options.size,
    );
    writeln!(
        out,
        "HEARTBEAT {} ({}) UDP port {}: one every {} s{}",
        options.host,
        peer.ip(),
        peer.port(),
        wire::ping::stats::format_g(options.interval.as_secs_f64()),
        if options.count.is_none() {
            ", until Ctrl-C"
        } else {
            ""
        }
    )
    .map_err(write_error)?;
    let mut warned = false;
    let mut sent = 0;
    loop {
        if interrupted.load(Ordering::Relaxed) {
            sender.stop();
        }
        sender.handle_timeout(Instant::now());
        while let Some(bytes) = sender.poll_transmit() {
            match socket.send(&bytes) {
                Ok(_) => {}
                // The kernel reports an earlier datagram's ICMP port unreachable on this send.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    if !warned {
                        warned = true;
                        writeln!(
                            out,
                            "{}: nothing listens on UDP port {} at {}; start `ping serve --heartbeat` there",
                            options.paint.error("Destination port unreachable"),
                            peer.port(),
                            peer.ip()
                        )
                        .map_err(write_error)?;
                    }
                }
                Err(source) => {
                    return Err(ClientError::Socket {
                        doing: "cannot send the heartbeat",
                        source,
                    })
                }
            }
        }
        while let Some(event) = sender.poll_event() {
            match event {
                SenderEvent::Sent { seq, time, bytes } => {
                    if !options.quiet {
                        writeln!(
                            out,
                            "sent Heartbeat {seq} {} ({bytes} bytes)",
                            UnixTime(time)
                        )
                        .map_err(write_error)?;
                    }
                }
                SenderEvent::Done { sent: n } => {
                    sent = n;
                    writeln!(out, "--- {} heartbeat: {n} sent ---", options.host)
                        .map_err(write_error)?;
                }
            }
        }
        out.flush().map_err(write_error)?;
        let Some(due) = sender.poll_timeout() else {
            break;
        };
        let wait = due.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            continue;
        }
        // Nothing comes back; waiting on the socket lets Ctrl-C (EINTR) end the wait at once,
        // and reading consumes any ICMP error so the next send goes out.
        let ready =
            readiness::wait_readable(&socket, wait).map_err(|source| ClientError::Socket {
                doing: "cannot wait on the socket",
                source,
            })?;
        if ready != Ready::Readable {
            continue;
        }
        let mut buf = [0u8; 2048];
        match socket.recv(&mut buf) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && !warned => {
                warned = true;
                writeln!(
                    out,
                    "{}: nothing listens on UDP port {} at {}; start `ping serve --heartbeat` there",
                    options.paint.error("Destination port unreachable"),
                    peer.port(),
                    peer.ip()
                )
                .map_err(write_error)?;
            }
            Err(_) => {}
        }
    }
    Ok(sent)
}
