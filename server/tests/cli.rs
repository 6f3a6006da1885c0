//! The `server` binary as a user runs it: help, version, config errors, the start banner, and a
//! graceful stop on SIGTERM and SIGINT with exit code 0.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_server"))
}

#[test]
fn help_teaches_with_examples() {
    let out = server().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--root",
        "--bind",
        "--port",
        "--config",
        "--model",
        "--workers",
        "--max-connections",
        "--access-log",
        "--error-log",
        "--log-level",
        "--allow-write",
        "--no-gzip",
        "--keep-alive-timeout",
        "--header-timeout",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
    assert!(
        text.contains("Examples:")
            && text.contains("client GET localhost 8080 /")
            && text.contains("curl -v http://localhost:8080/")
    );
    let version = server().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("server "));
}

#[test]
fn a_bad_config_file_names_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.toml");
    std::fs::write(&path, "port = 8080\n[limits]\nmax_conections = 5\n").unwrap();
    let out = server().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3:1:", path.display())), "{err}");
    assert!(err.contains("max_conections"), "{err}");
    let out = server().args(["--model", "fibers"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "clap reports bad flags with 2");
    let out = server()
        .args(["--allow-write", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--allow-write without --root is refused"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--root"));
}

/// Starts the binary on port 0 and reads its banner; returns the child and the port.
fn start(args: &[&str]) -> (Child, u16, Vec<String>) {
    start_command(server(), args)
}

/// [`start`] for a prepared command (another user, say).
fn start_command(mut command: Command, args: &[&str]) -> (Child, u16, Vec<String>) {
    let mut child = command
        .args(["--port", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        lines.push(line);
    }
    let url = lines[0].split("http://").nth(1).unwrap();
    let port: u16 = url
        .split(['/', ' '])
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (child, port, lines)
}

fn fetch(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn the_banner_shows_the_url_and_two_commands_and_sigterm_exits_0() {
    let (mut child, port, lines) = start(&[]);
    assert!(
        lines[0].contains("the built-in demo site is at http://127.0.0.1:"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1].trim(),
        format!("try:  client GET localhost {port} /")
    );
    assert_eq!(lines[2].trim(), format!("curl -v http://localhost:{port}/"));
    assert!(fetch(port, "/").contains("Welcome to the demo site"));
    signal(&child, "-TERM");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn sigint_stops_gracefully_and_sighup_reloads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "one\n").unwrap();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("a.txt"), "two\n").unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, format!("root = {:?}\n", dir.path())).unwrap();
    let (mut child, port, _) = start(&["--config", config.to_str().unwrap(), "--model", "threads"]);
    assert!(fetch(port, "/a.txt").ends_with("one\n"));
    // Point the config at another folder and send SIGHUP: the same port now serves it.
    std::fs::write(&config, format!("root = {:?}\n", other.path())).unwrap();
    signal(&child, "-HUP");
    let mut served = String::new();
    for _ in 0..100 {
        served = fetch(port, "/a.txt");
        if served.ends_with("two\n") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(served.ends_with("two\n"), "{served}");
    signal(&child, "-INT");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("configuration reloaded"), "{err}");
}

#[test]
fn the_console_answers_on_a_terminal() {
    // `script` gives the server a pseudo-terminal as standard input, as a person's shell would.
    let found = Command::new("sh")
        .args(["-c", "command -v script"])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "`script` (util-linux) is needed for this test"
    );
    let cmd = format!("{} --port 0", env!("CARGO_BIN_EXE_server"));
    let mut child = Command::new("script")
        .args(["-qc", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // Wait for the console's first line before typing.
    while !seen.contains("commands: status") {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the server ended early: {seen}"
        );
        seen.push_str(&line);
    }
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"status\nstop\n")
        .unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(
        rest.contains("Active connections: 0") && rest.contains("server accepts handled requests"),
        "{rest}"
    );
    assert!(child.wait().unwrap().success());
}

