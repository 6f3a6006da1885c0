//! A stored response as the cache reasons about it: its status, its header section (after the
//! fields a cache must not keep are removed), the request fields its `Vary` nominates, and the
//! two times of the exchange that brought it. The body is the proxy's business.
//!
//! Everything the other modules need is read from the stored header section on demand
//! ([`StoredResponse::directives`], [`StoredResponse::freshness_lifetime`],
//! [`StoredResponse::age`]), so the proxy persists only these five fields.

use super::age::{self, AgeCalculation};
use super::directives::ResponseDirectives;
use super::freshness::{self, ExpiresField, FreshnessConfig, FreshnessInputs, Lifetime};
use super::storable::fields_to_store;
use super::vary;
use crate::http1::conditional::{CurrentRepresentation, EntityTag, NOT_MODIFIED_FIELDS};
use crate::http1::date::HttpDate;
use crate::http1::fields::Headers;
use crate::http1::response::ResponseHead;
use crate::http1::status::StatusCode;

/// A response held by the cache, without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The status code.
    pub status: u16,
    /// The header section as stored (RFC 9111 §3.1 exclusions already removed).
    pub headers: Headers,
    /// The fields of the original request that the response's `Vary` names, as they were sent
    /// (the secondary cache key, §4.1).
    pub varying_request_fields: Headers,
    /// When the cache sent the request that produced this response (§4.2.3 `request_time`).
    pub request_time: HttpDate,
    /// When the response arrived (§4.2.3 `response_time`).
    pub response_time: HttpDate,
}

impl StoredResponse {
    /// Builds what to store from a response the proxy has decided to store
    /// ([`super::storable::storability`]): removes the fields §3.1 keeps out of a cache, and
    /// records the request fields named by `Vary`.
    pub fn new(
        status: u16,
        response_headers: &Headers,
        request_headers: &Headers,
        request_time: HttpDate,
        response_time: HttpDate,
    ) -> StoredResponse {
        StoredResponse {
            status,
            headers: fields_to_store(response_headers),
            varying_request_fields: vary::nominated_fields(response_headers, request_headers),
            request_time,
            response_time,
        }
    }

    /// The `Cache-Control` directives of the stored response.
    pub fn directives(&self) -> ResponseDirectives {
        ResponseDirectives::from_headers(&self.headers)
    }

    /// The `Date` field, if valid.
    pub fn date(&self) -> Option<HttpDate> {
        self.date_field("date")
    }

    /// The `Last-Modified` field, if valid.
    pub fn last_modified(&self) -> Option<HttpDate> {
        self.date_field("last-modified")
    }

    /// The `Expires` field: absent, invalid (already expired), or a date. Only the first line
    /// counts (§4.2.1).
    pub fn expires(&self) -> ExpiresField {
        match self.headers.get("expires") {
            None => ExpiresField::Absent,
            Some(value) => match HttpDate::parse(value, self.response_time) {
                Ok(date) => ExpiresField::At(date),
                Err(_) => ExpiresField::Invalid,
            },
        }
    }

    /// The `ETag` field, if it is a valid entity tag.
    pub fn etag(&self) -> Option<EntityTag> {
        EntityTag::parse(self.headers.get("etag")?).ok()
    }

    /// The `Age` field the response arrived with: `None` without one. An `Age` that is not one
    /// line of `delta-seconds` (a list, several lines, a sign, a fraction, parameters) is
    /// treated as the largest age, 2^31 s, which makes the response stale: RFC 9111 §4.2.1 has
    /// a cache treat unreadable freshness information as stale rather than guess, and an `Age`
    /// repeated or mangled on the way says some cache could not count.
    pub fn age_value(&self) -> Option<u64> {
        let value = self.headers.get("age")?;
        let single = self.headers.count("age") == 1
            && !value.trim_ascii().is_empty()
            && value.trim_ascii().iter().all(u8::is_ascii_digit);
        if single {
            age::parse_age(value)
        } else {
            Some(1 << 31)
        }
    }

    /// The freshness lifetime (§4.2.1) and the rule that gave it.
    pub fn freshness_lifetime(&self, config: &FreshnessConfig) -> Lifetime {
        let directives = self.directives();
        freshness::freshness_lifetime(
            &FreshnessInputs {
                status: self.status,
                directives: &directives,
                date: self.date(),
                expires: self.expires(),
                last_modified: self.last_modified(),
                response_time: self.response_time,
            },
            config,
        )
    }

