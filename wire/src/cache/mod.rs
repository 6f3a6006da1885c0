//! HTTP caching for a shared cache (RFC 9111), as pure functions over small types.
//!
//! A caching proxy asks this module four questions, and does all the storing and I/O itself:
//!
//! | question | answer | module |
//! | --- | --- | --- |
//! | may I store this response, and which fields? | [`storable::storability`], [`StoredResponse::new`] | [`storable`] (§3) |
//! | can I answer this request from what I stored? | [`lookup::lookup`]: fresh hit, stale but allowed, revalidate (with the conditional fields to send), miss, or 504 | [`mod@lookup`] (§4) |
//! | the origin answered my revalidation: now what? | [`validation::freshen`] on 304, [`validation::after_validation`] otherwise | [`validation`] (§4.3) |
//! | an unsafe request went through: what must I forget? | [`invalidation::invalidation_targets`] | [`invalidation`] (§4.4) |
//!
//! Underneath: [`directives`] gives `Cache-Control` its meaning (§5.2; the list elements are read
//! by [`crate::http1::fields::CacheDirective`]), [`freshness`] computes the freshness lifetime
//! (§4.2.1, §4.2.2), [`age`] the current age (§4.2.3), and [`vary`] matches secondary keys
//! (§4.1). [`prepared`] works those out once per stored response, for a cache that answers it
//! many times ([`lookup::lookup_prepared`]), and the head a hit or a 304 is served with comes
//! from [`StoredResponse::reply_head`] and [`StoredResponse::not_modified_head`];
//! [`ranges::ranged_reply`] answers `Range` from a stored complete response (206, multipart,
//! 416, `If-Range`).
//!
//! Scope: a *shared* cache (a proxy), so `private` responses are not stored, `s-maxage` wins over
//! `max-age`, and `proxy-revalidate` counts. Requests are served from stored responses to GET;
//! HEAD is answered from a stored GET, and ranges of a stored 200 are served from it. Out of
//! scope: storing partial content (206) and combining ranges (§3.3, §3.4), caching POST
//! responses, `stale-while-revalidate` and `stale-if-error` (RFC 5861), and choosing between several stored responses for one key (the proxy keeps one
//! per secondary key).
//!
//! Time is always an argument: the proxy passes `request_time` (when it sent the request),
//! `response_time` (when the response arrived) and `now`, each an [`HttpDate`], read from its
//! own clock. Nothing here reads a clock.
//!
//! The proxy's round trip, in short:
//!
//! ```
//! use wire::cache::{lookup, storability, Decision, FreshnessConfig, Storability, StoredResponse};
//! use wire::cache::validation::{after_validation, freshen, AfterValidation};
//! use wire::http1::{date::HttpDate, Headers, Method};
//!
//! let t = |s: i64| HttpDate::from_unix_seconds(1_767_225_600 + s).unwrap();
//! let mut request = Headers::new();
//! request.append("Host", "example.com").unwrap();
//! let mut response = Headers::new();
//! response.append("Date", "Thu, 01 Jan 2026 00:00:00 GMT").unwrap();
//! response.append("Cache-Control", "max-age=60").unwrap();
//! response.append("ETag", "\"v1\"").unwrap();
//!
//! // A miss went to the origin at t(0) and the 200 came back at t(1): store it?
//! assert_eq!(storability(&Method::Get, &request, 200, &response), Storability::Store);
//! let mut stored = StoredResponse::new(200, &response, &request, t(0), t(1));
//!
//! // Thirty seconds later it is a fresh hit, served with `stored.headers_for_reply(now)`.
//! let config = FreshnessConfig::default();
//! let decision = lookup(&Method::Get, &request, Some(&stored), t(31), &config);
//! assert!(matches!(decision, Decision::Fresh { age: 31, .. }));
//!
//! // Two minutes later it is stale: revalidate with If-None-Match: "v1".
//! let Decision::Revalidate { conditional, .. } = lookup(&Method::Get, &request, Some(&stored), t(120), &config) else {
//!     panic!("stale with an ETag means revalidate");
//! };
//! let mut forwarded = request.clone();
//! conditional.apply_to(&mut forwarded);
//! assert_eq!(forwarded.get("if-none-match"), Some(&b"\"v1\""[..]));
//!
//! // The origin says 304 with the same tag: freshen and serve the stored body.
//! let mut not_modified = Headers::new();
//! not_modified.append("Date", "Thu, 01 Jan 2026 00:02:00 GMT").unwrap();
//! not_modified.append("ETag", "\"v1\"").unwrap();
//! assert_eq!(after_validation(&stored, 304, &not_modified), AfterValidation::Freshen);
//! freshen(&mut stored, &not_modified, t(120), t(120));
//! assert!(lookup(&Method::Get, &request, Some(&stored), t(130), &config).is_hit());
//! ```
//!
//! [`HttpDate`]: crate::http1::date::HttpDate

pub mod age;
pub mod directives;
pub mod freshness;
pub mod invalidation;
pub mod lookup;
pub mod prepared;
pub mod ranges;
pub mod storable;
pub mod stored;
pub mod validation;
pub mod vary;

pub use directives::{MaxStale, RequestDirectives, ResponseDirectives};
pub use freshness::{FreshnessConfig, Lifetime, LifetimeSource};
pub use lookup::{lookup, lookup_prepared, Decision};
pub use prepared::{asks_nothing_of_the_cache, Prepared};
pub use storable::{storability, NotStorable, Storability};
pub use stored::StoredResponse;
pub use validation::ConditionalFields;
