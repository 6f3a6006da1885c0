//! Learner-like programs for the pinger, mail and proxy tracks get exactly the right verdict on
//! each step, and the reports say why. The programs (tests/learners/) are written the way the
//! textbook skeletons and tutorials write them.

use labs::catalog::find_step;
use labs::check::{Ctx, Reach};
use labs::origin::Port80;
use labs::report::{step_result, Style};
use labs::runner::{run_step, StepResult};
use std::time::Duration;

fn learners() -> String {
    format!("{}/tests/learners", env!("CARGO_MANIFEST_DIR"))
}

/// Runs one step against a program that labs starts with `command` (`LEARNERS` is the folder).
/// Port 80 is left alone: only the port 80 test below uses it, so no two tests race for it.
fn check(step: &str, command: &str, timeout_ms: u64) -> StepResult {
    check_with(step, command, timeout_ms, Port80::Never)
}

fn check_with(step: &str, command: &str, timeout_ms: u64, port_80: Port80) -> StepResult {
    let (track, index, step) = find_step(step).expect("the step exists");
    let mut ctx = Ctx::new(
        Reach::Run(command.replace("LEARNERS", &learners())),
        Duration::from_millis(timeout_ms),
        None,
    );
    ctx.port_80 = port_80;
    let result = run_step(&mut ctx, track, index, step);
    ctx.stop_learner();
    result
}

/// The report with what changes from run to run left out: the command line (ports, folders),
/// ports, and whatever a pinger's clock put after `Ping N ` (times, RTTs).
fn report(result: &StepResult) -> String {
    step_result(result, &Style::plain())
        .lines()
        .filter(|l| !l.contains("started your program"))
        .map(normalise_line)
        .collect::<Vec<_>>()
        .join("\n")
}

fn normalise_line(line: &str) -> String {
    let mut out = line.to_string();
    for word in ["Ping ", "PING "] {
        if let Some(at) = out.find(word) {
            let after = at + word.len();
            let digits = out[after..]
                .chars()
                .take_while(char::is_ascii_digit)
                .count();
            if digits > 0 && out[after + digits..].starts_with(' ') {
                out.truncate(after + digits + 1);
                out.push_str("<time...>");
            }
        }
    }
    for word in ["127.0.0.1:", "port ", "('127.0.0.1', "] {
        let mut from = 0;
        while let Some(at) = out[from..].find(word) {
            let after = from + at + word.len();
            let digits = out[after..]
                .chars()
                .take_while(char::is_ascii_digit)
                .count();
            // Port 80 is the point of the proxy track's port 80 reports: it stays.
            if digits > 0 && &out[after..after + digits] != "80" {
                out.replace_range(after..after + digits, "PORT");
            }
            from = after;
        }
    }
    out
}

fn failure(result: &StepResult) -> &labs::check::Failure {
    result.outcome.as_ref().expect_err("the step should fail")
}

#[test]
fn a_pinger_that_sends_time_ctime_passes_the_client_step_but_not_the_stats() {
    let command = "python3 LEARNERS/pinger_ctime.py {host} {port}";
    let result = check("pinger/client", command, 1000);
    assert!(result.passed(), "{}", report(&result));
    let result = check("pinger/client-stats", command, 1000);
    assert_eq!(
        failure(&result).problem,
        "no line of your output names min and max"
    );
    insta::assert_snapshot!(report(&result));
}

#[test]
fn a_pinger_that_sends_datetime_now_passes_the_client_steps() {
    let command = "python3 LEARNERS/pinger_datetime.py {host} {port}";
    let result = check("pinger/client", command, 1000);
    assert!(result.passed(), "{}", report(&result));
    insta::assert_snapshot!("pinger_datetime_client", report(&result));
    let result = check("pinger/client-stats", command, 1000);
    assert!(result.passed(), "{}", report(&result));
    insta::assert_snapshot!("pinger_datetime_client_stats", report(&result));
}

