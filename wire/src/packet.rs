//! Packets as a capture file holds them: a link-layer frame around an IPv4 or IPv6 packet around
//! a TCP segment or a UDP datagram. Read through [`decode`], written by [`Frame`].
//!
//! ```text
//!  Ethernet II (14)        IPv4 (20, RFC 791 §3.1)            TCP (20, RFC 9293 §3.1)
//! +-----+-----+------+   +---+---+-----+----+-----+-----+   +------+------+-----+-----+-----+-----+
//! | dst | src | type |   |v/l|tos| len | id | ttl |proto|   | sport| dport| seq | ack |flags| win |
//! +-----+-----+------+   | csum | src addr | dst addr  |   | csum | urg  | payload ...           |
//!                        +------+----------+-----------+   +------+------+-----------------------+
//! ```
//!
//! In scope: the link types that loopback and ordinary captures use (Ethernet, Linux cooked
//! v1 and v2, raw IP, BSD loopback), IPv4 (options skipped) and IPv6 (extension headers
//! walked), TCP and UDP headers, and the Internet checksum over the pseudo-header (RFC 9293
//! §3.1, RFC 768, RFC 8200 §8.1) when writing. Out of scope: IP fragments (reported, not
//! reassembled), TCP options (skipped when reading, none written), VLAN tags, and checking
//! checksums when reading: captures taken on loopback or with offload hold checksums the kernel
//! never filled in, so a reader that refused them would refuse every real loopback capture.

use crate::ping::icmp::checksum;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The link-layer header types of the capture formats (the `LINKTYPE_` registry numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// 0: BSD loopback, a 4-byte address family in the host's byte order.
    Null,
    /// 1: Ethernet II (also what Linux's `lo` gives tcpdump, with zero addresses).
    Ethernet,
    /// 101 (and 12, 14 on some systems): a bare IPv4 or IPv6 packet.
    Raw,
    /// 108: OpenBSD loopback, the address family in network byte order.
    Loop,
    /// 113: Linux cooked capture v1 (`tcpdump -i any` on older systems).
    LinuxSll,
    /// 276: Linux cooked capture v2 (`tcpdump -i any`).
    LinuxSll2,
    /// 228: bare IPv4.
    Ipv4,
    /// 229: bare IPv6.
    Ipv6,
}

impl LinkType {
    /// The link type for a registry number, when it is one of those read here.
    pub fn from_number(n: u32) -> Option<LinkType> {
        Some(match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            _ => return None,
        })
    }
}

/// TCP's control bits (RFC 9293 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronise sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// The acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);

    /// True when every bit of `other` is set.
    pub fn has(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (0x02, "SYN"),
            (0x10, "ACK"),
            (0x08, "PSH"),
            (0x01, "FIN"),
            (0x04, "RST"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        f.write_str(&set.join(","))
    }
}

/// A TCP segment read from a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The sender's address and port.
    pub src: SocketAddr,
    /// The receiver's address and port.
    pub dst: SocketAddr,
    /// The sequence number of the first byte (or of the SYN).
    pub seq: u32,
    /// The next sequence number the sender expects, when [`TcpFlags::ACK`] is set.
    pub ack: u32,
    /// The control bits.
    pub flags: TcpFlags,
    /// The receive window.
    pub window: u16,
    /// The data.
    pub payload: &'a [u8],
}

/// A UDP datagram read from a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// The sender's address and port.
    pub src: SocketAddr,
    /// The receiver's address and port.
    pub dst: SocketAddr,
    /// The data.
    pub payload: &'a [u8],
}

/// What a frame carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A TCP segment.
    Tcp(Segment<'a>),
    /// A UDP datagram.
    Udp(Datagram<'a>),
    /// Something else (ARP, ICMP, another IP protocol): not part of an exchange.
    Other(&'static str),
}

/// A frame that cannot be read as far as its TCP or UDP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketError {
    /// The frame ends inside a header (a capture with a short snap length, or a broken file).
    Truncated {
        /// Which header.
        layer: &'static str,
        /// How many bytes the header needs.
        need: usize,
        /// How many there were.
        got: usize,
    },
    /// The IP version nibble is neither 4 nor 6.
    BadIpVersion(u8),
    /// A header length field points outside the packet.
    BadHeaderLength(&'static str),
    /// A fragment of a larger IP packet: fragments are not reassembled here.
    Fragment,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Truncated { layer, need, got } => write!(
                f,
                "the {layer} header needs {need} bytes but the frame has {got} (was the capture's snap length too short?)"
            ),
            PacketError::BadIpVersion(v) => write!(f, "IP version {v} is neither 4 nor 6"),
            PacketError::BadHeaderLength(layer) => {
                write!(f, "the {layer} header's length field points past the packet")
            }
            PacketError::Fragment => f.write_str(
                "an IP fragment (RFC 791 §2.3); fragments are not reassembled, so this packet is skipped",
            ),
        }
    }
}

