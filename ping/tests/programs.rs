//! The real client and server on 127.0.0.1:0, in-process: what a learner sees, end to end.
//! Loss and delay come from the server's seeded model; nothing sleeps to synchronise.

mod support;

use std::time::{Duration, Instant};

use ping::client::Outcome;
use pretty_assertions::assert_eq;
use support::{closed_port, ping, seqs_after, TestServer};

const FAST: [&str; 4] = ["-i", "0.01", "-W", "0.2"];

fn args<'a>(port: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["-p", port];
    v.extend_from_slice(&FAST);
    v.extend_from_slice(extra);
    v
}

#[test]
fn every_ping_answered_without_loss() {
    let server = TestServer::start(&["--loss", "0"]);
    let port = server.port().to_string();
    let (out, outcome) = ping(&args(&port, &["-c", "3", "localhost"]));
    assert_eq!(outcome, Ok(Outcome::Replied));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("PING localhost (127.0.0.1) UDP port {port}: 24 bytes of data.")
    );
    for (i, seq) in (1..=3).enumerate() {
        let prefix = format!("24 bytes from localhost (127.0.0.1): seq={seq} time=");
        assert!(
            lines[1 + i].starts_with(&prefix) && lines[1 + i].ends_with(" ms"),
            "{out}"
        );
    }
    assert_eq!(lines[4], "");
    assert_eq!(lines[5], "--- localhost ping statistics ---");
    assert!(
        lines[6].starts_with("3 packets transmitted, 3 received, 0% packet loss, time "),
        "{out}"
    );
    assert!(lines[7].starts_with("rtt min/avg/max/mdev = "), "{out}");
    let log = server.stop();
    assert!(
        log.contains("received Ping 3 (24 bytes) from 127.0.0.1:"),
        "{log}"
    );
    assert!(log.contains("echoed PING 3 to 127.0.0.1:"), "{log}");
    assert!(log.contains("[received 3, dropped 0, echoed 3]"), "{log}");
}

#[test]
fn the_probes_that_time_out_are_the_ones_the_server_dropped() {
    let server = TestServer::start(&["--loss", "0.4", "--seed", "7"]);
    let port = server.port().to_string();
    // A generous timeout: a busy machine must not turn a slow echo into a "drop".
    let (out, outcome) = ping(&[
        "-p",
        &port,
        "-c",
        "25",
        "-i",
        "0.01",
        "-W",
        "1",
        "127.0.0.1",
    ]);
    let log = server.stop();
    let timed_out = seqs_after(&out, "Request timed out (seq=");
    let dropped = seqs_after(&log, "dropped Ping ");
    assert!(!dropped.is_empty(), "seed 7 at 40% drops some of 25: {log}");
    let mut sorted = timed_out.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, dropped);
    let received = 25 - dropped.len();
    let loss = wire::ping::stats::format_g(f64::from((dropped.len() as f64 * 100.0 / 25.0) as f32));
    assert!(
        out.contains(&format!(
            "25 packets transmitted, {received} received, {loss}% packet loss"
        )),
        "{out}"
    );
    assert_eq!(outcome, Ok(Outcome::Replied));
}

#[test]
fn nothing_listening_is_reported_at_once_with_a_hint() {
    let port = closed_port().to_string();
    let started = Instant::now();
    let (out, outcome) = ping(&["-p", &port, "-c", "2", "-i", "0.01", "-W", "5", "127.0.0.1"]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not wait for the 5 s timeout: {out}"
    );
    assert_eq!(outcome, Ok(Outcome::NoReply));
    assert!(
        out.contains("From 127.0.0.1 seq=1 Destination port unreachable"),
        "{out}"
    );
    assert!(
        out.contains("start the lab's server with `ping serve`"),
        "{out}"
    );
    assert!(
        out.contains("2 packets transmitted, 0 received, +2 errors, 100% packet loss"),
        "{out}"
    );
    assert!(
        !out.contains("rtt min"),
        "no rtt line without replies: {out}"
    );
}

#[test]
fn every_datagram_dropped_means_exit_1_and_no_rtt_line() {
    let server = TestServer::start(&["--loss", "1"]);
    let port = server.port().to_string();
    let (out, outcome) = ping(&[
        "-p",
        &port,
        "-c",
        "2",
        "-i",
        "0.01",
        "-W",
        "0.05",
        "localhost",
    ]);
    assert_eq!(outcome, Ok(Outcome::NoReply));
    assert_eq!(seqs_after(&out, "Request timed out (seq="), vec![1, 2]);
    assert!(
        out.ends_with("2 packets transmitted, 0 received, 100% packet loss, time 60ms\n")
            || !out.contains("rtt"),
        "{out}"
    );
    drop(server);
}

