//! A `.trace` as a capture Wireshark opens (`labs trace pcap`).
//!
//! A trace records what each party sent, not the packets that carried it, so the packets are
//! made up around the real bytes, consistently enough for Wireshark's TCP analysis to find
//! nothing wrong:
//!
//! - every TCP connection opens with a three-way handshake (SYN, SYN-ACK, ACK; RFC 9293 §3.5);
//! - each item's bytes travel in segments of at most [`MSS`] bytes, with sequence numbers that
//!   count them, the last one pushed (PSH), and the receiver acknowledges them;
//! - `<close>` is a FIN that the peer acknowledges;
//! - `<wait 1500ms>` moves the clock; other packets are 0.2 ms apart, from `# now:`;
//! - a UDP trace (the pinger) is one datagram per item, and `<lost>` is a datagram that is not
//!   there, named in the next packet's comment;
//! - every packet carries a comment: the trace line it holds, and what the trace noted there.
//!
//! Hosts are on loopback: the client 127.0.0.1, the server (or proxy) 127.0.0.2, an origin
//! 127.0.0.3. The server's port says what the bytes are to Wireshark: 80 for HTTP, 25 for
//! SMTP, 3128 for a proxy, 12000 for the pinger, unless `--port` says otherwise. Ethernet,
//! IPv4, TCP and UDP headers are written by [`wire::packet`]; the pcapng blocks around them
//! by the pcap-file crate.

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;
use std::borrow::Cow;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};
use wire::packet::{synthetic_mac, Frame, TcpFlags};
use wire::trace::{Event, Item, Piece, Tag, Trace, Transport};

/// The most payload bytes in one synthesised TCP segment (Ethernet's 1500 less 40 of headers).
pub const MSS: usize = 1460;

/// A trace that cannot become packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    /// The trace holds `<any>` or an elided body where bytes must be.
    Placeholder(String),
    /// Writing the file failed.
    Write(String),
}

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptureError::Placeholder(what) => write!(
                f,
                "the trace holds {what} where a capture needs the real bytes; use a recorded trace \
                 (client --record, labs check --record), not a snapshot or a lab expectation"
            ),
            CaptureError::Write(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// One synthesised packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// When, since the Unix epoch.
    pub time: Duration,
    /// The Ethernet frame.
    pub frame: Vec<u8>,
    /// The packet comment.
    pub comment: String,
}

/// Where the parties sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    Client,
    Server,
    Origin,
}

impl Host {
    fn number(self) -> u8 {
        match self {
            Host::Client => 1,
            Host::Server => 2,
            Host::Origin => 3,
        }
    }
    fn ip(self) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, 0, self.number())
    }
}

/// The connection a tag travels on (`true` when the connecting side sends it).
fn connection_of(tag: Tag) -> (usize, bool) {
    match tag {
        Tag::Client => (0, true),
        Tag::Server => (0, false),
        Tag::ClientToProxy => (1, true),
        Tag::ProxyToClient => (1, false),
        Tag::ProxyToOrigin => (2, true),
        Tag::OriginToProxy => (2, false),
    }
}

/// The port a trace's server side listens on, as Wireshark would recognise it.
pub fn guess_port(trace: &Trace) -> u16 {
    if trace.transport() == Transport::Udp {
        return 12000;
    }
    let tags = trace.tags();
    if tags
        .iter()
        .any(|t| matches!(t, Tag::ClientToProxy | Tag::ProxyToClient))
    {
        return 3128;
    }
    let server_first = trace
        .items()
        .iter()
        .find_map(|item| match item {
            Item::Data { tag, payload } if !connection_of(*tag).1 => payload.as_bytes(),
            _ => None,
        })
        .unwrap_or(b"");
    if server_first.starts_with(b"220") {
        25
    } else {
        80
    }
}

