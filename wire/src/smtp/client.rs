//! The client side of an SMTP session (RFC 5321 §3, §4.1; STARTTLS RFC 3207; AUTH RFC 4954),
//! as a state machine with no I/O.
//!
//! ```text
//!  Greeting --220--> Ehlo --250--> [StartTls --220--> TlsHandshake --tls--> Ehlo --250-->]
//!      |              |5xx                                                   (again)
//!      |              v
//!      |             Helo --250--> (same path, with HELO)
//!      v
//!  [AuthPlain --235-->] or [AuthLogin --334--> AuthLoginUsername --334--> AuthLoginPassword --235-->]
//!  MailFrom --250--> RcptTo (once per recipient) --any 250--> Data --354--> Message --250--> Quit --221--> Done
//! ```
//!
//! Any refusal (4xx or 5xx) moves to Quit with the error kept, so the server hears a polite
//! QUIT; a timeout, a closed connection or a malformed reply ends the session at once. A
//! refused recipient is noted and the others go on; the session fails only when none is
//! accepted. AUTH LOGIN answers each 334 in turn without reading its text: servers word the
//! prompts differently (Gmail `VXNlcm5hbWU6`, aiosmtpd `VXNlciBOYW1lAA==`).
//!
//! The shell drives it:
//!
//! ```text
//! loop {
//!     while let Some(t) = session.poll_transmit() { write t.bytes }
//!     match session.poll_event() {
//!         Some(ClientEvent::StartTls) => { handshake; session.handle_tls_established(now) }
//!         Some(ClientEvent::Done(result)) => break result,
//!         None => read with a deadline of session.poll_timeout(), then
//!                 handle_input(bytes, now) / handle_eof(now) / handle_timeout(now)
//!     }
//! }
//! ```
//!
//! Time is an argument: every reply is awaited for [`ClientConfig::timeout`] from the moment
//! its command was queued.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::capabilities::Capabilities;
use super::command::{Command, Parameter, Path};
use super::dot_stuffing;
use super::reply::{Reply, ReplyCode, ReplyError};
use crate::{base64, Status};

/// How the connection gets encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Never: plain TCP all the way (port 25, 2525).
    None,
    /// Plain TCP, then STARTTLS after EHLO (port 587). Fails if the server does not offer it.
    StartTls,
    /// TLS from the first byte (port 465): the session starts encrypted.
    Implicit,
}

/// The hello verb to start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloVerb {
    /// EHLO, falling back to HELO when the server refuses it with 5xx (RFC 5321 §3.2).
    Ehlo,
    /// HELO only, as the classic lab skeleton does (no extensions are learned).
    Helo,
}

/// Which AUTH mechanism to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthChoice {
    /// PLAIN when offered, else LOGIN.
    Auto,
    /// `AUTH PLAIN` with an initial response (RFC 4616).
    Plain,
    /// `AUTH LOGIN`, answering the server's two 334 prompts.
    Login,
}

/// A user name and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"(hidden)")
            .finish()
    }
}

/// A point after which to say QUIT instead of going on (for probing a server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitAfter {
    /// After the 220 greeting.
    Banner,
    /// After the first EHLO/HELO reply.
    Ehlo,
    /// After STARTTLS and the second EHLO (or after EHLO when TLS is not used).
    Tls,
    /// After AUTH succeeds.
    Auth,
    /// After MAIL FROM is accepted.
    Mail,
    /// After the recipients.
    Rcpt,
}

/// How a session behaves.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The name sent with EHLO/HELO.
    pub hello_name: String,
    /// EHLO (with HELO fallback) or HELO only.
    pub hello: HelloVerb,
    /// Encryption.
    pub tls: TlsMode,
    /// AUTH, when credentials are given.
    pub auth: Option<(AuthChoice, Credentials)>,
    /// Send credentials over a connection that is not encrypted (off by default).
    pub allow_plaintext_auth: bool,
    /// Stop early with QUIT.
    pub quit_after: Option<QuitAfter>,
    /// How long to wait for each reply.
    pub timeout: Duration,
}

/// Who the message is from and for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// MAIL FROM.
    pub from: Path,
    /// RCPT TO, one command each (To, Cc and Bcc alike).
    pub recipients: Vec<Path>,
}

/// The states, named after the command whose reply is awaited (RFC 5321 §4.1.1, §4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// Connected, waiting for the 220 greeting.
    Greeting,
    /// EHLO sent.
    Ehlo,
    /// HELO sent.
    Helo,
    /// STARTTLS sent, waiting for 220.
    StartTls,
    /// 220 to STARTTLS received: the shell runs the TLS handshake.
    TlsHandshake,
    /// `AUTH PLAIN <initial response>` sent, waiting for 235.
    AuthPlain,
    /// `AUTH LOGIN` sent, waiting for the 334 that asks for the user name.
    AuthLogin,
    /// User name sent, waiting for the 334 that asks for the password.
    AuthLoginUsername,
    /// Password sent, waiting for 235.
    AuthLoginPassword,
    /// MAIL FROM sent.
    MailFrom,
    /// A RCPT TO sent.
    RcptTo,
    /// DATA sent, waiting for 354.
    Data,
    /// The message and its final `.` sent, waiting for 250.
    Message,
    /// QUIT sent.
    Quit,
    /// Finished.
    Done,
}

