//! What the `Cache-Control` directives mean to a shared cache (RFC 9111 §5.2), and `Pragma:
//! no-cache` in requests (RFC 7234 §5.4, kept for HTTP/1.0 clients).
//!
//! The field is read by [`Headers::cache_control`]: list elements split (commas inside quoted
//! arguments kept), `token [ "=" ( token / quoted-string ) ]` parsed, names lower-cased,
//! arguments unquoted, malformed elements skipped. This module turns those directives into two
//! typed sets, one for requests and one for responses, with these rules:
//!
//! - Directive names are case-insensitive; arguments may be tokens or quoted strings
//!   (`max-age="60"` is `max-age=60`): recipients accept both (§5.2).
//! - A directive given twice counts once, with its first argument (§4.2.1 allows "the first
//!   occurrence").
//! - A response `max-age` or `s-maxage` whose argument is not `delta-seconds` makes the response
//!   stale (it is read as 0): §4.2.1 encourages caches to treat invalid freshness information
//!   that way. The directive is listed in [`ResponseDirectives::invalid`] so a lab can say so.
//!   In a request, such a directive is ignored (and listed in [`RequestDirectives::invalid`]).
//! - Values beyond 2^31 seconds are read as 2^31 (§1.2.2).
//! - Unknown directives are ignored (§5.2.3).

use std::fmt;

use crate::http1::fields::{CacheDirective, Headers};

/// Which part of a response a `no-cache` or `private` directive covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectiveScope {
    /// The directive had no argument: the whole response.
    Whole,
    /// `no-cache="Set-Cookie, X-Token"`: only these fields (lower-cased).
    Fields(Vec<String>),
}

/// `max-stale` in a request (RFC 9111 §5.2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxStale {
    /// `max-stale` with no argument: any staleness is acceptable.
    Any,
    /// `max-stale=N`: stale by at most N seconds.
    Seconds(u64),
}

/// The request directives a cache acts on (RFC 9111 §5.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestDirectives {
    /// `max-age=N`: the client wants a response no older than N seconds.
    pub max_age: Option<u64>,
    /// `max-stale[=N]`: the client accepts a stale response.
    pub max_stale: Option<MaxStale>,
    /// `min-fresh=N`: the client wants a response that stays fresh for N more seconds.
    pub min_fresh: Option<u64>,
    /// `no-cache`: do not use a stored response without validating it.
    pub no_cache: bool,
    /// `no-store`: do not store the request or its response.
    pub no_store: bool,
    /// `no-transform`.
    pub no_transform: bool,
    /// `only-if-cached`: answer from the cache or with 504, never contact the origin.
    pub only_if_cached: bool,
    /// `Pragma: no-cache` in a request that has no `Cache-Control` field: treated as `no-cache`
    /// (RFC 7234 §5.4; RFC 9111 §5.4 deprecates Pragma but HTTP/1.0 clients still send it).
    pub pragma_no_cache: bool,
    /// Directives that were present with an unusable argument, and ignored.
    pub invalid: Vec<String>,
}

impl RequestDirectives {
    /// Reads `Cache-Control` (and `Pragma`, when there is no `Cache-Control`) from a request's
    /// header section.
    pub fn from_headers(headers: &Headers) -> RequestDirectives {
        // Most requests have neither field: one pass over the names says so.
        if !headers
            .iter()
            .any(|field| field.is("cache-control") || field.is("pragma"))
        {
            return RequestDirectives::default();
        }
        let mut directives = RequestDirectives::from_directives(&headers.cache_control());
        directives.pragma_no_cache =
            !headers.contains("cache-control") && headers.contains_token("pragma", "no-cache");
        directives
    }

