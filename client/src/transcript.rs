//! The exchange as a person reads it: both directions in trace syntax (or as a hex dump), notes
//! and diagnoses as `#` comment lines, the connection's fate as an event, and optionally the
//! same exchange kept as a [`Trace`] for `--record`.
//!
//! Bytes arrive in whatever pieces the socket hands over; a text line is written once its `\n`
//! has arrived (or when the other side speaks, or at the end), so the display follows the wire
//! line by line as it happens. The rendering itself is `wire::trace::render_payload`.

use std::io::{self, Write};

use wire::trace::{render_payload, Event, Tag, Trace, Transport};

use crate::paint::{hex_dump, Paint};

/// Which way bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From this program to the server (`C:`).
    Sent,
    /// From the server (`S:`).
    Received,
}

impl Direction {
    fn tag(self) -> Tag {
        match self {
            Direction::Sent => Tag::Client,
            Direction::Received => Tag::Server,
        }
    }

    fn index(self) -> usize {
        match self {
            Direction::Sent => 0,
            Direction::Received => 1,
        }
    }
}

/// Writes the exchange to a stream as it happens, and keeps it for `--record`.
pub struct Transcript<W: Write> {
    out: Option<W>,
    /// Show bytes and notes (diagnoses are shown whenever there is an `out`).
    show: bool,
    paint: Paint,
    hex: bool,
    unfinished: [Vec<u8>; 2],
    offsets: [usize; 2],
    record: Option<Trace>,
}

impl<W: Write> Transcript<W> {
    /// A transcript written to `out` (None: nothing shown), in trace syntax or, with `hex`, as
    /// hex dumps; `record` keeps a [`Trace`] as well.
    pub fn new(out: Option<W>, paint: Paint, hex: bool, record: bool) -> Self {
        Transcript {
            out,
            show: true,
            paint,
            hex,
            unfinished: [Vec::new(), Vec::new()],
            offsets: [0, 0],
            record: record.then(|| Trace::new(Transport::Tcp)),
        }
    }

    /// Shows the exchange (bytes, events, notes) or only diagnoses.
    pub fn show_exchange(&mut self, show: bool) {
        self.show = show;
    }

    /// True when the exchange is shown.
    pub fn is_shown(&self) -> bool {
        self.out.is_some() && self.show
    }

    fn shown_out(&mut self) -> Option<&mut W> {
        if self.show {
            self.out.as_mut()
        } else {
            None
        }
    }

    /// Bytes went one way.
    pub fn bytes(&mut self, direction: Direction, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if let Some(trace) = &mut self.record {
            trace.push_bytes(direction.tag(), bytes);
        }
        if !self.is_shown() {
            return Ok(());
        }
        let i = direction.index();
        if self.hex {
            let dump = hex_dump(direction.tag().prefix().trim_end(), self.offsets[i], bytes);
            self.offsets[i] += bytes.len();
            let paint = self.paint;
            let Some(out) = self.shown_out() else {
                return Ok(());
            };
            for line in dump.lines() {
                writeln!(out, "{}", paint.trace_line(line))?;
            }
            return out.flush();
        }
        // The other direction's unfinished line ends here: the wire has turned around.
        let other = 1 - i;
        if !self.unfinished[other].is_empty() {
            let tag = if other == 0 {
                Direction::Sent
            } else {
                Direction::Received
            };
            self.flush_line(tag)?;
        }
        self.unfinished[i].extend_from_slice(bytes);
        let upto = match self.unfinished[i].iter().rposition(|&b| b == b'\n') {
            Some(at) => at + 1,
            None => return Ok(()),
        };
        let complete: Vec<u8> = self.unfinished[i].drain(..upto).collect();
        self.write_rendered(direction, &complete)
    }

    /// Sent bytes.
    pub fn sent(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.bytes(Direction::Sent, bytes)
    }

    /// Received bytes.
    pub fn received(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.bytes(Direction::Received, bytes)
    }

    /// One side closed its sending half.
    pub fn closed(&mut self, direction: Direction) -> io::Result<()> {
        self.flush()?;
        if let Some(trace) = &mut self.record {
            trace.push_event(direction.tag(), Event::Close);
        }
        let paint = self.paint;
        if let Some(out) = self.shown_out() {
            let line = format!("{}<close>", direction.tag().prefix());
            writeln!(out, "{}", paint.trace_line(&line))?;
            out.flush()?;
        }
        Ok(())
    }

