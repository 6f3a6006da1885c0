//! A listening socket option that socket2 does not offer: `TCP_DEFER_ACCEPT` (Linux, tcp(7)).
//!
//! With it the kernel completes the handshake but hands the connection to `accept` only once
//! the client's first bytes have arrived (or, for a client that stays silent, once
//! [`DEFER_ACCEPT_SECS`] have passed and a retransmitted SYN-ACK is acknowledged). An HTTP
//! client speaks first, so the request is there when the connection is accepted: the event
//! loop reads it at once instead of registering the socket and waiting for a readiness event
//! (nginx's `listen ... deferred`). A client that connects and sends nothing costs the server
//! no descriptor, no slot and no place under `--max-connections` until then.
//!
//! With `sendfile.rs` and `memory.rs`, the only `unsafe` in the server: one libc call with
//! arguments checked before it.
use std::io;
use std::os::fd::AsRawFd;

/// How long a silent client's connection is held back from `accept`, in seconds.
pub const DEFER_ACCEPT_SECS: libc::c_int = 1;

/// Asks the kernel to accept connections on `listener` only once data has arrived.
#[allow(unsafe_code)]
pub fn defer_accept<S: AsRawFd>(listener: &S, seconds: libc::c_int) -> io::Result<()> {
    // SAFETY: the descriptor comes from a live borrowed socket, so it stays open during the
    // call; the option value is a c_int on our stack, passed with its exact size, and the kernel
    // only reads it. No other memory of this process is touched.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&seconds as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_connection_is_accepted_once_its_first_bytes_arrive() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        defer_accept(&listener, DEFER_ACCEPT_SECS).unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        listener.set_nonblocking(true).unwrap();
        let silent = listener.accept().map(|_| ()).unwrap_err();
        assert_eq!(
            silent.kind(),
            io::ErrorKind::WouldBlock,
            "handshake done, nothing sent: not acceptable yet"
        );
        listener.set_nonblocking(false).unwrap();
        client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        let (mut server_side, _) = listener.accept().unwrap();
        let mut got = [0u8; 16];
        server_side.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"GET / HTTP/1.1\r\n", "the bytes are there on accept");
    }
}
