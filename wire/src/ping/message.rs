//! The lab's datagrams: `Ping <seq> <time>`, its upper-cased echo, and `Heartbeat <seq> <time>`.
//!
//! ```text
//! message  = keyword SP seq SP time [ SP padding ]
//! keyword  = "Ping" / "Heartbeat"            ; compared without regard to ASCII case
//! seq      = 1*20DIGIT                       ; 1, 2, 3, ... (fits in 64 bits)
//! time     = 1*DIGIT [ "." 1*DIGIT ]         ; Unix time in seconds, with a fraction
//! padding  = *OCTET                          ; `-s SIZE` fills the datagram up to SIZE bytes
//! ```
//!
//! One datagram is one message: there is no line ending and no framing, so parsing takes the
//! whole datagram (UDP never delivers part of one, which is why these tests feed datagrams whole
//! rather than cut at split points; bytes after the time are the padding, tested as such). The server upper-cases what it echoes, so `Ping 7 1767268800.250000` comes
//! back as `PING 7 1767268800.250000`; a client matches a reply by comparing it, ignoring ASCII
//! case, with the probe it sent.
//!
//! Out of scope: what a number means to the client or the server (see [`super::pinger`] and
//! [`super::heartbeat`]).

use std::fmt;
use std::time::Duration;

use crate::trace::escape::Also;

/// Which of the lab's two messages a datagram is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `Ping <seq> <time>`: a probe the server echoes.
    Ping,
    /// `Heartbeat <seq> <time>`: a one-way beat the server tracks and never answers.
    Heartbeat,
}

impl Kind {
    /// The keyword as a client writes it.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Ping => "Ping",
            Kind::Heartbeat => "Heartbeat",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A parsed datagram, borrowing its padding from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'b> {
    /// `Ping` or `Heartbeat` (in whatever case it came).
    pub kind: Kind,
    /// The sequence number.
    pub seq: u64,
    /// The sender's Unix time when it sent the message.
    pub time: Duration,
    /// Bytes after the time and one space (`-s SIZE` padding); empty when there are none.
    pub padding: &'b [u8],
}

/// The field a message was missing or got wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `Ping` or `Heartbeat`.
    Keyword,
    /// The sequence number after the keyword.
    Seq,
    /// The Unix time after the sequence number.
    Time,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Keyword => "keyword (Ping or Heartbeat)",
            Field::Seq => "sequence number",
            Field::Time => "time",
        })
    }
}

/// Why a datagram is not one of the lab's messages. The sender broke the protocol; each variant
/// names the bytes it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// The datagram held no bytes at all.
    Empty,
    /// The first word is neither `Ping` nor `Heartbeat`.
    UnknownKeyword {
        /// The first word (up to the first space).
        found: Vec<u8>,
    },
    /// The datagram ended before this field.
    Missing {
        /// The field that is absent.
        field: Field,
    },
    /// The sequence number is not 1 to 20 decimal digits that fit in 64 bits.
    BadSeq {
        /// What stood where the number should be.
        found: Vec<u8>,
    },
    /// The time is not `digits[.digits]`.
    BadTime {
        /// What stood where the time should be.
        found: Vec<u8>,
    },
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const FORM: &str = "the lab's form is `Ping <seq> <time>`";
        match self {
            MessageError::Empty => write!(f, "empty datagram; {FORM}"),
            MessageError::UnknownKeyword { found } => {
                write!(
                    f,
                    "first word \"{}\" is neither Ping nor Heartbeat; {FORM}",
                    escape(found)
                )
            }
            MessageError::Missing { field } => {
                write!(f, "datagram ends before the {field}; {FORM}")
            }
            MessageError::BadSeq { found } => write!(
                f,
                "sequence number \"{}\" is not 1 to 20 decimal digits below 2^64; {FORM}",
                escape(found)
            ),
            MessageError::BadTime { found } => {
                let hint = if found.ends_with(b"\n") {
                    " (a message has no line ending)"
                } else {
                    ""
                };
                write!(
                    f,
                    "time \"{}\" is not seconds like 1767268800.250000{hint}; {FORM}",
                    escape(found)
                )
            }
        }
    }
}

impl std::error::Error for MessageError {}

impl<'b> Message<'b> {
    /// Parses one whole datagram.
    pub fn parse(datagram: &'b [u8]) -> Result<Message<'b>, MessageError> {
        if datagram.is_empty() {
            return Err(MessageError::Empty);
        }
        let mut fields = datagram.splitn(4, |&b| b == b' ');
        let keyword = fields.next().unwrap_or_default();
        let kind = if keyword.eq_ignore_ascii_case(b"ping") {
            Kind::Ping
        } else if keyword.eq_ignore_ascii_case(b"heartbeat") {
            Kind::Heartbeat
        } else {
            return Err(MessageError::UnknownKeyword {
                found: keyword.to_vec(),
            });
        };
        let seq = fields
            .next()
            .ok_or(MessageError::Missing { field: Field::Seq })?;
        let seq = parse_seq(seq).ok_or_else(|| MessageError::BadSeq {
            found: seq.to_vec(),
        })?;
        let time = fields
            .next()
            .ok_or(MessageError::Missing { field: Field::Time })?;
        let time = parse_time(time).ok_or_else(|| MessageError::BadTime {
            found: time.to_vec(),
        })?;
        let padding = fields.next().unwrap_or_default();
        Ok(Message {
            kind,
            seq,
            time,
            padding,
        })
    }

    /// Writes a message as a client sends it, padded with `" abcdefgh..."` up to `size` bytes.
    /// A `size` shorter than the text itself leaves the text whole.
    pub fn build(kind: Kind, seq: u64, time: Duration, size: usize) -> Vec<u8> {
        let mut out = format!("{} {} {}", kind, seq, UnixTime(time)).into_bytes();
        if size > out.len() {
            out.push(b' ');
            let mut filler = (b'a'..=b'z').cycle();
            while out.len() < size {
                out.push(filler.next().unwrap_or(b'a'));
            }
        }
        out
    }
}

impl fmt::Display for Message<'_> {
    /// The message as a client writes it (keyword in its usual case, padding escaped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.kind, self.seq, UnixTime(self.time))?;
        if !self.padding.is_empty() {
            write!(f, " {}", escape(self.padding))?;
        }
        Ok(())
    }
}

