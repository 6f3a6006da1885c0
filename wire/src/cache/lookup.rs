//! Can a request be answered from the cache? (RFC 9111 §4.)
//!
//! [`lookup`] takes the request and the response stored under its key (the proxy finds that by
//! URI) and answers with a [`Decision`], checking in this order:
//!
//! 1. Only GET and HEAD are answered from the cache (a stored GET response answers HEAD too).
//!    Anything else is a miss; unsafe methods also invalidate ([`super::invalidation`]).
//! 2. Nothing stored: a miss.
//! 3. The secondary key (§4.1): `Vary: *` or a nominated field that differs is a miss.
//! 4. The request's `no-cache` (or `Pragma: no-cache` without `Cache-Control`, RFC 7234 §5.4)
//!    and the response's unqualified `no-cache` (§5.2.2.4) require validation.
//! 5. The request's `max-age` (§5.2.1.1): older than that requires validation.
//! 6. The request's `min-fresh` (§5.2.1.3): fresh for less than that requires validation.
//! 7. Fresh (§4.2: current age below the freshness lifetime): serve it, with `Age`.
//! 8. Stale, and the request's `max-stale` covers the staleness (§5.2.1.2): serve it, unless
//!    the response forbids serving it stale (`must-revalidate`, `proxy-revalidate`, `s-maxage`,
//!    §4.2.4), which requires validation.
//! 9. Otherwise stale: validation.
//!
//! Validation means a conditional request built from the stored validators
//! ([`ConditionalFields`]); a stored response without validators cannot be validated, so that
//! is a miss. Finally, with `only-if-cached` (§5.2.1.7) anything but a hit becomes 504 Gateway
//! Timeout.

use std::fmt;

use super::directives::{MaxStale, RequestDirectives};
use super::freshness::{FreshnessConfig, Lifetime};
use super::prepared::Prepared;
use super::stored::StoredResponse;
use super::validation::ConditionalFields;
use super::vary::{self, VaryMatch};
use crate::http1::date::HttpDate;
use crate::http1::fields::Headers;
use crate::http1::method::Method;

/// What the cache does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Serve the stored response: it is fresh. `age` goes in the `Age` field.
    Fresh {
        /// Current age in seconds.
        age: u64,
        /// The freshness lifetime and its source.
        lifetime: Lifetime,
    },
    /// Serve the stored response although it is stale: the client's `max-stale` allows it.
    StaleAllowed {
        /// Current age in seconds.
        age: u64,
        /// The freshness lifetime and its source.
        lifetime: Lifetime,
        /// Seconds past the lifetime.
        staleness: u64,
    },
    /// Send the request on with these conditional fields; on 304 serve the stored response
    /// (freshened), on anything else use the new response.
    Revalidate {
        /// `If-None-Match` / `If-Modified-Since` to put on the forwarded request.
        conditional: ConditionalFields,
        /// Why the stored response cannot be served as it is.
        because: RevalidateBecause,
    },
    /// Send the request on unconditionally.
    Miss(MissBecause),
    /// 504 Gateway Timeout: the client said `only-if-cached` and this is what would otherwise
    /// have happened.
    GatewayTimeout(Box<Decision>),
}

impl Decision {
    /// True when the stored response is served without contacting the origin.
    pub fn is_hit(&self) -> bool {
        matches!(self, Decision::Fresh { .. } | Decision::StaleAllowed { .. })
    }
}

