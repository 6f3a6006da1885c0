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
