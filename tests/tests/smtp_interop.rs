//! Interop with real SMTP peers on 127.0.0.1, each started on a port the system picks and reaped
//! when the test ends (installed by `scripts/install-test-deps.sh`):
//!
//! - our client (`smtp send`, run in-process from its command line) against aiosmtpd with
//!   STARTTLS and AUTH PLAIN / LOGIN: the stored message must be the built message byte for
//!   byte, lines starting with `.` included, and a 300 KiB binary attachment must decode to the
//!   same bytes;
//! - Python's smtplib against our sink (`smtp serve`): STARTTLS with the sink's generated
//!   certificate, AUTH PLAIN and AUTH LOGIN with an initial response, the message stored exactly;
//! - swaks against our sink: STARTTLS, AUTH LOGIN and PLAIN, the message stored as swaks sent it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use pretty_assertions::assert_eq;
use smtp::cli::{Cli, CommandKind};
use smtp::serve::{Sink, SinkConfig};
use wire::smtp::mime::Part;
use wire::smtp::{Credentials, ServerConfig};

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../smtp/interop")
}

/// A peer process, killed and waited for when dropped (so none outlives its test).
struct Peer {
    child: Child,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn missing(tool: &str) -> String {
    format!("{tool} is needed for this interop test: run `bash scripts/install-test-deps.sh`")
}

/// The python3 that has aiosmtpd: the virtual environment scripts/install-test-deps.sh makes
/// in .deps/venv when the python3 on PATH cannot import Debian's python3-aiosmtpd, else that one.
fn python_with_aiosmtpd() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.deps/venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Starts aiosmtpd through the controller script and returns it with its port (read from its
/// `ready PORT` line: no sleeping, no fixed port).
fn start_aiosmtpd(store: &Path, cert: &Path, key: &Path) -> (Peer, u16) {
    let mut child = Command::new(python_with_aiosmtpd())
        .arg(interop_dir().join("aiosmtpd_sink.py"))
        .args(["--store"])
        .arg(store)
        .args(["--cert"])
        .arg(cert)
        .args(["--key"])
        .arg(key)
        .args(["--user", "alice", "--password", "s3cret"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", missing("python3")));
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let Some(port) = line
        .strip_prefix("ready ")
        .and_then(|p| p.trim().parse().ok())
    else {
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        panic!(
            "aiosmtpd did not start ({}): {}",
            missing("aiosmtpd (PyPI)"),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let peer = Peer { child };
    (peer, port)
}

/// Waits for the `n`th message aiosmtpd stores (it renames the file into place when whole).
fn stored_by_aiosmtpd(store: &Path, n: usize) -> (Vec<u8>, String) {
    let eml = store.join(format!("{n}.eml"));
    // The client got aiosmtpd's 250 only after handle_DATA returned, so the file is there.
    let message = std::fs::read(&eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
    let envelope = std::fs::read_to_string(store.join(format!("{n}.envelope"))).unwrap();
    (message, envelope)
}

/// A certificate aiosmtpd can serve and our client can trust with --ca.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert_pem, key_pem) = smtp::tls::self_signed_pem("localhost").unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    (cert, key)
}

/// 300 KiB that do not compress: every byte value, in an order that repeats rarely.
fn binary_attachment() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..300 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Runs `smtp send ARGS` in this process and returns the message it built, its -v output and
/// the result.
fn smtp_send(
    args: &[&str],
) -> (
    Vec<u8>,
    String,
    Result<wire::smtp::Delivery, smtp::send::SendFailure>,
) {
    let cli = Cli::parse_args(["smtp", "send"].into_iter().chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"));
    let CommandKind::Send(send_args) = cli.command else {
        unreachable!()
    };
    let options = smtp::send::options_from_args(&send_args).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    let result = smtp::send::send(&options, &mut out);
    (
        options.message.clone(),
        String::from_utf8(out).unwrap(),
        result,
    )
}

fn our_client_against_aiosmtpd(auth: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let store = dir.path().join("store");
    let (_aiosmtpd, port) = start_aiosmtpd(&store, &cert, &key);
    let attachment = dir.path().join("noise.bin");
    let data = binary_attachment();
    std::fs::write(&attachment, &data).unwrap();
    let body = dir.path().join("body.txt");
    std::fs::write(
        &body,
        ".a line that starts with a dot\n..and two\n.\nnot the end\n",
    )
    .unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "s3cret\n").unwrap();
    let server = format!("127.0.0.1:{port}");
    let (message, verbose, result) = smtp_send(&[
        "--server",
        &server,
        "--tls",
        "starttls",
        "--ca",
        cert.to_str().unwrap(),
        "--auth",
        auth,
        "--user",
        "alice",
        "--password-file",
        password.to_str().unwrap(),
        "--from",
        "Zoë <zoe@example.org>",
        "--to",
        "bob@example.org",
        "--cc",
        "carol@example.org",
        "--bcc",
        "dave@example.org",
        "--subject",
        "interop: Grüße",
        "--body-file",
        body.to_str().unwrap(),
        "--attach",
        attachment.to_str().unwrap(),
        "--header",
        "X-Lab: smtp",
        "-v",
    ]);
    let delivery = result.unwrap_or_else(|e| panic!("exit {}: {e}\n{verbose}", e.exit_code));
    assert_eq!(delivery.accepted.len(), 3);
    assert!(delivery.encrypted);
    assert_eq!(
        delivery.authenticated_with,
        Some(if auth == "login" { "LOGIN" } else { "PLAIN" })
    );

    let (stored, envelope) = stored_by_aiosmtpd(&store, 1);
    assert!(
        stored == message,
        "aiosmtpd stored {} bytes, we built {}",
        stored.len(),
        message.len()
    );
    assert_eq!(
        envelope,
        "from: zoe@example.org\nto: bob@example.org\nto: carol@example.org\nto: dave@example.org\nauth: alice\ntls: yes\n"
    );
    let part = Part::parse(&stored).unwrap();
    assert_eq!(
        part.header_text("Subject").as_deref(),
        Some("interop: Grüße")
    );
    assert_eq!(part.header("X-Lab"), Some("smtp"));
    assert!(
        part.header("Bcc").is_none(),
        "Bcc never appears in the header"
    );
    let leaves = part.leaves();
    assert_eq!(
        String::from_utf8_lossy(&leaves[0].decoded_body().unwrap()),
        ".a line that starts with a dot\r\n..and two\r\n.\r\nnot the end\r\n"
    );
    assert_eq!(leaves[1].file_name().as_deref(), Some("noise.bin"));
    assert!(
        leaves[1].decoded_body().unwrap() == data,
        "the 300 KiB attachment decodes to the same bytes"
    );

    // -v: a trace with the encrypted part marked, the message elided, no credentials.
    assert!(
        verbose.contains("S: 220 Ready to start TLS\\r\\n\n# TLS established"),
        "{verbose}"
    );
    assert!(
        verbose.contains("<body "),
        "a 400 KiB message is elided with -v"
    );
    assert!(!verbose.contains(&wire::base64::encode(b"\0alice\0s3cret")));
    assert!(!verbose.contains(&wire::base64::encode(b"s3cret")));
    assert!(!verbose.contains("s3cret"));
}

#[test]
fn our_client_against_aiosmtpd_starttls_auth_plain() {
    our_client_against_aiosmtpd("plain");
}

#[test]
fn our_client_against_aiosmtpd_starttls_auth_login() {
    our_client_against_aiosmtpd("login");
}

#[test]
fn our_client_against_aiosmtpd_wrong_password_is_exit_28() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let (_aiosmtpd, port) = start_aiosmtpd(&dir.path().join("store"), &cert, &key);
    let password = dir.path().join("password");
    std::fs::write(&password, "wrong").unwrap();
    let server = format!("127.0.0.1:{port}");
    let (_, _, result) = smtp_send(&[
        "--server",
        &server,
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
    ]);
    let failure = result.unwrap_err();
    assert_eq!(failure.exit_code, 28, "{failure}");
}

/// Our sink with STARTTLS (generated certificate), AUTH for alice, a Maildir, and its summary
/// lines collected.
fn start_sink(maildir: &Path) -> (Sink, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let log_lines = lines.clone();
    let mut session = ServerConfig::new("sink.test");
    session.credentials = vec![Credentials {
        user: "alice".into(),
        password: "s3cret".into(),
    }];
    session.require_tls = true;
    let sink = Sink::start(SinkConfig {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        smtps_port: None,
        maildir: Some(maildir.to_owned()),
        tls: Some(smtp::tls::generated_server_identity("localhost").unwrap()),
        session,
        verbose: false,
        log: Arc::new(move |line: &str| log_lines.lock().unwrap().push(line.to_owned())),
    })
    .unwrap();
    (sink, lines)
}

/// The one message in the Maildir's new/ folder, with its envelope.
fn only_message(maildir: &Path) -> (Vec<u8>, String) {
    let entries: Vec<PathBuf> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let envelope =
        smtp::maildir::envelope_path(&entries[0]).expect("an envelope beside the message");
    assert!(
        std::fs::read_dir(maildir.join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "tmp/ is left empty"
    );
    (
        std::fs::read(&entries[0]).unwrap(),
        std::fs::read_to_string(envelope).unwrap(),
    )
}

fn smtplib_against_our_sink(mechanism: &str) {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let (sink, lines) = start_sink(&maildir);
    let cafile = dir.path().join("sink-cert.pem");
    std::fs::write(&cafile, sink.certificate_pem().unwrap()).unwrap();
    let sent = dir.path().join("sent.eml");
    let output = Command::new("python3")
        .arg(interop_dir().join("smtplib_send.py"))
        .args(["--port", &sink.addr().port().to_string(), "--cafile"])
        .arg(&cafile)
        .args([
            "--user",
            "alice",
            "--password",
            "s3cret",
            "--mechanism",
            mechanism,
        ])
        .args(["--attachment-size", "5000", "--out"])
        .arg(&sent)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", missing("python3")));
    assert!(
        output.status.success(),
        "smtplib failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("auth 235"));
    let (stored, envelope) = only_message(&maildir);
    let sent = std::fs::read(&sent).unwrap();
    assert!(
        stored == sent,
        "stored:\n{}\nsent:\n{}",
        String::from_utf8_lossy(&stored),
        String::from_utf8_lossy(&sent)
    );
    assert!(
        envelope.contains("from: <alice@example.org>\nto: <bob@example.org>\n"),
        "{envelope}"
    );
    assert!(envelope.contains("tls: yes\nauth: alice\n"), "{envelope}");
    assert!(
        envelope.contains(&format!("parameters: size={}\n", sent.len())),
        "{envelope}"
    );
    let part = Part::parse(&stored).unwrap();
    assert_eq!(part.leaves()[1].decoded_body().unwrap().len(), 5000);
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("From: <alice@example.org>  To: <bob@example.org>")
            && lines[0].contains(", TLS, user alice)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("\"smtplib interop, Grüße\""),
        "{}",
        lines[0]
    );
    sink.shutdown();
}

#[test]
fn smtplib_against_our_sink_auth_plain() {
    smtplib_against_our_sink("PLAIN");
}

#[test]
fn smtplib_against_our_sink_auth_login_with_initial_response() {
    smtplib_against_our_sink("LOGIN");
}

fn swaks_against_our_sink(mechanism: &str) {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let (sink, _) = start_sink(&maildir);
    let data =
        b"From: swaks@example.org\r\nSubject: swaks interop\r\n\r\n.dot line\r\n..two\r\nend\r\n";
    let data_file = dir.path().join("data.eml");
    std::fs::write(&data_file, data).unwrap();
    let output = Command::new("swaks")
        .args(["--server", &sink.addr().to_string()])
        .args([
            "--from",
            "swaks@example.org",
            "--to",
            "bob@example.org,carol@example.org",
        ])
        .args([
            "--tls",
            "--auth",
            mechanism,
            "--auth-user",
            "alice",
            "--auth-password",
            "s3cret",
        ])
        .arg("--data")
        .arg(format!("@{}", data_file.display()))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", missing("swaks")));
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "swaks exit {:?}:\n{transcript}",
        output.status.code()
    );
    assert!(
        !transcript.contains("TLS not available"),
        "{}",
        missing("swaks' Net::SSLeay")
    );
    let (stored, envelope) = only_message(&maildir);
    // swaks ends the data with one more CRLF even when it already ends in one.
    let mut expected = data.to_vec();
    expected.extend_from_slice(b"\r\n");
    assert_eq!(
        String::from_utf8_lossy(&stored),
        String::from_utf8_lossy(&expected)
    );
    assert!(
        envelope.contains("to: <bob@example.org>\nto: <carol@example.org>\n"),
        "{envelope}"
    );
    assert!(envelope.contains("tls: yes\nauth: alice\n"), "{envelope}");
    sink.shutdown();
}

#[test]
fn swaks_against_our_sink_auth_login() {
    swaks_against_our_sink("LOGIN");
}

#[test]
fn swaks_against_our_sink_auth_plain() {
    swaks_against_our_sink("PLAIN");
}

#[test]
fn swaks_is_refused_without_tls_when_the_sink_requires_it() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, _) = start_sink(&dir.path().join("maildir"));
    let output = Command::new("swaks")
        .args([
            "--server",
            &sink.addr().to_string(),
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", missing("swaks")));
    // swaks' exit code for a refused MAIL FROM is 23, like ours.
    assert_eq!(
        output.status.code(),
        Some(23),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stdout)
        .contains("530 5.7.0 Must issue a STARTTLS command first"));
    sink.shutdown();
}
