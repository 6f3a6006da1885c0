//! The pinger: the client's state machine.
//!
//! ```text
//!            every interval: send Ping <seq> <time>          count sent (no deadline)
//!  start --> Sending ------------------------------------------> Draining
//!              |  deadline, count answered (with a deadline),     |  every probe answered,
//!              |  or interrupt                                    |  timed out or refused;
//!              v                                                  v  or interrupt
//!             Done <--------------------------------------------- +
//! ```
//!
//! Each probe has a row in the in-flight table, keyed by its sequence number, in one of these
//! states; a reply is matched to exactly the row whose probe it echoes (same text, ignoring
//! ASCII case), never to another:
//!
//! | row state | a matching reply is | counted as |
//! | --- | --- | --- |
//! | in flight | the reply (`Reply`) | received, with its round-trip time |
//! | answered | a duplicate (`Reply { duplicate: true }`, iputils' `(DUP!)`) | `+N duplicates` |
//! | timed out, refused, late | late (`Late`): the probe stays lost | late |
//!
//! A probe times out `timeout` after it was sent (`Request timed out`). Datagrams from another
//! address, that are not the lab's message, or that match no probe we sent are `Ignored`, with
//! the reason. Probes leave at `start + k * interval` as iputils does, whether or not earlier
//! ones were answered.
//!
//! With a `deadline` (iputils `-w`) the pinger keeps sending past `count` until `count` replies
//! came or the deadline passed; without one it sends `count` probes and waits for the last.
//!
//! Out of scope: the socket. The shell sends what [`Pinger::poll_transmit`] gives it, reads with
//! a timeout of [`Pinger::poll_timeout`] minus now, and reports an ICMP port unreachable (Linux's
//! `ECONNREFUSED` on a connected UDP socket) with [`Pinger::handle_unreachable`].

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::icmp::{self, Echo, IcmpError};
use super::message::{Kind, Message, MessageError};
use super::stats::{Statistics, Summary};
use super::Clock;

/// How many rows the in-flight table remembers; replies to older probes are ignored.
pub const WINDOW: usize = 65_536;

/// What carries the probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The lab: the text is the whole UDP payload.
    Udp,
    /// ICMP echo (RFC 792) with the same text as its data.
    IcmpEcho,
}

/// The pinger's options, named after iputils' flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `-c`: how many probes (without a deadline) or replies (with one); `None` is unbounded.
    pub count: Option<u64>,
    /// `-i`: time between probes.
    pub interval: Duration,
    /// `-W`: how long to wait for each reply.
    pub timeout: Duration,
    /// `-w`: stop this long after the start, whatever else happens.
    pub deadline: Option<Duration>,
    /// `-s`: pad each probe's text to this many bytes.
    pub size: usize,
    /// UDP (the lab) or ICMP echo.
    pub transport: Transport,
}

impl Default for Config {
    /// The lab's client: 10 probes, one a second, one second to answer each.
    fn default() -> Self {
        Config {
            count: Some(10),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            deadline: None,
            size: 0,
            transport: Transport::Udp,
        }
    }
}

/// Where the pinger is in its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Sending a probe every interval.
    Sending,
    /// All probes sent; waiting for the last replies or timeouts.
    Draining,
    /// Finished; the summary is final.
    Done,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Sending => "sending",
            State::Draining => "draining",
            State::Done => "done",
        })
    }
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Every probe was answered, timed out or refused.
    Completed,
    /// `-w` ran out.
    Deadline,
    /// With `-w`, `count` replies came.
    CountReached,
    /// The user pressed Ctrl-C.
    Interrupted,
}