    /// A remark in the display (a `#` comment line; not part of the recording).
    pub fn note(&mut self, text: &str) -> io::Result<()> {
        self.flush()?;
        let paint = self.paint;
        if let Some(out) = self.shown_out() {
            for line in text.lines() {
                writeln!(out, "{}", paint.note(&format!("# {line}")))?;
            }
            out.flush()?;
        }
        Ok(())
    }

    /// A diagnosis in the display: what the peer did wrong, shown like a note but highlighted.
    pub fn diagnosis(&mut self, text: &str) -> io::Result<()> {
        self.flush()?;
        let paint = self.paint;
        if let Some(out) = self.out.as_mut() {
            for line in text.lines() {
                writeln!(out, "{}", paint.diagnosis(&format!("# {line}")))?;
            }
            out.flush()?;
        }
        Ok(())
    }

    /// Sets hex mode (`:hex on|off`).
    pub fn set_hex(&mut self, hex: bool) {
        self.hex = hex;
    }

    /// Starts (or stops) keeping a recording.
    pub fn set_recording(&mut self, on: bool) {
        self.record = on.then(|| Trace::new(Transport::Tcp));
    }

    /// Writes any unfinished lines.
    pub fn flush(&mut self) -> io::Result<()> {
        self.flush_line(Direction::Sent)?;
        self.flush_line(Direction::Received)
    }

    /// The recording so far (with `record` on).
    pub fn recording(&self) -> Option<&Trace> {
        self.record.as_ref()
    }

    /// Takes the recording, leaving an empty one.
    pub fn take_recording(&mut self) -> Option<Trace> {
        self.record
            .as_mut()
            .map(|t| std::mem::replace(t, Trace::new(Transport::Tcp)))
    }

    fn flush_line(&mut self, direction: Direction) -> io::Result<()> {
        let i = direction.index();
        if self.unfinished[i].is_empty() {
            return Ok(());
        }
        let rest = std::mem::take(&mut self.unfinished[i]);
        self.write_rendered(direction, &rest)
    }

    fn write_rendered(&mut self, direction: Direction, bytes: &[u8]) -> io::Result<()> {
        let paint = self.paint;
        let Some(out) = self.shown_out() else {
            return Ok(());
        };
        let text = render_payload(&direction.tag().prefix(), bytes);
        for line in text.lines() {
            writeln!(out, "{}", paint.trace_line(line))?;
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn lines_appear_whole_whatever_the_pieces() {
        let mut shown = Vec::new();
        {
            let mut t = Transcript::new(
                Some(&mut shown as &mut dyn Write),
                Paint::PLAIN,
                false,
                true,
            );
            t.sent(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
            for piece in [
                &b"HTTP/1.1 200 O"[..],
                b"K\r\nContent-Le",
                b"ngth: 2\r\n\r\nhi",
            ] {
                t.received(piece).unwrap();
            }
            t.closed(Direction::Received).unwrap();
            t.note("connection closed by server").unwrap();
            let trace = t.take_recording().unwrap();
            assert_eq!(
                trace.stream(Tag::Server).unwrap(),
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
            );
            assert!(trace.closes(Tag::Server));
        }
        assert_eq!(
            String::from_utf8(shown).unwrap(),
            "C: GET / HTTP/1.1\\r\\n\n\
             C: Host: a\\r\\n\n\
             C: \\r\\n\n\
             S: HTTP/1.1 200 OK\\r\\n\n\
             S: Content-Length: 2\\r\\n\n\
             S: \\r\\n\n\
             S: hi\n\
             S: <close>\n\
             # connection closed by server\n"
        );
    }

    #[test]
    fn an_unfinished_line_ends_when_the_other_side_speaks() {
        let mut shown = Vec::new();
        {
            let mut t = Transcript::new(
                Some(&mut shown as &mut dyn Write),
                Paint::PLAIN,
                false,
                false,
            );
            t.sent(b"GET / HT").unwrap();
            t.received(b"HTTP/1.1 400 Bad Request\n").unwrap();
        }
        assert_eq!(
            String::from_utf8(shown).unwrap(),
            "C: GET / HT\nS: HTTP/1.1 400 Bad Request\\n\n"
        );
    }

    #[test]
    fn hex_mode_dumps_with_running_offsets() {
        let mut shown = Vec::new();
        {
            let mut t = Transcript::new(
                Some(&mut shown as &mut dyn Write),
                Paint::PLAIN,
                true,
                false,
            );
            t.received(b"0123456789abcdefXY").unwrap();
            t.received(b"Z").unwrap();
        }
        let text = String::from_utf8(shown).unwrap();
        assert!(text.contains("S: 00000010  58 59"), "{text}");
        assert!(text.contains("S: 00000012  5a"), "{text}");
    }
}
