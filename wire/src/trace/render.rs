//! Writing traces: the escapes, the line cuts, and the helpers other programs use to show bytes.

use std::fmt::{self, Write as _};

use super::escape::{self, Also};
use super::{ElidedBody, Item, Payload, Piece, Trace, Transport};

/// The words that follow `<` in an event or a placeholder. A literal `<` followed by one of them
/// is written `\x3c` so that it reads back as bytes.
pub(super) const RESERVED_AFTER_ANGLE: [&[u8]; 5] =
    [b"any>", b"body ", b"close>", b"wait ", b"lost>"];

fn starts_reserved(after_angle: &[u8]) -> bool {
    RESERVED_AFTER_ANGLE
        .iter()
        .any(|word| after_angle.starts_with(word))
}

/// How payload text is laid out.
#[derive(Clone, Copy)]
struct Layout {
    /// Cut a text line after each `\n` byte (TCP streams, payload display). When false the whole
    /// payload is one line (UDP datagrams, metadata values, inline values).
    break_after_lf: bool,
    /// Escape `<` where it would read back as an event or a placeholder.
    guard_angles: bool,
}

/// Writes one byte escaped. `ends_line` is true when nothing follows it on its text line.
fn escape_byte(out: &mut String, byte: u8, rest: &[u8], ends_line: bool, layout: Layout) {
    match byte {
        b'\r' => out.push_str("\\r"),
        b'\n' => out.push_str("\\n"),
        b'\t' => out.push_str("\\t"),
        b'\\' => out.push_str("\\\\"),
        b' ' if ends_line => out.push_str("\\x20"),
        b'<' if layout.guard_angles && starts_reserved(rest) => out.push_str("\\x3c"),
        // Writing to a String cannot fail.
        _ => {
            let _ = escape::write_byte(out, byte, Also::Nothing);
        }
    }
}

/// Writes pieces as text lines, each starting with `prefix` and ending in a file newline.
/// Writes nothing for no pieces.
fn write_pieces(out: &mut String, prefix: &str, pieces: &[Piece], layout: Layout) {
    let mut line_open = false;
    for (index, piece) in pieces.iter().enumerate() {
        let last_piece = index + 1 == pieces.len();
        if !line_open {
            out.push_str(prefix);
            line_open = true;
        }
        match piece {
            Piece::Bytes(bytes) => {
                for (at, &byte) in bytes.iter().enumerate() {
                    if !line_open {
                        out.push_str(prefix);
                        line_open = true;
                    }
                    let ends_line = last_piece && at + 1 == bytes.len();
                    escape_byte(out, byte, &bytes[at + 1..], ends_line, layout);
                    if byte == b'\n' && layout.break_after_lf {
                        out.push('\n');
                        line_open = false;
                    }
                }
            }
            Piece::Any => out.push_str("<any>"),
            Piece::Elided(body) => {
                let _ = write!(out, "{body}");
            }
        }
    }
    if line_open {
        out.push('\n');
    }
}

/// Escapes a metadata value or any short value onto one line (no placeholders recognised).
pub(super) fn escape_value(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    let layout = Layout {
        break_after_lf: false,
        guard_angles: false,
    };
    for (at, &byte) in value.iter().enumerate() {
        escape_byte(
            &mut out,
            byte,
            &value[at + 1..],
            at + 1 == value.len(),
            layout,
        );
    }
    out
}

/// Shows bytes in trace syntax, one wire line per text line, each text line starting with
/// `prefix` (`"C: "`, `"> "`, or `""`) and ending in `\n`. Nothing for no bytes.
///
/// ```
/// let shown = wire::trace::render_payload("S: ", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
/// assert_eq!(shown, "S: HTTP/1.1 200 OK\\r\\n\nS: Content-Length: 2\\r\\n\nS: \\r\\n\nS: hi\n");
/// ```
pub fn render_payload(prefix: &str, bytes: &[u8]) -> String {
    let mut out = String::new();
    write_pieces(
        &mut out,
        prefix,
        &Payload::from_bytes(bytes).pieces,
        Layout {
            break_after_lf: true,
            guard_angles: true,
        },
    );
    out
}

/// Shows a message (a head, then a body) in trace syntax behind `prefix`, writing the body as
/// `<body N bytes sha256=...>` when it is longer than `elide_over` bytes.
///
/// ```
/// let shown = wire::trace::render_message("S: ", b"HTTP/1.1 200 OK\r\n\r\n", b"abc", 2);
/// assert_eq!(
///     shown,
///     "S: HTTP/1.1 200 OK\\r\\n\nS: \\r\\n\n\
///      S: <body 3 bytes sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad>\n"
/// );
/// ```
pub fn render_message(prefix: &str, head: &[u8], body: &[u8], elide_over: usize) -> String {
    let mut payload = Payload::from_bytes(head);
    if body.len() > elide_over {
        payload.push(Piece::Elided(ElidedBody::of(body)));
    } else {
        payload.push_bytes(body);
    }
    let mut out = String::new();
    write_pieces(
        &mut out,
        prefix,
        &payload.pieces,
        Layout {
            break_after_lf: true,
            guard_angles: true,
        },
    );
    out
}

/// Escapes bytes onto one line with the trace escapes (`\r`, `\n`, `\xHH`, ...), for quoting a
/// value inside a sentence: ``expected `\r\n`, got `\n` ``.
pub fn escape_inline(bytes: &[u8]) -> String {
    escape_value(bytes)
}

/// Escapes a metadata value: like [`escape_value`], except that a non-ASCII character that is
/// neither a control nor whitespace is written as it is (`# title: RFC 9112 §6.3`).
pub(super) fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut buffer = [0u8; 4];
    for (at, c) in value.char_indices() {
        let ends_line = at + c.len_utf8() == value.len();
        if c.is_ascii() {
            let byte = c as u8;
            escape_byte(
                &mut out,
                byte,
                &value.as_bytes()[at + 1..],
                ends_line,
                Layout {
                    break_after_lf: false,
                    guard_angles: false,
                },
            );
        } else if literal_in_text(c) {
            out.push(c);
        } else {
            let _ = escape::write_bytes(
                &mut out,
                c.encode_utf8(&mut buffer).as_bytes(),
                Also::Nothing,
            );
        }
    }
    out
}

/// A non-ASCII character a metadata value may hold as it is: one that no editor or snapshot tool
/// trims or hides.
pub(super) fn literal_in_text(c: char) -> bool {
    !c.is_ascii() && !c.is_control() && !c.is_whitespace()
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for (key, value) in &self.metadata {
            let value = escape_text(value);
            if value.is_empty() {
                let _ = writeln!(out, "# {key}:");
            } else {
                let _ = writeln!(out, "# {key}: {value}");
            }
        }
        if self.transport == Transport::Udp {
            out.push_str("# transport: udp\n");
        }
        let layout = Layout {
            break_after_lf: self.transport == Transport::Tcp,
            guard_angles: true,
        };
        for item in &self.items {
            match item {
                Item::Data { tag, payload } => {
                    if payload.is_empty() {
                        // Only a UDP datagram can be empty; a TCP stream never holds no bytes.
                        let _ = writeln!(out, "{tag}:");
                    } else {
                        write_pieces(&mut out, &tag.prefix(), payload.pieces(), layout);
                    }
                }
                Item::Event { tag, event } => {
                    let _ = writeln!(out, "{tag}: {event}");
                }
            }
        }
        f.write_str(&out)
    }
}
