//! What [`lookup`](super::lookup()) needs to know about a stored response, worked out once.
//!
//! A cache answers the same stored response many times between two changes to it (storing,
//! freshening after a 304). Everything the decision reads from the stored header section stays
//! the same in between: the freshness lifetime (§4.2.1), the `corrected_initial_age` (§4.2.3),
//! whether the response must always be validated (`no-cache`, §5.2.2.4) or may never be served
//! stale (§4.2.4), whether it has a secondary key (`Vary`, §4.1). [`Prepared`] keeps those, so
//! that deciding about a hit is a few comparisons and one addition:
//!
//! ```text
//! current_age = corrected_initial_age + max(0, now - response_time)      (§4.2.3)
//! fresh       = freshness_lifetime > current_age                         (§4.2)
//! ```
//!
//! [`lookup`](super::lookup()) prepares on the fly; a cache that keeps a [`Prepared`] beside each
//! stored response (and prepares again whenever the stored response changes) calls
//! [`lookup_prepared`](super::lookup::lookup_prepared) and gets the same decision.
//!
//! [`asks_nothing_of_the_cache`] recognises the request for which the decision depends on
//! nothing else: no directives, no conditions, no range.

use super::freshness::{FreshnessConfig, Lifetime};
use super::stored::StoredResponse;
use crate::http1::date::HttpDate;
use crate::http1::fields::Headers;

/// The inputs of the cache's decision that come from a stored response, computed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    /// The freshness lifetime and the rule that gave it (§4.2.1).
    pub lifetime: Lifetime,
    /// `corrected_initial_age` (§4.2.3): the age when the response arrived.
    pub corrected_initial_age: u64,
    /// When the response arrived; the resident time counts from here.
    pub response_time: HttpDate,
    /// An unqualified `no-cache` (§5.2.2.4): every reuse needs validation.
    pub requires_validation: bool,
    /// `must-revalidate`, `proxy-revalidate` or `s-maxage` (§4.2.4).
    pub forbids_stale: bool,
    /// The response has a `Vary` field, so a request must match its secondary key (§4.1).
    pub varies: bool,
}

impl Prepared {
    /// Works out the inputs for `stored`. Prepare again after the stored response changes.
    pub fn new(stored: &StoredResponse, config: &FreshnessConfig) -> Prepared {
        let directives = stored.directives();
        Prepared {
            lifetime: stored.freshness_lifetime(config),
            corrected_initial_age: stored.age(stored.response_time).corrected_initial_age,
            response_time: stored.response_time,
            requires_validation: directives.requires_validation(),
            forbids_stale: directives.forbids_stale(),
            varies: stored.headers.contains("vary"),
        }
    }

    /// The current age at `now` (§4.2.3); a clock before the arrival counts as no resident time.
    pub fn current_age(&self, now: HttpDate) -> u64 {
        let resident = u64::try_from(now.seconds_since(self.response_time)).unwrap_or(0);
        self.corrected_initial_age.saturating_add(resident)
    }
}

/// True for a request that asks nothing of the cache: no `Cache-Control`, no `Pragma`, no
/// conditions (`If-*`, RFC 9110 §13.1) and no `Range` (RFC 9110 §14.2). For such a request
/// [`lookup`](super::lookup()) depends only on the stored response and the clock, and a fresh
/// hit is answered with the stored response whole, as it is: the case a cache can make fast.
/// One pass over the names, no allocation.
pub fn asks_nothing_of_the_cache(request_headers: &Headers) -> bool {
    request_headers.iter().all(|field| {
        let name = field.name().as_bytes();
        !(field.is("cache-control")
            || field.is("pragma")
            || field.is("range")
            || (name.len() > 3 && name[..3].eq_ignore_ascii_case(b"if-")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::lookup::{lookup, lookup_prepared};
    use crate::http1::method::Method;
    use proptest::prelude::*;

    const T: i64 = 1_767_225_600;

    fn at(seconds: i64) -> HttpDate {
        HttpDate::from_unix_seconds(T + seconds).expect("in range")
    }

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (name, value) in lines {
            h.append(name, value).expect("valid field");
        }
        h
    }

    #[test]
    fn what_asks_something_of_the_cache() {
        assert!(asks_nothing_of_the_cache(&headers(&[
            ("Host", "a.test"),
            ("Accept", "*/*"),
            ("If", "a field named If is no condition"),
        ])));
        for name in [
            "Cache-Control",
            "pragma",
            "If-None-Match",
            "IF-MODIFIED-SINCE",
            "If-Range",
            "Range",
        ] {
            assert!(
                !asks_nothing_of_the_cache(&headers(&[("Host", "a.test"), (name, "x")])),
                "{name}"
            );
        }
    }

    /// The response fields the property test draws from: each changes the lifetime, the age or
    /// one of the flags.
    fn response_fields() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
        let field = prop::sample::select(vec![
            ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
            ("Date", "Wed, 31 Dec 2025 23:59:00 GMT"),
            ("Date", "Thu, 01 Jan 2026 00:00:30 GMT"),
            ("Cache-Control", "max-age=60"),
            ("Cache-Control", "s-maxage=30, max-age=600"),
            ("Cache-Control", "no-cache"),
            ("Cache-Control", "must-revalidate"),
            ("Cache-Control", "max-age=soon"),
            ("Age", "50"),
            ("Age", "1, 2"),
            ("Expires", "Thu, 01 Jan 2026 00:00:20 GMT"),
            ("Expires", "0"),
            ("Last-Modified", "Mon, 01 Dec 2025 00:00:00 GMT"),
            ("ETag", "\"v1\""),
            ("Vary", "Accept"),
        ]);
        prop::collection::vec(field, 0..6)
    }

    fn request_fields() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
        let field = prop::sample::select(vec![
            ("Accept", "text/html"),
            ("Cache-Control", "max-age=10"),
            ("Cache-Control", "max-stale"),
            ("Cache-Control", "min-fresh=20"),
            ("Cache-Control", "only-if-cached"),
            ("Cache-Control", "no-cache"),
            ("Pragma", "no-cache"),
        ]);
        prop::collection::vec(field, 0..3)
    }

    proptest! {
        /// Prepared once, the decision is the one `lookup` makes from the stored response, at
        /// every moment, for every request.
        #[test]
        fn lookup_prepared_decides_as_lookup(
            response in response_fields(),
            request in request_fields(),
            sent in -5i64..5,
            arrived in 0i64..5,
            later in -10i64..200_000,
        ) {
            let config = FreshnessConfig::default();
            let stored = StoredResponse::new(
                200,
                &headers(&response),
                &headers(&[("Accept", "text/html")]),
                at(sent.min(arrived)),
                at(arrived),
            );
            let prepared = Prepared::new(&stored, &config);
            let now = at(arrived + later);
            prop_assert_eq!(prepared.current_age(now), stored.age(now).current_age);
            let request = headers(&request);
            prop_assert_eq!(
                lookup_prepared(&Method::Get, &request, Some((&stored, &prepared)), now),
                lookup(&Method::Get, &request, Some(&stored), now, &config)
            );
        }
    }
}