/// Why a datagram matched no probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// It came from an address other than the one we ping.
    ForeignSource {
        /// Its source.
        from: SocketAddr,
    },
    /// Not the lab's message.
    Malformed(MessageError),
    /// Not an ICMP echo reply.
    Icmp(IcmpError),
    /// An ICMP echo request (ours, looped back on some systems), not a reply.
    IcmpRequest,
    /// A `Heartbeat`, not a `PING`.
    NotAPing {
        /// Its sequence number.
        seq: u64,
    },
    /// A sequence number we never sent, or sent too long ago to remember.
    UnknownSeq {
        /// The number.
        seq: u64,
    },
    /// A sequence number we sent, but the rest of the text is not what we sent with it.
    Mismatch {
        /// The number.
        seq: u64,
    },
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignored::ForeignSource { from } => write!(f, "from {from}, not the host we ping"),
            Ignored::Malformed(e) => write!(f, "not a ping reply: {e}"),
            Ignored::Icmp(e) => write!(f, "not an echo reply: {e}"),
            Ignored::IcmpRequest => f.write_str("an ICMP echo request, not a reply"),
            Ignored::NotAPing { seq } => write!(f, "a Heartbeat (seq {seq}), not a PING"),
            Ignored::UnknownSeq { seq } => write!(f, "seq {seq} was never sent (or is too old)"),
            Ignored::Mismatch { seq } => write!(
                f,
                "seq {seq} does not echo the probe we sent (time or padding differ)"
            ),
        }
    }
}

/// Something the shell reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A probe left (its bytes are in [`Pinger::poll_transmit`]).
    Sent {
        /// Its sequence number.
        seq: u64,
        /// Its size on the wire (UDP payload, or ICMP message).
        bytes: usize,
    },
    /// A reply came in time (or again, when `duplicate`).
    Reply {
        /// The probe it answers.
        seq: u64,
        /// Time since that probe was sent.
        rtt: Duration,
        /// The reply's size.
        bytes: usize,
        /// The probe had already been answered: iputils' `(DUP!)`.
        duplicate: bool,
    },
    /// A reply to a probe that had already timed out.
    Late {
        /// The probe it answers.
        seq: u64,
        /// Time since that probe was sent.
        rtt: Duration,
        /// The reply's size.
        bytes: usize,
    },
    /// No reply within the timeout: `Request timed out`.
    TimedOut {
        /// The probe.
        seq: u64,
    },
    /// An ICMP port unreachable came back: nothing listens on that port.
    Unreachable {
        /// The probe it most likely answers (the newest one in flight), if any.
        seq: Option<u64>,
    },
    /// A datagram that answers no probe.
    Ignored {
        /// Its size.
        bytes: usize,
        /// Why.
        reason: Ignored,
    },
    /// The run is over; [`Pinger::summary`] is final.
    Done(EndReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    InFlight,
    Answered,
    TimedOut,
    Refused,
    Late,
}

#[derive(Debug, Clone)]
struct Probe {
    seq: u64,
    sent_at: Instant,
    unix_time: Duration,
    row: Row,
}

/// The client's state machine. See the module documentation.
#[derive(Debug)]
pub struct Pinger {
    config: Config,
    peer: SocketAddr,
    clock: Clock,
    state: State,
    next_seq: u64,
    next_send: Instant,
    probes: VecDeque<Probe>,
    in_flight: VecDeque<u64>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    statistics: Statistics,
    last_now: Instant,
    ended: Option<EndReason>,
}

impl Pinger {
    /// A pinger for `peer`, whose first probe is due at `clock.start`.
    pub fn new(config: Config, peer: SocketAddr, clock: Clock) -> Self {
        Pinger {
            config,
            peer,
            clock,
            state: State::Sending,
            next_seq: 1,
            next_send: clock.start,
            probes: VecDeque::new(),
            in_flight: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            statistics: Statistics::default(),
            last_now: clock.start,
            ended: None,
        }
    }

    /// Where the run is.
    pub fn state(&self) -> State {
        self.state
    }

    /// The options it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bytes one probe takes on the wire (for the `PING host: N bytes` banner).
    pub fn probe_len(&self) -> usize {
        self.probe_bytes(1, self.clock.unix_at_start).len()
    }

