//! `ping heartbeat HOST`: drives [`wire::ping::heartbeat::Sender`], one `Heartbeat <seq> <time>`
//! datagram every interval, never waiting for an answer.

use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
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
///
/// The loop is the sans-IO drain of [`Sender`]: feed it the time, send what it asks, print what
/// it reports, wait until it is next due. Each of those is a step of `Heartbeat`.
pub fn run(
    options: &HeartbeatOptions,
    out: &mut dyn Write,
    interrupted: &AtomicBool,
) -> Result<u64, ClientError> {
    let (socket, peer) = open(&options.host, options.port)?;
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut beat = Heartbeat::new(options, peer, Instant::now(), unix);
    out.write_all(banner(options, peer).as_bytes())
        .map_err(write_error)?;
    loop {
        if interrupted.load(Ordering::Relaxed) {
            beat.sender.stop();
        }
        beat.sender.handle_timeout(Instant::now());
        beat.transmit(&socket, out)?;
        beat.report(out)?;
        out.flush().map_err(write_error)?;
        let Some(due) = beat.sender.poll_timeout() else {
            break;
        };
        beat.wait_until(&socket, due, out)?;
    }
    Ok(beat.sent)
}

fn write_error(source: io::Error) -> ClientError {
    ClientError::Socket {
        doing: "cannot write the output",
        source,
    }
}

/// A UDP socket connected to `host:port` (so the kernel reports ICMP port unreachable on it),
/// and the address it resolved to.
fn open(host: &str, port: u16) -> Result<(UdpSocket, SocketAddr), ClientError> {
    let peer = resolve(host, port)?;
    let local = if peer.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(local).map_err(|source| ClientError::Socket {
        doing: "cannot open a UDP socket",
        source,
    })?;
    socket.connect(peer).map_err(|source| ClientError::Socket {
        doing: "cannot connect the UDP socket",
        source,
    })?;
    Ok((socket, peer))
}

/// The first line: where the heartbeats go and how often.
fn banner(options: &HeartbeatOptions, peer: SocketAddr) -> String {
    format!(
        "HEARTBEAT {} ({}) UDP port {}: one every {} s{}\n",
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
}

/// The line an event of the sender prints, if any (`--quiet` keeps only the summary).
fn event_line(options: &HeartbeatOptions, event: &SenderEvent) -> Option<String> {
    match event {
        SenderEvent::Sent { seq, time, bytes } => (!options.quiet)
            .then(|| format!("sent Heartbeat {seq} {} ({bytes} bytes)\n", UnixTime(*time))),
        SenderEvent::Done { sent } => {
            Some(format!("--- {} heartbeat: {sent} sent ---\n", options.host))
        }
    }
}

/// One run of `ping heartbeat`: the core, and what the shell remembers between its steps.
struct Heartbeat<'a> {
    options: &'a HeartbeatOptions,
    peer: SocketAddr,
    sender: Sender,
    /// The "nothing listens" warning was printed (it is printed once).
    warned: bool,
    /// How many went out, from the sender's `Done`.
    sent: u64,
}