impl std::error::Error for PacketError {}

fn need(bytes: &[u8], n: usize, layer: &'static str) -> Result<(), PacketError> {
    if bytes.len() < n {
        Err(PacketError::Truncated {
            layer,
            need: n,
            got: bytes.len(),
        })
    } else {
        Ok(())
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// Reads a frame of a capture as far as its TCP segment or UDP datagram.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Decoded<'_>, PacketError> {
    let (ethertype, packet) = match link {
        LinkType::Ethernet => {
            need(frame, 14, "Ethernet")?;
            (Some(be16(frame, 12)), &frame[14..])
        }
        LinkType::LinuxSll => {
            need(frame, 16, "Linux cooked (SLL)")?;
            (Some(be16(frame, 14)), &frame[16..])
        }
        LinkType::LinuxSll2 => {
            need(frame, 20, "Linux cooked (SLL2)")?;
            (Some(be16(frame, 0)), &frame[20..])
        }
        LinkType::Null | LinkType::Loop => {
            need(frame, 4, "loopback")?;
            (None, &frame[4..])
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => (None, frame),
    };
    match ethertype {
        Some(ETHERTYPE_IPV4 | ETHERTYPE_IPV6) | None => decode_ip(packet),
        Some(0x0806) => Ok(Decoded::Other("ARP")),
        Some(_) => Ok(Decoded::Other("not IP")),
    }
}

/// Reads an IPv4 or IPv6 packet, then its TCP or UDP header.
fn decode_ip(packet: &[u8]) -> Result<Decoded<'_>, PacketError> {
    need(packet, 1, "IP")?;
    let (src, dst, protocol, body) = match packet[0] >> 4 {
        4 => {
            need(packet, 20, "IPv4")?;
            let header_len = usize::from(packet[0] & 0x0f) * 4;
            let total = usize::from(be16(packet, 2));
            if header_len < 20 || header_len > packet.len() {
                return Err(PacketError::BadHeaderLength("IPv4"));
            }
            let fragment = be16(packet, 6);
            // More fragments, or a fragment offset: part of a larger packet.
            if fragment & 0x2000 != 0 || fragment & 0x1fff != 0 {
                return Err(PacketError::Fragment);
            }
            // Ethernet pads short frames: the IPv4 total length says where the packet ends.
            let end = if total >= header_len && total <= packet.len() {
                total
            } else {
                packet.len()
            };
            let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
            let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
            (
                IpAddr::V4(src),
                IpAddr::V4(dst),
                packet[9],
                &packet[header_len..end],
            )
        }
        6 => {
            need(packet, 40, "IPv6")?;
            let payload_len = usize::from(be16(packet, 4));
            let mut next = packet[6];
            let src: [u8; 16] = packet[8..24].try_into().expect("16 bytes");
            let dst: [u8; 16] = packet[24..40].try_into().expect("16 bytes");
            let end = (40 + payload_len).min(packet.len());
            let mut at = 40;
            // Hop-by-hop, routing and destination options (RFC 8200 §4): skip them.
            while matches!(next, 0 | 43 | 60) {
                need(&packet[at..end], 8, "IPv6 extension")?;
                let len = (usize::from(packet[at + 1]) + 1) * 8;
                next = packet[at];
                at += len;
                if at > end {
                    return Err(PacketError::BadHeaderLength("IPv6 extension"));
                }
            }
            if next == 44 {
                return Err(PacketError::Fragment);
            }
            (
                IpAddr::V6(Ipv6Addr::from(src)),
                IpAddr::V6(Ipv6Addr::from(dst)),
                next,
                &packet[at..end],
            )
        }
        v => return Err(PacketError::BadIpVersion(v)),
    };
    match protocol {
        PROTO_TCP => {
            need(body, 20, "TCP")?;
            let offset = usize::from(body[12] >> 4) * 4;
            if offset < 20 || offset > body.len() {
                return Err(PacketError::BadHeaderLength("TCP"));
            }
            Ok(Decoded::Tcp(Segment {
                src: SocketAddr::new(src, be16(body, 0)),
                dst: SocketAddr::new(dst, be16(body, 2)),
                seq: be32(body, 4),
                ack: be32(body, 8),
                flags: TcpFlags(body[13] & 0x3f),
                window: be16(body, 14),
                payload: &body[offset..],
            }))
        }
        PROTO_UDP => {
            need(body, 8, "UDP")?;
            let len = usize::from(be16(body, 4));
            let end = if (8..=body.len()).contains(&len) {
                len
            } else {
                body.len()
            };
            Ok(Decoded::Udp(Datagram {
                src: SocketAddr::new(src, be16(body, 0)),
                dst: SocketAddr::new(dst, be16(body, 2)),
                payload: &body[8..end],
            }))
        }
        1 | 58 => Ok(Decoded::Other("ICMP")),
        _ => Ok(Decoded::Other("another IP protocol")),
    }
}

/// A locally administered MAC address for a synthesised host (`02:00:00:00:00:NN`).
pub fn synthetic_mac(host: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, host]
}

