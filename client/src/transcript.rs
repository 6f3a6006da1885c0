//! The exchange as a person reads it: both directions in trace syntax (or as a hex dump), notes
//! and diagnoses as `#` comment lines, the connection's fate as an event, and optionally the
//! same exchange kept as a [`Trace`] for `--record`.
//!
//! Bytes arrive in whatever pieces the socket hands over; a text line is written once its `\n`
//! has arrived (or when the other side speaks, or at the end), so the display follows the wire
//! line by line as it happens. The rendering itself is `wire::trace::render_payload`.
//!
//! Body bytes come in through [`Transcript::body`]. Above a size (4 KiB in `client -v`, none with
//! `-vv`) they are shown as the trace format's placeholder, `<body N bytes sha256=...>`, with
//! the digest computed as the bytes go by (nothing is held back but the first bytes of a body,
//! up to the size). The budget is per message: once a message has shown that much body, every
//! further run of it (the next chunk of a chunked body) is elided, while the framing around
//! the runs (chunk-size lines) is still shown. `--record` always keeps every byte.

use std::io::{self, Write};

use wire::trace::{render_payload, ElidedBody, Event, Tag, Trace, Transport};

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
    /// An elided body placeholder that starts the unfinished line of each direction.
    lead: [Option<String>; 2],
    offsets: [usize; 2],
    record: Option<Trace>,
    /// Bodies over this many bytes (per message) are elided; `None`: show every byte.
    elide_over: Option<usize>,
    /// The body run in progress, and how much body each direction's message has shown.
    runs: [BodyRun; 2],
}

/// Body bytes since the last framing bytes of one direction.
#[derive(Default)]
struct BodyRun {
    /// Body bytes shown so far in the current message.
    shown: usize,
    state: RunState,
}