    /// The current age at `now` (§4.2.3), with every step of the calculation.
    pub fn age(&self, now: HttpDate) -> AgeCalculation {
        age::current_age(
            self.date(),
            self.age_value(),
            self.request_time,
            self.response_time,
            now,
        )
    }

    /// The validators of the stored response, for evaluating a client's own conditional
    /// request against it (RFC 9111 §4.3.2): its `ETag`, and its `Last-Modified`, or failing
    /// that its `Date`, or failing that the time it arrived.
    pub fn current_representation(&self) -> CurrentRepresentation {
        CurrentRepresentation {
            etag: self.etag(),
            last_modified: Some(
                self.last_modified()
                    .or_else(|| self.date())
                    .unwrap_or(self.response_time),
            ),
        }
    }

    /// The header section to send when serving this response at `now`: the stored fields with
    /// `Age` set to the current age (RFC 9111 §5.1).
    pub fn headers_for_reply(&self, now: HttpDate) -> Headers {
        self.headers_with_age(self.age(now).current_age)
    }

    /// The stored fields with `Age: age` in place of any `Age` they had.
    fn headers_with_age(&self, age: u64) -> Headers {
        let mut headers = self.headers.clone();
        // A decimal number is always a valid field value.
        let _ = headers.insert("Age", age.to_string());
        headers
    }

    /// The head to serve this response with when it is `age` seconds old (the current age,
    /// [`StoredResponse::age`] or [`Prepared::current_age`]) and its stored body is `body_len`
    /// bytes: the stored status (200 if it is not a valid code), the stored fields with `Age`
    /// (§5.1), and the framing of a complete body, `Content-Length` in place of any
    /// `Content-Length`, `Transfer-Encoding` or `Trailer` it arrived with (none for a status
    /// that has no content, RFC 9110 §8.6).
    ///
    /// [`Prepared::current_age`]: super::prepared::Prepared::current_age
    pub fn reply_head(&self, age: u64, body_len: u64) -> ResponseHead {
        let status = StatusCode::new(self.status).unwrap_or(StatusCode::OK);
        let mut head = ResponseHead::new(status);
        head.headers = self.headers_with_age(age);
        head.headers.remove("content-length");
        head.headers.remove("transfer-encoding");
        head.headers.remove("trailer");
        if !matches!(self.status, 100..=199 | 204 | 304) {
            // A decimal number is always a valid field value.
            let _ = head.headers.insert("Content-Length", body_len.to_string());
        }
        head
    }

    /// The 304 a cache answers with when the client's own condition is false (§4.3.2): the
    /// fields a 200 would have carried that a 304 carries too (RFC 9110 §15.4.5:
    /// `Cache-Control`, `Content-Location`, `Date`, `ETag`, `Expires`, `Vary`), `Last-Modified`
    /// and `Age`, in their stored order.
    pub fn not_modified_head(&self, age: u64) -> ResponseHead {
        let mut head = ResponseHead::new(StatusCode::NOT_MODIFIED);
        for field in &self.headers_with_age(age) {
            if NOT_MODIFIED_FIELDS.iter().any(|name| field.is(name))
                || field.is("last-modified")
                || field.is("age")
            {
                head.headers.push(field.clone());
            }
        }
        head
    }

