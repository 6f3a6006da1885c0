//! The pinger against the echo server over a simulated link: time is a number the test moves,
//! loss comes from the server's seeded model, and every run is the same.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use super::echo::{self, EchoServer, ServerEvent};
use super::fate::{FateModel, LossModel};
use super::icmp::{self, Echo};
use super::message::{Kind, Message};
use super::pinger::{Config, EndReason, Event, Ignored, Pinger, State, Transport};
use super::Clock;

const UNIX: Duration = Duration::from_secs(1_767_268_800);
const ONE_WAY: Duration = Duration::from_micros(100);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn server_addr() -> SocketAddr {
    "127.0.0.1:12000".parse().unwrap()
}

fn client_addr() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

struct Run {
    client: Vec<(Duration, Event)>,
    server: Vec<ServerEvent>,
    pinger: Pinger,
}

/// Runs a pinger against an echo server until the pinger is done, with `ONE_WAY` latency each
/// way. `interrupt_at` presses Ctrl-C at that simulated time.
fn simulate(config: Config, fate: FateModel, seed: u64, interrupt_at: Option<Duration>) -> Run {
    let start = Instant::now();
    let clock = Clock::new(start, UNIX);
    let mut pinger = Pinger::new(config, server_addr(), clock);
    let server_config = echo::Config {
        fate,
        seed,
        heartbeat_dead_after: None,
    };
    let mut server = EchoServer::new(server_config, clock);
    // (arrival, to_server, bytes)
    let mut in_transit: Vec<(Instant, bool, Vec<u8>)> = Vec::new();
    let mut run = Run {
        client: Vec::new(),
        server: Vec::new(),
        pinger: Pinger::new(Config::default(), server_addr(), clock),
    };
    let mut now = start;
    for _ in 0..100_000 {
        if let Some(at) = interrupt_at {
            if now >= start + at {
                pinger.handle_interrupt(now);
            }
        }
        pinger.handle_timeout(now);
        server.handle_timeout(now);
        while let Some(bytes) = pinger.poll_transmit() {
            in_transit.push((now + ONE_WAY, true, bytes));
        }
        while let Some(t) = server.poll_transmit() {
            assert_eq!(t.to, client_addr());
            in_transit.push((now + ONE_WAY, false, t.bytes));
        }
        while let Some(e) = pinger.poll_event() {
            run.client.push((now - start, e));
        }
        while let Some(e) = server.poll_event() {
            run.server.push(e);
        }
        if pinger.state() == State::Done {
            run.pinger = pinger;
            return run;
        }
        let next_arrival = in_transit.iter().map(|(at, _, _)| *at).min();
        let interrupt = interrupt_at.map(|at| start + at).filter(|&at| at > now);
        let Some(next) = [
            pinger.poll_timeout(),
            server.poll_timeout(),
            next_arrival,
            interrupt,
        ]
        .into_iter()
        .flatten()
        .min() else {
            panic!(
                "nothing left to happen but the pinger is {}",
                pinger.state()
            );
        };
        now = next;
        in_transit.sort_by_key(|(at, _, _)| *at);
        while in_transit.first().is_some_and(|(at, _, _)| *at <= now) {
            let (_, to_server, bytes) = in_transit.remove(0);
            if to_server {
                server.handle_datagram(now, &bytes, client_addr());
            } else {
                pinger.handle_datagram(now, &bytes, server_addr());
            }
        }
    }
    panic!("the simulation did not end");
}

fn no_loss() -> FateModel {
    FateModel {
        loss: LossModel::Probability(0.0),
        ..FateModel::default()
    }
}

fn replies_and_losses(run: &Run) -> Vec<(Duration, Event)> {
    run.client
        .iter()
        .filter(|(_, e)| !matches!(e, Event::Sent { .. }))
        .cloned()
        .collect()
}