/// One Ethernet II frame holding an IPv4 packet, as [`Frame::tcp`] and [`Frame::udp`] write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The sender's MAC address.
    pub src_mac: [u8; 6],
    /// The receiver's MAC address.
    pub dst_mac: [u8; 6],
    /// The sender (IPv4 only).
    pub src: (Ipv4Addr, u16),
    /// The receiver.
    pub dst: (Ipv4Addr, u16),
    /// The IPv4 identification field.
    pub ip_id: u16,
}

impl Frame {
    /// An Ethernet + IPv4 + TCP frame, checksums filled in. No TCP options.
    pub fn tcp(&self, seq: u32, ack: u32, flags: TcpFlags, window: u16, payload: &[u8]) -> Vec<u8> {
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&self.src.1.to_be_bytes());
        tcp.extend_from_slice(&self.dst.1.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.push(5 << 4); // data offset: five 32-bit words, no options
        tcp.push(flags.0);
        tcp.extend_from_slice(&window.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum (below), urgent pointer
        tcp.extend_from_slice(payload);
        let sum = self.transport_checksum(PROTO_TCP, &tcp);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());
        self.wrap(PROTO_TCP, &tcp)
    }

    /// An Ethernet + IPv4 + UDP frame, checksums filled in.
    pub fn udp(&self, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
        let mut udp = Vec::with_capacity(8 + payload.len());
        udp.extend_from_slice(&self.src.1.to_be_bytes());
        udp.extend_from_slice(&self.dst.1.to_be_bytes());
        udp.extend_from_slice(&len.to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(payload);
        let sum = match self.transport_checksum(PROTO_UDP, &udp) {
            0 => 0xffff, // RFC 768: a computed zero is sent as all ones
            sum => sum,
        };
        udp[6..8].copy_from_slice(&sum.to_be_bytes());
        self.wrap(PROTO_UDP, &udp)
    }

    /// The checksum over the IPv4 pseudo-header (RFC 9293 §3.1, RFC 768) and the segment.
    fn transport_checksum(&self, protocol: u8, segment: &[u8]) -> u16 {
        let mut covered = Vec::with_capacity(12 + segment.len());
        covered.extend_from_slice(&self.src.0.octets());
        covered.extend_from_slice(&self.dst.0.octets());
        covered.push(0);
        covered.push(protocol);
        covered.extend_from_slice(&(segment.len() as u16).to_be_bytes());
        covered.extend_from_slice(segment);
        checksum(&covered)
    }

    /// The Ethernet and IPv4 headers around a segment.
    fn wrap(&self, protocol: u8, segment: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + segment.len()).unwrap_or(u16::MAX);
        let mut ip = Vec::with_capacity(20);
        ip.push(0x45); // version 4, five 32-bit words
        ip.push(0);
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&self.ip_id.to_be_bytes());
        ip.extend_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
        ip.push(64);
        ip.push(protocol);
        ip.extend_from_slice(&[0, 0]);
        ip.extend_from_slice(&self.src.0.octets());
        ip.extend_from_slice(&self.dst.0.octets());
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut frame = Vec::with_capacity(14 + ip.len() + segment.len());
        frame.extend_from_slice(&self.dst_mac);
        frame.extend_from_slice(&self.src_mac);
        frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(segment);
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn frame() -> Frame {
        Frame {
            src_mac: synthetic_mac(1),
            dst_mac: synthetic_mac(2),
            src: (Ipv4Addr::new(127, 0, 0, 1), 49152),
            dst: (Ipv4Addr::new(127, 0, 0, 2), 80),
            ip_id: 7,
        }
    }

