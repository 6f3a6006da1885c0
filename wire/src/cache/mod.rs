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
//! (§4.1).
//!
//! Scope: a *shared* cache (a proxy), so `private` responses are not stored, `s-maxage` wins over
//! `max-age`, and `proxy-revalidate` counts. Requests are served from stored responses to GET;
//! HEAD is answered from a stored GET. Out of scope: storing partial content (206) and combining
//! ranges (§3.3, §3.4), caching POST responses, `stale-while-revalidate` and `stale-if-error`
//! (RFC 5861), and choosing between several stored responses for one key (the proxy keeps one
//! per secondary key).
//!
//! Time is always an argument: the proxy passes `request_time` (when it sent the request),
//! `response_time` (when the response arrived) and `now`, each an [`HttpDate`], read from its
//! own clock. Nothing here reads a clock.
//!
//! [`HttpDate`]: crate::http1::date::HttpDate

pub mod age;
pub mod directives;
pub mod freshness;
pub mod invalidation;
pub mod lookup;
pub mod storable;
pub mod stored;
pub mod validation;
pub mod vary;

pub use directives::{MaxStale, RequestDirectives, ResponseDirectives};
pub use freshness::{FreshnessConfig, Lifetime, LifetimeSource};
pub use lookup::{lookup, Decision};
pub use storable::{storability, NotStorable, Storability};
pub use stored::StoredResponse;
pub use validation::ConditionalFields;
