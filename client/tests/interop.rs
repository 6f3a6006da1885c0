//! `client` against real servers: nginx (Debian's, with a minimal configuration written here)
//! and Python's `http.server`. Both listen on 127.0.0.1 at a port the OS handed out, and are
//! stopped when the test ends. `scripts/install-test-deps.sh` installs them.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process, killed and reaped when dropped.
struct Running {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port` (the server's readiness), or panics.
fn wait_until_listening(child: &mut Child, port: u16, what: &str) {
    let until = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(Instant::now() < until, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn site(dir: &Path) {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "<h1>protolab</h1>\n").unwrap();
    std::fs::write(www.join("big.txt"), "line of text\n".repeat(2000)).unwrap();
}

fn nginx() -> Running {
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let port = free_port();
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           gzip on;\n  gzip_min_length 0;\n  gzip_types text/plain;\n\
           server {{\n    listen 127.0.0.1:{port};\n    root {d}/www;\n\
             location = /old {{ return 301 /index.html; }}\n  }}\n}}\n"
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let mut child = Command::new("nginx")
        .args([
            "-p",
            &d.to_string(),
            "-c",
            &format!("{d}/nginx.conf"),
            "-e",
            &format!("{d}/error.log"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx is installed (bash scripts/install-test-deps.sh)");
    wait_until_listening(&mut child, port, "nginx");
    Running {
        child,
        port,
        _dir: dir,
    }
}

fn python_http_server() -> Running {
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let port = free_port();
    let mut child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(dir.path().join("www"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 is installed");
    wait_until_listening(&mut child, port, "python3 -m http.server");
    Running {
        child,
        port,
        _dir: dir,
    }
}

fn run(args: &[&str]) -> (client::ExitCode, String, String) {
    let (code, out, err) = client::run_captured(args);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

#[test]
fn nginx_serves_the_lab_form_urls_reuse_and_gzip() {
    let server = nginx();
    let port = server.port.to_string();
    let base = format!("http://127.0.0.1:{port}");

    let (code, out, _) = run(&["GET", "127.0.0.1", &port, "/index.html"]);
    assert_eq!(
        (code, out.as_str()),
        (client::ExitCode::Ok, "<h1>protolab</h1>\n")
    );

    let (code, out, err) = run(&[
        "-v",
        "--color",
        "never",
        "-i",
        &format!("{base}/index.html"),
        &format!("{base}/index.html"),
    ]);
    assert_eq!(code, client::ExitCode::Ok, "{err}");
    assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{out}");
    assert!(err.contains("reusing connection #0"), "{err}");
    assert!(err.contains("S: HTTP/1.1 200 OK\\r\\n"), "{err}");
    assert!(
        err.contains("left open by the server (keep-alive)"),
        "{err}"
    );

    let (code, out, err) = run(&[
        "--compressed",
        "-v",
        "--color",
        "never",
        &format!("{base}/big.txt"),
    ]);
    assert_eq!(code, client::ExitCode::Ok, "{err}");
    assert!(err.contains("S: Content-Encoding: gzip\\r\\n"), "{err}");
    assert_eq!(out, "line of text\n".repeat(2000));

    let (code, out, _) = run(&["-L", &format!("{base}/old")]);
    assert_eq!(
        (code, out.as_str()),
        (client::ExitCode::Ok, "<h1>protolab</h1>\n")
    );

    let (code, out, _) = run(&["-I", &format!("{base}/index.html")]);
    assert_eq!(code, client::ExitCode::Ok);
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\n"),
        "{out}"
    );

    let (code, out, _) = run(&["-f", &format!("{base}/missing")]);
    assert_eq!((code, out.as_str()), (client::ExitCode::HttpError, ""));
}

#[test]
fn nginx_under_load_answers_every_request() {
    let server = nginx();
    let url = format!("http://127.0.0.1:{}/index.html", server.port);
    for close in [false, true] {
        let mut args = vec![
            "load",
            "-c",
            "4",
            "-n",
            "400",
            "--json",
            "--color",
            "never",
            url.as_str(),
        ];
        if close {
            args.push("--close");
        }
        let (code, out, err) = run(&args);
        assert_eq!(code, client::ExitCode::Ok, "{err}");
        let report: serde_json::Value = serde_json::from_str(&out).expect(&out);
        assert_eq!(report["requests"], 400, "{out}");
        assert_eq!(report["status"]["200"], 400, "{out}");
        assert_eq!(report["errors_total"], 0, "{out}");
        assert_eq!(report["keep_alive"], !close);
        let opened = report["connections_opened"].as_u64().unwrap();
        if close {
            assert_eq!(opened, 400);
        } else {
            assert!(opened <= 8, "{out}");
        }
        assert!(
            report["latency_us"]["p99"].as_f64().unwrap()
                >= report["latency_us"]["p50"].as_f64().unwrap()
        );
    }
}

#[test]
fn python_http_server_closes_after_each_http10_response() {
    let server = python_http_server();
    let url = format!("http://127.0.0.1:{}/index.html", server.port);
    let (code, out, err) = run(&["-v", "--color", "never", &url, &url]);
    assert_eq!(code, client::ExitCode::Ok, "{err}");
    assert_eq!(out, "<h1>protolab</h1>\n<h1>protolab</h1>\n");
    assert!(err.contains("S: HTTP/1.0 200 OK\\r\\n"), "{err}");
    assert!(err.contains("the response ends connection #0"), "{err}");
    assert!(err.contains("connection #1 to 127.0.0.1"), "{err}");

    let (code, _, err) = run(&["load", "-c", "2", "-n", "50", "--color", "never", &url]);
    assert_eq!(code, client::ExitCode::Ok, "{err}");
}
