//! The `pinger` track: the UDP pinger lab, both sides, and the heartbeat.
//!
//! labs plays the server with a known set of dropped pings and known reply delays, so it can
//! check not only what goes over the wire but also what the learner's client prints.

use crate::catalog::{Role, Step, Track};
use crate::check::{Ctx, Failure};
use crate::exchange::Datagrams;
use std::net::UdpSocket;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wire::trace::escape_inline;

mod clock;
use clock::SentTime;

/// The track.
pub static TRACK: Track = Track {
    id: "pinger",
    title: "The UDP pinger: ping over an unreliable network",
    intro: "Datagrams, timeouts and round-trip times, on a network that loses packets.",
    steps: &[
        Step {
            slug: "client",
            title: "ten pings, timeouts for the lost ones",
            optional: false,
            role: Role::UdpClient,
            text: include_str!("../../steps/pinger/01-client.txt"),
            check: client,
        },
        Step {
            slug: "client-stats",
            title: "min/avg/max RTT and loss",
            optional: true,
            role: Role::UdpClient,
            text: include_str!("../../steps/pinger/02-client-stats.txt"),
            check: client_stats,
        },
        Step {
            slug: "server",
            title: "the echo server with simulated loss",
            optional: false,
            role: Role::UdpServer,
            text: include_str!("../../steps/pinger/03-server.txt"),
            check: server,
        },
        Step {
            slug: "heartbeat",
            title: "heartbeats and one-way delay",
            optional: true,
            role: Role::UdpClient,
            text: include_str!("../../steps/pinger/04-heartbeat.txt"),
            check: heartbeat,
        },
    ],
};

/// The pings labs drops in the client steps.
const DROPPED: [u32; 2] = [3, 7];

/// The delay labs adds before echoing ping `seq`, so the client's RTTs are known.
fn reply_delay(seq: u32) -> Duration {
    Duration::from_millis(10 + u64::from(seq * 7 % 30))
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A parsed `Ping <seq> <time>` (or `Heartbeat <seq> <time>`): the word, one space, the
/// sequence number, one space, and the rest of the datagram is the time, in whatever form the
/// learner's clock printed it (`1767268800.5`, `2026-12-06 21:00:12.3`, `Mon Dec  7 03:14:54 2026`).
#[derive(Debug, Clone, PartialEq)]
struct Probe<'d> {
    seq: u32,
    /// The time as sent, trailing line ending removed.
    time_text: &'d str,
    time: SentTime,
}

fn parse_probe<'d>(word: &str, datagram: &'d [u8]) -> Result<Probe<'d>, String> {
    let text = std::str::from_utf8(datagram).map_err(|_| "it is not text (UTF-8)".to_string())?;
    let text = text.trim_end_matches(['\r', '\n']);
    let shape = format!("`{word} <sequence number> <time>` (single spaces between the parts)");
    let rest = text
        .strip_prefix(word)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| format!("it does not start with `{word} `: it should be {shape}"))?;
    let (seq, time_text) = rest.split_once(' ').unwrap_or((rest, ""));
    if seq.is_empty() {
        return Err(format!("it is not {shape}"));
    }
    let seq = seq.parse::<u32>().map_err(|_| {
        format!(
            "`{}` is not a sequence number",
            escape_inline(seq.as_bytes())
        )
    })?;
    if time_text.trim().is_empty() {
        return Err(format!(
            "there is no time after the sequence number: it should be {shape}"
        ));
    }
    Ok(Probe {
        seq,
        time_text,
        time: SentTime::read(time_text),
    })
}

/// What a probe should have been, for the caret: `shape` (with `<any>` for the parts any value
/// will do), or, when the datagram is not text, its text part followed by `<text (UTF-8)>`, so
/// that the caret sits under the first byte that is not UTF-8.
fn expected_probe(shape: String, datagram: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(datagram) {
        Ok(_) => shape.into_bytes(),
        Err(e) => {
            let mut expected = datagram[..e.valid_up_to()].to_vec();
            expected.extend_from_slice(b"<text (UTF-8)>");
            expected
        }
    }
}

/// A note on the time in the learner's first ping or heartbeat: the form labs read it as, and
/// how far it is from labs' clock when that is more than a network delay. Never a failure.
fn time_note(what: &str, probe: &Probe<'_>, now: f64) -> String {
    match probe.time.behind(now) {
        None => format!(
            "labs could not read the time in your {what} (`{}`) as a clock; that is fine, the lab does not fix a format",
            escape_inline(probe.time_text.as_bytes())
        ),
        Some(off) if off.abs() > CLOCK_ALLOWANCE => format!(
            "the time in your {what} reads as {}, {:.0} s away from labs' clock (not checked: the lab does not fix your clock)",
            probe.time.form(),
            off.abs()
        ),
        Some(_) => format!("the time in your {what} reads as {}", probe.time.form()),
    }
}

