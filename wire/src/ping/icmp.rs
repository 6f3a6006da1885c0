//! ICMP echo request and echo reply (RFC 792, "Echo or Echo Reply Message") and the Internet
//! checksum (RFC 1071), so `ping --icmp` can send the same probe text as the UDP pinger.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Identifier          |        Sequence Number        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data ...
//! +-+-+-+-+-
//! ```
//!
//! Type 8 is a request, type 0 a reply; the code is 0. The checksum is the 16-bit one's
//! complement of the one's complement sum of the whole message with the checksum field zero.
//!
//! Scope: the message without the IP header, as an unprivileged ICMP datagram socket (Linux's
//! `SOCK_DGRAM` + `IPPROTO_ICMP`) hands it over. Such a socket sets the identifier to its own
//! port and fills in the checksum itself; the checksum here is what a raw socket would need, and
//! is checked on replies all the same. Other ICMP types (unreachable, time exceeded) are out of
//! scope: Linux reports them to the socket as errors, not as datagrams.

use std::fmt;

/// ICMP type of an echo request.
pub const ECHO_REQUEST: u8 = 8;
/// ICMP type of an echo reply.
pub const ECHO_REPLY: u8 = 0;
/// Type, code, checksum, identifier and sequence number.
pub const HEADER_LEN: usize = 8;

/// An echo request or reply, borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Echo<'b> {
    /// [`ECHO_REQUEST`] or [`ECHO_REPLY`].
    pub icmp_type: u8,
    /// Chosen by the sender to match replies (the kernel's port for datagram sockets).
    pub identifier: u16,
    /// Counts probes; wraps after 65535.
    pub sequence: u16,
    /// Echoed unchanged by the peer.
    pub data: &'b [u8],
}

/// Why bytes are not an ICMP echo message. The peer (or the path) broke RFC 792.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IcmpError {
    /// Fewer than the 8 header bytes.
    TooShort {
        /// How many bytes came.
        len: usize,
    },
    /// A type or code other than echo (8/0) or echo reply (0/0).
    NotEcho {
        /// The type byte.
        icmp_type: u8,
        /// The code byte.
        code: u8,
    },
    /// The checksum does not add up.
    BadChecksum {
        /// The checksum field as received.
        found: u16,
        /// What the bytes add up to.
        expected: u16,
    },
}

impl fmt::Display for IcmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IcmpError::TooShort { len } => {
                write!(f, "ICMP message of {len} bytes is shorter than the 8-byte echo header (RFC 792)")
            }
            IcmpError::NotEcho { icmp_type, code } => write!(
                f,
                "ICMP type {icmp_type} code {code} is not an echo (8/0) or echo reply (0/0) (RFC 792)"
            ),
            IcmpError::BadChecksum { found, expected } => write!(
                f,
                "ICMP checksum 0x{found:04x} should be 0x{expected:04x} (RFC 792, computed as in RFC 1071)"
            ),
        }
    }
}

impl std::error::Error for IcmpError {}

impl<'b> Echo<'b> {
    /// Parses a whole ICMP message and checks its checksum.
    pub fn parse(bytes: &'b [u8]) -> Result<Echo<'b>, IcmpError> {
        if bytes.len() < HEADER_LEN {
            return Err(IcmpError::TooShort { len: bytes.len() });
        }
        let (icmp_type, code) = (bytes[0], bytes[1]);
        if !matches!(icmp_type, ECHO_REQUEST | ECHO_REPLY) || code != 0 {
            return Err(IcmpError::NotEcho { icmp_type, code });
        }
        let found = u16::from_be_bytes([bytes[2], bytes[3]]);
        let mut zeroed = bytes.to_vec();
        zeroed[2..4].fill(0);
        let expected = checksum(&zeroed);
        if found != expected {
            return Err(IcmpError::BadChecksum { found, expected });
        }
        Ok(Echo {
            icmp_type,
            identifier: u16::from_be_bytes([bytes[4], bytes[5]]),
            sequence: u16::from_be_bytes([bytes[6], bytes[7]]),
            data: &bytes[HEADER_LEN..],
        })
    }

    /// The message's bytes, checksum filled in.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.data.len());
        out.extend_from_slice(&[self.icmp_type, 0, 0, 0]);
        out.extend_from_slice(&self.identifier.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(self.data);
        let sum = checksum(&out);
        out[2..4].copy_from_slice(&sum.to_be_bytes());
        out
    }
}

/// The Internet checksum (RFC 1071 §4.1): add 16-bit big-endian words (an odd last byte is
/// padded with zero) in one's complement, fold the carries, and complement.
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut words = bytes.chunks_exact(2);
    for word in &mut words {
        sum += u32::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn checksum_matches_rfc_1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2; the checksum is its complement.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        assert_eq!(checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn request_round_trips_and_a_message_sums_to_zero() {
        let echo = Echo {
            icmp_type: ECHO_REQUEST,
            identifier: 0x1234,
            sequence: 7,
            data: b"Ping 7 1.000000",
        };
        let bytes = echo.to_bytes();
        assert_eq!(&bytes[..2], &[8, 0]);
        assert_eq!(&bytes[4..8], &[0x12, 0x34, 0x00, 0x07]);
        assert_eq!(
            checksum(&bytes),
            0,
            "a message with its checksum sums to 0xffff"
        );
        assert_eq!(Echo::parse(&bytes), Ok(echo));
    }

    #[test]
    fn rejects_short_other_types_and_bad_sums() {
        assert_eq!(Echo::parse(&[0, 0, 0]), Err(IcmpError::TooShort { len: 3 }));
        let unreachable = [3, 3, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Echo::parse(&unreachable),
            Err(IcmpError::NotEcho {
                icmp_type: 3,
                code: 3
            })
        );
        let mut reply = Echo {
            icmp_type: ECHO_REPLY,
            identifier: 1,
            sequence: 2,
            data: b"x",
        }
        .to_bytes();
        reply[8] = b'y';
        let err = Echo::parse(&reply).unwrap_err();
        assert!(matches!(err, IcmpError::BadChecksum { .. }), "{err:?}");
        assert!(err.to_string().contains("RFC 1071"));
    }
}
