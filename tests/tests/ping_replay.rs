//! The pinger core replayed from UDP traces (`tests/traces/ping/`). Each trace plays the
//! server: its `S:` datagrams are delivered to the pinger at the simulated time the `<wait>`s
//! add up to, `<lost>` marks a reply that never came. The pinger must send exactly the
//! recorded `C:` datagrams, and the snapshot shows the exchange and the lines `ping` prints
//! (with the simulated time of each).
//!
//! A datagram is never cut: UDP delivers it whole or not at all, so each is fed in one read.
//! Metadata: `# now:` is the Unix time at the start; `# count:`, `# interval-ms:`,
//! `# timeout-ms:` and `# size:` set `-c`, `-i`, `-W` and `-s` (the lab's 10, 1000, 1000, 0).

use std::net::SocketAddr;
use std::time::{Duration, Instant, UNIX_EPOCH};

use ping::client::{ClientOptions, Report};
use ping::Paint;
use pretty_assertions::assert_eq;
use protolab_tests::corpus;
use protolab_tests::replay::{replay_once, CoreUnderTest, Output, ReplaySpec};
use wire::ping::pinger::{Config, Event, Pinger, State, Transport};
use wire::ping::Clock;
use wire::testing::Segmentation;
use wire::trace::{Tag, Trace};

struct PingerUnderTest {
    pinger: Pinger,
    options: ClientOptions,
    start: Instant,
    now: Instant,
    peer: SocketAddr,
    outbox: Vec<Vec<u8>>,
    lines: Vec<String>,
}

fn meta_u64(trace: &Trace, key: &str, default: u64) -> u64 {
    trace.meta(key).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("# {key}: {v} is not a number"))
    })
}

impl PingerUnderTest {
    fn new(recorded: &Trace) -> PingerUnderTest {
        let unix = recorded
            .now()
            .expect("a ping trace has # now:")
            .duration_since(UNIX_EPOCH)
            .unwrap();
        let config = Config {
            count: Some(meta_u64(recorded, "count", 10)),
            interval: Duration::from_millis(meta_u64(recorded, "interval-ms", 1000)),
            timeout: Duration::from_millis(meta_u64(recorded, "timeout-ms", 1000)),
            deadline: None,
            size: meta_u64(recorded, "size", 0) as usize,
            transport: Transport::Udp,
        };
        let peer: SocketAddr = "127.0.0.1:12000".parse().unwrap();
        let options = ClientOptions {
            host: "localhost".into(),
            port: peer.port(),
            config: config.clone(),
            quiet: false,
            verbose: true,
            json: false,
            histogram: false,
            paint: Paint::PLAIN,
        };
        let start = Instant::now();
        let pinger = Pinger::new(config, peer, Clock::new(start, unix));
        PingerUnderTest {
            pinger,
            options,
            start,
            now: start,
            peer,
            outbox: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Moves simulated time to `until`, letting every deadline on the way fire in order.
    fn advance(&mut self, until: Instant) {
        while let Some(due) = self.pinger.poll_timeout().filter(|&due| due <= until) {
            self.now = due.max(self.now);
            self.step();
        }
        self.now = until;
        self.step();
    }

    fn step(&mut self) {
        self.pinger.handle_timeout(self.now);
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(bytes) = self.pinger.poll_transmit() {
            self.outbox.push(bytes);
        }
        let mut report = Report::new(&self.options, self.peer);
        while let Some(event) = self.pinger.poll_event() {
            if matches!(event, Event::Sent { .. }) {
                continue;
            }
            let mut text = Vec::new();
            report
                .event(&event, &self.pinger, &mut text)
                .expect("writes to a Vec");
            let at = self.now - self.start;
            for line in String::from_utf8(text).unwrap().lines() {
                let stamp = format!("{:>5}.{:03} ms", at.as_millis(), at.subsec_micros() % 1000);
                self.lines
                    .push(format!("{stamp} | {line}").trim_end().to_string());
            }
        }
    }
}

impl CoreUnderTest for PingerUnderTest {
    fn handle_input(&mut self, datagram: &[u8]) {
        self.pinger.handle_datagram(self.now, datagram, self.peer);
        self.collect();
    }

    fn handle_eof(&mut self) {
        panic!("UDP has no <close>");
    }

    fn handle_wait(&mut self, millis: u64) {
        self.advance(self.now + Duration::from_millis(millis));
    }

    fn poll_output(&mut self) -> Option<Output> {
        if self.now == self.start && self.pinger.state() == State::Sending {
            self.step();
        }
        (!self.outbox.is_empty()).then(|| Output::Bytes(self.outbox.remove(0)))
    }

    fn take_report(&mut self) -> Vec<String> {
        // The recording is over: let the last probes time out, as the real client would.
        while self.pinger.state() != State::Done {
            let Some(due) = self.pinger.poll_timeout() else {
                break;
            };
            self.advance(due.max(self.now));
        }
        let mut lines = std::mem::take(&mut self.lines);
        for bytes in std::mem::take(&mut self.outbox) {
            lines.push(format!(
                "sent after the recording ended: {}",
                wire::trace::escape_inline(&bytes)
            ));
        }
        lines
    }
}

#[test]
fn pinger_replays_udp_traces() {
    insta::glob!("../traces/ping", "*.trace", |path| {
        let recorded = corpus::load(path);
        let transcript = replay_once(
            &recorded,
            &ReplaySpec::client(),
            &Segmentation::Whole,
            PingerUnderTest::new(&recorded),
        );
        let sent: Vec<_> = transcript.trace.payloads(Tag::Client).cloned().collect();
        let recorded_probes: Vec<_> = recorded.payloads(Tag::Client).cloned().collect();
        assert_eq!(
            sent,
            recorded_probes,
            "{}: the pinger sent other probes than recorded",
            path.display()
        );
        insta::assert_snapshot!(transcript.render());
    });
}