/// Why a stored response must be validated before use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevalidateBecause {
    /// The request said `Cache-Control: no-cache` (§5.2.1.4).
    RequestNoCache,
    /// The request said `Pragma: no-cache` and had no `Cache-Control` (RFC 7234 §5.4).
    RequestPragmaNoCache,
    /// The response said `no-cache` (§5.2.2.4).
    ResponseNoCache,
    /// The stored response is older than the request's `max-age` allows (§5.2.1.1).
    RequestMaxAge {
        /// The request's limit.
        max_age: u64,
        /// The response's current age.
        age: u64,
    },
    /// The stored response will not stay fresh as long as the request's `min-fresh` (§5.2.1.3).
    RequestMinFresh {
        /// The request's minimum.
        min_fresh: u64,
        /// Seconds of freshness left (0 when stale).
        remaining: u64,
    },
    /// The stored response is stale (§4.2).
    Stale {
        /// Seconds past its freshness lifetime.
        staleness: u64,
    },
    /// Stale, the client's `max-stale` would allow it, but the response forbids serving it stale
    /// (`must-revalidate`, `proxy-revalidate` or `s-maxage`, §4.2.4).
    StaleForbidden {
        /// Seconds past its freshness lifetime.
        staleness: u64,
    },
}

impl fmt::Display for RevalidateBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevalidateBecause::RequestNoCache => {
                f.write_str("the request said Cache-Control: no-cache (RFC 9111 §5.2.1.4)")
            }
            RevalidateBecause::RequestPragmaNoCache => f.write_str(
                "the request said Pragma: no-cache and had no Cache-Control (RFC 7234 §5.4)",
            ),
            RevalidateBecause::ResponseNoCache => {
                f.write_str("the stored response said Cache-Control: no-cache (RFC 9111 §5.2.2.4)")
            }
            RevalidateBecause::RequestMaxAge { max_age, age } => write!(
                f,
                "the stored response is {age} s old and the request allows at most max-age={max_age} (RFC 9111 §5.2.1.1)"
            ),
            RevalidateBecause::RequestMinFresh { min_fresh, remaining } => write!(
                f,
                "the stored response stays fresh {remaining} s more and the request wants min-fresh={min_fresh} (RFC 9111 §5.2.1.3)"
            ),
            RevalidateBecause::Stale { staleness } => {
                write!(f, "the stored response has been stale for {staleness} s (RFC 9111 §4.2)")
            }
            RevalidateBecause::StaleForbidden { staleness } => write!(
                f,
                "the stored response has been stale for {staleness} s and forbids serving it stale (RFC 9111 §4.2.4)"
            ),
        }
    }
}

/// Why the cache has nothing it can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissBecause {
    /// Only GET and HEAD are answered from the cache.
    MethodNotServed(String),
    /// Nothing is stored under this key.
    NothingStored,
    /// The secondary key does not match (§4.1).
    Vary(VaryMatch),
    /// The stored response needs validation but has neither `ETag` nor `Last-Modified`.
    NoValidators(RevalidateBecause),
}

impl fmt::Display for MissBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissBecause::MethodNotServed(method) => {
                write!(f, "{method} requests are not answered from the cache")
            }
            MissBecause::NothingStored => f.write_str("nothing is stored for this URI"),
            MissBecause::Vary(VaryMatch::Star) => {
                f.write_str("the stored response has Vary: *, which never matches (RFC 9111 §4.1)")
            }
            MissBecause::Vary(VaryMatch::Differs(name)) => write!(
                f,
                "the request's {name} differs from the one the stored response was for (RFC 9111 §4.1)"
            ),
            MissBecause::Vary(VaryMatch::Match) => f.write_str("the secondary key matches"),
            MissBecause::NoValidators(because) => write!(
                f,
                "{because}, and it has no ETag or Last-Modified to validate it with"
            ),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Fresh { age, lifetime } => {
                write!(f, "fresh hit: {age} s old, fresh for {lifetime}")
            }
            Decision::StaleAllowed { age, staleness, .. } => write!(
                f,
                "stale hit: {age} s old, stale for {staleness} s, which the request's max-stale allows (RFC 9111 §5.2.1.2)"
            ),
            Decision::Revalidate { because, .. } => write!(f, "revalidate: {because}"),
            Decision::Miss(because) => write!(f, "miss: {because}"),
            Decision::GatewayTimeout(instead) => write!(
                f,
                "504: the request said only-if-cached (RFC 9111 §5.2.1.7), and otherwise it would be a {instead}"
            ),
        }
    }
}