/// How far a readable time may be from labs' clock and still count as a one-way delay.
const CLOCK_ALLOWANCE: f64 = 60.0;

/// Plays the lab's server for one run of the learner's client.
fn serve_pings(ctx: &mut Ctx, socket: &UdpSocket) -> Result<(), Failure> {
    let mut arrivals = Vec::new();
    let mut time_note_first = None;
    let mut datagrams = Datagrams::new(false, &ctx.log());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 2048];
    while arrivals.len() < 10 && Instant::now() < deadline {
        // The first ping may take a while (the program starts); after that a lab client sends
        // the next ping within about a second of the last.
        let wait = if arrivals.is_empty() {
            Duration::from_secs(10)
        } else {
            Duration::from_millis(2500)
        };
        let _ = socket.set_read_timeout(Some(wait));
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            break;
        };
        let datagram = &buf[..n];
        datagrams.received(datagram);
        let expected_seq = arrivals.len() as u32 + 1;
        let probe = parse_probe("Ping", datagram).map_err(|why| {
            Failure::new(
                "Each ping is `Ping <sequence number> <time>`",
                format!(
                    "datagram {expected_seq} (`{}`) was not a ping: {why}",
                    escape_inline(datagram)
                ),
            )
            .bytes(
                expected_probe(format!("Ping {expected_seq} <any>"), datagram),
                datagram.to_vec(),
            )
        })?;
        let seq = probe.seq;
        if seq != expected_seq {
            return Err(Failure::new(
                "Pings are numbered 1 to 10, one at a time",
                format!(
                    "ping {expected_seq} carried sequence number {seq}: `{}`",
                    escape_inline(datagram)
                ),
            )
            .hint("start at 1 and add one for each ping, lost or not"));
        }
        if arrivals.is_empty() {
            time_note_first = Some(time_note("pings", &probe, unix_now()));
        }
        arrivals.push((seq, Instant::now()));
        if DROPPED.contains(&seq) {
            datagrams.dropped();
            continue;
        }
        std::thread::sleep(reply_delay(seq));
        let reply = datagram.to_ascii_uppercase();
        datagrams.sent(&reply);
        let _ = socket.send_to(&reply, from);
    }
    ctx.notes.push(format!("labs dropped pings {DROPPED:?}"));
    ctx.notes.extend(time_note_first);
    if arrivals.len() < 10 {
        return Err(Failure::new(
            "The client sends ten pings, numbered 1 to 10",
            format!("labs received {} ping(s)", arrivals.len()),
        )
        .hint("after a timeout, go on with the next ping; do not stop at the first lost one"));
    }
    // After a dropped ping the client must wait for its timeout (about a second) before the next.
    for window in arrivals.windows(2) {
        let ((seq, at), (_, next)) = (window[0], window[1]);
        let gap = next.duration_since(at);
        if DROPPED.contains(&seq) && gap < Duration::from_millis(800) {
            return Err(Failure::new(
                "The client waits about one second for each reply before giving up",
                format!(
                    "after ping {seq}, which was lost, the next came {} ms later",
                    gap.as_millis()
                ),
            )
            .hint("set a one-second timeout on the socket and wait for it"));
        }
    }
    Ok(())
}

/// Waits for the learner's client to finish and returns what it printed.
fn client_output(ctx: &mut Ctx) -> Option<String> {
    let process = ctx.learner()?;
    let _ = process.wait_exit(Duration::from_secs(5));
    Some(String::from_utf8_lossy(&process.stdout()).into_owned())
}

fn client(ctx: &mut Ctx) -> Result<(), Failure> {
    let socket = ctx.udp_client_socket()?;
    serve_pings(ctx, &socket)?;
    let Some(output) = client_output(ctx) else {
        ctx.notes.push(
            "the output could not be checked: with --listen labs cannot see it (use --run)".into(),
        );
        return Ok(());
    };
    let timeouts = output
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains("timed out"))
        .count();
    if timeouts != DROPPED.len() {
        return Err(Failure::new(
            "The client prints `Request timed out` for each lost ping, and only for those",
            format!(
                "labs dropped {} pings ({DROPPED:?}); your client reported {timeouts} timeout(s)",
                DROPPED.len()
            ),
        )
        .hint("print one line per ping: the reply and its RTT, or Request timed out"));
    }
    for seq in (1..=10u32).filter(|s| !DROPPED.contains(s)) {
        // The lab prints the echoed `PING n ...`; ping-like clients print `seq=n`.
        let marks = [
            format!("PING {seq} "),
            format!("seq={seq} "),
            format!("seq {seq} "),
        ];
        let reported = output.lines().any(|l| {
            !l.to_ascii_lowercase().contains("timed out")
                && marks.iter().any(|m| format!("{l} ").contains(m.as_str()))
        });
        if !reported {
            return Err(Failure::new(
                "The client prints each reply it gets",
                format!("the reply to ping {seq} (`PING {seq} ...`) is not in your output"),
            ));
        }
    }
    Ok(())
}

