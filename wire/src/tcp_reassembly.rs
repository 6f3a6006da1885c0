//! TCP stream reassembly: from the segments a capture saw to the two byte streams the
//! applications wrote, in order, with who connected and who closed.
//!
//! A receiver's TCP puts segments back in sequence order before the application reads a byte
//! (RFC 9293 §3.4 sequence numbers, §3.10.7.4 segment arrival). A capture sees the same
//! segments as they crossed the wire: out of order, retransmitted, overlapping a previous
//! segment, with a FIN (or a RST) from either side. This module does the receiver's work for
//! both directions at once:
//!
//! ```text
//!   segment ──> Direction::handle_segment ──> in order?  ──yes──> deliver new bytes
//!                  (seq → 64-bit offset)          │                 (drop what was delivered)
//!                                                 no ──> hold until the gap fills
//!   FIN at offset N ──> Fin once every byte before N was delivered
//! ```
//!
//! - Sequence numbers are 32 bits and wrap; each is turned into a 64-bit offset from the first
//!   byte after the SYN, taking the value nearest the data delivered so far.
//! - Bytes already delivered win: a retransmission, or a segment overlapping delivered bytes, adds
//!   only what is new. Held segments that overlap each other are trimmed the same way when the
//!   gap before them fills.
//! - A stream seen without its SYN (the capture started late) starts at its first segment.
//! - A segment more than [`MAX_AHEAD`] bytes ahead of the delivered data is ignored (a broken
//!   capture, or another connection's segment on a reused port), so memory stays bounded.
//!
//! [`Conversation`] holds both directions of one connection, tells client from server (the side
//! that sent a SYN without ACK connected), and answers, in capture order, which side's bytes
//! became readable, and when each side finished. Sans-IO: it is fed segments and drained with
//! [`Conversation::poll_event`]; the caller owns the file and the clock.

use crate::packet::{Segment, TcpFlags};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

/// The most bytes a segment may start ahead of the data delivered so far.
pub const MAX_AHEAD: u64 = 64 * 1024 * 1024;

/// What one direction of a stream has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// These bytes are next in the stream.
    Data(Vec<u8>),
    /// The sender finished (its FIN, with every byte before it delivered).
    Fin,
    /// The sender reset the connection.
    Reset,
}

/// One direction of a TCP connection: the sender's segments in, its byte stream out.
#[derive(Debug, Clone, Default)]
pub struct Direction {
    /// The sequence number of the byte at offset 0 (the one after the SYN).
    base: Option<u32>,
    /// The offset of the next byte to deliver.
    next: u64,
    /// Segments ahead of `next`, by offset.
    held: BTreeMap<u64, Vec<u8>>,
    /// The offset of the FIN, once seen.
    fin_at: Option<u64>,
    fin_delivered: bool,
    reset: bool,
    events: VecDeque<StreamEvent>,
    /// How many bytes arrived again after being delivered (retransmissions and overlaps).
    pub repeated_bytes: u64,
    /// How many segments were ignored as implausible (too far ahead).
    pub ignored_segments: u64,
    /// True when the SYN was not seen (the capture began mid-stream).
    pub started_late: bool,
}

impl Direction {
    /// A direction that has seen nothing yet.
    pub fn new() -> Direction {
        Direction::default()
    }

    /// The 64-bit offset of sequence number `seq`, nearest the delivered data.
    fn offset(&self, base: u32, seq: u32) -> u64 {
        let relative = u64::from(seq.wrapping_sub(base));
        let epoch = self.next & !0xffff_ffff;
        [
            epoch.checked_sub(1 << 32).map(|e| e + relative),
            Some(epoch + relative),
            Some(epoch + (1 << 32) + relative),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|candidate| candidate.abs_diff(self.next))
        .unwrap_or(relative)
    }

