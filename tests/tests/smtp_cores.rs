//! The SMTP client core talking to the SMTP server core in memory: no sockets, no TLS library.
//! When both sides reach STARTTLS the pipe "encrypts" by telling both cores the handshake is done,
//! so the state transitions around it (EHLO again, capabilities forgotten, AUTH only after TLS)
//! are checked end to end. Each conversation is snapshotted as a trace; the message the server
//! hands to its shell must be the one the client was given, byte for byte.

use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use wire::smtp::message::{Attachment, Mailbox, MessageBuilder, LAB_MESSAGE};
use wire::smtp::{
    AuthChoice, ClientConfig, ClientError, ClientEvent, ClientSession, Credentials, Delivery,
    Envelope, HelloVerb, Path, ReceivedMessage, ServerConfig, ServerEvent, ServerSession, TlsMode,
};
use wire::trace::render_payload;

/// What one conversation produced.
struct Conversation {
    /// The exchange in trace syntax, with `#` lines where TLS starts.
    trace: String,
    result: Result<Delivery, ClientError>,
    received: Vec<ReceivedMessage>,
}

fn client_config() -> ClientConfig {
    ClientConfig {
        hello_name: "client.example".into(),
        hello: HelloVerb::Ehlo,
        tls: TlsMode::None,
        auth: None,
        allow_plaintext_auth: false,
        quit_after: None,
        timeout: Duration::from_secs(30),
    }
}

fn server_config() -> ServerConfig {
    let mut config = ServerConfig::new("sink.example");
    config.credentials = vec![Credentials {
        user: "alice".into(),
        password: "s3cret".into(),
    }];
    config.starttls = true;
    config
}

fn envelope(recipients: &[&str]) -> Envelope {
    Envelope {
        from: Path::new("alice@example.org").unwrap(),
        recipients: recipients.iter().map(|r| Path::new(r).unwrap()).collect(),
    }
}

/// Runs both cores against each other until the client is done.
fn converse(
    client: ClientConfig,
    server: ServerConfig,
    envelope: Envelope,
    message: &[u8],
) -> Conversation {
    let now = Instant::now();
    let implicit = client.tls == TlsMode::Implicit;
    let mut client = ClientSession::new(client, envelope, message.to_vec(), now);
    let mut server = ServerSession::new(server, implicit, now);
    let mut trace = String::new();
    if implicit {
        trace.push_str("# TLS from the first byte\n");
    }
    let mut received = Vec::new();
    let mut server_starttls = false;
    for _ in 0..1000 {
        let mut moved = false;
        while let Some(bytes) = server.poll_transmit() {
            trace.push_str(&render_payload("S: ", &bytes));
            client.handle_input(&bytes, now);
            moved = true;
        }
        while let Some(event) = server.poll_event() {
            match event {
                ServerEvent::StartTls => server_starttls = true,
                ServerEvent::Message(message) => {
                    received.push(message);
                    server.handle_stored(Ok(format!("M{}", received.len())), now);
                }
                _ => {}
            }
            moved = true;
        }
        while let Some(transmit) = client.poll_transmit() {
            trace.push_str(&render_payload("C: ", transmit.shown()));
            server.handle_input(&transmit.bytes, now);
            moved = true;
        }
        match client.poll_event() {
            Some(ClientEvent::StartTls) => {
                assert!(
                    server_starttls,
                    "the client started TLS before the server agreed"
                );
                trace.push_str("# TLS handshake: everything below is encrypted\n");
                server.handle_tls_established(now);
                client.handle_tls_established(now);
                server_starttls = false;
            }
            Some(ClientEvent::Done(result)) => {
                server.handle_eof(now);
                return Conversation {
                    trace,
                    result,
                    received,
                };
            }
            None if !moved => panic!("both cores wait for each other:\n{trace}"),
            None => {}
        }
    }
    panic!("the conversation never ended:\n{trace}")
}

fn snapshot(conversation: &Conversation) -> String {
    let outcome = match &conversation.result {
        Ok(delivery) => format!("# exit 0: {}\n", smtp::send::outcome_line(delivery)),
        Err(error) => format!("# exit {}: {error}\n", error.exit_code()),
    };
    format!("{}{outcome}", conversation.trace)
}

