//! `https://` against a local rustls server with a throwaway certificate for `localhost`:
//! refused as untrusted (exit 60) by default, accepted with `--cacert` (its certificate) and
//! with `-k` (which says it did not check); through a CONNECT proxy written here (a thread that
//! answers `200 Connection established` and splices bytes, as a real proxy's tunnel does); and
//! against a port that does not speak TLS at all (exit 35).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use trust::test_support::serve_one_request;

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
    serve_one_request(vec![cert], key, RESPONSE)
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

/// A throwaway certificate for `localhost`, its key, and its PEM in a file for `--cacert`.
struct LabCertificate {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    pem_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn lab_certificate() -> LabCertificate {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem_path = dir.path().join("lab.pem");
    std::fs::write(&pem_path, generated.cert.pem()).unwrap();
    LabCertificate {
        cert: generated.cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der())),
        pem_path,
        _dir: dir,
    }
}

/// What the proxy thread says to a CONNECT.
const ESTABLISHED: &[u8] = b"\
    HTTP/1.1 200 Connection established\r\n\
    \r\n";

const FORBIDDEN: &[u8] = b"\
    HTTP/1.1 403 Forbidden\r\n\
    Content-Length: 0\r\n\
    \r\n";

/// A CONNECT proxy for one connection on 127.0.0.1: reads the request head, answers `reply`, and
/// when that is a 2xx splices bytes both ways with the origin on 127.0.0.1 at the port asked for
/// (whatever the host name, so nothing is resolved). Returns its port and, when joined, the
/// request head it received.
fn connect_proxy(reply: &'static [u8]) -> (u16, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        // One byte at a time, so nothing after the head (the TLS ClientHello) is read here.
        while !head.ends_with(b"\r\n\r\n") {
            match client.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return String::from_utf8_lossy(&head).into_owned(),
            }
        }
        let head = String::from_utf8(head).unwrap();
        client.write_all(reply).unwrap();
        if !reply.starts_with(b"HTTP/1.1 2") {
            return head;
        }
        let authority = head.split(' ').nth(1).unwrap().to_string();
        let origin_port: u16 = authority.rsplit_once(':').unwrap().1.parse().unwrap();
        let origin = TcpStream::connect(("127.0.0.1", origin_port)).unwrap();
        let splice = |mut from: TcpStream, mut to: TcpStream| {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from, &mut to);
                let _ = to.shutdown(Shutdown::Write);
            })
        };
        let up = splice(client.try_clone().unwrap(), origin.try_clone().unwrap());
        let down = splice(origin, client);
        up.join().unwrap();
        down.join().unwrap();
        head
    });
    (port, handle)
}

#[test]
fn https_through_a_proxy_goes_through_a_connect_tunnel() {
    let lab = lab_certificate();
    let (origin_port, origin) = tls_server(lab.cert.clone(), lab.key.clone_key());
    let (proxy_port, proxy) = connect_proxy(ESTABLISHED);
    let url = format!("https://localhost:{origin_port}/");
    let proxy_arg = format!("127.0.0.1:{proxy_port}");
    let (code, out, err) = client::run_captured(&[
        "-v",
        "--color",
        "never",
        "--cacert",
        lab.pem_path.to_str().unwrap(),
        "-x",
        &proxy_arg,
        &url,
    ]);
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, client::ExitCode::Ok, "{err}");
    assert_eq!(out, b"secret\n");
    origin.join().unwrap();
    let head = proxy.join().unwrap();
    let authority = format!("localhost:{origin_port}");
    assert!(
        head.starts_with(&format!(
            "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
        )),
        "{head}"
    );
    // The exchange with the proxy is shown, then the request inside the tunnel in origin-form.
    for expected in [
        &format!("C: CONNECT {authority} HTTP/1.1\\r\\n") as &str,
        "S: HTTP/1.1 200 Connection established\\r\\n",
        &format!("# tunnel to {authority} open through the proxy"),
        "TLS with localhost inside the tunnel",
        "C: GET / HTTP/1.1\\r\\n",
        "S: secret\\n",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
    let connect_at = err.find("C: CONNECT").unwrap();
    let get_at = err.find("C: GET / HTTP/1.1").unwrap();
    assert!(connect_at < get_at, "{err}");
}

#[test]
fn a_proxy_that_refuses_the_tunnel_is_a_receive_failure() {
    let (proxy_port, proxy) = connect_proxy(FORBIDDEN);
    let proxy_arg = format!("127.0.0.1:{proxy_port}");
    let (code, out, err) =
        client::run_captured(&["--color", "never", "-x", &proxy_arg, "https://localhost:9/"]);
    let err = String::from_utf8_lossy(&err);
    // curl: "(56) CONNECT tunnel failed, response 403".
    assert_eq!(code, client::ExitCode::RecvError, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("the proxy refused the tunnel to localhost:9: 403 Forbidden"),
        "{err}"
    );
    assert!(proxy
        .join()
        .unwrap()
        .starts_with("CONNECT localhost:9 HTTP/1.1\r\n"));
}

#[test]
fn a_port_that_does_not_speak_tls_fails_the_handshake() {
    // A plain HTTP server: it answers the ClientHello with a 400 and closes, as nginx does.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf);
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    });
    let (code, out, err) =
        client::run_captured(&["--color", "never", &format!("https://127.0.0.1:{port}/")]);
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, client::ExitCode::Tls, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("is this port speaking TLS?"), "{err}");
    server.join().unwrap();
}
