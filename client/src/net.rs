//! Getting a byte stream to a server: resolve, connect (with a timeout), optionally TLS, and the
//! time each phase took.
//!
//! Sockets come from socket2 so the connect can time out per address and `TCP_NODELAY` is set
//! before the first byte: a request written in two pieces would otherwise wait for the server's
//! delayed ACK (Nagle's algorithm, RFC 896), some 40 ms per request.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::tls;

/// When each phase of one exchange finished, measured from the start of the exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// Name resolution done.
    pub resolved: Option<Duration>,
    /// TCP connection established.
    pub connected: Option<Duration>,
    /// TLS handshake done.
    pub tls: Option<Duration>,
    /// First byte of the response read.
    pub first_byte: Option<Duration>,
    /// The response complete (or the exchange abandoned).
    pub total: Option<Duration>,
}

impl Timing {
    /// Renders the phases as `--timing` prints them: one line, each phase cumulative.
    pub fn summary(&self) -> String {
        fn ms(d: Option<Duration>) -> String {
            match d {
                Some(d) => format!("{:.3}ms", d.as_secs_f64() * 1000.0),
                None => "-".to_string(),
            }
        }
        format!(
            "resolve {}  connect {}  tls {}  first-byte {}  total {}",
            ms(self.resolved),
            ms(self.connected),
            ms(self.tls),
            ms(self.first_byte),
            ms(self.total)
        )
    }
}

/// A point in time after which the whole operation gives up (`--max-time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Option<Instant>);

impl Deadline {
    /// No deadline (for the unit tests).
    #[cfg(test)]
    pub const NONE: Deadline = Deadline(None);

    /// A deadline `after` from `now`.
    pub fn after(now: Instant, after: Option<Duration>) -> Deadline {
        Deadline(after.map(|d| now + d))
    }

    /// The time left, `Err` when it has passed, `Ok(None)` when there is no deadline.
    pub fn remaining(&self, now: Instant) -> Result<Option<Duration>, Elapsed> {
        match self.0 {
            None => Ok(None),
            Some(at) if at > now => Ok(Some(at - now)),
            Some(_) => Err(Elapsed),
        }
    }

    /// The sooner of this deadline and `limit` from `now`.
    pub fn min_with(
        &self,
        now: Instant,
        limit: Option<Duration>,
    ) -> Result<Option<Duration>, Elapsed> {
        let left = self.remaining(now)?;
        Ok(match (left, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}

/// The deadline has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

/// Why a connection could not be set up.
#[derive(Debug)]
pub enum ConnectError {
    /// The name did not resolve.
    Resolve { host: String, source: io::Error },
    /// No address accepted a connection.
    Connect {
        host: String,
        port: u16,
        tried: Vec<(SocketAddr, io::Error)>,
    },
    /// `--connect-timeout` or `--max-time` passed while setting up.
    Timeout {
        phase: &'static str,
        host: String,
        port: u16,
    },
    /// The TLS configuration could not be built.
    TlsSetup(tls::TlsSetupError),
    /// The TLS handshake failed.
    Handshake { host: String, source: io::Error },
}

impl ConnectError {
    /// The curl exit code for this failure.
    pub fn exit_code(&self) -> crate::ExitCode {
        use crate::ExitCode;
        match self {
            ConnectError::Resolve { .. } => ExitCode::CouldNotResolve,
            ConnectError::Connect { .. } => ExitCode::CouldNotConnect,
            ConnectError::Timeout { .. } => ExitCode::Timeout,
            ConnectError::TlsSetup(tls::TlsSetupError::BadServerName { .. }) => ExitCode::Tls,
            ConnectError::TlsSetup(tls::TlsSetupError::CaFile(_)) => ExitCode::CaCertFile,
            ConnectError::Handshake { source, .. } => {
                let cert = source
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<rustls::Error>())
                    .is_some_and(tls::is_certificate_error);
                if cert {
                    ExitCode::PeerCertificate
                } else {
                    ExitCode::Tls
                }
            }
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Resolve { host, source } => write!(
                f,
                "could not resolve host {host:?} ({source}); check the spelling, or use an IP address"
            ),
            ConnectError::Connect { host, port, tried } => {
                write!(f, "could not connect to {host} port {port}")?;
                for (addr, e) in tried {
                    write!(f, "; {addr}: {e}")?;
                }
                if tried.iter().any(|(_, e)| e.kind() == io::ErrorKind::ConnectionRefused) {
                    write!(f, " (is the server running and listening on that port?)")?;
                }
                Ok(())
            }
            ConnectError::Timeout { phase, host, port } => write!(
                f,
                "timed out during {phase} with {host} port {port}; raise --connect-timeout or --max-time"
            ),
            ConnectError::TlsSetup(e) => write!(f, "{e}"),
            ConnectError::Handshake { host, source } => {
                let inner = source.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
                match inner {
                    Some(e) if tls::is_certificate_error(e) => write!(
                        f,
                        "TLS: the certificate of {host} is not trusted ({e}); pass --cacert FILE with its certificate or its CA, or -k to skip the check (dangerous)"
                    ),
                    _ => write!(
                        f,
                        "TLS handshake with {host} failed ({source}); is this port speaking TLS? (drop --tls / use http://)"
                    ),
                }
            }
        }
    }
}

impl std::error::Error for ConnectError {}

/// Resolves `host:port`, giving up at `deadline` (resolution runs on a helper thread when a
/// deadline is set, since the system resolver cannot be interrupted).
pub fn resolve(
    host: &str,
    port: u16,
    limit: Option<Duration>,
) -> Result<Vec<SocketAddr>, ConnectError> {
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let lookup = move |name: String| -> io::Result<Vec<SocketAddr>> {
        Ok((name.as_str(), port).to_socket_addrs()?.collect())
    };
    let result = match limit {
        None => lookup(bare),
        Some(limit) => {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(lookup(bare));
            });
            match rx.recv_timeout(limit) {
                Ok(r) => r,
                Err(_) => {
                    return Err(ConnectError::Timeout {
                        phase: "name resolution",
                        host: host.to_string(),
                        port,
                    })
                }
            }
        }
    };
    match result {
        Ok(addrs) if !addrs.is_empty() => Ok(addrs),
        Ok(_) => Err(ConnectError::Resolve {
            host: host.to_string(),
            source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
        }),
        Err(source) => Err(ConnectError::Resolve {
            host: host.to_string(),
            source,
        }),
    }
}

