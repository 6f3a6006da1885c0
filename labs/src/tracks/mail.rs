//! The `mail` track: labs plays an SMTP server (RFC 5321) for the learner's mail client.
//!
//! Each step checks its own part of one whole conversation with the learner's client. With
//! `--run` every step starts the client afresh; with `--listen` (the learner starts the client
//! by hand) one run is graded on every step its session shows (greeting, HELO, envelope, DATA,
//! QUIT, MIME), and STARTTLS and each AUTH mechanism wait for a run of their own, in which labs
//! offers them. labs greets late (a client must wait for the 220) and answers each command after
//! a short pause, so a client that does not read replies before its next command is caught. A
//! client that starts TLS at once (port 465 style) is told so, not shown its ClientHello.

use crate::catalog::{Role, Step, Track};
use crate::check::{Ctx, Failure, Reach};
use crate::exchange::Peer;
use std::sync::Arc;
use std::time::Duration;

macro_rules! step {
    ($slug:literal, $title:literal, $optional:literal, $file:literal, $check:expr) => {
        Step {
            slug: $slug,
            title: $title,
            optional: $optional,
            role: Role::Client,
            text: include_str!(concat!("../../steps/mail/", $file)),
            check: $check,
        }
    };
}

/// The track.
pub static TRACK: Track = Track {
    id: "mail",
    title: "A mail client: SMTP over a raw socket",
    intro:
        "Speak SMTP line by line: greeting, HELO, envelope, DATA, QUIT; then TLS, AUTH and MIME.",
    steps: &[
        step!(
            "greeting",
            "wait for the 220 greeting",
            false,
            "01-greeting.txt",
            greeting
        ),
        step!("helo", "HELO or EHLO", false, "02-helo.txt", helo),
        step!(
            "envelope",
            "MAIL FROM and RCPT TO",
            false,
            "03-envelope.txt",
            envelope
        ),
        step!(
            "data",
            "DATA, the message, the dot, QUIT",
            false,
            "04-data.txt",
            data
        ),
        step!("starttls", "STARTTLS", true, "05-starttls.txt", starttls),
        step!(
            "auth-login",
            "AUTH LOGIN in base64",
            true,
            "06-auth-login.txt",
            auth_login
        ),
        step!(
            "auth-plain",
            "AUTH PLAIN in base64",
            true,
            "07-auth-plain.txt",
            auth_plain
        ),
        step!(
            "mime",
            "a MIME message with an image attachment",
            true,
            "08-mime.txt",
            mime
        ),
    ],
};

/// The credentials the AUTH steps name.
const USER: &[u8] = b"alice";
const PASSWORD: &[u8] = b"wonderland";
const GREETING_DELAY: Duration = Duration::from_millis(400);
const REPLY_DELAY: Duration = Duration::from_millis(150);

/// What the server offers in a session.
#[derive(Debug, Clone, Copy, Default)]
struct Offer {
    starttls: bool,
    auth: bool,
}

/// One command line as received.
#[derive(Debug, Clone)]
struct Line {
    bytes: Vec<u8>,
    /// Bytes of the next command that arrived before labs replied to this one.
    early_bytes: usize,
}

