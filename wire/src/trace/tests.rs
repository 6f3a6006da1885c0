use super::*;
use pretty_assertions::assert_eq;
use proptest::prelude::*;

/// The law and stability, with the rendered text shown on failure.
fn assert_round_trip(trace: &Trace) {
    let text = trace.render();
    let parsed = Trace::parse(&text).unwrap_or_else(|e| panic!("{e}\n--- rendered:\n{text}"));
    assert_eq!(
        &parsed, trace,
        "parse(render(t)) != t\n--- rendered:\n{text}"
    );
    assert_eq!(parsed.render(), text, "render is not stable");
}

fn tcp(items: &[(Tag, &[u8])]) -> Trace {
    let mut trace = Trace::new(Transport::Tcp);
    for (tag, bytes) in items {
        trace.push_bytes(*tag, bytes);
    }
    trace
}

const HEAD_EXAMPLE: &str = "\
# title: HEAD gets headers but no body
# now: 2026-01-01T12:00:00Z
C: HEAD /index.html HTTP/1.1\\r\\n
C: Host: localhost\\r\\n
C: \\r\\n
S: HTTP/1.1 200 OK\\r\\n
S: Content-Length: 1234\\r\\n
S: \\r\\n
S: <close>
";

#[test]
fn the_architecture_example_reads_and_writes_back_unchanged() {
    let trace = Trace::parse(HEAD_EXAMPLE).unwrap();
    assert_eq!(trace.title(), Some("HEAD gets headers but no body"));
    assert_eq!(trace.meta("now"), Some("2026-01-01T12:00:00Z"));
    assert_eq!(
        trace.now().unwrap(),
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_268_800)
    );
    assert_eq!(trace.transport(), Transport::Tcp);
    assert_eq!(
        trace.items(),
        &[
            Item::Data {
                tag: Tag::Client,
                payload: Payload::from_bytes(
                    b"HEAD /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
                ),
            },
            Item::Data {
                tag: Tag::Server,
                payload: Payload::from_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
            },
            Item::Event {
                tag: Tag::Server,
                event: Event::Close,
            },
        ]
    );
    assert!(trace.closes(Tag::Server));
    assert!(!trace.closes(Tag::Client));
    assert_eq!(trace.render(), HEAD_EXAMPLE);
}

#[test]
fn every_tag_renders_and_parses() {
    for tag in Tag::ALL {
        assert_eq!(Tag::from_name(tag.as_str()), Some(tag));
        let trace = tcp(&[(tag, b"x")]);
        assert_eq!(trace.render(), format!("{}: x\n", tag.as_str()));
        assert_round_trip(&trace);
    }
    assert_eq!(Tag::ProxyToOrigin.prefix(), "P>O: ");
    assert_eq!(Tag::from_name("P>X"), None);
}

#[test]
fn every_byte_value_alone_and_together() {
    for byte in 0..=255u8 {
        assert_round_trip(&tcp(&[(Tag::Client, &[byte])]));
        assert_round_trip(&tcp(&[(Tag::Server, &[b'a', byte, b'b'])]));
        let mut udp = Trace::new(Transport::Udp);
        udp.push_bytes(Tag::Client, &[byte]);
        assert_round_trip(&udp);
    }
    let all: Vec<u8> = (0..=255u8).collect();
    assert_round_trip(&tcp(&[(Tag::Client, &all)]));
    let reversed: Vec<u8> = (0..=255u8).rev().collect();
    assert_round_trip(&tcp(&[(Tag::Client, &all), (Tag::Server, &reversed)]));
}

#[test]
fn escapes_and_line_cuts() {
    let trace = tcp(&[(
        Tag::Client,
        b"a\tb\\c\x00\x7f\xff\xc3\xa9\r\nnext line \r\nend ",
    )]);
    assert_eq!(
        trace.render(),
        "C: a\\tb\\\\c\\x00\\x7f\\xff\\xc3\\xa9\\r\\n\nC: next line \\r\\n\nC: end\\x20\n"
    );
    assert_round_trip(&trace);
}