impl ClientState {
    /// The exit code swaks uses for a failure in this state: 21 banner, 22 EHLO/HELO, 23 MAIL,
    /// 24 RCPT, 25 DATA, 26 message, 28 AUTH, 29 TLS (0 for QUIT and done).
    pub fn exit_code(self) -> i32 {
        match self {
            ClientState::Greeting => 21,
            ClientState::Ehlo | ClientState::Helo => 22,
            ClientState::MailFrom => 23,
            ClientState::RcptTo => 24,
            ClientState::Data => 25,
            ClientState::Message => 26,
            ClientState::AuthPlain
            | ClientState::AuthLogin
            | ClientState::AuthLoginUsername
            | ClientState::AuthLoginPassword => 28,
            ClientState::StartTls | ClientState::TlsHandshake => 29,
            ClientState::Quit | ClientState::Done => 0,
        }
    }
}

impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientState::Greeting => "greeting",
            ClientState::Ehlo => "EHLO",
            ClientState::Helo => "HELO",
            ClientState::StartTls => "STARTTLS",
            ClientState::TlsHandshake => "TLS handshake",
            ClientState::AuthPlain => "AUTH PLAIN",
            ClientState::AuthLogin => "AUTH LOGIN",
            ClientState::AuthLoginUsername => "AUTH LOGIN user name",
            ClientState::AuthLoginPassword => "AUTH LOGIN password",
            ClientState::MailFrom => "MAIL FROM",
            ClientState::RcptTo => "RCPT TO",
            ClientState::Data => "DATA",
            ClientState::Message => "end of data",
            ClientState::Quit => "QUIT",
            ClientState::Done => "done",
        })
    }
}

/// What kind of bytes a transmit holds, so a shell can show them safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransmitKind {
    /// A command: show it as it is.
    Command,
    /// Credentials: show `shown` instead of the bytes.
    Secret { shown: Vec<u8> },
    /// The dot-stuffed message and its final `.`.
    Message,
}

/// Bytes for the shell to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub bytes: Vec<u8>,
    pub kind: TransmitKind,
}

impl Transmit {
    /// The bytes to show a person: the real ones, or a stand-in for credentials.
    pub fn shown(&self) -> &[u8] {
        match &self.kind {
            TransmitKind::Secret { shown } => shown,
            _ => &self.bytes,
        }
    }
}

/// What the shell must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// Flush the transmits, run the TLS handshake, then call
    /// [`ClientSession::handle_tls_established`].
    StartTls,
    /// The session is over; close the connection.
    Done(Result<Delivery, ClientError>),
}

/// How a session that did not fail went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Recipients the server accepted.
    pub accepted: Vec<Path>,
    /// Recipients the server refused, with its reply.
    pub refused: Vec<(Path, Reply)>,
    /// The server's reply to the end of data (`250 ... queued as ...`); `None` when the session
    /// stopped early ([`ClientConfig::quit_after`]).
    pub reply: Option<Reply>,
    /// Where the session stopped early, if it did.
    pub quit_after: Option<QuitAfter>,
    /// The last EHLO reply's extensions (after STARTTLS, the second one).
    pub capabilities: Option<Capabilities>,
    /// True when the session ran over TLS (from the start or after STARTTLS).
    pub encrypted: bool,
    /// The AUTH mechanism that succeeded.
    pub authenticated_with: Option<&'static str>,
}

/// Why a session failed. [`ClientError::exit_code`] gives swaks' exit codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The server answered a step with an error reply.
    Rejected { state: ClientState, reply: Reply },
    /// Every recipient was refused.
    NoRecipientAccepted { refused: Vec<(Path, Reply)> },
    /// STARTTLS is required but the server's EHLO did not offer it.
    TlsNotOffered { capabilities: Capabilities },
    /// Bytes came after the 220 to STARTTLS, before the handshake: someone is injecting
    /// plaintext into what should be encrypted (RFC 3207 §6).
    TlsInjection { bytes: Vec<u8> },
    /// Credentials were given but the server offers no mechanism this client speaks.
    AuthNotOffered { offered: Vec<String> },
    /// Credentials would travel unencrypted and that was not allowed.
    PlaintextAuthRefused,
    /// An address needs SMTPUTF8 and the server did not offer it (RFC 6531 §3.4).
    Smtputf8NotOffered { address: Path },
    /// The message is larger than the SIZE the server announced (RFC 1870 §6).
    MessageTooBig { size: usize, limit: u64 },
    /// No reply within the timeout.
    Timeout { state: ClientState, after: Duration },
    /// The server closed the connection.
    ConnectionClosed { state: ClientState },
    /// The server sent something that is not a reply.
    Malformed {
        state: ClientState,
        error: ReplyError,
    },
    /// A reply came when none was awaited.
    UnexpectedReply { state: ClientState, reply: Reply },
}

impl ClientError {
    /// The step that failed.
    pub fn state(&self) -> ClientState {
        match self {
            ClientError::Rejected { state, .. }
            | ClientError::Timeout { state, .. }
            | ClientError::ConnectionClosed { state }
            | ClientError::Malformed { state, .. }
            | ClientError::UnexpectedReply { state, .. } => *state,
            ClientError::NoRecipientAccepted { .. } => ClientState::RcptTo,
            ClientError::TlsNotOffered { .. } | ClientError::TlsInjection { .. } => {
                ClientState::StartTls
            }
            ClientError::AuthNotOffered { .. } | ClientError::PlaintextAuthRefused => {
                ClientState::AuthPlain
            }
            ClientError::Smtputf8NotOffered { .. } | ClientError::MessageTooBig { .. } => {
                ClientState::MailFrom
            }
        }
    }

