//! The `Via` field (RFC 9110 §7.6.3): each intermediary a message passes through appends
//! `received-protocol RWS received-by [ RWS comment ]`, for example `1.1 proxy.example`.
//!
//! A proxy that finds its own name as a `received-by` in a request it is about to forward has
//! seen that request before: forwarding it again would loop, which it answers with
//! `508 Loop Detected` (RFC 5842 §7.2) instead.
//!
//! In scope: reading the elements and finding a `received-by`. Out of scope: pseudonyms mapped
//! back to hosts, and comments containing commas (such an element is read in two pieces, and
//! neither names anyone).

use super::fields::Headers;

/// One element of `Via`, borrowed from the field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViaElement<'a> {
    /// `[ protocol-name "/" ] protocol-version`, for example `1.1` or `HTTP/1.0`.
    pub received_protocol: &'a [u8],
    /// The host (and port) or pseudonym of the intermediary.
    pub received_by: &'a [u8],
}

impl ViaElement<'_> {
    /// Reads one list element; `None` when it has no `received-by`.
    pub fn parse(element: &[u8]) -> Option<ViaElement<'_>> {
        let mut words = element
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|w| !w.is_empty());
        Some(ViaElement {
            received_protocol: words.next()?,
            received_by: words.next()?,
        })
    }
}

/// The elements of every `Via` line, in order.
pub fn elements(headers: &Headers) -> impl Iterator<Item = ViaElement<'_>> {
    headers.list("via").filter_map(ViaElement::parse)
}

/// True when an element of `Via` has `received_by` equal to `name` (byte for byte): the message
/// has already passed through the intermediary called `name`.
pub fn passed_through(headers: &Headers, name: &str) -> bool {
    elements(headers).any(|element| element.received_by == name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn via(lines: &[&str]) -> Headers {
        let mut h = Headers::new();
        for line in lines {
            h.append("Via", line).expect("valid field");
        }
        h
    }

    #[test]
    fn elements_of_several_lines_and_lists() {
        let headers = via(&["1.0 fred, 1.1 p.example (Apache/1.1)", "HTTP/1.1\tme:8888"]);
        let by: Vec<&[u8]> = elements(&headers).map(|e| e.received_by).collect();
        assert_eq!(by, vec![&b"fred"[..], b"p.example", b"me:8888"]);
        assert_eq!(
            elements(&headers).nth(2).map(|e| e.received_protocol),
            Some(&b"HTTP/1.1"[..])
        );
    }

    #[test]
    fn a_loop_is_its_own_name_as_received_by() {
        let headers = via(&["1.1 upstream, 1.1 me:8888 (protolab)"]);
        assert!(passed_through(&headers, "me:8888"));
        assert!(!passed_through(&headers, "me"));
        assert!(!passed_through(&headers, "1.1"));
        assert!(!passed_through(&via(&["me:8888"]), "me:8888"));
        assert!(!passed_through(&Headers::new(), "me:8888"));
    }
}
