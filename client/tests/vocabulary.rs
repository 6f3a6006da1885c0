//! The vocabulary `client` shares with every protolab program, through the binary: durations
//! as people type them (`1.5s`, `500ms`, `1m 30s`, a bare number of seconds) with the defaults
//! in `--help`; `--color auto|always|never`, where `auto` colours a terminal only and never when
//! `NO_COLOR` is set; `--version` naming protolab.

use std::io::Read;
use std::process::{Command, Output, Stdio};

use server::config::Config;
use server::Server;

fn client(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_client"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn durations_take_units_and_bare_seconds_and_help_shows_the_defaults() {
    let site = Server::start(Config::for_tests(None)).unwrap();
    let url = format!("http://{}/", site.local_addr());
    for time in ["1.5s", "1m 30s", "2500ms", "3"] {
        let out = client(&[
            "--max-time",
            time,
            "--connect-timeout",
            time,
            "-o",
            "/dev/null",
            &url,
        ]);
        assert_eq!(out.status.code(), Some(0), "{time}: {}", text(&out.stderr));
    }
    let out = client(&["--max-time", "soon", &url]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("1.5s, 500ms, 1m"), "{err}");

    let repl = text(&client(&["repl", "--help"]).stdout);
    assert!(repl.contains("[default: 5s]"), "{repl}");
    let load = text(&client(&["load", "--help"]).stdout);
    assert!(load.contains("[default: 10s]"), "{load}");
    for help in [text(&client(&["--help"]).stdout), repl, load] {
        assert!(help.contains("--color <WHEN>"), "{help}");
        assert!(help.contains("NO_COLOR"), "{help}");
    }
    site.shutdown();
}

#[test]
fn version_names_the_program_and_protolab() {
    let out = client(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!("client (protolab) {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// Runs `client ARGS` with stdout and stderr on a new pseudo-terminal (a terminal, as a person
/// sees it), `TERM=xterm` and `NO_COLOR` as given; returns everything it wrote.
#[allow(unsafe_code)]
fn on_a_terminal(args: &[&str], no_color: Option<&str>) -> String {
    use std::os::fd::{FromRawFd, OwnedFd};

    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    // SAFETY: openpty writes two new descriptors into the two ints; the other pointers may be
    // null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut command = Command::new(env!("CARGO_BIN_EXE_client"));
    command
        .args(args)
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let mut child = command.spawn().unwrap();
    // The child holds the only copies of the terminal's other end now (the command is dropped
    // with its copies): reading ends (EIO) once it exits.
    drop(command);
    let mut screen = Vec::new();
    let mut reading = std::fs::File::from(master);
    let mut buf = [0u8; 4096];
    while let Ok(n) = reading.read(&mut buf) {
        if n == 0 {
            break;
        }
        screen.extend_from_slice(&buf[..n]);
    }
    assert!(child.wait().unwrap().success(), "{}", text(&screen));
    text(&screen)
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color_unless_asked() {
    let site = Server::start(Config::for_tests(None)).unwrap();
    let url = format!("http://{}/", site.local_addr());
    let coloured = |screen: &str| screen.contains("\x1b[");
    let get = ["-v", "-o", "/dev/null"];
    let with = |extra: &[&str]| -> Vec<String> {
        get.iter()
            .chain(extra)
            .map(|s| s.to_string())
            .chain([url.clone()])
            .collect()
    };
    let run = |args: Vec<String>, no_color: Option<&str>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        on_a_terminal(&args, no_color)
    };
    let screen = run(with(&[]), None);
    assert!(coloured(&screen), "a terminal gets colour: {screen:?}");
    assert!(screen.contains("GET / HTTP/1.1"), "{screen:?}");
    let screen = run(with(&[]), Some("1"));
    assert!(!coloured(&screen), "NO_COLOR: {screen:?}");
    let screen = run(with(&["--color", "never"]), None);
    assert!(!coloured(&screen), "--color never: {screen:?}");
    let screen = run(with(&["--color", "always"]), Some("1"));
    assert!(
        coloured(&screen),
        "--color always wins over NO_COLOR: {screen:?}"
    );
    // Not a terminal: no colour under auto.
    let out = client(&with(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        !text(&out.stderr).contains("\x1b["),
        "{}",
        text(&out.stderr)
    );
    let out = client(
        &with(&["--color", "always"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(text(&out.stderr).contains("\x1b["), "{}", text(&out.stderr));
    site.shutdown();
}
