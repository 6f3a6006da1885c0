//! Test support (the `test-support` feature, which the client's and smtp's tests turn on): the
//! certificates a learner's lab server presents, written to PEM files in a folder the test owns,
//! and a TLS server on loopback that presents one.
//!
//! - [`self_signed`]: what `openssl req -x509 -newkey rsa:2048 -nodes ...` makes, self-signed
//!   and marked CA:TRUE. It is made by openssl itself where openssl is installed, so the tests
//!   meet the certificate a learner has; elsewhere rcgen makes the same kind.
//! - [`signed_by_a_ca`]: a lab's own CA and a server certificate it signed.
//! - [`serve_one_request`]: one TLS connection on 127.0.0.1:0 with a given certificate.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A self-signed certificate and key in PEM files `DIR/STEM.pem` and `DIR/STEM-key.pem`, valid
/// for the host name `dns` and the address `ip`, made as a learner makes one:
/// `openssl req -x509 -newkey rsa:2048 -nodes ...` (CA:TRUE). Where openssl is missing, rcgen
/// makes the same kind: self-signed, CA:TRUE. Panics (a test failing) when it cannot.
pub fn self_signed(dir: &Path, stem: &str, dns: &str, ip: &str) -> (PathBuf, PathBuf) {
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
            let pem = std::fs::read_to_string(&cert).expect("openssl wrote the certificate");
            assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
        }
        _ => {
            let mut params =
                rcgen::CertificateParams::new(vec![dns.to_owned()]).expect("a valid host name");
            params.subject_alt_names.push(rcgen::SanType::IpAddress(
                ip.parse().expect("a valid IP address"),
            ));
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let key_pair = rcgen::KeyPair::generate().expect("a new key");
            let made = params.self_signed(&key_pair).expect("a certificate");
            std::fs::write(&cert, made.pem()).expect("writing the certificate");
            std::fs::write(&key, key_pair.serialize_pem()).expect("writing the key");
        }
    }
    (cert, key)
}

/// A CA (its certificate in `DIR/STEM-ca.pem`, its common name "STEM lab CA") and a server
/// certificate for localhost and 127.0.0.1 that it signed (`DIR/STEM.pem`, key in
/// `DIR/STEM-key.pem`), as a lab with its own CA has. Returns the three paths in that order.
pub fn signed_by_a_ca(dir: &Path, stem: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().expect("a new key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{stem} lab CA"));
    let ca = ca_params.self_signed(&ca_key).expect("a CA certificate");
    let key = rcgen::KeyPair::generate().expect("a new key");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("a valid host name");
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .expect("a certificate the CA signed");
    let paths = (
        dir.join(format!("{stem}-ca.pem")),
        dir.join(format!("{stem}.pem")),
        dir.join(format!("{stem}-key.pem")),
    );
    std::fs::write(&paths.0, ca.pem()).expect("writing the CA certificate");
    std::fs::write(&paths.1, cert.pem()).expect("writing the certificate");
    std::fs::write(&paths.2, key.serialize_pem()).expect("writing the key");
    paths
}

/// Serves one TLS connection on 127.0.0.1 (a port of the system's choosing) presenting `certs`
/// with `key`: reads one request head and answers `response`, then closes. A client that refuses
/// the certificate ends the connection, and the thread with it. Returns the port and the thread,
/// which the test joins.
pub fn serve_one_request(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    response: &'static [u8],
) -> (u16, JoinHandle<()>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a certificate that goes with its key");
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("the bound address").port();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("a connection");
        let conn = rustls::ServerConnection::new(Arc::new(config)).expect("a TLS connection");
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => return, // the client refused the certificate
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        tls.write_all(response).expect("writing the response");
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    (port, handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_hold_what_their_names_say() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path(), "lab", "localhost", "127.0.0.1");
        assert_eq!(crate::read_certificates(&cert).unwrap().len(), 1);
        assert!(std::fs::read_to_string(&key)
            .unwrap()
            .contains("PRIVATE KEY"));
        let (ca, cert, key) = signed_by_a_ca(dir.path(), "own");
        assert_eq!(ca, dir.path().join("own-ca.pem"));
        assert_eq!(crate::read_certificates(&ca).unwrap().len(), 1);
        assert_eq!(crate::read_certificates(&cert).unwrap().len(), 1);
        assert!(std::fs::read_to_string(&key)
            .unwrap()
            .contains("PRIVATE KEY"));
    }
}
