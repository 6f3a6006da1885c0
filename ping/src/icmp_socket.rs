//! Linux's unprivileged ICMP echo socket (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`).
//!
//! The kernel lets a process open one only if its group is inside
//! `net.ipv4.ping_group_range`; it then fills in the identifier (the socket's "port") and the
//! checksum, and hands back only the echo replies meant for this socket, without the IP header.

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

const RANGE_FILE: &str = "/proc/sys/net/ipv4/ping_group_range";

/// Why no ICMP socket could be had.
#[derive(Debug)]
pub enum IcmpSocketError {
    /// `ping_group_range` leaves the caller's group out.
    NotPermitted {
        /// The range as the system shows it, e.g. `1 0` (empty).
        range: Option<String>,
        /// The caller's group id.
        gid: Option<u32>,
    },
    /// Only IPv4 is spoken here.
    NotIpv4 {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Anything else.
    Io(io::Error),
}

impl fmt::Display for IcmpSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IcmpSocketError::NotPermitted { range, gid } => {
                let gid = gid.map_or_else(|| "yours".to_string(), |g| format!("gid {g}"));
                let range = range.as_deref().map_or_else(
                    || "net.ipv4.ping_group_range does not include it".to_string(),
                    |r| format!("net.ipv4.ping_group_range is \"{r}\", which does not include it"),
                );
                write!(
                    f,
                    "this system does not let your group ({gid}) open ICMP echo sockets: {range}.\n  \
                     allow it:  sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"\n  \
                     or compare over UDP instead: ping HOST (with `ping serve` running there)"
                )
            }
            IcmpSocketError::NotIpv4 { addr } => {
                write!(f, "--icmp speaks ICMPv4 only and {addr} is IPv6; use an IPv4 address such as 127.0.0.1")
            }
            IcmpSocketError::Io(e) => write!(f, "cannot open an ICMP echo socket: {e}"),
        }
    }
}

impl std::error::Error for IcmpSocketError {}

/// Opens an ICMP echo socket connected to `peer` (its port is ignored), as a `UdpSocket`
/// (both are datagram sockets: send, recv and read timeouts work the same).
pub fn connect(peer: SocketAddr) -> Result<UdpSocket, IcmpSocketError> {
    if !peer.is_ipv4() {
        return Err(IcmpSocketError::NotIpv4 { addr: peer });
    }
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)).map_err(|e| {
        if matches!(e.raw_os_error(), Some(code) if code == 13 || code == 1) {
            // EACCES (13) or EPERM (1): the group is outside ping_group_range.
            IcmpSocketError::NotPermitted {
                range: permitted_range(),
                gid: current_gid(),
            }
        } else {
            IcmpSocketError::Io(e)
        }
    })?;
    let target = SocketAddr::new(peer.ip(), 0);
    socket
        .connect(&target.into())
        .map_err(IcmpSocketError::Io)?;
    Ok(socket.into())
}

/// The system's `ping_group_range`, whitespace tidied (`1 0`).
pub fn permitted_range() -> Option<String> {
    let text = std::fs::read_to_string(RANGE_FILE).ok()?;
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The process's real group id, from `/proc/self/status`.
fn current_gid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Gid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_says_what_to_do() {
        let text = IcmpSocketError::NotPermitted {
            range: Some("1 0".into()),
            gid: Some(1000),
        }
        .to_string();
        assert!(text.contains("gid 1000"), "{text}");
        assert!(
            text.contains("net.ipv4.ping_group_range is \"1 0\""),
            "{text}"
        );
        assert!(
            text.contains("sudo sysctl -w net.ipv4.ping_group_range="),
            "{text}"
        );
        assert!(text.contains("ping serve"), "{text}");
    }

    #[test]
    fn ipv6_is_refused_with_an_alternative() {
        let err = connect("[::1]:0".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
    }
}
