//! Exit codes, numbered as curl numbers them where the two programs overlap.
//!
//! Scripts that already test `curl`'s exit status can test `client`'s the same way: 6 means the
//! name did not resolve, 7 that nobody answered on that port, 28 that a deadline passed, and so on.
//! A protocol quirk that curl shrugs off (a bare-LF response, a 1xx before the final response) is
//! diagnosed on stderr but leaves the exit status at 0, as curl's would.

use std::fmt;

/// Why the program stopped, as a number a shell can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitCode {
    /// Everything went as asked (whatever the status code, unless `--fail`).
    Ok = 0,
    /// The URL names a scheme this program does not speak (only `http` and `https`).
    UnsupportedProtocol = 1,
    /// The command line could not be understood.
    Usage = 2,
    /// The URL is malformed.
    MalformedUrl = 3,
    /// The host name did not resolve to any address.
    CouldNotResolve = 6,
    /// Every address refused the connection or was unreachable.
    CouldNotConnect = 7,
    /// The server's reply is not HTTP at all (no status line could be read).
    WeirdServerReply = 8,
    /// The body ended before the length the server announced.
    PartialFile = 18,
    /// `--fail` was given and the final status was 400 or above.
    HttpError = 22,
    /// Writing the body or a file (`-o`, `--record`) failed.
    WriteError = 23,
    /// Reading a local file (`-T`, `--data-binary @FILE`, `--raw FILE`) failed.
    ReadError = 26,
    /// `--connect-timeout` or `--max-time` passed.
    Timeout = 28,
    /// The TLS handshake failed.
    Tls = 35,
    /// `-L` followed more redirects than `--max-redirs` allows.
    TooManyRedirects = 47,
    /// The server closed the connection without sending a single byte.
    EmptyReply = 52,
    /// Sending the request failed.
    SendError = 55,
    /// Receiving failed (connection reset, or a framing error in the reply).
    RecvError = 56,
    /// The server's certificate could not be verified (`-k` skips the check, `--cacert` adds a root).
    PeerCertificate = 60,
    /// The `--cacert` file could not be read or holds no certificate.
    CaCertFile = 77,
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// A short name for the reason, as `--json` reports and the help text lists.
    pub fn name(self) -> &'static str {
        match self {
            ExitCode::Ok => "ok",
            ExitCode::UnsupportedProtocol => "unsupported protocol",
            ExitCode::Usage => "usage",
            ExitCode::MalformedUrl => "malformed URL",
            ExitCode::CouldNotResolve => "could not resolve host",
            ExitCode::CouldNotConnect => "could not connect",
            ExitCode::WeirdServerReply => "weird server reply",
            ExitCode::PartialFile => "partial body",
            ExitCode::HttpError => "HTTP error (--fail)",
            ExitCode::WriteError => "write error",
            ExitCode::ReadError => "read error",
            ExitCode::Timeout => "timeout",
            ExitCode::Tls => "TLS handshake failed",
            ExitCode::TooManyRedirects => "too many redirects",
            ExitCode::EmptyReply => "empty reply from server",
            ExitCode::SendError => "send error",
            ExitCode::RecvError => "receive error",
            ExitCode::PeerCertificate => "peer certificate not trusted",
            ExitCode::CaCertFile => "--cacert file unusable",
        }
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}