/// All decimal numbers on a line.
fn numbers(line: &str) -> Vec<f64> {
    line.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.trim_matches('.').parse::<f64>().ok())
        .collect()
}

fn client_stats(ctx: &mut Ctx) -> Result<(), Failure> {
    let socket = ctx.udp_client_socket()?;
    serve_pings(ctx, &socket)?;
    let Some(output) = client_output(ctx) else {
        return Err(Failure::new(
            "labs reads the figures your client prints",
            "with --listen labs cannot see your output",
        )
        .hint("use --run 'CMD {host} {port}'"));
    };
    let delays: Vec<f64> = (1..=10u32)
        .filter(|s| !DROPPED.contains(s))
        .map(|s| reply_delay(s).as_secs_f64())
        .collect();
    let expected_min = delays.iter().copied().fold(f64::MAX, f64::min);
    let expected_max = delays.iter().copied().fold(0.0, f64::max);
    let expected_avg = delays.iter().sum::<f64>() / delays.len() as f64;
    let lower = output.to_ascii_lowercase();
    let stats_line = lower
        .lines()
        .find(|l| l.contains("min") && l.contains("max"))
        .ok_or_else(|| {
            Failure::new(
                "The client prints min, avg and max RTT",
                "no line of your output names min and max",
            )
            .hint("print a line like: rtt min/avg/max = 0.021/0.034/0.052 s")
        })?;
    let figures = numbers(stats_line);
    let in_ms = stats_line.contains("ms");
    let scale = if in_ms { 1000.0 } else { 1.0 };
    let close = |got: f64, want: f64| (got / scale - want).abs() <= 0.004 + want * 0.25;
    let found = |want: f64| figures.iter().any(|&g| close(g, want));
    for (name, want) in [
        ("min", expected_min),
        ("avg", expected_avg),
        ("max", expected_max),
    ] {
        if !found(want) {
            return Err(Failure::new(
                "The RTT figures match the round trips labs served",
                format!("no figure on `{}` is close to the {name} labs expected ({:.4} s)", stats_line.trim(), want),
            )
            .hint("RTT = time after recvfrom minus time before sendto; only count pings that came back"));
        }
    }
    let loss_percent = 100.0 * DROPPED.len() as f64 / 10.0;
    let loss_line = lower.lines().find(|l| l.contains("loss")).ok_or_else(|| {
        Failure::new(
            "The client prints the packet loss rate",
            "no line of your output mentions loss",
        )
    })?;
    let loss_ok = numbers(loss_line)
        .iter()
        .any(|&v| (v - loss_percent).abs() < 0.01 || (v - loss_percent / 100.0).abs() < 0.0001);
    if !loss_ok {
        return Err(Failure::new(
            "The loss rate is the share of pings that got no reply",
            format!(
                "labs dropped {} of 10 ({loss_percent}%), your line says `{}`",
                DROPPED.len(),
                loss_line.trim()
            ),
        ));
    }
    Ok(())
}

