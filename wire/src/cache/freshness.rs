//! How long a stored response stays fresh (RFC 9111 §4.2.1, §4.2.2).
//!
//! A shared cache takes the first of these that the response has:
//!
//! 1. `s-maxage=N` (shared caches only): N seconds.
//! 2. `max-age=N`: N seconds.
//! 3. `Expires`: its date minus the `Date` field's (or, without `Date`, minus the time the
//!    response arrived, as RFC 9110 §6.6.1 has a recipient do). An `Expires` that is not a valid
//!    HTTP-date (`0`, `-1`, garbage) means "already expired" (RFC 9111 §5.3): 0 seconds.
//! 4. A heuristic, only for a response whose status code is heuristically cacheable (RFC 9110
//!    §15.1) or that is marked `public`, and only with a `Last-Modified`: a fraction
//!    ([`FreshnessConfig::heuristic_percent`], 10% by default, as §4.2.2 suggests) of the time
//!    between `Last-Modified` and `Date`, capped at [`FreshnessConfig::max_heuristic_lifetime`]
//!    (one day by default, so a page unchanged for years is still checked daily).
//! 5. Otherwise 0: the response is stale as soon as it is stored.
//!
//! The response is fresh while its current age ([`super::age`]) is less than this lifetime.

use std::fmt;

use super::directives::ResponseDirectives;
use crate::http1::date::HttpDate;

/// The settings a cache may choose for heuristic freshness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshnessConfig {
    /// Percentage of the time since `Last-Modified` a response is assumed fresh for.
    pub heuristic_percent: u64,
    /// Longest heuristic lifetime, in seconds.
    pub max_heuristic_lifetime: u64,
}

impl Default for FreshnessConfig {
    /// 10% of the `Last-Modified` age, at most one day.
    fn default() -> Self {
        FreshnessConfig {
            heuristic_percent: 10,
            max_heuristic_lifetime: 86_400,
        }
    }
}

/// The `Expires` field of a stored response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresField {
    /// No `Expires` field.
    Absent,
    /// Present but not a valid HTTP-date: the response is already expired.
    Invalid,
    /// A valid date.
    At(HttpDate),
}

/// Where a freshness lifetime came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifetimeSource {
    /// `s-maxage` (§5.2.2.10).
    SMaxAge,
    /// `max-age` (§5.2.2.1).
    MaxAge,
    /// `Expires` minus `Date` (§5.3).
    Expires,
    /// An `Expires` that is not a valid date (§5.3): 0.
    InvalidExpires,
    /// A fraction of the time since `Last-Modified` (§4.2.2).
    Heuristic,
    /// Nothing allowed a lifetime: 0.
    NoneGiven,
}

/// A freshness lifetime and the rule that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lifetime {
    /// Seconds the response stays fresh after it was generated.
    pub seconds: u64,
    /// Which rule of §4.2.1 applied.
    pub source: LifetimeSource,
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.seconds;
        match self.source {
            LifetimeSource::SMaxAge => write!(f, "{seconds} s from s-maxage (RFC 9111 §5.2.2.10)"),
            LifetimeSource::MaxAge => write!(f, "{seconds} s from max-age (RFC 9111 §5.2.2.1)"),
            LifetimeSource::Expires => write!(f, "{seconds} s from Expires minus Date (RFC 9111 §4.2.1)"),
            LifetimeSource::InvalidExpires => {
                f.write_str("0 s: Expires is not a valid date, so the response is already expired (RFC 9111 §5.3)")
            }
            LifetimeSource::Heuristic => write!(
                f,
                "{seconds} s by heuristic, a fraction of the time since Last-Modified (RFC 9111 §4.2.2)"
            ),
            LifetimeSource::NoneGiven => {
                f.write_str("0 s: no explicit expiration and no heuristic allowed (RFC 9111 §4.2.1)")
            }
        }
    }
}

