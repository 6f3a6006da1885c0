//! A capture of a real exchange as `.trace` files (`labs trace import`).
//!
//! A capture (tcpdump on loopback, or Wireshark) holds packets; a trace holds what each party
//! sent. In between: the pcap or pcapng container is read with the pcap-file crate, each frame
//! is read down to its TCP segment or UDP datagram by [`wire::packet::decode`], and each TCP
//! connection's segments are put back into its two byte streams by
//! [`wire::tcp_reassembly::Conversation`], which also tells client from server (the side that
//! sent the SYN connected). One trace per TCP connection, in the order the connections opened;
//! one per UDP flow (its first sender is the client), leaving out DNS, mDNS, DHCP, NTP, SSDP and
//! LLMNR chatter; `--port N` keeps only the connections and flows with that port at either end.
//!
//! Bytes become `C:` and `S:` items in the order they became readable, a FIN or RST becomes
//! `<close>`, and a pause of [`WAIT_THRESHOLD_MS`] or more before a party acts becomes its
//! `<wait Nms>`. `# now:` is the time of the first packet.

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgReader};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use wire::packet::{decode, Decoded, LinkType};
use wire::tcp_reassembly::{Conversation, Roles, Side, StreamEvent};
use wire::trace::{Event, Tag, Trace, Transport};

/// The shortest pause that is written as `<wait Nms>`.
pub const WAIT_THRESHOLD_MS: u64 = 100;

/// UDP ports whose traffic is the machine's, not an exchange of the labs.
const NOISE_PORTS: [u16; 7] = [53, 67, 68, 123, 1900, 5353, 5355];

/// A capture that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// Neither a pcap nor a pcapng file.
    NotACapture,
    /// The container is broken.
    Container(String),
    /// A link type that is not read here.
    LinkType(u32),
    /// Nothing to make a trace of.
    Empty {
        /// How many packets were read.
        packets: usize,
        /// The port asked for, if one was.
        port: Option<u16>,
    },
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::NotACapture => f.write_str(
                "this is not a pcap or pcapng file (tcpdump -w FILE and Wireshark's Save As write them)",
            ),
            ImportError::Container(e) => write!(f, "the capture file is damaged: {e}"),
            ImportError::LinkType(n) => write!(
                f,
                "its link type {n} is not read here (Ethernet, Linux cooked, raw IP and loopback are); \
                 capture on an Ethernet or loopback interface, e.g. tcpdump -i lo -w FILE"
            ),
            ImportError::Empty { packets, port: None } => write!(
                f,
                "none of its {packets} packets belongs to a TCP connection or a UDP exchange"
            ),
            ImportError::Empty {
                packets,
                port: Some(port),
            } => write!(
                f,
                "none of its {packets} packets has port {port}; leave out --port to see every connection"
            ),
        }
    }
}

impl std::error::Error for ImportError {}

/// One trace made from a capture.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The exchange.
    pub trace: Trace,
    /// Who connected (or sent first, over UDP).
    pub client: SocketAddr,
    /// Who accepted.
    pub server: SocketAddr,
    /// How many packets went into it.
    pub packets: u64,
    /// What a reader should know: roles guessed, bytes missing from the capture.
    pub warnings: Vec<String>,
}

/// One frame of the capture: when, and its bytes, with the interface's link type.
struct Frame {
    time: Duration,
    link: u32,
    data: Vec<u8>,
}

