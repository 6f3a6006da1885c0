//! The message after DATA: dot-stuffing and the end-of-data marker (RFC 5321 §4.5.2, §4.1.1.4).
//!
//! The message travels as lines ended by CRLF; a line holding only `.` ends it, so the whole
//! thing ends with `CRLF . CRLF`. A message line that itself starts with `.` would look like the
//! end, so the sender doubles that dot ("stuffing") and the receiver drops the first dot of every
//! line that starts with one ("unstuffing"):
//!
//! ```text
//! message line     on the wire
//! Hello            Hello
//! .hidden          ..hidden
//! .                ..
//! (end)            .
//! ```
//!
//! Only CRLF starts a line. A bare LF followed by `.` is not a line start and `LF . LF` is not
//! the end of data; treating them as such is what "SMTP smuggling" exploits, so the receiver
//! here recognises nothing but `CRLF . CRLF`.

/// The end-of-data line.
pub const END_OF_DATA: &[u8] = b".\r\n";

/// Dot-stuffs `message` and appends the end of data: the exact bytes to send after a 354.
///
/// A message that does not end in CRLF gets one before the final `.` (RFC 5321 §4.1.1.4: the
/// terminator is CRLF.CRLF, and the CRLF belongs to the last line).
pub fn stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    stuff_to(message, &mut out);
    out
}

/// [`stuff`], appending to `out`.
pub fn stuff_to(message: &[u8], out: &mut Vec<u8>) {
    // Dots are rare in real messages (base64 has none), so search for them and copy the
    // stretches between in one go.
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = message[search..].iter().position(|&b| b == b'.') {
        let dot = search + found;
        let at_line_start = dot == 0 || (dot >= 2 && &message[dot - 2..dot] == b"\r\n");
        if at_line_start {
            out.extend_from_slice(&message[copied..dot]);
            out.push(b'.');
            copied = dot;
        }
        search = dot + 1;
    }
    out.extend_from_slice(&message[copied..]);
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(END_OF_DATA);
}

/// How many bytes [`stuff`] makes of `message`, without making them.
pub fn stuffed_len(message: &[u8]) -> usize {
    let mut len = message.len() + END_OF_DATA.len();
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        len += 2;
    }
    len + message
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'.' && (i == 0 || (i >= 2 && &message[i - 2..i] == b"\r\n")))
        .count()
}

/// Where the receiver is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    /// At the start of a line (after CRLF, or at the very beginning).
    Start,
    /// Saw `.` at the start of a line.
    Dot,
    /// Saw `.` then CR at the start of a line: LF now ends the data.
    DotCr,
    /// Inside a line.
    Middle,
    /// Saw CR inside a line.
    Cr,
}

/// The receiving side: unstuffs the message as it arrives, in pieces of any size, and finds
/// `CRLF . CRLF`. Keeps at most `limit` bytes; past that it keeps reading to the end of data
/// (so the session stays in step) but drops the bytes and remembers that it did.
#[derive(Debug, Clone)]
pub struct DataReader {
    state: LineState,
    message: Vec<u8>,
    limit: usize,
    received: u64,
    overflowed: bool,
    done: bool,
}

/// What [`DataReader::handle`] found in a piece of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataStatus {
    /// The whole piece was message; feed more.
    NeedMore,
    /// The end of data came after `used` bytes of the piece; the rest is the next command.
    Done { used: usize },
}

impl DataReader {
    /// A reader that keeps up to `limit` bytes of message.
    pub fn new(limit: usize) -> DataReader {
        DataReader {
            state: LineState::Start,
            message: Vec::new(),
            limit,
            received: 0,
            overflowed: false,
            done: false,
        }
    }

