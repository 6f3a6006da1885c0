//! The character classes of the HTTP grammar, one function per ABNF rule.
//!
//! Scope: the byte-level rules that several parsers share: `tchar` and `token` (RFC 9110 §5.6.2),
//! `OWS` (RFC 9110 §5.6.3), `field-vchar` and `obs-text` (RFC 9110 §5.5), and the characters a
//! `request-target` may contain (RFC 9112 §3.2, built from RFC 3986 §2 and §3). Parsing of whole
//! elements lives next to the element that needs it.
//!
//! The rules with many alternatives (`tchar`, the target bytes, `pchar`) are written once as a
//! `matches!` that reads like the ABNF, and compiled into a 256-entry table of class bits at
//! build time: a parser then checks a byte with one load and one test, whatever the rule.

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA`
/// (RFC 9110 §5.6.2).
pub const fn is_tchar(b: u8) -> bool {
    CLASSES[b as usize] & TCHAR != 0
}

const fn tchar_rule(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~'
        | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// `token = 1*tchar` (RFC 9110 §5.6.2): method names, field names, coding names, directives.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// `OWS` is made of SP and HTAB (RFC 9110 §5.6.3).
pub const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `field-vchar = VCHAR / obs-text`, plus the SP and HTAB allowed between them
/// (RFC 9110 §5.5). Everything else (CTLs, DEL) is invalid in a field value.
pub const fn is_field_value_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff)
}

/// `obs-text = %x80-FF` (RFC 9110 §5.6.4).
pub const fn is_obs_text(b: u8) -> bool {
    b >= 0x80
}

/// The bytes a `request-target` may contain: RFC 3986 `unreserved`, `gen-delims` except `#`
/// (a fragment is never sent, RFC 9112 §3.2), `sub-delims`, and `%` for pct-encoded; plus
/// `{ } | ^` and backtick, which RFC 3986 excludes but browsers send unencoded in paths and
/// queries (the WHATWG URL standard leaves them out of its percent-encode sets). Still refused:
/// controls, SP, DEL, `"`, `#`, `<`, `>`, `\` and every byte above 0x7F.
pub const fn is_target_byte(b: u8) -> bool {
    CLASSES[b as usize] & TARGET != 0
}

const fn target_rule(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~'
        | b':' | b'/' | b'?' | b'[' | b']' | b'@'
        | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        | b'%'
        | b'{' | b'}' | b'|' | b'^' | b'`')
}

/// `pchar` without `%` (pct-encoded is checked separately): the bytes of a path segment or a
/// query (RFC 3986 §3.3).
pub const fn is_pchar_literal(b: u8) -> bool {
    CLASSES[b as usize] & PCHAR != 0
}