/// The frames of a pcap or pcapng file.
fn frames(bytes: &[u8]) -> Result<Vec<Frame>, ImportError> {
    let container = |e: pcap_file::PcapError| ImportError::Container(e.to_string());
    let magic = bytes.get(..4).ok_or(ImportError::NotACapture)?;
    let mut frames = Vec::new();
    match magic {
        [0x0a, 0x0d, 0x0d, 0x0a] => {
            let mut reader = PcapNgReader::new(bytes).map_err(container)?;
            while let Some(block) = reader.next_block() {
                // (interface, raw timestamp, bytes): owned, so the reader is free again.
                let (interface_id, raw, data) = match block.map_err(container)? {
                    Block::EnhancedPacket(p) => (
                        p.interface_id,
                        Some(p.timestamp.as_nanos()),
                        p.data.into_owned(),
                    ),
                    Block::SimplePacket(p) => (0, None, p.data.into_owned()),
                    _ => continue,
                };
                let Some(interface) = reader.interfaces().get(interface_id as usize) else {
                    return Err(ImportError::Container(format!(
                        "a packet names interface {interface_id}, which the file never describes"
                    )));
                };
                // The crate hands over the raw timestamp; its unit is the interface's. A simple
                // packet block has none: it takes the time of the packet before it.
                let time = match raw {
                    Some(raw) => scale(raw, interface),
                    None => frames.last().map(|f: &Frame| f.time).unwrap_or_default(),
                };
                frames.push(Frame {
                    time,
                    link: u32::from(interface.linktype),
                    data,
                });
            }
        }
        [0xa1, 0xb2, 0xc3, 0xd4]
        | [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d]
        | [0x4d, 0x3c, 0xb2, 0xa1] => {
            let mut reader = PcapReader::new(bytes).map_err(container)?;
            let link = u32::from(reader.header().datalink);
            while let Some(packet) = reader.next_packet() {
                let packet = packet.map_err(container)?;
                frames.push(Frame {
                    time: packet.timestamp,
                    link,
                    data: packet.data.into_owned(),
                });
            }
        }
        _ => return Err(ImportError::NotACapture),
    }
    Ok(frames)
}