#[test]
fn plain_delivery_with_a_dotted_line() {
    let message = b"Subject: hi\r\n\r\n.leading dot\r\n..two\r\n";
    let conversation = converse(
        client_config(),
        server_config(),
        envelope(&["bob@example.org"]),
        message,
    );
    insta::assert_snapshot!(snapshot(&conversation));
    assert_eq!(conversation.received.len(), 1);
    assert_eq!(conversation.received[0].data, message);
    assert!(!conversation.received[0].encrypted);
}

#[test]
fn starttls_then_auth_plain() {
    let mut client = client_config();
    client.tls = TlsMode::StartTls;
    client.auth = Some((
        AuthChoice::Auto,
        Credentials {
            user: "alice".into(),
            password: "s3cret".into(),
        },
    ));
    let mut server = server_config();
    server.require_tls = true;
    server.require_auth = true;
    let conversation = converse(
        client,
        server,
        envelope(&["bob@example.org", "carol@example.org"]),
        b"x\r\n",
    );
    insta::assert_snapshot!(snapshot(&conversation));
    let delivery = conversation.result.as_ref().unwrap();
    assert!(delivery.encrypted);
    assert_eq!(delivery.authenticated_with, Some("PLAIN"));
    let message = &conversation.received[0];
    assert!(message.encrypted);
    assert_eq!(message.authenticated.as_deref(), Some("alice"));
    assert_eq!(message.recipients.len(), 2);
    // Before TLS the server did not offer AUTH (require_tls); after it, STARTTLS is gone.
    let (before, after) = conversation.trace.split_once("# TLS handshake").unwrap();
    assert!(!before.contains("AUTH PLAIN LOGIN") && after.contains("AUTH PLAIN LOGIN"));
    assert!(before.contains("250-STARTTLS") && !after.contains("STARTTLS\\r\\n"));
}

#[test]
fn starttls_then_auth_login_with_credentials_hidden_in_the_trace() {
    let mut client = client_config();
    client.tls = TlsMode::StartTls;
    client.auth = Some((
        AuthChoice::Login,
        Credentials {
            user: "alice".into(),
            password: "s3cret".into(),
        },
    ));
    let conversation = converse(
        client,
        server_config(),
        envelope(&["bob@example.org"]),
        b"x\r\n",
    );
    insta::assert_snapshot!(snapshot(&conversation));
    assert!(!conversation
        .trace
        .contains(&wire::base64::encode(b"s3cret")));
    assert_eq!(
        conversation.result.unwrap().authenticated_with,
        Some("LOGIN")
    );
}

#[test]
fn implicit_tls_with_auth() {
    let mut client = client_config();
    client.tls = TlsMode::Implicit;
    client.auth = Some((
        AuthChoice::Plain,
        Credentials {
            user: "alice".into(),
            password: "s3cret".into(),
        },
    ));
    let conversation = converse(
        client,
        server_config(),
        envelope(&["bob@example.org"]),
        b"x\r\n",
    );
    assert!(
        !conversation.trace.contains("STARTTLS\\r\\n"),
        "no STARTTLS over implicit TLS"
    );
    assert!(conversation.received[0].encrypted);
    assert_eq!(
        conversation.result.unwrap().authenticated_with,
        Some("PLAIN")
    );
}