const fn pchar_literal_rule(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~'
        | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        | b':' | b'@')
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )` (RFC 3986 §3.2.2), byte by byte
/// (`%` for pct-encoded, whose hex digits are checked separately).
pub const fn is_reg_name_byte(b: u8) -> bool {
    CLASSES[b as usize] & REG_NAME != 0
}

const fn reg_name_rule(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~'
        | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        | b'%')
}

const TCHAR: u8 = 1;
const TARGET: u8 = 2;
const PCHAR: u8 = 4;
const REG_NAME: u8 = 8;

/// For each byte value, the classes it belongs to (one bit per rule above), computed
/// from the rules above when the crate is compiled.
const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut classes = 0;
        if tchar_rule(b) {
            classes |= TCHAR;
        }
        if target_rule(b) {
            classes |= TARGET;
        }
        if pchar_literal_rule(b) {
            classes |= PCHAR;
        }
        if reg_name_rule(b) {
            classes |= REG_NAME;
        }
        table[i] = classes;
        i += 1;
    }
    table
};

/// The scanning helpers read eight bytes at a time as one `u64` and test all eight with a few
/// arithmetic instructions ("SWAR", SIMD within a register); only a word that may hold a match
/// is then searched byte by byte, and the last few bytes are checked one at a time.
const WORD: usize = 8;
/// `0x0101_0101_0101_0101`: multiplied by a byte, that byte in every lane.
const LANES: u64 = u64::MAX / 255;
/// The high bit of every lane.
const HIGH_BITS: u64 = LANES * 0x80;

fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("a word is eight bytes"))
}

/// True when some byte of `x` is below `n` (`n` at most 0x80). A lane can only borrow from the
/// lane below it when that lane is itself below `n`, so the answer is exact.
const fn has_byte_below(x: u64, n: u8) -> bool {
    x.wrapping_sub(LANES * n as u64) & !x & HIGH_BITS != 0
}

/// True when some byte of `x` is zero.
const fn has_zero_byte(x: u64) -> bool {
    has_byte_below(x, 1)
}

/// Position of the first `needle` in `haystack` (used to find line ends).
pub fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    let mut words = haystack.chunks_exact(WORD);
    let mut offset = 0;
    for w in &mut words {
        if has_zero_byte(word(w) ^ (LANES * u64::from(needle))) {
            return w.iter().position(|&b| b == needle).map(|p| offset + p);
        }
        offset += WORD;
    }
    let tail = words.remainder();
    if tail.is_empty() {
        return None;
    }
    // The last bytes as one word too, padded with bytes that are not the needle.
    let mut last = [!needle; WORD];
    last[..tail.len()].copy_from_slice(tail);
    if has_zero_byte(word(&last) ^ (LANES * u64::from(needle))) {
        return tail.iter().position(|&b| b == needle).map(|p| offset + p);
    }
    None
}

/// Position of the first byte that may not appear in a field value (see
/// [`is_field_value_byte`]).
pub fn find_invalid_field_value_byte(value: &[u8]) -> Option<usize> {
    let mut words = value.chunks_exact(WORD);
    let mut offset = 0;
    for w in &mut words {
        if may_hold_invalid_field_value_byte(word(w)) {
            if let Some(p) = w.iter().position(|&b| !is_field_value_byte(b)) {
                return Some(offset + p);
            }
        }
        offset += WORD;
    }
    let tail = words.remainder();
    // The last bytes as one word too, padded with a valid byte.
    let mut last = [b'a'; WORD];
    last[..tail.len()].copy_from_slice(tail);
    if may_hold_invalid_field_value_byte(word(&last)) {
        return tail
            .iter()
            .position(|&b| !is_field_value_byte(b))
            .map(|p| offset + p);
    }
    None
}

/// A control byte (HTAB among them, which is allowed) or DEL in the word: worth a closer look.
const fn may_hold_invalid_field_value_byte(x: u64) -> bool {
    has_byte_below(x, 0x20) || has_zero_byte(x ^ (LANES * 0x7f))
}

/// Trims `OWS` from both ends.
pub fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ows(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ows(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_rejects_separators_and_accepts_every_tchar() {
        assert!(is_token(b"!#$%&'*+-.^_`|~09azAZ"));
        for b in b"()<>@,;:\\\"/[]?={} \t".iter() {
            assert!(!is_tchar(*b), "{:?} is a delimiter", *b as char);
        }
        assert!(!is_token(b""));
    }

    #[test]
    fn word_scans_agree_with_the_byte_rules_for_every_byte_at_every_position() {
        for (background, len) in [b'a', b' ', b'\t', 0x80, 0xff]
            .into_iter()
            .flat_map(|bg| (1..=17).map(move |len| (bg, len)))
        {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut v = vec![background; len];
                    v[at] = b;
                    let first_lf = v.iter().position(|&c| c == b'\n');
                    assert_eq!(find_byte(&v, b'\n'), first_lf, "{b:#04x} at {at} of {len}");
                    let first_bad = v.iter().position(|&c| !is_field_value_byte(c));
                    assert_eq!(
                        find_invalid_field_value_byte(&v),
                        first_bad,
                        "{b:#04x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn block_scans_find_the_first_match_anywhere() {
        for len in [0, 1, 31, 32, 33, 64, 100] {
            for at in 0..len {
                let mut v = vec![b'a'; len];
                v[at] = b'\n';
                if at + 1 < len {
                    v[len - 1] = b'\n';
                }
                assert_eq!(find_byte(&v, b'\n'), Some(at));
                v[at] = 0x7f;
                assert_eq!(find_invalid_field_value_byte(&v), Some(at));
            }
            assert_eq!(find_byte(&vec![b'a'; len], b'\n'), None);
            assert_eq!(find_invalid_field_value_byte(&vec![b'\t'; len]), None);
        }
    }

    #[test]
    fn the_class_table_agrees_with_the_rules() {
        for b in 0..=255u8 {
            assert_eq!(is_tchar(b), tchar_rule(b), "{b:#04x}");
            assert_eq!(is_target_byte(b), target_rule(b), "{b:#04x}");
            assert_eq!(is_pchar_literal(b), pchar_literal_rule(b), "{b:#04x}");
            assert_eq!(is_reg_name_byte(b), reg_name_rule(b), "{b:#04x}");
        }
    }

    #[test]
    fn trim_ows_keeps_inner_whitespace() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
    }
}