#[test]
fn a_late_reply_is_reported_late_and_not_counted() {
    let server = TestServer::start(&["--loss", "0", "--delay", "120ms"]);
    let port = server.port().to_string();
    let (out, outcome) = ping(&[
        "-p",
        &port,
        "-c",
        "2",
        "-i",
        "0.2",
        "-W",
        "0.05",
        "localhost",
    ]);
    assert_eq!(outcome, Ok(Outcome::NoReply));
    assert!(out.contains("Request timed out (seq=1)"), "{out}");
    let late = out
        .lines()
        .find(|l| l.contains("seq=1 time="))
        .unwrap_or_else(|| panic!("no late line: {out}"));
    assert!(
        late.ends_with("(late: after the 50 ms timeout, still counted as lost)"),
        "{late}"
    );
    assert!(
        out.contains("2 packets transmitted, 0 received, 100% packet loss"),
        "{out}"
    );
}

#[test]
fn duplicates_are_flagged_dup() {
    let server = TestServer::start(&["--loss", "0", "--duplicate", "1"]);
    let port = server.port().to_string();
    let (out, _) = ping(&[
        "-p",
        &port,
        "-c",
        "3",
        "-i",
        "0.05",
        "-W",
        "0.2",
        "localhost",
    ]);
    let dups = out.lines().filter(|l| l.ends_with(" ms (DUP!)")).count();
    assert!(
        dups >= 2,
        "each echo comes twice (the third's copy may come after the end): {out}"
    );
    assert!(
        out.contains(&format!(
            "3 packets transmitted, 3 received, +{dups} duplicates, 0% packet loss"
        )),
        "{out}"
    );
    let log = server.stop();
    assert!(log.contains("(duplicate copy)"), "{log}");
}

#[test]
fn padding_and_quiet_and_json() {
    let server = TestServer::start(&["--loss", "0"]);
    let port = server.port().to_string();
    let (out, _) = ping(&args(&port, &["-c", "2", "-s", "100", "-q", "localhost"]));
    assert!(
        out.starts_with(&format!(
            "PING localhost (127.0.0.1) UDP port {port}: 100 bytes of data.\n\n---"
        )),
        "{out}"
    );
    let (out, outcome) = ping(&args(
        &port,
        &["-c", "2", "-s", "64", "--json", "localhost"],
    ));
    assert_eq!(outcome, Ok(Outcome::Replied));
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(doc["transmitted"], 2);
    assert_eq!(doc["received"], 2);
    assert_eq!(doc["loss_percent"], 0.0);
    assert_eq!(doc["transport"], "udp");
    assert_eq!(doc["replies"][1]["seq"], 2);
    assert_eq!(doc["replies"][1]["bytes"], 64);
    assert!(doc["rtt_ms"]["min"].as_f64().unwrap() > 0.0);
    let log = server.stop();
    assert!(log.contains("received Ping 1 (100 bytes)"), "{log}");
}

#[test]
fn deadline_keeps_pinging_until_it_passes() {
    let server = TestServer::start(&["--loss", "0"]);
    let port = server.port().to_string();
    let (out, outcome) = ping(&["-p", &port, "-i", "0.02", "-w", "0.15", "localhost"]);
    assert_eq!(outcome, Ok(Outcome::Replied));
    let sent: u64 = out
        .lines()
        .find_map(|l| l.split(" packets transmitted").next()?.parse().ok())
        .expect("summary");
    assert!(
        (3..=9).contains(&sent),
        "about 0.15 / 0.02 probes (fewer if the machine is busy): {out}"
    );
    let ms: u64 = out
        .split(", time ")
        .nth(1)
        .and_then(|t| t.split("ms").next()?.parse().ok())
        .expect("time");
    assert!(
        (150..400).contains(&ms),
        "stops at the 150 ms deadline: {out}"
    );
}

#[test]
fn verbose_shows_foreign_datagrams() {
    // A fake "server" that answers each probe with junk and then with a foreign seq, then echoes.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    let fake = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let (n, from) = socket.recv_from(&mut buf).unwrap();
        socket.send_to(b"hello", from).unwrap();
        socket.send_to(b"PING 99 1.0", from).unwrap();
        socket
            .send_to(&buf[..n].to_ascii_uppercase(), from)
            .unwrap();
    });
    let (out, outcome) = ping(&["-p", &port, "-c", "1", "-W", "2", "-v", "127.0.0.1"]);
    fake.join().unwrap();
    assert_eq!(outcome, Ok(Outcome::Replied));
    assert!(
        out.contains(
            "ignored 5 bytes: not a ping reply: first word \"hello\" is neither Ping nor Heartbeat"
        ),
        "{out}"
    );
    assert!(
        out.contains("ignored 11 bytes: seq 99 was never sent (or is too old)"),
        "{out}"
    );
    assert!(out.contains("seq=1 time="), "{out}");
}

