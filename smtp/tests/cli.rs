//! The `smtp` program as a user runs it: help, exit codes like swaks', `--kr`, `--raw`, `-v`,
//! passwords, `smtp show --extract`, and `smtp serve` as its own process. Sinks run on
//! 127.0.0.1:0, in this process (for settings the command line does not have) or as the binary.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use smtp::serve::{Sink, SinkConfig};
use wire::smtp::{Credentials, ServerConfig};

/// The program with protolab's data folder under target/tmp (where `smtp serve` keeps messages
/// when no --maildir is given), never the user's, and no colour unless a test asks.
fn smtp() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtp"));
    cmd.env(
        "PROTOLAB_DATA_DIR",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/smtp-cli-data"),
    )
    .env_remove("NO_COLOR");
    cmd
}

fn run(args: &[&str]) -> Output {
    smtp().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct TestSink {
    sink: Option<Sink>,
    dir: tempfile::TempDir,
}

impl TestSink {
    fn start(configure: impl FnOnce(&mut ServerConfig), tls: bool) -> TestSink {
        let dir = tempfile::tempdir().unwrap();
        let mut session = ServerConfig::new("sink.test");
        session.credentials = vec![Credentials {
            user: "alice".into(),
            password: "s3cret".into(),
        }];
        configure(&mut session);
        let sink = Sink::start(SinkConfig {
            bind: "127.0.0.1".parse().unwrap(),
            port: 0,
            smtps_port: tls.then_some(0),
            maildir: Some(dir.path().join("maildir")),
            tls: tls.then(|| smtp::tls::generated_server_identity("localhost").unwrap()),
            session,
            verbose: false,
            log: Arc::new(|_: &str| {}),
        })
        .unwrap();
        if let Some(pem) = sink.certificate_pem() {
            std::fs::write(dir.path().join("cert.pem"), pem).unwrap();
        }
        TestSink {
            sink: Some(sink),
            dir,
        }
    }

    fn server(&self) -> String {
        self.sink.as_ref().unwrap().addr().to_string()
    }

    fn smtps(&self) -> String {
        self.sink
            .as_ref()
            .unwrap()
            .smtps_addr()
            .unwrap()
            .to_string()
    }

    fn cert(&self) -> String {
        self.dir.path().join("cert.pem").display().to_string()
    }

    fn file(&self, name: &str, content: &[u8]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    fn messages(&self) -> Vec<PathBuf> {
        let new = self.dir.path().join("maildir/new");
        let mut found: Vec<PathBuf> = std::fs::read_dir(new)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        found.sort();
        found
    }
}

impl Drop for TestSink {
    fn drop(&mut self) {
        if let Some(sink) = self.sink.take() {
            sink.shutdown();
        }
    }
}

#[test]
fn help_teaches_with_examples_and_version_works() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("send") && text(&out.stdout).contains("serve"));
    let out = run(&["send", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("Examples:") && help.contains("--gmail") && help.contains("Exit codes"),
        "{help}"
    );
    assert!(text(&run(&["serve", "--help"]).stdout).contains("Examples:"));
    assert!(text(&run(&["show", "--help"]).stdout).contains("--extract"));
    let out = run(&["--version"]);
    assert!(out.status.success() && text(&out.stdout).starts_with("smtp "));
}

#[test]
fn bad_arguments_exit_1_and_say_what_to_do() {
    let out = run(&["send", "--bogus"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["send", "--gmail", "--to", "b@example.org"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--gmail needs --from"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["send", "--server", "127.0.0.1:9", "--from", "a@example.org"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("at least one recipient"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["send", "--from", "a@example.org", "--to", "not-an-address"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no '@'"),
        "{}",
        text(&out.stderr)
    );
    // A CR or LF in a header value would add header fields of its own.
    let out = run(&[
        "send",
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--subject",
        "hi\r\nBcc: all@example.org",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("header injection"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&[
        "send",
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--attach",
        "/no/such/file",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read attachment /no/such/file"));
    // There is no plain --password flag: passwords never go on a command line.
    assert_eq!(run(&["send", "--password", "x"]).status.code(), Some(1));
}

#[test]
fn cannot_connect_is_exit_2() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let out = run(&[
        "send",
        "--server",
        &format!("127.0.0.1:{port}"),
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("smtp serve"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_sender_defaults_to_user_at_host_like_swaks() {
    let sink = TestSink::start(|_| {}, false);
    let out = smtp()
        .args([
            "send",
            "--server",
            &sink.server(),
            "--to",
            "b@example.org",
            "--body",
            "hi",
        ])
        .env("USER", "learner")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let envelope = smtp::maildir::envelope_path(&sink.messages()[0]).unwrap();
    let envelope = std::fs::read_to_string(envelope).unwrap();
    assert!(envelope.starts_with("from: <learner@"), "{envelope}");
}

#[test]
fn delivers_to_the_sink_and_prints_one_line() {
    let sink = TestSink::start(|_| {}, false);
    let out = run(&[
        "send",
        "--server",
        &sink.server(),
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--body",
        "hi",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("delivered: 250 2.0.0 Ok: queued as "),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1);
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn kr_sends_the_lab_skeleton_byte_for_byte() {
    let sink = TestSink::start(|_| {}, false);
    let out = run(&["send", "--kr", "--server", &sink.server(), "-v"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let trace = text(&out.stdout);
    let conversation: Vec<&str> = trace.lines().filter(|l| l.starts_with("C: ")).collect();
    assert_eq!(
        conversation,
        [
            "C: HELO Alice\\r\\n",
            "C: MAIL FROM:<alice@crepes.fr>\\r\\n",
            "C: RCPT TO:<bob@hamburger.edu>\\r\\n",
            "C: DATA\\r\\n",
            "C: \\r\\n",
            "C:  I love computer networks!\\r\\n",
            "C: .\\r\\n",
            "C: QUIT\\r\\n",
            "C: <close>",
        ]
    );
    // The -v output is itself a trace file.
    let parsed = wire::trace::Trace::parse(&trace).unwrap();
    assert_eq!(
        parsed.title(),
        Some(format!("smtp send to {}", sink.server()).as_str())
    );
    let stored = std::fs::read(&sink.messages()[0]).unwrap();
    assert_eq!(stored, wire::smtp::message::LAB_MESSAGE);
}

#[test]
fn raw_sends_the_file_exactly() {
    let sink = TestSink::start(|_| {}, false);
    let raw = b"From: raw@example.org\r\nSubject: raw\r\n\r\n.starts with a dot\r\n\xe9 8-bit\r\n";
    let file = sink.file("raw.eml", raw);
    let out = run(&[
        "send",
        "--server",
        &sink.server(),
        "--from",
        "raw@example.org",
        "--to",
        "b@example.org",
        "--raw",
        &file,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&sink.messages()[0]).unwrap(), raw);
}

#[test]
fn starttls_auth_and_credentials_hidden_in_verbose_output() {
    let sink = TestSink::start(|_| {}, true);
    let password = sink.file("password", b"s3cret\n");
    for auth in ["plain", "login"] {
        let out = run(&[
            "send",
            "--server",
            &sink.server(),
            "--tls",
            "starttls",
            "--ca",
            &sink.cert(),
            "--auth",
            auth,
            "--user",
            "alice",
            "--password-file",
            &password,
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "-v",
        ]);
        let trace = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{trace}{}", text(&out.stderr));
        assert!(
            trace.contains("S: 220 2.0.0 Ready to start TLS\\r\\n\n# TLS established (TLSv1.3"),
            "{trace}"
        );
        assert!(trace.contains("S: 235 2.7.0 Authentication successful"));
        assert!(!trace.contains("s3cret") && !trace.contains(&wire::base64::encode(b"s3cret")));
        assert!(!trace.contains(&wire::base64::encode(b"\0alice\0s3cret")));
    }
}

#[test]
fn implicit_tls_and_the_password_from_stdin() {
    let sink = TestSink::start(|_| {}, true);
    let mut child = smtp()
        .args([
            "send",
            "--server",
            &sink.smtps(),
            "--tls",
            "implicit",
            "--ca",
            &sink.cert(),
            "--user",
            "alice",
        ])
        .args(["--from", "a@example.org", "--to", "b@example.org"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let envelope = smtp::maildir::envelope_path(&sink.messages()[0]).unwrap();
    assert!(std::fs::read_to_string(envelope)
        .unwrap()
        .contains("tls: yes\nauth: alice\n"));
}

#[test]
fn exit_codes_for_each_failing_step() {
    let password = |sink: &TestSink, p: &str| sink.file("password", p.as_bytes());
    // 28: a wrong password.
    let sink = TestSink::start(|_| {}, true);
    let file = password(&sink, "wrong");
    let out = run(&[
        "send",
        "--server",
        &sink.server(),
        "--tls",
        "starttls",
        "--ca",
        &sink.cert(),
        "--user",
        "alice",
        "--password-file",
        &file,
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
    ]);
    assert_eq!(out.status.code(), Some(28), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("535 5.7.8"));
    // 28: credentials over plain TCP are refused before they are sent.
    let out = run(&[
        "send",
        "--server",
        &sink.server(),
        "--tls",
        "none",
        "--user",
        "alice",
        "--password-file",
        &file,
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
    ]);
    assert_eq!(out.status.code(), Some(28));
    assert!(
        text(&out.stderr).contains("--allow-plaintext-auth"),
        "{}",
        text(&out.stderr)
    );
    // 29: the sink's certificate is not trusted without --ca.
    let out = run(&[
        "send",
        "--server",
        &sink.server(),
        "--tls",
        "starttls",
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
    ]);
    assert_eq!(out.status.code(), Some(29));
    assert!(
        text(&out.stderr).contains("--ca CERT.pem"),
        "{}",
        text(&out.stderr)
    );
    // 29: STARTTLS wanted, the sink has none.
    let plain = TestSink::start(|_| {}, false);
    let out = run(&[
        "send",
        "--server",
        &plain.server(),
        "--tls",
        "starttls",
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
    ]);
    assert_eq!(out.status.code(), Some(29));
    // 23: MAIL before AUTH where AUTH is required.
    let strict = TestSink::start(|c| c.require_auth = true, false);
    let out = run(&[
        "send",
        "--server",
        &strict.server(),
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
    ]);
    assert_eq!(out.status.code(), Some(23));
    assert!(text(&out.stderr).contains("530 5.7.0 Authentication required"));
    // 24: no recipient accepted.
    let none = TestSink::start(|c| c.max_recipients = 0, false);
    let out = run(&[
        "send",
        "--server",
        &none.server(),
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
    ]);
    assert_eq!(out.status.code(), Some(24));
    // 0 with a warning: one of two recipients refused.
    let one = TestSink::start(|c| c.max_recipients = 1, false);
    let out = run(&[
        "send",
        "--server",
        &one.server(),
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--cc",
        "c@example.org",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("warning: the server refused <c@example.org>: 452"),
        "{}",
        text(&out.stderr)
    );
    // 0: --quit-after ehlo says what the server offers.
    let out = run(&[
        "send",
        "--server",
        &sink.server(),
        "--quit-after",
        "ehlo",
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout)
            .contains("the server offers: PIPELINING, SIZE 52428800, 8BITMIME, STARTTLS"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn show_prints_parts_and_extracts_attachments() {
    let sink = TestSink::start(|_| {}, false);
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let attachment = sink.file("data.bin", &data);
    let picture = sink.file("cat.png", b"\x89PNG\r\n\x1a\nnot really");
    let html = sink.file("page.html", b"<p>hi</p>\n");
    let out = run(&[
        "send",
        "--server",
        &sink.server(),
        "--from",
        "Zoë <zoe@example.org>",
        "--to",
        "b@example.org",
        "--subject",
        "Grüße",
        "--body",
        "Hello\n.dot\n",
        "--html-file",
        &html,
        "--attach",
        &attachment,
        "--attach",
        &picture,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stored = sink.messages()[0].display().to_string();
    let extract = sink.dir.path().join("out");
    let out = run(&["show", &stored, "--extract", extract.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for expected in [
        "Envelope:\n  from: <zoe@example.org>\n  to: <b@example.org>\n",
        "From: Zoë <zoe@example.org>\n",
        "Subject: Grüße\n",
        "multipart/mixed",
        "multipart/alternative",
        "text/html; charset=utf-8",
        "application/octet-stream  base64, 10000 bytes  attachment \"data.bin\"",
        "image/png  base64, 18 bytes  attachment \"cat.png\"",
        "--- part 1.1.1 ---\nHello\n.dot\n",
    ] {
        assert!(
            shown.contains(expected),
            "missing {expected:?} in:\n{shown}"
        );
    }
    assert_eq!(std::fs::read(extract.join("data.bin")).unwrap(), data);
    assert_eq!(
        std::fs::read(extract.join("cat.png")).unwrap(),
        b"\x89PNG\r\n\x1a\nnot really"
    );
    // Extracting again never overwrites.
    run(&["show", &stored, "--extract", extract.to_str().unwrap()]);
    assert!(extract.join("data-1.bin").exists());
    assert_eq!(run(&["show", "/no/such/message"]).status.code(), Some(1));
}

/// `smtp serve` as its own process, killed when the test ends.
struct ServeProcess(Child);

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(
    args: &[&str],
) -> (
    ServeProcess,
    SocketAddr,
    BufReader<std::process::ChildStdout>,
) {
    let mut child = smtp()
        .arg("serve")
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{first}"));
    (ServeProcess(child), addr, stdout)
}

#[test]
fn serve_binary_stores_and_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let (_serve, addr, mut stdout) = serve(&[
        "--maildir",
        maildir.to_str().unwrap(),
        "--auth",
        "alice:s3cret",
        "--hostname",
        "sink.test",
    ]);
    let mut banner = String::new();
    for _ in 0..4 {
        stdout.read_line(&mut banner).unwrap();
    }
    assert!(banner.contains("sink-cert.pem"), "{banner}");
    assert!(
        banner.contains("AUTH PLAIN and LOGIN for alice"),
        "{banner}"
    );
    let cert = maildir.join("sink-cert.pem");
    let password = dir.path().join("pw");
    std::fs::write(&password, "s3cret").unwrap();
    let out = run(&[
        "send",
        "--server",
        &addr.to_string(),
        "--tls",
        "starttls",
        "--ca",
        cert.to_str().unwrap(),
        "--user",
        "alice",
        "--password-file",
        password.to_str().unwrap(),
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--subject",
        "summary line",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut summary = String::new();
    while !summary.contains("summary line") {
        summary.clear();
        stdout.read_line(&mut summary).unwrap();
        assert!(!summary.is_empty(), "serve ended without a summary");
    }
    assert!(
        summary.contains("From: <a@example.org>  To: <b@example.org>  Subject: \"summary line\"")
            && summary.contains(", TLS, user alice)"),
        "{summary}"
    );
    assert!(
        summary.contains(&maildir.join("new").display().to_string()),
        "{summary}"
    );
}

#[test]
fn serve_as_the_readme_runs_it_keeps_messages_in_the_data_folder_and_lists_them() {
    let data = tempfile::tempdir().unwrap();
    let mut child = smtp()
        .args(["serve", "-p", "0", "--no-tls"])
        .env("PROTOLAB_DATA_DIR", data.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let _serve = ServeProcess(child);
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first.trim().rsplit(' ').next().unwrap().to_owned();
    let maildir = data.path().join("maildir");
    let mut storing = String::new();
    stdout.read_line(&mut storing).unwrap();
    assert!(
        storing.contains(&format!("storing messages in {}/new", maildir.display())),
        "the folder is printed at start: {storing}"
    );
    let body = "x".repeat(100);
    let out = run(&[
        "send",
        "--server",
        &addr,
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--to",
        "carol@example.org",
        "--subject",
        "lunch?",
        "--body",
        &body,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut line = String::new();
    while !line.contains("From:") {
        line.clear();
        stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "serve ended without listing the message");
    }
    let stored: Vec<PathBuf> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(stored.len(), 1);
    let size = std::fs::metadata(&stored[0]).unwrap().len();
    for field in [
        "From: <alice@example.org>".to_owned(),
        "To: <bob@example.org>, <carol@example.org>".to_owned(),
        "Subject: \"lunch?\"".to_owned(),
        format!("  {size} bytes  "),
        stored[0].display().to_string(),
    ] {
        assert!(line.contains(&field), "{field:?} is not in {line}");
    }
}

#[test]
fn serve_with_no_store_keeps_nothing() {
    let data = tempfile::tempdir().unwrap();
    let (_serve, _addr, mut stdout) = {
        let mut child = smtp()
            .args(["serve", "-p", "0", "--no-tls", "--no-store"])
            .env("PROTOLAB_DATA_DIR", data.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        (ServeProcess(child), (), stdout)
    };
    let mut banner = String::new();
    stdout.read_line(&mut banner).unwrap();
    stdout.read_line(&mut banner).unwrap();
    assert!(
        banner.contains("not storing messages (--no-store)"),
        "{banner}"
    );
    assert!(!data.path().join("maildir").exists());
    let out = run(&["serve", "--no-store", "--maildir", "x"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "--no-store and --maildir conflict"
    );
}

#[test]
fn the_shared_vocabulary_durations_colour_and_version() {
    let out = run(&["--version"]);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("smtp (protolab) {}", env!("CARGO_PKG_VERSION"))
    );
    let send_help = text(&run(&["send", "--help"]).stdout);
    assert!(send_help.contains("[default: 30s]"), "{send_help}");
    assert!(send_help.contains("--color <WHEN>"), "{send_help}");
    let serve_help = text(&run(&["serve", "--help"]).stdout);
    assert!(serve_help.contains("[default: 5m]"), "{serve_help}");
    assert!(serve_help.contains("-p, --port <PORT>"), "{serve_help}");

    // Durations are read as everywhere in protolab: these get past the command line and stop
    // at the missing recipient.
    for timeout in ["1.5s", "500ms", "1m", "10"] {
        let out = run(&["send", "--from", "a@example.org", "--timeout", timeout]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("at least one recipient"),
            "{timeout}: {}",
            text(&out.stderr)
        );
    }
    let out = run(&["send", "--timeout", "soon", "--to", "b@example.org"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("1.5s, 500ms"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["serve", "--idle-timeout", "0s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("zero"), "{}", text(&out.stderr));

    // Colour only when asked into a pipe; never under NO_COLOR or --color never.
    let refusal = |args: &[&str], no_color: bool| {
        let mut cmd = smtp();
        cmd.args(["send", "--from", "a@example.org"]).args(args);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        out.stderr.contains(&0x1b)
    };
    assert!(refusal(&["--color", "always"], false));
    assert!(!refusal(&[], false));
    assert!(!refusal(&["--color", "never"], false));
    assert!(!refusal(&["--color", "auto"], true));
}

#[test]
fn serve_refuses_a_port_in_use_clearly() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run(&["serve", "--port", &port, "--no-tls"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("pick another with --port"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn serve_with_certificate_files_and_an_implicit_tls_port() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, key_pem) = smtp::tls::self_signed_pem("localhost").unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    let maildir = dir.path().join("md");
    let (_serve, addr, mut stdout) = serve(&[
        "--maildir",
        maildir.to_str().unwrap(),
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--smtps-port",
        "0",
        "--require-tls",
    ]);
    let mut tls_line = String::new();
    stdout.read_line(&mut tls_line).unwrap();
    let smtps = tls_line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(
        tls_line.contains("implicit TLS on 127.0.0.1:"),
        "{tls_line}"
    );
    assert!(
        !maildir.join("sink-cert.pem").exists(),
        "given certificates are not written out"
    );
    let send = |server: &str, tls: &str| {
        run(&[
            "send",
            "--server",
            server,
            "--tls",
            tls,
            "--ca",
            cert.to_str().unwrap(),
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
        ])
    };
    let out = send(&smtps, "implicit");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = send(&addr.to_string(), "starttls");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // --require-tls: plain MAIL is refused, exit 23.
    let out = send(&addr.to_string(), "none");
    assert_eq!(out.status.code(), Some(23), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_dir(maildir.join("new")).unwrap().count(), 2);
}
