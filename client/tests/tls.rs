//! `https://` against a local rustls server with a throwaway certificate for `localhost`:
//! refused as untrusted (exit 60) by default, accepted with `--cacert` (its certificate) and
//! with `-k` (which says it did not check).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const RESPONSE: &[u8] = b"\
    HTTP/1.1 200 OK\r\n\
    Content-Length: 7\r\n\
    Connection: close\r\n\
    \r\n\
    secret\n";

/// Serves one TLS connection on 127.0.0.1 and answers one request; returns the port.
fn tls_server(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (u16, std::thread::JoinHandle<()>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
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

#[test]
fn untrusted_then_cacert_then_insecure() {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = generated.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der()));
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("lab.pem");
    std::fs::write(&pem, generated.cert.pem()).unwrap();

    let (port, server) = tls_server(cert.clone(), key.clone_key());
    let url = format!("https://localhost:{port}/");
    let (code, out, err) = client::run_captured(&["--color", "never", &url]);
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, client::ExitCode::PeerCertificate, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("--cacert") && err.contains("-k"), "{err}");
    server.join().unwrap();

    let (port, server) = tls_server(cert.clone(), key.clone_key());
    let url = format!("https://localhost:{port}/");
    let (code, out, err) = client::run_captured(&["--cacert", pem.to_str().unwrap(), &url]);
    assert_eq!(
        code,
        client::ExitCode::Ok,
        "{}",
        String::from_utf8_lossy(&err)
    );
    assert_eq!(out, b"secret\n");
    server.join().unwrap();

    let (port, server) = tls_server(cert, key);
    let (code, out, err) = client::run_captured(&[
        "-k",
        "-v",
        "--color",
        "never",
        "--tls",
        "GET",
        "localhost",
        &port.to_string(),
        "/",
    ]);
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, client::ExitCode::Ok, "{err}");
    assert_eq!(out, b"secret\n");
    assert!(err.contains(", TLS") && err.contains("DANGER: -k"), "{err}");
    server.join().unwrap();
}
