//! The server side of an SMTP session (RFC 5321 §4.1, §4.3.2; STARTTLS RFC 3207; AUTH RFC 4954
//! with PLAIN RFC 4616 and LOGIN), as a state machine with no I/O.
//!
//! ```text
//!            220 sent                      EHLO/HELO                 MAIL              RCPT
//!  (start) ----------> Greeting ---------------------> Ready ----------------> MailFrom ------> RcptTo
//!                        ^  |  STARTTLS: 220,             ^ |AUTH: 334..235         RCPT (more) |  |
//!                        |  v  shell runs TLS             | v                                    <--+  | DATA: 354
//!                        +- StartTls                   AuthPlain / AuthLogin*                          v
//!                                                         ^                                         Data
//!                                                         |   250 queued as ...                      | CRLF.CRLF
//!                                                         +----------------------------------- Storing <-+
//!  QUIT: 221, idle timeout: 421, too many errors: 421  -->  Closed
//! ```
//!
//! Commands out of order get 503, unknown verbs and bad lines 500, bad arguments 501, a message
//! over the limit 552 (RFC 5321 §4.2.2-§4.2.3, codes from RFC 3463 alongside). Verbs are
//! case-insensitive and the lab's `MAIL FROM: <a>` is accepted (reported as a
//! `Leniency` event). Pipelined commands (RFC 2920) are answered in order
//! from one buffer; bytes that follow STARTTLS in the same read are thrown away, never run
//! after the handshake (RFC 3207 §6).
//!
//! The shell feeds bytes with [`ServerSession::handle_input`], writes what
//! [`ServerSession::poll_transmit`] gives, and acts on [`ServerEvent`]s: runs the TLS handshake,
//! stores a message and reports back with [`ServerSession::handle_stored`], or closes.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::client::Credentials;
use super::command::{frame_line, CommandError, CommandLine, Leniency, MAX_COMMAND_LINE};
use super::dot_stuffing::{DataReader, DataStatus};
use super::reply::{EnhancedCode, Reply, ReplyCode};
use super::{Capabilities, Command, Parameter, Path};
use crate::base64;

/// How a server session behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The name in the greeting and the EHLO reply.
    pub hostname: String,
    /// Accounts for AUTH PLAIN and LOGIN; empty: AUTH is not offered.
    pub credentials: Vec<Credentials>,
    /// Offer STARTTLS (the shell has a certificate).
    pub starttls: bool,
    /// Refuse MAIL and AUTH until the connection is encrypted (530 5.7.0).
    pub require_tls: bool,
    /// Refuse MAIL until the client has authenticated (530 5.7.0).
    pub require_auth: bool,
    /// The largest message accepted, in bytes after unstuffing (announced as SIZE).
    pub max_size: usize,
    /// Close with 421 after this long without input.
    pub idle_timeout: Duration,
    /// Recipients per message (452 past it, RFC 5321 §4.5.3.1.8).
    pub max_recipients: usize,
    /// Close with 421 after this many bad commands in a row.
    pub max_errors: usize,
}

impl ServerConfig {
    /// A plain sink: no TLS, no AUTH, 50 MiB messages, 5 minute idle timeout.
    pub fn new(hostname: &str) -> ServerConfig {
        ServerConfig {
            hostname: hostname.to_owned(),
            credentials: Vec::new(),
            starttls: false,
            require_tls: false,
            require_auth: false,
            max_size: 50 * 1024 * 1024,
            idle_timeout: Duration::from_secs(300),
            max_recipients: 100,
            max_errors: 20,
        }
    }
}

/// The states (RFC 5321 §4.1.4 gives the order; §3.3 the mail transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// The 220 greeting is sent; waiting for EHLO or HELO.
    Greeting,
    /// Greeted, no mail transaction open.
    Ready,
    /// `AUTH PLAIN` without an initial response: waiting for it after `334 `.
    AuthPlain,
    /// `AUTH LOGIN`: waiting for the user name.
    AuthLoginUsername,
    /// `AUTH LOGIN`: waiting for the password.
    AuthLoginPassword,
    /// MAIL accepted, no recipient yet.
    MailFrom,
    /// At least one recipient accepted.
    RcptTo,
    /// 354 sent: reading the message up to CRLF.CRLF.
    Data,
    /// The message is with the shell, which reports with `handle_stored`.
    Storing,
    /// 220 to STARTTLS sent; the shell runs the handshake.
    StartTls,
    /// 221 or 421 sent, or the client went away.
    Closed,
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerState::Greeting => "greeting",
            ServerState::Ready => "ready",
            ServerState::AuthPlain => "AUTH PLAIN",
            ServerState::AuthLoginUsername => "AUTH LOGIN user name",
            ServerState::AuthLoginPassword => "AUTH LOGIN password",
            ServerState::MailFrom => "MAIL FROM",
            ServerState::RcptTo => "RCPT TO",
            ServerState::Data => "DATA",
            ServerState::Storing => "storing",
            ServerState::StartTls => "STARTTLS",
            ServerState::Closed => "closed",
        })
    }
}

