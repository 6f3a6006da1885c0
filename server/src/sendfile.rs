//! Zero-copy file bodies: `sendfile(2)` moves bytes from a file to a socket inside the kernel,
//! and the response head in front of it is sent with `MSG_MORE` so that head and first body
//! bytes leave in one TCP segment (with `TCP_NODELAY` on, a plain write of the head would go out
//! alone, one small segment and one more wake-up of the client per response).
//!
//! With `memory.rs` and `socket_options.rs`, the only `unsafe` in the server: single calls into libc with
//! arguments that are checked before the call and that the borrow checker keeps alive during it.
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Sends up to `count` bytes of `file`, starting at `offset`, to `socket`.
/// Returns how many bytes went out (0 only at end of file). Does not move the file's cursor.
#[allow(unsafe_code)]
pub fn send_file_range<S: AsRawFd>(
    socket: &S,
    file: &File,
    offset: u64,
    count: usize,
) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset too large"))?;
    // Linux moves at most 0x7ffff000 bytes per call; asking for less is always allowed.
    let count = count.min(0x7fff_f000);
    // SAFETY: both descriptors come from live borrowed objects (`socket`, `file`), so they stay
    // open for the duration of the call; `&mut off` is a valid, aligned, exclusive pointer to an
    // `off_t` on our stack that the kernel only reads and updates; `count` is in range. sendfile
    // touches no other memory of this process, so no Rust invariant can be broken by it.
    let sent = unsafe { libc::sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// Sends bytes that the caller follows at once with a file body ([`send_file_range`]) or with
/// the close: `MSG_MORE` tells the kernel to hold them until that next send (or the FIN, which
/// then rides on the same segment) instead of pushing a short segment. Never for bytes the peer
/// must see before it sends more (a `100 Continue`, a streamed chunk): nothing else would push
/// them. Returns how many bytes were taken.
#[allow(unsafe_code)]
pub fn send_more<S: AsRawFd>(socket: &S, bytes: &[u8]) -> io::Result<usize> {
    // SAFETY: the descriptor comes from a live borrowed socket, so it stays open during the
    // call; the pointer and length describe `bytes`, a live slice the kernel only reads. No
    // other memory of this process is touched.
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_MORE | libc::MSG_NOSIGNAL,
        )
    };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn sends_the_requested_slice() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"0123456789abcdef").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let tx = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut rx, _) = listener.accept().unwrap();
        let mut sent = 0;
        while sent < 6 {
            sent += send_file_range(&tx, &f, 4 + sent as u64, 6 - sent).unwrap();
        }
        drop(tx);
        let mut got = Vec::new();
        rx.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"456789");
        assert_eq!(
            send_file_range(&rx, &f, 16, 10).unwrap_or(0),
            0,
            "at the end of the file nothing is sent"
        );
    }

    #[test]
    fn a_head_held_back_goes_out_before_the_file() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"body").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let tx = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        tx.set_nodelay(true).unwrap();
        let (mut rx, _) = listener.accept().unwrap();
        assert_eq!(send_more(&tx, b"head:").unwrap(), 5);
        let mut sent = 0;
        while sent < 4 {
            sent += send_file_range(&tx, &f, sent as u64, 4 - sent).unwrap();
        }
        drop(tx);
        let mut got = Vec::new();
        rx.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"head:body");
    }
}
