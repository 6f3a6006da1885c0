//! Talking to a learner's program over TCP with deadlines and byte caps, recording every byte.
//!
//! Whatever the learner's program does (refuse, accept and say nothing, send garbage, close
//! early, send forever, exit), each read here ends by a deadline or a cap with a reason that a
//! report can state. Every byte sent and received is kept in an [`Exchange`], in order, so the
//! report can show the conversation in trace syntax.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Who sent a piece of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// `labs` itself (playing the client, the server, or the origin).
    Labs,
    /// The learner's program.
    Learner,
}

/// One event of a recorded exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes one party sent.
    Bytes(Party, Vec<u8>),
    /// The party closed its side of the connection.
    Closed(Party),
    /// `labs` paused deliberately (to see whether the learner waits or answers early).
    Pause(Duration),
    /// TLS started here (after STARTTLS): what follows was encrypted on the wire.
    TlsStarted,
    /// UDP: this party deliberately sent nothing back for the datagram before (labs playing the
    /// lab's lossy server drops some pings), `<lost>` in a trace.
    Lost(Party),
}

/// Which hop of a proxied exchange a connection is, for the proxy tags of the trace format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Hop {
    /// A plain two-party connection (`C:` and `S:`).
    #[default]
    Direct,
    /// labs as the client, the learner's proxy as the server (`C>P:` and `P>C:`).
    ClientToProxy,
    /// The learner's proxy as the client, labs as the origin (`P>O:` and `O>P:`).
    ProxyToOrigin,
}

/// Everything that went over one connection, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    /// Whether the learner's program is the server here (its bytes are `S:`) or the client.
    pub learner_is_server: bool,
    /// Which hop this is when a proxy is involved.
    pub hop: Hop,
    /// The events in order; over TCP consecutive bytes of one party are merged, over UDP each
    /// `Bytes` is one datagram.
    pub events: Vec<Event>,
    /// Datagrams (UDP, `# transport: udp` in a trace) rather than a byte stream.
    pub udp: bool,
}

impl Exchange {
    /// A new, empty exchange.
    pub fn new(learner_is_server: bool) -> Exchange {
        Exchange {
            learner_is_server,
            hop: Hop::Direct,
            events: Vec::new(),
            udp: false,
        }
    }

    /// A new, empty exchange of UDP datagrams.
    pub fn udp(learner_is_server: bool) -> Exchange {
        Exchange {
            udp: true,
            ..Exchange::new(learner_is_server)
        }
    }

    /// Records one datagram `party` sent (never merged with the one before).
    pub fn push_datagram(&mut self, party: Party, datagram: &[u8]) {
        self.events.push(Event::Bytes(party, datagram.to_vec()));
    }

    /// Records that `party` dropped the datagram before on purpose (`<lost>`).
    pub fn push_lost(&mut self, party: Party) {
        self.events.push(Event::Lost(party));
    }

    fn push_bytes(&mut self, party: Party, bytes: &[u8]) {
        if let Some(Event::Bytes(p, last)) = self.events.last_mut() {
            if *p == party {
                last.extend_from_slice(bytes);
                return;
            }
        }
        self.events.push(Event::Bytes(party, bytes.to_vec()));
    }

    /// All bytes the learner sent, concatenated.
    pub fn learner_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for event in &self.events {
            if let Event::Bytes(Party::Learner, b) = event {
                out.extend_from_slice(b);
            }
        }
        out
    }
}

/// Why a read ended without what was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// The peer closed the connection (after `got` bytes of what was being read).
    Closed,
    /// Nothing complete arrived before the deadline.
    TimedOut(Duration),
    /// More than the cap arrived without completing.
    TooLarge(usize),
    /// The connection failed (reset and the like).
    Failed(String),
}

impl std::fmt::Display for ReadEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadEnd::Closed => f.write_str("the connection was closed"),
            ReadEnd::TimedOut(d) => write!(
                f,
                "nothing complete arrived within {:.1} s",
                d.as_secs_f64()
            ),
            ReadEnd::TooLarge(cap) => write!(f, "more than {cap} bytes arrived without an end"),
            ReadEnd::Failed(e) => write!(f, "the connection failed: {e}"),
        }
    }
}

/// The byte stream under a [`Peer`]: plain TCP, or TLS over it after STARTTLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
        }
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stream::Plain(s) => write!(f, "Plain({s:?})"),
            Stream::Tls(t) => write!(f, "Tls({:?})", t.sock),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(t) => t.flush(),
        }
    }
}

/// A TCP connection with the learner's program, recorded.
#[derive(Debug)]
pub struct Peer {
    stream: Stream,
    /// What went over this connection so far.
    pub exchange: Exchange,
    /// Bytes received and not yet consumed by a `read_until`.
    pending: Vec<u8>,
    /// The time allowed for each read.
    pub timeout: Duration,
    /// The most bytes one read may gather.
    pub cap: usize,
    peer_closed: bool,
    log: Option<ExchangeLog>,
}