/// A message received, with its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The name the client gave in EHLO/HELO.
    pub hello: String,
    /// MAIL FROM.
    pub from: Path,
    /// The parameters given with MAIL FROM.
    pub parameters: Vec<Parameter>,
    /// The accepted RCPT TO addresses, in order.
    pub recipients: Vec<Path>,
    /// The message exactly as received, after dot-unstuffing, without the final `.` line.
    pub data: Vec<u8>,
    /// True when the session was encrypted.
    pub encrypted: bool,
    /// The user that authenticated, if any.
    pub authenticated: Option<String>,
}

/// Why a session closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client said QUIT.
    Quit,
    /// No input for the idle timeout (421 sent).
    IdleTimeout,
    /// Too many bad commands (421 sent).
    TooManyErrors,
    /// The client closed the connection, in this state.
    ClientClosed(ServerState),
}

/// What the shell must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// Flush the transmits, then run the TLS handshake and call
    /// [`ServerSession::handle_tls_established`].
    StartTls,
    /// Store this message and call [`ServerSession::handle_stored`].
    Message(ReceivedMessage),
    /// The client needed a leniency (for a teaching server's log).
    Leniency(Leniency),
    /// Bytes that followed STARTTLS before the handshake were thrown away (reported once TLS
    /// is up).
    DiscardedAfterStartTls(usize),
    /// A client authenticated.
    Authenticated(String),
    /// Close the connection (after flushing the transmits).
    Close(CloseReason),
}

/// The server session.
#[derive(Debug)]
pub struct ServerSession {
    config: ServerConfig,
    state: ServerState,
    encrypted: bool,
    hello: Option<String>,
    authenticated: Option<String>,
    login_user: Option<String>,
    from: Option<(Path, Vec<Parameter>)>,
    recipients: Vec<Path>,
    reader: Option<DataReader>,
    errors: usize,
    skipping_long_line: bool,
    discarded_before_tls: usize,
    input: Vec<u8>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<ServerEvent>,
    deadline: Instant,
}

fn reply(code: ReplyCode, class: u8, subject: u16, detail: u16, text: &str) -> Reply {
    Reply::enhanced(code, EnhancedCode::new(class, subject, detail), text)
}

