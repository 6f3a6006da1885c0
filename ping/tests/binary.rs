//! The `ping` binary itself: help, version, exit codes, Ctrl-C, and `ping serve --port 0`
//! printing the address it bound. Every child is killed and reaped on drop.

mod support;

use std::process::Command;

use support::{closed_port, Reaped};

const PING: &str = env!("CARGO_BIN_EXE_ping");

fn serve(args: &[&str]) -> (Reaped, String) {
    let mut all = vec!["serve", "--port", "0"];
    all.extend_from_slice(args);
    let mut server = Reaped::spawn(PING, &all);
    let banner = server.read_until("listening on UDP").pop().unwrap();
    let port = banner
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect("address in banner")
        .to_string();
    (server, port)
}

#[test]
fn help_teaches_with_examples_and_version_prints() {
    let out = Command::new(PING).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Examples:",
        "ping serve",
        "ping -c 3 -i 0.2 localhost",
        "--icmp",
        "Exit status: 0",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    let out = Command::new(PING)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("--kr") && help.contains("--dead-after"),
        "{help}"
    );
    let out = Command::new(PING).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("ping (protolab) {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_arguments_and_bad_hosts_exit_2_with_what_to_do() {
    let out = Command::new(PING)
        .args(["-c", "0", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(PING)
        .args(["-i", "soon", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1.5s, 500ms"));
    let out = Command::new(PING)
        .args(["serve", "--delay", "120"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("write 120ms"));
    let out = Command::new(PING)
        .args(["-c", "1", "no-such-host.invalid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot resolve no-such-host.invalid"));
}

#[test]
fn no_server_exits_1_with_the_hint() {
    let port = closed_port().to_string();
    let out = Command::new(PING)
        .args(["-p", &port, "-c", "1", "127.0.0.1"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Destination port unreachable"), "{text}");
    assert!(text.contains("`ping serve`"), "{text}");
}

#[test]
fn client_binary_against_server_binary_and_ctrl_c_prints_the_summary() {
    let (server, port) = serve(&["--loss", "0", "--seed", "1"]);
    let out = Command::new(PING)
        .args(["-p", &port, "-c", "2", "-i", "0.01", "localhost"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("2 packets transmitted, 2 received, 0% packet loss"));

    let mut client = Reaped::spawn(
        PING,
        &["-p", &port, "-c", "100000", "-i", "0.01", "localhost"],
    );
    client.read_until("seq=3 time=");
    let pid = client.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let (code, rest, _) = client.finish();
    assert_eq!(code, Some(0), "{rest}");
    assert!(rest.contains("--- localhost ping statistics ---"), "{rest}");
    assert!(rest.contains(" received, "), "{rest}");
    assert!(rest.contains("rtt min/avg/max/mdev = "), "{rest}");

    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let (code, rest, _) = server.finish();
    assert_eq!(code, Some(0));
    assert!(rest.contains("stopped. received "), "{rest}");
}

#[test]
fn serve_explains_a_port_in_use() {
    let (_server, port) = serve(&["--loss", "0"]);
    let out = Command::new(PING)
        .args(["serve", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is another `ping serve` running?"), "{err}");
}

#[test]
fn icmp_echo_works_or_says_why_not() {
    let out = Command::new(PING)
        .args(["--icmp", "-c", "2", "-i", "0.01", "-W", "0.5", "127.0.0.1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {
            assert!(stdout.contains("ICMP echo"), "{stdout}");
            assert!(
                stdout.contains("2 packets transmitted, 2 received, 0% packet loss"),
                "{stdout}"
            );
        }
        Some(2) => {
            assert!(stderr.contains("net.ipv4.ping_group_range"), "{stderr}");
            assert!(stderr.contains("sudo sysctl -w"), "{stderr}");
        }
        other => panic!("exit {other:?}: {stdout}{stderr}"),
    }
}

/// `-i`, `-W` and `-w` take the shared duration syntax as well as iputils' bare seconds;
/// `--color always` colours a lost probe even into a pipe, `never` and `NO_COLOR` do not.
#[test]
fn durations_with_units_and_colour_on_request() {
    let (_server, port) = serve(&["--loss", "0", "--seed", "1"]);
    let out = Command::new(PING)
        .args([
            "-p", &port, "-c", "2", "-i", "10ms", "-W", "1.5s", "-w", "1m",
        ])
        .arg("localhost")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("2 packets transmitted, 2 received"),
        "{stdout}"
    );

    let closed = closed_port().to_string();
    let unreachable = |extra: &[&str], no_color: bool| {
        let mut cmd = Command::new(PING);
        cmd.args(["-p", &closed, "-c", "1", "-W", "200ms"])
            .args(extra)
            .arg("127.0.0.1");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let coloured = unreachable(&["--color", "always"], true);
    assert!(
        coloured.contains("\x1b[1m\x1b[31mDestination port unreachable"),
        "{coloured:?}"
    );
    let plain = unreachable(&["--color", "never"], false);
    assert!(plain.contains("Destination port unreachable") && !plain.contains('\x1b'));
    let auto = unreachable(&[], true);
    assert!(!auto.contains('\x1b'), "{auto:?}");
}
