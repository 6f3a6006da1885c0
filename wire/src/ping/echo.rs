//! The lab's server: every datagram received is dropped or echoed upper-cased, perhaps later
//! and perhaps twice, as [`super::fate`] decides with a seeded RNG.
//!
//! ```text
//! datagram --fate--> dropped                        (Dropped)
//!               \--> echoed after delay, 1 or 2x    (Echoed when it leaves)
//! heartbeat mode:
//! Heartbeat --fate--> dropped                       (Dropped: the "network" lost it)
//!                \--> arrives after delay           (Monitor: one-way delay, gaps, silence)
//! ```
//!
//! The server echoes any datagram, well-formed or not, as the lab's server does; it only parses
//! to log the sequence number. In heartbeat mode `Heartbeat` datagrams are tracked by a
//! [`Monitor`] instead of echoed (the lab's heartbeat server never answers); pings are still
//! echoed.
//!
//! Out of scope: the socket and the clock. The shell calls [`EchoServer::handle_datagram`] for
//! each datagram, [`EchoServer::handle_timeout`] when [`EchoServer::poll_timeout`] passes, and
//! sends each [`Transmit`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::fate::{Fate, FateModel, SplitMix64};
use super::heartbeat::{Monitor, MonitorEvent};
use super::message::{Kind, Message};
use super::Clock;

/// The server's options.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Loss, delay, jitter, duplication.
    pub fate: FateModel,
    /// The RNG seed: the same seed and options give the same fates.
    pub seed: u64,
    /// Heartbeat mode: declare a client stopped after this much silence.
    pub heartbeat_dead_after: Option<Duration>,
}

/// A datagram for the shell to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub to: SocketAddr,
    /// What.
    pub bytes: Vec<u8>,
}

/// What the server's datagram was, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    /// `Ping` or `Heartbeat`, or `None` when it is not the lab's message.
    pub kind: Option<Kind>,
    /// Its sequence number, when it has one.
    pub seq: Option<u64>,
}

/// Running totals, for the live counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Datagrams received.
    pub received: u64,
    /// Datagrams dropped.
    pub dropped: u64,
    /// Echo datagrams sent (a duplicate counts twice).
    pub echoed: u64,
    /// Datagrams echoed twice.
    pub duplicated: u64,
    /// Heartbeats that reached the monitor.
    pub heartbeats: u64,
}

/// What the server reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A datagram arrived.
    Received {
        /// From whom.
        from: SocketAddr,
        /// Its size.
        bytes: usize,
        /// What it was.
        label: Label,
    },
    /// It was dropped.
    Dropped {
        /// From whom.
        from: SocketAddr,
        /// What it was.
        label: Label,
        /// The lab dice's roll, when the dice decided.
        roll: Option<u8>,
    },
    /// An echo left (`copy` 2 is the duplicate).
    Echoed {
        /// To whom.
        to: SocketAddr,
        /// What it echoes.
        label: Label,
        /// How long it was held back.
        delay: Duration,
        /// 1, or 2 for the duplicate copy.
        copy: u8,
    },
    /// Heartbeat mode: what the monitor noticed.
    Heartbeat(MonitorEvent),
}

#[derive(Debug)]
enum Pending {
    Echo {
        to: SocketAddr,
        bytes: Vec<u8>,
        label: Label,
        delay: Duration,
        copies: u8,
    },
    Heartbeat {
        from: SocketAddr,
        seq: u64,
        time: Duration,
    },
}

#[derive(Debug)]
struct Scheduled {
    due: Instant,
    order: u64,
    pending: Pending,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

/// The echo server's state machine. See the module documentation.
#[derive(Debug)]
pub struct EchoServer {
    config: Config,
    rng: SplitMix64,
    scheduled: BinaryHeap<Reverse<Scheduled>>,
    order: u64,
    transmit: VecDeque<Transmit>,
    events: VecDeque<ServerEvent>,
    monitor: Option<Monitor>,
    counts: Counts,
    log_events: bool,
}

impl EchoServer {
    /// A server started at `clock.start`.
    pub fn new(config: Config, clock: Clock) -> Self {
        let monitor = config.heartbeat_dead_after.map(|d| Monitor::new(clock, d));
        EchoServer {
            rng: SplitMix64::new(config.seed),
            config,
            scheduled: BinaryHeap::new(),
            order: 0,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            monitor,
            counts: Counts::default(),
            log_events: true,
        }
    }