impl Line {
    fn verb(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        text.split([' ', '\r', '\n', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase()
    }
    fn bare_lf(&self) -> bool {
        self.bytes.ends_with(b"\n") && !self.bytes.ends_with(b"\r\n")
    }
}

/// Everything a session showed.
#[derive(Debug, Default, Clone)]
struct Session {
    spoke_before_greeting: Option<Vec<u8>>,
    /// The client started TLS at once (its first bytes were a TLS record): these bytes.
    tls_at_once: Option<Vec<u8>>,
    commands: Vec<Line>,
    message: Option<Vec<u8>>,
    quit: bool,
    tls: bool,
    auth: Option<Result<String, String>>,
    ended: Option<String>,
}

impl Session {
    fn first(&self, verbs: &[&str]) -> Option<&Line> {
        self.commands
            .iter()
            .find(|c| verbs.contains(&c.verb().as_str()))
    }
}

fn read_line(peer: &mut Peer) -> Result<Vec<u8>, String> {
    peer.read_until(|b| b.iter().position(|&c| c == b'\n').map(|p| p + 1))
        .map_err(|e| e.to_string())
        .and_then(|line| {
            if line.len() > 1000 {
                Err("a command line over 1000 bytes (RFC 5321 §4.5.3.1.4)".into())
            } else {
                Ok(line)
            }
        })
}

fn reply(peer: &mut Peer, text: &str) -> Result<(), String> {
    peer.send(text.as_bytes())
        .map_err(|e| format!("your client closed the connection: {e}"))
}

/// Which session a step is graded on. One session of a client shows the greeting, HELO, the
/// envelope, DATA and QUIT (and a MIME message); STARTTLS and each AUTH mechanism need a
/// session in which labs offers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    StartTls,
    AuthLogin,
    AuthPlain,
}

impl Kind {
    fn offer(self) -> Offer {
        match self {
            Kind::Plain => Offer::default(),
            Kind::StartTls => Offer {
                starttls: true,
                auth: false,
            },
            Kind::AuthLogin | Kind::AuthPlain => Offer {
                starttls: false,
                auth: true,
            },
        }
    }

    /// Why a step of this kind needs a session of its own.
    fn own_session(self) -> &'static str {
        match self {
            Kind::Plain => "labs offers nothing extra in it",
            Kind::StartTls => "labs offers STARTTLS in its EHLO reply",
            Kind::AuthLogin => "labs offers AUTH, and your client logs in with AUTH LOGIN",
            Kind::AuthPlain => "labs offers AUTH, and your client logs in with AUTH PLAIN",
        }
    }
}

/// The sessions a `--listen` client had in this run, kept so that later steps of the same kind
/// are graded on them instead of asking for another run of the client.
#[derive(Debug, Default)]
struct Sessions(Vec<Recorded>);

#[derive(Debug)]
struct Recorded {
    kind: Kind,
    /// The step that waited for this session.
    step: &'static str,
    session: Session,
    exchanges: Vec<crate::exchange::Exchange>,
}

/// How long labs waits for a client the learner starts by hand (`--listen`).
const LISTEN_WAIT: Duration = Duration::from_secs(60);

/// The session `step` is graded on. With `--run` every step starts the client afresh; with
/// `--listen` one run of the client is graded on every step its session can show, and a step
/// that needs another session says so and waits for the next run.
fn run(ctx: &mut Ctx, kind: Kind, step: &'static str) -> Result<Session, Failure> {
    if !matches!(ctx.reach(), Reach::Listen(_)) {
        return converse_once(
            ctx,
            kind.offer(),
            Duration::from_secs(10).max(ctx.timeout * 5),
        );
    }
    let kept = ctx
        .memo::<Sessions>()
        .0
        .iter()
        .find(|r| r.kind == kind)
        .map(|r| (r.step, r.session.clone(), r.exchanges.clone()));
    if let Some((first, session, exchanges)) = kept {
        if let Ok(mut log) = ctx.log().lock() {
            log.extend(exchanges);
        }
        ctx.notes.push(format!(
            "graded on the same run of your client as mail/{first}"
        ));
        return Ok(session);
    }
    if !ctx.memo::<Sessions>().0.is_empty() {
        eprintln!(
            "labs: mail/{step} needs a session of its own ({}): run your client again",
            kind.own_session()
        );
        ctx.notes
            .push(format!("a session of its own: {}", kind.own_session()));
    }
    let session = converse_once(ctx, kind.offer(), LISTEN_WAIT.max(ctx.timeout * 5))?;
    let exchanges = ctx.log().lock().map(|l| l.clone()).unwrap_or_default();
    ctx.memo::<Sessions>().0.push(Recorded {
        kind,
        step,
        session: session.clone(),
        exchanges,
    });
    Ok(session)
}