    /// swaks' exit code for this failure (see [`ClientState::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        match self.state().exit_code() {
            0 => 26, // a failure while quitting after the message was refused: still a message error
            code => code,
        }
    }

    /// True when the server blamed itself for now (4xx): trying again later may work.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Rejected { reply, .. } => reply.code().get() / 100 == 4,
            ClientError::NoRecipientAccepted { refused } => refused
                .iter()
                .all(|(_, reply)| reply.code().get() / 100 == 4),
            ClientError::Timeout { .. } | ClientError::ConnectionClosed { .. } => true,
            _ => false,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reply_text = |reply: &Reply| reply.to_string().trim_end().replace("\r\n", " | ");
        match self {
            ClientError::Rejected { state, reply } => write!(
                f,
                "the server refused {state}: {} ({})",
                reply_text(reply),
                reply.severity()
            ),
            ClientError::NoRecipientAccepted { refused } => {
                let each: Vec<String> =
                    refused.iter().map(|(path, reply)| format!("{path}: {}", reply_text(reply))).collect();
                write!(f, "the server refused every recipient: {}", each.join("; "))
            }
            ClientError::TlsNotOffered { capabilities } => write!(
                f,
                "STARTTLS is required but the server does not offer it (its EHLO announced: {capabilities}); \
                 use --tls none to send in plain text, or --tls implicit for a port like 465"
            ),
            ClientError::TlsInjection { bytes } => write!(
                f,
                "{} bytes arrived after the server's 220 to STARTTLS and before TLS began ({}); \
                 plaintext injected into the encrypted session is refused (RFC 3207 §6)",
                bytes.len(),
                crate::trace::escape_inline(&bytes[..bytes.len().min(40)])
            ),
            ClientError::AuthNotOffered { offered } if offered.is_empty() => f.write_str(
                "credentials were given but the server offers no AUTH (it may offer it only after STARTTLS)",
            ),
            ClientError::AuthNotOffered { offered } => write!(
                f,
                "credentials were given but the server offers only AUTH {}; this client speaks PLAIN and LOGIN",
                offered.join(" ")
            ),
            ClientError::PlaintextAuthRefused => f.write_str(
                "refusing to send credentials over an unencrypted connection; use --tls starttls (or implicit), \
                 or --allow-plaintext-auth for a local test server",
            ),
            ClientError::Smtputf8NotOffered { address } => write!(
                f,
                "the address {address} is not ASCII and the server does not offer SMTPUTF8 (RFC 6531)"
            ),
            ClientError::MessageTooBig { size, limit } => write!(
                f,
                "the message is {size} bytes but the server accepts at most {limit} (its EHLO said SIZE {limit})"
            ),
            ClientError::Timeout { state, after } => write!(
                f,
                "no reply to {state} within {} s; the server may be slow or the port may not speak SMTP (try --timeout)",
                after.as_secs_f64()
            ),
            ClientError::ConnectionClosed { state } => {
                write!(f, "the server closed the connection while we waited for the reply to {state}")
            }
            ClientError::Malformed { state, error } => {
                write!(f, "the reply to {state} is not valid SMTP: {error}")
            }
            ClientError::UnexpectedReply { state, reply } => write!(
                f,
                "the server sent a reply nobody asked for during {state}: {}",
                reply_text(reply)
            ),
        }
    }
}

impl std::error::Error for ClientError {}

/// The client session. See the module documentation for the states and the shell's loop.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    envelope: Envelope,
    message: Option<Vec<u8>>,
    message_len: usize,
    eight_bit: bool,
    state: ClientState,
    encrypted: bool,
    hello_verb: HelloVerb,
    hellos_done: usize,
    capabilities: Option<Capabilities>,
    authenticated_with: Option<&'static str>,
    next_recipient: usize,
    delivery: Delivery,
    failure: Option<ClientError>,
    input: Vec<u8>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ClientEvent>,
    deadline: Option<Instant>,
}

impl ClientSession {
    /// A session for one message (unstuffed bytes; the session stuffs them), starting now.
    /// With [`TlsMode::Implicit`] the connection is taken to be encrypted already.
    pub fn new(
        config: ClientConfig,
        envelope: Envelope,
        message: Vec<u8>,
        now: Instant,
    ) -> ClientSession {
        let deadline = Some(now + config.timeout);
        ClientSession {
            encrypted: config.tls == TlsMode::Implicit,
            hello_verb: config.hello,
            message_len: message.len(),
            eight_bit: message.iter().any(|&b| b >= 0x80),
            message: Some(message),
            config,
            envelope,
            state: ClientState::Greeting,
            hellos_done: 0,
            capabilities: None,
            authenticated_with: None,
            next_recipient: 0,
            delivery: Delivery::default(),
            failure: None,
            input: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            deadline,
        }
    }

