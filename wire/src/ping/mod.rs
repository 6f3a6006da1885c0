//! The UDP pinger lab: messages, the client's state machine, the echo server's decisions, the
//! heartbeat exercise and ICMP echo, with no I/O.
//!
//! The lab's protocol is tiny and has no RFC: a client sends one UDP datagram per probe whose
//! text is `Ping <seq> <time>` (`<time>` is the Unix time with a fraction, in seconds), and the
//! server echoes every datagram it keeps, upper-cased, dropping some at random to simulate a
//! lossy network. The lab's optional exercise replaces pings with `Heartbeat <seq> <time>`
//! datagrams that the server never answers: it measures one-way delay and notices gaps.
//!
//! | module | what it owns |
//! | --- | --- |
//! | [`message`] | the `Ping` / `PING` / `Heartbeat` text datagrams: building, padding and parsing |
//! | [`pinger`] | the client: sequence numbers, the in-flight table, timeouts, late and duplicate replies |
//! | [`stats`] | round-trip statistics and the summary printed exactly as iputils prints it |
//! | [`fate`] | the seeded RNG and the server's loss, delay and duplication model |
//! | [`echo`] | the server: each datagram received is dropped or echoed (later, perhaps twice) |
//! | [`heartbeat`] | the heartbeat sender (client) and monitor (server: delay, gaps, silence) |
//! | [`icmp`] | ICMP echo request and reply (RFC 792) and the Internet checksum (RFC 1071) |
//!
//! Out of scope: sockets, clocks, signals and printing. The `ping` program owns those and feeds
//! these machines the current time (a monotonic `Instant` for durations, and once, at start, the
//! Unix time that goes into the messages).
//!
//! Every machine follows the same verbs: `handle_timeout(now)` and `handle_datagram(now, bytes,
//! from)` feed it, `poll_transmit()`, `poll_event()` and `poll_timeout()` drain it.

pub mod echo;
pub mod fate;
pub mod heartbeat;
pub mod icmp;
pub mod message;
pub mod pinger;
pub mod stats;

use std::time::{Duration, Instant};

/// Maps monotonic instants to the Unix time written into messages.
///
/// The shell reads both clocks once at start; from then on the Unix time of any instant is the
/// start's Unix time plus the monotonic time elapsed, so a wall-clock step during a run neither
/// changes a round-trip time nor makes the message times go backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// The monotonic instant the run started.
    pub start: Instant,
    /// The Unix time (since 1970-01-01T00:00:00Z) at `start`.
    pub unix_at_start: Duration,
}

impl Clock {
    /// A clock whose `start` happened at `unix_at_start`.
    pub fn new(start: Instant, unix_at_start: Duration) -> Self {
        Clock {
            start,
            unix_at_start,
        }
    }

    /// The Unix time at `now` (never earlier than at start).
    pub fn unix_at(&self, now: Instant) -> Duration {
        self.unix_at_start + now.saturating_duration_since(self.start)
    }
}

#[cfg(test)]
mod simulated_network;