#[test]
fn record_writes_the_pinger_datagrams_as_a_udp_trace() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(["check", "pinger/client", "--run"])
        .arg(format!(
            "python3 {}/pinger_ctime.py {{host}} {{port}}",
            learners()
        ))
        .arg("--record")
        .arg(dir.path())
        .env("PROTOLAB_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("labs runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(dir.path().join("pinger-client-1.trace"))
        .expect("the exchange was recorded");
    let trace = wire::trace::Trace::parse(&text).expect("the recording parses as a trace");
    assert_eq!(trace.transport(), wire::trace::Transport::Udp);
    let (mut pings, mut replies, mut lost) = (0, 0, 0);
    for item in trace.items() {
        match item {
            wire::trace::Item::Data {
                tag: wire::trace::Tag::Client,
                ..
            } => pings += 1,
            wire::trace::Item::Data {
                tag: wire::trace::Tag::Server,
                ..
            } => replies += 1,
            wire::trace::Item::Event {
                tag: wire::trace::Tag::Server,
                event: wire::trace::Event::Lost,
            } => lost += 1,
            other => panic!("unexpected {other:?} in\n{text}"),
        }
    }
    // Ten pings, eight echoed, pings 3 and 7 dropped.
    assert_eq!((pings, replies, lost), (10, 8, 2), "{text}");
    let shown: Vec<String> = text.lines().map(normalise_line).collect();
    insta::assert_snapshot!("pinger_client_record", shown.join("\n"));
}

/// No byte the learner sent reaches the terminal raw: NUL and ESC are written `\x00`, `\x1b`.
fn assert_escaped(report: &str) {
    assert!(
        !report.contains('\0') && !report.contains('\x1b'),
        "raw control bytes in {report:?}"
    );
}

#[test]
fn a_bad_ping_with_nul_and_esc_is_shown_escaped_in_the_problem() {
    let command = "python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b\"Ping 1\\x00\\x1b[2J\", (sys.argv[1], int(sys.argv[2])))' {host} {port}";
    let result = check("pinger/client", command, 1000);
    assert_eq!(
        failure(&result).problem,
        "datagram 1 (`Ping 1\\x00\\x1b[2J`) was not a ping: `1\\x00\\x1b[2J` is not a sequence number"
    );
    let text = report(&result);
    assert_escaped(&text);
    insta::assert_snapshot!("pinger_bad_ping_nul_esc", text);
}

#[test]
fn a_pinger_server_reply_with_nul_and_esc_is_shown_escaped_in_the_problem() {
    let command = "python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((\"127.0.0.1\", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(2048); s.sendto(d.upper() + b\"\\x00\\x1b[0m\", a)' {port}";
    let result = check("pinger/server", command, 1000);
    let problem = &failure(&result).problem;
    assert!(
        problem.starts_with("the reply to ping 1 differs: `PING 1 ")
            && problem.ends_with("\\x00\\x1b[0m`"),
        "{problem}"
    );
    let text = report(&result);
    assert_escaped(&text);
    // 300 pings and their replies: the report shows the first and last datagrams only.
    assert!(
        text.contains("more datagram lines (all of them: --record DIR or --json)"),
        "{text}"
    );
}

#[test]
fn a_ping_with_the_wrong_sequence_number_is_shown_in_the_report() {
    let command = "python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b\"Ping 2 soon\\x1b\", (sys.argv[1], int(sys.argv[2])))' {host} {port}";
    let result = check("pinger/client", command, 1000);
    assert_eq!(
        failure(&result).problem,
        "ping 1 carried sequence number 2: `Ping 2 soon\\x1b`"
    );
}

#[test]
fn a_pinger_server_that_never_binds_gets_a_bounded_number_of_probes() {
    // `sleep` runs but listens on nothing: every probe meets "port unreachable".
    let result = check("pinger/server", "sleep 30", 1000);
    assert_eq!(
        failure(&result).problem,
        "30 probe pings in 3 s got no reply: connection refused: nothing listens on that UDP port"
    );
    insta::assert_snapshot!(report(&result));
}