/// Decides how to answer `method` with `request_headers` from `stored` (the response stored
/// under the request's URI, if any) at `now`, following the steps in the module documentation.
pub fn lookup(
    method: &Method,
    request_headers: &Headers,
    stored: Option<&StoredResponse>,
    now: HttpDate,
    config: &FreshnessConfig,
) -> Decision {
    let prepared = stored.map(|stored| (stored, Prepared::new(stored, config)));
    lookup_prepared(
        method,
        request_headers,
        prepared
            .as_ref()
            .map(|(stored, prepared)| (*stored, prepared)),
        now,
    )
}

/// [`lookup`] with what it reads from the stored response worked out beforehand
/// ([`Prepared::new`] for the same stored response and configuration): the same decision. For a
/// request that [asks nothing of the cache](super::prepared::asks_nothing_of_the_cache) and a
/// stored response without `Vary`, a fresh hit costs a pass over the request's field names and
/// no allocation.
pub fn lookup_prepared(
    method: &Method,
    request_headers: &Headers,
    stored: Option<(&StoredResponse, &Prepared)>,
    now: HttpDate,
) -> Decision {
    let request = RequestDirectives::from_headers(request_headers);
    let decision = decide(method, &request, request_headers, stored, now);
    if request.only_if_cached && !decision.is_hit() {
        Decision::GatewayTimeout(Box::new(decision))
    } else {
        decision
    }
}