#[test]
fn only_the_space_that_ends_a_line_is_escaped() {
    let trace = tcp(&[(Tag::Server, b"two  ")]);
    assert_eq!(trace.render(), "S: two \\x20\n");
    let trace = tcp(&[(Tag::Server, b" \n ")]);
    assert_eq!(trace.render(), "S:  \\n\nS: \\x20\n");
    assert_round_trip(&trace);
}

#[test]
fn a_literal_angle_stays_readable_unless_it_would_read_as_an_event() {
    let trace = tcp(&[(Tag::Client, b"MAIL FROM:<a@example.org>\r\n<html><b>")]);
    assert_eq!(
        trace.render(),
        "C: MAIL FROM:<a@example.org>\\r\\n\nC: <html><b>\n"
    );
    for tricky in [
        &b"<any>"[..],
        b"<close>",
        b"<lost>",
        b"<wait 10ms>",
        b"<wait >",
        b"x<body 3 bytes sha256=00>",
        b"<<any>>",
        b"<wait",
        b"<any",
    ] {
        let trace = tcp(&[(Tag::Client, tricky)]);
        assert_round_trip(&trace);
        assert_eq!(trace.stream(Tag::Client).unwrap(), tricky);
    }
    assert_eq!(tcp(&[(Tag::Client, b"<any>")]).render(), "C: \\x3cany>\n");
}

#[test]
fn same_tag_lines_join_and_events_split_streams() {
    let text = "C: GET / HTTP/1.1\\r\\nHost: a\\r\\n\nC: \\r\\n\nS: <wait 1500ms>\nC: more\n";
    let trace = Trace::parse(text).unwrap();
    assert_eq!(trace.items().len(), 3);
    assert_eq!(
        trace.stream(Tag::Client).unwrap(),
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nmore"
    );
    assert_eq!(
        trace.items()[1],
        Item::Event {
            tag: Tag::Server,
            event: Event::Wait { millis: 1500 }
        }
    );
    // Render cuts after every \n, whatever the file did.
    assert_eq!(
        trace.render(),
        "C: GET / HTTP/1.1\\r\\n\nC: Host: a\\r\\n\nC: \\r\\n\nS: <wait 1500ms>\nC: more\n"
    );
    let mut built = Trace::new(Transport::Tcp);
    built.push_bytes(Tag::Client, b"GET / HTTP/1.1\r\n");
    built.push_bytes(Tag::Client, b"Host: a\r\n\r\n");
    built.push_bytes(Tag::Client, b"");
    built.push_event(Tag::Server, Event::Wait { millis: 1500 });
    built.push_bytes(Tag::Client, b"more");
    assert_eq!(built, trace);
}

#[test]
fn udp_keeps_datagrams_apart_and_does_not_cut_at_newlines() {
    let text = "# transport: udp\nC: PING 1\\n\nC: PING 2\\n\nS: <lost>\nC:\nS: PONG\n";
    let trace = Trace::parse(text).unwrap();
    assert_eq!(trace.transport(), Transport::Udp);
    let datagrams: Vec<_> = trace
        .payloads(Tag::Client)
        .map(|p| p.as_bytes().unwrap().to_vec())
        .collect();
    assert_eq!(
        datagrams,
        [b"PING 1\n".to_vec(), b"PING 2\n".to_vec(), Vec::new()]
    );
    assert_eq!(trace.render(), text);
    assert_round_trip(&trace);
}

#[test]
fn placeholders_parse_render_and_are_refused_as_input() {
    let body = vec![b'z'; 5000];
    let mut trace = Trace::new(Transport::Tcp);
    trace.push_bytes(Tag::Server, b"HTTP/1.1 200 OK\r\nDate: ");
    trace.push_piece(Tag::Server, Piece::Any);
    trace.push_bytes(Tag::Server, b"\r\nContent-Length: 5000\r\n\r\n");
    trace.push_body(Tag::Server, &body, Some(1024));
    trace.push_bytes(Tag::Client, b"ok");
    trace.push_body(Tag::Client, b"small", Some(1024));
    let text = trace.render();
    assert_eq!(
        text,
        format!(
            "S: HTTP/1.1 200 OK\\r\\n\nS: Date: <any>\\r\\n\nS: Content-Length: 5000\\r\\n\nS: \\r\\n\n\
             S: <body 5000 bytes sha256={}>\nC: oksmall\n",
            sha256_hex(&body)
        )
    );
    assert_round_trip(&trace);
    let Some(Piece::Elided(elided)) = trace.payloads(Tag::Server).next().unwrap().pieces().last()
    else {
        panic!("no elided body");
    };
    assert!(elided.matches(&body));
    assert!(!elided.matches(b"zz"));
    assert_eq!(trace.stream(Tag::Client).unwrap(), b"oksmall");
    let refused = trace.stream(Tag::Server).unwrap_err();
    assert_eq!(refused.placeholder, "<any>");
    assert!(refused.to_string().contains("S: side holds <any>"));
}

