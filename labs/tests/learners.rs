//! The programs learners really hand in get exactly the right verdict on every step, and the
//! reports say why. Each program in tests/learners/ is written the way the lab skeletons and
//! beginners' tutorials have it: the lab 1 server (one connection at a time, `split()[1]`, the
//! file then `\r\n`), an early-stage server that dies on an empty read, a read-once server, and
//! a C server that segfaults on its third request (compiled here with `cc`).
//!
//! Every check runs the program as `labs check --run` does, started in the corpus folder, so
//! relative paths (`python3 WebServer.py {port}`, `open("HelloWorld.html")`) work as they do
//! for the learner.

use labs::catalog::find_step;
use labs::check::{Ctx, Reach};
use labs::report::{step_result, Style};
use labs::runner::{run_step, StepResult};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Reads time out quickly: every program here answers at once or not at all.
const TIMEOUT: Duration = Duration::from_millis(500);

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/learners")
}

/// Runs one step against `command`, started in `dir` as `labs check STEP --run` would.
fn check_in(dir: &Path, step: &str, command: &str) -> StepResult {
    let (track, index, step) = find_step(step).expect("the step exists");
    let mut ctx =
        Ctx::new(Reach::Run(command.into()), TIMEOUT, None).with_work_dir(dir.to_path_buf());
    let result = run_step(&mut ctx, track, index, step);
    ctx.stop_learner();
    result
}

fn check(step: &str, command: &str) -> StepResult {
    check_in(&corpus(), step, command)
}

/// The report with what changes from run to run made constant: ports, folders.
fn report(result: &StepResult) -> String {
    normalise(&step_result(result, &Style::plain()))
}

