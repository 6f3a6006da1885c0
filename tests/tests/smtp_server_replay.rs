//! The SMTP server core (`wire::smtp::ServerSession`, what `smtp serve` runs) replayed against
//! recorded clients: the `C:` side of each trace in `traces/smtp/server/` is fed (whole, byte by
//! byte, at random cuts) and every reply must be exactly the recorded `S:` side. The snapshot
//! adds what the session told its shell: messages with their envelopes, leniencies, AUTH, closes.
//!
//! The server's settings come from the trace's metadata:
//!
//! | key | meaning |
//! | --- | --- |
//! | `smtp-hostname` | the name in the greeting (default `sink.example`) |
//! | `smtp-auth` | an account `USER:PASS` for AUTH PLAIN and LOGIN |
//! | `smtp-starttls` | `yes`: offer STARTTLS (the harness "runs" TLS at once) |
//! | `smtp-tls` | `implicit`: the connection is encrypted from the start |
//! | `smtp-require-tls`, `smtp-require-auth` | `yes` to require them before MAIL |
//! | `smtp-max-size` | the message size limit in bytes |
//!
//! Each message is "stored" as `M1`, `M2`, ... so the 250 replies are predictable.

use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use protolab_tests::corpus;
use protolab_tests::replay::{replay, CoreUnderTest, Output, ReplaySpec};
use wire::smtp::{Credentials, ServerConfig, ServerEvent, ServerSession};
use wire::trace::{escape_inline, ElidedBody, Tag, Trace};

struct Server {
    session: ServerSession,
    now: Instant,
    stored: usize,
    out: Vec<Output>,
    report: Vec<String>,
}

impl Server {
    fn new(trace: &Trace) -> Server {
        let yes = |key: &str| trace.meta(key) == Some("yes");
        let mut config = ServerConfig::new(trace.meta("smtp-hostname").unwrap_or("sink.example"));
        if let Some((user, password)) = trace.meta("smtp-auth").and_then(|a| a.split_once(':')) {
            config.credentials.push(Credentials {
                user: user.into(),
                password: password.into(),
            });
        }
        config.starttls = yes("smtp-starttls");
        config.require_tls = yes("smtp-require-tls");
        config.require_auth = yes("smtp-require-auth");
        if let Some(size) = trace.meta("smtp-max-size") {
            config.max_size = size.parse().expect("smtp-max-size is a number");
        }
        let now = Instant::now();
        let session = ServerSession::new(config, trace.meta("smtp-tls") == Some("implicit"), now);
        let mut server = Server {
            session,
            now,
            stored: 0,
            out: Vec::new(),
            report: Vec::new(),
        };
        server.drain();
        server
    }

    fn drain(&mut self) {
        loop {
            while let Some(bytes) = self.session.poll_transmit() {
                self.out.push(Output::Bytes(bytes));
            }
            let Some(event) = self.session.poll_event() else {
                return;
            };
            match event {
                ServerEvent::StartTls => {
                    self.report
                        .push("STARTTLS: the shell runs the TLS handshake here".into());
                    self.session.handle_tls_established(self.now);
                }
                ServerEvent::Message(message) => {
                    self.stored += 1;
                    let recipients: Vec<String> =
                        message.recipients.iter().map(ToString::to_string).collect();
                    let parameters: Vec<String> =
                        message.parameters.iter().map(ToString::to_string).collect();
                    self.report.push(format!(
                        "message M{}: hello {}, from {} [{}], to {}, tls {}, user {}",
                        self.stored,
                        message.hello,
                        message.from,
                        parameters.join(" "),
                        recipients.join(" "),
                        message.encrypted,
                        message.authenticated.as_deref().unwrap_or("-"),
                    ));
                    let data = if message.data.len() > 512 {
                        ElidedBody::of(&message.data).to_string()
                    } else {
                        escape_inline(&message.data)
                    };
                    self.report
                        .push(format!("  data ({} bytes): {data}", message.data.len()));
                    self.session
                        .handle_stored(Ok(format!("M{}", self.stored)), self.now);
                }
                ServerEvent::Leniency(leniency) => {
                    self.report.push(format!("leniency: {leniency}"))
                }
                ServerEvent::DiscardedAfterStartTls(n) => self
                    .report
                    .push(format!("{n} bytes after STARTTLS thrown away")),
                ServerEvent::Authenticated(user) => {
                    self.report.push(format!("authenticated: {user}"))
                }
                ServerEvent::Close(reason) => {
                    self.report.push(format!("close: {reason:?}"));
                    self.out.push(Output::Close);
                }
            }
        }
    }
}

impl CoreUnderTest for Server {
    fn handle_input(&mut self, bytes: &[u8]) {
        self.session.handle_input(bytes, self.now);
        self.drain();
    }

    fn handle_eof(&mut self) {
        self.session.handle_eof(self.now);
        self.drain();
    }

    fn handle_wait(&mut self, millis: u64) {
        self.now += Duration::from_millis(millis);
        self.session.handle_timeout(self.now);
        self.drain();
    }

    fn poll_output(&mut self) -> Option<Output> {
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    fn take_report(&mut self) -> Vec<String> {
        // Message data is escaped where it is reported; the rest is ASCII text.
        std::mem::take(&mut self.report)
    }
}

#[test]
fn server_sessions_replay() {
    insta::glob!("../traces/smtp/server", "*.trace", |path| {
        let recorded = corpus::load(path);
        let transcript = replay(&recorded, &ReplaySpec::server(), Server::new);
        assert_eq!(
            escape_inline(&transcript.trace.stream(Tag::Server).unwrap()),
            escape_inline(&recorded.stream(Tag::Server).unwrap()),
            "{}: the server's replies differ from the recording",
            path.display()
        );
        insta::assert_snapshot!(transcript.render());
    });
}