    /// Time passed: send what is due, time out what waited too long, stop at the deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Done {
            return;
        }
        self.last_now = self.last_now.max(now);
        if let Some(deadline) = self.config.deadline {
            if now >= self.clock.start + deadline {
                self.expire(now);
                self.finish(EndReason::Deadline);
                return;
            }
        }
        self.expire(now);
        if self.state == State::Sending && now >= self.next_send {
            let bounded_by_count = self.config.deadline.is_none();
            if bounded_by_count && self.config.count.is_some_and(|c| self.next_seq > c) {
                self.state = State::Draining;
            } else {
                self.send(now);
                if bounded_by_count && self.config.count.is_some_and(|c| self.next_seq > c) {
                    self.state = State::Draining;
                }
            }
        }
        self.check_drained();
    }

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8], from: SocketAddr) {
        if self.state == State::Done {
            return;
        }
        self.last_now = self.last_now.max(now);
        let bytes = datagram.len();
        let ignore = |reason| Event::Ignored { bytes, reason };
        let same_source = match self.config.transport {
            Transport::Udp => from == self.peer,
            Transport::IcmpEcho => from.ip() == self.peer.ip(),
        };
        if !same_source {
            self.events
                .push_back(ignore(Ignored::ForeignSource { from }));
            return;
        }
        let (payload, icmp_sequence) = match self.config.transport {
            Transport::Udp => (datagram, None),
            Transport::IcmpEcho => match Echo::parse(datagram) {
                Ok(echo) if echo.icmp_type == icmp::ECHO_REPLY => (echo.data, Some(echo.sequence)),
                Ok(_) => return self.events.push_back(ignore(Ignored::IcmpRequest)),
                Err(e) => return self.events.push_back(ignore(Ignored::Icmp(e))),
            },
        };
        let message = match Message::parse(payload) {
            Ok(m) => m,
            Err(e) => return self.events.push_back(ignore(Ignored::Malformed(e))),
        };
        let seq = message.seq;
        if message.kind != Kind::Ping {
            return self.events.push_back(ignore(Ignored::NotAPing { seq }));
        }
        let Some(index) = self.index_of(seq) else {
            return self.events.push_back(ignore(Ignored::UnknownSeq { seq }));
        };
        let probe = &self.probes[index];
        let expected = Message::build(Kind::Ping, seq, probe.unix_time, self.config.size);
        let sequence_matches = icmp_sequence.is_none_or(|s| s == seq as u16);
        if !payload.eq_ignore_ascii_case(&expected) || !sequence_matches {
            return self.events.push_back(ignore(Ignored::Mismatch { seq }));
        }
        let rtt = now.saturating_duration_since(probe.sent_at);
        let row = probe.row;
        match row {
            Row::InFlight => {
                self.probes[index].row = Row::Answered;
                self.in_flight.retain(|&s| s != seq);
                self.statistics.record_reply(rtt);
                self.events.push_back(Event::Reply {
                    seq,
                    rtt,
                    bytes,
                    duplicate: false,
                });
                if self.config.deadline.is_some()
                    && self
                        .config
                        .count
                        .is_some_and(|c| self.statistics.received >= c)
                {
                    self.finish(EndReason::CountReached);
                    return;
                }
                self.check_drained();
            }
            Row::Answered => {
                self.statistics.duplicates += 1;
                self.events.push_back(Event::Reply {
                    seq,
                    rtt,
                    bytes,
                    duplicate: true,
                });
            }
            Row::TimedOut | Row::Refused | Row::Late => {
                self.probes[index].row = Row::Late;
                self.statistics.late += 1;
                self.events.push_back(Event::Late { seq, rtt, bytes });
            }
        }
    }

    /// The system reported ICMP port unreachable for our socket (Linux: `ECONNREFUSED` on a
    /// connected UDP socket). It answers the newest probe in flight, which stops waiting.
    pub fn handle_unreachable(&mut self, now: Instant) {
        if self.state == State::Done {
            return;
        }
        self.last_now = self.last_now.max(now);
        let seq = self.in_flight.pop_back();
        if let Some(seq) = seq {
            if let Some(index) = self.index_of(seq) {
                self.probes[index].row = Row::Refused;
            }
            self.statistics.errors += 1;
        }
        self.events.push_back(Event::Unreachable { seq });
        self.check_drained();
    }

    /// The user pressed Ctrl-C: stop now; probes still in flight count as lost.
    pub fn handle_interrupt(&mut self, now: Instant) {
        if self.state != State::Done {
            self.last_now = self.last_now.max(now);
            self.finish(EndReason::Interrupted);
        }
    }

    /// The next probe's bytes to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next thing to report, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Pinger::handle_timeout`] must be called next; `None` once done.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Done {
            return None;
        }
        let send = (self.state == State::Sending).then_some(self.next_send);
        let expiry = self
            .in_flight
            .front()
            .and_then(|&seq| self.index_of(seq))
            .map(|i| self.probes[i].sent_at + self.config.timeout);
        let deadline = self.config.deadline.map(|d| self.clock.start + d);
        [send, expiry, deadline].into_iter().flatten().min()
    }

    /// Counters and round-trip figures so far (final once done).
    pub fn summary(&self) -> Summary {
        Summary {
            statistics: self.statistics.clone(),
            elapsed: self.last_now.saturating_duration_since(self.clock.start),
        }
    }

    /// Why the run ended, once it has.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.ended
    }

    /// iputils' verdict: some reply came, and with both `-c` and `-w`, `count` of them did.
    pub fn succeeded(&self) -> bool {
        let received = self.statistics.received;
        match (self.config.count, self.config.deadline) {
            (Some(count), Some(_)) => received >= count,
            _ => received > 0,
        }
    }

    fn probe_bytes(&self, seq: u64, unix_time: Duration) -> Vec<u8> {
        let text = Message::build(Kind::Ping, seq, unix_time, self.config.size);
        match self.config.transport {
            Transport::Udp => text,
            Transport::IcmpEcho => Echo {
                icmp_type: icmp::ECHO_REQUEST,
                identifier: 0,
                sequence: seq as u16,
                data: &text,
            }
            .to_bytes(),
        }
    }

    fn send(&mut self, now: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let unix_time = self.clock.unix_at(now);
        let bytes = self.probe_bytes(seq, unix_time);
        self.events.push_back(Event::Sent {
            seq,
            bytes: bytes.len(),
        });
        self.transmit.push_back(bytes);
        self.probes.push_back(Probe {
            seq,
            sent_at: now,
            unix_time,
            row: Row::InFlight,
        });
        if self.probes.len() > WINDOW {
            if let Some(old) = self.probes.pop_front() {
                self.in_flight.retain(|&s| s != old.seq);
            }
        }
        self.in_flight.push_back(seq);
        self.statistics.transmitted += 1;
        // Keep the schedule (start + k * interval) unless we fell a whole interval behind.
        self.next_send += self.config.interval;
        if self.next_send < now {
            self.next_send = now + self.config.interval;
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&seq) = self.in_flight.front() {
            let Some(index) = self.index_of(seq) else {
                self.in_flight.pop_front();
                continue;
            };
            if now < self.probes[index].sent_at + self.config.timeout {
                break;
            }
            self.in_flight.pop_front();
            self.probes[index].row = Row::TimedOut;
            self.events.push_back(Event::TimedOut { seq });
        }
    }

    fn check_drained(&mut self) {
        if self.state == State::Draining && self.in_flight.is_empty() {
            self.finish(EndReason::Completed);
        }
    }

    fn finish(&mut self, reason: EndReason) {
        self.state = State::Done;
        self.ended = Some(reason);
        self.transmit.clear();
        self.events.push_back(Event::Done(reason));
    }

    fn index_of(&self, seq: u64) -> Option<usize> {
        let first = self.probes.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        (index < self.probes.len()).then_some(index)
    }
}