#[test]
fn refusals_map_to_swaks_exit_codes() {
    // The sink requires TLS; the client does not use it: MAIL is refused, exit 23.
    let mut server = server_config();
    server.require_tls = true;
    let conversation = converse(
        client_config(),
        server,
        envelope(&["bob@example.org"]),
        b"x\r\n",
    );
    insta::assert_snapshot!("require_tls_refusal", snapshot(&conversation));
    assert_eq!(conversation.result.unwrap_err().exit_code(), 23);

    // A wrong password: 535, exit 28.
    let mut client = client_config();
    client.tls = TlsMode::StartTls;
    client.auth = Some((
        AuthChoice::Auto,
        Credentials {
            user: "alice".into(),
            password: "nope".into(),
        },
    ));
    let conversation = converse(
        client,
        server_config(),
        envelope(&["bob@example.org"]),
        b"x\r\n",
    );
    assert_eq!(conversation.result.unwrap_err().exit_code(), 28);

    // Too big for the announced SIZE: the client does not even try, exit 23.
    let mut server = server_config();
    server.max_size = 10;
    let conversation = converse(
        client_config(),
        server,
        envelope(&["bob@example.org"]),
        &[b'x'; 100],
    );
    assert_eq!(conversation.result.unwrap_err().exit_code(), 23);
    assert!(conversation.received.is_empty());

    // The sink does not offer STARTTLS: exit 29.
    let mut client = client_config();
    client.tls = TlsMode::StartTls;
    let mut server = server_config();
    server.starttls = false;
    let conversation = converse(client, server, envelope(&["bob@example.org"]), b"x\r\n");
    assert_eq!(conversation.result.unwrap_err().exit_code(), 29);
}

#[test]
fn partial_refusal_delivers_to_the_rest() {
    let mut server = server_config();
    server.max_recipients = 1;
    let conversation = converse(
        client_config(),
        server,
        envelope(&["bob@example.org", "carol@example.org"]),
        b"x\r\n",
    );
    insta::assert_snapshot!(snapshot(&conversation));
    let delivery = conversation.result.unwrap();
    assert_eq!(delivery.accepted.len(), 1);
    assert_eq!(delivery.refused[0].1.code().get(), 452);
    assert_eq!(
        conversation.received[0].recipients,
        [Path::new("bob@example.org").unwrap()]
    );
}

#[test]
fn the_lab_message_with_helo_alice() {
    let mut client = client_config();
    client.hello = HelloVerb::Helo;
    client.hello_name = "Alice".into();
    let conversation = converse(
        client,
        server_config(),
        envelope(&["bob@hamburger.edu"]),
        LAB_MESSAGE,
    );
    insta::assert_snapshot!(snapshot(&conversation));
    assert_eq!(conversation.received[0].data, LAB_MESSAGE);
    assert_eq!(conversation.received[0].hello, "Alice");
}

#[test]
fn a_built_mime_message_arrives_intact() {
    let mut builder = MessageBuilder::new(
        Mailbox::parse("Zoë <alice@example.org>").unwrap(),
        std::time::UNIX_EPOCH + Duration::from_secs(1_767_268_800),
        "1767268800.cores@example.org",
        "=_protolab_cores",
    );
    builder.to = vec![Mailbox::parse("bob@example.org").unwrap()];
    builder.subject = Some("Grüße".into());
    builder.text = Some(".a dotted first line\nand more\n".into());
    let data: Vec<u8> = (0..300 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    builder.attachments = vec![Attachment {
        file_name: "noise.bin".into(),
        content_type: "application/octet-stream".into(),
        data: data.clone(),
    }];
    let message = builder.build().unwrap();
    let conversation = converse(
        client_config(),
        server_config(),
        envelope(&["bob@example.org"]),
        &message,
    );
    assert_eq!(conversation.received[0].data, message);
    let part = wire::smtp::mime::Part::parse(&conversation.received[0].data).unwrap();
    assert_eq!(part.header_text("Subject").as_deref(), Some("Grüße"));
    assert_eq!(part.leaves()[1].decoded_body().unwrap(), data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the message (dots, bare CR and LF, NUL, 8-bit bytes), the server stores what the
    /// client was given; only a missing final CRLF is added (RFC 5321 §4.1.1.4).
    #[test]
    fn any_message_survives_stuffing_and_unstuffing(
        message in proptest::collection::vec(prop_oneof![
            Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a'), Just(0u8), Just(0xe9u8)
        ], 0..300)
    ) {
        let conversation = converse(client_config(), server_config(), envelope(&["bob@example.org"]), &message);
        let mut expected = message.clone();
        if !expected.is_empty() && !expected.ends_with(b"\r\n") {
            expected.extend_from_slice(b"\r\n");
        }
        prop_assert!(conversation.result.is_ok());
        prop_assert_eq!(&conversation.received[0].data, &expected);
    }
}
