//! Validating a stored response with the origin (RFC 9111 §4.3).
//!
//! - [`ConditionalFields::for_stored`]: the conditional request (§4.3.1): `If-None-Match` with
//!   the stored `ETag`, and `If-Modified-Since` with the stored `Last-Modified` exactly as it was
//!   received.
//! - [`after_validation`]: what the origin's answer means (§4.3.3): a 304 that selects the stored
//!   response freshens it, a 304 that does not (or a full response) replaces it, and a 5xx lets
//!   the cache serve the stored response stale if nothing forbids that (§4.2.4).
//! - [`not_modified_selects`]: whether a 304 is about the stored response (§4.3.4).
//! - [`freshen`]: updates the stored header section from a 304 (§3.2, §4.3.4).
//! - [`client_conditionals`]: the client's own `If-None-Match` / `If-Modified-Since`, evaluated
//!   against a response the cache is about to serve (§4.3.2), so the cache can answer 304 itself.

use super::directives::ResponseDirectives;
use super::storable::fields_to_store;
use super::stored::StoredResponse;
use crate::http1::conditional::{self, EntityTag, Evaluation, RequestConditions};
use crate::http1::date::HttpDate;
use crate::http1::fields::Headers;
use crate::http1::method::Method;

/// The conditional fields a cache adds to a request to validate its stored response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConditionalFields {
    /// `If-None-Match`: the stored `ETag` value.
    pub if_none_match: Option<Vec<u8>>,
    /// `If-Modified-Since`: the stored `Last-Modified` value.
    pub if_modified_since: Option<Vec<u8>>,
}

impl ConditionalFields {
    /// The fields for validating `stored`: its entity tag if it has one (which §4.3.1 requires
    /// be sent), and its `Last-Modified` if it has one (which §4.3.1 recommends).
    pub fn for_stored(stored: &StoredResponse) -> ConditionalFields {
        ConditionalFields {
            if_none_match: stored
                .headers
                .get("etag")
                .filter(|value| EntityTag::parse(value).is_ok())
                .map(<[u8]>::to_vec),
            if_modified_since: stored
                .headers
                .get("last-modified")
                .filter(|value| HttpDate::parse(value, stored.response_time).is_ok())
                .map(<[u8]>::to_vec),
        }
    }

    /// True when the stored response has no validator: it cannot be validated, only replaced.
    pub fn is_empty(&self) -> bool {
        self.if_none_match.is_none() && self.if_modified_since.is_none()
    }

    /// Puts these fields on a request being forwarded, replacing any the client sent: the
    /// answer is for the cache, which then evaluates the client's own conditions against the
    /// stored response ([`client_conditionals`]).
    pub fn apply_to(&self, request_headers: &mut Headers) {
        for name in [
            "if-none-match",
            "if-modified-since",
            "if-match",
            "if-unmodified-since",
            "if-range",
        ] {
            request_headers.remove(name);
        }
        // Both values were read from valid stored fields, so they are valid field values.
        if let Some(value) = &self.if_none_match {
            let _ = request_headers.append("If-None-Match", value);
        }
        if let Some(value) = &self.if_modified_since {
            let _ = request_headers.append("If-Modified-Since", value);
        }
    }
}

/// What to do with the origin's answer to a validation request (§4.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AfterValidation {
    /// 304 about the stored response: [`freshen`] it and serve it.
    Freshen,
    /// The answer replaces the stored response: forward it, and store it if it is storable.
    /// A 304 that does not select the stored response also lands here; the proxy then repeats
    /// the request without conditions.
    UseNewResponse,
    /// 5xx, and the stored response may be served stale (§4.2.4): serve it.
    ServeStale,
    /// 5xx, and the stored response may not be served stale: forward the error.
    ForwardError,
}

/// Reads the origin's answer to a validation request for `stored` (§4.3.3).
pub fn after_validation(
    stored: &StoredResponse,
    status: u16,
    response_headers: &Headers,
) -> AfterValidation {
    match status {
        304 if not_modified_selects(stored, response_headers) => AfterValidation::Freshen,
        500..=599 if may_serve_stale(&stored.directives()) => AfterValidation::ServeStale,
        500..=599 => AfterValidation::ForwardError,
        _ => AfterValidation::UseNewResponse,
    }
}

/// True when the stored response may be served stale without the client asking (the origin is
/// unreachable or answered 5xx, §4.2.4): nothing in it forbids that.
pub fn may_serve_stale(directives: &ResponseDirectives) -> bool {
    !directives.forbids_stale() && !directives.requires_validation()
}