/// How many probes labs sends to see that the learner's server answers, and how often: a
/// bounded number at a steady rate, whatever comes back (an ICMP "port unreachable" makes the
/// next `recv` fail at once, so a loop that resent on every error would flood the port).
const PROBES: u32 = 30;
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Probes the learner's server (`Ping 0 <time>`) until one reply comes back. A started server
/// gives no other sign that it is ready.
fn wait_for_echo(ctx: &mut Ctx, socket: &UdpSocket) -> Result<(), Failure> {
    let mut datagrams = Datagrams::new(true, &ctx.log());
    let start = Instant::now();
    let mut buf = [0u8; 2048];
    let mut refused = 0u32;
    for probe in 0..PROBES {
        let due = start + PROBE_EVERY * probe;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if let Some(process) = ctx.learner() {
            if !process.is_running() {
                let how = process
                    .wait_exit(Duration::ZERO)
                    .map(crate::learner::describe_exit)
                    .unwrap_or_default();
                return Err(Failure::new(
                    "The server echoes pings",
                    format!("your program ended ({how}) before it answered a ping"),
                )
                .hint("a UDP server loops for ever: recvfrom, maybe drop, sendto"));
            }
        }
        let probe_ping = format!("Ping 0 {:.6}", unix_now());
        datagrams.sent(probe_ping.as_bytes());
        let sent = socket.send(probe_ping.as_bytes());
        if sent
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            refused += 1;
            continue;
        }
        let next = start + PROBE_EVERY * (probe + 1);
        let wait = next
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let _ = socket.set_read_timeout(Some(wait));
        match socket.recv(&mut buf) {
            Ok(n) => {
                datagrams.received(&buf[..n]);
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused += 1,
            Err(_) => {}
        }
    }
    let secs = (PROBE_EVERY * PROBES).as_secs_f64();
    let failure = if refused > 0 {
        Failure::new(
            "The server echoes pings",
            format!(
                "{PROBES} probe pings in {secs:.0} s got no reply: connection refused: nothing listens on that UDP port"
            ),
        )
        .hint(match ctx.reach() {
            crate::check::Reach::Run(_) => {
                "bind the UDP socket to the port your program is given ({port}) before the loop"
            }
            _ => "is your server running, bound to that UDP port? Start it, or use --run 'CMD {port}'",
        })
    } else {
        Failure::new(
            "The server echoes pings",
            format!("{PROBES} probe pings in {secs:.0} s got no reply (a 30% loss would drop only some)"),
        )
        .hint("does your server sendto() the reply to the address recvfrom() gave?")
    };
    Err(failure)
}

