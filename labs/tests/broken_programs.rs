//! Deliberately broken learner programs fail exactly the steps they should, and the reports say
//! why. Each program is a short Python script of the kind a learner writes (tests/fakes/).

use labs::catalog::find_step;
use labs::check::{Ctx, Reach};
use labs::report::{step_result, Style};
use labs::runner::{run_step, StepResult};
use std::time::Duration;

fn fakes() -> String {
    format!("{}/tests/fakes", env!("CARGO_MANIFEST_DIR"))
}

/// Runs one step against a program that labs starts with `command`.
fn check(step: &str, command: &str, timeout_ms: u64) -> StepResult {
    let (track, index, step) = find_step(step).expect("the step exists");
    let mut ctx = Ctx::new(
        Reach::Run(command.replace("FAKES", &fakes())),
        Duration::from_millis(timeout_ms),
        None,
    );
    let result = run_step(&mut ctx, track, index, step);
    ctx.stop_learner();
    result
}

/// The report with what changes from run to run (ports, folders) left out.
fn report(result: &StepResult) -> String {
    step_result(result, &Style::plain())
        .lines()
        .filter(|l| !l.contains("started your program"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_bare_lf_status_line_fails_respond_with_the_caret_on_the_lf() {
    let result = check(
        "http/respond",
        "python3 FAKES/http_broken.py bare-lf {port} {dir}/files",
        1000,
    );
    assert!(!result.passed());
    insta::assert_snapshot!(report(&result));
}

#[test]
fn a_content_length_that_overstates_the_body_fails_echo() {
    let result = check(
        "http/echo",
        "python3 FAKES/http_broken.py wrong-length {port} {dir}/files",
        500,
    );
    assert!(!result.passed());
    let failure = result.outcome.as_ref().unwrap_err();
    assert!(
        failure
            .problem
            .contains("Content-Length said 5 bytes, 3 arrived"),
        "{}",
        failure.problem
    );
    insta::assert_snapshot!(report(&result));
}

#[test]
fn a_server_that_closes_every_connection_passes_echo_but_fails_keep_alive() {
    let command = "python3 FAKES/http_broken.py no-keep-alive {port} {dir}/files";
    assert!(check("http/echo", command, 1000).passed());
    let result = check("http/keep-alive", command, 1000);
    assert!(!result.passed());
    insta::assert_snapshot!(report(&result));
}

#[test]
fn a_server_without_a_host_check_fails_malformed() {
    let result = check(
        "http/malformed",
        "python3 FAKES/http_broken.py no-host-check {port} {dir}/files",
        1000,
    );
    assert!(!result.passed());
    let failure = result.outcome.as_ref().unwrap_err();
    assert_eq!(failure.problem, "the status was 200");
    insta::assert_snapshot!(report(&result));
}

#[test]
fn a_pinger_that_never_times_out_fails_the_client_step() {
    let result = check(
        "pinger/client",
        "python3 FAKES/pinger_no_timeout.py {host} {port}",
        1000,
    );
    assert!(!result.passed());
    let failure = result.outcome.as_ref().unwrap_err();
    assert_eq!(failure.problem, "labs received 3 ping(s)");
    // The pings carry the client's clock, so the report is checked piece by piece.
    let text = report(&result);
    assert!(text.contains("labs dropped pings [3, 7]"), "{text}");
    assert!(text.contains("S: <lost>"), "{text}");
    assert!(text.contains("do not stop at the first lost one"), "{text}");
}

#[test]
fn a_mail_client_that_skips_the_greeting_fails_greeting_only() {
    let command = "python3 FAKES/mail_no_greeting.py {host} {port}";
    let result = check("mail/greeting", command, 1000);
    assert!(!result.passed());
    insta::assert_snapshot!(report(&result));
    assert!(check("mail/envelope", command, 1000).passed());
}

#[test]
fn a_proxy_that_never_caches_forwards_but_fails_cache() {
    let command = "python3 FAKES/proxy_no_cache.py {port}";
    assert!(check("proxy/forward", command, 1000).passed());
    let result = check("proxy/cache", command, 1000);
    assert!(!result.passed());
    let failure = result.outcome.as_ref().unwrap_err();
    assert!(
        failure.problem.contains("asked for /cached.html 2 times"),
        "{}",
        failure.problem
    );
}

#[test]
fn a_program_that_refuses_to_start_is_explained_without_hanging() {
    let result = check("http/connect", "exit 3", 1000);
    let failure = result.outcome.as_ref().unwrap_err();
    assert!(
        failure.problem.contains("exited (exit code 3)"),
        "{}",
        failure.problem
    );
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    // `sleep` never listens, so use a Python one-liner that listens and then ignores everyone.
    let command = "python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", int(sys.argv[1]))); s.listen(); c=[]\nwhile True: c.append(s.accept())' {port}";
    let result = check("http/respond", command, 300);
    let failure = result.outcome.as_ref().unwrap_err();
    assert!(
        failure.problem.contains("your server sent nothing"),
        "{}",
        failure.problem
    );
}

#[test]
fn a_server_that_sends_endless_garbage_is_cut_off() {
    let command = "python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", int(sys.argv[1]))); s.listen()\nwhile True:\n  c,_=s.accept()\n  try:\n    while True: c.sendall(b\"HTTP/1.1 200 OK\\r\\nX: \" + b\"a\" * 65536)\n  except OSError: pass' {port}";
    let result = check("http/respond", command, 2000);
    let failure = result.outcome.as_ref().unwrap_err();
    assert!(
        failure.problem.contains("header section") || failure.problem.contains("larger"),
        "{}",
        failure.problem
    );
}

#[test]
fn a_status_line_without_its_second_space_fails_respond_and_not_found() {
    let command = "python3 FAKES/http_broken.py no-reason-space {port} {dir}/files";
    let respond = check("http/respond", command, 500);
    assert!(!respond.passed());
    insta::assert_snapshot!(report(&respond));
    let not_found = check("http/not-found", command, 500);
    let failure = not_found.outcome.as_ref().unwrap_err();
    assert!(failure.rule.contains("RFC 9112 §4"), "{}", failure.rule);
    assert_eq!(
        failure.problem,
        "there is no space after the status code 404"
    );
    assert!(
        failure
            .diagnosis
            .as_deref()
            .is_some_and(|d| d.contains("clients differ")),
        "{failure:?}"
    );
}

#[test]
fn a_crlf_after_a_framed_body_fails_echo_itself() {
    let result = check(
        "http/echo",
        "python3 FAKES/http_broken.py crlf-after-body {port} {dir}/files",
        500,
    );
    assert!(!result.passed());
    insta::assert_snapshot!(report(&result));
}

#[test]
fn the_content_length_hint_is_for_bodies_only() {
    let command = "python3 FAKES/http_broken.py no-length {port} {dir}/files";
    let respond = check("http/respond", command, 300);
    let hint = respond.outcome.as_ref().unwrap_err().hint.clone().unwrap();
    assert!(hint.contains("this response has no body"), "{hint}");
    assert!(!hint.contains("that has a body"), "{hint}");
    let echo = check("http/echo", command, 300);
    let hint = echo.outcome.as_ref().unwrap_err().hint.clone().unwrap();
    assert!(hint.contains("Content-Length: 3"), "{hint}");
}