/// Does this 304 update the stored response? (§4.3.4, for a cache that keeps one response per
/// key.)
///
/// - If the 304 carries a strong entity tag, the stored response must have the same strong tag.
/// - Otherwise, if it carries a weak tag or a `Last-Modified`, the stored response's must
///   correspond (weak comparison of tags, equal dates).
/// - Without any validator, the stored response must have none either.
pub fn not_modified_selects(stored: &StoredResponse, not_modified: &Headers) -> bool {
    let new_etag = not_modified
        .get("etag")
        .and_then(|value| EntityTag::parse(value).ok());
    let new_last_modified = not_modified
        .get("last-modified")
        .and_then(|value| HttpDate::parse(value, stored.response_time).ok());
    let stored_etag = stored.etag();
    let stored_last_modified = stored.last_modified();
    match (&new_etag, new_last_modified) {
        (Some(tag), _) if !tag.is_weak() => stored_etag.is_some_and(|s| s.strong_eq(tag)),
        (None, None) => stored_etag.is_none() && stored_last_modified.is_none(),
        (tag, date) => {
            tag.as_ref()
                .is_some_and(|t| stored_etag.as_ref().is_some_and(|s| s.weak_eq(t)))
                || date.is_some_and(|d| stored_last_modified == Some(d))
        }
    }
}

/// Fields that describe the stored content's bytes (its coding, which part of the
/// representation it is, its digest): a 304 cannot change them without new content, so
/// [`freshen`] keeps the stored values (RFC 9111 §3.2).
pub const DESCRIBE_STORED_CONTENT: [&str; 5] = [
    "content-encoding",
    "content-range",
    "content-md5",
    "digest",
    "content-digest",
];

/// Updates the stored response from a 304 that selected it (§3.2, §4.3.4): every field the 304
/// carries replaces the stored lines of the same name, except `Content-Length`, the fields a
/// cache does not store (§3.1), and the fields that describe the stored bytes themselves
/// ([`DESCRIBE_STORED_CONTENT`]: §3.2 excepts "header fields that the cache's stored response
/// depends upon"). The exchange's times become the stored response's, so its age starts again
/// from this validation.
pub fn freshen(
    stored: &mut StoredResponse,
    not_modified: &Headers,
    request_time: HttpDate,
    response_time: HttpDate,
) {
    let mut update = fields_to_store(not_modified);
    update.remove("content-length");
    for name in DESCRIBE_STORED_CONTENT {
        update.remove(name);
    }
    let mut replaced: Vec<String> = Vec::new();
    for field in &update {
        let name = field.name().to_ascii_lowercase();
        if !replaced.contains(&name) {
            stored.headers.remove(&name);
            replaced.push(name);
        }
        stored.headers.push(field.clone());
    }
    stored.request_time = request_time;
    stored.response_time = response_time;
}