    /// Feeds the next piece of input. After `Done` the reader takes nothing more.
    pub fn handle(&mut self, input: &[u8]) -> DataStatus {
        if self.done {
            return DataStatus::Done { used: 0 };
        }
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                LineState::Middle => {
                    // Copy up to the next CR in one go.
                    let run = input[i..]
                        .iter()
                        .position(|&c| c == b'\r')
                        .unwrap_or(input.len() - i);
                    self.keep(&input[i..i + run]);
                    i += run;
                    if i < input.len() {
                        self.keep(b"\r");
                        self.state = LineState::Cr;
                        i += 1;
                    }
                    continue;
                }
                LineState::Start => match b {
                    b'.' => self.state = LineState::Dot,
                    b'\r' => {
                        self.keep(b"\r");
                        self.state = LineState::Cr;
                    }
                    _ => {
                        self.keep(&[b]);
                        self.state = LineState::Middle;
                    }
                },
                LineState::Dot => match b {
                    // The dot is dropped either way: it was stuffing, or the end is near.
                    b'\r' => self.state = LineState::DotCr,
                    _ => {
                        self.keep(&[b]);
                        self.state = LineState::Middle;
                    }
                },
                LineState::DotCr => {
                    if b == b'\n' {
                        self.done = true;
                        return DataStatus::Done { used: i + 1 };
                    }
                    // ".\rX": the dot was stuffing and the CR is message.
                    self.keep(b"\r");
                    self.state = LineState::Cr;
                    continue; // look at X again from the Cr state
                }
                LineState::Cr => match b {
                    b'\n' => {
                        self.keep(b"\n");
                        self.state = LineState::Start;
                    }
                    b'\r' => self.keep(b"\r"),
                    _ => {
                        self.keep(&[b]);
                        self.state = LineState::Middle;
                    }
                },
            }
            i += 1;
        }
        DataStatus::NeedMore
    }

    fn keep(&mut self, bytes: &[u8]) {
        self.received += bytes.len() as u64;
        if self.overflowed {
            return;
        }
        if self.message.len() + bytes.len() > self.limit {
            self.overflowed = true;
            self.message = Vec::new();
            return;
        }
        self.message.extend_from_slice(bytes);
    }

    /// True once `CRLF . CRLF` has been seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// True when the message grew past the limit (and was dropped).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// How many message bytes arrived (after unstuffing), kept or not.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The message, unstuffed, without the final `.` line. Empty after an overflow.
    pub fn into_message(self) -> Vec<u8> {
        self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Segmentation, SplitMix64};
    use pretty_assertions::assert_eq;

    /// Feeds `wire` to a reader in every way [`Segmentation::standard`] cuts it, checks they all agree, and
    /// returns the message and how many bytes the end of data used.
    fn receive(wire: &[u8], trailing: &[u8]) -> (Vec<u8>, usize) {
        let mut input = wire.to_vec();
        input.extend_from_slice(trailing);
        let mut answers = Vec::new();
        for how in Segmentation::standard(0, 16) {
            let cut = how.split(&input);
            let mut reader = DataReader::new(usize::MAX);
            let mut offset = 0;
            let mut end = None;
            for piece in cut {
                if end.is_some() {
                    break;
                }
                if let DataStatus::Done { used } = reader.handle(piece) {
                    end = Some(offset + used);
                }
                offset += piece.len();
            }
            let end = end.unwrap_or_else(|| panic!("{how}: no end of data in {wire:?}"));
            answers.push((how, reader.into_message(), end));
        }
        let (_, message, end) = answers[0].clone();
        for (how, m, e) in &answers {
            assert_eq!((m, *e), (&message, end), "{how} differs from whole");
        }
        assert_eq!(
            end,
            wire.len(),
            "the end of data is where the wire bytes end"
        );
        (message, end)
    }

    #[test]
    fn dots_at_line_starts_are_doubled_and_undone() {
        const MESSAGE: &[u8] = b"\
            Subject: dots\r\n\
            \r\n\
            .hidden\r\n\
            .\r\n\
            ..two\r\n\
            a.b\r\n";
        const WIRE: &[u8] = b"\
            Subject: dots\r\n\
            \r\n\
            ..hidden\r\n\
            ..\r\n\
            ...two\r\n\
            a.b\r\n\
            .\r\n";
        assert_eq!(stuff(MESSAGE), WIRE);
        assert_eq!(stuffed_len(MESSAGE), WIRE.len());
        assert_eq!(receive(WIRE, b"QUIT\r\n").0, MESSAGE);
    }

    #[test]
    fn a_message_starting_with_a_dot() {
        assert_eq!(stuff(b".x\r\n"), b"..x\r\n.\r\n");
        assert_eq!(receive(b"..x\r\n.\r\n", b"").0, b".x\r\n");
    }

    #[test]
    fn missing_final_crlf_is_added() {
        assert_eq!(stuff(b"no newline"), b"no newline\r\n.\r\n");
        assert_eq!(stuffed_len(b"no newline"), 15);
        assert_eq!(stuff(b""), b".\r\n");
        assert_eq!(receive(b".\r\n", b"").0, b"");
    }

    #[test]
    fn bare_lf_is_never_a_line_start() {
        // "\n.\n" and "\n.\r\n" are message bytes, not the end (no SMTP smuggling).
        let wire = b"a\n.\nb\n.\r\nc\r\n.\r\n";
        assert_eq!(
            receive(wire, b"MAIL FROM:<x@y.z>\r\n").0,
            b"a\n.\nb\n.\r\nc\r\n"
        );
        // And the sender does not stuff there either.
        assert_eq!(stuff(b"a\n.b\r\n"), b"a\n.b\r\n.\r\n");
    }

    #[test]
    fn cr_tricks_around_the_dot() {
        assert_eq!(receive(b".\rx\r\n.\r\n", b"").0, b"\rx\r\n");
        assert_eq!(receive(b"a\r\r\n.\r\n", b"").0, b"a\r\r\n");
        assert_eq!(receive(b"\r\n.\r\n", b"").0, b"\r\n");
    }

    #[test]
    fn over_the_limit_reads_on_but_keeps_nothing() {
        let mut reader = DataReader::new(10);
        assert_eq!(reader.handle(b"0123456789abcdef\r\n"), DataStatus::NeedMore);
        assert_eq!(
            reader.handle(b".\r\nQUIT\r\n"),
            DataStatus::Done { used: 3 }
        );
        assert!(reader.overflowed());
        assert_eq!(reader.received(), 18);
        assert!(reader.into_message().is_empty());
    }

    #[test]
    fn round_trip_on_generated_messages() {
        let alphabet = b".\r\nab";
        for seed in 0..200 {
            let mut rng = SplitMix64::new(seed);
            let len = rng.index_below(60);
            let mut message: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.index_below(alphabet.len())])
                .collect();
            // Every message sent ends in CRLF (stuff adds one otherwise).
            message.extend_from_slice(b"\r\n");
            let wire = stuff(&message);
            assert_eq!(wire.len(), stuffed_len(&message));
            let mut reader = DataReader::new(usize::MAX);
            assert_eq!(
                reader.handle(&wire),
                DataStatus::Done { used: wire.len() },
                "{message:?}"
            );
            assert_eq!(reader.into_message(), message, "seed {seed}");
        }
    }
}