/// Runs one SMTP conversation with the learner's client.
fn converse_once(ctx: &mut Ctx, offer: Offer, within: Duration) -> Result<Session, Failure> {
    let listener = ctx.client_listener()?;
    let mut peer = ctx.accept(&listener, within)?;
    let mut session = Session::default();
    if let Err(why) = converse(&mut peer, &mut session, offer) {
        session.ended = Some(why);
    }
    if session.tls_at_once.is_some() {
        keep_record_header(&mut peer);
    }
    drop(peer);
    if let Some(p) = ctx.learner() {
        let _ = p.wait_exit(Duration::from_secs(3));
    }
    Ok(session)
}

/// The first byte of a TLS record carrying a handshake message, and the major version byte of
/// every TLS record (RFC 8446 §5.1: `ContentType handshake(22)`, `legacy_record_version 0x03xx`).
const TLS_HANDSHAKE_RECORD: [u8; 2] = [0x16, 0x03];

/// A TLS record header is five bytes: type, version (two), length (two).
const TLS_RECORD_HEADER: usize = 5;

/// Keeps only the TLS record header of a ClientHello in the exchange: the rest is binary that
/// no learner reads, and the report says what it was.
fn keep_record_header(peer: &mut Peer) {
    use crate::exchange::{Event, Party};
    let mut kept = false;
    peer.exchange.events.retain_mut(|e| match e {
        Event::Bytes(Party::Learner, bytes) if !kept => {
            bytes.truncate(TLS_RECORD_HEADER);
            kept = true;
            true
        }
        Event::Bytes(Party::Learner, _) => false,
        _ => true,
    });
}

/// What the first bytes of a client that starts TLS at once are: the record header, escaped,
/// and what it says (its length, and whether it holds a ClientHello).
fn describe_client_hello(bytes: &[u8]) -> String {
    let header = wire::trace::escape_inline(&bytes[..bytes.len().min(TLS_RECORD_HEADER)]);
    let length = match bytes.get(3..5) {
        Some(&[hi, lo]) => format!(
            " of {} bytes after its header",
            u16::from_be_bytes([hi, lo])
        ),
        _ => String::new(),
    };
    let message = if bytes.get(5) == Some(&1) {
        ", holding a ClientHello"
    } else {
        ""
    };
    format!("`{header}`: a TLS handshake record{length}{message}")
}

