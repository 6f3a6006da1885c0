//! A TCP connection that may become TLS mid-way (STARTTLS) or start as TLS (implicit), for
//! both the client and the sink. Blocking I/O with per-call timeouts.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection, StreamOwned};

/// What TLS was agreed on, for the trace's "encrypted from here" line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    pub version: String,
    pub cipher_suite: String,
}

impl std::fmt::Display for TlsInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}", self.version, self.cipher_suite)
    }
}

/// What waiting for the peer gave: the read step that the client's and the sink's session
/// loops share (each then hands it to its own session: `handle_input`, `handle_eof`,
/// `handle_timeout`).
#[derive(Debug)]
pub enum Received<'a> {
    /// Bytes arrived.
    Bytes(&'a [u8]),
    /// The peer closed its side.
    Closed,
    /// The session's deadline passed (or had already): time for `handle_timeout`.
    TimedOut,
    /// The read failed (a reset, say).
    Failed(io::Error),
}

/// The bytes of one connection, plain or encrypted.
pub enum Stream {
    Plain(TcpStream),
    Client(Box<StreamOwned<ClientConnection, TcpStream>>),
    Server(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Stream {
    /// The socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Client(tls) => tls.get_ref(),
            Stream::Server(tls) => tls.get_ref(),
        }
    }

    /// Sets how long one read may block (`None`: forever). A zero duration means "now".
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = timeout.map(|t| t.max(Duration::from_millis(1)));
        self.tcp().set_read_timeout(timeout)
    }

    /// Waits for the peer's next bytes until `deadline` (`None`: as long as it takes), reading
    /// into `buf`. A deadline already past is [`Received::TimedOut`] without a read.
    pub fn receive<'b>(
        &mut self,
        buf: &'b mut [u8],
        deadline: Option<Instant>,
        now: Instant,
    ) -> Received<'b> {
        if deadline.is_some_and(|d| d <= now) {
            return Received::TimedOut;
        }
        let _ = self.set_read_timeout(deadline.map(|d| d - now));
        loop {
            match self.read(buf) {
                Ok(0) => return Received::Closed,
                Ok(n) => return Received::Bytes(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Received::TimedOut
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Received::Failed(e),
            }
        }
    }

    /// Runs a client handshake over the plain connection (STARTTLS, or implicit TLS).
    pub fn into_client_tls(
        self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        timeout: Duration,
    ) -> io::Result<(Stream, TlsInfo)> {
        let Stream::Plain(mut tcp) = self else {
            return Err(io::Error::other("TLS is already active on this connection"));
        };
        let mut conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
        handshake(&mut tcp, &mut conn, timeout)?;
        let info = info(conn.protocol_version(), conn.negotiated_cipher_suite());
        Ok((Stream::Client(Box::new(StreamOwned::new(conn, tcp))), info))
    }

    /// Runs a server handshake over the plain connection.
    pub fn into_server_tls(
        self,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> io::Result<(Stream, TlsInfo)> {
        let Stream::Plain(mut tcp) = self else {
            return Err(io::Error::other("TLS is already active on this connection"));
        };
        let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
        handshake(&mut tcp, &mut conn, timeout)?;
        let info = info(conn.protocol_version(), conn.negotiated_cipher_suite());
        Ok((Stream::Server(Box::new(StreamOwned::new(conn, tcp))), info))
    }

    /// Closes politely: TLS close_notify when encrypted, then the TCP write side.
    pub fn close(&mut self) {
        match self {
            Stream::Plain(_) => {}
            Stream::Client(tls) => {
                tls.conn.send_close_notify();
                let _ = tls.conn.complete_io(&mut tls.sock);
            }
            Stream::Server(tls) => {
                tls.conn.send_close_notify();
                let _ = tls.conn.complete_io(&mut tls.sock);
            }
        }
        let _ = self.tcp().shutdown(Shutdown::Write);
    }
}

fn handshake<C, S>(tcp: &mut TcpStream, conn: &mut C, timeout: Duration) -> io::Result<()>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<S>>,
    S: rustls::SideData,
{
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    while conn.is_handshaking() {
        match conn.complete_io(tcp) {
            Ok((0, 0)) if conn.is_handshaking() => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection during the TLS handshake",
                ));
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the TLS handshake did not finish within {} s",
                        timeout.as_secs_f64()
                    ),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    // Send whatever the handshake left to write (the client's Finished, session tickets).
    while conn.wants_write() {
        conn.write_tls(tcp)?;
    }
    Ok(())
}

fn info(
    version: Option<rustls::ProtocolVersion>,
    suite: Option<rustls::SupportedCipherSuite>,
) -> TlsInfo {
    let version = match version {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "TLS".to_owned(),
    };
    let cipher_suite = suite
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    TlsInfo {
        version,
        cipher_suite,
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Client(tls) => tls.read(buf),
            Stream::Server(tls) => tls.read(buf),
        };
        match result {
            // A peer that closes TCP without TLS close_notify: the end, as far as SMTP cares
            // (SMTP's own QUIT/221 says whether the session ended properly).
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Client(tls) => tls.write(buf),
            Stream::Server(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Client(tls) => tls.flush(),
            Stream::Server(tls) => tls.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn receive_gives_bytes_the_close_and_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut stream = Stream::Plain(listener.accept().unwrap().0);
        let mut buf = [0u8; 16];
        let now = Instant::now();
        assert!(matches!(
            stream.receive(&mut buf, Some(now), now),
            Received::TimedOut
        ));
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(matches!(
            stream.receive(&mut buf, Some(soon), Instant::now()),
            Received::TimedOut
        ));
        peer.write_all(b"EHLO x\r\n").unwrap();
        match stream.receive(&mut buf, None, Instant::now()) {
            Received::Bytes(b) => assert_eq!(b, b"EHLO x\r\n"),
            other => panic!("{other:?}"),
        }
        drop(peer);
        assert!(matches!(
            stream.receive(&mut buf, None, Instant::now()),
            Received::Closed
        ));
    }
}