#[test]
fn metadata_keeps_order_and_unknown_keys_and_drops_comments() {
    let text = "\
# a free comment, kept out of the trace
# title: a \\x5ctitle\\x20
# lab: http-1
# seed: 42
# boundary: ----=_b1
# custom-key:
# transport: tcp

# after the blank line, still the top
C: x
# seed: 7 (a comment now: items have started)
";
    let trace = Trace::parse(text).unwrap();
    assert_eq!(
        trace.metadata(),
        &[
            ("title".to_owned(), "a \\title ".to_owned()),
            ("lab".to_owned(), "http-1".to_owned()),
            ("seed".to_owned(), "42".to_owned()),
            ("boundary".to_owned(), "----=_b1".to_owned()),
            ("custom-key".to_owned(), String::new()),
        ]
    );
    assert_eq!(trace.seed(), Some(42));
    assert_eq!(
        trace.render(),
        "# title: a \\\\title\\x20\n# lab: http-1\n# seed: 42\n# boundary: ----=_b1\n# custom-key:\nC: x\n"
    );
    assert_round_trip(&trace);
}

#[test]
fn set_meta_checks_keys_and_known_values() {
    let mut trace = Trace::new(Transport::Tcp);
    trace.set_meta("title", "first").unwrap();
    trace.set_meta("title", "second\nline").unwrap();
    assert_eq!(trace.metadata().len(), 1);
    assert_eq!(trace.render(), "# title: second\\nline\n");
    assert_round_trip(&trace);
    assert_eq!(
        trace.set_meta("Title", "x"),
        Err(MetadataError::BadKey("Title".into()))
    );
    assert_eq!(
        trace.set_meta("transport", "udp"),
        Err(MetadataError::TransportIsNotFree)
    );
    assert!(trace.set_meta("seed", "-1").is_err());
    assert!(trace.set_meta("now", "yesterday").is_err());
    trace.set_now(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(86_400_999));
    assert_eq!(trace.meta("now"), Some("1970-01-02T00:00:00Z"));
}

#[test]
fn metadata_values_keep_printable_unicode_and_escape_the_rest() {
    let mut trace = Trace::new(Transport::Tcp);
    trace
        .set_meta(
            "title",
            "RFC 9112 \u{a7}6.3 caf\u{e9}\u{a0}bell\u{7}\u{3000}",
        )
        .unwrap();
    assert_eq!(
        trace.render(),
        "# title: RFC 9112 \u{a7}6.3 caf\u{e9}\\xc2\\xa0bell\\x07\\xe3\\x80\\x80\n"
    );
    assert_round_trip(&trace);
    let parsed = Trace::parse("# title: \u{a7} \u{1f600}\nC: x\n").unwrap();
    assert_eq!(parsed.title(), Some("\u{a7} \u{1f600}"));
    // Payloads stay ASCII.
    assert_eq!(
        Trace::parse("C: \u{a7}\n").unwrap_err().kind,
        ParseErrorKind::NotPrintable
    );
}

#[test]
fn crlf_file_newlines_are_not_payload() {
    let trace = Trace::parse("# title: t\r\nC: a\\r\\n\r\nC: b\r\n").unwrap();
    assert_eq!(trace.title(), Some("t"));
    assert_eq!(trace.stream(Tag::Client).unwrap(), b"a\r\nb");
}