    /// Feeds one segment the sender sent: its sequence number, control bits and data.
    pub fn handle_segment(&mut self, seq: u32, flags: TcpFlags, payload: &[u8]) {
        if self.fin_delivered || self.reset {
            return;
        }
        if flags.has(TcpFlags::RST) {
            self.reset = true;
            self.held.clear();
            self.events.push_back(StreamEvent::Reset);
            return;
        }
        let data_seq = if flags.has(TcpFlags::SYN) {
            seq.wrapping_add(1)
        } else {
            seq
        };
        let base = match self.base {
            Some(base) => base,
            None => {
                self.started_late = !flags.has(TcpFlags::SYN);
                self.base = Some(data_seq);
                data_seq
            }
        };
        let at = self.offset(base, data_seq);
        if at > self.next + MAX_AHEAD {
            self.ignored_segments += 1;
            return;
        }
        if flags.has(TcpFlags::FIN) {
            self.fin_at.get_or_insert(at + payload.len() as u64);
        }
        if !payload.is_empty() {
            let end = at + payload.len() as u64;
            if end <= self.next {
                self.repeated_bytes += payload.len() as u64;
            } else {
                let slot = self.held.entry(at).or_default();
                if payload.len() > slot.len() {
                    *slot = payload.to_vec();
                }
            }
        }
        self.deliver();
    }

    /// Moves held bytes that have become contiguous to the events, then the FIN if it is due.
    fn deliver(&mut self) {
        let mut ready = Vec::new();
        while let Some((&at, _)) = self.held.first_key_value() {
            if at > self.next {
                break;
            }
            let bytes = self.held.remove(&at).expect("the first key is there");
            let end = at + bytes.len() as u64;
            if end <= self.next {
                self.repeated_bytes += bytes.len() as u64;
                continue;
            }
            let skip = (self.next - at) as usize;
            self.repeated_bytes += skip as u64;
            ready.extend_from_slice(&bytes[skip..]);
            self.next = end;
        }
        if !ready.is_empty() {
            self.events.push_back(StreamEvent::Data(ready));
        }
        if let Some(fin) = self.fin_at {
            if fin <= self.next && !self.fin_delivered {
                self.fin_delivered = true;
                self.held.clear();
                self.events.push_back(StreamEvent::Fin);
            }
        }
    }

    /// The next thing the stream has to say.
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    /// How many bytes were delivered so far.
    pub fn delivered(&self) -> u64 {
        self.next
    }

    /// The first byte offset never seen while later bytes were, when the stream has a hole that
    /// will not fill (asked at the end of a capture): `(from, to)`.
    pub fn gap(&self) -> Option<(u64, u64)> {
        self.held.keys().next().map(|&at| (self.next, at))
    }

    /// True once the sender's FIN or RST was delivered.
    pub fn finished(&self) -> bool {
        self.fin_delivered || self.reset
    }
}

/// Which end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The end that connected (sent the first SYN).
    Client,
    /// The end that accepted.
    Server,
}

/// How client and server were told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roles {
    /// From the handshake: the SYN without ACK came from the client.
    Handshake,
    /// No SYN was captured: the caller's guess (for instance, the side on a well-known port is
    /// the server).
    Guessed,
}

/// Both directions of one TCP connection.
#[derive(Debug, Clone)]
pub struct Conversation {
    client: SocketAddr,
    server: SocketAddr,
    roles: Roles,
    from_client: Direction,
    from_server: Direction,
    events: VecDeque<(Side, StreamEvent)>,
    segments: u64,
}

impl Conversation {
    /// A conversation that starts with `first` (a segment of a connection not seen before).
    /// With a SYN the roles are known; without one, `server_port_guess` says which port is the
    /// server's (else the lower port is taken to be).
    pub fn new(first: &Segment<'_>, server_port_guess: Option<u16>) -> Conversation {
        let syn = first.flags.has(TcpFlags::SYN);
        let (client, server, roles) = if syn && !first.flags.has(TcpFlags::ACK) {
            (first.src, first.dst, Roles::Handshake)
        } else if syn {
            (first.dst, first.src, Roles::Handshake)
        } else {
            let src_is_server = match server_port_guess {
                Some(port) => first.src.port() == port,
                None => first.src.port() < first.dst.port(),
            };
            if src_is_server {
                (first.dst, first.src, Roles::Guessed)
            } else {
                (first.src, first.dst, Roles::Guessed)
            }
        };
        Conversation {
            client,
            server,
            roles,
            from_client: Direction::new(),
            from_server: Direction::new(),
            events: VecDeque::new(),
            segments: 0,
        }
    }

