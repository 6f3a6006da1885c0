//! The lab's optional heartbeat exercise: a client that sends `Heartbeat <seq> <time>` every
//! interval without waiting for anything, and a server-side monitor that, per client, measures
//! the one-way delay, reports gaps in the sequence as lost heartbeats and declares the client
//! stopped after a stretch of silence.
//!
//! ```text
//! monitor, per client address:
//!   (unknown) --first beat--> Alive --beat seq = last+1--> Alive
//!                               |   --beat seq > last+1--> Alive, "lost seq last+1..seq-1"
//!                               |   --beat seq <= last---> Alive, "out of order"
//!                               +---silent for dead_after--> (forgotten), "client stopped"
//! ```
//!
//! The one-way delay is the monitor's Unix time at arrival minus the time in the message, so it
//! is only as right as the two clocks agree: on one machine it is exact, across machines it also
//! shows their offset (and can be negative).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::message::{Kind, Message};
use super::Clock;

/// The client: a heartbeat every interval, `count` of them or until stopped.
#[derive(Debug)]
pub struct Sender {
    clock: Clock,
    interval: Duration,
    count: Option<u64>,
    size: usize,
    next_seq: u64,
    next_send: Instant,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<SenderEvent>,
    done: bool,
}

/// What the heartbeat client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderEvent {
    /// A heartbeat left.
    Sent {
        /// Its sequence number.
        seq: u64,
        /// The Unix time it carries.
        time: Duration,
        /// Its size.
        bytes: usize,
    },
    /// `count` heartbeats went out, or the user stopped it.
    Done {
        /// How many were sent.
        sent: u64,
    },
}

impl Sender {
    /// A sender whose first heartbeat is due at `clock.start`.
    pub fn new(clock: Clock, interval: Duration, count: Option<u64>, size: usize) -> Self {
        Sender {
            clock,
            interval,
            count,
            size,
            next_seq: 1,
            next_send: clock.start,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            done: false,
        }
    }

    /// Time passed: send the heartbeat that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.done || now < self.next_send {
            return;
        }
        let seq = self.next_seq;
        let time = self.clock.unix_at(now);
        let bytes = Message::build(Kind::Heartbeat, seq, time, self.size);
        self.events.push_back(SenderEvent::Sent {
            seq,
            time,
            bytes: bytes.len(),
        });
        self.transmit.push_back(bytes);
        self.next_seq += 1;
        self.next_send += self.interval;
        if self.next_send < now {
            self.next_send = now + self.interval;
        }
        if self.count.is_some_and(|c| seq >= c) {
            self.stop();
        }
    }

    /// Stop sending (Ctrl-C).
    pub fn stop(&mut self) {
        if !self.done {
            self.done = true;
            self.events.push_back(SenderEvent::Done {
                sent: self.next_seq - 1,
            });
        }
    }

    /// The next heartbeat's bytes.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next thing to report.
    pub fn poll_event(&mut self) -> Option<SenderEvent> {
        self.events.pop_front()
    }

    /// When the next heartbeat is due; `None` once done.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.done).then_some(self.next_send)
    }

    /// True once `count` went out or it was stopped.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

/// What the monitor reports about its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorEvent {
    /// The first heartbeat from an address (or the first after it was declared stopped).
    Started {
        /// The client.
        from: SocketAddr,
        /// The heartbeat's number.
        seq: u64,
    },
    /// A heartbeat arrived.
    Beat {
        /// The client.
        from: SocketAddr,
        /// Its number.
        seq: u64,
        /// Arrival minus the time in the message, in microseconds (negative if the clocks
        /// disagree by more than the delay).
        one_way_us: i64,
    },
    /// Heartbeats `first..=last` never arrived.
    Lost {
        /// The client.
        from: SocketAddr,
        /// First missing number.
        first: u64,
        /// Last missing number.
        last: u64,
    },
    /// A heartbeat not after the newest one seen: late (it was counted lost) or duplicated.
    OutOfOrder {
        /// The client.
        from: SocketAddr,
        /// Its number.
        seq: u64,
        /// The newest number seen before it.
        newest: u64,
    },
    /// Nothing from the client for `silent` (at least the monitor's dead-after).
    Stopped {
        /// The client.
        from: SocketAddr,
        /// The last number it sent.
        last_seq: u64,
        /// How long it has been quiet.
        silent: Duration,
        /// Heartbeats received from it.
        received: u64,
        /// Heartbeats counted lost.
        lost: u64,
    },
}

#[derive(Debug, Clone)]
struct Client {
    newest: u64,
    last_seen: Instant,
    received: u64,
    lost: u64,
}

/// The server side: tracks every client that sends heartbeats.
#[derive(Debug)]
pub struct Monitor {
    clock: Clock,
    dead_after: Duration,
    clients: HashMap<SocketAddr, Client>,
    events: VecDeque<MonitorEvent>,
}

impl Monitor {
    /// A monitor that declares a client stopped after `dead_after` of silence.
    pub fn new(clock: Clock, dead_after: Duration) -> Self {
        Monitor {
            clock,
            dead_after,
            clients: HashMap::new(),
            events: VecDeque::new(),
        }
    }

