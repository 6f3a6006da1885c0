//! `client load` through the binary against the demo site: the summary with its latency
//! distribution, `--json` keeping its shape, and Ctrl-C printing what was measured so far.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use server::config::Config;
use server::Server;

fn demo() -> Server {
    Server::start(Config::for_tests(None)).expect("the demo server starts")
}

#[test]
fn the_summary_has_percentiles_and_json_keeps_its_shape() {
    let server = demo();
    let url = format!("http://{}/", server.local_addr());
    let out = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["load", "-c", "4", "-n", "400", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("400 requests to "), "{text}");
    for needle in [
        "p50 ",
        "p99 ",
        "stdev ",
        "latency distribution",
        "    99.9%  ",
        "200: 400",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in:\n{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["load", "-c", "2", "-n", "50", "--json", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["requests"], 50);
    let latency = &json["latency_us"];
    for key in ["min", "p50", "p90", "p99", "max", "mean"] {
        assert!(
            latency[key].as_f64().is_some_and(|v| v > 0.0),
            "{key}: {json}"
        );
    }
    assert!(latency["p50"].as_f64() <= latency["p99"].as_f64());
    assert!(
        json.get("interrupted").is_none(),
        "--json unchanged: {json}"
    );
}

#[test]
fn ctrl_c_prints_the_summary_of_what_was_measured() {
    let server = demo();
    let url = format!("http://{}/", server.local_addr());
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["load", "-c", "2", "-d", "60s", "--color", "never", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Off a terminal, progress is a plain line each second: once one says requests were
    // answered, there is something to summarise.
    let mut progress = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = progress.next().expect("a progress line").unwrap();
        let ok: u64 = line
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .find(|w| w[1] == "ok")
            .and_then(|w| w[0].parse().ok())
            .unwrap_or(0);
        if ok > 0 {
            break;
        }
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "Ctrl-C did not stop the run"
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("interrupted (Ctrl-C) after "), "{text}");
    assert!(
        text.contains("latency distribution") && text.contains("200: "),
        "{text}"
    );
    let requests: u64 = text
        .lines()
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(requests > 0, "{text}");
}