fn server(ctx: &mut Ctx) -> Result<(), Failure> {
    let (socket, target) = ctx.udp_server()?;
    let _ = socket.connect(target);
    wait_for_echo(ctx, &socket)?;
    let mut datagrams = Datagrams::new(true, &ctx.log());
    let mut buf = [0u8; 2048];
    // Drain late probe replies.
    let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
    while let Ok(n) = socket.recv(&mut buf) {
        datagrams.received(&buf[..n]);
    }

    const PINGS: u32 = 300;
    let mut sent = Vec::new();
    for seq in 1..=PINGS {
        let ping = format!("Ping {seq} {:.6}", unix_now());
        datagrams.sent(ping.as_bytes());
        let _ = socket.send(ping.as_bytes());
        sent.push(ping);
        if seq % 20 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let mut replies = 0u32;
    let mut seen = vec![false; PINGS as usize + 1];
    let _ = socket.set_read_timeout(Some(Duration::from_millis(500)));
    while let Ok(n) = socket.recv(&mut buf) {
        let reply = &buf[..n];
        datagrams.received(reply);
        // The sequence number is the second word, whatever bytes follow it: a reply that
        // carries it and then bytes that are not text is judged on those bytes, below.
        let seq = reply
            .split(|&b| b == b' ')
            .nth(1)
            .and_then(|w| std::str::from_utf8(w).ok())
            .and_then(|s| s.parse::<usize>().ok());
        let Some(seq) = seq.filter(|&s| s >= 1 && s <= PINGS as usize) else {
            if reply.starts_with(b"PING 0 ") {
                continue;
            }
            return Err(Failure::new(
                "The server echoes each ping upper-cased",
                format!(
                    "a reply did not carry a ping's sequence number: `{}`",
                    escape_inline(reply)
                ),
            )
            .bytes(b"PING <any> <any>".to_vec(), reply.to_vec()));
        };
        let expected = sent[seq - 1].to_ascii_uppercase();
        if reply != expected.as_bytes() {
            return Err(Failure::new(
                "The server echoes each ping upper-cased, byte for byte",
                format!(
                    "the reply to ping {seq} differs: `{}`",
                    escape_inline(reply)
                ),
            )
            .bytes(expected.into_bytes(), reply.to_vec()));
        }
        if !seen[seq] {
            seen[seq] = true;
            replies += 1;
        }
    }
    let loss = 1.0 - f64::from(replies) / f64::from(PINGS);
    ctx.notes.push(format!(
        "{replies} of {PINGS} pings came back: {:.1}% dropped",
        loss * 100.0
    ));
    if !(0.15..=0.50).contains(&loss) {
        return Err(Failure::new(
            "The server drops about 30% of pings at random",
            format!("{:.1}% of {PINGS} pings were dropped", loss * 100.0),
        )
        .hint("drop a ping when random.randint(0, 10) < 4 (or random.random() < 0.3)"));
    }
    Ok(())
}

fn heartbeat(ctx: &mut Ctx) -> Result<(), Failure> {
    let socket = ctx.udp_client_socket()?;
    let mut beats: Vec<(u32, Instant)> = Vec::new();
    let mut datagrams = Datagrams::new(false, &ctx.log());
    let start = Instant::now();
    let mut buf = [0u8; 2048];
    while beats.len() < 4 && start.elapsed() < Duration::from_secs(12) {
        let _ = socket.set_read_timeout(Some(Duration::from_millis(500)));
        let Ok(n) = socket.recv(&mut buf) else {
            if ctx.learner().is_some_and(|p| !p.is_running()) && beats.is_empty() {
                break;
            }
            continue;
        };
        let datagram = &buf[..n];
        datagrams.received(datagram);
        let probe = parse_probe("Heartbeat", datagram).map_err(|why| {
            Failure::new(
                "A heartbeat is `Heartbeat <sequence number> <time>`",
                format!(
                    "a datagram (`{}`) was not a heartbeat: {why}",
                    escape_inline(datagram)
                ),
            )
            .bytes(
                expected_probe("Heartbeat <any> <any>".into(), datagram),
                datagram.to_vec(),
            )
        })?;
        let seq = probe.seq;
        let now = unix_now();
        if beats.is_empty() {
            ctx.notes.push(time_note("heartbeats", &probe, now));
        }
        if let Some(delay) = probe
            .time
            .behind(now)
            .filter(|d| d.abs() <= CLOCK_ALLOWANCE)
        {
            ctx.notes.push(format!(
                "heartbeat {seq}: one-way delay {:.3} ms",
                delay * 1000.0
            ));
        }
        beats.push((seq, Instant::now()));
    }
    if beats.len() < 3 {
        return Err(Failure::new(
            "The client sends a heartbeat every interval",
            format!("labs received {} heartbeat(s) in 12 s", beats.len()),
        )
        .hint("send one every second, in a loop, without waiting for a reply"));
    }
    let gaps: Vec<Duration> = beats
        .windows(2)
        .map(|w| w[1].1.duration_since(w[0].1))
        .collect();
    for w in beats.windows(2) {
        if w[1].0 != w[0].0 + 1 {
            return Err(Failure::new(
                "Heartbeat sequence numbers go up by one",
                format!("{} was followed by {}", w[0].0, w[1].0),
            ));
        }
    }
    let (min, max) = (
        gaps.iter().min().copied().unwrap_or_default(),
        gaps.iter().max().copied().unwrap_or_default(),
    );
    if max > min * 3 + Duration::from_millis(50) {
        return Err(Failure::new(
            "Heartbeats come at a steady interval",
            format!(
                "gaps ranged from {} ms to {} ms",
                min.as_millis(),
                max.as_millis()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_carry_any_clock_after_the_sequence_number() {
        let probe = parse_probe("Ping", b"Ping 3 1767268800.5\n").unwrap();
        assert_eq!((probe.seq, probe.time_text), (3, "1767268800.5"));
        assert_eq!(probe.time, SentTime::Unix(1767268800.5));
        let probe = parse_probe("Ping", b"Ping 10 2026-12-06 21:00:12.3").unwrap();
        assert_eq!((probe.seq, probe.time_text), (10, "2026-12-06 21:00:12.3"));
        let probe = parse_probe("Ping", b"Ping 1 Mon Dec  7 03:14:54 2026").unwrap();
        assert_eq!(probe.time, SentTime::TimeOfDay(11694.0));
        // Any time at all is accepted; labs only notes one it cannot read.
        let probe = parse_probe("Ping", b"Ping 1 soon").unwrap();
        assert_eq!(probe.time, SentTime::Unreadable);
        assert!(time_note("pings", &probe, 0.0).contains("(`soon`)"));
    }

    #[test]
    fn probes_without_a_sequence_number_or_time_are_refused() {
        assert!(parse_probe("Ping", b"ping 3 1")
            .unwrap_err()
            .contains("does not start with `Ping `"));
        assert!(parse_probe("Ping", b"Ping  3 1")
            .unwrap_err()
            .contains("single spaces"));
        assert!(parse_probe("Ping", b"Ping x 1")
            .unwrap_err()
            .contains("`x`"));
        assert!(parse_probe("Ping", b"Ping 3")
            .unwrap_err()
            .contains("no time"));
        assert!(parse_probe("Ping", b"Ping 3 \r\n")
            .unwrap_err()
            .contains("no time"));
        assert!(parse_probe("Ping", b"Ping 3 \xff")
            .unwrap_err()
            .contains("not text"));
    }

    #[test]
    fn figures_are_read_from_a_line() {
        assert_eq!(
            numbers("rtt min/avg/max = 0.021/0.034/0.052 s"),
            vec![0.021, 0.034, 0.052]
        );
    }
}