/// A fixed address for a host and port, as curl's `--resolve HOST:PORT:ADDR[,ADDR...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The host name as it appears in URLs (compared without regard to case).
    pub host: String,
    /// The port it applies to.
    pub port: u16,
    /// The addresses used instead of asking the resolver, in order.
    pub addrs: Vec<std::net::IpAddr>,
}

impl Pinned {
    /// Parses `HOST:PORT:ADDR[,ADDR...]`; an IPv6 address may be in brackets.
    pub fn parse(text: &str) -> Result<Pinned, String> {
        let usage = || {
            format!(
                "--resolve {text:?}: write HOST:PORT:ADDRESS, as curl's (e.g. example.org:80:127.0.0.1)"
            )
        };
        let (host, rest) = text.split_once(':').ok_or_else(usage)?;
        let (port, addrs) = rest.split_once(':').ok_or_else(usage)?;
        let host = host.trim_start_matches('+');
        if host.is_empty() {
            return Err(usage());
        }
        let port: u16 = port
            .parse()
            .map_err(|_| format!("--resolve {text:?}: {port:?} is not a port number"))?;
        let addrs = addrs
            .split(',')
            .map(|a| {
                let bare = a.trim().trim_start_matches('[').trim_end_matches(']');
                bare.parse().map_err(|_| {
                    format!("--resolve {text:?}: {a:?} is not an IP address (a name is not resolved here)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pinned {
            host: host.to_string(),
            port,
            addrs,
        })
    }

    /// The addresses for `host:port` when one of `pins` names it.
    pub fn lookup(pins: &[Pinned], host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        pins.iter()
            .find(|p| {
                p.port == port
                    && p.host
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .eq_ignore_ascii_case(bare)
            })
            .map(|p| {
                p.addrs
                    .iter()
                    .map(|ip| SocketAddr::new(*ip, port))
                    .collect()
            })
    }
}

/// Connects to the first address that answers, each attempt bounded by `limit`.
pub fn connect(
    host: &str,
    port: u16,
    addrs: &[SocketAddr],
    limit: Option<Duration>,
) -> Result<TcpStream, ConnectError> {
    let mut tried = Vec::new();
    let started = Instant::now();
    for addr in addrs {
        let left = match limit {
            Some(l) => match l.checked_sub(started.elapsed()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => break,
            },
            None => None,
        };
        match connect_one(*addr, left) {
            Ok(s) => return Ok(s),
            Err(e)
                if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock =>
            {
                tried.push((*addr, e));
            }
            Err(e) => tried.push((*addr, e)),
        }
    }
    let all_timed_out = !tried.is_empty()
        && tried
            .iter()
            .all(|(_, e)| e.kind() == io::ErrorKind::TimedOut);
    if all_timed_out || (tried.len() < addrs.len() && limit.is_some()) {
        return Err(ConnectError::Timeout {
            phase: "connect",
            host: host.to_string(),
            port,
        });
    }
    Err(ConnectError::Connect {
        host: host.to_string(),
        port,
        tried,
    })
}

fn connect_one(addr: SocketAddr, limit: Option<Duration>) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nodelay(true)?;
    match limit {
        Some(limit) => socket.connect_timeout(&addr.into(), limit)?,
        None => socket.connect(&addr.into())?,
    }
    Ok(socket.into())
}

/// A connected byte stream, plain or TLS.
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stream::Plain(s) => f.debug_tuple("Plain").field(s).finish(),
            Stream::Tls(s) => f.debug_tuple("Tls").field(&s.sock).finish(),
        }
    }
}