    fn date_field(&self, name: &str) -> Option<HttpDate> {
        HttpDate::parse(self.headers.get(name)?, self.response_time).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::freshness::LifetimeSource;
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

    #[test]
    fn reads_what_freshness_and_age_need() {
        let response = headers(&[
            ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
            ("Expires", "Thu, 01 Jan 2026 01:00:00 GMT"),
            ("Last-Modified", "Wed, 31 Dec 2025 00:00:00 GMT"),
            ("ETag", "\"v1\""),
            ("Age", "5"),
            ("Vary", "Accept-Encoding"),
        ]);
        let request = headers(&[("Accept-Encoding", "gzip"), ("User-Agent", "x")]);
        let stored = StoredResponse::new(200, &response, &request, at(T), at(T + 1));
        assert_eq!(stored.date(), Some(at(T)));
        assert_eq!(stored.expires(), ExpiresField::At(at(T + 3600)));
        assert_eq!(stored.last_modified(), Some(at(T - 86_400)));
        assert_eq!(stored.etag(), EntityTag::strong("v1").ok());
        assert_eq!(stored.age_value(), Some(5));
        assert_eq!(
            stored.freshness_lifetime(&FreshnessConfig::default()),
            Lifetime {
                seconds: 3600,
                source: LifetimeSource::Expires
            }
        );
        assert_eq!(stored.age(at(T + 11)).current_age, 16);
        assert_eq!(
            stored.varying_request_fields,
            headers(&[("Accept-Encoding", "gzip")])
        );
        let reply = stored.headers_for_reply(at(T + 11));
        assert_eq!(reply.get("age"), Some(&b"16"[..]));
        assert_eq!(reply.count("age"), 1);
    }

    #[test]
    fn the_reply_heads_a_cache_serves() {
        let stored = StoredResponse::new(
            200,
            &headers(&[
                ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
                ("Transfer-Encoding", "chunked"),
                ("Trailer", "X-Sum"),
                ("Age", "3"),
                ("ETag", "\"v1\""),
                ("Content-Type", "text/plain"),
                ("Last-Modified", "Wed, 31 Dec 2025 00:00:00 GMT"),
                ("Cache-Control", "max-age=60"),
            ]),
            &Headers::new(),
            at(T),
            at(T),
        );
        assert_eq!(
            stored.reply_head(7, 1024).to_string(),
            "HTTP/1.1 200 OK\r\n\
             Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n\
             Age: 7\r\n\
             ETag: \"v1\"\r\n\
             Content-Type: text/plain\r\n\
             Last-Modified: Wed, 31 Dec 2025 00:00:00 GMT\r\n\
             Cache-Control: max-age=60\r\n\
             Content-Length: 1024\r\n\
             \r\n"
        );
        assert_eq!(
            stored.not_modified_head(7).to_string(),
            "HTTP/1.1 304 Not Modified\r\n\
             Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n\
             Age: 7\r\n\
             ETag: \"v1\"\r\n\
             Last-Modified: Wed, 31 Dec 2025 00:00:00 GMT\r\n\
             Cache-Control: max-age=60\r\n\
             \r\n"
        );
        let no_content = StoredResponse::new(204, &Headers::new(), &Headers::new(), at(T), at(T));
        assert_eq!(
            no_content.reply_head(0, 0).to_string(),
            "HTTP/1.1 204 No Content\r\nAge: 0\r\n\r\n"
        );
    }

    #[test]
    fn an_age_that_is_not_one_number_makes_the_response_stale() {
        let with_age = |lines: &[(&str, &str)]| {
            StoredResponse::new(200, &headers(lines), &Headers::new(), at(T), at(T)).age_value()
        };
        assert_eq!(with_age(&[]), None);
        assert_eq!(with_age(&[("Age", "120")]), Some(120));
        for bad in [
            "abc",
            "-7200",
            "7200.0",
            "0, 0",
            "0,7200",
            "7200;foo=bar",
            "",
        ] {
            assert_eq!(with_age(&[("Age", bad)]), Some(1 << 31), "Age: {bad}");
        }
        assert_eq!(with_age(&[("Age", "0"), ("Age", "0")]), Some(1 << 31));
    }

    #[test]
    fn an_unreadable_expires_is_invalid_not_absent() {
        let stored = StoredResponse::new(
            200,
            &headers(&[("Expires", "0")]),
            &Headers::new(),
            at(T),
            at(T),
        );
        assert_eq!(stored.expires(), ExpiresField::Invalid);
    }

    #[test]
    fn client_conditionals_compare_against_date_when_there_is_no_last_modified() {
        let stored = StoredResponse::new(
            200,
            &headers(&[("Date", "Thu, 01 Jan 2026 00:00:00 GMT")]),
            &Headers::new(),
            at(T),
            at(T + 3),
        );
        assert_eq!(stored.current_representation().last_modified, Some(at(T)));
        let undated = StoredResponse::new(200, &Headers::new(), &Headers::new(), at(T), at(T + 3));
        assert_eq!(
            undated.current_representation().last_modified,
            Some(at(T + 3))
        );
    }
}
