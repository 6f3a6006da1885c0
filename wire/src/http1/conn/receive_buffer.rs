//! The bytes a connection has received and not yet used.
//!
//! The shell reads straight into [`ReceiveBuffer::spare`] (no copy between the socket and the
//! parser), or hands over bytes it already has with [`ReceiveBuffer::extend`]. Parsed data is
//! handed out as ranges of the buffer, so body data is never copied either. Used bytes are
//! dropped by moving an index; the unused tail is moved to the front only when more room is
//! needed, and an empty buffer can give its memory back (idle keep-alive connections then cost
//! almost nothing).

/// How much room [`ReceiveBuffer::spare`] offers at least, so a read is worth its system call.
pub(crate) const MIN_READ: usize = 8 * 1024;

#[derive(Debug, Default)]
pub(crate) struct ReceiveBuffer {
    /// Always fully initialised: `buf.len()` is the capacity the shell may read into.
    buf: Vec<u8>,
    /// Start of the unused bytes.
    start: usize,
    /// End of the received bytes.
    end: usize,
    /// The bytes marked used since [`begin_step`](Self::begin_step), as a range of `buf`: they
    /// stay in place (used bytes are never moved or overwritten) until the next change to the
    /// buffer's memory, which empties the range.
    step: std::ops::Range<usize>,
}

impl ReceiveBuffer {
    /// The received bytes not yet used.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// How many received bytes are not yet used.
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Where the unused bytes start within the whole buffer (to turn a range of [`data`] into a
    /// range of [`bytes`]).
    ///
    /// [`data`]: Self::data
    /// [`bytes`]: Self::bytes
    pub(crate) fn offset(&self) -> usize {
        self.start
    }

    /// The whole buffer, for handing out ranges computed with [`offset`](Self::offset). Bytes
    /// marked used stay in place until the next call to [`spare`](Self::spare) or
    /// [`extend`](Self::extend).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Starts counting the bytes used from here on ([`step_bytes`](Self::step_bytes)).
    pub(crate) fn begin_step(&mut self) {
        self.step = self.start..self.start;
    }

    /// The bytes used since [`begin_step`](Self::begin_step), as they were received; empty once
    /// the shell was given room to read into or bytes were added.
    pub(crate) fn step_bytes(&self) -> &[u8] {
        &self.buf[self.step.clone()]
    }

    /// Marks the first `n` unused bytes as used.
    pub(crate) fn consume(&mut self, n: usize) {
        assert!(n <= self.len(), "consumed more than was received");
        if n == 0 {
            return;
        }
        // Used bytes are contiguous within one step: nothing moves them before the next
        // `spare`, `extend` or `take`, and each of those ends the step.
        debug_assert_eq!(self.step.end, self.start, "a step's bytes are contiguous");
        self.step.end += n;
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room for the shell to read into: at least [`MIN_READ`] bytes. Call [`commit`] with how
    /// many bytes were read.
    ///
    /// [`commit`]: Self::commit
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        self.step = 0..0;
        if self.buf.len() - self.end < MIN_READ {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < MIN_READ {
                let wanted = (self.end + MIN_READ).max(self.buf.len() * 2);
                self.buf.resize(wanted, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Records that the shell put `n` bytes at the start of [`spare`](Self::spare).
    pub(crate) fn commit(&mut self, n: usize) {
        assert!(
            n <= self.buf.len() - self.end,
            "committed more than the spare room"
        );
        self.end += n;
    }

    /// Appends bytes the shell already has.
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let spare = self.spare();
            let n = spare.len().min(rest.len());
            spare[..n].copy_from_slice(&rest[..n]);
            self.commit(n);
            rest = &rest[n..];
        }
    }

    /// Gives the memory back when nothing is buffered (an idle connection).
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.step = 0..0;
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
    }

    /// Hands the memory over when nothing is buffered, for another connection to read into
    /// (see [`provide`](Self::provide)); empty when there is none to give.
    pub(crate) fn take_if_empty(&mut self) -> Vec<u8> {
        if !self.is_empty() {
            return Vec::new();
        }
        self.step = 0..0;
        self.start = 0;
        self.end = 0;
        std::mem::take(&mut self.buf)
    }

    /// Reads into `buf` from now on, if this buffer holds no memory of its own. Its bytes are
    /// already initialised (it comes from [`take_if_empty`](Self::take_if_empty)), so using it
    /// costs neither an allocation nor zeroing.
    pub(crate) fn provide(&mut self, buf: Vec<u8>) {
        if self.buf.is_empty() {
            self.step = 0..0;
            self.buf = buf;
            self.start = 0;
            self.end = 0;
        }
    }

    /// Takes every unused byte out (for a tunnel or a switched protocol).
    pub(crate) fn take(&mut self) -> Vec<u8> {
        let bytes = self.data().to_vec();
        self.step = 0..0;
        self.start = 0;
        self.end = 0;
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_consumes_and_compacts() {
        let mut buffer = ReceiveBuffer::default();
        assert!(buffer.is_empty());
        let spare = buffer.spare();
        assert!(spare.len() >= MIN_READ);
        spare[..5].copy_from_slice(b"hello");
        buffer.commit(5);
        assert_eq!(buffer.data(), b"hello");
        buffer.consume(2);
        assert_eq!(buffer.data(), b"llo");
        assert_eq!(&buffer.bytes()[buffer.offset()..][..3], b"llo");
        buffer.extend(&vec![b'x'; 3 * MIN_READ]);
        assert_eq!(buffer.len(), 3 + 3 * MIN_READ);
        assert_eq!(&buffer.data()[..4], b"llox");
        buffer.consume(buffer.len());
        assert!(buffer.is_empty());
        assert_eq!(buffer.offset(), 0);
        buffer.release_if_empty();
        assert_eq!(buffer.bytes().len(), 0);
    }

    #[test]
    fn take_empties_the_buffer() {
        let mut buffer = ReceiveBuffer::default();
        buffer.extend(b"tunnel bytes");
        buffer.consume(7);
        assert_eq!(buffer.take(), b"bytes");
        assert!(buffer.is_empty());
    }
}