/// `labs check ARGS --listen 127.0.0.1:PORT` as a learner runs it: each time labs says it is
/// ready for a client, the client is started by hand (here: `python3 LEARNERS/<client>`).
/// Returns labs' stdout with the port made constant, and how many times the client was run.
fn check_listen(args: &[&str], client: &str) -> (String, usize) {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let listen = format!("127.0.0.1:{port}");
    let data = tempfile::tempdir().unwrap();
    let mut labs = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(args)
        .args(["--listen", &listen, "--timeout", "1s"])
        .env("PROTOLAB_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("labs starts");
    let mut stdout = labs.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let mut clients = Vec::new();
    let mut said = String::new();
    for line in BufReader::new(labs.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.contains("start your client against it now") {
            clients.push(
                Command::new("python3")
                    .arg(format!("{}/{client}", learners()))
                    .args(["127.0.0.1", &port.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("python3 runs"),
            );
        }
    }
    labs.wait().unwrap();
    for mut c in clients {
        let _ = c.kill();
        let _ = c.wait();
    }
    let runs = said.matches("start your client against it now").count();
    let text = reader.join().unwrap().unwrap();
    let text = format!("{said}--- stdout ---\n{text}");
    (text.replace(&port.to_string(), "PORT"), runs)
}

/// The verdict `labs` printed for each step, in order.
fn verdict_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL "))
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn one_run_of_the_skeleton_mail_client_is_graded_on_every_step_its_session_shows() {
    let (text, runs) = check_listen(&["check", "mail"], "SMTPClient.py");
    assert_eq!(runs, 1, "{text}");
    assert_eq!(
        verdict_lines(&text),
        [
            "PASS mail/greeting",
            "PASS mail/helo",
            "PASS mail/envelope",
            "PASS mail/data"
        ],
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn the_optional_mail_steps_that_need_a_session_of_their_own_wait_for_the_next_run() {
    let (text, runs) = check_listen(
        &["check", "mail", "--optional", "--keep-going"],
        "SMTPClient.py",
    );
    // One run for greeting to data and mime, one each for STARTTLS, AUTH LOGIN, AUTH PLAIN.
    assert_eq!(runs, 4, "{text}");
    assert_eq!(
        verdict_lines(&text),
        [
            "PASS mail/greeting",
            "PASS mail/helo",
            "PASS mail/envelope",
            "PASS mail/data",
            "FAIL mail/starttls",
            "FAIL mail/auth-login",
            "FAIL mail/auth-plain",
            "FAIL mail/mime",
        ],
        "{text}"
    );
    for step in ["starttls", "auth-login", "auth-plain"] {
        assert!(
            text.contains(&format!("labs: mail/{step} needs a session of its own")),
            "{text}"
        );
    }
    assert!(
        text.contains("graded on the same run of your client as mail/greeting"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_mail_client_that_starts_tls_at_once_is_told_so_on_every_step_of_its_session() {
    let (text, runs) = check_listen(&["check", "mail", "--keep-going"], "smtp_ssl_at_once.py");
    assert_eq!(runs, 1, "{text}");
    assert_eq!(
        verdict_lines(&text),
        [
            "FAIL mail/greeting",
            "FAIL mail/helo",
            "FAIL mail/envelope",
            "FAIL mail/data"
        ],
        "{text}"
    );
    assert!(text.contains("your client started TLS at once"), "{text}");
    assert!(text.contains("holding a ClientHello"), "{text}");
    insta::assert_snapshot!(text);
}

/// Runs the steps in order against `command` and asserts each verdict.
fn verdicts(command: &str, expected: &[(&str, bool)], port_80: Port80) -> Vec<StepResult> {
    expected
        .iter()
        .map(|&(step, pass)| {
            let result = check_with(step, command, 1000, port_80);
            assert_eq!(result.passed(), pass, "{step}:\n{}", report(&result));
            result
        })
        .collect()
}

#[test]
fn a_serial_proxy_that_reads_the_origin_to_the_end_passes_forward_and_cache() {
    // labs' origin closes after answering an HTTP/1.0 request, so recv() until b"" ends at once.
    let results = verdicts(
        "python3 LEARNERS/ProxyServer.py {port}",
        &[
            ("proxy/forward", true),
            ("proxy/path-form", true),
            ("proxy/cache", true),
            ("proxy/not-found", true),
            ("proxy/post", false),
            ("proxy/revalidate", false),
            ("proxy/concurrent", false),
        ],
        Port80::Never,
    );
    insta::assert_snapshot!("proxy_reads_to_eof_post", report(&results[4]));
    insta::assert_snapshot!("proxy_reads_to_eof_revalidate", report(&results[5]));
}

/// Whether this machine lets labs listen on 127.0.0.1:80 right now.
fn port_80_free() -> bool {
    std::net::TcpListener::bind("127.0.0.1:80").is_ok()
}

#[test]
fn a_proxy_hard_wired_to_port_80_is_named_when_labs_can_see_it_and_explained_when_not() {
    let command = "python3 LEARNERS/proxy_port80.py {port}";
    // Without a look at port 80, the report says what could cause it and that labs cannot tell.
    let unseen = check_with("proxy/forward", command, 1000, Port80::Never);
    assert!(!unseen.passed());
    insta::assert_snapshot!("proxy_port80_unseen", report(&unseen));

    // With one (the default), the proxy's connection to port 80 is the proof, when labs may
    // listen there; otherwise the report says why it cannot tell.
    let free = port_80_free();
    let watched = check_with("proxy/forward", command, 1000, Port80::Watch);
    let failure = watched.outcome.as_ref().expect_err("forward fails");
    if free && failure.problem.contains("port 80") {
        let asked = failure
            .problem
            .strip_prefix("your proxy connected to port 80; the URL asked for port ")
            .and_then(|p| p.parse::<u16>().ok());
        assert!(asked.is_some_and(|p| p != 80), "{}", failure.problem);
        insta::assert_snapshot!("proxy_port80_seen", report(&watched));
    } else {
        // Not root, or something else on port 80 (in CI labs runs as root on a fresh machine,
        // so this path is the one a learner's laptop takes).
        let diagnosis = failure.diagnosis.clone().unwrap_or_default();
        assert!(
            diagnosis.contains("may not listen on 127.0.0.1:80")
                || diagnosis.contains("something else listens on 127.0.0.1:80"),
            "{}",
            report(&watched)
        );
    }

    // --origin-on-80 grades the proxy as it is, when labs may listen on port 80.
    let on_80 = check_with("proxy/forward", command, 1000, Port80::Origin);
    if port_80_free() || on_80.passed() {
        assert!(on_80.passed(), "{}", report(&on_80));
        assert!(
            on_80.notes.iter().any(|n| n.contains("--origin-on-80")),
            "{:?}",
            on_80.notes
        );
        verdicts(
            command,
            &[
                ("proxy/path-form", true),
                ("proxy/cache", true),
                ("proxy/not-found", true),
            ],
            Port80::Origin,
        );
    } else {
        let failure = on_80.outcome.as_ref().expect_err("no port 80 here");
        assert!(
            failure
                .problem
                .starts_with("labs could not listen on 127.0.0.1:80"),
            "{}",
            report(&on_80)
        );
    }
}

#[test]
fn a_ping_that_is_not_text_is_shown_escaped_and_named_so() {
    // A pinger that sends bytes no clock prints: invalid UTF-8, NUL, and an ESC sequence.
    let command = "python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b\"Ping 1 \\xff\\xfe\\x00\\x1b[31mred\", (sys.argv[1], int(sys.argv[2])))' {host} {port}";
    let result = check("pinger/client", command, 1000);
    assert_eq!(
        failure(&result).problem,
        "datagram 1 (`Ping 1 \\xff\\xfe\\x00\\x1b[31mred`) was not a ping: it is not text (UTF-8)"
    );
    // Nothing here is a clock's time, so the report is kept whole (the command line aside).
    let text = unnormalised(&result);
    assert_escaped(&text);
    // The datagram is in the exchange too, escaped as traces escape bytes.
    assert!(
        text.contains("C: Ping 1 \\xff\\xfe\\x00\\x1b[31mred"),
        "{text}"
    );
    insta::assert_snapshot!("pinger_ping_not_text", text);
}

#[test]
fn a_pinger_server_reply_that_is_not_text_is_judged_on_its_bytes() {
    // It echoes upper-cased and adds bytes that are not UTF-8: the reply still carries the
    // sequence number, so the report is the byte comparison, escaped.
    let command = "python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((\"127.0.0.1\", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(2048); s.sendto(d.upper() + b\"\\xff\\x00\\x1b[2J\", a)' {port}";
    let result = check("pinger/server", command, 1000);
    let failure = failure(&result);
    assert!(
        failure
            .problem
            .starts_with("the reply to ping 1 differs: `PING 1 ")
            && failure.problem.ends_with("\\xff\\x00\\x1b[2J`"),
        "{}",
        failure.problem
    );
    let text = unnormalised(&result);
    assert_escaped(&text);
    assert!(text.contains("\\xff\\x00\\x1b[2J"), "{text}");
}

/// The report as printed, but for the line with the command (its port changes).
fn unnormalised(result: &StepResult) -> String {
    step_result(result, &Style::plain())
        .lines()
        .filter(|l| !l.contains("started your program"))
        .collect::<Vec<_>>()
        .join("\n")
}
