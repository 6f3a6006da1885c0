//! Learner-like programs for the pinger, mail and proxy tracks get exactly the right verdict on
//! each step, and the reports say why. The programs (tests/learners/) are written the way the
//! textbook skeletons and tutorials write them.

use labs::catalog::find_step;
use labs::check::{Ctx, Reach};
use labs::report::{step_result, Style};
use labs::runner::{run_step, StepResult};
use std::time::Duration;

fn learners() -> String {
    format!("{}/tests/learners", env!("CARGO_MANIFEST_DIR"))
}

/// Runs one step against a program that labs starts with `command` (`LEARNERS` is the folder).
fn check(step: &str, command: &str, timeout_ms: u64) -> StepResult {
    let (track, index, step) = find_step(step).expect("the step exists");
    let mut ctx = Ctx::new(
        Reach::Run(command.replace("LEARNERS", &learners())),
        Duration::from_millis(timeout_ms),
        None,
    );
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
    if let Some(at) = out.find("127.0.0.1:") {
        let after = at + "127.0.0.1:".len();
        let digits = out[after..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        out.replace_range(after..after + digits, "PORT");
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
    let result = check("pinger/client-stats", command, 1000);
    assert!(result.passed(), "{}", report(&result));
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