/// One TCP connection being written: its ends and the next sequence number of each.
struct Tcp {
    client: (Host, u16),
    server: (Host, u16),
    seq: [u32; 2],
    open: bool,
    closed: [bool; 2],
}

struct Writer {
    time: Duration,
    packets: Vec<Packet>,
    ip_id: u16,
    notes: Vec<String>,
}

impl Writer {
    fn push(&mut self, frame: Vec<u8>, comment: String) {
        let mut comment = comment;
        if !self.notes.is_empty() {
            comment = format!("{} | {comment}", self.notes.join(" | "));
            self.notes.clear();
        }
        self.packets.push(Packet {
            time: self.time,
            frame,
            comment,
        });
        self.time += Duration::from_micros(200);
        self.ip_id = self.ip_id.wrapping_add(1);
    }

    fn frame(&self, from: (Host, u16), to: (Host, u16)) -> Frame {
        Frame {
            src_mac: synthetic_mac(from.0.number()),
            dst_mac: synthetic_mac(to.0.number()),
            src: (from.0.ip(), from.1),
            dst: (to.0.ip(), to.1),
            ip_id: self.ip_id,
        }
    }

    /// One TCP segment from one end (`0` the client, `1` the server) with its ACK of the other.
    fn segment(
        &mut self,
        c: &mut Tcp,
        end: usize,
        flags: TcpFlags,
        payload: &[u8],
        comment: String,
    ) {
        let (from, to) = if end == 0 {
            (c.client, c.server)
        } else {
            (c.server, c.client)
        };
        let frame = self
            .frame(from, to)
            .tcp(c.seq[end], c.seq[1 - end], flags, 65535, payload);
        c.seq[end] = c.seq[end].wrapping_add(payload.len() as u32);
        if flags.has(TcpFlags::SYN) || flags.has(TcpFlags::FIN) {
            c.seq[end] = c.seq[end].wrapping_add(1);
        }
        self.push(frame, comment);
    }

    /// A writer whose clock starts at the trace's `# now:` (2026-01-01 when it has none), with
    /// the notes the first packet carries: the title, and how to read a pinger capture.
    fn for_trace(trace: &Trace, port: u16) -> Writer {
        let start = trace
            .now()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .unwrap_or(Duration::from_secs(1_767_225_600)); // 2026-01-01T00:00:00Z
        let mut w = Writer {
            time: start,
            packets: Vec::new(),
            ip_id: 1,
            notes: Vec::new(),
        };
        if let Some(title) = trace.title() {
            w.notes.push(format!("trace: {title}"));
        }
        if trace.transport() == Transport::Udp && port == 12000 {
            w.notes.push(
                "Wireshark decodes UDP port 12000 as LLC: Decode As... UDP port 12000 -> (none) shows the text"
                    .into(),
            );
        }
        w
    }

    /// `<wait>` moves the clock, `<lost>` is noted on the next packet, and `<close>` is a FIN
    /// the peer acknowledges (over UDP only a note).
    fn event(&mut self, c: &mut Tcp, tag: Tag, from_client: bool, event: &Event, udp: bool) {
        match event {
            Event::Wait { millis } => {
                self.time += Duration::from_millis(*millis);
                self.notes.push(format!("after {tag}: <wait {millis}ms>"));
            }
            Event::Lost => self.notes.push(format!(
                "{tag}: <lost>: a datagram was lost before this packet"
            )),
            Event::Close if udp => self.notes.push(format!("{tag}: <close>")),
            Event::Close => {
                let end = if from_client { 0 } else { 1 };
                if !c.open {
                    self.handshake(c);
                }
                if !c.closed[end] {
                    c.closed[end] = true;
                    self.segment(
                        c,
                        end,
                        TcpFlags::FIN | TcpFlags::ACK,
                        b"",
                        format!("{tag}: <close> (FIN)"),
                    );
                    self.segment(c, 1 - end, TcpFlags::ACK, b"", "ACK of the FIN".into());
                }
            }
        }
    }