/// A Unix time printed as seconds with six decimals, as the messages carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnixTime(pub Duration);

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0.as_secs(), self.0.subsec_micros())
    }
}

fn parse_seq(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 20 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    field.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// `digits[.digits]`; fraction digits past nanoseconds are read and ignored.
fn parse_time(field: &[u8]) -> Option<Duration> {
    let (whole, fraction) = match field.iter().position(|&b| b == b'.') {
        Some(dot) => (&field[..dot], Some(&field[dot + 1..])),
        None => (field, None),
    };
    let secs = parse_seq(whole)?;
    let mut nanos = 0u32;
    if let Some(fraction) = fraction {
        if fraction.is_empty() || !fraction.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for i in 0..9 {
            let digit = fraction.get(i).map_or(0, |d| u32::from(d - b'0'));
            nanos = nanos * 10 + digit;
        }
    }
    Some(Duration::new(secs, nanos))
}

/// Shows bytes the way traces do, `"` escaped too ([`crate::trace::escape`]).
pub fn escape(bytes: &[u8]) -> String {
    crate::trace::escape::escape(bytes, Also::DoubleQuote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const T: Duration = Duration::new(1_767_268_800, 250_000_000);

    #[test]
    fn builds_the_labs_text() {
        assert_eq!(
            Message::build(Kind::Ping, 7, T, 0),
            b"Ping 7 1767268800.250000".to_vec()
        );
        assert_eq!(
            Message::build(Kind::Heartbeat, 1, T, 0),
            b"Heartbeat 1 1767268800.250000".to_vec()
        );
    }

    #[test]
    fn pads_up_to_size_and_never_truncates() {
        let padded = Message::build(Kind::Ping, 7, T, 32);
        assert_eq!(padded, b"Ping 7 1767268800.250000 abcdefg".to_vec());
        assert_eq!(padded.len(), 32);
        assert_eq!(
            Message::build(Kind::Ping, 7, T, 5),
            b"Ping 7 1767268800.250000".to_vec()
        );
        let parsed = Message::parse(&padded).unwrap();
        assert_eq!(parsed.padding, b"abcdefg");
    }

    #[test]
    fn parses_a_probe_and_its_upper_cased_echo() {
        let expected = Message {
            kind: Kind::Ping,
            seq: 7,
            time: T,
            padding: b"",
        };
        assert_eq!(Message::parse(b"Ping 7 1767268800.250000"), Ok(expected));
        assert_eq!(Message::parse(b"PING 7 1767268800.250000"), Ok(expected));
        assert_eq!(Message::parse(b"Ping 7 1767268800.25"), Ok(expected));
        assert_eq!(
            Message::parse(b"HEARTBEAT 3 1767268800"),
            Ok(Message {
                kind: Kind::Heartbeat,
                seq: 3,
                time: Duration::from_secs(1_767_268_800),
                padding: b""
            })
        );
    }

    #[test]
    fn reads_pythons_time_repr_to_the_nanosecond() {
        let m = Message::parse(b"Ping 1 1712345678.1234567891").unwrap();
        assert_eq!(m.time, Duration::new(1_712_345_678, 123_456_789));
    }

    #[test]
    fn round_trips_through_display() {
        let bytes = Message::build(Kind::Ping, 42, T, 40);
        let shown = Message::parse(&bytes).unwrap().to_string();
        assert_eq!(shown.as_bytes(), bytes.as_slice());
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(Message::parse(b""), Err(MessageError::Empty));
        assert_eq!(
            Message::parse(b"Pong 1 2"),
            Err(MessageError::UnknownKeyword {
                found: b"Pong".to_vec()
            })
        );
        assert_eq!(
            Message::parse(b"Ping"),
            Err(MessageError::Missing { field: Field::Seq })
        );
        assert_eq!(
            Message::parse(b"Ping 1"),
            Err(MessageError::Missing { field: Field::Time })
        );
        assert_eq!(
            Message::parse(b"Ping x 1"),
            Err(MessageError::BadSeq {
                found: b"x".to_vec()
            })
        );
        assert_eq!(
            Message::parse(b"Ping 99999999999999999999 1"),
            Err(MessageError::BadSeq {
                found: b"99999999999999999999".to_vec()
            })
        );
        assert_eq!(
            Message::parse(b"Ping  1 2"),
            Err(MessageError::BadSeq {
                found: b"".to_vec()
            })
        );
        assert_eq!(
            Message::parse(b"Ping 1 2."),
            Err(MessageError::BadTime {
                found: b"2.".to_vec()
            })
        );
        let newline = Message::parse(b"Ping 1 2\n").unwrap_err();
        assert_eq!(
            newline.to_string(),
            "time \"2\\n\" is not seconds like 1767268800.250000 (a message has no line ending); \
             the lab's form is `Ping <seq> <time>`"
        );
    }

    #[test]
    fn escapes_like_a_trace() {
        assert_eq!(
            escape(b"a\r\n\t\\\"\x00\xff"),
            "a\\r\\n\\t\\\\\\\"\\x00\\xff"
        );
    }
}
