//! SMTP (RFC 5321) and the messages it carries (RFC 5322, MIME), without I/O.
//!
//! | module | what it owns |
//! | --- | --- |
//! | [`reply`] | replies: codes, multi-line replies, enhanced status codes (RFC 5321 §4.2, RFC 3463) |
//! | [`command`] | commands and addresses: writing them, and reading them leniently-but-named (§4.1) |
//! | [`capabilities`] | the extensions an EHLO reply announces (STARTTLS, AUTH, SIZE, ...) |
//! | [`dot_stuffing`] | the message after DATA: stuffing, unstuffing, CRLF.CRLF (§4.5.2) |
//! | [`client`] | the client session: greeting to QUIT, STARTTLS, AUTH PLAIN/LOGIN, swaks' exit codes |
//! | [`server`] | the server session: the same protocol from the other side, for the sink and labs |
//! | [`message`] | building a message: headers, encoded words, multipart/mixed, base64 attachments |
//! | [`mime`] | reading a stored message back: header fields, parts, decoded bodies, file names |
//!
//! In scope: what a mail submission client and a local test server need — one connection, one
//! or more messages, plain or with STARTTLS or implicit TLS, AUTH PLAIN and LOGIN. Out of scope:
//! relaying, DNS (MX lookup), queues and retries, CHUNKING/BDAT, DSN, SASL mechanisms beyond
//! PLAIN and LOGIN. TLS itself belongs to the shell: the cores only say when it must start.
//!
//! A whole session as RFC 5321 Appendix D.1 shows it, with STARTTLS and AUTH added:
//!
//! ```text
//! S: 220 foo.com Simple Mail Transfer Service Ready
//! C: EHLO bar.com
//! S: 250-foo.com greets bar.com
//! S: 250-STARTTLS
//! S: 250 SIZE 35882577
//! C: STARTTLS
//! S: 220 2.0.0 Ready to start TLS
//!    (TLS handshake; everything below is encrypted)
//! C: EHLO bar.com
//! S: 250-foo.com greets bar.com
//! S: 250 AUTH PLAIN LOGIN
//! C: AUTH PLAIN AGpvZQBzZWNyZXQ=
//! S: 235 2.7.0 Authentication successful
//! C: MAIL FROM:<Smith@bar.com> SIZE=1234
//! S: 250 OK
//! C: RCPT TO:<Jones@foo.com>
//! S: 250 OK
//! C: DATA
//! S: 354 Start mail input; end with <CRLF>.<CRLF>
//! C: ...message, dot-stuffed...
//! C: .
//! S: 250 OK
//! C: QUIT
//! S: 221 foo.com Service closing transmission channel
//! ```

pub mod capabilities;
pub mod client;
pub mod command;
pub mod dot_stuffing;
pub mod message;
pub mod mime;
pub mod reply;
pub mod server;

pub use capabilities::Capabilities;
pub use client::{
    AuthChoice, ClientConfig, ClientError, ClientEvent, ClientSession, ClientState, Credentials,
    Delivery, Envelope, HelloVerb, QuitAfter, TlsMode, Transmit, TransmitKind,
};
pub use command::{Command, CommandError, CommandLine, Leniency, Parameter, Path, PathError};
pub use dot_stuffing::{stuff, DataReader, DataStatus};
pub use reply::{EnhancedCode, Reply, ReplyCode, ReplyError, Severity};
pub use server::{
    CloseReason, ReceivedMessage, ServerConfig, ServerEvent, ServerSession, ServerState,
};
