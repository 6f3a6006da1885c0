//! Which certificates `client` trusts, through the binary: a self-signed certificate made the
//! usual way (`openssl req -x509 ...`, marked CA:TRUE) is accepted with `--cacert` that file,
//! by `https://localhost` and `https://127.0.0.1`; a different certificate, or the same one for
//! another name, still fails with curl's exit 60 (and a file with no certificate is exit 77); a
//! server certificate signed by a CA in the file is accepted too, one signed by another CA is
//! not; `-v` says which roots were used.

use std::path::Path;
use std::process::{Command, Output};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use trust::test_support::{self_signed, serve_one_request, signed_by_a_ca};

const RESPONSE: &[u8] = b"\
    HTTP/1.1 200 OK\r\n\
    Content-Length: 7\r\n\
    Connection: close\r\n\
    \r\n\
    secret\n";

/// Serves one TLS connection on 127.0.0.1 with the certificate and key in these files, answers
/// one request; returns the port.
fn tls_server(cert: &Path, key: &Path) -> (u16, std::thread::JoinHandle<()>) {
    let certs = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    serve_one_request(certs, key, RESPONSE)
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