    /// One UDP datagram with the item's bytes.
    fn datagram(&mut self, c: &Tcp, tag: Tag, from_client: bool, bytes: &[u8]) {
        let (from, to) = if from_client {
            (c.client, c.server)
        } else {
            (c.server, c.client)
        };
        let frame = self.frame(from, to).udp(bytes);
        self.push(frame, trace_line(tag, bytes));
    }

    /// An item's bytes over TCP (after the handshake, the first time): segments of at most
    /// [`MSS`] bytes, the last one pushed, then the peer's ACK.
    fn data(&mut self, c: &mut Tcp, tag: Tag, from_client: bool, bytes: &[u8]) {
        let end = if from_client { 0 } else { 1 };
        if !c.open {
            self.handshake(c);
        }
        let pieces: Vec<&[u8]> = bytes.chunks(MSS).collect();
        let n = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            let flags = if i + 1 == n {
                TcpFlags::PSH | TcpFlags::ACK
            } else {
                TcpFlags::ACK
            };
            let mut comment = trace_line(tag, piece);
            if n > 1 {
                comment = format!("{comment} (segment {} of {n})", i + 1);
            }
            self.segment(c, end, flags, piece, comment);
        }
        self.segment(c, 1 - end, TcpFlags::ACK, b"", "ACK (synthesised)".into());
    }

    fn handshake(&mut self, c: &mut Tcp) {
        let syn = c.seq;
        let frame = self
            .frame(c.client, c.server)
            .tcp(syn[0], 0, TcpFlags::SYN, 65535, b"");
        c.seq[0] = c.seq[0].wrapping_add(1);
        self.push(
            frame,
            "handshake: SYN (synthesised; a trace does not record the handshake)".into(),
        );
        self.segment(
            c,
            1,
            TcpFlags::SYN | TcpFlags::ACK,
            b"",
            "handshake: SYN-ACK (synthesised)".into(),
        );
        self.segment(
            c,
            0,
            TcpFlags::ACK,
            b"",
            "handshake: ACK (synthesised)".into(),
        );
        c.open = true;
    }
}

/// The packets of a trace, in order. `port` is the server's port (see [`guess_port`]).
pub fn packets(trace: &Trace, port: u16) -> Result<Vec<Packet>, CaptureError> {
    let mut w = Writer::for_trace(trace, port);
    let mut conns = connections(trace, port);
    let udp = trace.transport() == Transport::Udp;
    for item in trace.items() {
        let tag = item.tag();
        let (index, from_client) = connection_of(tag);
        let c = &mut conns[index];
        match item {
            Item::Event { event, .. } => w.event(c, tag, from_client, event, udp),
            Item::Data { payload, .. } => {
                let bytes = real_bytes(payload)?;
                if udp {
                    w.datagram(c, tag, from_client, bytes);
                } else {
                    w.data(c, tag, from_client, bytes);
                }
            }
        }
    }
    Ok(w.packets)
}

/// The three connections a trace can use: client to server, client to proxy, and proxy to
/// origin (the origin on port 80 behind a proxy on 3128, unless `--port` says otherwise).
fn connections(trace: &Trace, port: u16) -> [Tcp; 3] {
    let proxied = trace
        .tags()
        .iter()
        .any(|t| matches!(t, Tag::ClientToProxy | Tag::ProxyToClient));
    let origin_port = if proxied && port == 3128 { 80 } else { port };
    let tcp = |client: (Host, u16), server: (Host, u16), seq: [u32; 2]| Tcp {
        client,
        server,
        seq,
        open: false,
        closed: [false; 2],
    };
    [
        tcp(
            (Host::Client, 49152),
            (Host::Server, port),
            [0x1000_0000, 0x5000_0000],
        ),
        tcp(
            (Host::Client, 49153),
            (Host::Server, port),
            [0x2000_0000, 0x6000_0000],
        ),
        tcp(
            (Host::Server, 49154),
            (Host::Origin, origin_port),
            [0x3000_0000, 0x7000_0000],
        ),
    ]
}