/// Parses `text`, expecting an error at `line`/`column` naming `offending`.
#[track_caller]
fn assert_error(text: &str, line: usize, column: usize, offending: &str, kind: ParseErrorKind) {
    let error = Trace::parse(text).unwrap_err();
    assert_eq!(
        (error.line, error.column, error.text.as_str(), error.kind),
        (line, column, offending, kind),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("line {line}, column {column}: ")),
        "{message}"
    );
}

#[test]
fn errors_name_line_column_and_text() {
    use ParseErrorKind::*;
    assert_error("C: a\nX: b\n", 2, 1, "X:", UnknownTag);
    assert_error("GET / HTTP/1.1\n", 1, 1, "GET / HTTP/1.1", NotAnItem);
    assert_error("Host: x\n", 1, 1, "Host:", NotAnItem);
    assert_error("C:x\n", 1, 3, "x", NoSpaceAfterTag);
    assert_error("C:\n", 1, 1, "C:", EmptyStreamLine);
    assert_error("C: ab\\qc\n", 1, 6, "\\q", UnknownEscape);
    assert_error("C: ab\\\n", 1, 6, "\\", UnknownEscape);
    assert_error("C: \\x4\n", 1, 4, "\\x4", BadHexEscape);
    assert_error("C: \\xg0\n", 1, 4, "\\xg0", BadHexEscape);
    assert_error("C: a\tb\n", 1, 5, "\t", NotPrintable);
    assert_error("C: caf\u{e9}!\n", 1, 7, "\u{e9}", NotPrintable);
    assert_error("S: <close> now\n", 1, 4, "<close> now", BadEvent);
    assert_error("S: <wait 15s>\n", 1, 4, "<wait 15s>", BadEvent);
    assert_error("S: <wait ms>\n", 1, 4, "<wait ms>", BadEvent);
    assert_error(
        "S: <wait 99999999999999999999ms>\n",
        1,
        4,
        "<wait 99999999999999999999ms>",
        BadEvent,
    );
    assert_error("S: ok<close>\n", 1, 6, "<close>", EventNotAlone);
    assert_error("C: x\nS: <lost>\n", 2, 4, "<lost>", LostOverTcp);
    assert_error(
        "S: <body 12 bytes sha256=abc>\n",
        1,
        4,
        "<body 12 bytes sha256=abc>",
        BadElidedBody,
    );
    assert_error("S: <body x bytes>\n", 1, 4, "<body x bytes>", BadElidedBody);
    assert_error("# title: a\n# title: b\n", 2, 3, "title", DuplicateMetadata);
    assert_error("# seed: many\n", 1, 9, "many", BadMetadataValue);
    assert_error("# now: 2026-01-01\n", 1, 8, "2026-01-01", BadMetadataValue);
    assert_error("# transport: sctp\n", 1, 14, "sctp", BadMetadataValue);
    assert_error("# title: \\xff\n", 1, 10, "\\xff", MetadataNotUtf8);

    let message = Trace::parse("C: ok\nC: a\tb\n").unwrap_err().to_string();
    assert_eq!(
        message,
        "line 2, column 5: `\\t`: only printable ASCII may appear as it is; \
         write this byte as \\t, \\r, \\n or \\xHH"
    );
    let message = Trace::parse("# seed: many\n").unwrap_err().to_string();
    assert!(
        message.ends_with("(expected an unsigned 64-bit integer)"),
        "{message}"
    );
}

#[test]
fn payload_display_helpers() {
    assert_eq!(render_payload("> ", b""), "");
    assert_eq!(
        render_payload("> ", b"220 ready\r\n250 ok \r\n"),
        "> 220 ready\\r\\n\n> 250 ok \\r\\n\n"
    );
    assert_eq!(render_payload("", b"tail "), "tail\\x20\n");
    assert_eq!(
        render_message("S: ", b"HTTP/1.1 200 OK\r\n\r\n", b"hi", 2),
        "S: HTTP/1.1 200 OK\\r\\n\nS: \\r\\n\nS: hi\n"
    );
    assert_eq!(escape_inline(b"a\r\nb "), "a\\r\\nb\\x20");
    assert_eq!(escape_inline(b"<any>"), "<any>");
}

