//! Which certificates `client` trusts, through the binary: a self-signed certificate made the
//! usual way (`openssl req -x509 ...`, marked CA:TRUE) is accepted with `--cacert` that file,
//! by `https://localhost` and `https://127.0.0.1`; a different certificate, or the same one for
//! another name, still fails with curl's exit 60 (and a file with no certificate is exit 77); a
//! server certificate signed by a CA in the file is accepted too, one signed by another CA is
//! not; `-v` says which roots were used.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const RESPONSE: &[u8] = b"\
    HTTP/1.1 200 OK\r\n\
    Content-Length: 7\r\n\
    Connection: close\r\n\
    \r\n\
    secret\n";

/// A self-signed certificate and key in PEM files, valid for `dns` and `ip`, made as a learner
/// makes one: `openssl req -x509 -newkey rsa:2048 -nodes ...` (CA:TRUE). Where openssl is
/// missing, rcgen makes the same kind: self-signed, CA:TRUE.
fn self_signed(dir: &Path, stem: &str, dns: &str, ip: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", &format!("/CN={dns}")])
        .args(["-addext", &format!("subjectAltName=DNS:{dns},IP:{ip}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match made {
        Ok(out) if out.status.success() => {
            let pem = std::fs::read_to_string(&cert).unwrap();
            assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
        }
        _ => {
            let mut params = rcgen::CertificateParams::new(vec![dns.to_owned()]).unwrap();
            params
                .subject_alt_names
                .push(rcgen::SanType::IpAddress(ip.parse().unwrap()));
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let key_pair = rcgen::KeyPair::generate().unwrap();
            let made = params.self_signed(&key_pair).unwrap();
            std::fs::write(&cert, made.pem()).unwrap();
            std::fs::write(&key, key_pair.serialize_pem()).unwrap();
        }
    }
    (cert, key)
}

/// Serves one TLS connection on 127.0.0.1 with the certificate and key in these files, answers
/// one request; returns the port.
fn tls_server(cert: &Path, key: &Path) -> (u16, std::thread::JoinHandle<()>) {
    let certs = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => return, // the client refused the certificate
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        tls.write_all(RESPONSE).unwrap();
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    (port, handle)
}

/// A CA (its certificate in `STEM-ca.pem`) and a server certificate for localhost and
/// 127.0.0.1 that it signed (`STEM.pem`, key in `STEM-key.pem`), as a lab with its own CA has.
fn signed_by_a_ca(dir: &Path, stem: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{stem} lab CA"));
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
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

fn client(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["--color", "never"])
        .args(args)
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_openssl_self_signed_certificate_is_trusted_with_cacert() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "lab", "localhost", "127.0.0.1");
    let cacert = cert.to_str().unwrap();
    for host in ["localhost", "127.0.0.1"] {
        let (port, server) = tls_server(&cert, &key);
        let out = client(&["-v", "--cacert", cacert, &format!("https://{host}:{port}/")]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{host}: {err}");
        assert_eq!(out.stdout, b"secret\n");
        // -v names the roots: the system store (or the bundled ones) and the --cacert file.
        let roots = err
            .lines()
            .find(|l| l.contains("trusting the "))
            .unwrap_or_else(|| panic!("no roots line in:\n{err}"));
        assert!(
            roots.contains("system store /") || roots.contains("bundled Mozilla roots"),
            "{roots}"
        );
        assert!(
            roots.contains(&format!("and {cacert} (1 certificate")),
            "{roots}"
        );
        server.join().unwrap();
    }
}

#[test]
fn a_different_certificate_or_another_name_is_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (served_cert, served_key) = self_signed(dir.path(), "served", "localhost", "127.0.0.1");
    let (other, _) = self_signed(dir.path(), "other", "localhost", "127.0.0.1");

    // The server's certificate is not the one in --cacert: exit 60, with what to do next.
    let (port, server) = tls_server(&served_cert, &served_key);
    let out = client(&[
        "--cacert",
        other.to_str().unwrap(),
        &format!("https://localhost:{port}/"),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(60), "{err}");
    assert!(out.stdout.is_empty());
    assert!(err.contains("--cacert"), "{err}");
    server.join().unwrap();

    // A pinned certificate still has to name the host: one made for elsewhere.example,
    // presented by the server at localhost, is refused even though it is in --cacert.
    let (elsewhere_cert, elsewhere_key) =
        self_signed(dir.path(), "elsewhere", "elsewhere.example", "192.0.2.1");
    let (port, server) = tls_server(&elsewhere_cert, &elsewhere_key);
    let out = client(&[
        "--cacert",
        elsewhere_cert.to_str().unwrap(),
        &format!("https://localhost:{port}/"),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(60), "{err}");
    assert!(err.contains("localhost"), "{err}");
    server.join().unwrap();

    // A --cacert file that holds no certificate (here the key): curl's exit 77, before any
    // connection is made.
    let out = client(&[
        "--cacert",
        served_key.to_str().unwrap(),
        "https://localhost:9/",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{err}");
    assert!(err.contains("holds no PEM certificate"), "{err}");
}

#[test]
fn without_cacert_the_lab_certificate_is_refused_and_ssl_cert_file_is_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "lab", "localhost", "127.0.0.1");

    let (port, server) = tls_server(&cert, &key);
    let out = client(&["-v", &format!("https://localhost:{port}/")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(60), "{err}");
    assert!(err.contains("trusting the "), "{err}");
    server.join().unwrap();

    // SSL_CERT_FILE names the store, as for curl and OpenSSL, and -v says so. (A store's
    // certificates are roots only, not pinned, so this one is an end-entity certificate that
    // is its own issuer, as rcgen makes by default.)
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (store, store_key) = (
        dir.path().join("store.pem"),
        dir.path().join("store-key.pem"),
    );
    std::fs::write(&store, made.cert.pem()).unwrap();
    std::fs::write(&store_key, made.key_pair.serialize_pem()).unwrap();
    let (port, server) = tls_server(&store, &store_key);
    let out = Command::new(env!("CARGO_BIN_EXE_client"))
        .args([
            "--color",
            "never",
            "-v",
            &format!("https://localhost:{port}/"),
        ])
        .env("SSL_CERT_FILE", &store)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(out.stdout, b"secret\n");
    assert!(
        err.contains(&format!(
            "trusting SSL_CERT_FILE={} (1 root)",
            store.display()
        )),
        "{err}"
    );
    server.join().unwrap();
}

#[test]
fn a_certificate_signed_by_a_ca_in_cacert_is_trusted_and_another_ca_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = signed_by_a_ca(dir.path(), "lab");
    let (other_ca, _, _) = signed_by_a_ca(dir.path(), "other");

    // The server presents only its own certificate; the chain ends at the CA in --cacert.
    let (port, server) = tls_server(&cert, &key);
    let out = client(&[
        "-v",
        "--cacert",
        ca.to_str().unwrap(),
        &format!("https://localhost:{port}/"),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(out.stdout, b"secret\n");
    assert!(
        err.contains(&format!("and {} (1 certificate", ca.display())),
        "{err}"
    );
    server.join().unwrap();

    // Another CA in --cacert: curl's exit 60.
    let (port, server) = tls_server(&cert, &key);
    let out = client(&[
        "--cacert",
        other_ca.to_str().unwrap(),
        &format!("https://localhost:{port}/"),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(60), "{err}");
    assert!(out.stdout.is_empty());
    server.join().unwrap();
}