#[test]
fn every_probe_answered_on_a_clean_link() {
    let config = Config {
        count: Some(3),
        ..Config::default()
    };
    let run = simulate(config, no_loss(), 1, None);
    let rtt = ONE_WAY * 2;
    let bytes = "PING 1 1767268800.000000".len();
    assert_eq!(
        run.client,
        vec![
            (ms(0), Event::Sent { seq: 1, bytes }),
            (
                rtt,
                Event::Reply {
                    seq: 1,
                    rtt,
                    bytes,
                    duplicate: false
                }
            ),
            (ms(1000), Event::Sent { seq: 2, bytes }),
            (
                ms(1000) + rtt,
                Event::Reply {
                    seq: 2,
                    rtt,
                    bytes,
                    duplicate: false
                }
            ),
            (ms(2000), Event::Sent { seq: 3, bytes }),
            (
                ms(2000) + rtt,
                Event::Reply {
                    seq: 3,
                    rtt,
                    bytes,
                    duplicate: false
                }
            ),
            (ms(2000) + rtt, Event::Done(EndReason::Completed)),
        ]
    );
    assert_eq!(
        run.pinger.summary().render("localhost"),
        "--- localhost ping statistics ---\n\
         3 packets transmitted, 3 received, 0% packet loss, time 2000ms\n\
         rtt min/avg/max/mdev = 0.200/0.200/0.200/0.000 ms\n"
    );
    assert!(run.pinger.succeeded());
}

#[test]
fn seeded_loss_times_out_exactly_the_probes_the_server_dropped() {
    for seed in [1, 2, 3, 42, 2026] {
        let config = Config {
            count: Some(20),
            ..Config::default()
        };
        let run = simulate(config, FateModel::default(), seed, None);
        let dropped: Vec<u64> = run
            .server
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Dropped { label, .. } => label.seq,
                _ => None,
            })
            .collect();
        let timed_out: Vec<u64> = run
            .client
            .iter()
            .filter_map(|(_, e)| match e {
                Event::TimedOut { seq } => Some(*seq),
                _ => None,
            })
            .collect();
        assert_eq!(timed_out, dropped, "seed {seed}");
        let statistics = run.pinger.summary().statistics;
        assert_eq!(statistics.transmitted, 20);
        assert_eq!(
            statistics.received,
            20 - dropped.len() as u64,
            "seed {seed}"
        );
        // A probe that times out is reported one timeout after it left.
        for (at, event) in &run.client {
            if let Event::TimedOut { seq } = event {
                assert_eq!(*at, ms(1000) * (*seq as u32 - 1) + ms(1000), "seed {seed}");
            }
        }
        // The same seed gives the same run.
        let again = simulate(
            Config {
                count: Some(20),
                ..Config::default()
            },
            FateModel::default(),
            seed,
            None,
        );
        assert_eq!(again.client, run.client);
    }
}

#[test]
fn lab_dice_loses_about_four_in_eleven() {
    let config = Config {
        count: Some(2200),
        interval: ms(10),
        timeout: ms(5),
        ..Config::default()
    };
    let fate = FateModel {
        loss: LossModel::LabDice,
        ..FateModel::default()
    };
    let run = simulate(config, fate, 11, None);
    let s = run.pinger.summary().statistics;
    let lost = s.transmitted - s.received;
    assert!(
        (700..900).contains(&lost),
        "lost {lost} of 2200, expected about 800"
    );
}

#[test]
fn a_reply_after_its_timeout_is_late_and_never_matched_to_another_probe() {
    let config = Config {
        count: Some(3),
        ..Config::default()
    };
    let fate = FateModel {
        delay: ms(1500),
        ..no_loss()
    };
    let run = simulate(config, fate, 1, None);
    let rtt = ms(1500) + ONE_WAY * 2;
    let bytes = 24;
    assert_eq!(
        replies_and_losses(&run),
        vec![
            (ms(1000), Event::TimedOut { seq: 1 }),
            (rtt, Event::Late { seq: 1, rtt, bytes }),
            (ms(2000), Event::TimedOut { seq: 2 }),
            (ms(1000) + rtt, Event::Late { seq: 2, rtt, bytes }),
            (ms(3000), Event::TimedOut { seq: 3 }),
            (ms(3000), Event::Done(EndReason::Completed)),
        ]
    );
    let statistics = run.pinger.summary().statistics;
    assert_eq!((statistics.received, statistics.late), (0, 2));
    assert!(!run.pinger.succeeded());
}

#[test]
fn duplicates_are_flagged_and_counted_apart() {
    let config = Config {
        count: Some(2),
        ..Config::default()
    };
    let fate = FateModel {
        duplicate: 1.0,
        ..no_loss()
    };
    let run = simulate(config, fate, 5, None);
    let rtt = ONE_WAY * 2;
    let replies: Vec<_> = replies_and_losses(&run)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        replies,
        vec![
            Event::Reply {
                seq: 1,
                rtt,
                bytes: 24,
                duplicate: false
            },
            Event::Reply {
                seq: 1,
                rtt,
                bytes: 24,
                duplicate: true
            },
            Event::Reply {
                seq: 2,
                rtt,
                bytes: 24,
                duplicate: false
            },
            Event::Done(EndReason::Completed),
        ]
    );
    assert!(run
        .pinger
        .summary()
        .render("h")
        .contains("2 packets transmitted, 2 received, +1 duplicates, 0% packet loss"));
}

