//! Which certificates `smtp send` trusts, through the binary: a sink whose certificate is made
//! the usual way (`openssl req -x509 ...`, marked CA:TRUE) is trusted with `--ca` that file,
//! over STARTTLS and implicit TLS, as swaks trusts it; a different certificate still fails with
//! exit 29; a certificate signed by a CA in the file is trusted too, one signed by another CA is
//! not; `-v` says which roots were used.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use smtp::serve::{Sink, SinkConfig};
use wire::smtp::ServerConfig;

/// A self-signed certificate and key in PEM files for localhost and 127.0.0.1, made as a
/// learner makes one: `openssl req -x509 -newkey rsa:2048 -nodes ...` (CA:TRUE). Where
/// openssl is missing, rcgen makes the same kind: self-signed, CA:TRUE.
fn self_signed(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !made.is_ok_and(|out| out.status.success()) {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key_pair = rcgen::KeyPair::generate().unwrap();
        let made = params.self_signed(&key_pair).unwrap();
        std::fs::write(&cert, made.pem()).unwrap();
        std::fs::write(&key, key_pair.serialize_pem()).unwrap();
    }
    (cert, key)
}

/// A CA (its certificate in `STEM-ca.pem`) and a sink certificate for localhost that it signed
/// (`STEM.pem`, key in `STEM-key.pem`).
fn signed_by_a_ca(dir: &Path, stem: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{stem} lab CA"));
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let paths = (
        dir.join(format!("{stem}-ca.pem")),
        dir.join(format!("{stem}.pem")),
        dir.join(format!("{stem}-key.pem")),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

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
    let (cert, key) = self_signed(dir.path(), "sink");
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
    let (cert, key) = self_signed(dir.path(), "sink");
    let (other, _) = self_signed(dir.path(), "other");
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
