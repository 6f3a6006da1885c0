//! The character classes of the HTTP grammar, one function per ABNF rule.
//!
//! Scope: the byte-level rules that several parsers share: `tchar` and `token` (RFC 9110 §5.6.2),
//! `OWS` (RFC 9110 §5.6.3), `field-vchar` and `obs-text` (RFC 9110 §5.5), and the characters a
//! `request-target` may contain (RFC 9112 §3.2, built from RFC 3986 §2 and §3). Parsing of whole
//! elements lives next to the element that needs it.

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA`
/// (RFC 9110 §5.6.2).
pub const fn is_tchar(b: u8) -> bool {
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
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~'
        | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        | b':' | b'@')
}

/// Width of the blocks the scanning helpers check without branching, which lets the compiler
/// use vector instructions; the exact position is then found inside the block.
const BLOCK: usize = 32;

/// Position of the first `needle` in `haystack` (used to find line ends).
pub fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    let mut offset = 0;
    for block in haystack.chunks(BLOCK) {
        if block.iter().fold(false, |found, &b| found | (b == needle)) {
            return block.iter().position(|&b| b == needle).map(|p| offset + p);
        }
        offset += block.len();
    }
    None
}

/// Position of the first byte that may not appear in a field value (see
/// [`is_field_value_byte`]).
pub fn find_invalid_field_value_byte(value: &[u8]) -> Option<usize> {
    let mut offset = 0;
    for block in value.chunks(BLOCK) {
        if block
            .iter()
            .fold(false, |bad, &b| bad | !is_field_value_byte(b))
        {
            return block
                .iter()
                .position(|&b| !is_field_value_byte(b))
                .map(|p| offset + p);
        }
        offset += block.len();
    }
    None
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
    fn trim_ows_keeps_inner_whitespace() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
    }
}