    /// Gives meaning to directives already read from the field.
    pub fn from_directives(list: &[CacheDirective]) -> RequestDirectives {
        let mut out = RequestDirectives::default();
        let mut seen: Vec<&str> = Vec::new();
        for directive in list {
            let name = directive.name.as_str();
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let seconds = directive.seconds();
            let mut invalid = false;
            match name {
                "max-age" => match seconds {
                    Some(n) => out.max_age = Some(n),
                    None => invalid = true,
                },
                "max-stale" => match (&directive.argument, seconds) {
                    (None, _) => out.max_stale = Some(MaxStale::Any),
                    (Some(_), Some(n)) => out.max_stale = Some(MaxStale::Seconds(n)),
                    (Some(_), None) => invalid = true,
                },
                "min-fresh" => match seconds {
                    Some(n) => out.min_fresh = Some(n),
                    None => invalid = true,
                },
                "no-cache" => out.no_cache = true,
                "no-store" => out.no_store = true,
                "no-transform" => out.no_transform = true,
                "only-if-cached" => out.only_if_cached = true,
                _ => {}
            }
            if invalid {
                out.invalid.push(name.to_owned());
            }
        }
        out
    }

    /// True when the client asked for validation: `no-cache`, or `Pragma: no-cache` without
    /// `Cache-Control`.
    pub fn wants_validation(&self) -> bool {
        self.no_cache || self.pragma_no_cache
    }
}

/// The response directives a shared cache acts on (RFC 9111 §5.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseDirectives {
    /// `max-age=N` (0 when its argument was unusable).
    pub max_age: Option<u64>,
    /// `s-maxage=N`, for shared caches only (0 when its argument was unusable).
    pub s_maxage: Option<u64>,
    /// `no-cache` or `no-cache="fields"`.
    pub no_cache: Option<DirectiveScope>,
    /// `no-store`.
    pub no_store: bool,
    /// `private` or `private="fields"`.
    pub private: Option<DirectiveScope>,
    /// `public`.
    pub public: bool,
    /// `must-revalidate`: once stale, never served without successful validation.
    pub must_revalidate: bool,
    /// `proxy-revalidate`: `must-revalidate` for shared caches only.
    pub proxy_revalidate: bool,
    /// `must-understand`: store only if the status code is understood (then `no-store` yields).
    pub must_understand: bool,
    /// `no-transform`.
    pub no_transform: bool,
    /// Directives whose argument was unusable (`max-age=soon`), in the order met.
    pub invalid: Vec<String>,
}

impl ResponseDirectives {
    /// Reads `Cache-Control` from a response's header section.
    pub fn from_headers(headers: &Headers) -> ResponseDirectives {
        ResponseDirectives::from_directives(&headers.cache_control())
    }

    /// Gives meaning to directives already read from the field.
    pub fn from_directives(list: &[CacheDirective]) -> ResponseDirectives {
        let mut out = ResponseDirectives::default();
        let mut seen: Vec<&str> = Vec::new();
        for directive in list {
            let name = directive.name.as_str();
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let scope = || match directive.argument {
                None => DirectiveScope::Whole,
                Some(_) => match directive.field_names() {
                    names if names.is_empty() => DirectiveScope::Whole,
                    names => DirectiveScope::Fields(names),
                },
            };
            match name {
                "max-age" | "s-maxage" => {
                    let seconds = directive.seconds().unwrap_or_else(|| {
                        out.invalid.push(name.to_owned());
                        0
                    });
                    if name == "max-age" {
                        out.max_age = Some(seconds);
                    } else {
                        out.s_maxage = Some(seconds);
                    }
                }
                "no-cache" => out.no_cache = Some(scope()),
                "no-store" => out.no_store = true,
                "private" => out.private = Some(scope()),
                "public" => out.public = true,
                "must-revalidate" => out.must_revalidate = true,
                "proxy-revalidate" => out.proxy_revalidate = true,
                "must-understand" => out.must_understand = true,
                "no-transform" => out.no_transform = true,
                _ => {}
            }
        }
        out
    }

    /// True when a shared cache must not serve this response stale, even if the client allows
    /// it: `must-revalidate`, `proxy-revalidate`, or `s-maxage` (which implies
    /// `proxy-revalidate`, §5.2.2.10).
    pub fn forbids_stale(&self) -> bool {
        self.must_revalidate || self.proxy_revalidate || self.s_maxage.is_some()
    }

    /// True for an unqualified `no-cache`: every reuse needs successful validation.
    pub fn requires_validation(&self) -> bool {
        self.no_cache == Some(DirectiveScope::Whole)
    }
}

