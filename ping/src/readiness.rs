//! Waiting for a datagram with a timeout that is kept to the microsecond.
//!
//! A socket read timeout (`SO_RCVTIMEO`) is counted in scheduler ticks: on a kernel built with
//! `HZ=250`, a 0.9 ms timeout sleeps 4 ms, so `ping -i 0.001` would send one probe every 4 ms
//! and a server's 1 ms `--delay` would be 4 ms. `ppoll(2)` takes a `timespec` and sleeps on a
//! high-resolution timer instead. The shells wait here, then read without blocking.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// What the wait saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// A datagram (or a pending ICMP error) can be read now.
    Readable,
    /// The timeout passed first.
    TimedOut,
    /// A signal (Ctrl-C) cut the wait short.
    Interrupted,
}

/// Waits until `socket` is readable or `timeout` passes.
pub fn wait_readable(socket: &impl AsRawFd, timeout: Duration) -> io::Result<Ready> {
    let mut fds = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let timeout = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: `fds` and `timeout` are live locals for the whole call, `nfds` is 1 for the one
    // `pollfd`, and a null signal mask leaves the mask unchanged. ppoll writes only `fds.revents`.
    #[allow(unsafe_code)]
    let n = unsafe { libc::ppoll(&mut fds, 1, &timeout, std::ptr::null()) };
    if n < 0 {
        let error = io::Error::last_os_error();
        return if error.kind() == io::ErrorKind::Interrupted {
            Ok(Ready::Interrupted)
        } else {
            Err(error)
        };
    }
    Ok(if n == 0 {
        Ready::TimedOut
    } else {
        Ready::Readable
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Instant;

    #[test]
    fn times_out_to_well_under_a_scheduler_tick() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let started = Instant::now();
        assert_eq!(
            wait_readable(&socket, Duration::from_micros(300)).unwrap(),
            Ready::TimedOut
        );
        assert!(started.elapsed() >= Duration::from_micros(300));
    }

    #[test]
    fn sees_a_waiting_datagram() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"x", socket.local_addr().unwrap()).unwrap();
        assert_eq!(
            wait_readable(&socket, Duration::from_secs(5)).unwrap(),
            Ready::Readable
        );
    }
}