fn converse(peer: &mut Peer, s: &mut Session, offer: Offer) -> Result<(), String> {
    if !peer
        .stays_quiet(GREETING_DELAY)
        .map_err(|e| e.to_string())?
    {
        if peer.unconsumed().starts_with(&TLS_HANDSHAKE_RECORD) {
            // A client for port 465 (implicit TLS, RFC 8314 §3.3): it waits for a ServerHello,
            // not a 220, so labs neither greets it nor reads its handshake as commands. The
            // record header says how long the record is; wait briefly for the rest of it.
            let want = peer
                .unconsumed()
                .get(3..5)
                .map(|l| TLS_RECORD_HEADER + usize::from(u16::from_be_bytes([l[0], l[1]])))
                .unwrap_or(TLS_RECORD_HEADER);
            let hello = peer
                .read_until(|b| (b.len() >= want).then_some(want))
                .unwrap_or_else(|_| peer.unconsumed().to_vec());
            s.tls_at_once = Some(hello);
            return Ok(());
        }
        s.spoke_before_greeting = Some(peer.unconsumed().to_vec());
    }
    reply(peer, "220 labs.invalid ESMTP labs mail lab\r\n")?;
    loop {
        let bytes = read_line(peer)?;
        // A client that waits for replies sends nothing more while labs pauses: whatever is
        // buffered after the pause was sent before the reply.
        let _ = peer.stays_quiet(REPLY_DELAY);
        let line = Line {
            early_bytes: peer.unconsumed().len(),
            bytes,
        };
        let verb = line.verb();
        let args = String::from_utf8_lossy(&line.bytes).trim_end().to_string();
        s.commands.push(line);
        match verb.as_str() {
            "HELO" => reply(peer, "250 labs.invalid Hello\r\n")?,
            "EHLO" => {
                let mut text = String::from("250-labs.invalid Hello\r\n");
                if offer.starttls && !s.tls {
                    text.push_str("250-STARTTLS\r\n");
                }
                if offer.auth {
                    text.push_str("250-AUTH PLAIN LOGIN\r\n");
                }
                text.push_str("250 8BITMIME\r\n");
                reply(peer, &text)?;
            }
            "STARTTLS" if offer.starttls && !s.tls => {
                reply(peer, "220 2.0.0 Ready to start TLS\r\n")?;
                peer.start_tls_server(
                    tls_config().map_err(|e| format!("labs could not make a certificate: {e}"))?,
                )?;
                s.tls = true;
            }
            "AUTH" if offer.auth => {
                let words: Vec<&str> = args.split_whitespace().collect();
                let outcome = match words.get(1).map(|m| m.to_ascii_uppercase()).as_deref() {
                    Some("LOGIN") => auth_login_exchange(peer, words.get(2).copied())?,
                    Some("PLAIN") => auth_plain_exchange(peer, words.get(2).copied())?,
                    _ => Err(format!(
                        "`{args}` names no mechanism labs offers (PLAIN, LOGIN)"
                    )),
                };
                reply(
                    peer,
                    if outcome.is_ok() {
                        "235 2.7.0 Authentication successful\r\n"
                    } else {
                        "535 5.7.8 Authentication credentials invalid\r\n"
                    },
                )?;
                s.auth = Some(outcome);
            }
            "MAIL" | "RCPT" | "RSET" | "NOOP" => reply(peer, "250 2.0.0 Ok\r\n")?,
            "DATA" => {
                reply(peer, "354 End data with <CR><LF>.<CR><LF>\r\n")?;
                let message = peer
                    .read_until(|b| {
                        if b.starts_with(b".\r\n") {
                            return Some(3);
                        }
                        b.windows(5).position(|w| w == b"\r\n.\r\n").map(|p| p + 5)
                    })
                    .map_err(|e| format!("the message never ended with \\r\\n.\\r\\n: {e}"))?;
                s.message = Some(message);
                reply(peer, "250 2.0.0 Ok: queued as LABS1\r\n")?;
            }
            "QUIT" => {
                s.quit = true;
                reply(peer, "221 2.0.0 Bye\r\n")?;
                return Ok(());
            }
            _ => reply(peer, "500 5.5.2 Command not recognised\r\n")?,
        }
    }
}

fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    wire::base64::decode(text.trim().as_bytes())
        .map_err(|e| format!("`{}` is not base64: {e}", text.trim()))
}

fn auth_login_exchange(
    peer: &mut Peer,
    initial: Option<&str>,
) -> Result<Result<String, String>, String> {
    let user = match initial {
        Some(u) => u.to_string(),
        None => {
            reply(peer, "334 VXNlcm5hbWU6\r\n")?;
            String::from_utf8_lossy(&read_line(peer)?)
                .trim_end()
                .to_string()
        }
    };
    reply(peer, "334 UGFzc3dvcmQ6\r\n")?;
    let password = String::from_utf8_lossy(&read_line(peer)?)
        .trim_end()
        .to_string();
    let check = (|| {
        let u = decode_base64(&user)?;
        let p = decode_base64(&password)?;
        if u != USER {
            return Err(format!(
                "the user name decoded to `{}`, not `alice`",
                String::from_utf8_lossy(&u)
            ));
        }
        if p != PASSWORD {
            return Err(format!(
                "the password decoded to `{}`, not `wonderland`",
                String::from_utf8_lossy(&p)
            ));
        }
        Ok("LOGIN".to_string())
    })();
    Ok(check)
}

fn auth_plain_exchange(
    peer: &mut Peer,
    initial: Option<&str>,
) -> Result<Result<String, String>, String> {
    let response = match initial {
        Some(r) => r.to_string(),
        None => {
            reply(peer, "334 \r\n")?;
            String::from_utf8_lossy(&read_line(peer)?)
                .trim_end()
                .to_string()
        }
    };
    let check = (|| {
        let decoded = decode_base64(&response)?;
        let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        match parts.as_slice() {
            [_authzid, user, password] if *user == USER && *password == PASSWORD => {
                Ok("PLAIN".to_string())
            }
            [_, user, password] => Err(format!(
                "it decoded to user `{}` and password `{}`",
                String::from_utf8_lossy(user),
                String::from_utf8_lossy(password)
            )),
            _ => Err(format!(
                "it decoded to {} NUL-separated part(s), not three: \\0user\\0password",
                parts.len()
            )),
        }
    })();
    Ok(check)
}