impl ServerSession {
    /// A new connection: queues the 220 greeting. `encrypted` is true on an implicit-TLS port.
    pub fn new(config: ServerConfig, encrypted: bool, now: Instant) -> ServerSession {
        let mut session = ServerSession {
            deadline: now + config.idle_timeout,
            config,
            state: ServerState::Greeting,
            encrypted,
            hello: None,
            authenticated: None,
            login_user: None,
            from: None,
            recipients: Vec::new(),
            reader: None,
            errors: 0,
            skipping_long_line: false,
            discarded_before_tls: 0,
            input: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        let banner = format!("{} ESMTP protolab smtp sink", session.config.hostname);
        session.send(Reply::new(ReplyCode::SERVICE_READY, [banner]));
        session
    }

    /// The current state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// True while the connection is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// Feeds bytes read from the client; answers every complete command in order.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        match self.state {
            ServerState::Closed => return,
            ServerState::StartTls => {
                // Plaintext between the 220 and the handshake is never run as commands.
                self.discarded_before_tls += bytes.len();
                return;
            }
            _ => {}
        }
        self.deadline = now + self.config.idle_timeout;
        self.input.extend_from_slice(bytes);
        self.process();
    }

    /// The client closed its side.
    pub fn handle_eof(&mut self, _now: Instant) {
        if self.state != ServerState::Closed {
            let state = self.state;
            self.close(CloseReason::ClientClosed(state));
        }
    }

    /// Time passed: after the idle timeout, say 421 and close (RFC 5321 §4.5.3.2.7).
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(
            self.state,
            ServerState::Closed | ServerState::StartTls | ServerState::Storing
        ) {
            return;
        }
        if now >= self.deadline {
            let text = format!(
                "{} Error: timeout exceeded, closing the connection",
                self.config.hostname
            );
            self.send(reply(ReplyCode::SERVICE_NOT_AVAILABLE, 4, 4, 2, &text));
            self.close(CloseReason::IdleTimeout);
        }
    }

    /// The TLS handshake that [`ServerEvent::StartTls`] asked for is done: the session starts
    /// over, waiting for EHLO (RFC 3207 §4.2).
    pub fn handle_tls_established(&mut self, now: Instant) {
        if self.state != ServerState::StartTls {
            return;
        }
        if self.discarded_before_tls > 0 {
            let dropped = std::mem::take(&mut self.discarded_before_tls);
            self.events
                .push_back(ServerEvent::DiscardedAfterStartTls(dropped));
        }
        self.encrypted = true;
        self.hello = None;
        self.authenticated = None;
        self.reset_transaction();
        self.state = ServerState::Greeting;
        self.deadline = now + self.config.idle_timeout;
    }

    /// The shell stored the message that [`ServerEvent::Message`] carried (`Ok(id)`), or
    /// could not (`Err(why)`: 451 tells the client to try again later).
    pub fn handle_stored(&mut self, result: Result<String, String>, now: Instant) {
        if self.state != ServerState::Storing {
            return;
        }
        match result {
            Ok(id) => self.send(reply(
                ReplyCode::OK,
                2,
                0,
                0,
                &format!("Ok: queued as {id}"),
            )),
            Err(why) => self.send(reply(
                ReplyCode::LOCAL_ERROR,
                4,
                3,
                0,
                &format!("Error: could not store the message: {why}"),
            )),
        }
        self.reset_transaction();
        self.state = ServerState::Ready;
        self.deadline = now + self.config.idle_timeout;
        self.process();
    }

    /// The next bytes to write.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// The next thing the shell must do.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When to call [`ServerSession::handle_timeout`] if nothing arrives first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            ServerState::Closed | ServerState::StartTls | ServerState::Storing => None,
            _ => Some(self.deadline),
        }
    }

    fn send(&mut self, reply: Reply) {
        self.transmits.push_back(reply.to_string().into_bytes());
    }

    fn close(&mut self, reason: CloseReason) {
        self.state = ServerState::Closed;
        self.input.clear();
        self.reader = None;
        self.events.push_back(ServerEvent::Close(reason));
    }

    fn reset_transaction(&mut self) {
        self.from = None;
        self.recipients.clear();
        self.reader = None;
    }

    fn greeted_state(&self) -> ServerState {
        if self.hello.is_some() {
            ServerState::Ready
        } else {
            ServerState::Greeting
        }
    }

    /// Works through the buffered input until it runs out or the session must wait.
    fn process(&mut self) {
        loop {
            match self.state {
                ServerState::Closed | ServerState::StartTls | ServerState::Storing => return,
                ServerState::Data => {
                    if self.input.is_empty() {
                        return;
                    }
                    let Some(reader) = self.reader.as_mut() else {
                        return;
                    };
                    match reader.handle(&self.input) {
                        DataStatus::NeedMore => {
                            self.input.clear();
                            return;
                        }
                        DataStatus::Done { used } => {
                            self.input.drain(..used);
                            self.end_of_data();
                        }
                    }
                }
                _ => {
                    if self.skipping_long_line {
                        match self.input.windows(2).position(|w| w == b"\r\n") {
                            Some(at) => {
                                self.input.drain(..at + 2);
                                self.skipping_long_line = false;
                            }
                            None => {
                                // Keep a trailing CR: it may be the first half of CRLF.
                                let keep = usize::from(self.input.last() == Some(&b'\r'));
                                let drop = self.input.len() - keep;
                                self.input.drain(..drop);
                                return;
                            }
                        }
                    }
                    match frame_line(&self.input, MAX_COMMAND_LINE) {
                        Ok(None) => return,
                        Ok(Some(used)) => {
                            let line: Vec<u8> = self.input.drain(..used).collect();
                            self.line(&line[..line.len() - 2]);
                        }
                        Err(error) => {
                            match &error {
                                CommandError::BareLf { offset, .. } => {
                                    self.input.drain(..offset + 1);
                                }
                                CommandError::LineTooLong { skip: 0, .. } => {
                                    self.input.clear();
                                    self.skipping_long_line = true;
                                }
                                CommandError::LineTooLong { skip, .. } => {
                                    self.input.drain(..*skip);
                                }
                                _ => {}
                            }
                            self.bad_command(&error);
                        }
                    }
                }
            }
        }
    }

    fn bad_command(&mut self, error: &CommandError) {
        self.send(error.reply());
        self.count_error();
    }

    fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            let text = format!(
                "{} Error: too many errors, closing the connection",
                self.config.hostname
            );
            self.send(reply(ReplyCode::SERVICE_NOT_AVAILABLE, 4, 7, 0, &text));
            self.close(CloseReason::TooManyErrors);
        }
    }

    fn refuse(&mut self, refusal: Reply) {
        self.send(refusal);
        self.count_error();
    }

    /// One complete line (without CRLF): a SASL response while authenticating, else a command.
    fn line(&mut self, line: &[u8]) {
        match self.state {
            ServerState::AuthPlain
            | ServerState::AuthLoginUsername
            | ServerState::AuthLoginPassword => self.auth_response(line),
            _ => match CommandLine::from_line(line) {
                Ok(CommandLine {
                    command,
                    leniencies,
                }) => {
                    for leniency in leniencies {
                        self.events.push_back(ServerEvent::Leniency(leniency));
                    }
                    self.command(command);
                }
                Err(error) => self.bad_command(&error),
            },
        }
    }

    fn command(&mut self, command: Command) {
        use ServerState as S;
        let state = self.state;
        let host = self.config.hostname.clone();
        match command {
            Command::Quit => {
                self.send(reply(ReplyCode::CLOSING, 2, 0, 0, "Bye"));
                self.close(CloseReason::Quit);
                return;
            }
            Command::Noop(_) => self.send(reply(ReplyCode::OK, 2, 0, 0, "Ok")),
            Command::Rset => {
                self.reset_transaction();
                self.state = self.greeted_state();
                self.send(reply(ReplyCode::OK, 2, 0, 0, "Ok"));
            }
            Command::Help(_) => self.send(reply(
                ReplyCode::HELP,
                2,
                0,
                0,
                "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS AUTH (RFC 5321 section 4.1)",
            )),
            Command::Vrfy(_) => self.send(reply(
                ReplyCode::CANNOT_VRFY,
                2,
                0,
                0,
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn(_) => self.refuse(reply(ReplyCode::NOT_IMPLEMENTED, 5, 5, 1, "EXPN is not supported here")),
            Command::Ehlo(name) => {
                self.reset_transaction();
                self.hello = Some(name.clone());
                self.state = S::Ready;
                let mut lines = vec![format!("{host} Hello {name}")];
                lines.extend(self.capabilities().ehlo_lines());
                self.send(Reply::new(ReplyCode::OK, lines));
            }
            Command::Helo(name) => {
                self.reset_transaction();
                self.hello = Some(name.clone());
                self.state = S::Ready;
                self.send(Reply::new(ReplyCode::OK, [format!("{host} Hello {name}")]));
            }
            Command::StartTls => {
                if self.encrypted {
                    self.refuse(reply(ReplyCode::BAD_SEQUENCE, 5, 5, 1, "Error: TLS is already active"));
                } else if !self.config.starttls {
                    self.refuse(reply(
                        ReplyCode::NOT_IMPLEMENTED,
                        5,
                        5,
                        1,
                        "STARTTLS is not offered here (the sink has no certificate)",
                    ));
                } else if matches!(state, S::MailFrom | S::RcptTo) {
                    self.refuse(reply(ReplyCode::BAD_SEQUENCE, 5, 5, 1, "Error: STARTTLS inside a mail transaction"));
                } else {
                    self.send(reply(ReplyCode::SERVICE_READY, 2, 0, 0, "Ready to start TLS"));
                    // Bytes pipelined after STARTTLS were sent in plaintext and could have been
                    // injected by anyone on the path: drop them (RFC 3207 §6), report the count
                    // once TLS is up.
                    self.discarded_before_tls += self.input.len();
                    self.input.clear();
                    self.state = S::StartTls;
                    self.events.push_back(ServerEvent::StartTls);
                }
            }
            Command::Auth { mechanism, initial_response } => self.auth(&mechanism, initial_response),
            Command::Mail { from, parameters } => self.mail(from, parameters),
            Command::Rcpt { to, parameters } => {
                if !matches!(state, S::MailFrom | S::RcptTo) {
                    return self.refuse(reply(ReplyCode::BAD_SEQUENCE, 5, 5, 1, "Error: need MAIL command"));
                }
                if let Some(p) = parameters.first() {
                    let text = format!("Unsupported RCPT parameter {}", p.keyword);
                    return self.refuse(reply(ReplyCode::PARAMETERS_NOT_RECOGNIZED, 5, 5, 4, &text));
                }
                if self.recipients.len() >= self.config.max_recipients {
                    return self.send(reply(ReplyCode::new(452).unwrap_or(ReplyCode::LOCAL_ERROR), 4, 5, 3, "Error: too many recipients"));
                }
                self.recipients.push(to);
                self.state = S::RcptTo;
                self.send(reply(ReplyCode::OK, 2, 1, 5, "Ok"));
            }
            Command::Data => match state {
                S::RcptTo => {
                    self.reader = Some(DataReader::new(self.config.max_size));
                    self.state = S::Data;
                    self.send(Reply::new(ReplyCode::START_MAIL_INPUT, ["End data with <CR><LF>.<CR><LF>"]));
                }
                S::MailFrom => self.refuse(reply(ReplyCode::TRANSACTION_FAILED, 5, 5, 1, "Error: no valid recipients")),
                _ => self.refuse(reply(ReplyCode::BAD_SEQUENCE, 5, 5, 1, "Error: need RCPT command")),
            },
        }
        // A good command ends a run of errors.
        self.errors = 0;
    }

    fn capabilities(&self) -> Capabilities {
        let auth_offered =
            !self.config.credentials.is_empty() && (self.encrypted || !self.config.require_tls);
        Capabilities {
            domain: self.config.hostname.clone(),
            starttls: self.config.starttls && !self.encrypted,
            auth: if auth_offered {
                vec!["PLAIN".into(), "LOGIN".into()]
            } else {
                Vec::new()
            },
            size: Some(self.config.max_size as u64),
            eight_bit_mime: true,
            pipelining: true,
            smtputf8: true,
            enhanced_status_codes: true,
            others: Vec::new(),
        }
    }

    fn mail(&mut self, from: Path, parameters: Vec<Parameter>) {
        use ServerState as S;
        match self.state {
            S::Greeting => {
                return self.refuse(reply(
                    ReplyCode::BAD_SEQUENCE,
                    5,
                    5,
                    1,
                    "Error: send HELO/EHLO first",
                ))
            }
            S::MailFrom | S::RcptTo => {
                return self.refuse(reply(
                    ReplyCode::BAD_SEQUENCE,
                    5,
                    5,
                    1,
                    "Error: nested MAIL command",
                ))
            }
            _ => {}
        }
        if self.config.require_tls && !self.encrypted {
            return self.refuse(reply(
                ReplyCode::AUTH_REQUIRED,
                5,
                7,
                0,
                "Must issue a STARTTLS command first",
            ));
        }
        if self.config.require_auth && self.authenticated.is_none() {
            return self.refuse(reply(
                ReplyCode::AUTH_REQUIRED,
                5,
                7,
                0,
                "Authentication required",
            ));
        }
        for p in &parameters {
            let value = p.value.as_deref().unwrap_or_default();
            match p.keyword.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(size) if size > self.config.max_size as u64 => {
                        let text = format!(
                            "Message size exceeds fixed limit of {} bytes",
                            self.config.max_size
                        );
                        return self.refuse(reply(ReplyCode::EXCEEDED_STORAGE, 5, 3, 4, &text));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        return self.refuse(reply(
                            ReplyCode::PARAMETER_SYNTAX_ERROR,
                            5,
                            5,
                            4,
                            "Bad SIZE value",
                        ))
                    }
                },
                "BODY"
                    if value.eq_ignore_ascii_case("7BIT")
                        || value.eq_ignore_ascii_case("8BITMIME") => {}
                "SMTPUTF8" | "AUTH" => {}
                keyword => {
                    let text = format!("Unsupported MAIL parameter {keyword}");
                    return self.refuse(reply(
                        ReplyCode::PARAMETERS_NOT_RECOGNIZED,
                        5,
                        5,
                        4,
                        &text,
                    ));
                }
            }
        }
        self.from = Some((from, parameters));
        self.state = S::MailFrom;
        self.send(reply(ReplyCode::OK, 2, 1, 0, "Ok"));
    }

    fn auth(&mut self, mechanism: &str, initial_response: Option<String>) {
        use ServerState as S;
        if self.config.credentials.is_empty() {
            return self.refuse(reply(
                ReplyCode::NOT_IMPLEMENTED,
                5,
                5,
                1,
                "AUTH is not enabled (start the sink with --auth USER:PASS)",
            ));
        }
        match self.state {
            S::Greeting => {
                return self.refuse(reply(
                    ReplyCode::BAD_SEQUENCE,
                    5,
                    5,
                    1,
                    "Error: send EHLO first",
                ))
            }
            S::MailFrom | S::RcptTo => {
                return self.refuse(reply(
                    ReplyCode::BAD_SEQUENCE,
                    5,
                    5,
                    1,
                    "Error: AUTH inside a mail transaction",
                ))
            }
            _ => {}
        }
        if self.authenticated.is_some() {
            return self.refuse(reply(
                ReplyCode::BAD_SEQUENCE,
                5,
                5,
                1,
                "Error: already authenticated",
            ));
        }
        if self.config.require_tls && !self.encrypted {
            return self.refuse(reply(
                ReplyCode::AUTH_REQUIRED,
                5,
                7,
                0,
                "Must issue a STARTTLS command first",
            ));
        }
        match (mechanism, initial_response) {
            ("PLAIN", None) => {
                self.state = S::AuthPlain;
                self.send(Reply::new(ReplyCode::AUTH_CONTINUE, [""]));
            }
            ("PLAIN", Some(response)) => self.auth_plain(response.as_bytes()),
            ("LOGIN", None) => {
                self.state = S::AuthLoginUsername;
                self.send(Reply::new(
                    ReplyCode::AUTH_CONTINUE,
                    [base64::encode(b"Username:")],
                ));
            }
            ("LOGIN", Some(response)) => {
                // smtplib sends the user name with the command (RFC 4954 initial response).
                self.state = S::AuthLoginUsername;
                self.auth_response(response.as_bytes());
            }
            _ => self.refuse(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                5,
                5,
                4,
                "Unrecognized authentication type (this server speaks PLAIN and LOGIN)",
            )),
        }
    }

    /// A line answering a 334 prompt.
    fn auth_response(&mut self, line: &[u8]) {
        use ServerState as S;
        if line == b"*" {
            self.state = S::Ready;
            self.login_user = None;
            return self.refuse(reply(
                ReplyCode::PARAMETER_SYNTAX_ERROR,
                5,
                0,
                0,
                "Authentication cancelled",
            ));
        }
        match self.state {
            S::AuthPlain => self.auth_plain(line),
            S::AuthLoginUsername => match decode_text(line) {
                Some(user) => {
                    self.login_user = Some(user);
                    self.state = S::AuthLoginPassword;
                    self.send(Reply::new(
                        ReplyCode::AUTH_CONTINUE,
                        [base64::encode(b"Password:")],
                    ));
                }
                None => self.bad_base64(),
            },
            S::AuthLoginPassword => match decode_text(line) {
                Some(password) => {
                    let user = self.login_user.take().unwrap_or_default();
                    self.check_credentials(user, &password);
                }
                None => self.bad_base64(),
            },
            _ => {}
        }
    }

    fn auth_plain(&mut self, response: &[u8]) {
        let decoded = if response == b"=" {
            Some(Vec::new())
        } else {
            base64::decode(response).ok()
        };
        let Some(decoded) = decoded else {
            return self.bad_base64();
        };
        // RFC 4616 §2: authzid NUL authcid NUL passwd.
        let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        let [authzid, user, password] = parts.as_slice() else {
            self.state = ServerState::Ready;
            return self.refuse(reply(
                ReplyCode::PARAMETER_SYNTAX_ERROR,
                5,
                5,
                2,
                "AUTH PLAIN response must be authzid NUL user NUL password (RFC 4616 section 2)",
            ));
        };
        let user = String::from_utf8_lossy(user).into_owned();
        if !authzid.is_empty() && *authzid != user.as_bytes() {
            self.state = ServerState::Ready;
            return self.refuse(reply(
                ReplyCode::AUTH_FAILED,
                5,
                7,
                8,
                "Authentication credentials invalid",
            ));
        }
        self.check_credentials(user, &String::from_utf8_lossy(password));
    }

    fn check_credentials(&mut self, user: String, password: &str) {
        self.state = ServerState::Ready;
        let ok = self.config.credentials.iter().any(|c| {
            c.user == user && constant_time_eq(c.password.as_bytes(), password.as_bytes())
        });
        if ok {
            self.errors = 0;
            self.authenticated = Some(user.clone());
            self.events.push_back(ServerEvent::Authenticated(user));
            self.send(reply(
                ReplyCode::AUTH_SUCCEEDED,
                2,
                7,
                0,
                "Authentication successful",
            ));
        } else {
            self.refuse(reply(
                ReplyCode::AUTH_FAILED,
                5,
                7,
                8,
                "Authentication credentials invalid",
            ));
        }
    }

    fn bad_base64(&mut self) {
        self.state = ServerState::Ready;
        self.login_user = None;
        self.refuse(reply(
            ReplyCode::PARAMETER_SYNTAX_ERROR,
            5,
            5,
            2,
            "Cannot decode the response: it is not base64 (RFC 4954 section 4)",
        ));
    }

    fn end_of_data(&mut self) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        if reader.overflowed() {
            let text = format!(
                "Message size exceeds fixed limit of {} bytes",
                self.config.max_size
            );
            self.send(reply(ReplyCode::EXCEEDED_STORAGE, 5, 3, 4, &text));
            self.reset_transaction();
            self.state = ServerState::Ready;
            return;
        }
        let (from, parameters) = self.from.take().unwrap_or((Path::null(), Vec::new()));
        let message = ReceivedMessage {
            hello: self.hello.clone().unwrap_or_default(),
            from,
            parameters,
            recipients: std::mem::take(&mut self.recipients),
            data: reader.into_message(),
            encrypted: self.encrypted,
            authenticated: self.authenticated.clone(),
        };
        self.state = ServerState::Storing;
        self.events.push_back(ServerEvent::Message(message));
    }
}

