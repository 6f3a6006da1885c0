//! Secondary cache keys: matching a request against the request a stored response answered,
//! on the fields its `Vary` names (RFC 9111 §4.1).
//!
//! - `Vary: *` never matches: such a response can only be reused after validation.
//! - A field absent from both requests matches; absent from one only, it does not.
//! - Values are compared after the normalisations §4.1 allows, and only those:
//!   - lines of one field are combined as if joined with commas (RFC 9110 §5.3), and the
//!     optional whitespace around a value is dropped;
//!   - for fields defined as lists (`Accept`, `Accept-Charset`, `Accept-Encoding`,
//!     `Accept-Language`), whitespace around commas is dropped and empty elements removed;
//!   - for fields whose values are case-insensitive (`Accept-Charset`, `Accept-Encoding`,
//!     `Accept-Language`), case is folded;
//!   - for `Accept-Encoding`, whose order carries no meaning, elements are sorted.
//!
//!   Every other field is compared byte for byte: `User-Agent: A  B` and `User-Agent: A B`
//!   differ, because nothing says that space is optional.

use crate::http1::fields::{list_elements, Headers, Vary};

/// The result of matching a request against a stored response's secondary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaryMatch {
    /// Every nominated field matches (or the response has no `Vary`).
    Match,
    /// The response has `Vary: *`.
    Star,
    /// This field (lower-cased) differs between the two requests.
    Differs(String),
}

/// The lines of the request fields that the response's `Vary` names, copied from the request
/// (what a cache stores as the secondary key).
pub fn nominated_fields(response_headers: &Headers, request_headers: &Headers) -> Headers {
    match Vary::from_headers(response_headers) {
        Vary::Any => Headers::new(),
        Vary::Fields(names) => request_headers
            .iter()
            .filter(|field| names.iter().any(|name| field.is(name)))
            .cloned()
            .collect(),
    }
}

/// Does `request_headers` select the stored response whose header section is
/// `stored_response_headers`, given the nominated fields of the request that got it?
pub fn matches(
    stored_response_headers: &Headers,
    stored_request_fields: &Headers,
    request_headers: &Headers,
) -> VaryMatch {
    match Vary::from_headers(stored_response_headers) {
        Vary::Any => VaryMatch::Star,
        Vary::Fields(names) => names
            .into_iter()
            .find(|name| {
                normalized_value(name, stored_request_fields)
                    != normalized_value(name, request_headers)
            })
            .map_or(VaryMatch::Match, VaryMatch::Differs),
    }
}

const LIST_FIELDS: [&str; 4] = [
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
];
const CASE_INSENSITIVE_FIELDS: [&str; 3] = ["accept-charset", "accept-encoding", "accept-language"];