    /// The client's address.
    pub fn client(&self) -> SocketAddr {
        self.client
    }

    /// The server's address.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// How the roles were decided.
    pub fn roles(&self) -> Roles {
        self.roles
    }

    /// How many segments were fed.
    pub fn segments(&self) -> u64 {
        self.segments
    }

    /// True when `segment` travels between this conversation's two ends.
    pub fn carries(&self, segment: &Segment<'_>) -> bool {
        (segment.src == self.client && segment.dst == self.server)
            || (segment.src == self.server && segment.dst == self.client)
    }

    /// True when both sides finished (FIN or RST): a new SYN on the same ports is a new
    /// connection.
    pub fn finished(&self) -> bool {
        (self.from_client.finished() && self.from_server.finished())
            || self.from_client.reset
            || self.from_server.reset
    }

    /// Feeds one captured segment of this conversation (others are ignored: see
    /// [`Conversation::carries`]).
    pub fn handle_segment(&mut self, segment: &Segment<'_>) {
        if !self.carries(segment) {
            return;
        }
        self.segments += 1;
        let side = if segment.src == self.client {
            Side::Client
        } else {
            Side::Server
        };
        let direction = match side {
            Side::Client => &mut self.from_client,
            Side::Server => &mut self.from_server,
        };
        direction.handle_segment(segment.seq, segment.flags, segment.payload);
        while let Some(event) = direction.poll_event() {
            self.events.push_back((side, event));
        }
    }

    /// The next thing that became readable, and from which side.
    pub fn poll_event(&mut self) -> Option<(Side, StreamEvent)> {
        self.events.pop_front()
    }