/// A payload's bytes, or the placeholder (`<any>`, an elided body) that stands where bytes
/// must be.
fn real_bytes(payload: &wire::trace::Payload) -> Result<&[u8], CaptureError> {
    payload.as_bytes().ok_or_else(|| {
        let placeholder = payload
            .pieces()
            .iter()
            .find_map(|p| match p {
                Piece::Any => Some("<any>".to_string()),
                Piece::Elided(body) => Some(body.to_string()),
                Piece::Bytes(_) => None,
            })
            .unwrap_or_default();
        CaptureError::Placeholder(placeholder)
    })
}

/// The first text line of some bytes in trace syntax, with its tag, for a packet comment.
fn trace_line(tag: Tag, bytes: &[u8]) -> String {
    let shown = wire::trace::render_payload(&tag.prefix(), bytes);
    let mut lines = shown.lines();
    let first = lines.next().unwrap_or_default().to_string();
    let more = lines.count();
    if more > 0 {
        format!(
            "{first} (+{more} more line{})",
            if more == 1 { "" } else { "s" }
        )
    } else {
        first
    }
}

/// The trace as a pcapng file: a section header, one Ethernet interface with nanosecond
/// timestamps, and an enhanced packet block (with its comment) per packet.
pub fn pcapng(trace: &Trace, port: u16, source: &str) -> Result<Vec<u8>, CaptureError> {
    let packets = packets(trace, port)?;
    let write = |e: pcap_file::PcapError| CaptureError::Write(e.to_string());
    let section = SectionHeaderBlock {
        options: vec![
            SectionHeaderOption::Comment(Cow::Owned(format!(
                "made by labs trace pcap from {source}: the payload bytes are the trace's; \
                 addresses, ports, handshakes and ACKs are synthesised"
            ))),
            SectionHeaderOption::UserApplication(Cow::Borrowed("protolab labs")),
        ],
        ..SectionHeaderBlock::default()
    };
    let mut out = PcapNgWriter::with_section_header(Vec::new(), section).map_err(write)?;
    out.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0,
        options: vec![
            InterfaceDescriptionOption::IfName(Cow::Borrowed("lo")),
            InterfaceDescriptionOption::IfTsResol(9),
        ],
    })
    .map_err(write)?;
    for p in &packets {
        out.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: p.time,
            original_len: p.frame.len() as u32,
            data: Cow::Borrowed(&p.frame),
            options: vec![EnhancedPacketOption::Comment(Cow::Borrowed(&p.comment))],
        })
        .map_err(write)?;
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use wire::packet::{decode, Decoded, LinkType};

    #[test]
    fn sequence_numbers_count_the_bytes_and_acks_follow() {
        let body = vec![b'x'; 2000];
        let mut t = Trace::new(Transport::Tcp);
        t.push_bytes(Tag::Client, b"GET / HTTP/1.1\r\n\r\n");
        t.push_bytes(
            Tag::Server,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n",
        );
        t.push_bytes(Tag::Server, &body);
        t.push_event(Tag::Server, Event::Close);
        let packets = packets(&t, 80).unwrap();
        let segs: Vec<(String, u32, u32, usize)> = packets
            .iter()
            .map(|p| match decode(LinkType::Ethernet, &p.frame).unwrap() {
                Decoded::Tcp(s) => (s.flags.to_string(), s.seq, s.ack, s.payload.len()),
                other => panic!("{other:?}"),
            })
            .collect();
        let (c, s) = (0x1000_0000u32, 0x5000_0000u32);
        assert_eq!(
            segs,
            vec![
                ("SYN".into(), c, 0, 0),
                ("SYN,ACK".into(), s, c + 1, 0),
                ("ACK".into(), c + 1, s + 1, 0),
                ("ACK,PSH".into(), c + 1, s + 1, 18),
                ("ACK".into(), s + 1, c + 19, 0),
                ("ACK".into(), s + 1, c + 19, 1460),
                ("ACK,PSH".into(), s + 1461, c + 19, 2041 - 1460),
                ("ACK".into(), c + 19, s + 2042, 0),
                ("ACK,FIN".into(), s + 2042, c + 19, 0),
                ("ACK".into(), c + 19, s + 2043, 0),
            ]
        );
        assert_eq!(packets[3].comment, "C: GET / HTTP/1.1\\r\\n (+1 more line)");
    }

    #[test]
    fn placeholders_cannot_become_packets() {
        let t = Trace::parse("C: GET <any>\n").unwrap();
        assert!(matches!(packets(&t, 80), Err(CaptureError::Placeholder(p)) if p == "<any>"));
    }

    #[test]
    fn a_proxy_on_3128_talks_to_an_origin_on_80_and_other_ports_are_kept() {
        let proxied =
            Trace::parse("C>P: GET http://o/ HTTP/1.1\\r\\n\nP>O: GET / HTTP/1.1\\r\\n\n").unwrap();
        let ends = |t: &Trace, port| connections(t, port).map(|c| (c.client, c.server));
        assert_eq!(
            ends(&proxied, 3128),
            [
                ((Host::Client, 49152), (Host::Server, 3128)),
                ((Host::Client, 49153), (Host::Server, 3128)),
                ((Host::Server, 49154), (Host::Origin, 80)),
            ]
        );
        assert_eq!(ends(&proxied, 8888)[2].1, (Host::Origin, 8888));
        let direct = Trace::parse("C: x\n").unwrap();
        assert_eq!(ends(&direct, 3128)[2].1, (Host::Origin, 3128));
    }

    #[test]
    fn only_real_bytes_become_payload_and_a_placeholder_is_named() {
        let t = Trace::parse("C: GET / HTTP/1.1\\r\\n\nS: <any>\n").unwrap();
        let payloads: Vec<&wire::trace::Payload> = t
            .items()
            .iter()
            .filter_map(|i| match i {
                Item::Data { payload, .. } => Some(payload),
                Item::Event { .. } => None,
            })
            .collect();
        assert_eq!(real_bytes(payloads[0]), Ok(&b"GET / HTTP/1.1\r\n"[..]));
        assert_eq!(
            real_bytes(payloads[1]),
            Err(CaptureError::Placeholder("<any>".into()))
        );
    }

    #[test]
    fn waits_move_the_clock_and_events_are_noted_on_the_next_packet() {
        let t =
            Trace::parse("# transport: udp\nC: <wait 1500ms>\nC: <lost>\nC: <close>\nC: Ping 2\n")
                .unwrap();
        let p = packets(&t, 12000).unwrap();
        assert_eq!(p.len(), 1, "a UDP <close> sends nothing");
        assert_eq!(
            p[0].time,
            Duration::from_secs(1_767_225_600) + Duration::from_millis(1500)
        );
        assert_eq!(
            p[0].comment,
            "Wireshark decodes UDP port 12000 as LLC: Decode As... UDP port 12000 -> (none) shows the text \
             | after C: <wait 1500ms> | C: <lost>: a datagram was lost before this packet | C: <close> | C: Ping 2"
        );
    }

    #[test]
    fn a_close_opens_the_connection_first_and_is_sent_once() {
        let t = Trace::parse("C: <close>\nC: <close>\n").unwrap();
        let comments: Vec<String> = packets(&t, 80)
            .unwrap()
            .into_iter()
            .map(|p| p.comment)
            .collect();
        assert_eq!(
            comments,
            [
                "handshake: SYN (synthesised; a trace does not record the handshake)",
                "handshake: SYN-ACK (synthesised)",
                "handshake: ACK (synthesised)",
                "C: <close> (FIN)",
                "ACK of the FIN",
            ]
        );
    }
}