/// The value of field `name` in `headers`, normalised as the module documentation says;
/// `None` when the field is absent.
pub fn normalized_value(name: &str, headers: &Headers) -> Option<Vec<u8>> {
    let name = name.to_ascii_lowercase();
    let mut lines = headers.get_all(&name).peekable();
    lines.peek()?;
    let value = if LIST_FIELDS.contains(&name.as_str()) {
        let mut elements: Vec<Vec<u8>> = lines
            .flat_map(list_elements)
            .map(|element| {
                if CASE_INSENSITIVE_FIELDS.contains(&name.as_str()) {
                    element.to_ascii_lowercase()
                } else {
                    element.to_vec()
                }
            })
            .collect();
        if name == "accept-encoding" {
            elements.sort();
        }
        elements.join(&b","[..])
    } else {
        lines
            .map(|line| line.trim_ascii())
            .collect::<Vec<_>>()
            .join(&b", "[..])
    };
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (name, value) in lines {
            h.append(name, value).expect("valid field");
        }
        h
    }

    fn check(vary: &str, stored_request: &[(&str, &str)], request: &[(&str, &str)]) -> VaryMatch {
        let response = headers(&[("Vary", vary)]);
        let stored_fields = nominated_fields(&response, &headers(stored_request));
        matches(&response, &stored_fields, &headers(request))
    }

    #[test]
    fn secondary_key_rules_of_rfc_9111_section_4_1() {
        let differs = |name: &str| VaryMatch::Differs(name.to_owned());
        // (what the row shows, Vary, the stored request's fields, the new request's, result)
        type Fields = Vec<(&'static str, &'static str)>;
        let rows: Vec<(&str, &str, Fields, Fields, VaryMatch)> = vec![
            (
                "same value",
                "Accept-Encoding",
                vec![("Accept-Encoding", "gzip")],
                vec![("accept-encoding", "gzip")],
                VaryMatch::Match,
            ),
            (
                "different value",
                "Accept-Encoding",
                vec![("Accept-Encoding", "gzip")],
                vec![("Accept-Encoding", "br")],
                differs("accept-encoding"),
            ),
            (
                "whitespace around commas in a list",
                "Accept-Encoding",
                vec![("Accept-Encoding", "gzip,br")],
                vec![("Accept-Encoding", "gzip ,  br")],
                VaryMatch::Match,
            ),
            (
                "lines combined",
                "Accept-Encoding",
                vec![("Accept-Encoding", "gzip, br")],
                vec![("Accept-Encoding", "gzip"), ("Accept-Encoding", "br")],
                VaryMatch::Match,
            ),
            (
                "codings are case-insensitive and unordered",
                "Accept-Encoding",
                vec![("Accept-Encoding", "gzip, br")],
                vec![("Accept-Encoding", "BR, GZIP")],
                VaryMatch::Match,
            ),
            (
                "languages are case-insensitive",
                "Accept-Language",
                vec![("Accept-Language", "en-GB")],
                vec![("Accept-Language", "en-gb")],
                VaryMatch::Match,
            ),
            (
                "language order is kept",
                "Accept-Language",
                vec![("Accept-Language", "en, fr")],
                vec![("Accept-Language", "fr, en")],
                differs("accept-language"),
            ),
            (
                "other fields are exact",
                "User-Agent",
                vec![("User-Agent", "A  B")],
                vec![("User-Agent", "A B")],
                differs("user-agent"),
            ),
            (
                "other fields keep case",
                "X-Mode",
                vec![("X-Mode", "Dark")],
                vec![("X-Mode", "dark")],
                differs("x-mode"),
            ),
            (
                "absent in both matches",
                "X-Mode",
                vec![],
                vec![],
                VaryMatch::Match,
            ),
            (
                "absent in one does not",
                "X-Mode",
                vec![("X-Mode", "a")],
                vec![],
                differs("x-mode"),
            ),
            (
                "empty is not absent",
                "X-Mode",
                vec![("X-Mode", "")],
                vec![],
                differs("x-mode"),
            ),
            (
                "several fields, the first difference named",
                "Accept-Encoding, X-Mode",
                vec![("Accept-Encoding", "gzip"), ("X-Mode", "a")],
                vec![("Accept-Encoding", "gzip"), ("X-Mode", "b")],
                differs("x-mode"),
            ),
            (
                "Vary: * never matches",
                "*",
                vec![],
                vec![],
                VaryMatch::Star,
            ),
            (
                "* among names never matches",
                "Accept, *",
                vec![],
                vec![],
                VaryMatch::Star,
            ),
        ];
        for (what, vary, stored_request, request, expected) in rows {
            assert_eq!(check(vary, &stored_request, &request), expected, "{what}");
        }
    }

    #[test]
    fn no_vary_always_matches() {
        assert_eq!(
            matches(
                &Headers::new(),
                &Headers::new(),
                &headers(&[("Accept", "x")])
            ),
            VaryMatch::Match
        );
    }

    #[test]
    fn the_secondary_key_keeps_only_nominated_lines() {
        let response = headers(&[("Vary", "accept-encoding")]);
        let request = headers(&[
            ("Host", "a"),
            ("Accept-Encoding", "gzip"),
            ("accept-encoding", "br"),
        ]);
        assert_eq!(
            nominated_fields(&response, &request),
            headers(&[("Accept-Encoding", "gzip"), ("accept-encoding", "br")])
        );
    }
}