#[test]
fn jitter_reorders_replies_and_each_finds_its_own_probe() {
    let config = Config {
        count: Some(30),
        interval: ms(10),
        timeout: ms(1000),
        ..Config::default()
    };
    let fate = FateModel {
        jitter: ms(80),
        ..no_loss()
    };
    let run = simulate(config, fate, 8, None);
    let mut sent_at = std::collections::HashMap::new();
    let mut order = Vec::new();
    for (at, e) in &run.client {
        match e {
            Event::Sent { seq, .. } => {
                sent_at.insert(*seq, *at);
            }
            Event::Reply {
                seq,
                rtt,
                duplicate: false,
                ..
            } => {
                assert_eq!(
                    *at - sent_at[seq],
                    *rtt,
                    "seq {seq} matched to the wrong probe"
                );
                order.push(*seq);
            }
            Event::Done(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(order.len(), 30);
    assert!(
        order.windows(2).any(|w| w[0] > w[1]),
        "80 ms of jitter at 10 ms spacing should reorder: {order:?}"
    );
}

#[test]
fn deadline_stops_an_unbounded_run() {
    let config = Config {
        count: None,
        deadline: Some(ms(3500)),
        ..Config::default()
    };
    let run = simulate(config, no_loss(), 1, None);
    assert_eq!(
        run.client.last(),
        Some(&(ms(3500), Event::Done(EndReason::Deadline)))
    );
    let s = run.pinger.summary();
    assert_eq!(
        (s.statistics.transmitted, s.statistics.received, s.elapsed),
        (4, 4, ms(3500))
    );
}

#[test]
fn with_a_deadline_count_means_replies_not_probes() {
    let config = Config {
        count: Some(5),
        deadline: Some(ms(60_000)),
        ..Config::default()
    };
    let fate = FateModel {
        loss: LossModel::Probability(0.5),
        ..FateModel::default()
    };
    let run = simulate(config, fate, 3, None);
    let s = run.pinger.summary().statistics;
    assert_eq!(run.pinger.end_reason(), Some(EndReason::CountReached));
    assert_eq!(s.received, 5);
    assert!(
        s.transmitted > 5,
        "half are lost, so more than 5 probes were needed: {s:?}"
    );
    assert!(run.pinger.succeeded());
}

#[test]
fn interrupt_ends_the_run_and_counts_what_is_in_flight_as_lost() {
    let config = Config {
        count: Some(10),
        ..Config::default()
    };
    let fate = FateModel {
        delay: ms(300),
        ..no_loss()
    };
    let run = simulate(config, fate, 1, Some(ms(2100)));
    assert_eq!(
        run.client.last(),
        Some(&(ms(2100), Event::Done(EndReason::Interrupted)))
    );
    let s = run.pinger.summary();
    assert_eq!((s.statistics.transmitted, s.statistics.received), (3, 2));
    assert_eq!(
        s.render("localhost").lines().nth(1),
        Some("3 packets transmitted, 2 received, 33.3333% packet loss, time 2100ms")
    );
}

#[test]
fn padding_is_echoed_upper_cased_and_still_matches() {
    let config = Config {
        count: Some(1),
        size: 64,
        ..Config::default()
    };
    let run = simulate(config, no_loss(), 1, None);
    assert!(
        matches!(
            run.client[1].1,
            Event::Reply {
                seq: 1,
                bytes: 64,
                duplicate: false,
                ..
            }
        ),
        "{:?}",
        run.client
    );
}

fn pinger_with_probe(config: Config) -> (Instant, Pinger, Vec<u8>) {
    let start = Instant::now();
    let mut pinger = Pinger::new(config, server_addr(), Clock::new(start, UNIX));
    pinger.handle_timeout(start);
    let probe = pinger
        .poll_transmit()
        .expect("the first probe is due at start");
    (start, pinger, probe)
}

fn events(pinger: &mut Pinger) -> Vec<Event> {
    std::iter::from_fn(|| pinger.poll_event())
        .filter(|e| !matches!(e, Event::Sent { .. }))
        .collect()
}

#[test]
fn foreign_and_malformed_datagrams_are_ignored_with_a_reason() {
    let (start, mut pinger, probe) = pinger_with_probe(Config {
        count: Some(1),
        ..Config::default()
    });
    assert_eq!(probe, b"Ping 1 1767268800.000000".to_vec());
    let now = start + ms(1);
    let stranger: SocketAddr = "127.0.0.1:9".parse().unwrap();
    pinger.handle_datagram(now, b"PING 1 1767268800.000000", stranger);
    pinger.handle_datagram(now, b"hello", server_addr());
    pinger.handle_datagram(now, b"PING 2 1767268800.000000", server_addr());
    pinger.handle_datagram(now, b"PING 1 1767268799.000000", server_addr());
    pinger.handle_datagram(now, b"HEARTBEAT 1 1767268800.000000", server_addr());
    pinger.handle_datagram(now, b"PING 1 1767268800.000000", server_addr());
    let malformed = Message::parse(b"hello").unwrap_err();
    assert_eq!(
        events(&mut pinger),
        vec![
            Event::Ignored {
                bytes: 24,
                reason: Ignored::ForeignSource { from: stranger }
            },
            Event::Ignored {
                bytes: 5,
                reason: Ignored::Malformed(malformed)
            },
            Event::Ignored {
                bytes: 24,
                reason: Ignored::UnknownSeq { seq: 2 }
            },
            Event::Ignored {
                bytes: 24,
                reason: Ignored::Mismatch { seq: 1 }
            },
            Event::Ignored {
                bytes: 29,
                reason: Ignored::NotAPing { seq: 1 }
            },
            Event::Reply {
                seq: 1,
                rtt: ms(1),
                bytes: 24,
                duplicate: false
            },
            Event::Done(EndReason::Completed),
        ]
    );
}

#[test]
fn port_unreachable_answers_the_newest_probe_at_once() {
    let (start, mut pinger, _) = pinger_with_probe(Config {
        count: Some(2),
        ..Config::default()
    });
    pinger.handle_unreachable(start + ms(0));
    pinger.handle_timeout(start + ms(1000));
    assert!(pinger.poll_transmit().is_some());
    pinger.handle_unreachable(start + ms(1000));
    assert_eq!(
        events(&mut pinger),
        vec![
            Event::Unreachable { seq: Some(1) },
            Event::Unreachable { seq: Some(2) },
            Event::Done(EndReason::Completed),
        ]
    );
    let summary = pinger.summary();
    assert_eq!(
        summary.render("localhost"),
        "--- localhost ping statistics ---\n\
         2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1000ms\n"
    );
    assert!(!pinger.succeeded());
}

#[test]
fn poll_timeout_is_the_next_send_expiry_or_deadline() {
    let config = Config {
        count: Some(2),
        interval: ms(1000),
        timeout: ms(300),
        deadline: None,
        ..Config::default()
    };
    let (start, mut pinger, _) = pinger_with_probe(config);
    assert_eq!(pinger.poll_timeout(), Some(start + ms(300)));
    pinger.handle_timeout(start + ms(300));
    assert_eq!(pinger.poll_timeout(), Some(start + ms(1000)));
    pinger.handle_timeout(start + ms(1000));
    assert_eq!(pinger.state(), State::Draining);
    assert_eq!(pinger.poll_timeout(), Some(start + ms(1300)));
    pinger.handle_timeout(start + ms(1300));
    assert_eq!(pinger.state(), State::Done);
    assert_eq!(pinger.poll_timeout(), None);
}

#[test]
fn icmp_transport_wraps_the_same_text_in_an_echo_request() {
    let config = Config {
        count: Some(1),
        transport: Transport::IcmpEcho,
        ..Config::default()
    };
    let (start, mut pinger, probe) = pinger_with_probe(config);
    let request = Echo::parse(&probe).unwrap();
    assert_eq!(
        (request.icmp_type, request.sequence),
        (icmp::ECHO_REQUEST, 1)
    );
    assert_eq!(request.data, b"Ping 1 1767268800.000000");
    // The peer answers with type 0 and the same data; its source port is irrelevant for ICMP.
    let reply = Echo {
        icmp_type: icmp::ECHO_REPLY,
        identifier: 77,
        ..request
    }
    .to_bytes();
    let from: SocketAddr = "127.0.0.1:0".parse().unwrap();
    pinger.handle_datagram(start + ms(2), &probe, from);
    pinger.handle_datagram(start + ms(2), &reply, from);
    assert_eq!(
        events(&mut pinger),
        vec![
            Event::Ignored {
                bytes: 32,
                reason: Ignored::IcmpRequest
            },
            Event::Reply {
                seq: 1,
                rtt: ms(2),
                bytes: 32,
                duplicate: false
            },
            Event::Done(EndReason::Completed),
        ]
    );
}

#[test]
fn server_echoes_anything_upper_cased_and_logs_each_fate() {
    let start = Instant::now();
    let config = echo::Config {
        fate: FateModel {
            loss: LossModel::LabDice,
            ..FateModel::default()
        },
        seed: 4,
        heartbeat_dead_after: None,
    };
    let mut server = EchoServer::new(config, Clock::new(start, UNIX));
    let mut echoed = Vec::new();
    for seq in 1..=40u64 {
        let bytes = Message::build(Kind::Ping, seq, UNIX, 0);
        server.handle_datagram(start, &bytes, client_addr());
        while let Some(t) = server.poll_transmit() {
            assert_eq!(t.bytes, bytes.to_ascii_uppercase());
            echoed.push(seq);
        }
    }
    server.handle_datagram(start, b"hello \xff", client_addr());
    let counts = server.counts();
    assert_eq!(counts.received, 41);
    assert_eq!(counts.received, counts.dropped + counts.echoed);
    let mut logged_drops = 0;
    for event in std::iter::from_fn(|| server.poll_event()) {
        match event {
            ServerEvent::Dropped {
                roll: Some(roll), ..
            } => {
                assert!(roll < 4);
                logged_drops += 1;
            }
            ServerEvent::Echoed { label, .. } => {
                assert!(label.seq.is_none() || echoed.contains(&label.seq.unwrap()))
            }
            ServerEvent::Received { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(logged_drops, counts.dropped);
    if counts.echoed as usize > echoed.len() {
        assert_eq!(
            server.poll_transmit().map(|t| t.bytes),
            Some(b"HELLO \xff".to_vec())
        );
    }
}

#[test]
fn server_holds_delayed_echoes_until_due() {
    let start = Instant::now();
    let fate = FateModel {
        delay: ms(50),
        ..no_loss()
    };
    let mut server = EchoServer::new(
        echo::Config {
            fate,
            seed: 1,
            heartbeat_dead_after: None,
        },
        Clock::new(start, UNIX),
    );
    server.handle_datagram(start, b"Ping 1 0", client_addr());
    assert_eq!(server.poll_transmit(), None);
    assert_eq!(server.poll_timeout(), Some(start + ms(50)));
    server.handle_timeout(start + ms(49));
    assert_eq!(server.poll_transmit(), None);
    server.handle_timeout(start + ms(50));
    assert_eq!(
        server.poll_transmit().map(|t| t.bytes),
        Some(b"PING 1 0".to_vec())
    );
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn heartbeat_server_tracks_instead_of_echoing() {
    use super::heartbeat::MonitorEvent;
    let start = Instant::now();
    let config = echo::Config {
        fate: no_loss(),
        seed: 1,
        heartbeat_dead_after: Some(ms(2000)),
    };
    let mut server = EchoServer::new(config, Clock::new(start, UNIX));
    server.set_datagram_events(false);
    let a = client_addr();
    for seq in [1u64, 2, 5] {
        let sent = UNIX + ms(100 * seq);
        server.handle_datagram(
            start + ms(100 * seq + 1),
            &Message::build(Kind::Heartbeat, seq, sent, 0),
            a,
        );
    }
    server.handle_datagram(start + ms(600), b"Ping 9 0", a);
    assert_eq!(
        server.poll_transmit().map(|t| t.bytes),
        Some(b"PING 9 0".to_vec())
    );
    assert_eq!(
        server.poll_transmit(),
        None,
        "heartbeats are never answered"
    );
    assert_eq!(server.poll_timeout(), Some(start + ms(2501)));
    server.handle_timeout(start + ms(2501));
    let events: Vec<_> = std::iter::from_fn(|| server.poll_event()).collect();
    let beat = |seq| {
        ServerEvent::Heartbeat(MonitorEvent::Beat {
            from: a,
            seq,
            one_way_us: 1000,
        })
    };
    assert_eq!(
        events,
        vec![
            ServerEvent::Heartbeat(MonitorEvent::Started { from: a, seq: 1 }),
            beat(1),
            beat(2),
            ServerEvent::Heartbeat(MonitorEvent::Lost {
                from: a,
                first: 3,
                last: 4
            }),
            beat(5),
            ServerEvent::Heartbeat(MonitorEvent::Stopped {
                from: a,
                last_seq: 5,
                silent: ms(2000),
                received: 3,
                lost: 2
            }),
        ]
    );
    assert_eq!(server.counts().heartbeats, 3);
}
