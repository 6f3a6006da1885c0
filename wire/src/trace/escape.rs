//! Byte escapes: how bytes that are not printable ASCII are written wherever `wire` shows bytes
//! to a person: in `.trace` files, in error messages that quote what a peer sent, in logs.
//!
//! One spelling everywhere, the `.trace` format's, so a byte quoted in an error reads the same
//! as in a recording of the exchange:
//!
//! | byte | written |
//! | --- | --- |
//! | CR, LF, HTAB, `\` | `\r`, `\n`, `\t`, `\\` |
//! | printable ASCII (0x20 to 0x7E) | itself |
//! | everything else | `\x` and two lower-case hex digits: `\x00`, `\x7f`, `\xc3` |
//!
//! Where the escaped text sits inside something else, [`Also`] names what more must be escaped:
//! every space (a value quoted in backticks in a sentence, where a space would be invisible) or
//! `"` (a value inside double quotes). The trace renderer ([`super::render`]) adds its own rules
//! on top (a space that ends a text line, a `<` that would read as an event).

use std::fmt;

/// What is escaped besides the bytes every escape covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Also {
    /// Nothing more: spaces and `"` as themselves.
    Nothing,
    /// Every space, as `\x20` (for a value quoted inside a sentence).
    Spaces,
    /// `"`, as `\"` (for a value inside double quotes).
    DoubleQuote,
}

/// Writes `byte` escaped.
pub fn write_byte(out: &mut impl fmt::Write, byte: u8, also: Also) -> fmt::Result {
    match (byte, also) {
        (b'\r', _) => out.write_str("\\r"),
        (b'\n', _) => out.write_str("\\n"),
        (b'\t', _) => out.write_str("\\t"),
        (b'\\', _) => out.write_str("\\\\"),
        (b' ', Also::Spaces) => out.write_str("\\x20"),
        (b'"', Also::DoubleQuote) => out.write_str("\\\""),
        (0x20..=0x7e, _) => out.write_char(char::from(byte)),
        _ => write!(out, "\\x{byte:02x}"),
    }
}

/// Writes `bytes` escaped.
pub fn write_bytes(out: &mut impl fmt::Write, bytes: &[u8], also: Also) -> fmt::Result {
    bytes.iter().try_for_each(|&b| write_byte(out, b, also))
}

/// `bytes` escaped, as a new string.
pub fn escape(bytes: &[u8], also: Also) -> String {
    let mut out = String::with_capacity(bytes.len());
    // Writing to a String cannot fail.
    let _ = write_bytes(&mut out, bytes, also);
    out
}

/// The first `max` bytes escaped, followed by `...` when there were more: for quoting a value of
/// any length in an error message.
pub fn escape_prefix(bytes: &[u8], max: usize) -> String {
    let mut out = escape(&bytes[..bytes.len().min(max)], Also::Nothing);
    if bytes.len() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_for_every_byte() {
        assert_eq!(
            escape(b"a\r\n\t\\\"b c\x00\x7f\xc3\xa9", Also::Nothing),
            "a\\r\\n\\t\\\\\"b c\\x00\\x7f\\xc3\\xa9"
        );
        assert_eq!(escape(b"5 5", Also::Spaces), "5\\x205");
        assert_eq!(escape(b"say \"hi\"", Also::DoubleQuote), "say \\\"hi\\\"");
        assert_eq!(escape_prefix(b"abcdef", 4), "abcd...");
        assert_eq!(escape_prefix(b"abcd", 4), "abcd");
    }

    #[test]
    fn every_byte_reads_back_through_the_trace_parser() {
        use crate::trace::{Tag, Trace, Transport};
        let bytes: Vec<u8> = (0..=255u8).collect();
        let mut expected = Trace::new(Transport::Tcp);
        expected.push_bytes(Tag::Client, &bytes);
        for also in [Also::Nothing, Also::Spaces] {
            // One text line: the trace format cuts lines after `\n`, any cut reads back.
            let line = format!("C: {}\n", escape(&bytes, also).replace("\\n", "\\n\nC: "));
            let parsed = Trace::parse(&line).expect("escaped bytes parse as a trace");
            assert_eq!(parsed.items(), expected.items(), "{also:?}");
        }
    }
}