#[derive(Default)]
enum RunState {
    #[default]
    Idle,
    /// Within the budget so far: held until the run ends, then shown.
    Held(Vec<u8>),
    /// Over the budget: only counted and hashed.
    Elided {
        len: u64,
        digest: Box<ring::digest::Context>,
    },
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
            lead: [None, None],
            offsets: [0, 0],
            record: record.then(|| Trace::new(Transport::Tcp)),
            elide_over: None,
            runs: [BodyRun::default(), BodyRun::default()],
        }
    }

    /// Elides bodies longer than `limit` bytes per message (`None`: show every byte).
    pub fn set_body_limit(&mut self, limit: Option<usize>) {
        self.elide_over = limit;
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
        self.end_run(direction)?;
        self.show_bytes(direction, bytes)
    }

    /// Body bytes went one way (the data of a body, without chunk framing): shown as they are,
    /// or elided once the message's body is over the limit.
    pub fn body(&mut self, direction: Direction, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let Some(limit) = self.elide_over.filter(|_| !self.hex) else {
            return self.bytes(direction, bytes);
        };
        if let Some(trace) = &mut self.record {
            trace.push_bytes(direction.tag(), bytes);
        }
        if !self.is_shown() {
            return Ok(());
        }
        let run = &mut self.runs[direction.index()];
        let state = std::mem::take(&mut run.state);
        run.state = match state {
            RunState::Idle => RunState::Held(bytes.to_vec()),
            RunState::Held(mut held) => {
                held.extend_from_slice(bytes);
                RunState::Held(held)
            }
            RunState::Elided { len, mut digest } => {
                digest.update(bytes);
                RunState::Elided {
                    len: len + bytes.len() as u64,
                    digest,
                }
            }
        };
        if let RunState::Held(held) = &run.state {
            if run.shown + held.len() > limit {
                let mut digest = Box::new(ring::digest::Context::new(&ring::digest::SHA256));
                digest.update(held);
                run.state = RunState::Elided {
                    len: held.len() as u64,
                    digest,
                };
            }
        }
        Ok(())
    }

    /// Sent body bytes.
    pub fn sent_body(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.body(Direction::Sent, bytes)
    }

    /// Received body bytes.
    pub fn received_body(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.body(Direction::Received, bytes)
    }

    /// A message going `direction` is complete: the next one has its own body budget.
    pub fn end_message(&mut self, direction: Direction) -> io::Result<()> {
        self.end_run(direction)?;
        self.runs[direction.index()].shown = 0;
        Ok(())
    }

    /// Shows the body run in progress (or its placeholder).
    fn end_run(&mut self, direction: Direction) -> io::Result<()> {
        let i = direction.index();
        match std::mem::take(&mut self.runs[i].state) {
            RunState::Idle => Ok(()),
            RunState::Held(held) => {
                self.runs[i].shown += held.len();
                self.show_bytes(direction, &held)
            }
            RunState::Elided { len, digest } => {
                let mut sha256 = [0u8; 32];
                sha256.copy_from_slice(digest.finish().as_ref());
                let placeholder = ElidedBody { len, sha256 }.to_string();
                self.runs[i].shown += len as usize;
                self.flush_line(direction)?;
                self.lead[i] = Some(placeholder);
                Ok(())
            }
        }
    }

    /// Shows bytes (after any body run of theirs).
    fn show_bytes(&mut self, direction: Direction, bytes: &[u8]) -> io::Result<()> {
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
        let other = if i == 0 {
            Direction::Received
        } else {
            Direction::Sent
        };
        self.end_run(other)?;
        self.flush_line(other)?;
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

    /// Writes any unfinished lines (and body runs).
    pub fn flush(&mut self) -> io::Result<()> {
        for direction in [Direction::Sent, Direction::Received] {
            self.end_run(direction)?;
            self.flush_line(direction)?;
        }
        Ok(())
    }

    /// Takes the recording, leaving an empty one.
    pub fn take_recording(&mut self) -> Option<Trace> {
        self.record
            .as_mut()
            .map(|t| std::mem::replace(t, Trace::new(Transport::Tcp)))
    }

    fn flush_line(&mut self, direction: Direction) -> io::Result<()> {
        let i = direction.index();
        if self.unfinished[i].is_empty() && self.lead[i].is_none() {
            return Ok(());
        }
        let rest = std::mem::take(&mut self.unfinished[i]);
        self.write_rendered(direction, &rest)
    }

    /// Writes whole lines (or a last unfinished one), the first behind any elided placeholder.
    fn write_rendered(&mut self, direction: Direction, bytes: &[u8]) -> io::Result<()> {
        let paint = self.paint;
        let lead = self.lead[direction.index()].take();
        let Some(out) = self.shown_out() else {
            return Ok(());
        };
        let prefix = direction.tag().prefix();
        let mut text = render_payload(&prefix, bytes);
        if let Some(lead) = lead {
            // Escapes depend only on the bytes after each one, so the placeholder can go in
            // front of the first rendered line as it is.
            text = match text.strip_prefix(&prefix) {
                Some(rest) => format!("{prefix}{lead}{rest}"),
                None => format!("{prefix}{lead}"),
            };
        }
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

    fn shown_with_limit(
        limit: Option<usize>,
        feed: impl FnOnce(&mut Transcript<&mut dyn Write>),
    ) -> (String, Trace) {
        let mut shown = Vec::new();
        let trace;
        {
            let mut t = Transcript::new(
                Some(&mut shown as &mut dyn Write),
                Paint::PLAIN,
                false,
                true,
            );
            t.set_body_limit(limit);
            feed(&mut t);
            t.flush().unwrap();
            trace = t.take_recording().unwrap();
        }
        (String::from_utf8(shown).unwrap(), trace)
    }

    #[test]
    fn a_body_over_the_limit_is_elided_and_recorded_whole() {
        let body = b"0123456789".repeat(10);
        let (shown, trace) = shown_with_limit(Some(64), |t| {
            t.received(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                .unwrap();
            for piece in body.chunks(7) {
                t.received_body(piece).unwrap();
            }
            t.end_message(Direction::Received).unwrap();
            t.received(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        });
        assert_eq!(
            shown,
            format!(
                "S: HTTP/1.1 200 OK\\r\\n\n\
                 S: Content-Length: 100\\r\\n\n\
                 S: \\r\\n\n\
                 S: <body 100 bytes sha256={}>HTTP/1.1 204 No Content\\r\\n\n\
                 S: \\r\\n\n",
                wire::trace::sha256_hex(&body)
            )
        );
        let mut sent = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
        sent.extend_from_slice(&body);
        sent.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(trace.stream(Tag::Server).unwrap(), sent);
    }

    #[test]
    fn the_shown_form_parses_back_as_the_trace_it_stands_for() {
        let body = vec![b'x'; 5000];
        let (shown, _) = shown_with_limit(Some(4096), |t| {
            t.sent(b"PUT /f HTTP/1.1\r\nContent-Length: 5000\r\n\r\n")
                .unwrap();
            t.sent_body(&body).unwrap();
            t.end_message(Direction::Sent).unwrap();
        });
        let parsed = Trace::parse(&shown).unwrap();
        let payload = parsed.payloads(Tag::Client).next().unwrap();
        let Some(wire::trace::Piece::Elided(elided)) = payload.pieces().last() else {
            panic!("{shown}");
        };
        assert!(elided.matches(&body), "{shown}");
    }

    #[test]
    fn chunk_framing_stays_and_the_budget_is_per_message() {
        let (shown, _) = shown_with_limit(Some(8), |t| {
            for _ in 0..2 {
                t.received(b"5\r\n").unwrap();
                t.received_body(b"abcde").unwrap();
                t.received(b"\r\n").unwrap();
            }
            t.received(b"0\r\n\r\n").unwrap();
            t.end_message(Direction::Received).unwrap();
            t.received(b"3\r\n").unwrap();
            t.received_body(b"new").unwrap();
            t.received(b"\r\n").unwrap();
        });
        assert_eq!(
            shown,
            format!(
                "S: 5\\r\\n\nS: abcde\\r\\n\nS: 5\\r\\n\n\
                 S: <body 5 bytes sha256={}>\\r\\n\n\
                 S: 0\\r\\n\nS: \\r\\n\n\
                 S: 3\\r\\n\nS: new\\r\\n\n",
                wire::trace::sha256_hex(b"abcde")
            )
        );
    }

    #[test]
    fn without_a_limit_every_body_byte_is_shown() {
        let body = vec![b'y'; 10_000];
        let (shown, _) = shown_with_limit(None, |t| {
            t.received_body(&body).unwrap();
        });
        assert_eq!(shown, format!("S: {}\n", "y".repeat(10_000)));
    }
}
