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
/// arithmetic instructions ("SWAR", SIMD within a register), which marks the bytes that match.
const WORD: usize = 8;
/// `0x0101_0101_0101_0101`: multiplied by a byte, that byte in every lane.
const LANES: u64 = u64::MAX / 255;
/// The high bit of every lane.
const HIGH_BITS: u64 = LANES * 0x80;

fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("a word is eight bytes"))
}

/// Marks (with its high bit) each byte of `x` that is below `n`, for `n` at most 0x80. A lane
/// borrows from the one above it only when it is itself below `n`, so the lowest mark is always
/// right: it is the first such byte. Marks above it may be wrong.
const fn bytes_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(LANES * n as u64) & !x & HIGH_BITS
}

/// Marks the zero bytes of `x` (the lowest mark is right, see [`bytes_below`]).
const fn zero_bytes(x: u64) -> u64 {
    bytes_below(x, 1)
}

/// The index of the byte that holds the lowest mark (bytes are read little-endian).
const fn first_marked(marks: u64) -> usize {
    (marks.trailing_zeros() / 8) as usize
}

/// Position of the first `needle` in `haystack` (used to find line ends).
pub fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    let in_word = |w: &[u8]| {
        let marks = zero_bytes(word(w) ^ (LANES * u64::from(needle)));
        (marks != 0).then(|| first_marked(marks))
    };
    find_in_words(haystack, |b| b == needle, in_word)
}

/// Position of the first byte that may not appear in a field value (see
/// [`is_field_value_byte`]).
pub fn find_invalid_field_value_byte(value: &[u8]) -> Option<usize> {
    let in_word = |w: &[u8]| {
        let x = word(w);
        // Controls (HTAB among them) and DEL.
        let marks = bytes_below(x, 0x20) | zero_bytes(x ^ (LANES * 0x7f));
        if marks == 0 {
            return None;
        }
        let first = first_marked(marks);
        if w[first] != b'\t' {
            return Some(first);
        }
        // HTAB is allowed; the marks after it cannot be trusted, so byte by byte.
        w[first + 1..]
            .iter()
            .position(|&b| !is_field_value_byte(b))
            .map(|p| first + 1 + p)
    };
    find_in_words(value, |b| !is_field_value_byte(b), in_word)
}

/// The first byte for which `is_match` holds, found word by word with `in_word` (which finds
/// the first match in eight bytes). The last word may overlap the one before it: the bytes they
/// share already held no match. Fewer than eight bytes in all are checked one by one.
fn find_in_words(
    bytes: &[u8],
    is_match: impl Fn(u8) -> bool,
    in_word: impl Fn(&[u8]) -> Option<usize>,
) -> Option<usize> {
    if bytes.len() < WORD {
        return bytes.iter().position(|&b| is_match(b));
    }
    let mut at = 0;
    let last = bytes.len() - WORD;
    loop {
        if let Some(p) = in_word(&bytes[at..at + WORD]) {
            return Some(at + p);
        }
        if at == last {
            return None;
        }
        at = (at + WORD).min(last);
    }
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
        for (background, len) in [b'a', b' ', b'\t', 0x80, 0xff].into_iter().flat_map(|bg| {
            (1..=17)
                .chain([31, 32, 33, 40, 64, 65, 71])
                .map(move |len| (bg, len))
        }) {
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
    fn word_scans_agree_with_the_byte_rules_for_pairs_of_edge_bytes() {
        // A first match can hide or fake marks above it: two special bytes in every order.
        let edges = [
            0x00, 0x01, b'\t', b'\n', b'\r', 0x1f, b' ', b'a', 0x7e, 0x7f, 0x80, 0xff,
        ];
        for len in (2..=17).chain([33, 40, 65]) {
            for i in 0..len {
                for j in i + 1..len {
                    for &a in &edges {
                        for &b in &edges {
                            let mut v = vec![b'a'; len];
                            v[i] = a;
                            v[j] = b;
                            let first_lf = v.iter().position(|&c| c == b'\n');
                            assert_eq!(find_byte(&v, b'\n'), first_lf, "{v:?}");
                            let first_bad = v.iter().position(|&c| !is_field_value_byte(c));
                            assert_eq!(find_invalid_field_value_byte(&v), first_bad, "{v:?}");
                        }
                    }
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
