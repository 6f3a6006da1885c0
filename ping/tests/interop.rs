//! Interop with an independent implementation of the lab: `ping/interop/*.py`, a small Python
//! server and client written from the lab's description. Our client against their server, their
//! client against our server. `python3` comes from scripts/install-test-deps.sh; each Python
//! process is killed and reaped on drop.

mod support;

use std::process::Command;

use ping::client::Outcome;
use support::{ping, seqs_after, Reaped, TestServer};

fn script(name: &str) -> String {
    format!("{}/interop/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn our_client_against_the_python_server() {
    let mut server = Reaped::spawn(
        "python3",
        &[
            &script("udp_pinger_server.py"),
            "--port",
            "0",
            "--seed",
            "4",
        ],
    );
    let banner = server.read_until("listening on").pop().unwrap();
    let port = banner.rsplit(':').next().unwrap().to_string();
    let (out, outcome) = ping(&[
        "-p",
        &port,
        "-c",
        "12",
        "-i",
        "0.01",
        "-W",
        "1",
        "127.0.0.1",
    ]);
    let _ = server.child.kill();
    let (_, log, _) = server.finish();
    let dropped = seqs_after(&log, "dropped Ping ");
    let echoed = seqs_after(&log, "echoed PING ");
    assert_eq!(dropped.len() + echoed.len(), 12, "{log}");
    assert!(
        !dropped.is_empty() && !echoed.is_empty(),
        "seed 4 drops some and echoes some: {log}"
    );
    let mut timed_out = seqs_after(&out, "Request timed out (seq=");
    timed_out.sort_unstable();
    assert_eq!(timed_out, dropped, "{out}");
    for seq in &echoed {
        assert!(
            out.contains(&format!(": seq={seq} time=")),
            "seq {seq} was echoed: {out}"
        );
    }
    assert!(
        out.contains(&format!(
            "12 packets transmitted, {} received",
            echoed.len()
        )),
        "{out}"
    );
    assert_eq!(outcome, Ok(Outcome::Replied));
}

#[test]
fn the_python_client_against_our_server() {
    let server = TestServer::start(&["--loss", "0.3", "--seed", "9"]);
    let port = server.port().to_string();
    let out = Command::new("python3")
        .args([
            &script("udp_pinger_client.py"),
            "127.0.0.1",
            &port,
            "--count",
            "10",
            "--timeout",
            "0.5",
        ])
        .output()
        .expect("python3 runs (scripts/install-test-deps.sh installs it)");
    let log = server.stop();
    let text = String::from_utf8_lossy(&out.stdout);
    let dropped = seqs_after(&log, "dropped Ping ");
    assert!(!dropped.is_empty(), "seed 9 at 30% drops some of 10: {log}");
    assert_eq!(
        seqs_after(&text, "Request timed out (seq="),
        dropped,
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "sent 10, received {}, lost {}",
            10 - dropped.len(),
            dropped.len()
        )),
        "{text}"
    );
    assert!(text.contains("Reply from 127.0.0.1: PING "), "{text}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_python_client_sees_port_unreachable_too() {
    let port = support::closed_port().to_string();
    let out = Command::new("python3")
        .args([
            &script("udp_pinger_client.py"),
            "127.0.0.1",
            &port,
            "--count",
            "1",
            "--timeout",
            "1",
        ])
        .output()
        .expect("python3 runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Destination port unreachable (seq=1)"));
}
