//! The SMTP client core (`wire::smtp::ClientSession`) replayed against recorded servers, in the
//! style of RFC 5321 Appendix D: the `S:` side of each trace in `traces/smtp/client/` is fed
//! (whole, byte by byte, at random cuts), and what the client says must be exactly the recorded
//! `C:` side. The snapshot adds how the session ended (exit code, delivery) as `#` lines.
//!
//! The client's settings come from the trace's metadata:
//!
//! | key | meaning |
//! | --- | --- |
//! | `smtp-from`, `smtp-to` | the envelope (recipients comma-separated) |
//! | `smtp-hello` / `smtp-helo` | the EHLO name / HELO only with this name |
//! | `smtp-tls` | `none` (default), `starttls` or `implicit` |
//! | `smtp-auth` | `MECHANISM USER:PASS` with MECHANISM `plain`, `login` or `auto` |
//! | `smtp-allow-plaintext-auth` | `yes` to send AUTH without TLS |
//! | `smtp-quit-after` | `banner`, `ehlo`, `tls`, `auth`, `mail` or `rcpt` |
//! | `smtp-message` | the message, for recordings that stop before DATA |
//!
//! The message is the recorded `C:` item after the server's 354, unstuffed: the test then checks
//! that the client stuffs it back to the same bytes.

use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use protolab_tests::corpus;
use protolab_tests::replay::{literal_bytes, replay, CoreUnderTest, Output, ReplaySpec};
use wire::smtp::{
    AuthChoice, ClientConfig, ClientEvent, ClientSession, Credentials, DataReader, DataStatus,
    Envelope, HelloVerb, Path, QuitAfter, TlsMode,
};
use wire::trace::{escape_inline, Item, Tag, Trace};

struct Client {
    session: ClientSession,
    now: Instant,
    out: Vec<Output>,
    report: Vec<String>,
}

fn meta<'t>(trace: &'t Trace, key: &str) -> Option<&'t str> {
    trace.meta(key)
}

/// The message: `# smtp-message:` when the recording never gets to DATA, else the `C:` item
/// after the server's 354, unstuffed.
fn recorded_message(trace: &Trace) -> Vec<u8> {
    if let Some(message) = meta(trace, "smtp-message") {
        return message.as_bytes().to_vec();
    }
    let items = trace.items();
    for (i, item) in items.iter().enumerate() {
        let Item::Data {
            tag: Tag::Server,
            payload,
        } = item
        else {
            continue;
        };
        if !literal_bytes(payload).starts_with(b"354") {
            continue;
        }
        if let Some(Item::Data {
            tag: Tag::Client,
            payload,
        }) = items.get(i + 1)
        {
            let mut reader = DataReader::new(usize::MAX);
            if let DataStatus::Done { .. } = reader.handle(literal_bytes(payload)) {
                return reader.into_message();
            }
        }
    }
    b"Subject: none recorded\r\n\r\nno DATA in this recording\r\n".to_vec()
}

fn config(trace: &Trace) -> ClientConfig {
    let (hello, hello_name) = match (meta(trace, "smtp-helo"), meta(trace, "smtp-hello")) {
        (Some(name), _) => (HelloVerb::Helo, name),
        (None, Some(name)) => (HelloVerb::Ehlo, name),
        (None, None) => (HelloVerb::Ehlo, "client.example"),
    };
    let tls = match meta(trace, "smtp-tls") {
        Some("starttls") => TlsMode::StartTls,
        Some("implicit") => TlsMode::Implicit,
        _ => TlsMode::None,
    };
    let auth = meta(trace, "smtp-auth").map(|value| {
        let (mechanism, account) = value
            .split_once(' ')
            .expect("smtp-auth: MECHANISM USER:PASS");
        let (user, password) = account
            .split_once(':')
            .expect("smtp-auth: MECHANISM USER:PASS");
        let choice = match mechanism {
            "plain" => AuthChoice::Plain,
            "login" => AuthChoice::Login,
            _ => AuthChoice::Auto,
        };
        (
            choice,
            Credentials {
                user: user.into(),
                password: password.into(),
            },
        )
    });
    let quit_after = meta(trace, "smtp-quit-after").map(|q| match q {
        "banner" => QuitAfter::Banner,
        "ehlo" => QuitAfter::Ehlo,
        "tls" => QuitAfter::Tls,
        "auth" => QuitAfter::Auth,
        "mail" => QuitAfter::Mail,
        _ => QuitAfter::Rcpt,
    });
    ClientConfig {
        hello_name: hello_name.to_owned(),
        hello,
        tls,
        auth,
        allow_plaintext_auth: meta(trace, "smtp-allow-plaintext-auth") == Some("yes"),
        quit_after,
        timeout: Duration::from_secs(30),
    }
}

impl Client {
    fn new(trace: &Trace) -> Client {
        let from = Path::new(meta(trace, "smtp-from").unwrap_or("alice@example.org")).unwrap();
        let recipients = meta(trace, "smtp-to")
            .unwrap_or("bob@example.org")
            .split(',')
            .map(|r| Path::new(r.trim()).unwrap())
            .collect();
        let now = Instant::now();
        let session = ClientSession::new(
            config(trace),
            Envelope { from, recipients },
            recorded_message(trace),
            now,
        );
        let mut client = Client {
            session,
            now,
            out: Vec::new(),
            report: Vec::new(),
        };
        client.drain();
        client
    }

    fn drain(&mut self) {
        loop {
            while let Some(transmit) = self.session.poll_transmit() {
                self.out.push(match transmit.kind {
                    wire::smtp::TransmitKind::Message => Output::Body(transmit.bytes),
                    _ => Output::Bytes(transmit.bytes),
                });
            }
            match self.session.poll_event() {
                Some(ClientEvent::StartTls) => {
                    self.report
                        .push("STARTTLS accepted: the shell runs the TLS handshake here".into());
                    self.session.handle_tls_established(self.now);
                }
                Some(ClientEvent::Done(result)) => {
                    match result {
                        Ok(delivery) => {
                            self.report
                                .push(format!("exit 0: {}", smtp::send::outcome_line(&delivery)));
                            if let Some(caps) = delivery.capabilities {
                                self.report.push(format!("capabilities: {caps}"));
                            }
                            self.report.push(format!(
                                "encrypted: {}, authenticated with: {}",
                                delivery.encrypted,
                                delivery.authenticated_with.unwrap_or("-")
                            ));
                        }
                        Err(error) => self
                            .report
                            .push(format!("exit {}: {error}", error.exit_code())),
                    }
                    self.out.push(Output::Close);
                }
                None => return,
            }
        }
    }
}

impl CoreUnderTest for Client {
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
        std::mem::take(&mut self.report)
            .into_iter()
            .map(|l| escape_inline(l.as_bytes()))
            .collect()
    }
}

#[test]
fn client_sessions_replay() {
    insta::glob!("../traces/smtp/client", "*.trace", |path| {
        let recorded = corpus::load(path);
        // Messages in these recordings are short: show them whole.
        let spec = ReplaySpec {
            elide_over: None,
            ..ReplaySpec::client()
        };
        let transcript = replay(&recorded, &spec, Client::new);
        // The client must say exactly what the recording says it said.
        assert_eq!(
            escape_inline(&transcript.trace.stream(Tag::Client).unwrap()),
            escape_inline(&recorded.stream(Tag::Client).unwrap()),
            "{}: the client's side differs from the recording",
            path.display()
        );
        insta::assert_snapshot!(transcript.render());
    });
}
