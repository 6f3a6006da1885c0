//! Which certificates `smtp send` trusts, through the binary: a sink whose certificate is made
//! the usual way (`openssl req -x509 ...`, marked CA:TRUE) is trusted with `--ca` that file,
//! over STARTTLS and implicit TLS, as swaks trusts it; a different certificate still fails with
//! exit 29; a certificate signed by a CA in the file is trusted too, one signed by another CA is
//! not; `-v` says which roots were used.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use smtp::serve::{Sink, SinkConfig};
use trust::test_support::{self_signed, signed_by_a_ca};
use wire::smtp::ServerConfig;

/// A sink on 127.0.0.1:0 (STARTTLS and implicit TLS) with the certificate in these files.
struct TestSink {
    sink: Option<Sink>,
    _maildir: tempfile::TempDir,
}

impl TestSink {
    fn start(cert: &Path, key: &Path) -> TestSink {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::start(SinkConfig {
            bind: "127.0.0.1".parse().unwrap(),
            port: 0,
            smtps_port: Some(0),
            maildir: Some(dir.path().join("maildir")),
            tls: Some(smtp::tls::server_identity_from_files(cert, key).unwrap()),
            session: ServerConfig::new("sink.test"),
            verbose: false,
            log: Arc::new(|_: &str| {}),
        })
        .unwrap();
        TestSink {
            sink: Some(sink),
            _maildir: dir,
        }
    }

    fn sink(&self) -> &Sink {
        self.sink.as_ref().unwrap()
    }
}

impl Drop for TestSink {
    fn drop(&mut self) {
        if let Some(sink) = self.sink.take() {
            sink.shutdown();
        }
    }
}

fn send(server: &str, tls: &str, ca: &Path, verbose: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_smtp"));
    command
        .args(["send", "--server", server, "--tls", tls, "--ca"])
        .arg(ca)
        .args(["--from", "a@example.org", "--to", "b@example.org"])
        .env_remove("SSL_CERT_FILE");
    if verbose {
        command.arg("-v");
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_openssl_self_signed_certificate_is_trusted_with_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "sink", "localhost", "127.0.0.1");
    let sink = TestSink::start(&cert, &key);

    let server = format!("localhost:{}", sink.sink().addr().port());
    let out = send(&server, "starttls", &cert, true);
    let trace = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{trace}{}", text(&out.stderr));
    assert!(trace.contains("# TLS established"), "{trace}");
    // -v names the roots: the system store (or the bundled ones) and the --ca file.
    let roots = trace
        .lines()
        .find(|l| l.starts_with("# trusting "))
        .unwrap_or_else(|| panic!("no roots line in:\n{trace}"));
    assert!(
        roots.contains("system store /") || roots.contains("bundled Mozilla roots"),
        "{roots}"
    );
    assert!(
        roots.contains(&format!("and {} (1 certificate", cert.display())),
        "{roots}"
    );

    let smtps = sink.sink().smtps_addr().unwrap().to_string();
    let out = send(&smtps, "implicit", &cert, false);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_different_certificate_is_still_refused_with_exit_29() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "sink", "localhost", "127.0.0.1");
    let (other, _) = self_signed(dir.path(), "other", "localhost", "127.0.0.1");
    let sink = TestSink::start(&cert, &key);

    let server = format!("localhost:{}", sink.sink().addr().port());
    let out = send(&server, "starttls", &other, false);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(29), "{err}");
    assert!(
        err.contains("the server's certificate is not the one in --ca"),
        "{err}"
    );
    let smtps = sink.sink().smtps_addr().unwrap().to_string();
    let out = send(&smtps, "implicit", &other, false);
    assert_eq!(out.status.code(), Some(29), "{}", text(&out.stderr));
}

#[test]
fn a_certificate_signed_by_a_ca_in_the_file_is_trusted_and_another_ca_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = signed_by_a_ca(dir.path(), "lab");
    let (other_ca, _, _) = signed_by_a_ca(dir.path(), "other");
    let sink = TestSink::start(&cert, &key);

    let server = format!("localhost:{}", sink.sink().addr().port());
    let out = send(&server, "starttls", &ca, true);
    let trace = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{trace}{}", text(&out.stderr));
    assert!(trace.contains("# TLS established"), "{trace}");
    let out = send(&server, "starttls", &other_ca, false);
    assert_eq!(out.status.code(), Some(29), "{}", text(&out.stderr));
}