fn decode_text(line: &[u8]) -> Option<String> {
    base64::decode(line)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Compares without stopping at the first difference, so timing says nothing about the password.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn config() -> ServerConfig {
        let mut config = ServerConfig::new("sink.test");
        config.credentials = vec![Credentials {
            user: "alice".into(),
            password: "secret".into(),
        }];
        config.starttls = true;
        config
    }

    /// Feeds `input` and returns everything the server wrote, as text.
    fn feed(session: &mut ServerSession, input: &[u8], now: Instant) -> String {
        session.handle_input(input, now);
        drain(session)
    }

    fn drain(session: &mut ServerSession) -> String {
        let mut out = String::new();
        while let Some(bytes) = session.poll_transmit() {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
        out
    }

    fn codes(text: &str) -> Vec<&str> {
        text.split("\r\n")
            .filter(|l| l.len() >= 4 && &l[3..4] == " ")
            .map(|l| &l[..3])
            .collect()
    }

    #[test]
    fn greeting_and_ehlo_announce_extensions() {
        let now = Instant::now();
        let mut session = ServerSession::new(config(), false, now);
        assert_eq!(
            drain(&mut session),
            "220 sink.test ESMTP protolab smtp sink\r\n"
        );
        assert_eq!(
            feed(&mut session, b"EHLO client.test\r\n", now),
            "250-sink.test Hello client.test\r\n\
             250-PIPELINING\r\n\
             250-SIZE 52428800\r\n\
             250-8BITMIME\r\n\
             250-STARTTLS\r\n\
             250-AUTH PLAIN LOGIN\r\n\
             250-ENHANCEDSTATUSCODES\r\n\
             250 SMTPUTF8\r\n"
        );
    }

    #[test]
    fn pipelined_transaction_in_one_read() {
        let now = Instant::now();
        let mut session = ServerSession::new(ServerConfig::new("sink.test"), false, now);
        drain(&mut session);
        let out = feed(
            &mut session,
            b"HELO a\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nRCPT TO:<g@h.i>\r\nDATA\r\n..x\r\n.\r\nQUIT\r\n",
            now,
        );
        assert_eq!(codes(&out), ["250", "250", "250", "250", "354"]);
        let Some(ServerEvent::Message(message)) = session.poll_event() else {
            panic!()
        };
        assert_eq!(message.data, b".x\r\n");
        assert_eq!(message.recipients.len(), 2);
        // QUIT waits until the message is stored, so replies stay in order.
        session.handle_stored(Ok("42".into()), now);
        assert_eq!(
            drain(&mut session),
            "250 2.0.0 Ok: queued as 42\r\n221 2.0.0 Bye\r\n"
        );
        assert_eq!(
            session.poll_event(),
            Some(ServerEvent::Close(CloseReason::Quit))
        );
    }

    #[test]
    fn out_of_order_and_bad_syntax() {
        let now = Instant::now();
        let mut session = ServerSession::new(ServerConfig::new("sink.test"), false, now);
        drain(&mut session);
        let out = feed(
            &mut session,
            b"MAIL FROM:<a@b.c>\r\nHELO a\r\nRCPT TO:<a@b.c>\r\nDATA\r\nFOO\r\nMAIL FROM <x>\r\n",
            now,
        );
        assert_eq!(codes(&out), ["503", "250", "503", "503", "500", "501"]);
        let out = feed(
            &mut session,
            b"MAIL FROM:<a@b.c>\r\nDATA\r\nMAIL FROM:<a@b.c>\r\n",
            now,
        );
        assert_eq!(codes(&out), ["250", "554", "503"]);
    }

    #[test]
    fn the_lab_skeleton_works_and_is_noted() {
        let now = Instant::now();
        let mut session = ServerSession::new(ServerConfig::new("sink.test"), false, now);
        drain(&mut session);
        let out = feed(
            &mut session,
            b"HELO Alice\r\nMAIL FROM: <alice@crepes.fr>\r\n",
            now,
        );
        assert_eq!(codes(&out), ["250", "250"]);
        assert_eq!(
            session.poll_event(),
            Some(ServerEvent::Leniency(Leniency::SpaceAfterColon))
        );
    }

    #[test]
    fn size_limits() {
        let now = Instant::now();
        let mut config = ServerConfig::new("sink.test");
        config.max_size = 10;
        let mut session = ServerSession::new(config, false, now);
        drain(&mut session);
        let out = feed(
            &mut session,
            b"EHLO a\r\nMAIL FROM:<a@b.c> SIZE=11\r\nMAIL FROM:<a@b.c> SIZE=10\r\n",
            now,
        );
        assert!(out.contains("250-SIZE 10\r\n"));
        assert_eq!(codes(&out), ["250", "552", "250"]);
        let out = feed(
            &mut session,
            b"RCPT TO:<d@e.f>\r\nDATA\r\n0123456789ab\r\n.\r\nNOOP\r\n",
            now,
        );
        assert_eq!(codes(&out), ["250", "354", "552", "250"]);
        assert_eq!(session.poll_event(), None);
    }

    #[test]
    fn starttls_discards_pipelined_plaintext_and_starts_over() {
        let now = Instant::now();
        let mut session = ServerSession::new(config(), false, now);
        drain(&mut session);
        let out = feed(
            &mut session,
            b"EHLO a\r\nSTARTTLS\r\nMAIL FROM:<evil@x.y>\r\n",
            now,
        );
        assert!(out.ends_with("220 2.0.0 Ready to start TLS\r\n"), "{out}");
        assert_eq!(session.poll_event(), Some(ServerEvent::StartTls));
        session.handle_input(b"more plaintext", now);
        session.handle_tls_established(now);
        assert_eq!(
            session.poll_event(),
            Some(ServerEvent::DiscardedAfterStartTls(36))
        );
        assert!(session.is_encrypted());
        let out = feed(&mut session, b"MAIL FROM:<a@b.c>\r\nEHLO a\r\n", now);
        assert!(out.starts_with("503 "), "EHLO again is required: {out}");
        assert!(!out.contains("STARTTLS"));
        assert_eq!(codes(&feed(&mut session, b"STARTTLS\r\n", now)), ["503"]);
    }

    #[test]
    fn auth_plain_and_login_in_every_form() {
        let now = Instant::now();
        for (input, expect) in [
            (&b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"[..], vec!["235"]),
            (
                b"AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n",
                vec!["334", "235"],
            ),
            (b"AUTH PLAIN YWxpY2UAYWxpY2UAc2VjcmV0\r\n", vec!["235"]),
            (b"AUTH PLAIN AGFsaWNlAHdyb25n\r\n", vec!["535"]),
            (
                b"AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n",
                vec!["334", "334", "235"],
            ),
            (b"auth login YWxpY2U=\r\nc2VjcmV0\r\n", vec!["334", "235"]),
            (b"AUTH LOGIN\r\n*\r\n", vec!["334", "501"]),
            (b"AUTH LOGIN\r\nnot base64!\r\n", vec!["334", "501"]),
            (b"AUTH CRAM-MD5\r\n", vec!["504"]),
        ] {
            let mut session = ServerSession::new(config(), true, now);
            drain(&mut session);
            feed(&mut session, b"EHLO a\r\n", now);
            let out = feed(&mut session, input, now);
            assert_eq!(codes(&out), expect, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn login_prompts_are_the_usual_ones() {
        let now = Instant::now();
        let mut session = ServerSession::new(config(), true, now);
        drain(&mut session);
        feed(&mut session, b"EHLO a\r\n", now);
        assert_eq!(
            feed(&mut session, b"AUTH LOGIN\r\n", now),
            "334 VXNlcm5hbWU6\r\n"
        );
        assert_eq!(
            feed(&mut session, b"YWxpY2U=\r\n", now),
            "334 UGFzc3dvcmQ6\r\n"
        );
        assert_eq!(
            feed(&mut session, b"c2VjcmV0\r\n", now),
            "235 2.7.0 Authentication successful\r\n"
        );
        assert_eq!(codes(&feed(&mut session, b"AUTH LOGIN\r\n", now)), ["503"]);
    }

    #[test]
    fn require_tls_and_auth() {
        let now = Instant::now();
        let mut config = config();
        config.require_tls = true;
        config.require_auth = true;
        let mut session = ServerSession::new(config.clone(), false, now);
        drain(&mut session);
        let out = feed(
            &mut session,
            b"EHLO a\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@b.c>\r\n",
            now,
        );
        assert!(
            !out.contains("AUTH PLAIN LOGIN"),
            "AUTH is offered only after TLS: {out}"
        );
        assert_eq!(codes(&out), ["250", "530", "530"]);
        let mut session = ServerSession::new(config, true, now);
        drain(&mut session);
        let out = feed(&mut session, b"EHLO a\r\nMAIL FROM:<a@b.c>\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@b.c>\r\n", now);
        assert_eq!(codes(&out), ["250", "530", "235", "250"]);
    }

    #[test]
    fn idle_timeout_says_421() {
        let now = Instant::now();
        let mut session = ServerSession::new(ServerConfig::new("sink.test"), false, now);
        drain(&mut session);
        let deadline = session.poll_timeout().unwrap();
        assert_eq!(deadline, now + Duration::from_secs(300));
        session.handle_timeout(deadline - Duration::from_millis(1));
        assert_eq!(drain(&mut session), "");
        session.handle_timeout(deadline);
        assert_eq!(
            drain(&mut session),
            "421 4.4.2 sink.test Error: timeout exceeded, closing the connection\r\n"
        );
        assert_eq!(
            session.poll_event(),
            Some(ServerEvent::Close(CloseReason::IdleTimeout))
        );
    }

    #[test]
    fn bare_lf_long_lines_and_too_many_errors() {
        let now = Instant::now();
        let mut session = ServerSession::new(ServerConfig::new("sink.test"), false, now);
        drain(&mut session);
        let out = feed(&mut session, b"HELO a\nNOOP\r\n", now);
        assert_eq!(codes(&out), ["500", "250"]);
        assert!(out.contains("bare LF"), "{out}");
        let mut long = vec![b'x'; MAX_COMMAND_LINE + 5];
        assert_eq!(codes(&feed(&mut session, &long, now)), ["500"]);
        long.extend_from_slice(b"\r\nNOOP\r\n");
        assert_eq!(
            codes(&feed(&mut session, &long, now)),
            ["250"],
            "the rest of the long line is skipped"
        );
        let out = feed(&mut session, &b"BAD\r\n".repeat(30), now);
        assert_eq!(codes(&out).len(), 21);
        assert!(out.ends_with("too many errors, closing the connection\r\n"));
        assert_eq!(session.state(), ServerState::Closed);
    }

    #[test]
    fn storage_failure_is_451() {
        let now = Instant::now();
        let mut session = ServerSession::new(ServerConfig::new("sink.test"), false, now);
        drain(&mut session);
        feed(
            &mut session,
            b"HELO a\r\nMAIL FROM:<>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n",
            now,
        );
        assert!(matches!(session.poll_event(), Some(ServerEvent::Message(m)) if m.from.is_null()));
        session.handle_stored(Err("disk full".into()), now);
        assert_eq!(
            drain(&mut session),
            "451 4.3.0 Error: could not store the message: disk full\r\n"
        );
    }
}