/// Byte strings that lean towards what the format treats specially.
fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        4 => any::<u8>().prop_map(|b| vec![b]),
        2 => prop::sample::select(vec![
            &b"\r\n"[..], b"\n", b" ", b"\\", b"\\x", b"<", b">", b"<any>", b"<close>",
            b"<lost>", b"<wait ", b"<wait 5ms>", b"<body ", b"\t", b"#", b"C: ", b":",
        ])
        .prop_map(|s| s.to_vec()),
        1 => "[ -~]{1,8}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

#[derive(Debug, Clone)]
enum Step {
    Bytes(Tag, Vec<u8>),
    Any(Tag),
    Body(Tag, Vec<u8>),
    Event(Tag, Event),
}

fn step(udp: bool) -> impl Strategy<Value = Step> {
    let tag = prop::sample::select(Tag::ALL.to_vec());
    let event = prop_oneof![
        Just(Event::Close),
        any::<u64>().prop_map(|millis| Event::Wait { millis }),
        Just(if udp { Event::Lost } else { Event::Close }),
    ];
    prop_oneof![
        6 => (tag.clone(), tricky_bytes()).prop_map(|(t, b)| Step::Bytes(t, b)),
        1 => tag.clone().prop_map(Step::Any),
        1 => (tag.clone(), tricky_bytes()).prop_map(|(t, b)| Step::Body(t, b)),
        2 => (tag, event).prop_map(|(t, e)| Step::Event(t, e)),
    ]
}

fn build(transport: Transport, steps: &[Step], metadata: &[(String, String)]) -> Trace {
    let mut trace = Trace::new(transport);
    for (key, value) in metadata {
        trace.set_meta(key, value).unwrap();
    }
    for step in steps {
        match step {
            Step::Bytes(tag, bytes) => trace.push_bytes(*tag, bytes),
            Step::Any(tag) => trace.push_piece(*tag, Piece::Any),
            Step::Body(tag, bytes) => trace.push_body(*tag, bytes, Some(0)),
            Step::Event(tag, event) => trace.push_event(*tag, *event),
        }
    }
    trace
}

fn metadata() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-su-z][a-z0-9_-]{0,6}", any::<String>(), 0..4).prop_map(|map| {
        map.into_iter()
            .filter(|(k, _)| k != "now" && k != "seed")
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tcp_traces_round_trip(steps in prop::collection::vec(step(false), 0..12), meta in metadata()) {
        assert_round_trip(&build(Transport::Tcp, &steps, &meta));
    }

    #[test]
    fn udp_traces_round_trip(steps in prop::collection::vec(step(true), 0..12), meta in metadata()) {
        assert_round_trip(&build(Transport::Udp, &steps, &meta));
    }

    #[test]
    fn random_buffers_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let trace = tcp(&[(Tag::Client, &bytes), (Tag::Server, &bytes)]);
        assert_round_trip(&trace);
        prop_assert_eq!(trace.stream(Tag::Client).unwrap(), bytes.clone());
        // The display helper is exactly the trace's own lines.
        prop_assert_eq!(render_payload("C: ", &bytes), tcp(&[(Tag::Client, &bytes)]).render());
    }

    #[test]
    fn rendered_lines_are_one_wire_line_each(bytes in tricky_bytes()) {
        let text = render_payload("C: ", &bytes);
        for line in text.lines() {
            prop_assert!(line.starts_with("C: "));
            prop_assert!(line.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{:?}", line);
            prop_assert!(!line.ends_with(' '), "{:?}", line);
            let body = &line[3..];
            // Only the last line of a stream may end without \n.
            if let Some(pos) = body.find("\\n") {
                let escaped_backslash = body[..pos].chars().rev().take_while(|c| *c == '\\').count() % 2 == 1;
                prop_assert!(escaped_backslash || pos + 2 == body.len(), "{:?}", line);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics_and_what_parses_is_stable(text in "(([#CSPO>:< a-z\\\\]|\\\\x[0-9a-f]{2}|<any>|<close>|<wait [0-9]+ms>|\\n){0,40})") {
        if let Ok(trace) = Trace::parse(&text) {
            let rendered = trace.render();
            prop_assert_eq!(Trace::parse(&rendered).unwrap(), trace.clone());
        }
    }
}