fn tls_config() -> Result<Arc<rustls::ServerConfig>, String> {
    let certified = rcgen::generate_simple_self_signed(vec![
        "localhost".to_string(),
        "labs.invalid".to_string(),
    ])
    .map_err(|e| e.to_string())?;
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

/// The session a step is graded on, failed at once when the client started TLS before the
/// greeting: nothing in it can be graded as SMTP.
fn session(ctx: &mut Ctx, kind: Kind, step: &'static str) -> Result<Session, Failure> {
    let session = run(ctx, kind, step)?;
    if let Some(hello) = &session.tls_at_once {
        return Err(Failure::new(
            "On this port SMTP starts in plain text: the server greets with 220, and TLS starts only after STARTTLS (RFC 3207); TLS from the first byte is port 465's way (implicit TLS, RFC 8314 §3.3)",
            format!(
                "your client started TLS at once, before labs greeted it: its first bytes were {}",
                describe_client_hello(hello)
            ),
        )
        .diagnosis("a client made for port 465 (Python's smtplib.SMTP_SSL, or a socket wrapped in ssl before connecting) waits for the server's TLS answer, while a server on port 25 or 587 waits to send its 220: labs closed the connection rather than read the handshake as commands")
        .hint("connect with a plain socket, recv() the 220, send HELO or EHLO; for encryption send STARTTLS after EHLO and wrap the socket then (the optional step mail/starttls)"));
    }
    Ok(session)
}

/// True when the client introduced itself with HELO: extensions are offered only to EHLO.
fn said_helo(session: &Session) -> bool {
    session.commands.first().is_some_and(|c| c.verb() == "HELO")
}

fn ended(session: &Session) -> String {
    session
        .ended
        .clone()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default()
}

fn greeting(ctx: &mut Ctx) -> Result<(), Failure> {
    let session = session(ctx, Kind::Plain, "greeting")?;
    if let Some(early) = &session.spoke_before_greeting {
        return Err(Failure::new(
            "The server speaks first: a client waits for the 220 greeting (RFC 5321 §3.1)",
            format!(
                "your client sent `{}` before labs greeted it",
                wire::trace::escape_inline(early)
            ),
        )
        .hint("recv() the greeting and check that it starts with 220 before sending HELO"));
    }
    if session.commands.is_empty() {
        return Err(Failure::new(
            "After the greeting the client introduces itself",
            format!("your client sent nothing after the 220{}", ended(&session)),
        ));
    }
    Ok(())
}

fn every_line_crlf(session: &Session) -> Result<(), Failure> {
    if let Some(line) = session.commands.iter().find(|l| l.bare_lf()) {
        let mut expected = line.bytes[..line.bytes.len() - 1].to_vec();
        expected.extend_from_slice(b"\r\n");
        return Err(Failure::new("Every SMTP line ends in CR LF (RFC 5321 §2.3.8)", format!("the {} command ended in a bare \\n", line.verb()))
            .bytes(expected, line.bytes.clone())
            .diagnosis("many servers refuse a bare LF outright; some accept it, which is why it seems to work against them")
            .hint("end each command with \\r\\n"));
    }
    Ok(())
}

fn waited_for_replies(session: &Session) -> Result<(), Failure> {
    if let Some(line) = session.commands.iter().find(|l| l.early_bytes > 0) {
        return Err(Failure::new(
            "A client reads each reply before it sends the next command (RFC 5321 §4.3; PIPELINING was not offered)",
            format!("after {} labs paused before replying, and your client sent more meanwhile", line.verb()),
        )
        .hint("after each send, recv() the reply and check its code before going on"));
    }
    Ok(())
}

fn helo(ctx: &mut Ctx) -> Result<(), Failure> {
    let session = session(ctx, Kind::Plain, "helo")?;
    let Some(first) = session.commands.first() else {
        return Err(Failure::new(
            "The client introduces itself with HELO or EHLO",
            format!("no command arrived{}", ended(&session)),
        ));
    };
    if !matches!(first.verb().as_str(), "HELO" | "EHLO") {
        return Err(Failure::new(
            "The first command is HELO or EHLO (RFC 5321 §4.1.1.1)",
            format!("the first command was {}", first.verb()),
        )
        .bytes(b"HELO <any>\r\n".to_vec(), first.bytes.clone()));
    }
    let text = String::from_utf8_lossy(&first.bytes);
    if text.trim_end().split(' ').nth(1).is_none_or(str::is_empty) {
        return Err(Failure::new(
            "HELO names the client: `HELO name`",
            "there was no name after the verb",
        )
        .bytes(b"HELO <any>\r\n".to_vec(), first.bytes.clone()));
    }
    every_line_crlf(&session)?;
    waited_for_replies(&session)
}

fn envelope(ctx: &mut Ctx) -> Result<(), Failure> {
    let session = session(ctx, Kind::Plain, "envelope")?;
    for (verb, form) in [
        ("MAIL", "MAIL FROM:<<any>>\r\n"),
        ("RCPT", "RCPT TO:<<any>>\r\n"),
    ] {
        let Some(line) = session.first(&[verb]) else {
            return Err(Failure::new(
                format!("The envelope has a {verb} command"),
                format!("your client sent no {verb}{}", ended(&session)),
            ));
        };
        let text = String::from_utf8_lossy(&line.bytes);
        let upper = text.to_ascii_uppercase();
        let prefix = if verb == "MAIL" {
            "MAIL FROM:"
        } else {
            "RCPT TO:"
        };
        let ok = upper.starts_with(prefix)
            && text[prefix.len()..].trim_start().starts_with('<')
            && text.trim_end().ends_with('>');
        if !ok {
            return Err(Failure::new(format!("{prefix}<address> with the address in angle brackets (RFC 5321 §4.1.1.2, §4.1.1.3)"), format!("the {verb} command was not in that form"))
                .bytes(form.as_bytes().to_vec(), line.bytes.clone()));
        }
        if text[prefix.len()..].starts_with(' ') {
            ctx.notes.push(format!(
                "a space after `{prefix}` is tolerated by many servers, but RFC 5321 has none"
            ));
        }
    }
    every_line_crlf(&session)?;
    waited_for_replies(&session)
}

fn data(ctx: &mut Ctx) -> Result<(), Failure> {
    let session = session(ctx, Kind::Plain, "data")?;
    if session.first(&["DATA"]).is_none() {
        return Err(Failure::new(
            "The message follows a DATA command",
            format!("your client sent no DATA{}", ended(&session)),
        ));
    }
    let Some(message) = &session.message else {
        return Err(Failure::new(
            "The message ends with a line holding only a dot: \\r\\n.\\r\\n (RFC 5321 §4.1.1.4)",
            format!("the message never ended{}", ended(&session)),
        )
        .hint("send \"\\r\\n.\\r\\n\" after the last line of the message"));
    };
    let body = &message[..message.len() - 3];
    let mut offset = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        if !line.ends_with(b"\r\n") && line.ends_with(b"\n") {
            let mut expected = line[..line.len() - 1].to_vec();
            expected.extend_from_slice(b"\r\n");
            return Err(Failure::new(
                "Message lines end in CR LF too (RFC 5322 §2.1)",
                format!("a line at byte {offset} of the message ends in a bare \\n"),
            )
            .bytes(expected, line.to_vec())
            .hint("build the message with \\r\\n between lines"));
        }
        offset += line.len();
    }
    if !session.quit {
        return Err(Failure::new(
            "The client ends with QUIT and reads the 221 (RFC 5321 §4.1.1.10)",
            format!("no QUIT arrived{}", ended(&session)),
        ));
    }
    every_line_crlf(&session)?;
    waited_for_replies(&session)
}