    /// The current state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// True while the connection is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The extensions from the last EHLO reply.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.capabilities.as_ref()
    }

    /// Feeds bytes read from the server.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if self.state == ClientState::Done {
            return;
        }
        self.input.extend_from_slice(bytes);
        while self.state != ClientState::Done {
            if self.state == ClientState::TlsHandshake {
                if !self.input.is_empty() {
                    let bytes = std::mem::take(&mut self.input);
                    self.finish(Err(ClientError::TlsInjection { bytes }));
                }
                return;
            }
            match Reply::parse(&self.input) {
                Ok(Status::Partial) => return,
                Ok(Status::Complete((used, reply))) => {
                    self.input.drain(..used);
                    self.on_reply(reply, now);
                }
                Err(error) => {
                    let state = self.state;
                    self.finish(Err(ClientError::Malformed { state, error }));
                }
            }
        }
    }

    /// The server closed its side.
    pub fn handle_eof(&mut self, _now: Instant) {
        match self.state {
            ClientState::Done => {}
            // Closing instead of answering QUIT is common and harmless.
            ClientState::Quit => self.finish_quit(),
            state => self.finish(Err(ClientError::ConnectionClosed { state })),
        }
    }

    /// Time passed; fails the session when the reply is overdue.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        match self.state {
            ClientState::Done | ClientState::TlsHandshake => {}
            ClientState::Quit => self.finish_quit(),
            state => self.finish(Err(ClientError::Timeout {
                state,
                after: self.config.timeout,
            })),
        }
    }

    /// The shell finished writing everything [`ClientSession::poll_transmit`] gave it, at
    /// `now`: the wait for the reply starts here. A 30 MiB message may take longer to send than
    /// the timeout allows for the reply; the clock for the reply must not run while it is sent.
    pub fn handle_flushed(&mut self, now: Instant) {
        if self.deadline.is_some()
            && !matches!(self.state, ClientState::Done | ClientState::TlsHandshake)
        {
            self.deadline = Some(now + self.config.timeout);
        }
    }

    /// The shell finished the TLS handshake that [`ClientEvent::StartTls`] asked for.
    pub fn handle_tls_established(&mut self, now: Instant) {
        if self.state != ClientState::TlsHandshake {
            return;
        }
        // RFC 3207 §4.2: forget what the server said before TLS and greet again.
        self.encrypted = true;
        self.capabilities = None;
        self.send_hello(self.hello_verb, now);
    }

    /// The next bytes to write.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing the shell must do.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`ClientSession::handle_timeout`] should be called if no input comes first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            ClientState::Done | ClientState::TlsHandshake => None,
            _ => self.deadline,
        }
    }

    fn send(&mut self, command: Command, state: ClientState, now: Instant) {
        self.transmits.push_back(Transmit {
            bytes: command.to_string().into_bytes(),
            kind: TransmitKind::Command,
        });
        self.expect(state, now);
    }

    fn send_secret(&mut self, bytes: Vec<u8>, shown: &str, state: ClientState, now: Instant) {
        self.transmits.push_back(Transmit {
            bytes,
            kind: TransmitKind::Secret {
                shown: shown.as_bytes().to_vec(),
            },
        });
        self.expect(state, now);
    }

    fn expect(&mut self, state: ClientState, now: Instant) {
        self.state = state;
        self.deadline = Some(now + self.config.timeout);
    }

    fn on_reply(&mut self, reply: Reply, now: Instant) {
        let code = reply.code();
        let positive = reply.is_positive_completion();
        match self.state {
            ClientState::Greeting if code == ReplyCode::SERVICE_READY => {
                if self.config.quit_after == Some(QuitAfter::Banner) {
                    return self.quit_early(QuitAfter::Banner, now);
                }
                self.send_hello(self.hello_verb, now);
            }
            ClientState::Ehlo if positive => {
                self.capabilities = Some(Capabilities::from_ehlo_reply(&reply));
                self.after_hello(now);
            }
            // RFC 5321 §3.2: a server that does not know EHLO says 500/502 (or 501/504/550).
            ClientState::Ehlo if reply.code().get() / 100 == 5 => {
                self.hello_verb = HelloVerb::Helo;
                self.send_hello(HelloVerb::Helo, now);
            }
            ClientState::Helo if positive => {
                self.capabilities = None;
                self.after_hello(now);
            }
            ClientState::StartTls if code == ReplyCode::SERVICE_READY => {
                self.state = ClientState::TlsHandshake;
                self.deadline = None;
                self.events.push_back(ClientEvent::StartTls);
            }
            ClientState::AuthPlain | ClientState::AuthLoginPassword
                if code == ReplyCode::AUTH_SUCCEEDED =>
            {
                self.authenticated_with = Some(if self.state == ClientState::AuthPlain {
                    "PLAIN"
                } else {
                    "LOGIN"
                });
                self.after_auth(now);
            }
            ClientState::AuthLogin if code == ReplyCode::AUTH_CONTINUE => {
                let user = self
                    .credentials()
                    .map(|c| c.user.clone())
                    .unwrap_or_default();
                let line = format!("{}\r\n", base64::encode(user.as_bytes()));
                self.send_secret(
                    line.into_bytes(),
                    "[user name, base64, hidden]\r\n",
                    ClientState::AuthLoginUsername,
                    now,
                );
            }
            ClientState::AuthLoginUsername if code == ReplyCode::AUTH_CONTINUE => {
                let password = self
                    .credentials()
                    .map(|c| c.password.clone())
                    .unwrap_or_default();
                let line = format!("{}\r\n", base64::encode(password.as_bytes()));
                self.send_secret(
                    line.into_bytes(),
                    "[password, base64, hidden]\r\n",
                    ClientState::AuthLoginPassword,
                    now,
                );
            }
            ClientState::AuthLoginUsername if code == ReplyCode::AUTH_SUCCEEDED => {
                // Some servers take the user name alone; accept their word.
                self.authenticated_with = Some("LOGIN");
                self.after_auth(now);
            }
            ClientState::AuthPlain | ClientState::AuthLoginPassword
                if code == ReplyCode::AUTH_CONTINUE =>
            {
                // A server asking for more after the whole answer is not following the
                // mechanism; cancelling with "*" would leave the session in doubt, so stop.
                let state = self.state;
                self.finish(Err(ClientError::Rejected { state, reply }));
            }
            ClientState::MailFrom if positive => {
                if self.config.quit_after == Some(QuitAfter::Mail) {
                    return self.quit_early(QuitAfter::Mail, now);
                }
                self.send_next_recipient(now);
            }
            ClientState::RcptTo => {
                let path = self.envelope.recipients[self.next_recipient - 1].clone();
                if positive {
                    self.delivery.accepted.push(path);
                } else {
                    self.delivery.refused.push((path, reply));
                }
                self.send_next_recipient(now);
            }
            ClientState::Data if code == ReplyCode::START_MAIL_INPUT => {
                let message = self.message.take().unwrap_or_default();
                let bytes = dot_stuffing::stuff(&message);
                self.transmits.push_back(Transmit {
                    bytes,
                    kind: TransmitKind::Message,
                });
                self.expect(ClientState::Message, now);
            }
            ClientState::Message if positive => {
                self.delivery.reply = Some(reply);
                self.send(Command::Quit, ClientState::Quit, now);
            }
            ClientState::Quit => self.finish_quit(),
            ClientState::Done | ClientState::TlsHandshake => {
                let state = self.state;
                self.finish(Err(ClientError::UnexpectedReply { state, reply }));
            }
            state => self.fail_politely(ClientError::Rejected { state, reply }, now),
        }
    }

    fn send_hello(&mut self, verb: HelloVerb, now: Instant) {
        let name = self.config.hello_name.clone();
        match verb {
            HelloVerb::Ehlo => self.send(Command::Ehlo(name), ClientState::Ehlo, now),
            HelloVerb::Helo => self.send(Command::Helo(name), ClientState::Helo, now),
        }
    }

    fn after_hello(&mut self, now: Instant) {
        self.hellos_done += 1;
        if self.hellos_done == 1 && self.config.quit_after == Some(QuitAfter::Ehlo) {
            return self.quit_early(QuitAfter::Ehlo, now);
        }
        if self.config.tls == TlsMode::StartTls && !self.encrypted {
            // With HELO nothing is known about extensions, so STARTTLS is simply tried.
            if let Some(caps) = &self.capabilities {
                if !caps.starttls {
                    let capabilities = caps.clone();
                    return self.fail_politely(ClientError::TlsNotOffered { capabilities }, now);
                }
            }
            return self.send(Command::StartTls, ClientState::StartTls, now);
        }
        if self.config.quit_after == Some(QuitAfter::Tls) {
            return self.quit_early(QuitAfter::Tls, now);
        }
        if self.config.auth.is_some() {
            return self.start_auth(now);
        }
        self.send_mail(now);
    }

    fn credentials(&self) -> Option<&Credentials> {
        self.config.auth.as_ref().map(|(_, c)| c)
    }

    fn start_auth(&mut self, now: Instant) {
        let Some((choice, credentials)) = self.config.auth.clone() else {
            return self.send_mail(now);
        };
        if !self.encrypted && !self.config.allow_plaintext_auth {
            return self.fail_politely(ClientError::PlaintextAuthRefused, now);
        }
        let offered = self.capabilities.as_ref().map(|c| c.auth.clone());
        let mechanism = match (choice, &offered) {
            (AuthChoice::Plain, _) => "PLAIN",
            (AuthChoice::Login, _) => "LOGIN",
            // After HELO nothing is known: LOGIN is what the classic lab servers take.
            (AuthChoice::Auto, None) => "LOGIN",
            (AuthChoice::Auto, Some(list)) if list.iter().any(|m| m == "PLAIN") => "PLAIN",
            (AuthChoice::Auto, Some(list)) if list.iter().any(|m| m == "LOGIN") => "LOGIN",
            (AuthChoice::Auto, Some(list)) => {
                return self.fail_politely(
                    ClientError::AuthNotOffered {
                        offered: list.clone(),
                    },
                    now,
                );
            }
        };
        if let Some(list) = &offered {
            if list.is_empty() {
                return self.fail_politely(
                    ClientError::AuthNotOffered {
                        offered: Vec::new(),
                    },
                    now,
                );
            }
        }
        if mechanism == "PLAIN" {
            // RFC 4616: authorization identity (empty), NUL, user, NUL, password.
            let mut plain = vec![0u8];
            plain.extend_from_slice(credentials.user.as_bytes());
            plain.push(0);
            plain.extend_from_slice(credentials.password.as_bytes());
            let command = Command::Auth {
                mechanism: "PLAIN".into(),
                initial_response: Some(base64::encode(&plain)),
            };
            self.send_secret(
                command.to_string().into_bytes(),
                "AUTH PLAIN [credentials, base64, hidden]\r\n",
                ClientState::AuthPlain,
                now,
            );
        } else {
            let command = Command::Auth {
                mechanism: "LOGIN".into(),
                initial_response: None,
            };
            self.send(command, ClientState::AuthLogin, now);
        }
    }

    fn after_auth(&mut self, now: Instant) {
        if self.config.quit_after == Some(QuitAfter::Auth) {
            return self.quit_early(QuitAfter::Auth, now);
        }
        self.send_mail(now);
    }

    fn send_mail(&mut self, now: Instant) {
        let mut parameters = Vec::new();
        let caps = self.capabilities.clone().unwrap_or_default();
        if let Some(limit) = caps.size {
            if limit > 0 && self.message_len as u64 > limit {
                let error = ClientError::MessageTooBig {
                    size: self.message_len,
                    limit,
                };
                return self.fail_politely(error, now);
            }
            parameters.push(Parameter::new("SIZE", Some(&self.message_len.to_string())));
        }
        if self.eight_bit && caps.eight_bit_mime {
            parameters.push(Parameter::new("BODY", Some("8BITMIME")));
        }
        let needs_utf8 = std::iter::once(&self.envelope.from)
            .chain(&self.envelope.recipients)
            .find(|p| p.needs_smtputf8())
            .cloned();
        if let Some(address) = needs_utf8 {
            if !caps.smtputf8 {
                return self.fail_politely(ClientError::Smtputf8NotOffered { address }, now);
            }
            parameters.push(Parameter::new("SMTPUTF8", None));
        }
        let from = self.envelope.from.clone();
        self.send(
            Command::Mail { from, parameters },
            ClientState::MailFrom,
            now,
        );
    }

    fn send_next_recipient(&mut self, now: Instant) {
        if let Some(to) = self.envelope.recipients.get(self.next_recipient).cloned() {
            self.next_recipient += 1;
            return self.send(
                Command::Rcpt {
                    to,
                    parameters: Vec::new(),
                },
                ClientState::RcptTo,
                now,
            );
        }
        if self.delivery.accepted.is_empty() {
            let refused = self.delivery.refused.clone();
            return self.fail_politely(ClientError::NoRecipientAccepted { refused }, now);
        }
        if self.config.quit_after == Some(QuitAfter::Rcpt) {
            return self.quit_early(QuitAfter::Rcpt, now);
        }
        self.send(Command::Data, ClientState::Data, now);
    }

    fn quit_early(&mut self, point: QuitAfter, now: Instant) {
        self.delivery.quit_after = Some(point);
        self.send(Command::Quit, ClientState::Quit, now);
    }

    /// A refusal: remember it and say QUIT, so the server is not left hanging.
    fn fail_politely(&mut self, error: ClientError, now: Instant) {
        self.failure = Some(error);
        self.send(Command::Quit, ClientState::Quit, now);
    }

    fn finish_quit(&mut self) {
        match self.failure.take() {
            Some(error) => self.finish(Err(error)),
            None => {
                let mut delivery = std::mem::take(&mut self.delivery);
                delivery.capabilities = self.capabilities.clone();
                delivery.encrypted = self.encrypted;
                delivery.authenticated_with = self.authenticated_with;
                self.finish(Ok(delivery));
            }
        }
    }

    fn finish(&mut self, result: Result<Delivery, ClientError>) {
        self.state = ClientState::Done;
        self.deadline = None;
        self.input.clear();
        self.events.push_back(ClientEvent::Done(result));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn config() -> ClientConfig {
        ClientConfig {
            hello_name: "client.test".into(),
            hello: HelloVerb::Ehlo,
            tls: TlsMode::None,
            auth: None,
            allow_plaintext_auth: false,
            quit_after: None,
            timeout: Duration::from_secs(30),
        }
    }

    fn envelope(recipients: &[&str]) -> Envelope {
        Envelope {
            from: Path::new("alice@example.org").unwrap(),
            recipients: recipients.iter().map(|r| Path::new(r).unwrap()).collect(),
        }
    }

    /// Runs a session against scripted replies, one per command, and returns what the client
    /// sent (shown form) and how it ended.
    fn run(
        config: ClientConfig,
        recipients: &[&str],
        message: &[u8],
        replies: &[&[u8]],
    ) -> (String, Result<Delivery, ClientError>) {
        let now = Instant::now();
        let mut session = ClientSession::new(config, envelope(recipients), message.to_vec(), now);
        let mut sent = String::new();
        let mut replies = replies.iter();
        loop {
            while let Some(t) = session.poll_transmit() {
                sent.push_str(&String::from_utf8_lossy(t.shown()));
            }
            match session.poll_event() {
                Some(ClientEvent::StartTls) => {
                    sent.push_str("<tls>\r\n");
                    session.handle_tls_established(now);
                }
                Some(ClientEvent::Done(result)) => return (sent, result),
                None => match replies.next() {
                    Some(reply) => session.handle_input(reply, now),
                    None => session.handle_eof(now),
                },
            }
        }
    }

    #[test]
    fn a_plain_delivery() {
        let (sent, result) = run(
            config(),
            &["bob@example.org"],
            b"Subject: hi\r\n\r\n.dot\r\n",
            &[
                b"220 mx.test ESMTP\r\n",
                b"250-mx.test\r\n250 SIZE 1000\r\n",
                b"250 2.1.0 Ok\r\n",
                b"250 2.1.5 Ok\r\n",
                b"354 go ahead\r\n",
                b"250 2.0.0 Ok: queued as 1\r\n",
                b"221 2.0.0 Bye\r\n",
            ],
        );
        assert_eq!(
            sent,
            "EHLO client.test\r\n\
             MAIL FROM:<alice@example.org> SIZE=21\r\n\
             RCPT TO:<bob@example.org>\r\n\
             DATA\r\n\
             Subject: hi\r\n\r\n..dot\r\n.\r\n\
             QUIT\r\n"
        );
        let delivery = result.unwrap();
        assert_eq!(delivery.accepted.len(), 1);
        assert_eq!(delivery.reply.unwrap().text(), "Ok: queued as 1");
    }

    #[test]
    fn helo_fallback_and_partial_refusal() {
        let (sent, result) = run(
            config(),
            &["a@x.test", "b@x.test"],
            b"x\r\n",
            &[
                b"220 old.test\r\n",
                b"502 5.5.1 EHLO not implemented\r\n",
                b"250 old.test\r\n",
                b"250 ok\r\n",
                b"550 5.1.1 no such user\r\n",
                b"250 ok\r\n",
                b"354 go\r\n",
                b"250 ok\r\n",
                b"221 bye\r\n",
            ],
        );
        assert!(
            sent.starts_with(
                "EHLO client.test\r\nHELO client.test\r\nMAIL FROM:<alice@example.org>\r\n"
            ),
            "{sent}"
        );
        let delivery = result.unwrap();
        assert_eq!(delivery.accepted, [Path::new("b@x.test").unwrap()]);
        assert_eq!(delivery.refused[0].0, Path::new("a@x.test").unwrap());
        assert_eq!(delivery.refused[0].1.code().get(), 550);
    }

    #[test]
    fn every_recipient_refused_is_exit_24_after_quit() {
        let (sent, result) = run(
            config(),
            &["a@x.test"],
            b"x\r\n",
            &[
                b"220 x\r\n",
                b"250 x\r\n",
                b"250 ok\r\n",
                b"450 4.2.0 busy\r\n",
                b"221 bye\r\n",
            ],
        );
        assert!(sent.ends_with("RCPT TO:<a@x.test>\r\nQUIT\r\n"), "{sent}");
        let error = result.unwrap_err();
        assert_eq!(error.exit_code(), 24);
        assert!(error.is_transient());
    }

    #[test]
    fn exit_codes_follow_the_failing_step() {
        let cases: &[(&[&[u8]], i32)] = &[
            (&[b"554 go away\r\n", b"221 bye\r\n"], 21),
            (&[b"220 x\r\n", b"421 busy\r\n", b"221 bye\r\n"], 22),
            (
                &[
                    b"220 x\r\n",
                    b"250 x\r\n",
                    b"553 5.1.8 bad sender\r\n",
                    b"221 bye\r\n",
                ],
                23,
            ),
            (
                &[
                    b"220 x\r\n",
                    b"250 x\r\n",
                    b"250 ok\r\n",
                    b"250 ok\r\n",
                    b"554 no data\r\n",
                    b"221 bye\r\n",
                ],
                25,
            ),
            (
                &[
                    b"220 x\r\n",
                    b"250 x\r\n",
                    b"250 ok\r\n",
                    b"250 ok\r\n",
                    b"354 go\r\n",
                    b"552 too big\r\n",
                    b"221 bye\r\n",
                ],
                26,
            ),
        ];
        for (replies, code) in cases {
            let (_, result) = run(config(), &["b@x.test"], b"x\r\n", replies);
            assert_eq!(result.unwrap_err().exit_code(), *code, "{replies:?}");
        }
    }

    #[test]
    fn starttls_then_auth_login_answers_prompts_without_reading_them() {
        let mut config = config();
        config.tls = TlsMode::StartTls;
        config.auth = Some((
            AuthChoice::Auto,
            Credentials {
                user: "alice".into(),
                password: "s3cret".into(),
            },
        ));
        let now = Instant::now();
        let mut session =
            ClientSession::new(config, envelope(&["b@x.test"]), b"x\r\n".to_vec(), now);
        session.handle_input(b"220 x\r\n", now);
        assert_eq!(
            session.poll_transmit().unwrap().bytes,
            b"EHLO client.test\r\n"
        );
        session.handle_input(b"250-x\r\n250 STARTTLS\r\n", now);
        assert_eq!(session.poll_transmit().unwrap().bytes, b"STARTTLS\r\n");
        session.handle_input(b"220 2.0.0 Ready to start TLS\r\n", now);
        assert_eq!(session.poll_event(), Some(ClientEvent::StartTls));
        assert_eq!(session.poll_timeout(), None);
        session.handle_tls_established(now);
        assert!(session.is_encrypted());
        assert_eq!(
            session.poll_transmit().unwrap().bytes,
            b"EHLO client.test\r\n"
        );
        session.handle_input(b"250-x\r\n250 AUTH LOGIN\r\n", now);
        assert_eq!(session.poll_transmit().unwrap().bytes, b"AUTH LOGIN\r\n");
        session.handle_input(b"334 VXNlciBOYW1lAA==\r\n", now);
        let user = session.poll_transmit().unwrap();
        assert_eq!(user.bytes, b"YWxpY2U=\r\n");
        assert_eq!(user.shown(), b"[user name, base64, hidden]\r\n");
        session.handle_input(b"334 something else entirely\r\n", now);
        let password = session.poll_transmit().unwrap();
        assert_eq!(password.bytes, b"czNjcmV0\r\n");
        assert!(!String::from_utf8_lossy(password.shown()).contains("czNjcmV0"));
        session.handle_input(b"235 2.7.0 ok\r\n", now);
        assert_eq!(
            session.poll_transmit().unwrap().bytes,
            b"MAIL FROM:<alice@example.org>\r\n"
        );
    }

    #[test]
    fn auth_plain_sends_an_initial_response_and_hides_it() {
        let mut config = config();
        config.tls = TlsMode::Implicit;
        config.auth = Some((
            AuthChoice::Auto,
            Credentials {
                user: "alice".into(),
                password: "secret".into(),
            },
        ));
        let (sent, result) = run(
            config,
            &["b@x.test"],
            b"x\r\n",
            &[
                b"220 x\r\n",
                b"250-x\r\n250 AUTH LOGIN PLAIN\r\n",
                b"535 5.7.8 bad\r\n",
                b"221 bye\r\n",
            ],
        );
        assert!(
            sent.contains("AUTH PLAIN [credentials, base64, hidden]\r\n"),
            "{sent}"
        );
        assert!(!sent.contains("AGFsaWNl"));
        assert_eq!(result.unwrap_err().exit_code(), 28);
    }

    #[test]
    fn credentials_never_go_out_unencrypted_unless_allowed() {
        let mut config = config();
        config.auth = Some((
            AuthChoice::Plain,
            Credentials {
                user: "a".into(),
                password: "b".into(),
            },
        ));
        let (sent, result) = run(
            config.clone(),
            &["b@x.test"],
            b"x\r\n",
            &[b"220 x\r\n", b"250-x\r\n250 AUTH PLAIN\r\n", b"221 bye\r\n"],
        );
        assert_eq!(sent, "EHLO client.test\r\nQUIT\r\n");
        assert_eq!(result.unwrap_err(), ClientError::PlaintextAuthRefused);
        config.allow_plaintext_auth = true;
        let (sent, _) = run(
            config,
            &["b@x.test"],
            b"x\r\n",
            &[b"220 x\r\n", b"250-x\r\n250 AUTH PLAIN\r\n", b"235 ok\r\n"],
        );
        assert!(sent.contains("AUTH PLAIN"));
    }

    #[test]
    fn starttls_missing_is_exit_29_and_injection_is_refused() {
        let mut config = config();
        config.tls = TlsMode::StartTls;
        let (_, result) = run(
            config.clone(),
            &["b@x.test"],
            b"x\r\n",
            &[b"220 x\r\n", b"250 x\r\n", b"221 bye\r\n"],
        );
        assert_eq!(result.unwrap_err().exit_code(), 29);
        let (_, result) = run(
            config,
            &["b@x.test"],
            b"x\r\n",
            &[
                b"220 x\r\n",
                b"250-x\r\n250 STARTTLS\r\n",
                b"220 go\r\n250 injected\r\n",
            ],
        );
        let error = result.unwrap_err();
        assert!(
            matches!(error, ClientError::TlsInjection { .. }),
            "{error:?}"
        );
        assert_eq!(error.exit_code(), 29);
    }

    #[test]
    fn quit_after_each_point() {
        for (point, replies, last) in [
            (
                QuitAfter::Banner,
                &[b"220 x\r\n".as_slice(), b"221 bye\r\n"][..],
                "QUIT\r\n",
            ),
            (
                QuitAfter::Ehlo,
                &[b"220 x\r\n".as_slice(), b"250 x\r\n", b"221 bye\r\n"][..],
                "EHLO client.test\r\nQUIT\r\n",
            ),
            (
                QuitAfter::Mail,
                &[
                    b"220 x\r\n".as_slice(),
                    b"250 x\r\n",
                    b"250 ok\r\n",
                    b"221 bye\r\n",
                ][..],
                "MAIL FROM:<alice@example.org>\r\nQUIT\r\n",
            ),
        ] {
            let mut config = config();
            config.quit_after = Some(point);
            let (sent, result) = run(config, &["b@x.test"], b"x\r\n", replies);
            assert!(sent.ends_with(last), "{point:?}: {sent}");
            assert_eq!(result.unwrap().quit_after, Some(point));
        }
    }

    #[test]
    fn the_reply_clock_starts_when_the_message_is_sent() {
        let now = Instant::now();
        let mut session =
            ClientSession::new(config(), envelope(&["b@x.test"]), vec![b'x'; 1000], now);
        for reply in [
            &b"220 x\r\n"[..],
            b"250 x\r\n",
            b"250 ok\r\n",
            b"250 ok\r\n",
            b"354 go\r\n",
        ] {
            session.handle_input(reply, now);
        }
        while session.poll_transmit().is_some() {}
        assert_eq!(session.state(), ClientState::Message);
        // Writing the message took 100 s; the server then has the whole timeout to answer.
        let sent = now + Duration::from_secs(100);
        session.handle_flushed(sent);
        assert_eq!(session.poll_timeout(), Some(sent + Duration::from_secs(30)));
        session.handle_timeout(sent + Duration::from_secs(29));
        assert_eq!(session.poll_event(), None);
    }

    #[test]
    fn timeouts_and_closes_are_failures_of_the_step() {
        let now = Instant::now();
        let mut session =
            ClientSession::new(config(), envelope(&["b@x.test"]), b"x\r\n".to_vec(), now);
        assert_eq!(session.poll_timeout(), Some(now + Duration::from_secs(30)));
        session.handle_timeout(now + Duration::from_secs(29));
        assert_eq!(session.poll_event(), None);
        session.handle_timeout(now + Duration::from_secs(30));
        let Some(ClientEvent::Done(Err(error))) = session.poll_event() else {
            panic!()
        };
        assert_eq!(error.exit_code(), 21);
        assert!(
            error.to_string().contains("no reply to greeting"),
            "{error}"
        );

        let mut session =
            ClientSession::new(config(), envelope(&["b@x.test"]), b"x\r\n".to_vec(), now);
        session.handle_input(b"220 x\r\n", now);
        session.handle_eof(now);
        let Some(ClientEvent::Done(Err(error))) = session.poll_event() else {
            panic!()
        };
        assert_eq!(
            error,
            ClientError::ConnectionClosed {
                state: ClientState::Ehlo
            }
        );
    }

    #[test]
    fn a_malformed_reply_names_the_bytes() {
        let (_, result) = run(
            config(),
            &["b@x.test"],
            b"x\r\n",
            &[b"220 x\r\n", b"250 x\n"],
        );
        let error = result.unwrap_err();
        assert_eq!(error.exit_code(), 22);
        assert!(error.to_string().contains("bare LF"), "{error}");
    }

    #[test]
    fn size_limit_and_smtputf8_are_checked_before_mail() {
        let (_, result) = run(
            config(),
            &["b@x.test"],
            &[b'x'; 100],
            &[b"220 x\r\n", b"250-x\r\n250 SIZE 50\r\n", b"221 bye\r\n"],
        );
        assert_eq!(
            result.unwrap_err(),
            ClientError::MessageTooBig {
                size: 100,
                limit: 50
            }
        );
        let (_, result) = run(
            config(),
            &["bö@x.test"],
            b"x\r\n",
            &[b"220 x\r\n", b"250 x\r\n", b"221 bye\r\n"],
        );
        assert_eq!(result.unwrap_err().exit_code(), 23);
    }
}
