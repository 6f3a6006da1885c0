//! The bytes a connection wants written, in order, and body bytes the shell writes itself.
//!
//! Heads, chunk framing and small body data are appended to one `Vec<u8>`, so a response with a
//! small body goes out in a single write (and never trips Nagle's algorithm). A body the shell
//! sends from its own source (`sendfile`, a mapped file) is a [`Transmit::Body`] placeholder at
//! its place in the stream: the shell writes the bytes before it, then that many body bytes, then
//! what follows. Partial writes are reported with `advance`, so a non-blocking shell resumes
//! where the socket stopped.

use std::collections::VecDeque;

/// What the shell should write next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transmit<'a> {
    /// These bytes. Report how many were written with
    /// [`Conn::advance_transmit`](super::Conn::advance_transmit).
    Bytes(&'a [u8]),
    /// This many bytes of body that the shell promised to write from its own source (see
    /// [`Conn::send_body_from_shell`](super::Conn::send_body_from_shell)). Report progress with
    /// [`Conn::advance_transmit`](super::Conn::advance_transmit) too.
    Body(u64),
}

/// A body segment the shell writes itself, at byte `at` of the queued bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ShellBody {
    at: usize,
    remaining: u64,
}

#[derive(Debug, Default)]
pub(crate) struct TransmitQueue {
    bytes: Vec<u8>,
    /// How many of `bytes` have been written.
    written: usize,
    shell_bodies: VecDeque<ShellBody>,
}

impl TransmitQueue {
    /// The buffer to append bytes to (heads, chunk framing, copied body data).
    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Queues `len` body bytes that the shell writes itself, after everything queued so far.
    pub(crate) fn push_shell_body(&mut self, len: u64) {
        if len == 0 {
            return;
        }
        let at = self.bytes.len();
        match self.shell_bodies.back_mut() {
            Some(last) if last.at == at => last.remaining += len,
            _ => self
                .shell_bodies
                .push_back(ShellBody { at, remaining: len }),
        }
    }

    /// What to write next, or `None` when everything has been written.
    pub(crate) fn peek(&self) -> Option<Transmit<'_>> {
        let until = match self.shell_bodies.front() {
            Some(body) if body.at == self.written => return Some(Transmit::Body(body.remaining)),
            Some(body) => body.at,
            None => self.bytes.len(),
        };
        (self.written < until).then(|| Transmit::Bytes(&self.bytes[self.written..until]))
    }

    /// Records that the shell wrote `n` bytes of what [`peek`](Self::peek) returned.
    /// Returns false (and records nothing) when `n` is more than that.
    pub(crate) fn advance(&mut self, n: u64) -> bool {
        match self.peek() {
            None => return n == 0,
            Some(Transmit::Body(remaining)) => {
                if n > remaining {
                    return false;
                }
                let front = self.shell_bodies.front_mut().expect("peek saw it");
                front.remaining -= n;
                if front.remaining == 0 {
                    self.shell_bodies.pop_front();
                }
            }
            Some(Transmit::Bytes(bytes)) => {
                if n > bytes.len() as u64 {
                    return false;
                }
                self.written += n as usize;
            }
        }
        if self.written == self.bytes.len() && self.shell_bodies.is_empty() {
            self.bytes.clear();
            self.written = 0;
        }
        true
    }

    /// True when nothing is waiting to be written.
    pub(crate) fn is_empty(&self) -> bool {
        self.written == self.bytes.len() && self.shell_bodies.is_empty()
    }

    /// Bytes waiting to be written, counting the shell's own body segments.
    pub(crate) fn pending(&self) -> u64 {
        (self.bytes.len() - self.written) as u64
            + self.shell_bodies.iter().map(|b| b.remaining).sum::<u64>()
    }

    /// Hands the byte queue's memory over when nothing is waiting; empty otherwise.
    pub(crate) fn take_if_empty(&mut self) -> Vec<u8> {
        if !self.is_empty() {
            return Vec::new();
        }
        self.written = 0;
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        bytes
    }

    /// Queues into `bytes` (empty, with room) from now on, if the queue holds no memory.
    pub(crate) fn provide(&mut self, mut bytes: Vec<u8>) {
        if self.bytes.capacity() == 0 {
            bytes.clear();
            self.bytes = bytes;
            self.written = 0;
        }
    }

    /// Gives the memory back when nothing is waiting (an idle connection).
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.bytes = Vec::new();
            self.shell_bodies = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn bytes_then_shell_body_then_bytes_with_partial_writes() {
        let mut queue = TransmitQueue::default();
        assert_eq!(queue.peek(), None);
        queue.bytes_mut().extend_from_slice(b"head");
        queue.push_shell_body(10);
        queue.push_shell_body(5);
        queue.bytes_mut().extend_from_slice(b"tail");
        assert_eq!(queue.pending(), 4 + 15 + 4);
        assert_eq!(queue.peek(), Some(Transmit::Bytes(b"head")));
        assert!(queue.advance(3));
        assert_eq!(queue.peek(), Some(Transmit::Bytes(b"d")));
        assert!(!queue.advance(2), "more than offered is refused");
        assert!(queue.advance(1));
        assert_eq!(queue.peek(), Some(Transmit::Body(15)));
        assert!(queue.advance(7));
        assert_eq!(queue.peek(), Some(Transmit::Body(8)));
        assert!(queue.advance(8));
        assert_eq!(queue.peek(), Some(Transmit::Bytes(b"tail")));
        assert!(queue.advance(4));
        assert_eq!(queue.peek(), None);
        assert!(queue.is_empty());
        assert!(queue.advance(0));
        assert!(!queue.advance(1));
    }

    #[test]
    fn a_shell_body_first() {
        let mut queue = TransmitQueue::default();
        queue.push_shell_body(3);
        queue.push_shell_body(0);
        assert_eq!(queue.peek(), Some(Transmit::Body(3)));
        assert!(queue.advance(3));
        assert!(queue.is_empty());
        queue.release_if_empty();
        assert_eq!(queue.pending(), 0);
    }
}