fn starttls(ctx: &mut Ctx) -> Result<(), Failure> {
    let session = session(ctx, Kind::StartTls, "starttls")?;
    if !session.tls {
        return Err(Failure::new(
            "A client starts TLS with STARTTLS when the server offers it (RFC 3207)",
            match session.first(&["STARTTLS"]) {
                Some(_) => format!("the TLS handshake did not complete{}", ended(&session)),
                None if said_helo(&session) => format!(
                    "your client did not send STARTTLS: it said HELO, so it never saw the EHLO reply that offers it{}",
                    ended(&session)
                ),
                None => format!("your client did not send STARTTLS{}", ended(&session)),
            },
        )
        .hint(
            "send EHLO, then STARTTLS, read 220, then wrap the socket with ssl and send EHLO again",
        ));
    }
    let after: Vec<String> = session
        .commands
        .iter()
        .skip_while(|c| c.verb() != "STARTTLS")
        .skip(1)
        .map(Line::verb)
        .collect();
    if after.first().is_none_or(|v| v != "EHLO") {
        return Err(Failure::new(
            "After TLS starts the client says EHLO again: the session starts over (RFC 3207 §4.2)",
            format!(
                "the first command over TLS was {}",
                after.first().cloned().unwrap_or_else(|| "nothing".into())
            ),
        ));
    }
    Ok(())
}