impl fmt::Display for MaxStale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxStale::Any => f.write_str("max-stale"),
            MaxStale::Seconds(n) => write!(f, "max-stale={n}"),
        }
    }
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

    #[test]
    fn response_directives_across_lines_and_cases() {
        let h = headers(&[
            ("Cache-Control", "Public, MAX-AGE=\"60\""),
            (
                "cache-control",
                "s-maxage=30, must-revalidate, no-cache=\"Set-Cookie, X-A\"",
            ),
            (
                "Cache-Control",
                "private, proxy-revalidate, x-unknown=1, no-transform",
            ),
        ]);
        assert_eq!(
            ResponseDirectives::from_headers(&h),
            ResponseDirectives {
                max_age: Some(60),
                s_maxage: Some(30),
                no_cache: Some(DirectiveScope::Fields(vec![
                    "set-cookie".to_owned(),
                    "x-a".to_owned()
                ])),
                no_store: false,
                private: Some(DirectiveScope::Whole),
                public: true,
                must_revalidate: true,
                proxy_revalidate: true,
                must_understand: false,
                no_transform: true,
                invalid: vec![],
            }
        );
    }

    #[test]
    fn first_occurrence_wins_and_invalid_freshness_is_zero() {
        let h = headers(&[("Cache-Control", "max-age=10, max-age=99999, s-maxage=soon")]);
        let directives = ResponseDirectives::from_headers(&h);
        assert_eq!(directives.max_age, Some(10));
        assert_eq!(directives.s_maxage, Some(0));
        assert_eq!(directives.invalid, vec!["s-maxage".to_owned()]);
        let bare = ResponseDirectives::from_headers(&headers(&[("Cache-Control", "max-age")]));
        assert_eq!(bare.max_age, Some(0));
        let huge = ResponseDirectives::from_headers(&headers(&[(
            "Cache-Control",
            "max-age=99999999999999999999",
        )]));
        assert_eq!(huge.max_age, Some(1 << 31));
    }

    #[test]
    fn request_directives() {
        let h = headers(&[(
            "Cache-Control",
            "max-age=0, max-stale, min-fresh=5, no-cache, no-store, only-if-cached",
        )]);
        assert_eq!(
            RequestDirectives::from_headers(&h),
            RequestDirectives {
                max_age: Some(0),
                max_stale: Some(MaxStale::Any),
                min_fresh: Some(5),
                no_cache: true,
                no_store: true,
                no_transform: false,
                only_if_cached: true,
                pragma_no_cache: false,
                invalid: vec![],
            }
        );
        let h = headers(&[("Cache-Control", "max-stale=30, max-age=x")]);
        let directives = RequestDirectives::from_headers(&h);
        assert_eq!(directives.max_stale, Some(MaxStale::Seconds(30)));
        assert_eq!(directives.max_age, None);
        assert_eq!(directives.invalid, vec!["max-age".to_owned()]);
    }

    #[test]
    fn pragma_no_cache_counts_only_without_cache_control() {
        let pragma_only = headers(&[("Pragma", "no-cache")]);
        assert!(RequestDirectives::from_headers(&pragma_only).wants_validation());
        let both = headers(&[("Pragma", "no-cache"), ("Cache-Control", "max-stale")]);
        assert!(!RequestDirectives::from_headers(&both).wants_validation());
        // Other Pragma values are not no-cache.
        let other = headers(&[("Pragma", "no-cache-please, x")]);
        assert!(!RequestDirectives::from_headers(&other).wants_validation());
    }

    #[test]
    fn stale_is_forbidden_by_three_directives() {
        for value in ["must-revalidate", "proxy-revalidate", "s-maxage=60"] {
            let directives =
                ResponseDirectives::from_headers(&headers(&[("Cache-Control", value)]));
            assert!(directives.forbids_stale(), "{value}");
        }
        let directives =
            ResponseDirectives::from_headers(&headers(&[("Cache-Control", "max-age=60")]));
        assert!(!directives.forbids_stale());
    }
}
