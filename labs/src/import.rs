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
    let mut tcp: Vec<Tcp> = Vec::new();
    let mut udp: Vec<Udp> = Vec::new();
    let mut skipped_fragments = 0usize;
    for frame in &frames {
        let link = LinkType::from_number(frame.link).ok_or(ImportError::LinkType(frame.link))?;
        let decoded = match decode(link, &frame.data) {
            Ok(d) => d,
            Err(wire::packet::PacketError::Fragment) => {
                skipped_fragments += 1;
                continue;
            }
            // A frame cut short or otherwise unreadable is left out, as Wireshark marks it.
            Err(_) => continue,
        };
        match decoded {
            Decoded::Tcp(segment) => {
                if port.is_some_and(|p| segment.src.port() != p && segment.dst.port() != p) {
                    continue;
                }
                let starts = segment.flags.has(wire::packet::TcpFlags::SYN)
                    && !segment.flags.has(wire::packet::TcpFlags::ACK);
                let open = tcp.iter().rposition(|c| {
                    c.conversation.carries(&segment) && !(starts && c.conversation.finished())
                });
                let index = match open {
                    Some(i) => i,
                    None => {
                        tcp.push(Tcp {
                            conversation: Conversation::new(&segment, port),
                            building: Building::new(Transport::Tcp, frame.time),
                        });
                        tcp.len() - 1
                    }
                };
                let c = &mut tcp[index];
                c.building.packets += 1;
                c.conversation.handle_segment(&segment);
                while let Some((side, event)) = c.conversation.poll_event() {
                    let tag = match side {
                        Side::Client => Tag::Client,
                        Side::Server => Tag::Server,
                    };
                    c.building.pause(tag, frame.time);
                    match event {
                        StreamEvent::Data(bytes) => c.building.trace.push_bytes(tag, &bytes),
                        StreamEvent::Fin | StreamEvent::Reset => {
                            c.building.trace.push_event(tag, Event::Close)
                        }
                    }
                }
            }
            Decoded::Udp(datagram) => {
                let ports = [datagram.src.port(), datagram.dst.port()];
                match port {
                    Some(p) if !ports.contains(&p) => continue,
                    None if ports.iter().any(|p| NOISE_PORTS.contains(p)) => continue,
                    _ => {}
                }
                let index = udp.iter().position(|f| {
                    (f.client == datagram.src && f.server == datagram.dst)
                        || (f.client == datagram.dst && f.server == datagram.src)
                });
                let index = match index {
                    Some(i) => i,
                    None => {
                        udp.push(Udp {
                            client: datagram.src,
                            server: datagram.dst,
                            building: Building::new(Transport::Udp, frame.time),
                        });
                        udp.len() - 1
                    }
                };
                let f = &mut udp[index];
                let tag = if datagram.src == f.client {
                    Tag::Client
                } else {
                    Tag::Server
                };
                f.building.packets += 1;
                f.building.pause(tag, frame.time);
                f.building.trace.push_bytes(tag, datagram.payload);
            }
            Decoded::Other(_) => {}
        }
    }
    let mut out = Vec::new();
    let total = tcp.len();
    for (n, c) in tcp.into_iter().enumerate() {
        let conv = &c.conversation;
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
        if c.building.trace.items().is_empty() {
            continue;
        }
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
    let total = udp.len();
    for (n, f) in udp.into_iter().enumerate() {
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
    if skipped_fragments > 0 {
        if let Some(first) = out.first_mut() {
            first.warnings.push(format!(
                "{skipped_fragments} IP fragments were left out (fragments are not reassembled)"
            ));
        }
    }
    if out.is_empty() {
        return Err(ImportError::Empty {
            packets: frames.len(),
            port,
        });
    }
    Ok(out)
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
}