fn decide(
    method: &Method,
    request: &RequestDirectives,
    request_headers: &Headers,
    stored: Option<(&StoredResponse, &Prepared)>,
    now: HttpDate,
) -> Decision {
    if !matches!(method, Method::Get | Method::Head) {
        return Decision::Miss(MissBecause::MethodNotServed(method.to_string()));
    }
    let Some((stored, prepared)) = stored else {
        return Decision::Miss(MissBecause::NothingStored);
    };
    if prepared.varies {
        match vary::matches(
            &stored.headers,
            &stored.varying_request_fields,
            request_headers,
        ) {
            VaryMatch::Match => {}
            mismatch => return Decision::Miss(MissBecause::Vary(mismatch)),
        }
    }

    let lifetime = prepared.lifetime;
    let age = prepared.current_age(now);
    let remaining = lifetime.seconds.saturating_sub(age);
    let staleness = age.saturating_sub(lifetime.seconds);
    let fresh = lifetime.seconds > age;

    let revalidate = |because| {
        let conditional = ConditionalFields::for_stored(stored);
        if conditional.is_empty() {
            Decision::Miss(MissBecause::NoValidators(because))
        } else {
            Decision::Revalidate {
                conditional,
                because,
            }
        }
    };

    if request.no_cache {
        return revalidate(RevalidateBecause::RequestNoCache);
    }
    if request.pragma_no_cache {
        return revalidate(RevalidateBecause::RequestPragmaNoCache);
    }
    if prepared.requires_validation {
        return revalidate(RevalidateBecause::ResponseNoCache);
    }
    if let Some(max_age) = request.max_age {
        if age > max_age {
            return revalidate(RevalidateBecause::RequestMaxAge { max_age, age });
        }
    }
    if let Some(min_fresh) = request.min_fresh {
        if remaining < min_fresh {
            return revalidate(RevalidateBecause::RequestMinFresh {
                min_fresh,
                remaining,
            });
        }
    }
    if fresh {
        return Decision::Fresh { age, lifetime };
    }
    let client_accepts = match request.max_stale {
        Some(MaxStale::Any) => true,
        Some(MaxStale::Seconds(limit)) => staleness <= limit,
        None => false,
    };
    match (client_accepts, prepared.forbids_stale) {
        (true, false) => Decision::StaleAllowed {
            age,
            lifetime,
            staleness,
        },
        (true, true) => revalidate(RevalidateBecause::StaleForbidden { staleness }),
        (false, _) => revalidate(RevalidateBecause::Stale { staleness }),
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

    const T: i64 = 1_767_225_600; // when the response was generated and stored

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (name, value) in lines {
            h.append(name, value).expect("valid field");
        }
        h
    }

    /// A response stored at T with `Date: T`, the given fields, and an ETag unless told not to.
    fn stored(fields: &[(&str, &str)]) -> StoredResponse {
        let mut lines = vec![("Date", "Thu, 01 Jan 2026 00:00:00 GMT")];
        lines.extend_from_slice(fields);
        StoredResponse::new(
            200,
            &headers(&lines),
            &headers(&[("Accept-Encoding", "gzip")]),
            at(T),
            at(T),
        )
    }

    fn etag() -> ConditionalFields {
        ConditionalFields {
            if_none_match: Some(b"\"v1\"".to_vec()),
            if_modified_since: None,
        }
    }

    fn max_age(seconds: u64) -> Lifetime {
        Lifetime {
            seconds,
            source: LifetimeSource::MaxAge,
        }
    }

    struct Row {
        rule: &'static str,
        method: Method,
        request: Vec<(&'static str, &'static str)>,
        stored: Option<StoredResponse>,
        elapsed: i64,
        expected: Decision,
    }

    fn row(
        rule: &'static str,
        request: Vec<(&'static str, &'static str)>,
        response: &[(&str, &str)],
        elapsed: i64,
        expected: Decision,
    ) -> Row {
        Row {
            rule,
            method: Method::Get,
            request,
            stored: Some(stored(response)),
            elapsed,
            expected,
        }
    }

    #[test]
    fn lookup_decisions_of_rfc_9111_section_4() {
        use RevalidateBecause::*;
        let fresh_60 = [("Cache-Control", "max-age=60"), ("ETag", "\"v1\"")];
        let rows = vec![
            row(
                "§4.2: fresh while age < lifetime",
                vec![],
                &fresh_60,
                59,
                Decision::Fresh {
                    age: 59,
                    lifetime: max_age(60),
                },
            ),
            Row {
                method: Method::Head,
                ..row(
                    "§4: a stored GET answers HEAD",
                    vec![],
                    &fresh_60,
                    10,
                    Decision::Fresh {
                        age: 10,
                        lifetime: max_age(60),
                    },
                )
            },
            row(
                "§4.2: stale once age reaches the lifetime",
                vec![],
                &fresh_60,
                60,
                Decision::Revalidate {
                    conditional: etag(),
                    because: Stale { staleness: 0 },
                },
            ),
            row(
                "§4.3.1: validate with If-Modified-Since from Last-Modified",
                vec![],
                &[
                    ("Cache-Control", "max-age=60"),
                    ("Last-Modified", "Wed, 31 Dec 2025 00:00:00 GMT"),
                ],
                100,
                Decision::Revalidate {
                    conditional: ConditionalFields {
                        if_none_match: None,
                        if_modified_since: Some(b"Wed, 31 Dec 2025 00:00:00 GMT".to_vec()),
                    },
                    because: Stale { staleness: 40 },
                },
            ),
            row(
                "§4.3.1: no validator, so a stale response is a miss",
                vec![],
                &[("Cache-Control", "max-age=60")],
                100,
                Decision::Miss(MissBecause::NoValidators(Stale { staleness: 40 })),
            ),
            row(
                "§5.2.1.4: request no-cache",
                vec![("Cache-Control", "no-cache")],
                &fresh_60,
                1,
                Decision::Revalidate {
                    conditional: etag(),
                    because: RequestNoCache,
                },
            ),
            row(
                "RFC 7234 §5.4: Pragma: no-cache without Cache-Control",
                vec![("Pragma", "no-cache")],
                &fresh_60,
                1,
                Decision::Revalidate {
                    conditional: etag(),
                    because: RequestPragmaNoCache,
                },
            ),
            row(
                "RFC 7234 §5.4: Pragma ignored beside Cache-Control",
                vec![("Pragma", "no-cache"), ("Cache-Control", "max-stale=5")],
                &fresh_60,
                1,
                Decision::Fresh {
                    age: 1,
                    lifetime: max_age(60),
                },
            ),
            row(
                "§5.2.2.4: response no-cache, even when fresh",
                vec![],
                &[
                    ("Cache-Control", "max-age=60, no-cache"),
                    ("ETag", "\"v1\""),
                ],
                1,
                Decision::Revalidate {
                    conditional: etag(),
                    because: ResponseNoCache,
                },
            ),
            row(
                "§5.2.2.4: no-cache=\"field\" does not force validation",
                vec![],
                &[("Cache-Control", "max-age=60, no-cache=\"Set-Cookie\"")],
                1,
                Decision::Fresh {
                    age: 1,
                    lifetime: max_age(60),
                },
            ),
            row(
                "§5.2.1.1: request max-age=0",
                vec![("Cache-Control", "max-age=0")],
                &fresh_60,
                1,
                Decision::Revalidate {
                    conditional: etag(),
                    because: RequestMaxAge { max_age: 0, age: 1 },
                },
            ),
            row(
                "§5.2.1.1: age equal to max-age is acceptable",
                vec![("Cache-Control", "max-age=30")],
                &fresh_60,
                30,
                Decision::Fresh {
                    age: 30,
                    lifetime: max_age(60),
                },
            ),
            row(
                "§5.2.1.3: min-fresh not met",
                vec![("Cache-Control", "min-fresh=20")],
                &fresh_60,
                50,
                Decision::Revalidate {
                    conditional: etag(),
                    because: RequestMinFresh {
                        min_fresh: 20,
                        remaining: 10,
                    },
                },
            ),
            row(
                "§5.2.1.3: min-fresh met",
                vec![("Cache-Control", "min-fresh=10")],
                &fresh_60,
                50,
                Decision::Fresh {
                    age: 50,
                    lifetime: max_age(60),
                },
            ),
            row(
                "§5.2.1.2: max-stale covers the staleness",
                vec![("Cache-Control", "max-stale=30")],
                &fresh_60,
                90,
                Decision::StaleAllowed {
                    age: 90,
                    lifetime: max_age(60),
                    staleness: 30,
                },
            ),
            row(
                "§5.2.1.2: max-stale too small",
                vec![("Cache-Control", "max-stale=29")],
                &fresh_60,
                90,
                Decision::Revalidate {
                    conditional: etag(),
                    because: Stale { staleness: 30 },
                },
            ),
            row(
                "§5.2.1.2: max-stale without a value accepts any staleness",
                vec![("Cache-Control", "max-stale")],
                &fresh_60,
                100_000,
                Decision::StaleAllowed {
                    age: 100_000,
                    lifetime: max_age(60),
                    staleness: 99_940,
                },
            ),
            row(
                "§5.2.2.2: must-revalidate beats max-stale",
                vec![("Cache-Control", "max-stale")],
                &[
                    ("Cache-Control", "max-age=60, must-revalidate"),
                    ("ETag", "\"v1\""),
                ],
                90,
                Decision::Revalidate {
                    conditional: etag(),
                    because: StaleForbidden { staleness: 30 },
                },
            ),
            row(
                "§5.2.2.8: proxy-revalidate beats max-stale in a shared cache",
                vec![("Cache-Control", "max-stale")],
                &[
                    ("Cache-Control", "max-age=60, proxy-revalidate"),
                    ("ETag", "\"v1\""),
                ],
                90,
                Decision::Revalidate {
                    conditional: etag(),
                    because: StaleForbidden { staleness: 30 },
                },
            ),
            row(
                "§5.2.2.10: s-maxage implies proxy-revalidate",
                vec![("Cache-Control", "max-stale")],
                &[("Cache-Control", "s-maxage=60"), ("ETag", "\"v1\"")],
                90,
                Decision::Revalidate {
                    conditional: etag(),
                    because: StaleForbidden { staleness: 30 },
                },
            ),
            row(
                "§5.2.1.7: only-if-cached and fresh",
                vec![("Cache-Control", "only-if-cached")],
                &fresh_60,
                1,
                Decision::Fresh {
                    age: 1,
                    lifetime: max_age(60),
                },
            ),
            row(
                "§5.2.1.7: only-if-cached and stale is 504",
                vec![("Cache-Control", "only-if-cached")],
                &fresh_60,
                61,
                Decision::GatewayTimeout(Box::new(Decision::Revalidate {
                    conditional: etag(),
                    because: Stale { staleness: 1 },
                })),
            ),
            row(
                "§4.1: Vary on a matching field",
                vec![("Accept-Encoding", "GZIP")],
                &[("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding")],
                1,
                Decision::Fresh {
                    age: 1,
                    lifetime: max_age(60),
                },
            ),
            row(
                "§4.1: Vary on a different field value",
                vec![("Accept-Encoding", "br")],
                &[("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding")],
                1,
                Decision::Miss(MissBecause::Vary(VaryMatch::Differs(
                    "accept-encoding".into(),
                ))),
            ),
            row(
                "§4.1: Vary: * never matches",
                vec![],
                &[("Cache-Control", "max-age=60"), ("Vary", "*")],
                1,
                Decision::Miss(MissBecause::Vary(VaryMatch::Star)),
            ),
            row(
                "§5.3: invalid Expires is stale at once",
                vec![],
                &[("Expires", "-1"), ("ETag", "\"v1\"")],
                0,
                Decision::Revalidate {
                    conditional: etag(),
                    because: Stale { staleness: 0 },
                },
            ),
            row(
                "§4.2.3: an Age from upstream counts",
                vec![],
                &[
                    ("Cache-Control", "max-age=60"),
                    ("Age", "50"),
                    ("ETag", "\"v1\""),
                ],
                10,
                Decision::Revalidate {
                    conditional: etag(),
                    because: Stale { staleness: 0 },
                },
            ),
            Row {
                stored: None,
                ..row(
                    "§4: nothing stored",
                    vec![],
                    &[],
                    0,
                    Decision::Miss(MissBecause::NothingStored),
                )
            },
            Row {
                stored: None,
                ..row(
                    "§5.2.1.7: only-if-cached with nothing stored is 504",
                    vec![("Cache-Control", "only-if-cached")],
                    &[],
                    0,
                    Decision::GatewayTimeout(Box::new(Decision::Miss(MissBecause::NothingStored))),
                )
            },
            Row {
                method: Method::Post,
                ..row(
                    "§4: POST is not answered from the cache",
                    vec![],
                    &fresh_60,
                    0,
                    Decision::Miss(MissBecause::MethodNotServed("POST".into())),
                )
            },
        ];
        for row in rows {
            assert_eq!(
                lookup(
                    &row.method,
                    &headers(&row.request),
                    row.stored.as_ref(),
                    at(T + row.elapsed),
                    &FreshnessConfig::default()
                ),
                row.expected,
                "{}",
                row.rule
            );
        }
    }

    #[test]
    fn decisions_explain_themselves() {
        let decision = lookup(
            &Method::Get,
            &headers(&[("Cache-Control", "only-if-cached")]),
            Some(&stored(&[
                ("Cache-Control", "max-age=60"),
                ("ETag", "\"v1\""),
            ])),
            at(T + 90),
            &FreshnessConfig::default(),
        );
        assert_eq!(
            decision.to_string(),
            "504: the request said only-if-cached (RFC 9111 §5.2.1.7), and otherwise it would be a revalidate: the stored response has been stale for 30 s (RFC 9111 §4.2)"
        );
        let hit = lookup(
            &Method::Get,
            &Headers::new(),
            Some(&stored(&[("Cache-Control", "max-age=60")])),
            at(T + 5),
            &FreshnessConfig::default(),
        );
        assert_eq!(
            hit.to_string(),
            "fresh hit: 5 s old, fresh for 60 s from max-age (RFC 9111 §5.2.2.1)"
        );
    }
}