impl Stream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    /// True when this stream is TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// Bounds the next reads (None: block forever).
    pub fn set_read_timeout(&self, limit: Option<Duration>) -> io::Result<()> {
        self.tcp()
            .set_read_timeout(limit.map(|d| d.max(Duration::from_millis(1))))
    }

    /// Bounds the next writes.
    pub fn set_write_timeout(&self, limit: Option<Duration>) -> io::Result<()> {
        self.tcp()
            .set_write_timeout(limit.map(|d| d.max(Duration::from_millis(1))))
    }

    /// Sends TLS close_notify (if TLS) and shuts the write half down.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        if let Stream::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.conn.complete_io(&mut s.sock);
        }
        self.tcp().shutdown(Shutdown::Write)
    }

    /// Wraps a connected TCP stream in TLS and completes the handshake within `limit`.
    pub fn handshake(
        tcp: TcpStream,
        host: &str,
        port: u16,
        config: Arc<rustls::ClientConfig>,
        limit: Option<Duration>,
    ) -> Result<Stream, ConnectError> {
        let name = tls::server_name(host).map_err(ConnectError::TlsSetup)?;
        let conn =
            rustls::ClientConnection::new(config, name).map_err(|e| ConnectError::Handshake {
                host: host.to_string(),
                source: io::Error::new(io::ErrorKind::InvalidData, e),
            })?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let timeout = |e: io::Error| {
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                ConnectError::Timeout {
                    phase: "TLS handshake",
                    host: host.to_string(),
                    port,
                }
            } else {
                ConnectError::Handshake {
                    host: host.to_string(),
                    source: e,
                }
            }
        };
        tls.sock.set_read_timeout(limit).map_err(timeout)?;
        tls.sock.set_write_timeout(limit).map_err(timeout)?;
        while tls.conn.is_handshaking() {
            match tls.conn.complete_io(&mut tls.sock) {
                Ok((0, 0)) if tls.conn.is_handshaking() => {
                    return Err(ConnectError::Handshake {
                        host: host.to_string(),
                        source: io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the server closed the connection during the handshake",
                        ),
                    })
                }
                Ok(_) => {}
                Err(e) => return Err(timeout(e)),
            }
        }
        tls.sock.set_read_timeout(None).ok();
        tls.sock.set_write_timeout(None).ok();
        Ok(Stream::Tls(Box::new(tls)))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => match s.read(buf) {
                // A server that closes without close_notify ends the body the same way a plain
                // TCP close does; HTTP framing (not TLS) decides whether anything is missing.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_takes_curls_syntax() {
        let pin = Pinned::parse("example.org:8080:127.0.0.1,[::1]").unwrap();
        assert_eq!(pin.host, "example.org");
        assert_eq!(pin.port, 8080);
        let found = Pinned::lookup(&[pin], "EXAMPLE.org", 8080).unwrap();
        assert_eq!(
            found,
            [
                "127.0.0.1:8080".parse::<SocketAddr>().unwrap(),
                "[::1]:8080".parse().unwrap()
            ]
        );
        let pin = Pinned::parse("example.org:80:127.0.0.1").unwrap();
        assert_eq!(Pinned::lookup(&[pin], "example.org", 443), None);
        assert!(Pinned::parse("example.org:127.0.0.1")
            .unwrap_err()
            .contains("HOST:PORT:ADDRESS"));
        assert!(Pinned::parse("a:x:127.0.0.1").unwrap_err().contains("port"));
        assert!(Pinned::parse("a:80:localhost")
            .unwrap_err()
            .contains("not an IP address"));
    }
    use std::net::TcpListener;

    #[test]
    fn resolves_literal_addresses_without_the_resolver() {
        let addrs = resolve("127.0.0.1", 80, None).unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:80".parse().unwrap()]);
        let addrs = resolve("[::1]", 8080, None).unwrap();
        assert_eq!(addrs, vec!["[::1]:8080".parse().unwrap()]);
    }

    #[test]
    fn refused_connection_names_the_address_and_suggests_a_cause() {
        // Bind then drop: the port is free and nobody listens on it.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addrs = resolve("127.0.0.1", port, None).unwrap();
        let err = connect("127.0.0.1", port, &addrs, Some(Duration::from_secs(2))).unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::CouldNotConnect);
        let text = err.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.contains("is the server running"), "{text}");
    }

    #[test]
    fn connect_sets_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = connect("127.0.0.1", addr.port(), &[addr], None).unwrap();
        assert!(stream.nodelay().unwrap());
    }

    #[test]
    fn deadline_reports_what_is_left() {
        let now = Instant::now();
        let d = Deadline::after(now, Some(Duration::from_secs(5)));
        assert_eq!(d.remaining(now), Ok(Some(Duration::from_secs(5))));
        assert_eq!(
            d.min_with(now, Some(Duration::from_secs(1))),
            Ok(Some(Duration::from_secs(1)))
        );
        assert_eq!(d.remaining(now + Duration::from_secs(6)), Err(Elapsed));
        assert_eq!(Deadline::NONE.remaining(now), Ok(None));
    }
}