impl<'a> Heartbeat<'a> {
    fn new(
        options: &'a HeartbeatOptions,
        peer: SocketAddr,
        start: Instant,
        unix: Duration,
    ) -> Heartbeat<'a> {
        Heartbeat {
            options,
            peer,
            sender: Sender::new(
                Clock::new(start, unix),
                options.interval,
                options.count,
                options.size,
            ),
            warned: false,
            sent: 0,
        }
    }

    /// Sends every datagram the sender has ready.
    fn transmit(&mut self, socket: &UdpSocket, out: &mut dyn Write) -> Result<(), ClientError> {
        while let Some(bytes) = self.sender.poll_transmit() {
            if let Err(e) = socket.send(&bytes) {
                self.send_failed(e, out)?;
            }
        }
        Ok(())
    }

    /// A failed send: the kernel reports an earlier datagram's ICMP port unreachable on a later
    /// send, which is worth a warning and not the end; anything else ends the run.
    fn send_failed(&mut self, error: io::Error, out: &mut dyn Write) -> Result<(), ClientError> {
        if error.kind() == io::ErrorKind::ConnectionRefused {
            return self.warn_unreachable(out);
        }
        Err(ClientError::Socket {
            doing: "cannot send the heartbeat",
            source: error,
        })
    }

    /// Says once that nothing listens on the port.
    fn warn_unreachable(&mut self, out: &mut dyn Write) -> Result<(), ClientError> {
        if self.warned {
            return Ok(());
        }
        self.warned = true;
        writeln!(
            out,
            "{}: nothing listens on UDP port {} at {}; start `ping serve --heartbeat` there",
            self.options.paint.error("Destination port unreachable"),
            self.peer.port(),
            self.peer.ip()
        )
        .map_err(write_error)
    }

    /// Prints what the sender reports (each heartbeat sent, the summary at the end).
    fn report(&mut self, out: &mut dyn Write) -> Result<(), ClientError> {
        while let Some(event) = self.sender.poll_event() {
            if let SenderEvent::Done { sent } = event {
                self.sent = sent;
            }
            if let Some(line) = event_line(self.options, &event) {
                out.write_all(line.as_bytes()).map_err(write_error)?;
            }
        }
        Ok(())
    }

    /// Waits until `due`. Nothing comes back; waiting on the socket lets Ctrl-C (EINTR) end the
    /// wait at once, and reading consumes any ICMP error so the next send goes out.
    fn wait_until(
        &mut self,
        socket: &UdpSocket,
        due: Instant,
        out: &mut dyn Write,
    ) -> Result<(), ClientError> {
        let wait = due.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return Ok(());
        }
        let ready =
            readiness::wait_readable(socket, wait).map_err(|source| ClientError::Socket {
                doing: "cannot wait on the socket",
                source,
            })?;
        if ready != Ready::Readable {
            return Ok(());
        }
        let mut buf = [0u8; 2048];
        match socket.recv(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => self.warn_unreachable(out),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn options(count: Option<u64>, quiet: bool) -> HeartbeatOptions {
        HeartbeatOptions {
            host: "localhost".into(),
            port: 5000,
            count,
            interval: Duration::from_millis(1500),
            size: 0,
            quiet,
            paint: Paint::PLAIN,
        }
    }

    fn peer() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    #[test]
    fn the_banner_says_where_how_often_and_until_when() {
        assert_eq!(
            banner(&options(Some(3), false), peer()),
            "HEARTBEAT localhost (127.0.0.1) UDP port 5000: one every 1.5 s\n"
        );
        assert_eq!(
            banner(&options(None, false), peer()),
            "HEARTBEAT localhost (127.0.0.1) UDP port 5000: one every 1.5 s, until Ctrl-C\n"
        );
    }

    #[test]
    fn quiet_keeps_only_the_summary() {
        let sent = SenderEvent::Sent {
            seq: 4,
            time: Duration::from_secs(1),
            bytes: 30,
        };
        let done = SenderEvent::Done { sent: 4 };
        let loud = options(None, false);
        let line = event_line(&loud, &sent).unwrap();
        assert!(
            line.starts_with("sent Heartbeat 4 ") && line.ends_with(" (30 bytes)\n"),
            "{line}"
        );
        assert_eq!(event_line(&options(None, true), &sent), None);
        assert_eq!(
            event_line(&options(None, true), &done).as_deref(),
            Some("--- localhost heartbeat: 4 sent ---\n")
        );
    }

    #[test]
    fn port_unreachable_is_said_once_and_other_send_errors_end_the_run() {
        let opts = options(Some(1), false);
        let mut beat = Heartbeat::new(&opts, peer(), Instant::now(), Duration::ZERO);
        let mut out = Vec::new();
        for _ in 0..3 {
            let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
            beat.send_failed(refused, &mut out).unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Destination port unreachable: nothing listens on UDP port 5000 at 127.0.0.1; \
             start `ping serve --heartbeat` there\n"
        );
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(matches!(
            beat.send_failed(denied, &mut Vec::new()),
            Err(ClientError::Socket {
                doing: "cannot send the heartbeat",
                ..
            })
        ));
    }

    #[test]
    fn the_steps_send_each_heartbeat_and_report_the_total() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut opts = options(Some(2), false);
        opts.host = "127.0.0.1".into();
        opts.port = receiver.local_addr().unwrap().port();
        opts.interval = Duration::from_millis(1);
        let (socket, peer) = open(&opts.host, opts.port).unwrap();
        let start = Instant::now();
        let mut beat = Heartbeat::new(&opts, peer, start, Duration::from_secs(1_700_000_000));
        let mut out = Vec::new();
        // Time is the sender's input: step it by hand instead of waiting on the socket.
        let mut now = start;
        while let Some(due) = beat.sender.poll_timeout() {
            now = now.max(due);
            beat.sender.handle_timeout(now);
            beat.transmit(&socket, &mut out).unwrap();
            beat.report(&mut out).unwrap();
        }
        assert_eq!(beat.sent, 2);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("sent Heartbeat ").count(), 2, "{text}");
        assert!(
            text.ends_with("--- 127.0.0.1 heartbeat: 2 sent ---\n"),
            "{text}"
        );
        let mut buf = [0u8; 256];
        for seq in 1..=2 {
            let n = receiver.recv(&mut buf).unwrap();
            let got = String::from_utf8_lossy(&buf[..n]).to_string();
            assert!(got.starts_with(&format!("Heartbeat {seq} ")), "{got}");
        }
    }
}