    /// One side's direction (for its counters and gaps).
    pub fn direction(&self, side: Side) -> &Direction {
        match side {
            Side::Client => &self.from_client,
            Side::Server => &self.from_server,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    const NONE: TcpFlags = TcpFlags(0);

    fn drain(d: &mut Direction) -> (Vec<u8>, bool) {
        let mut bytes = Vec::new();
        let mut fin = false;
        while let Some(e) = d.poll_event() {
            match e {
                StreamEvent::Data(b) => {
                    assert!(!fin, "no data after the FIN");
                    bytes.extend(b)
                }
                StreamEvent::Fin => fin = true,
                StreamEvent::Reset => panic!("no reset here"),
            }
        }
        (bytes, fin)
    }

    #[test]
    fn in_order_out_of_order_and_retransmitted_segments_give_the_stream() {
        let mut d = Direction::new();
        d.handle_segment(999, TcpFlags::SYN, b"");
        d.handle_segment(1006, NONE, b"world");
        assert_eq!(d.poll_event(), None, "held until the gap fills");
        assert_eq!(d.gap(), Some((0, 6)));
        d.handle_segment(1000, NONE, b"hello ");
        d.handle_segment(1000, NONE, b"hello ");
        d.handle_segment(1011, TcpFlags::FIN, b"");
        assert_eq!(drain(&mut d), (b"hello world".to_vec(), true));
        assert_eq!(d.repeated_bytes, 6);
        assert!(!d.started_late);
    }

    #[test]
    fn a_fin_waits_for_the_bytes_before_it_and_a_late_start_begins_at_the_first_segment() {
        let mut d = Direction::new();
        d.handle_segment(50, NONE, b"ab");
        d.handle_segment(55, TcpFlags::FIN, b"");
        assert_eq!(drain(&mut d), (b"ab".to_vec(), false));
        d.handle_segment(52, NONE, b"cde");
        assert_eq!(drain(&mut d), (b"cde".to_vec(), true));
        assert!(d.started_late);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut d = Direction::new();
        d.handle_segment(u32::MAX - 2, TcpFlags::SYN, b"");
        d.handle_segment(u32::MAX - 1, NONE, b"abc");
        d.handle_segment(1, NONE, b"def");
        assert_eq!(drain(&mut d).0, b"abcdef");
        // Far ahead: ignored rather than buffered.
        d.handle_segment(1 << 31, NONE, b"x");
        assert_eq!(d.ignored_segments, 1);
    }

    #[test]
    fn the_client_is_whoever_sent_the_syn_and_either_side_may_finish_first() {
        let c: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let s: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let seg = |src, dst, seq, flags, payload: &'static [u8]| Segment {
            src,
            dst,
            seq,
            ack: 0,
            flags,
            window: 1000,
            payload,
        };
        let mut conv = Conversation::new(&seg(c, s, 10, TcpFlags::SYN, b""), None);
        assert_eq!(
            (conv.client(), conv.server(), conv.roles()),
            (c, s, Roles::Handshake)
        );
        for segment in [
            seg(c, s, 10, TcpFlags::SYN, b""),
            seg(s, c, 500, TcpFlags::SYN | TcpFlags::ACK, b""),
            seg(c, s, 11, TcpFlags::ACK, b"GET /"),
            seg(s, c, 501, TcpFlags::ACK | TcpFlags::FIN, b"bye"),
            seg(c, s, 16, TcpFlags::ACK | TcpFlags::FIN, b""),
        ] {
            conv.handle_segment(&segment);
        }
        let events: Vec<(Side, StreamEvent)> = std::iter::from_fn(|| conv.poll_event()).collect();
        assert_eq!(
            events,
            vec![
                (Side::Client, StreamEvent::Data(b"GET /".to_vec())),
                (Side::Server, StreamEvent::Data(b"bye".to_vec())),
                (Side::Server, StreamEvent::Fin),
                (Side::Client, StreamEvent::Fin),
            ]
        );
        assert!(conv.finished());
        // Without a SYN, the guess decides.
        let late = Conversation::new(&seg(s, c, 1, TcpFlags::ACK, b"x"), None);
        assert_eq!((late.client(), late.roles()), (c, Roles::Guessed));
    }

    /// A stream cut into segments, each sent one or more times, in a shuffled order, some
    /// overlapping their neighbours: the delivered bytes are the stream, exactly once.
    fn scrambled() -> impl Strategy<Value = (Vec<u8>, u32, Vec<(usize, usize)>, bool)> {
        (
            proptest::collection::vec(any::<u8>(), 1..400),
            any::<u32>(),
            proptest::collection::vec((0usize..400, 1usize..60), 0..40),
            any::<bool>(),
        )
            .prop_map(|(data, isn, extra, fin)| {
                let mut pieces = Vec::new();
                let mut at = 0;
                let mut width = 1;
                while at < data.len() {
                    let end = (at + width).min(data.len());
                    pieces.push((at, end));
                    at = end;
                    width = width % 37 + 3;
                }
                // Retransmissions and overlapping segments anywhere in the stream.
                for (start, len) in extra {
                    let start = start % data.len();
                    pieces.push((start, (start + len).min(data.len())));
                }
                (data, isn, pieces, fin)
            })
            .prop_flat_map(|(data, isn, pieces, fin)| {
                (
                    Just(data),
                    Just(isn),
                    Just(pieces).prop_shuffle(),
                    Just(fin),
                )
            })
    }

    proptest! {
        #[test]
        fn any_order_any_repeats_any_overlap_gives_the_stream_once((data, isn, pieces, fin) in scrambled()) {
            let mut d = Direction::new();
            d.handle_segment(isn, TcpFlags::SYN, b"");
            let base = isn.wrapping_add(1);
            if fin {
                d.handle_segment(base.wrapping_add(data.len() as u32), TcpFlags::FIN, b"");
            }
            for (start, end) in pieces {
                d.handle_segment(base.wrapping_add(start as u32), NONE, &data[start..end]);
            }
            let (bytes, fin_seen) = drain(&mut d);
            prop_assert_eq!(bytes, data);
            prop_assert_eq!(fin_seen, fin);
            prop_assert_eq!(d.gap(), None);
        }
    }
}