fn auth_check(ctx: &mut Ctx, kind: Kind) -> Result<(), Failure> {
    let (mechanism, step) = match kind {
        Kind::AuthPlain => ("PLAIN", "auth-plain"),
        _ => ("LOGIN", "auth-login"),
    };
    let session = session(ctx, kind, step)?;
    let rule = format!(
        "AUTH {mechanism} sends user `alice` and password `wonderland` in base64 (RFC 4954)"
    );
    match &session.auth {
        Some(Ok(used)) if used == mechanism => Ok(()),
        Some(Ok(used)) => Err(Failure::new(
            rule,
            format!("your client logged in with AUTH {used}; this step is about AUTH {mechanism}"),
        )),
        Some(Err(why)) => Err(Failure::new(rule, why.clone())
            .hint("base64-encode the exact bytes; AUTH PLAIN is base64 of \\0alice\\0wonderland")),
        None if said_helo(&session) => Err(Failure::new(
            rule,
            format!(
                "your client did not send AUTH: it said HELO, so it never saw the EHLO reply that offers it{}",
                ended(&session)
            ),
        )
        .hint("send EHLO, read the 250 lines up to the one without a dash, then AUTH")),
        None => Err(Failure::new(
            rule,
            format!("your client did not send AUTH{}", ended(&session)),
        )),
    }
}

fn auth_login(ctx: &mut Ctx) -> Result<(), Failure> {
    auth_check(ctx, Kind::AuthLogin)
}

fn auth_plain(ctx: &mut Ctx) -> Result<(), Failure> {
    auth_check(ctx, Kind::AuthPlain)
}

fn mime(ctx: &mut Ctx) -> Result<(), Failure> {
    let session = session(ctx, Kind::Plain, "mime")?;
    let Some(message) = &session.message else {
        return Err(Failure::new(
            "The client sends a message",
            format!("no message arrived{}", ended(&session)),
        ));
    };
    let message = unstuff(&message[..message.len().saturating_sub(3)]);
    if let Some(failure) = not_multipart(&message) {
        return Err(failure);
    }
    let image = crate::mime::find_part(&message, "image/")
        .map_err(|why| Failure::new(MIME_RULE, why).hint(MIME_HINT))?;
    if !image.starts_with(b"\x89PNG\r\n\x1a\n")
        && !image.starts_with(b"\xff\xd8\xff")
        && !image.starts_with(b"GIF8")
    {
        return Err(Failure::new(
            "The image part decodes to the image's bytes",
            "the decoded part does not start like a PNG, JPEG or GIF",
        )
        .bytes(
            b"\x89PNG\r\n\x1a\n".to_vec(),
            image.iter().take(8).copied().collect::<Vec<u8>>(),
        ));
    }
    Ok(())
}

