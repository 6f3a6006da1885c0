//! Connections to origin servers: opening them (with a timeout and clear errors) and keeping
//! idle ones in a pool for the next request to the same `host:port`.
//!
//! A pooled connection is a socket and the `wire::http1::Conn` (client role) that has been
//! speaking on it, back in its `Idle` state after a complete exchange that kept the connection
//! alive. Before reuse the socket is checked without blocking: an origin that closed it (or sent
//! something unasked) makes it useless, and it is dropped. A request without a body that fails on
//! a reused connection before any byte of the response arrived is retried once on a new one
//! (the origin may have closed it just as it was picked, RFC 9112 §9.3.1).
//!
//! # Loopback only
//!
//! With `--only-loopback-upstreams` ([`Reach::LoopbackOnly`]) every connection the proxy would
//! open, for a forwarded request or a CONNECT tunnel, must go to a loopback address, and the
//! address is found without asking any resolver: an IP literal in 127.0.0.0/8 or `::1`, the
//! name `localhost` (or a name under `.localhost`, RFC 6761 §6.3) as 127.0.0.1 and ::1, or a name
//! fixed by `--resolve` to a loopback address. Anything else is refused (403) before a packet
//! is sent. Tests and CI run the proxy this way, so a browser's background requests for update
//! or time services end at the proxy instead of on the network.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wire::http1::conn::{Conn, ConnOptions, State};
use wire::http1::{Leniencies, Limits, ParseOptions};

/// Idle connections kept per origin.
const IDLE_PER_ORIGIN: usize = 64;
/// An idle connection older than this is not reused (origins close idle ones after a while).
const IDLE_FOR_AT_MOST: Duration = Duration::from_secs(20);

/// How the proxy reads origins' responses: tolerant of the leniencies real servers need
/// (bare LF, obs-fold, a space before the colon), with room for large header sections.
pub fn origin_conn_options() -> ConnOptions {
    ConnOptions {
        parse: ParseOptions {
            limits: Limits {
                max_header_section: 64 * 1024,
                max_fields: 200,
                ..Limits::DEFAULT
            },
            leniencies: Leniencies::ALL,
        },
        ..ConnOptions::default()
    }
}

/// A connection to an origin.
#[derive(Debug)]
pub struct Upstream {
    /// The socket.
    pub stream: TcpStream,
    /// The HTTP/1.1 state machine on it (client role).
    pub conn: Conn,
    /// `host:port`, the pool's key.
    pub origin: String,
    /// True when it came from the pool (a failure before the response may be retried).
    pub reused: bool,
}

/// Why no connection to the origin could be had.
#[derive(Debug)]
pub enum UpstreamError {
    /// The name did not resolve (502).
    Resolve { origin: String, error: io::Error },
    /// No address accepted the connection (502).
    Connect { origin: String, error: io::Error },
    /// Connecting took longer than the upstream timeout (504).
    Timeout { origin: String },
    /// The proxy reaches loopback only, and this origin is not on it (403).
    NotLoopback { origin: String },
}

impl UpstreamError {
    /// The status the client gets.
    pub fn status(&self) -> u16 {
        match self {
            UpstreamError::Timeout { .. } => 504,
            UpstreamError::NotLoopback { .. } => 403,
            _ => 502,
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Resolve { origin, error } => write!(
                f,
                "the proxy could not find the address of {origin} ({error}); check the host name"
            ),
            UpstreamError::Connect { origin, error } => write!(
                f,
                "the proxy could not connect to {origin} ({error}); is the origin server running?"
            ),
            UpstreamError::Timeout { origin } => write!(
                f,
                "{origin} did not accept the connection within the upstream timeout"
            ),
            UpstreamError::NotLoopback { origin } => write!(
                f,
                "this proxy runs with --only-loopback-upstreams: it connects only to loopback \
                 addresses (127.0.0.0/8, ::1) and localhost, and {origin} is neither, so it \
                 was not resolved or contacted; use an origin on this machine, or start the \
                 proxy without that flag"
            ),
        }
    }
}

/// Which origins the proxy may open connections to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reach {
    /// Any address a name resolves to (the default).
    #[default]
    Anywhere,
    /// Loopback addresses only, found without resolving (`--only-loopback-upstreams`).
    LoopbackOnly,
}

/// Idle connections to origins, most recently used last.
#[derive(Debug)]
pub struct Pool {
    idle: Mutex<HashMap<String, Vec<(Upstream, Instant)>>>,
    resolve: Vec<(String, SocketAddr)>,
    reach: Reach,
}

impl Pool {
    /// An empty pool; `resolve` fixes the address of some `host:port` names, `reach` limits
    /// where connections may go.
    pub fn new(resolve: Vec<(String, SocketAddr)>, reach: Reach) -> Pool {
        Pool {
            idle: Mutex::new(HashMap::new()),
            resolve,
            reach,
        }
    }

    /// An idle connection to `host:port` that still looks usable, or a new one.
    pub fn checkout(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Upstream, UpstreamError> {
        let origin = origin_key(host, port);
        while let Some(up) = self.take_idle(&origin) {
            if still_usable(&up.stream) {
                return Ok(up);
            }
        }
        self.connect(host, port, timeout)
    }

    fn take_idle(&self, origin: &str) -> Option<Upstream> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(origin)?;
        while let Some((mut up, since)) = list.pop() {
            if since.elapsed() < IDLE_FOR_AT_MOST {
                up.reused = true;
                return Some(up);
            }
        }
        None
    }