    /// Stop (or resume) queueing per-datagram events; counts and heartbeat reports go on.
    /// A quiet server under load skips building events nobody reads.
    pub fn set_datagram_events(&mut self, on: bool) {
        self.log_events = on;
    }

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8], from: SocketAddr) {
        self.counts.received += 1;
        let parsed = Message::parse(datagram).ok();
        let label = Label {
            kind: parsed.map(|m| m.kind),
            seq: parsed.map(|m| m.seq),
        };
        if self.log_events {
            self.events.push_back(ServerEvent::Received {
                from,
                bytes: datagram.len(),
                label,
            });
        }
        let fate = self.config.fate.decide(&mut self.rng);
        let (delay, copies) = match fate {
            Fate::Dropped { roll } => {
                self.counts.dropped += 1;
                if self.log_events {
                    self.events
                        .push_back(ServerEvent::Dropped { from, label, roll });
                }
                return;
            }
            Fate::Echoed { delay, copies, .. } => (delay, copies),
        };
        let pending = match (parsed, &self.monitor) {
            (Some(m), Some(_)) if m.kind == Kind::Heartbeat => Pending::Heartbeat {
                from,
                seq: m.seq,
                time: m.time,
            },
            _ => Pending::Echo {
                to: from,
                bytes: datagram.to_ascii_uppercase(),
                label,
                delay,
                copies,
            },
        };
        if delay.is_zero() {
            self.release_at(now, pending);
        } else {
            self.order += 1;
            self.scheduled.push(Reverse(Scheduled {
                due: now + delay,
                order: self.order,
                pending,
            }));
        }
        self.drain_monitor(now, false);
    }

    /// Time passed: release delayed echoes and heartbeats, check for silent clients.
    pub fn handle_timeout(&mut self, now: Instant) {
        while self.scheduled.peek().is_some_and(|Reverse(s)| s.due <= now) {
            if let Some(Reverse(s)) = self.scheduled.pop() {
                self.release_at(s.due, s.pending);
            }
        }
        self.drain_monitor(now, true);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmit.pop_front()
    }

    /// The next thing to log.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When a delayed echo is due or a client may fall silent.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let next_echo = self.scheduled.peek().map(|Reverse(s)| s.due);
        let next_silence = self.monitor.as_ref().and_then(Monitor::poll_timeout);
        [next_echo, next_silence].into_iter().flatten().min()
    }

    /// Totals so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    fn release_at(&mut self, at: Instant, pending: Pending) {
        match pending {
            Pending::Heartbeat { from, seq, time } => {
                self.counts.heartbeats += 1;
                if let Some(monitor) = &mut self.monitor {
                    monitor.handle_heartbeat(at, from, seq, time);
                }
            }
            Pending::Echo {
                to,
                bytes,
                label,
                delay,
                copies,
            } => {
                if copies > 1 {
                    self.counts.duplicated += 1;
                    self.counts.echoed += 1;
                    self.transmit.push_back(Transmit {
                        to,
                        bytes: bytes.clone(),
                    });
                    if self.log_events {
                        self.events.push_back(ServerEvent::Echoed {
                            to,
                            label,
                            delay,
                            copy: 1,
                        });
                    }
                }
                self.counts.echoed += 1;
                self.transmit.push_back(Transmit { to, bytes });
                if self.log_events {
                    self.events.push_back(ServerEvent::Echoed {
                        to,
                        label,
                        delay,
                        copy: copies,
                    });
                }
            }
        }
    }

    fn drain_monitor(&mut self, now: Instant, check_silence: bool) {
        let Some(monitor) = &mut self.monitor else {
            return;
        };
        if check_silence {
            monitor.handle_timeout(now);
        }
        while let Some(event) = monitor.poll_event() {
            self.events.push_back(ServerEvent::Heartbeat(event));
        }
    }
}