const MIME_RULE: &str = "The message is MIME multipart/mixed with an image part (RFC 2046 §5.1)";

/// The header field that makes a message of parts; any boundary will do.
const MULTIPART_FIELD: &[u8] = b"Content-Type: multipart/mixed; boundary=\"<any>\"\r\n";

const MIME_HINT: &str = "in the message's header (before the empty line) write MIME-Version: 1.0 \
    and Content-Type: multipart/mixed; boundary=\"SEP\" (SEP: any text that occurs nowhere in the \
    parts); then start each part with a line --SEP, its own header and an empty line \
    (Content-Type: text/plain for the text; Content-Type: image/png and \
    Content-Transfer-Encoding: base64 for the image, its base64 in lines of at most 76), and \
    end with --SEP--. Python's email.mime.multipart.MIMEMultipart writes all of it: send \
    msg.as_string()";

/// The failure for a message that is not multipart: the field that makes a message of parts
/// next to what the message's header holds instead (its Content-Type, or the whole header when
/// it has none). `None` for a multipart message.
fn not_multipart(message: &[u8]) -> Option<Failure> {
    let media_type = crate::mime::media_type(message);
    if media_type.to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    let header = crate::mime::header_section(message);
    let (problem, got) = match crate::mime::content_type_field(message) {
        Some(field) => (
            format!(
                "the message's Content-Type is `{media_type}`: one body of that type, not parts, \
                 so there is no image part"
            ),
            field,
        ),
        None if header.len() <= 2 => (
            "the message has no header: it begins with the empty line that ends one, so it is \
             one text/plain body (RFC 2045 §5.2), with no parts and no image"
                .to_string(),
            header,
        ),
        None => (
            "the message's header has no Content-Type field, so it is one text/plain body \
             (RFC 2045 §5.2), with no parts and no image"
                .to_string(),
            header,
        ),
    };
    Some(
        Failure::new(MIME_RULE, problem)
            .bytes(MULTIPART_FIELD, got)
            .hint(MIME_HINT),
    )
}

/// Removes SMTP dot-stuffing: a line starting with ".." loses one dot.
fn unstuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len());
    for line in message.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(
            line.strip_prefix(b".")
                .filter(|_| line.starts_with(b".."))
                .unwrap_or(line),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_that_is_not_multipart_is_shown_next_to_the_field_it_lacks() {
        // The textbook skeleton: no header at all, the body right after DATA's empty line.
        let bare = not_multipart(b"\r\n I love computer networks!\r\n").unwrap();
        assert_eq!(bare.rule, MIME_RULE);
        assert!(
            bare.problem.starts_with("the message has no header"),
            "{}",
            bare.problem
        );
        assert_eq!(bare.expected.as_deref(), Some(MULTIPART_FIELD));
        assert_eq!(bare.got.as_deref(), Some(&b"\r\n"[..]));
        assert!(bare.hint.as_deref().unwrap().contains("MIMEMultipart"));
        // A header without Content-Type: the whole header is what arrived.
        let header = b"From: alice@example.com\r\nSubject: hi\r\n\r\nhello\r\n";
        let plain = not_multipart(header).unwrap();
        assert!(
            plain.problem.contains("has no Content-Type field"),
            "{}",
            plain.problem
        );
        assert_eq!(
            plain.got.as_deref(),
            Some(&b"From: alice@example.com\r\nSubject: hi\r\n\r\n"[..])
        );
        // Some other type: its own field is what arrived.
        let html =
            not_multipart(b"Subject: hi\r\nContent-Type: text/html\r\n\r\n<p>hi\r\n").unwrap();
        assert!(
            html.problem.contains("Content-Type is `text/html`"),
            "{}",
            html.problem
        );
        assert_eq!(
            html.got.as_deref(),
            Some(&b"Content-Type: text/html\r\n"[..])
        );
        // Multipart goes on to the parts.
        assert!(not_multipart(b"Content-Type: multipart/mixed; boundary=x\r\n\r\n").is_none());
    }
}