    /// A heartbeat numbered `seq`, stamped `time`, arrived from `from`.
    pub fn handle_heartbeat(&mut self, now: Instant, from: SocketAddr, seq: u64, time: Duration) {
        let arrival = self.clock.unix_at(now);
        let one_way_us = arrival.as_micros() as i64 - time.as_micros() as i64;
        match self.clients.get_mut(&from) {
            None => {
                self.clients.insert(
                    from,
                    Client {
                        newest: seq,
                        last_seen: now,
                        received: 1,
                        lost: 0,
                    },
                );
                self.events.push_back(MonitorEvent::Started { from, seq });
                self.events.push_back(MonitorEvent::Beat {
                    from,
                    seq,
                    one_way_us,
                });
            }
            Some(client) => {
                client.last_seen = now;
                client.received += 1;
                if seq > client.newest + 1 {
                    let (first, last) = (client.newest + 1, seq - 1);
                    client.lost += last - first + 1;
                    self.events
                        .push_back(MonitorEvent::Lost { from, first, last });
                }
                if seq <= client.newest {
                    self.events.push_back(MonitorEvent::OutOfOrder {
                        from,
                        seq,
                        newest: client.newest,
                    });
                } else {
                    client.newest = seq;
                }
                self.events.push_back(MonitorEvent::Beat {
                    from,
                    seq,
                    one_way_us,
                });
            }
        }
    }

    /// Time passed: declare silent clients stopped.
    pub fn handle_timeout(&mut self, now: Instant) {
        let dead_after = self.dead_after;
        let mut stopped: Vec<(SocketAddr, Client)> = self
            .clients
            .iter()
            .filter(|(_, c)| now.saturating_duration_since(c.last_seen) >= dead_after)
            .map(|(a, c)| (*a, c.clone()))
            .collect();
        stopped.sort_by_key(|(a, c)| (c.last_seen, *a));
        for (from, client) in stopped {
            self.clients.remove(&from);
            self.events.push_back(MonitorEvent::Stopped {
                from,
                last_seq: client.newest,
                silent: now.saturating_duration_since(client.last_seen),
                received: client.received,
                lost: client.lost,
            });
        }
    }

    /// When the next client may be declared stopped.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.clients
            .values()
            .map(|c| c.last_seen + self.dead_after)
            .min()
    }

    /// The next thing to report.
    pub fn poll_event(&mut self) -> Option<MonitorEvent> {
        self.events.pop_front()
    }

    /// How many clients are alive.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const UNIX: Duration = Duration::from_secs(1_767_268_800);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn sender_beats_every_interval_without_waiting() {
        let start = Instant::now();
        let mut sender = Sender::new(Clock::new(start, UNIX), ms(100), Some(3), 0);
        let mut sent = Vec::new();
        let mut now = start;
        while let Some(due) = sender.poll_timeout() {
            now = due;
            sender.handle_timeout(now);
            while let Some(bytes) = sender.poll_transmit() {
                sent.push(String::from_utf8(bytes).unwrap());
            }
        }
        assert_eq!(
            sent,
            vec![
                "Heartbeat 1 1767268800.000000",
                "Heartbeat 2 1767268800.100000",
                "Heartbeat 3 1767268800.200000"
            ]
        );
        assert_eq!(now, start + ms(200));
        let events: Vec<_> = std::iter::from_fn(|| sender.poll_event()).collect();
        assert_eq!(events.last(), Some(&SenderEvent::Done { sent: 3 }));
    }

    #[test]
    fn monitor_reports_delay_gaps_order_and_silence() {
        let start = Instant::now();
        let clock = Clock::new(start, UNIX);
        let mut monitor = Monitor::new(clock, ms(1000));
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let sent = |seq: u64| UNIX + ms(100 * (seq - 1));
        // Beat 1 arrives 3 ms after it was sent, 2 and 3 are lost, 4 arrives, then late 3.
        monitor.handle_heartbeat(start + ms(3), a, 1, sent(1));
        monitor.handle_heartbeat(start + ms(305), a, 4, sent(4));
        monitor.handle_heartbeat(start + ms(400), a, 3, sent(3));
        assert_eq!(monitor.poll_timeout(), Some(start + ms(1400)));
        monitor.handle_timeout(start + ms(1399));
        assert_eq!(monitor.clients(), 1);
        monitor.handle_timeout(start + ms(1400));
        assert_eq!(monitor.clients(), 0);
        let events: Vec<_> = std::iter::from_fn(|| monitor.poll_event()).collect();
        assert_eq!(
            events,
            vec![
                MonitorEvent::Started { from: a, seq: 1 },
                MonitorEvent::Beat {
                    from: a,
                    seq: 1,
                    one_way_us: 3000
                },
                MonitorEvent::Lost {
                    from: a,
                    first: 2,
                    last: 3
                },
                MonitorEvent::Beat {
                    from: a,
                    seq: 4,
                    one_way_us: 5000
                },
                MonitorEvent::OutOfOrder {
                    from: a,
                    seq: 3,
                    newest: 4
                },
                MonitorEvent::Beat {
                    from: a,
                    seq: 3,
                    one_way_us: 200_000
                },
                MonitorEvent::Stopped {
                    from: a,
                    last_seq: 4,
                    silent: ms(1000),
                    received: 3,
                    lost: 2
                },
            ]
        );
        assert_eq!(monitor.poll_timeout(), None);
    }

    #[test]
    fn monitor_keeps_clients_apart() {
        let start = Instant::now();
        let mut monitor = Monitor::new(Clock::new(start, UNIX), ms(500));
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:5001".parse().unwrap();
        monitor.handle_heartbeat(start, a, 1, UNIX);
        monitor.handle_heartbeat(start + ms(300), b, 1, UNIX + ms(300));
        monitor.handle_heartbeat(start + ms(300), a, 2, UNIX + ms(300));
        monitor.handle_timeout(start + ms(800));
        let stopped: Vec<_> = std::iter::from_fn(|| monitor.poll_event())
            .filter_map(|e| match e {
                MonitorEvent::Stopped { from, .. } => Some(from),
                _ => None,
            })
            .collect();
        assert_eq!(stopped, vec![a, b]);
    }
}
