//! The `proxy` program's flags as a user types them: `-p`, durations, `--access-log -`,
//! `--version`, `--color`, `--resolve` in curl's syntax, and a `--cache-dir` it cannot use.
mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};

use common::{origin, read_to_close};

fn proxy() -> Command {
    Command::new(env!("CARGO_BIN_EXE_proxy"))
}

/// A proxy started with `args`, its address read from the banner, killed when dropped.
struct Running {
    child: Child,
    addr: SocketAddr,
    stdout: BufReader<ChildStdout>,
    _stderr: BufReader<ChildStderr>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = proxy()
            .args(["--only-loopback-upstreams"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "no banner");
            if let Some(rest) = line.strip_prefix("proxy: listening on http://") {
                break rest.split(' ').next().unwrap().trim().parse().unwrap();
            }
        };
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Running {
            child,
            addr,
            stdout,
            _stderr: stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn version_names_protolab_and_the_program() {
    let out = proxy().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("proxy (protolab) {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `-p 0`, fractional and minute durations, and `--access-log -` writing to standard output.
#[test]
fn short_port_durations_and_the_access_log_on_stdout() {
    let origin =
        origin(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: no-store\r\n\r\nhi");
    let cache = tempfile::tempdir().unwrap();
    let mut running = Running::start(&[
        "-p",
        "0",
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "--header-timeout",
        "1.5s",
        "--keep-alive-timeout",
        "1m",
        "--body-timeout",
        "2m 30s",
        "--upstream-timeout",
        "500ms",
        "--access-log",
        "-",
    ]);
    let mut client = std::net::TcpStream::connect(running.addr).unwrap();
    client
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        client,
        "GET http://{origin}/a HTTP/1.1\r\nHost: {origin}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let answer = read_to_close(&mut client);
    assert!(answer.starts_with(b"HTTP/1.1 200 "), "{answer:?}");
    let mut line = String::new();
    running.stdout.read_line(&mut line).unwrap();
    assert!(
        line.contains(&format!("\"GET http://{origin}/a HTTP/1.1\" 200 2 ")),
        "the access line on stdout: {line:?}"
    );
}

#[test]
fn durations_are_checked_with_an_example_and_defaults_shown() {
    let help = proxy().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for default in [
        "[default: 10s]",
        "[default: 75s]",
        "[default: 60s]",
        "[default: 30s]",
    ] {
        assert!(help.contains(default), "--help lacks {default}:\n{help}");
    }
    for (flag, value) in [
        ("--header-timeout", "soon"),
        ("--keep-alive-timeout", "0s"),
        ("--upstream-timeout", "-1"),
    ] {
        let out = proxy().arg(format!("{flag}={value}")).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("1.5s, 500ms"), "{flag} {value}: {stderr}");
    }
}

#[test]
fn resolve_takes_curls_syntax() {
    let origin =
        origin(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nCache-Control: no-store\r\n\r\norigin");
    let cache = tempfile::tempdir().unwrap();
    let fixed = format!("origin.test:{}:127.0.0.1", origin.port());
    let running = Running::start(&[
        "-p",
        "0",
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "--resolve",
        &fixed,
    ]);
    let mut client = std::net::TcpStream::connect(running.addr).unwrap();
    client
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let port = origin.port();
    write!(
        client,
        "GET http://origin.test:{port}/ HTTP/1.1\r\nHost: origin.test:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut client)).into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 200 ") && answer.ends_with("origin"),
        "{answer}"
    );

    let out = proxy().args(["--resolve", "origin.test"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOST:PORT:ADDR"));
}

/// A cache folder that is a file, or under a file, is named as the problem, with what to do;
/// the port is not blamed. `--color always` colours the error, `NO_COLOR` keeps it plain.
#[test]
fn a_bad_cache_dir_says_what_is_wrong_with_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    for (cache_dir, says) in [
        (file.clone(), "it is a file, not a folder"),
        (file.join("cache"), "a part of its path is a file"),
    ] {
        let out = proxy()
            .args(["-p", "0", "--cache-dir"])
            .arg(&cache_dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "cannot use the cache folder {}",
                cache_dir.display()
            )),
            "{stderr}"
        );
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            stderr.contains("--cache-dir") && stderr.contains("--no-cache"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("port"),
            "the port is not the problem: {stderr}"
        );
        assert!(!stderr.contains('\x1b'), "{stderr:?}");
    }
    let out = proxy()
        .args(["-p", "0", "--color", "always", "--cache-dir"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\x1b[1m\x1b[31mcannot use"),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port in use is named, with how to choose another.
#[test]
fn a_port_in_use_says_how_to_choose_another() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = proxy().args(["-p", &port, "--no-cache"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("-p 0"), "{stderr}");
}