    /// A new connection to `host:port`, never from the pool.
    pub fn connect(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Upstream, UpstreamError> {
        let origin = origin_key(host, port);
        let stream = self.open(host, port, &origin, timeout)?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(timeout));
        let _ = stream.set_write_timeout(Some(timeout));
        Ok(Upstream {
            stream,
            conn: Conn::client(origin_conn_options()),
            origin,
            reused: false,
        })
    }

    /// Opens a TCP connection (also for CONNECT tunnels).
    pub fn open(
        &self,
        host: &str,
        port: u16,
        origin: &str,
        timeout: Duration,
    ) -> Result<TcpStream, UpstreamError> {
        let fixed = self
            .resolve
            .iter()
            .find(|(name, _)| name == origin)
            .map(|(_, addr)| *addr);
        let addrs: Vec<SocketAddr> = match (fixed, self.reach) {
            (_, Reach::LoopbackOnly) => {
                loopback_addresses(host, port, fixed).ok_or_else(|| UpstreamError::NotLoopback {
                    origin: origin.to_owned(),
                })?
            }
            (Some(addr), Reach::Anywhere) => vec![addr],
            (None, Reach::Anywhere) => {
                let bare = host.trim_start_matches('[').trim_end_matches(']');
                (bare, port)
                    .to_socket_addrs()
                    .map_err(|error| UpstreamError::Resolve {
                        origin: origin.to_owned(),
                        error,
                    })?
                    .collect()
            }
        };
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => return Ok(stream),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    last = Some(UpstreamError::Timeout {
                        origin: origin.to_owned(),
                    })
                }
                Err(error) => {
                    last = Some(UpstreamError::Connect {
                        origin: origin.to_owned(),
                        error,
                    })
                }
            }
        }
        Err(last.unwrap_or_else(|| UpstreamError::Resolve {
            origin: origin.to_owned(),
            error: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
        }))
    }

    /// Gives a connection back after an exchange; it is kept only if the exchange left it
    /// reusable.
    pub fn checkin(&self, mut up: Upstream) {
        if up.conn.our_state() != State::Idle
            || up.conn.their_state() != State::Idle
            || !up.conn.is_keep_alive()
            || up.conn.pending_transmit() > 0
        {
            return;
        }
        up.conn.release_idle_buffers();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(up.origin.clone()).or_default();
        if list.len() < IDLE_PER_ORIGIN {
            list.push((up, Instant::now()));
        }
    }

    /// Closes every idle connection.
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The loopback addresses `host:port` names, found without a resolver, or `None` when it does
/// not name loopback. `fixed` is the address `--resolve` gives it, if any.
pub fn loopback_addresses(
    host: &str,
    port: u16,
    fixed: Option<SocketAddr>,
) -> Option<Vec<SocketAddr>> {
    if let Some(addr) = fixed {
        return addr.ip().is_loopback().then(|| vec![addr]);
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return ip.is_loopback().then(|| vec![SocketAddr::new(ip, port)]);
    }
    let name = bare.trim_end_matches('.').to_ascii_lowercase();
    (name == "localhost" || name.ends_with(".localhost")).then(|| {
        vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ]
    })
}

fn origin_key(host: &str, port: u16) -> String {
    format!("{}:{port}", host.to_ascii_lowercase())
}

/// True when an idle socket has neither been closed by the peer nor received unasked bytes.
fn still_usable(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut probe = [0u8; 1];
    let usable = matches!(stream.peek(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).is_ok() && usable
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_literals_and_localhost_are_reached_without_resolving() {
        assert_eq!(
            loopback_addresses("127.0.0.1", 80, None),
            Some(vec![addr("127.0.0.1:80")])
        );
        assert_eq!(
            loopback_addresses("127.1.2.3", 8080, None),
            Some(vec![addr("127.1.2.3:8080")])
        );
        assert_eq!(
            loopback_addresses("[::1]", 443, None),
            Some(vec![addr("[::1]:443")])
        );
        let both = Some(vec![addr("127.0.0.1:81"), addr("[::1]:81")]);
        assert_eq!(loopback_addresses("localhost", 81, None), both);
        assert_eq!(loopback_addresses("LocalHost.", 81, None), both);
        assert_eq!(loopback_addresses("app.localhost", 81, None), both);
    }

    #[test]
    fn everything_else_is_refused_unless_fixed_to_loopback() {
        for host in [
            "example.com",
            "update.googleapis.com",
            "10.0.0.1",
            "0.0.0.0",
            "[2001:db8::1]",
            "localhost.example.com",
            "notlocalhost",
        ] {
            assert_eq!(loopback_addresses(host, 80, None), None, "{host}");
        }
        assert_eq!(
            loopback_addresses("origin.test", 80, Some(addr("127.0.0.1:9000"))),
            Some(vec![addr("127.0.0.1:9000")])
        );
        assert_eq!(
            loopback_addresses("origin.test", 80, Some(addr("192.0.2.7:80"))),
            None
        );
    }

    #[test]
    fn a_loopback_only_pool_refuses_a_remote_name_with_403() {
        let pool = Pool::new(Vec::new(), Reach::LoopbackOnly);
        let refused = pool
            .open("example.com", 80, "example.com:80", Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(refused.status(), 403);
        let message = refused.to_string();
        assert!(message.contains("example.com:80"), "{message}");
        assert!(message.contains("--only-loopback-upstreams"), "{message}");
    }
}