/// A UDP conversation with the learner's program, recorded datagram by datagram and handed
/// to the log when dropped (as a [`Peer`] hands its connection), so `--record` and the report
/// have it however the check ends.
#[derive(Debug)]
pub struct Datagrams {
    /// The datagrams so far.
    pub exchange: Exchange,
    log: ExchangeLog,
}

impl Datagrams {
    /// An empty recording that goes to `log`.
    pub fn new(learner_is_server: bool, log: &ExchangeLog) -> Datagrams {
        Datagrams {
            exchange: Exchange::udp(learner_is_server),
            log: log.clone(),
        }
    }

    /// labs sent `datagram`.
    pub fn sent(&mut self, datagram: &[u8]) {
        self.exchange.push_datagram(Party::Labs, datagram);
    }

    /// The learner's program sent `datagram`.
    pub fn received(&mut self, datagram: &[u8]) {
        self.exchange.push_datagram(Party::Learner, datagram);
    }

    /// labs dropped the datagram just received, on purpose (`<lost>`).
    pub fn dropped(&mut self) {
        self.exchange.push_lost(Party::Labs);
    }
}

impl Drop for Datagrams {
    fn drop(&mut self) {
        if self.exchange.events.is_empty() {
            return;
        }
        if let Ok(mut log) = self.log.lock() {
            log.push(std::mem::take(&mut self.exchange));
        }
    }
}

/// Where finished exchanges go: every [`Peer`] hands its exchange to the log when dropped, so a
/// check that fails half-way still has its conversation in the report.
pub type ExchangeLog = std::sync::Arc<std::sync::Mutex<Vec<Exchange>>>;

/// The default cap on one read: far more than any lab response, far less than "endless".
pub const DEFAULT_CAP: usize = 4 * 1024 * 1024;

impl Peer {
    /// Connects to the learner's server.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<Peer> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        Ok(Peer::from_stream(stream, true, timeout))
    }

    /// Wraps an accepted or connected stream.
    pub fn from_stream(stream: TcpStream, learner_is_server: bool, timeout: Duration) -> Peer {
        let _ = stream.set_nodelay(true);
        Peer {
            stream: Stream::Plain(stream),
            exchange: Exchange::new(learner_is_server),
            pending: Vec::new(),
            timeout,
            cap: DEFAULT_CAP,
            peer_closed: false,
            log: None,
        }
    }

    /// Marks this connection as one hop of a proxied exchange.
    pub fn with_hop(mut self, hop: Hop) -> Peer {
        self.exchange.hop = hop;
        self
    }

    /// Hands the exchange to `log` when this connection is dropped.
    pub fn with_log(mut self, log: &ExchangeLog) -> Peer {
        self.log = Some(log.clone());
        self
    }

    /// The learner's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.stream.tcp().peer_addr().ok()
    }

    /// Sends bytes, recording them.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.exchange.push_bytes(Party::Labs, bytes);
        self.stream.write_all(bytes)
    }

    /// Sends bytes in pieces with a pause between them (to check that the learner's program
    /// reads until a message is complete rather than answering the first read).
    pub fn send_in_pieces(&mut self, pieces: &[&[u8]], pause: Duration) -> std::io::Result<()> {
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                self.pause(pause);
            }
            self.send(piece)?;
        }
        Ok(())
    }

    /// Waits deliberately, recording the pause.
    pub fn pause(&mut self, pause: Duration) {
        self.exchange.events.push(Event::Pause(pause));
        std::thread::sleep(pause);
    }

    /// Closes our side for writing (the learner sees end of input).
    pub fn shutdown_write(&mut self) {
        self.exchange.events.push(Event::Closed(Party::Labs));
        let _ = self.stream.tcp().shutdown(std::net::Shutdown::Write);
    }

    /// Reads until `complete(buffer)` says how many bytes make a complete item, and returns
    /// those bytes (the rest stays for the next read). Ends with a reason on close, deadline or cap.
    pub fn read_until(
        &mut self,
        mut complete: impl FnMut(&[u8]) -> Option<usize>,
    ) -> Result<Vec<u8>, ReadEnd> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(n) = complete(&self.pending) {
                let rest = self.pending.split_off(n);
                return Ok(std::mem::replace(&mut self.pending, rest));
            }
            if self.peer_closed {
                return Err(ReadEnd::Closed);
            }
            if self.pending.len() > self.cap {
                return Err(ReadEnd::TooLarge(self.cap));
            }
            self.fill(deadline)?;
        }
    }

    /// Everything received but not yet consumed (for reports after a failed read).
    pub fn unconsumed(&self) -> &[u8] {
        &self.pending
    }

    /// Waits until the learner closes the connection, or the deadline. Any bytes that arrive
    /// meanwhile are recorded and returned.
    pub fn read_to_close(&mut self) -> Result<Vec<u8>, ReadEnd> {
        let deadline = Instant::now() + self.timeout;
        while !self.peer_closed {
            if self.pending.len() > self.cap {
                return Err(ReadEnd::TooLarge(self.cap));
            }
            self.fill(deadline)?;
        }
        Ok(std::mem::take(&mut self.pending))
    }

    /// True when the learner sends nothing within `quiet` (and has not closed).
    pub fn stays_quiet(&mut self, quiet: Duration) -> Result<bool, ReadEnd> {
        let deadline = Instant::now() + quiet;
        let before = self.pending.len();
        match self.fill(deadline) {
            Ok(()) => Ok(self.pending.len() == before && !self.peer_closed),
            Err(ReadEnd::TimedOut(_)) => Ok(true),
            Err(other) => Err(other),
        }
    }

    /// One read (or a close) before the deadline.
    fn fill(&mut self, deadline: Instant) -> Result<(), ReadEnd> {
        let now = Instant::now();
        if now >= deadline {
            return Err(ReadEnd::TimedOut(self.timeout));
        }
        let _ = self.stream.tcp().set_read_timeout(Some(deadline - now));
        let mut buf = [0u8; 16 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => {
                self.peer_closed = true;
                self.exchange.events.push(Event::Closed(Party::Learner));
                Ok(())
            }
            Ok(n) => {
                self.exchange.push_bytes(Party::Learner, &buf[..n]);
                self.pending.extend_from_slice(&buf[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(ReadEnd::TimedOut(self.timeout))
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                self.peer_closed = true;
                self.exchange.events.push(Event::Closed(Party::Learner));
                Ok(())
            }
            Err(e) => Err(ReadEnd::Failed(e.to_string())),
        }
    }

    /// Turns this connection into the server side of TLS (after STARTTLS) and completes the
    /// handshake. What follows is recorded as plaintext, with a note that it is encrypted.
    pub fn start_tls_server(
        &mut self,
        config: std::sync::Arc<rustls::ServerConfig>,
    ) -> Result<(), String> {
        if !self.pending.is_empty() {
            return Err(format!(
                "{} bytes arrived after STARTTLS and before the TLS handshake (RFC 3207 §4 forbids pipelining past STARTTLS)",
                self.pending.len()
            ));
        }
        let Stream::Plain(tcp) = &self.stream else {
            return Err("TLS is already on".into());
        };
        let tcp = tcp.try_clone().map_err(|e| e.to_string())?;
        let conn = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let _ = tls.sock.set_read_timeout(Some(self.timeout));
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .map_err(|e| format!("the TLS handshake failed: {e}"))?;
        }
        self.exchange.events.push(Event::TlsStarted);
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }

    /// True once the learner has closed its side.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }
}