fn normalise(text: &str) -> String {
    let text = text.replace(&corpus().display().to_string(), "<corpus>");
    let mut out = String::new();
    let mut rest = text.as_str();
    // Ports: whatever follows `127.0.0.1:`, and the port labs passed as the command's last word.
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(if digits > 0 { "PORT" } else { "" });
        rest = &after[digits..];
    }
    out.push_str(rest);
    // labs' scratch folder: `labs-run-` and six random characters.
    while let Some(at) = out
        .find("labs-run-")
        .filter(|&at| !out[at + 9..].starts_with("XXXXXX"))
    {
        let end = (at + 9 + 6).min(out.len());
        out.replace_range(at + 9..end, "XXXXXX");
    }
    out.lines()
        .map(
            |line| match line.strip_prefix("  note:    started your program: ") {
                Some(command) => format!(
                    "  note:    started your program: {}PORT",
                    command.trim_end_matches(|c: char| c.is_ascii_digit())
                ),
                None => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts each step's verdict, naming the failure when a verdict is wrong.
fn verdicts(command: &str, expected: &[(&str, bool)]) -> Vec<StepResult> {
    let mut results = Vec::new();
    for &(step, pass) in expected {
        let result = check(step, command);
        assert_eq!(
            result.passed(),
            pass,
            "{step} for `{command}`:\n{}",
            report(&result)
        );
        results.push(result);
    }
    results
}

/// Every step of the http track, optional ones too, in order: the ones named pass, all the
/// others fail (a table of the whole track, so no step's verdict goes unchecked).
fn http_track(passing: &[(&'static str, bool)]) -> Vec<(&'static str, bool)> {
    let track = labs::catalog::find_track("http").unwrap();
    let ids: Vec<String> = track.steps.iter().map(|s| track.step_id(s)).collect();
    for (id, _) in passing {
        assert!(ids.iter().any(|i| i == id), "no step {id}");
    }
    ids.iter()
        .map(|id| {
            let id: &'static str = Box::leak(id.clone().into_boxed_str());
            (id, passing.iter().any(|(p, pass)| *p == id && *pass))
        })
        .collect()
}

/// The reports of a whole track, one after the other, as `labs check TRACK --keep-going`
/// prints them.
fn whole(results: &[StepResult]) -> String {
    results
        .iter()
        .map(|r| {
            let text = report(r);
            if r.id != "http/post-file" || r.passed() {
                return text;
            }
            // A server that closes before the body's pieces arrive meets them at a piece that
            // depends on timing (a write after the close only provokes the reset): the lines
            // sent are left out, the rest of the report is kept.
            let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("    C: ")).collect();
            format!(
                "{}\n    (the pieces sent: left out, how many got out is timing)",
                kept.join("\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn failure(result: &StepResult) -> &labs::check::Failure {
    result.outcome.as_ref().expect_err("the step failed")
}

#[test]
fn the_lab1_skeleton_passes_hello_and_not_found_and_fails_threads() {
    let command = "python3 WebServer.py {port}";
    let results = verdicts(
        command,
        &[
            ("webserver/hello", true),
            ("webserver/not-found", true),
            ("webserver/threads", false),
        ],
    );
    // The page compared is the learner's own, and the trailing \r\n passes with a note.
    let hello = &results[0];
    assert!(
        hello
            .notes
            .iter()
            .any(|n| n.contains("compared with your own")),
        "{:?}",
        hello.notes
    );
    assert!(
        hello
            .notes
            .iter()
            .any(|n| n.contains("became part of the body")),
        "{:?}",
        hello.notes
    );
    insta::assert_snapshot!("lab1_hello", report(hello));
    let threads = &results[2];
    assert!(
        failure(threads)
            .diagnosis
            .as_deref()
            .is_some_and(|d| d.contains("one connection at a time")),
        "{}",
        report(threads)
    );
    insta::assert_snapshot!("lab1_threads", report(threads));
}

#[test]
fn an_early_stage_server_that_dies_on_an_empty_read_is_never_sent_one() {
    let command = "python3 early_stage.py {port}";
    let results = verdicts(
        command,
        &http_track(&[
            ("http/connect", true),
            ("http/respond", true),
            ("http/not-found", true),
        ]),
    );
    // Waiting for it to listen never killed it: respond and not-found passed, and no step
    // said to start it.
    for result in &results {
        assert!(
            !report(result).contains("Start it, or use --run"),
            "{}",
            report(result)
        );
    }
    insta::assert_snapshot!("early_stage_read_request", report(&results[2]));
    insta::assert_snapshot!("early_stage_echo", report(&results[4]));
    // It dies on the malformed request, and the report shows why.
    let malformed = &results[22];
    assert!(
        malformed.crash.as_deref() == Some("exit code 1")
            && report(malformed).contains("IndexError: list index out of range"),
        "{}",
        report(malformed)
    );
    insta::assert_snapshot!("early_stage_http_track", whole(&results));
}

/// A server with a thread per connection that still reads each request with one `recv()`:
/// it answers the first client's half request line, and the report shows those bytes, from a
/// connection labs keeps open until the program is stopped.
#[test]
fn a_threaded_read_once_server_is_shown_answering_half_a_request_line() {
    let result = check("http/concurrent", "python3 threaded_read_once.py {port}");
    assert!(!result.passed(), "{}", report(&result));
    let text = report(&result);
    assert!(
        text.contains("after half a request line")
            && text.contains("C: GET /echo/fir\n    S: HTTP/1.1 200 OK"),
        "{text}"
    );
    insta::assert_snapshot!("threaded_read_once_concurrent", text);
}

#[test]
fn a_read_once_serial_server_fails_read_request_and_concurrent() {
    let command = "python3 read_once.py {port}";
    let results = verdicts(
        command,
        &http_track(&[
            ("http/connect", true),
            ("http/respond", true),
            ("http/not-found", true),
            ("http/echo", true),
            // It closes after every answer, so an HTTP/1.0 client is served right.
            ("http/http10", true),
        ]),
    );
    let concurrent = &results[8];
    assert!(
        failure(concurrent)
            .diagnosis
            .as_deref()
            .is_some_and(|d| d.contains("one connection at a time")),
        "{}",
        report(concurrent)
    );
    insta::assert_snapshot!("read_once_concurrent", report(concurrent));
    insta::assert_snapshot!("read_once_http_track", whole(&results));
}

#[test]
fn a_c_server_that_segfaults_on_its_third_request_is_named_sigsegv() {
    let build = tempfile::tempdir().unwrap();
    let binary = build.path().join("crash_third");
    let compiled = Command::new("cc")
        .args(["-O0", "-o"])
        .arg(&binary)
        .arg(corpus().join("crash_third.c"))
        .status()
        .expect("cc runs (scripts/install-test-deps.sh installs it)");
    assert!(compiled.success(), "crash_third.c did not compile");
    let command = format!("{} {{port}}", binary.display());
    // A fresh program per step: the steps that make three requests crash it, the others pass
    // or fail on what it answers.
    let results = verdicts(
        &command,
        &http_track(&[
            ("http/connect", true),
            ("http/respond", true),
            ("http/not-found", true),
            ("http/echo", true),
            ("http/http10", true),
        ]),
    );
    let crashed = &results[5];
    assert!(
        crashed
            .crash
            .as_deref()
            .is_some_and(|c| c.contains("SIGSEGV")),
        "{}",
        report(crashed)
    );
    let text = report(crashed).replace(&build.path().display().to_string(), "<build>");
    assert!(text.contains("request 3 uses slot ?"), "{text}");
    insta::assert_snapshot!("crash_third_percent_decode", text);
    insta::assert_snapshot!(
        "crash_third_http_track",
        whole(&results).replace(&build.path().display().to_string(), "<build>")
    );

    // --json carries the same story: the crash, the stderr lines, the notes, the exchanges.
    let out = labs_in(
        &corpus(),
        &[
            "check",
            "http/percent-decode",
            "--run",
            &command,
            "--timeout",
            "500ms",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let step = &json["steps"][0];
    assert!(
        step["crash"]
            .as_str()
            .is_some_and(|c| c.contains("SIGSEGV")),
        "{step}"
    );
    let stderr: Vec<&str> = step["stderr"]
        .as_array()
        .expect("stderr lines")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    assert!(stderr.contains(&"request 3 uses slot ?"), "{step}");
    assert!(
        step["notes"][0]
            .as_str()
            .is_some_and(|n| n.starts_with("started your program")),
        "{step}"
    );
    assert_eq!(
        step["exchanges"].as_array().map(Vec::len),
        Some(3),
        "{step}"
    );
}

/// `labs` as the learner runs it: from their own folder, with a relative path in --run.
fn labs_in(dir: &Path, args: &[&str]) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(args)
        .current_dir(dir)
        .env("PROTOLAB_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("labs runs")
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn labs_run_from_the_learners_folder_uses_their_page_or_lends_one() {
    let args = [
        "check",
        "webserver",
        "--run",
        "python3 WebServer.py {port}",
        "--timeout",
        "500ms",
    ];
    // From the corpus folder, with the learner's own HelloWorld.html.
    let before = listing(&corpus());
    let out = labs_in(&corpus(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PASS webserver/hello"), "{stdout}");
    assert!(stdout.contains("compared with your own"), "{stdout}");
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");
    assert_eq!(
        listing(&corpus()),
        before,
        "labs changed the learner's folder"
    );

    // A folder with the server and no page: labs lends its example and takes it back.
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(
        corpus().join("WebServer.py"),
        folder.path().join("WebServer.py"),
    )
    .unwrap();
    let out = labs_in(folder.path(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("there was no HelloWorld.html"), "{stdout}");
    assert_eq!(
        listing(folder.path()),
        ["WebServer.py"],
        "labs left a file behind"
    );
}

#[test]
fn a_files_dir_of_the_learners_gets_its_own_files_back_and_nothing_else() {
    // The learner serves ./www, which holds their own index.html: labs writes its test files
    // there (index.html among them) and the server writes uploads there; afterwards the folder
    // is as it was.
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(corpus().join("server.py"), folder.path().join("server.py")).unwrap();
    std::fs::create_dir(folder.path().join("www")).unwrap();
    std::fs::write(folder.path().join("www/index.html"), "my own page\n").unwrap();
    let out = labs_in(
        folder.path(),
        &[
            "check",
            "http",
            "--optional",
            "--keep-going",
            "--run",
            "python3 server.py {port} www",
            "--files-dir",
            "www",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("23 passed, 0 failed"), "{stdout}");
    assert_eq!(listing(folder.path()), ["server.py", "www"]);
    assert_eq!(listing(&folder.path().join("www")), ["index.html"]);
    assert_eq!(
        std::fs::read_to_string(folder.path().join("www/index.html")).unwrap(),
        "my own page\n"
    );
}

#[test]
fn a_run_command_without_dir_is_told_where_the_files_are() {
    let result = check("http/files", "python3 server.py {port}");
    assert!(!result.passed());
    assert!(
        result.notes.iter().any(|n| n.contains(
            "your --run command does not pass {dir}, so your server cannot know where they are"
        )),
        "{}",
        report(&result)
    );
    // With {dir}, the same server passes, and no such note.
    let result = check("http/files", "python3 server.py {port} {dir}/files");
    assert!(result.passed(), "{}", report(&result));
}

#[test]
fn the_lab1_skeleton_checked_with_target_gets_an_html_check_and_says_the_bytes_were_not_compared() {
    // Started by hand, as a learner does, in its own folder; labs only has its address.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server =
        labs::learner::LearnerProcess::start(&format!("python3 WebServer.py {port}"), &corpus())
            .expect("python3 runs");
    server
        .wait_listening(addr, Duration::from_secs(10))
        .expect("the skeleton listens");
    let mut results = Vec::new();
    for step in ["webserver/hello", "webserver/not-found"] {
        let (track, index, step) = find_step(step).unwrap();
        let mut ctx = Ctx::new(Reach::Target(addr.to_string()), TIMEOUT, None);
        results.push(run_step(&mut ctx, track, index, step));
    }
    server.stop();
    for result in &results {
        assert!(result.passed(), "{}", report(result));
        assert!(
            result.notes.iter().any(|n| n.contains(
                "comes back 200 with an HTML body; its bytes were not compared with the file on disk"
            )),
            "{}",
            report(result)
        );
    }
    insta::assert_snapshot!("lab1_hello_target", report(&results[0]));
}

#[test]
fn a_program_that_dies_before_it_listens_or_connects_shows_why() {
    // A file name with a typo, run from the learner's folder: Python says so on stderr.
    let typo = check("webserver/hello", "python3 Webserver.py {port}");
    let text = report(&typo);
    assert!(
        failure(&typo)
            .problem
            .starts_with("your program exited (exit code 2) before it listened on 127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("can't open file"), "{text}");
    assert!(!text.contains("Start it, or use --run"), "{text}");

    // A server that raises while it sets up: the whole traceback.
    let raises = check(
        "http/respond",
        "python3 -c 'import socket, sys\nport = int(sys.argv[2])' {port}",
    );
    let text = report(&raises);
    assert!(
        text.contains("your program exited (exit code 1) before it listened"),
        "{text}"
    );
    assert!(
        text.contains("| Traceback (most recent call last):"),
        "{text}"
    );
    assert!(
        text.contains("| IndexError: list index out of range"),
        "{text}"
    );

    // A UDP server, and a client, the same way.
    let udp = check(
        "pinger/server",
        "python3 -c 'import sys\nport = int(sys.argv[2])' {port}",
    );
    let text = report(&udp);
    assert!(text.contains("before it answered a ping"), "{text}");
    assert!(
        text.contains("| IndexError: list index out of range"),
        "{text}"
    );
    let client = check(
        "mail/greeting",
        "python3 -c 'import sys\nserver = (sys.argv[1], int(sys.argv[3]))' {host} {port}",
    );
    let text = report(&client);
    assert!(text.contains("without connecting"), "{text}");
    assert!(
        text.contains("| IndexError: list index out of range"),
        "{text}"
    );
    assert!(!text.contains("Start it, or use --run"), "{text}");
}