/// Status codes a cache may give heuristic freshness to (RFC 9110 §15.1): 200, 203, 204, 206,
/// 300, 301, 308, 404, 405, 410, 414, 501.
pub fn heuristically_cacheable(status: u16) -> bool {
    matches!(
        status,
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// What the freshness lifetime is computed from; every field comes from the stored response.
#[derive(Debug, Clone, Copy)]
pub struct FreshnessInputs<'a> {
    /// The response's status code.
    pub status: u16,
    /// Its `Cache-Control` directives.
    pub directives: &'a ResponseDirectives,
    /// Its `Date`, if it had a valid one.
    pub date: Option<HttpDate>,
    /// Its `Expires`.
    pub expires: ExpiresField,
    /// Its `Last-Modified`, if it had a valid one.
    pub last_modified: Option<HttpDate>,
    /// When the response arrived (stands in for a missing `Date`).
    pub response_time: HttpDate,
}

/// The freshness lifetime of a response as a shared cache computes it (§4.2.1, in order).
pub fn freshness_lifetime(inputs: &FreshnessInputs<'_>, config: &FreshnessConfig) -> Lifetime {
    let lifetime = |seconds, source| Lifetime { seconds, source };
    let directives = inputs.directives;
    if let Some(seconds) = directives.s_maxage {
        return lifetime(seconds, LifetimeSource::SMaxAge);
    }
    if let Some(seconds) = directives.max_age {
        return lifetime(seconds, LifetimeSource::MaxAge);
    }
    let date = inputs.date.unwrap_or(inputs.response_time);
    match inputs.expires {
        ExpiresField::At(expires) => {
            let seconds = u64::try_from(expires.seconds_since(date)).unwrap_or(0);
            return lifetime(seconds, LifetimeSource::Expires);
        }
        ExpiresField::Invalid => return lifetime(0, LifetimeSource::InvalidExpires),
        ExpiresField::Absent => {}
    }
    let heuristic_allowed = heuristically_cacheable(inputs.status) || directives.public;
    match inputs.last_modified {
        Some(last_modified) if heuristic_allowed => {
            let unchanged_for = u64::try_from(date.seconds_since(last_modified)).unwrap_or(0);
            let seconds = (unchanged_for.saturating_mul(config.heuristic_percent) / 100)
                .min(config.max_heuristic_lifetime);
            lifetime(seconds, LifetimeSource::Heuristic)
        }
        _ => lifetime(0, LifetimeSource::NoneGiven),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::fields::CacheDirective;
    use pretty_assertions::assert_eq;

    fn at(seconds: i64) -> HttpDate {
        HttpDate::from_unix_seconds(seconds).expect("in range")
    }

    fn directives(value: &str) -> ResponseDirectives {
        let list: Vec<CacheDirective> = crate::http1::fields::list_elements(value.as_bytes())
            .filter_map(CacheDirective::parse)
            .collect();
        ResponseDirectives::from_directives(&list)
    }

    const T: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z, the response's Date

    struct Row {
        rule: &'static str,
        status: u16,
        cache_control: &'static str,
        date: Option<HttpDate>,
        expires: ExpiresField,
        last_modified: Option<HttpDate>,
        expected: Lifetime,
    }

    fn row(
        rule: &'static str,
        cache_control: &'static str,
        expected: (u64, LifetimeSource),
    ) -> Row {
        Row {
            rule,
            status: 200,
            cache_control,
            date: Some(at(T)),
            expires: ExpiresField::Absent,
            last_modified: None,
            expected: Lifetime {
                seconds: expected.0,
                source: expected.1,
            },
        }
    }

    #[test]
    fn freshness_lifetime_rules_of_rfc_9111_section_4_2_1() {
        use LifetimeSource::*;
        let rows = vec![
            row(
                "§4.2.1: s-maxage first for a shared cache",
                "max-age=60, s-maxage=30",
                (30, SMaxAge),
            ),
            Row {
                expires: ExpiresField::At(at(T + 1000)),
                ..row("§4.2.1: max-age over Expires", "max-age=60", (60, MaxAge))
            },
            Row {
                expires: ExpiresField::At(at(T + 1000)),
                ..row("§4.2.1: Expires minus Date", "", (1000, Expires))
            },
            Row {
                expires: ExpiresField::At(at(T - 1000)),
                ..row("§4.2.1: Expires before Date is 0", "", (0, Expires))
            },
            Row {
                date: None,
                expires: ExpiresField::At(at(T + 1000 + 5)),
                ..row(
                    "RFC 9110 §6.6.1: no Date, the arrival time stands in",
                    "",
                    (1000, Expires),
                )
            },
            Row {
                expires: ExpiresField::Invalid,
                last_modified: Some(at(T - 100_000)),
                ..row(
                    "§5.3: an invalid Expires is already expired, no heuristic",
                    "",
                    (0, InvalidExpires),
                )
            },
            Row {
                last_modified: Some(at(T - 100_000)),
                ..row(
                    "§4.2.2: 10% of the time since Last-Modified",
                    "",
                    (10_000, Heuristic),
                )
            },
            Row {
                last_modified: Some(at(T - 10_000_000)),
                ..row(
                    "§4.2.2: heuristic capped by the cache's setting",
                    "",
                    (86_400, Heuristic),
                )
            },
            Row {
                status: 302,
                last_modified: Some(at(T - 100_000)),
                ..row(
                    "§4.2.2: 302 is not heuristically cacheable",
                    "",
                    (0, NoneGiven),
                )
            },
            Row {
                status: 302,
                last_modified: Some(at(T - 100_000)),
                ..row(
                    "§4.2.2: unless marked public",
                    "public",
                    (10_000, Heuristic),
                )
            },
            Row {
                last_modified: Some(at(T + 100)),
                ..row(
                    "§4.2.2: Last-Modified after Date gives 0",
                    "",
                    (0, Heuristic),
                )
            },
            row("§4.2.1: nothing to go on", "", (0, NoneGiven)),
            row(
                "§4.2.1: invalid max-age is stale",
                "max-age=later",
                (0, MaxAge),
            ),
        ];
        for row in rows {
            let directives = directives(row.cache_control);
            let inputs = FreshnessInputs {
                status: row.status,
                directives: &directives,
                date: row.date,
                expires: row.expires,
                last_modified: row.last_modified,
                response_time: at(T + 5),
            };
            assert_eq!(
                freshness_lifetime(&inputs, &FreshnessConfig::default()),
                row.expected,
                "{}",
                row.rule
            );
        }
    }

    #[test]
    fn lifetimes_explain_themselves() {
        let lifetime = Lifetime {
            seconds: 0,
            source: LifetimeSource::InvalidExpires,
        };
        assert_eq!(
            lifetime.to_string(),
            "0 s: Expires is not a valid date, so the response is already expired (RFC 9111 §5.3)"
        );
    }
}