/// A pcapng timestamp in the interface's unit (`if_tsresol`, microseconds unless it says).
fn scale(raw: u128, interface: &InterfaceDescriptionBlock<'_>) -> Duration {
    let resolution = interface
        .options
        .iter()
        .find_map(|o| match o {
            InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
            _ => None,
        })
        .unwrap_or(6);
    let nanos = if resolution & 0x80 == 0 {
        let digits = u32::from(resolution);
        if digits <= 9 {
            raw * 10u128.pow(9 - digits)
        } else {
            raw / 10u128.pow((digits - 9).min(30))
        }
    } else {
        // A power of two: units of 2^-n seconds.
        let n = u32::from(resolution & 0x7f).min(64);
        (raw * 1_000_000_000) >> n
    };
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A trace being built from one connection or flow.
struct Building {
    trace: Trace,
    last: Option<Duration>,
    packets: u64,
}

impl Building {
    fn new(transport: Transport, started: Duration) -> Building {
        let mut trace = Trace::new(transport);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(started.as_secs());
        trace.set_now(now);
        Building {
            trace,
            last: None,
            packets: 0,
        }
    }

    /// Notes a pause before `tag` acts at `time`.
    fn pause(&mut self, tag: Tag, time: Duration) {
        if let Some(last) = self.last {
            let millis = time.saturating_sub(last).as_millis() as u64;
            if millis >= WAIT_THRESHOLD_MS {
                self.trace.push_event(tag, Event::Wait { millis });
            }
        }
        self.last = Some(time);
    }
}

struct Tcp {
    conversation: Conversation,
    building: Building,
}

struct Udp {
    client: SocketAddr,
    server: SocketAddr,
    building: Building,
}

/// Every TCP connection and UDP flow of a capture as a trace (only those with `port` at one end
/// when it is given). `name` goes into each trace's title.
pub fn import(bytes: &[u8], port: Option<u16>, name: &str) -> Result<Vec<Imported>, ImportError> {
    let frames = frames(bytes)?;
    let mut streams = Streams::new(port);
    for frame in &frames {
        streams.handle_frame(frame)?;
    }
    let out = streams.into_imported(name);
    if out.is_empty() {
        return Err(ImportError::Empty {
            packets: frames.len(),
            port,
        });
    }
    Ok(out)
}

/// The connections and flows found so far, each with the trace being built from it.
struct Streams {
    port: Option<u16>,
    tcp: Vec<Tcp>,
    udp: Vec<Udp>,
    skipped_fragments: usize,
}

impl Streams {
    fn new(port: Option<u16>) -> Streams {
        Streams {
            port,
            tcp: Vec::new(),
            udp: Vec::new(),
            skipped_fragments: 0,
        }
    }

    /// Takes one frame: its TCP segment or UDP datagram goes to its stream; fragments and
    /// unreadable frames are left out.
    fn handle_frame(&mut self, frame: &Frame) -> Result<(), ImportError> {
        let link = LinkType::from_number(frame.link).ok_or(ImportError::LinkType(frame.link))?;
        match decode(link, &frame.data) {
            Ok(Decoded::Tcp(segment)) => self.handle_segment(&segment, frame.time),
            Ok(Decoded::Udp(datagram)) => self.handle_datagram(&datagram, frame.time),
            Ok(Decoded::Other(_)) => {}
            Err(wire::packet::PacketError::Fragment) => self.skipped_fragments += 1,
            // A frame cut short or otherwise unreadable is left out, as Wireshark marks it.
            Err(_) => {}
        }
        Ok(())
    }

    fn handle_segment(&mut self, segment: &wire::packet::Segment<'_>, time: Duration) {
        if self
            .port
            .is_some_and(|p| segment.src.port() != p && segment.dst.port() != p)
        {
            return;
        }
        let c = self.connection_of(segment, time);
        c.building.packets += 1;
        c.conversation.handle_segment(segment);
        while let Some((side, event)) = c.conversation.poll_event() {
            let tag = match side {
                Side::Client => Tag::Client,
                Side::Server => Tag::Server,
            };
            c.building.pause(tag, time);
            match event {
                StreamEvent::Data(bytes) => c.building.trace.push_bytes(tag, &bytes),
                StreamEvent::Fin | StreamEvent::Reset => {
                    c.building.trace.push_event(tag, Event::Close)
                }
            }
        }
    }

    /// The connection a segment belongs to: the latest one between its two ends, unless that one
    /// is over and the segment opens a new one (a SYN without ACK), which then begins here.
    fn connection_of(&mut self, segment: &wire::packet::Segment<'_>, time: Duration) -> &mut Tcp {
        let starts = segment.flags.has(wire::packet::TcpFlags::SYN)
            && !segment.flags.has(wire::packet::TcpFlags::ACK);
        let open = self.tcp.iter().rposition(|c| {
            c.conversation.carries(segment) && !(starts && c.conversation.finished())
        });
        let index = open.unwrap_or_else(|| {
            self.tcp.push(Tcp {
                conversation: Conversation::new(segment, self.port),
                building: Building::new(Transport::Tcp, time),
            });
            self.tcp.len() - 1
        });
        &mut self.tcp[index]
    }

    fn handle_datagram(&mut self, datagram: &wire::packet::Datagram<'_>, time: Duration) {
        if !wanted_udp([datagram.src.port(), datagram.dst.port()], self.port) {
            return;
        }
        let index = self.udp.iter().position(|f| {
            (f.client == datagram.src && f.server == datagram.dst)
                || (f.client == datagram.dst && f.server == datagram.src)
        });
        let index = index.unwrap_or_else(|| {
            self.udp.push(Udp {
                client: datagram.src,
                server: datagram.dst,
                building: Building::new(Transport::Udp, time),
            });
            self.udp.len() - 1
        });
        let f = &mut self.udp[index];
        let tag = if datagram.src == f.client {
            Tag::Client
        } else {
            Tag::Server
        };
        f.building.packets += 1;
        f.building.pause(tag, time);
        f.building.trace.push_bytes(tag, datagram.payload);
    }

    /// The traces: TCP connections that carried something, in the order they opened, then the
    /// UDP flows; the first one notes the fragments that were left out.
    fn into_imported(self, name: &str) -> Vec<Imported> {
        let mut out = Vec::new();
        let total = self.tcp.len();
        for (n, c) in self.tcp.into_iter().enumerate() {
            if c.building.trace.items().is_empty() {
                continue;
            }
            let conv = &c.conversation;
            let warnings = tcp_warnings(conv, self.port);
            out.push(finish(
                c.building,
                conv.client(),
                conv.server(),
                warnings,
                name,
                n,
                total,
            ));
        }
        let total = self.udp.len();
        for (n, f) in self.udp.into_iter().enumerate() {
            out.push(finish(
                f.building,
                f.client,
                f.server,
                Vec::new(),
                name,
                n,
                total,
            ));
        }
        if self.skipped_fragments > 0 {
            if let Some(first) = out.first_mut() {
                first.warnings.push(format!(
                    "{} IP fragments were left out (fragments are not reassembled)",
                    self.skipped_fragments
                ));
            }
        }
        out
    }
}

/// Whether a UDP datagram between these ports belongs in the import: one with `port` at either
/// end when a port is asked for, else any that is not the machine's own chatter (DNS, DHCP...).
fn wanted_udp(ports: [u16; 2], port: Option<u16>) -> bool {
    match port {
        Some(p) => ports.contains(&p),
        None => !ports.iter().any(|p| NOISE_PORTS.contains(p)),
    }
}

/// What a reader of a TCP trace should know: the roles were guessed (the capture missed the
/// handshake), or bytes of a stream are not in the capture.
fn tcp_warnings(conv: &Conversation, port: Option<u16>) -> Vec<String> {
    let mut warnings = Vec::new();
    if conv.roles() == Roles::Guessed {
        warnings.push(format!(
            "the capture began after the handshake, so {} is taken to be the server{}",
            conv.server(),
            if port.is_some() {
                " (it has the --port)"
            } else {
                " (the lower port)"
            }
        ));
    }
    for (side, who) in [(Side::Client, "client"), (Side::Server, "server")] {
        if let Some((from, to)) = conv.direction(side).gap() {
            warnings.push(format!(
                "bytes {from}..{to} of the {who}'s stream are not in the capture; the trace stops before them"
            ));
        }
    }
    warnings
}

fn finish(
    mut building: Building,
    client: SocketAddr,
    server: SocketAddr,
    warnings: Vec<String>,
    name: &str,
    n: usize,
    total: usize,
) -> Imported {
    let kind = building.trace.transport().as_str().to_ascii_uppercase();
    let which = if total > 1 {
        format!(" {kind} stream {} of {total}", n + 1)
    } else {
        format!(" {kind}")
    };
    let _ = building.trace.set_meta(
        "title",
        &format!("{client} -> {server}{which}, imported from {name}"),
    );
    Imported {
        trace: building.trace,
        client,
        server,
        packets: building.packets,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_trace_written_as_pcapng_imports_back_to_the_same_exchange() {
        let text = "\
C: GET / HTTP/1.1\\r\\n
C: Host: x\\r\\n
C: \\r\\n
S: HTTP/1.1 200 OK\\r\\n
S: Content-Length: 2\\r\\n
S: \\r\\n
S: hi
S: <wait 1500ms>
S: <close>
C: <close>
";
        let original = Trace::parse(text).unwrap();
        let capture = crate::capture::pcapng(&original, 8080, "test").unwrap();
        let imported = import(&capture, None, "test.pcapng").unwrap();
        assert_eq!(imported.len(), 1);
        let got = &imported[0];
        assert_eq!(got.server.port(), 8080);
        assert_eq!(got.warnings, Vec::<String>::new());
        assert_eq!(got.trace.items(), original.items());
    }

    #[test]
    fn not_a_capture_and_no_streams_are_told_apart() {
        assert_eq!(
            import(b"GET / HTTP/1.1\r\n", None, "x").unwrap_err(),
            ImportError::NotACapture
        );
        let trace = Trace::parse("C: a\n").unwrap();
        let capture = crate::capture::pcapng(&trace, 80, "test").unwrap();
        let err = import(&capture, Some(9), "x").unwrap_err();
        assert!(err.to_string().contains("port 9"), "{err}");
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn segment(
        src: u16,
        dst: u16,
        seq: u32,
        flags: wire::packet::TcpFlags,
        payload: &[u8],
    ) -> wire::packet::Segment<'_> {
        wire::packet::Segment {
            src: addr(src),
            dst: addr(dst),
            seq,
            ack: 0,
            flags,
            window: 65535,
            payload,
        }
    }

    #[test]
    fn udp_noise_is_left_out_unless_its_port_is_asked_for() {
        assert!(wanted_udp([50000, 12000], None));
        assert!(!wanted_udp([50000, 53], None));
        assert!(!wanted_udp([5353, 5353], None));
        assert!(wanted_udp([50000, 53], Some(53)));
        assert!(!wanted_udp([50000, 12000], Some(8080)));
    }

    #[test]
    fn a_udp_flow_is_one_trace_whose_first_sender_is_the_client() {
        let mut streams = Streams::new(None);
        let ping = wire::packet::Datagram {
            src: addr(50000),
            dst: addr(12000),
            payload: b"Ping 1",
        };
        let pong = wire::packet::Datagram {
            src: addr(12000),
            dst: addr(50000),
            payload: b"PING 1",
        };
        streams.handle_datagram(&ping, Duration::from_secs(10));
        streams.handle_datagram(&pong, Duration::from_millis(10_250));
        let dns = wire::packet::Datagram {
            src: addr(50001),
            dst: addr(53),
            payload: b"?",
        };
        streams.handle_datagram(&dns, Duration::from_secs(11));
        let out = streams.into_imported("ping.pcap");
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].client, out[0].server, out[0].packets),
            (addr(50000), addr(12000), 2)
        );
        let expected =
            Trace::parse("# transport: udp\nC: Ping 1\nS: <wait 250ms>\nS: PING 1\n").unwrap();
        assert_eq!(out[0].trace.items(), expected.items());
    }

    #[test]
    fn a_syn_after_a_finished_connection_on_the_same_ports_opens_a_new_one() {
        use wire::packet::TcpFlags;
        let mut streams = Streams::new(None);
        let t = Duration::from_secs(1);
        for s in [
            segment(40000, 80, 100, TcpFlags::SYN, b""),
            segment(80, 40000, 500, TcpFlags::SYN | TcpFlags::ACK, b""),
            segment(40000, 80, 101, TcpFlags::ACK, b"one"),
            segment(40000, 80, 104, TcpFlags::RST, b""),
            segment(40000, 80, 900, TcpFlags::SYN, b""),
            segment(80, 40000, 700, TcpFlags::SYN | TcpFlags::ACK, b""),
            segment(40000, 80, 901, TcpFlags::ACK, b"two"),
        ] {
            streams.handle_segment(&s, t);
        }
        assert_eq!(streams.tcp.len(), 2);
        let out = streams.into_imported("two.pcap");
        let first = Trace::parse("C: one\nC: <close>\n").unwrap();
        let second = Trace::parse("C: two\n").unwrap();
        assert_eq!(out[0].trace.items(), first.items());
        assert_eq!(out[1].trace.items(), second.items());
        assert!(out[1].trace.title().unwrap().contains("TCP stream 2 of 2"));
    }

    #[test]
    fn a_capture_that_missed_the_handshake_says_whom_it_took_for_the_server() {
        use wire::packet::TcpFlags;
        let data = segment(8080, 40000, 1, TcpFlags::ACK, b"HTTP/1.1 200 OK\r\n");
        let by_port = Conversation::new(&data, Some(8080));
        assert_eq!(
            tcp_warnings(&by_port, Some(8080)),
            ["the capture began after the handshake, so 127.0.0.1:8080 is taken to be the server (it has the --port)"]
        );
        let by_lower = Conversation::new(&data, None);
        assert_eq!(
            tcp_warnings(&by_lower, None),
            ["the capture began after the handshake, so 127.0.0.1:8080 is taken to be the server (the lower port)"]
        );
        let mut handshake = Conversation::new(&segment(40000, 8080, 7, TcpFlags::SYN, b""), None);
        handshake.handle_segment(&segment(40000, 8080, 7, TcpFlags::SYN, b""));
        assert!(tcp_warnings(&handshake, None).is_empty());
    }
}