    #[test]
    fn a_written_tcp_frame_reads_back_and_its_checksums_add_up() {
        let bytes = frame().tcp(
            1000,
            2000,
            TcpFlags::PSH | TcpFlags::ACK,
            65535,
            b"GET / HTTP/1.1\r\n\r\n",
        );
        let Decoded::Tcp(seg) = decode(LinkType::Ethernet, &bytes).unwrap() else {
            panic!("not TCP")
        };
        assert_eq!(seg.src, "127.0.0.1:49152".parse().unwrap());
        assert_eq!(seg.dst, "127.0.0.2:80".parse().unwrap());
        assert_eq!((seg.seq, seg.ack, seg.window), (1000, 2000, 65535));
        assert_eq!(seg.flags.to_string(), "ACK,PSH");
        assert_eq!(seg.payload, b"GET / HTTP/1.1\r\n\r\n");
        // A header whose checksum is right sums (checksum field included) to zero.
        assert_eq!(checksum(&bytes[14..34]), 0);
        let mut pseudo = bytes[26..34].to_vec();
        pseudo.extend_from_slice(&[0, 6, 0, (bytes.len() - 34) as u8]);
        pseudo.extend_from_slice(&bytes[34..]);
        assert_eq!(checksum(&pseudo), 0);
    }

    #[test]
    fn a_written_udp_frame_reads_back() {
        let bytes = frame().udp(b"Ping 1 0.5");
        assert_eq!(
            decode(LinkType::Ethernet, &bytes).unwrap(),
            Decoded::Udp(Datagram {
                src: "127.0.0.1:49152".parse().unwrap(),
                dst: "127.0.0.2:80".parse().unwrap(),
                payload: b"Ping 1 0.5",
            })
        );
    }

    #[test]
    fn cooked_raw_and_ipv6_frames_are_read() {
        let eth = frame().tcp(1, 2, TcpFlags::ACK, 10, b"x");
        let ip = &eth[14..];
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
        ];
        sll2.extend_from_slice(ip);
        for (link, bytes) in [(LinkType::Raw, ip.to_vec()), (LinkType::LinuxSll2, sll2)] {
            assert!(matches!(decode(link, &bytes), Ok(Decoded::Tcp(s)) if s.payload == b"x"));
        }
        // IPv6 ::1 -> ::1, a TCP header with no payload.
        let mut v6 = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&eth[34..54]);
        let Ok(Decoded::Tcp(seg)) = decode(LinkType::Raw, &v6) else {
            panic!("not read")
        };
        assert_eq!(seg.src, "[::1]:49152".parse().unwrap());
    }

    #[test]
    fn short_and_odd_frames_are_refused_with_a_reason() {
        let eth = frame().tcp(1, 2, TcpFlags::ACK, 10, b"");
        assert_eq!(
            decode(LinkType::Ethernet, &eth[..30]),
            Err(PacketError::Truncated {
                layer: "IPv4",
                need: 20,
                got: 16
            })
        );
        assert_eq!(
            decode(LinkType::Ethernet, &eth[..40]),
            Err(PacketError::Truncated {
                layer: "TCP",
                need: 20,
                got: 6
            })
        );
        let mut fragment = eth.clone();
        fragment[20] = 0x20; // more fragments
        assert_eq!(
            decode(LinkType::Ethernet, &fragment),
            Err(PacketError::Fragment)
        );
        let mut v5 = eth.clone();
        v5[14] = 0x55;
        assert_eq!(
            decode(LinkType::Ethernet, &v5),
            Err(PacketError::BadIpVersion(5))
        );
        let mut arp = eth;
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(decode(LinkType::Ethernet, &arp), Ok(Decoded::Other("ARP")));
        // Every prefix of a frame is an answer, never a panic.
        let whole = frame().udp(b"abc");
        for n in 0..whole.len() {
            let _ = decode(LinkType::Ethernet, &whole[..n]);
        }
    }
}