#[test]
fn lab_dice_logs_its_rolls() {
    let server = TestServer::start(&["--kr", "--seed", "3"]);
    let port = server.port().to_string();
    let (out, _) = ping(&[
        "-p",
        &port,
        "-c",
        "12",
        "-i",
        "0.01",
        "-W",
        "1",
        "localhost",
    ]);
    let log = server.stop();
    assert!(log.contains("rolling the lab's dice"), "{log}");
    for line in log.lines().filter(|l| l.starts_with("dropped")) {
        let roll: u8 = line
            .split("dice rolled ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|r| r.parse().ok())
            .expect(line);
        assert!(roll < 4, "{line}");
    }
    assert_eq!(
        seqs_after(&out, "Request timed out (seq=").len(),
        seqs_after(&log, "dropped Ping ").len()
    );
}

#[test]
fn heartbeat_server_reports_delay_gaps_and_a_stopped_client() {
    let mut server = TestServer::start(&[
        "--heartbeat",
        "--dead-after",
        "0.5",
        "--loss",
        "0.3",
        "--seed",
        "5",
    ]);
    let port = server.port().to_string();
    let cli = <ping::cli::Cli as clap::Parser>::try_parse_from([
        "ping",
        "heartbeat",
        "-p",
        &port,
        "-c",
        "30",
        "-i",
        "0.005",
        "localhost",
    ])
    .unwrap();
    let Some(ping::cli::Command::Heartbeat(args)) = &cli.command else {
        panic!()
    };
    let options = ping::heartbeat_options(args, ping::Paint::PLAIN);
    let mut out = Vec::new();
    let sent = ping::heartbeat::run(
        &options,
        &mut out,
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(sent, 30);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("sent Heartbeat 30 "), "{out}");
    let log = server
        .wait_for("client stopped", Duration::from_secs(5))
        .to_string();
    server.stop();
    assert!(log.contains("client started at seq"), "{log}");
    assert!(log.contains(", one-way delay 0."), "{log}");
    // Every dropped heartbeat between the first and the last that arrived is reported lost.
    let beats: Vec<u64> = log
        .lines()
        .filter_map(|l| l.split(": seq ").nth(1))
        .filter_map(|r| r.split(',').next()?.parse().ok())
        .collect();
    let newest = *beats.iter().max().expect("some heartbeats arrived");
    let lost: Vec<u64> = log
        .lines()
        .filter_map(|l| l.split(": lost seq ").nth(1))
        .flat_map(|range| {
            let (a, b) = range.split_once("..").unwrap_or((range, range));
            a.parse::<u64>().unwrap()..=b.parse::<u64>().unwrap()
        })
        .collect();
    let dropped: Vec<u64> = seqs_after(&log, "dropped Heartbeat ")
        .into_iter()
        .filter(|&s| s < newest && s > beats[0])
        .collect();
    assert!(!dropped.is_empty(), "seed 5 at 30% drops some of 30: {log}");
    assert_eq!(lost, dropped);
    assert!(
        log.contains(&format!(
            "client stopped (silent for 0.5 s after seq {newest};"
        )),
        "{log}"
    );
}

#[test]
fn histogram_draws_every_reply_and_marks_every_loss_and_the_json_keeps_every_rtt() {
    let server = TestServer::start(&["--loss", "0.4", "--seed", "7"]);
    let port = server.port().to_string();
    let (out, outcome) = ping(&[
        "-p",
        &port,
        "-c",
        "25",
        "-i",
        "0.01",
        "-W",
        "1",
        "--histogram",
        "127.0.0.1",
    ]);
    assert_eq!(outcome, Ok(Outcome::Replied));
    let timed_out = seqs_after(&out, "Request timed out (seq=");
    let received = 25 - timed_out.len();
    let picture = out
        .split_once("rtt histogram (ms), ")
        .unwrap_or_else(|| panic!("no histogram after the statistics: {out}"))
        .1;
    assert!(
        picture.starts_with(&format!("{received} replies:\n")),
        "{out}"
    );
    // Every bin line ends in its count; together they hold every reply.
    let bins: Vec<&str> = picture
        .lines()
        .skip(1)
        .take_while(|l| l.contains(" - "))
        .collect();
    let counted: usize = bins
        .iter()
        .map(|l| {
            l.split_whitespace()
                .last()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(counted, received, "{out}");
    assert!((1..=8).contains(&bins.len()), "{out}");
    let sparkline = picture
        .split_once("by seq (1-25, ▁ fastest, █ slowest, ! lost):\n")
        .unwrap_or_else(|| panic!("no sparkline: {out}"))
        .1
        .trim();
    assert_eq!(sparkline.chars().count(), 25, "one mark per probe: {out}");
    let lost: Vec<u64> = sparkline
        .chars()
        .zip(1u64..)
        .filter(|(c, _)| *c == '!')
        .map(|(_, seq)| seq)
        .collect();
    let mut sorted = timed_out.clone();
    sorted.sort_unstable();
    assert_eq!(
        lost, sorted,
        "the ! marks are the probes that timed out: {out}"
    );
    server.stop();

    let server = TestServer::start(&["--loss", "0"]);
    let port = server.port().to_string();
    let (out, _) = ping(&args(
        &port,
        &["-c", "4", "--json", "--histogram", "localhost"],
    ));
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let rtts = doc["rtts_ms"].as_array().unwrap();
    assert_eq!(rtts.len(), 4, "{doc}");
    for (rtt, reply) in rtts.iter().zip(doc["replies"].as_array().unwrap()) {
        assert_eq!(rtt, &reply["time_ms"]);
    }
    let bins = doc["histogram"]["bins"].as_array().unwrap();
    let counted: u64 = bins.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 4, "{doc}");
    assert_eq!(
        doc["histogram"]["sparkline"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        4
    );
    server.stop();
}