/// `--version` names protolab; `--color always` colours the banner even into a pipe, `never` and
/// `NO_COLOR` keep it plain; durations take fractions.
#[test]
fn version_colour_and_durations_speak_the_shared_vocabulary() {
    let version = server().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("server (protolab) {}\n", env!("CARGO_PKG_VERSION"))
    );
    let banner = |args: &[&str], no_color: bool| {
        let mut cmd = server();
        cmd.args(["--port", "0", "--keep-alive-timeout", "1.5s"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        line
    };
    let coloured = banner(&["--color", "always"], true);
    assert!(
        coloured.contains("\x1b[1mhttp://127.0.0.1:"),
        "{coloured:?}"
    );
    let plain = banner(&["--color", "never"], false);
    assert!(
        plain.contains(" http://127.0.0.1:") && !plain.contains('\x1b'),
        "{plain:?}"
    );
    let auto = banner(&[], true);
    assert!(!auto.contains('\x1b'), "{auto:?}");

    let bad = server()
        .args(["--keep-alive-timeout", "soon"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("1.5s, 500ms"));
}

#[test]
fn the_demo_pages_name_the_port_the_server_listens_on() {
    let (mut child, port, _) = start(&[]);
    for page in ["/", "/keep-alive.html", "/ranges.html", "/chunked.html"] {
        let body = fetch(port, page);
        assert!(body.starts_with("HTTP/1.1 200"), "{page}: {body}");
        assert!(!body.contains("8080"), "{page} still says 8080");
        assert!(
            body.contains(&format!("localhost:{port}/"))
                || body.contains(&format!("localhost {port}")),
            "{page} names port {port}"
        );
    }
    let index = fetch(port, "/");
    assert!(index.contains(&format!("<code>client GET localhost {port} /</code>")));
    assert!(index.contains(&format!("<code>curl -v http://localhost:{port}/</code>")));
    signal(&child, "-TERM");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// True when this test runs as root (who may read every file whatever its mode).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

#[test]
fn an_unreadable_root_or_file_is_logged_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("ok.txt"), "fine\n").unwrap();
    std::fs::write(root.join("secret.txt"), "hidden\n").unwrap();
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    mode(dir.path(), 0o755).unwrap();
    mode(&root.join("secret.txt"), 0o000).unwrap();
    // Search but no read: files inside can be opened, the folder cannot be listed.
    mode(&root, 0o711).unwrap();
    // Root reads everything: run the server as nobody then, as a learner's account would.
    let command = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_server"));
        c
    } else {
        server()
    };
    let (child, port, _) = start_command(command, &["--root", root.to_str().unwrap()]);
    assert!(fetch(port, "/ok.txt").starts_with("HTTP/1.1 200"));
    assert!(fetch(port, "/secret.txt").starts_with("HTTP/1.1 403"));
    assert!(fetch(port, "/").starts_with("HTTP/1.1 403"));
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    mode(&root, 0o755).unwrap();
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    let root_shown = root.display();
    for line in [
        format!("cannot read the document root {root_shown}: Permission denied"),
        format!("403 for /secret.txt: cannot open {root_shown}/secret.txt: Permission denied"),
        format!("403 for /: cannot list {root_shown}: Permission denied"),
    ] {
        assert!(log.contains(&line), "the error log lacks {line:?}:\n{log}");
    }
}

#[test]
fn a_graceful_stop_that_cuts_a_download_says_so_and_how_long_it_waited() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse: 256 MiB that take no disk, far more than the socket buffers hold.
    let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    big.set_len(256 << 20).unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[timeouts]\ngrace = \"300ms\"\n").unwrap();
    let (child, port, _) = start(&[
        "--root",
        dir.path().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let mut download = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(download, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    // The response has begun: the head and some of the body are here; then the client stalls.
    let mut first = [0u8; 4096];
    let n = download.read(&mut first).unwrap();
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    drop(download);
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    let line = log
        .lines()
        .find(|l| l.contains("graceful stop: waited"))
        .unwrap_or_else(|| panic!("no word of the cut download:\n{log}"));
    assert!(line.contains("1 connection was still busy"), "{line}");
    assert!(line.contains("cutting it short"), "{line}");
    let waited: f64 = line
        .split("waited ")
        .nth(1)
        .and_then(|r| r.split('s').next())
        .and_then(|t| t.parse().ok())
        .unwrap();
    assert!((0.3..5.0).contains(&waited), "{line}");
}