impl Peer {
    /// Hands what this connection has seen so far to its log now (when it has seen anything),
    /// and records nothing after: for a connection held open past the end of its step, whose
    /// exchange the report needs.
    pub fn hand_over_exchange(&mut self) {
        if !self.exchange.events.is_empty() {
            self.push_to_log();
        }
    }

    /// Moves the exchange into the log, once: the log is let go.
    fn push_to_log(&mut self) {
        if let Some(log) = self.log.take() {
            if let Ok(mut log) = log.lock() {
                log.push(std::mem::take(&mut self.exchange));
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.push_to_log();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (Peer, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = Peer::connect(addr, Duration::from_millis(300)).unwrap();
        let (server, _) = listener.accept().unwrap();
        (peer, server)
    }

    fn line(buf: &[u8]) -> Option<usize> {
        buf.windows(2).position(|w| w == b"\r\n").map(|i| i + 2)
    }

    #[test]
    fn reads_one_item_and_keeps_the_rest_and_records_both_sides() {
        let (mut peer, mut server) = pair();
        peer.send(b"PING\r\n").unwrap();
        server.write_all(b"one\r\ntwo\r\n").unwrap();
        assert_eq!(peer.read_until(line).unwrap(), b"one\r\n");
        assert_eq!(peer.read_until(line).unwrap(), b"two\r\n");
        assert_eq!(
            peer.exchange.events,
            vec![
                Event::Bytes(Party::Labs, b"PING\r\n".to_vec()),
                Event::Bytes(Party::Learner, b"one\r\ntwo\r\n".to_vec()),
            ]
        );
    }

    #[test]
    fn a_silent_peer_times_out_and_a_closing_one_is_seen() {
        let (mut peer, server) = pair();
        assert_eq!(
            peer.read_until(line),
            Err(ReadEnd::TimedOut(Duration::from_millis(300)))
        );
        drop(server);
        assert_eq!(peer.read_until(line), Err(ReadEnd::Closed));
        assert!(peer.peer_closed());
    }

    #[test]
    fn an_endless_peer_hits_the_cap() {
        let (mut peer, mut server) = pair();
        peer.cap = 64 * 1024;
        let writer = std::thread::spawn(move || {
            let junk = [b'x'; 4096];
            while server.write_all(&junk).is_ok() {}
        });
        assert_eq!(peer.read_until(line), Err(ReadEnd::TooLarge(64 * 1024)));
        drop(peer);
        writer.join().unwrap();
    }
}