/// Evaluates the client's `If-None-Match` and `If-Modified-Since` against a stored response the
/// cache is about to serve (§4.3.2): a false condition means the cache answers 304 itself. The
/// date is compared with the stored `Last-Modified`, or its `Date`, or the time it arrived.
/// `If-Match` and `If-Unmodified-Since` are left to the origin server.
pub fn client_conditionals(
    method: &Method,
    request_headers: &Headers,
    stored: &StoredResponse,
    now: HttpDate,
) -> Evaluation {
    let mut conditions = RequestConditions::from_headers(request_headers, now);
    conditions.if_match = None;
    conditions.if_unmodified_since = None;
    conditional::evaluate(method, &conditions, Some(&stored.current_representation()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::conditional::Outcome;
    use pretty_assertions::assert_eq;

    fn at(seconds: i64) -> HttpDate {
        HttpDate::from_unix_seconds(seconds).expect("in range")
    }

    const T: i64 = 1_767_225_600;

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (name, value) in lines {
            h.append(name, value).expect("valid field");
        }
        h
    }

    fn stored(lines: &[(&str, &str)]) -> StoredResponse {
        StoredResponse::new(200, &headers(lines), &Headers::new(), at(T), at(T))
    }

    #[test]
    fn conditional_fields_come_from_the_stored_validators() {
        let response = stored(&[
            ("ETag", "W/\"v1\""),
            ("Last-Modified", "Wed, 31 Dec 2025 00:00:00 GMT"),
        ]);
        let fields = ConditionalFields::for_stored(&response);
        assert_eq!(
            fields,
            ConditionalFields {
                if_none_match: Some(b"W/\"v1\"".to_vec()),
                if_modified_since: Some(b"Wed, 31 Dec 2025 00:00:00 GMT".to_vec()),
            }
        );
        let mut request = headers(&[
            ("Host", "example.com"),
            ("If-None-Match", "\"client\""),
            ("If-Range", "\"client\""),
        ]);
        fields.apply_to(&mut request);
        assert_eq!(
            request,
            headers(&[
                ("Host", "example.com"),
                ("If-None-Match", "W/\"v1\""),
                ("If-Modified-Since", "Wed, 31 Dec 2025 00:00:00 GMT"),
            ])
        );
        let unusable = stored(&[("ETag", "v1"), ("Last-Modified", "yesterday")]);
        assert!(ConditionalFields::for_stored(&unusable).is_empty());
    }

    #[test]
    fn which_304_selects_the_stored_response_section_4_3_4() {
        let tagged = stored(&[
            ("ETag", "\"v1\""),
            ("Last-Modified", "Wed, 31 Dec 2025 00:00:00 GMT"),
        ]);
        let untagged = stored(&[]);
        // (what the row shows, stored response, the 304's fields, selected)
        type Row<'s> = (
            &'static str,
            &'s StoredResponse,
            Vec<(&'static str, &'static str)>,
            bool,
        );
        let rows: Vec<Row<'_>> = vec![
            ("same strong tag", &tagged, vec![("ETag", "\"v1\"")], true),
            (
                "different strong tag",
                &tagged,
                vec![("ETag", "\"v2\"")],
                false,
            ),
            (
                "weak tag, weakly equal",
                &tagged,
                vec![("ETag", "W/\"v1\"")],
                true,
            ),
            (
                "equal Last-Modified",
                &tagged,
                vec![("Last-Modified", "Wed, 31 Dec 2025 00:00:00 GMT")],
                true,
            ),
            (
                "different Last-Modified",
                &tagged,
                vec![("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")],
                false,
            ),
            (
                "no validator, stored has one",
                &tagged,
                vec![("Date", "Thu, 01 Jan 2026 00:00:00 GMT")],
                false,
            ),
            ("no validator on either side", &untagged, vec![], true),
            (
                "a tag for a response stored without one",
                &untagged,
                vec![("ETag", "\"v1\"")],
                false,
            ),
        ];
        for (what, stored, not_modified, expected) in rows {
            assert_eq!(
                not_modified_selects(stored, &headers(&not_modified)),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn freshening_replaces_fields_but_not_content_length_or_coding() {
        let mut response = stored(&[
            ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
            ("Cache-Control", "max-age=60"),
            ("ETag", "\"v1\""),
            ("Content-Length", "5"),
            ("Content-Encoding", "gzip"),
            ("X-Kept", "a"),
        ]);
        freshen(
            &mut response,
            &headers(&[
                ("Date", "Thu, 01 Jan 2026 00:10:00 GMT"),
                ("Cache-Control", "max-age=120"),
                ("Cache-Control", "public"),
                ("ETag", "\"v1\""),
                ("Content-Length", "0"),
                ("Content-Encoding", "br"),
                ("Connection", "close"),
                ("X-New", "b"),
            ]),
            at(T + 599),
            at(T + 600),
        );
        assert_eq!(
            response.headers,
            headers(&[
                ("Content-Length", "5"),
                ("Content-Encoding", "gzip"),
                ("X-Kept", "a"),
                ("Date", "Thu, 01 Jan 2026 00:10:00 GMT"),
                ("Cache-Control", "max-age=120"),
                ("Cache-Control", "public"),
                ("ETag", "\"v1\""),
                ("X-New", "b"),
            ])
        );
        assert_eq!(response.response_time, at(T + 600));
        assert_eq!(response.age(at(T + 610)).current_age, 11);
    }

    #[test]
    fn what_the_origin_answer_means() {
        let plain = stored(&[("ETag", "\"v1\"")]);
        let strict = stored(&[("ETag", "\"v1\""), ("Cache-Control", "must-revalidate")]);
        let etag = headers(&[("ETag", "\"v1\"")]);
        assert_eq!(
            after_validation(&plain, 304, &etag),
            AfterValidation::Freshen
        );
        assert_eq!(
            after_validation(&plain, 304, &headers(&[("ETag", "\"v2\"")])),
            AfterValidation::UseNewResponse
        );
        assert_eq!(
            after_validation(&plain, 200, &etag),
            AfterValidation::UseNewResponse
        );
        assert_eq!(
            after_validation(&plain, 404, &etag),
            AfterValidation::UseNewResponse
        );
        assert_eq!(
            after_validation(&plain, 503, &etag),
            AfterValidation::ServeStale
        );
        assert_eq!(
            after_validation(&strict, 503, &etag),
            AfterValidation::ForwardError
        );
    }

    #[test]
    fn the_cache_answers_the_clients_own_conditions() {
        let response = stored(&[
            ("ETag", "\"v1\""),
            ("Last-Modified", "Wed, 31 Dec 2025 00:00:00 GMT"),
        ]);
        let outcome = |lines: &[(&str, &str)]| {
            client_conditionals(&Method::Get, &headers(lines), &response, at(T)).outcome
        };
        assert_eq!(
            outcome(&[("If-None-Match", "W/\"v1\"")]),
            Outcome::NotModified
        );
        assert_eq!(outcome(&[("If-None-Match", "\"v0\"")]), Outcome::Proceed);
        assert_eq!(
            outcome(&[("If-Modified-Since", "Wed, 31 Dec 2025 00:00:00 GMT")]),
            Outcome::NotModified
        );
        assert_eq!(outcome(&[("If-Match", "\"other\"")]), Outcome::Proceed);
    }
}
