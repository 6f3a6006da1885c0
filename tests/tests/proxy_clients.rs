//! Real clients through the proxy: curl with `-x` and with the path form (one cache for both),
//! curl through a CONNECT tunnel to a TLS origin on loopback (a test certificate made with
//! rcgen), and headless Chromium with `--proxy-server` loading the `server` demo site.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;

use protolab_tests::tools::{run, tool};
use server::config::Config;
use server::Server;

fn curl(args: &[&str]) -> (String, String) {
    let out = run(tool("curl")
        .args(["-s", "--max-time", "10", "-D", "/dev/stderr"])
        .args(args));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn x_cache(headers: &str) -> &str {
    headers
        .lines()
        .find_map(|l| l.strip_prefix("X-Cache: "))
        .map(str::trim)
        .unwrap_or("(none)")
}

fn demo_server() -> Server {
    Server::start(Config::for_tests(None)).expect("the server starts on 127.0.0.1:0")
}

/// A proxy for these tests: loopback origins only (`--only-loopback-upstreams`), so nothing a
/// client or a browser asks for leaves the machine.
fn start_proxy(cache: &Path, log: Option<&Path>, connect_ports: Vec<u16>) -> proxy::Proxy {
    let mut options = proxy::Options::for_tests(cache);
    options.reach = proxy::upstream::Reach::LoopbackOnly;
    options.access_log = log.map(Path::to_path_buf);
    options.connect_ports = connect_ports;
    proxy::Proxy::start(options).expect("the proxy starts on 127.0.0.1:0")
}

#[test]
fn curl_with_x_and_with_the_path_form_share_one_cache() {
    let server = demo_server();
    let dir = tempfile::tempdir().unwrap();
    let proxy = start_proxy(dir.path(), None, vec![443]);
    let origin = format!("http://{}", server.local_addr());
    let proxy_url = format!("http://{}", proxy.addr());

    let (body, headers) = curl(&["-x", &proxy_url, &format!("{origin}/files/hello.txt")]);
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    assert_eq!(x_cache(&headers), "MISS", "{headers}");
    assert!(
        headers.contains(&format!("Via: 1.1 {}", proxy.addr())),
        "{headers}"
    );

    // The path form names the same URI: the stored response answers it.
    let (again, headers) = curl(&[&format!("{proxy_url}/{origin}/files/hello.txt")]);
    assert_eq!(again, body);
    assert!(
        matches!(x_cache(&headers), "HIT" | "REVALIDATED"),
        "the path form should use the entry the absolute form stored: {headers}"
    );
    // And the short path form too.
    let short = format!("{proxy_url}/{}/files/hello.txt", server.local_addr());
    let (third, headers) = curl(&[&short]);
    assert_eq!(third, body);
    assert!(
        matches!(x_cache(&headers), "HIT" | "REVALIDATED"),
        "{headers}"
    );

    // The status page counts them.
    let (status, _) = curl(&[&format!("{proxy_url}/proxy-status")]);
    // Three fetches and the status request itself.
    assert!(status.contains("requests: 4"), "{status}");
    assert!(status.contains("misses: 1"), "{status}");
    proxy.shutdown();
    server.shutdown();
}

/// A TLS origin on loopback answering one request per connection with `secure hello`.
fn tls_origin() -> (SocketAddr, String, std::thread::JoinHandle<()>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = certified.cert.pem();
    let cert = rustls::pki_types::CertificateDer::from(certified.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        certified.key_pair.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut reader = BufReader::new(&mut tls);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        tls.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nsecure hello",
        )
        .unwrap();
        tls.conn.send_close_notify();
        let _ = tls.flush();
        let mut rest = Vec::new();
        let _ = tls.sock.read_to_end(&mut rest);
    });
    (addr, pem, handle)
}

#[test]
fn curl_reaches_a_tls_origin_through_a_connect_tunnel() {
    let (origin, pem, origin_thread) = tls_origin();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("origin.pem");
    std::fs::write(&ca, pem).unwrap();
    let proxy = start_proxy(&dir.path().join("cache"), None, vec![origin.port()]);
    let (body, headers) = curl(&[
        "-x",
        &format!("http://{}", proxy.addr()),
        "--cacert",
        ca.to_str().unwrap(),
        "--resolve",
        &format!("localhost:{}:127.0.0.1", origin.port()),
        &format!("https://localhost:{}/", origin.port()),
    ]);
    assert_eq!(body, "secure hello", "{headers}");
    assert!(headers.contains("200 Connection established"), "{headers}");
    origin_thread.join().unwrap();
    proxy.shutdown();
}

#[test]
fn connect_to_a_port_not_allowed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = start_proxy(dir.path(), None, vec![443]);
    let out = tool("curl")
        .args([
            "-s",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_connect}",
        ])
        .args(["-x", &format!("http://{}", proxy.addr())])
        .arg("https://127.0.0.1:9/")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "403");
    proxy.shutdown();
}

#[test]
fn chromium_loads_the_demo_site_through_the_proxy() {
    let server = demo_server();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let proxy = start_proxy(&dir.path().join("cache"), Some(&log), vec![443]);
    let origin = server.local_addr();
    let profile = tempfile::tempdir().unwrap();
    let out = run(tool("chromium").args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // The browser resolves no name itself (loopback literals and localhost aside), and
        // whatever it asks the proxy for beyond loopback gets the proxy's 403.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
        &format!("--user-data-dir={}", profile.path().display()),
        &format!("--proxy-server=http://{}", proxy.addr()),
        // Chromium never proxies loopback unless told to.
        "--proxy-bypass-list=<-loopback>",
        "--dump-dom",
        &format!("http://{}/", server.local_addr()),
    ]));
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("Welcome to the demo site"), "{dom}");
    assert!(dom.contains("src=\"/images/packets.png\""), "{dom}");
    proxy.shutdown();
    server.shutdown();
    // The page, its stylesheet and both images came through the proxy.
    let access = std::fs::read_to_string(&log).unwrap();
    for path in [
        "/ ",
        "/style.css ",
        "/images/logo.svg ",
        "/images/packets.png ",
    ] {
        let uri = format!("\"GET http://{origin}{path}");
        assert!(
            access
                .lines()
                .any(|l| l.contains(&uri) && l.contains("HTTP/1.1\" 200 ")),
            "no 200 for {path} through the proxy:\n{access}"
        );
    }
}

#[test]
fn origins_beyond_loopback_are_refused_without_a_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = start_proxy(dir.path(), None, vec![443]);
    let proxy_url = format!("http://{}", proxy.addr());
    // `.invalid` never resolves (RFC 6761 §6.4): a 403 rather than a 502 shows the proxy did not
    // try.
    let out = tool("curl")
        .args(["-s", "--max-time", "10", "-D", "/dev/stderr"])
        .args(["-x", &proxy_url, "http://update.example.invalid/service"])
        .output()
        .unwrap();
    let (body, headers) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(headers.starts_with("HTTP/1.1 403"), "{headers}");
    assert!(body.contains("--only-loopback-upstreams"), "{body}");
    assert!(body.contains("update.example.invalid:80"), "{body}");
    // The same for a tunnel.
    let out = tool("curl")
        .args(["-s", "--max-time", "10", "-o", "/dev/null"])
        .args(["-w", "%{http_connect}", "-x", &proxy_url])
        .arg("https://time.example.invalid/")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "403");
    assert_eq!(
        proxy
            .stats()
            .errors
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    proxy.shutdown();
}
