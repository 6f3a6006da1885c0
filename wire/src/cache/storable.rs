//! Whether a shared cache may store a response (RFC 9111 §3), and which of its fields.
//!
//! [`storability`] checks the conditions of §3 in the order the RFC lists them. A shared cache
//! stores a response only if:
//!
//! 1. the request method is one it caches (here: GET);
//! 2. the request has no `no-store` directive (§5.2.1.5);
//! 3. the status code is final (not 1xx);
//! 4. for 206, 304, or with `must-understand`: the cache understands the status code (this
//!    cache does not combine partial responses, so 206 is never stored, and a 304 only
//!    updates a stored response, [`super::validation::freshen`]);
//! 5. the response has no `no-store` (ignored with `must-understand` and an understood status,
//!    §5.2.2.3);
//! 6. the response has no unqualified `private` (a shared cache, §5.2.2.7);
//! 7. the request has no `Authorization`, unless the response has `public`, `s-maxage` or
//!    `must-revalidate` (§3.5);
//! 8. the response has `public`, `max-age`, `s-maxage` or `Expires`, or a status code that is
//!    heuristically cacheable (RFC 9110 §15.1).
//!
//! [`fields_to_store`] then drops what §3.1 keeps out of a cache: hop-by-hop fields (`Connection`
//! and the fields it names, `Keep-Alive`, `Proxy-Connection`, `TE`, `Transfer-Encoding`,
//! `Upgrade`), the proxy-specific authentication fields (`Proxy-Authenticate`,
//! `Proxy-Authentication-Info`, `Proxy-Authorization`), and the fields named by a qualified
//! `no-cache="..."` (any cache, §5.2.2.4) or `private="..."` (a shared cache, §5.2.2.7). Removing
//! `no-cache`'s fields at storage is how this cache keeps the promise never to send them without
//! revalidation.

use std::fmt;

use super::directives::{DirectiveScope, RequestDirectives, ResponseDirectives};
use super::freshness::heuristically_cacheable;
use crate::http1::fields::Headers;
use crate::http1::method::Method;

/// The answer of [`storability`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storability {
    /// Store it (through [`super::StoredResponse::new`], which removes the §3.1 fields).
    Store,
    /// Do not store it, because of this rule.
    DoNotStore(NotStorable),
}

/// The rule of RFC 9111 §3 that keeps a response out of the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStorable {
    /// Only responses to GET are stored here.
    MethodNotCached(String),
    /// The request said `Cache-Control: no-store` (§5.2.1.5).
    RequestNoStore,
    /// A 1xx status is not a final response.
    StatusNotFinal(u16),
    /// 206, 304, or a `must-understand` response with a status this cache does not know.
    StatusNotUnderstood(u16),
    /// The response said `no-store` (§5.2.2.5).
    ResponseNoStore,
    /// The response said `private` (§5.2.2.7): for the user's own cache only.
    Private,
    /// The request carried `Authorization` and the response did not allow a shared cache to
    /// store it (§3.5).
    Authorization,
    /// No explicit freshness, not `public`, and a status that is not heuristically cacheable.
    NoFreshnessInformation(u16),
}

impl fmt::Display for NotStorable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotStorable::MethodNotCached(method) => {
                write!(f, "responses to {method} are not stored; this cache stores GET only (RFC 9111 §3)")
            }
            NotStorable::RequestNoStore => {
                f.write_str("the request said Cache-Control: no-store (RFC 9111 §5.2.1.5)")
            }
            NotStorable::StatusNotFinal(status) => {
                write!(f, "{status} is not a final response (RFC 9111 §3)")
            }
            NotStorable::StatusNotUnderstood(status) => write!(
                f,
                "status {status} is not one this cache can store (RFC 9111 §3, §5.2.2.3)"
            ),
            NotStorable::ResponseNoStore => {
                f.write_str("the response said Cache-Control: no-store (RFC 9111 §5.2.2.5)")
            }
            NotStorable::Private => f.write_str(
                "the response said Cache-Control: private, which a shared cache must not store (RFC 9111 §5.2.2.7)",
            ),
            NotStorable::Authorization => f.write_str(
                "the request carried Authorization and the response has neither public, s-maxage nor must-revalidate (RFC 9111 §3.5)",
            ),
            NotStorable::NoFreshnessInformation(status) => write!(
                f,
                "no max-age, s-maxage, Expires or public, and status {status} is not heuristically cacheable (RFC 9111 §3)"
            ),
        }
    }
}

/// Status codes this cache understands well enough to store under `must-understand`: the final
/// codes RFC 9110 defines, except 206 (partial content is not combined here) and 304.
pub fn understood_status(status: u16) -> bool {
    matches!(
        status,
        200..=205 | 300..=303 | 305 | 307 | 308 | 400..=417 | 421 | 422 | 426 | 500..=505
    )
}

/// The facts [`storability_of`] decides on, already read from the two messages.
#[derive(Debug, Clone, Copy)]
pub struct StorabilityInputs<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request's `Cache-Control`.
    pub request: &'a RequestDirectives,
    /// Whether the request had an `Authorization` field.
    pub request_has_authorization: bool,
    /// The response's status code.
    pub status: u16,
    /// The response's `Cache-Control`.
    pub response: &'a ResponseDirectives,
    /// Whether the response had an `Expires` field (valid or not).
    pub response_has_expires: bool,
}

/// May a shared cache store this response to this request? (RFC 9111 §3, in order.)
pub fn storability(
    method: &Method,
    request_headers: &Headers,
    status: u16,
    response_headers: &Headers,
) -> Storability {
    storability_of(&StorabilityInputs {
        method,
        request: &RequestDirectives::from_headers(request_headers),
        request_has_authorization: request_headers.contains("authorization"),
        status,
        response: &ResponseDirectives::from_headers(response_headers),
        response_has_expires: response_headers.contains("expires"),
    })
}

/// [`storability`] on facts already read.
pub fn storability_of(inputs: &StorabilityInputs<'_>) -> Storability {
    use NotStorable::*;
    let refuse = Storability::DoNotStore;
    let response = inputs.response;
    let status = inputs.status;
    if *inputs.method != Method::Get {
        return refuse(MethodNotCached(inputs.method.to_string()));
    }
    if inputs.request.no_store {
        return refuse(RequestNoStore);
    }
    if status < 200 {
        return refuse(StatusNotFinal(status));
    }
    let understood = understood_status(status);
    if (status == 206 || status == 304 || response.must_understand) && !understood {
        return refuse(StatusNotUnderstood(status));
    }
    let no_store_overridden = response.must_understand && understood;
    if response.no_store && !no_store_overridden {
        return refuse(ResponseNoStore);
    }
    if response.private == Some(DirectiveScope::Whole) {
        return refuse(Private);
    }
    let shared_allowed = response.public || response.s_maxage.is_some() || response.must_revalidate;
    if inputs.request_has_authorization && !shared_allowed {
        return refuse(Authorization);
    }
    let explicit = response.public
        || response.max_age.is_some()
        || response.s_maxage.is_some()
        || inputs.response_has_expires;
    if !explicit && !heuristically_cacheable(status) {
        return refuse(NoFreshnessInformation(status));
    }
    Storability::Store
}

/// The response's header section without the fields a shared cache must not store (§3.1; see
/// the module documentation for the list).
pub fn fields_to_store(response_headers: &Headers) -> Headers {
    let mut stored = response_headers.clone();
    stored.remove_hop_by_hop();
    for name in [
        "proxy-authenticate",
        "proxy-authentication-info",
        "proxy-authorization",
    ] {
        stored.remove(name);
    }
    let directives = ResponseDirectives::from_headers(response_headers);
    for scope in [directives.no_cache, directives.private]
        .into_iter()
        .flatten()
    {
        if let DirectiveScope::Fields(names) = scope {
            for name in names {
                stored.remove(&name);
            }
        }
    }
    stored
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn headers(lines: &[(&'static str, &'static str)]) -> Headers {
        let mut h = Headers::new();
        for (name, value) in lines {
            h.append(name, value).expect("valid field");
        }
        h
    }

    struct Row {
        rule: &'static str,
        method: Method,
        request: Vec<(&'static str, &'static str)>,
        status: u16,
        response: Vec<(&'static str, &'static str)>,
        expected: Storability,
    }

    fn row(
        rule: &'static str,
        status: u16,
        cache_control: &'static str,
        expected: Storability,
    ) -> Row {
        Row {
            rule,
            method: Method::Get,
            request: vec![],
            status,
            response: if cache_control.is_empty() {
                vec![]
            } else {
                vec![("Cache-Control", cache_control)]
            },
            expected,
        }
    }

    #[test]
    fn storability_rules_of_rfc_9111_section_3() {
        use NotStorable::*;
        use Storability::{DoNotStore, Store};
        let rows = vec![
            row("§3: max-age makes a 200 storable", 200, "max-age=60", Store),
            row(
                "RFC 9110 §15.1: 200 is heuristically cacheable",
                200,
                "",
                Store,
            ),
            row(
                "RFC 9110 §15.1: 404 is heuristically cacheable",
                404,
                "",
                Store,
            ),
            row(
                "§3: 302 without explicit freshness is not",
                302,
                "",
                DoNotStore(NoFreshnessInformation(302)),
            ),
            row("§3: 302 with max-age is", 302, "max-age=60", Store),
            row("§3: 500 with max-age is", 500, "max-age=60", Store),
            Row {
                response: vec![("Expires", "Thu, 01 Jan 2026 00:00:00 GMT")],
                ..row("§3: Expires alone is explicit freshness", 307, "", Store)
            },
            Row {
                response: vec![("Expires", "0")],
                ..row(
                    "§3: even an invalid Expires (the response is stored stale)",
                    307,
                    "",
                    Store,
                )
            },
            row("§3: public alone", 302, "public", Store),
            row(
                "§5.2.2.5: no-store",
                200,
                "max-age=60, no-store",
                DoNotStore(ResponseNoStore),
            ),
            row(
                "§5.2.2.7: private in a shared cache",
                200,
                "private, max-age=60",
                DoNotStore(Private),
            ),
            row(
                "§5.2.2.7: private=\"field\" stores the rest",
                200,
                "private=\"Set-Cookie\", max-age=60",
                Store,
            ),
            row(
                "§5.2.2.4: no-cache is storable (it is revalidated on use)",
                200,
                "no-cache",
                Store,
            ),
            row(
                "§3: 206 is not stored by this cache",
                206,
                "max-age=60",
                DoNotStore(StatusNotUnderstood(206)),
            ),
            row(
                "§3: 304 updates, it is not stored",
                304,
                "max-age=60",
                DoNotStore(StatusNotUnderstood(304)),
            ),
            row(
                "§3: 1xx is not final",
                103,
                "max-age=60",
                DoNotStore(StatusNotFinal(103)),
            ),
            row(
                "§5.2.2.3: must-understand overrides no-store for a known status",
                200,
                "must-understand, no-store, max-age=60",
                Store,
            ),
            row(
                "§5.2.2.3: must-understand with an unknown status",
                299,
                "must-understand, no-store, max-age=60",
                DoNotStore(StatusNotUnderstood(299)),
            ),
            Row {
                method: Method::Post,
                ..row(
                    "§3: POST is not cached here",
                    200,
                    "max-age=60",
                    DoNotStore(MethodNotCached("POST".into())),
                )
            },
            Row {
                method: Method::Head,
                ..row(
                    "§3: HEAD is not stored (a stored GET answers it)",
                    200,
                    "max-age=60",
                    DoNotStore(MethodNotCached("HEAD".into())),
                )
            },
            Row {
                request: vec![("Cache-Control", "no-store")],
                ..row(
                    "§5.2.1.5: request no-store",
                    200,
                    "max-age=60",
                    DoNotStore(RequestNoStore),
                )
            },
            Row {
                request: vec![("Authorization", "Basic dTpw")],
                ..row(
                    "§3.5: Authorization without permission",
                    200,
                    "max-age=60",
                    DoNotStore(Authorization),
                )
            },
            Row {
                request: vec![("Authorization", "Basic dTpw")],
                ..row(
                    "§3.5: Authorization with public",
                    200,
                    "public, max-age=60",
                    Store,
                )
            },
            Row {
                request: vec![("Authorization", "Basic dTpw")],
                ..row(
                    "§3.5: Authorization with s-maxage",
                    200,
                    "s-maxage=60",
                    Store,
                )
            },
            Row {
                request: vec![("Authorization", "Basic dTpw")],
                ..row(
                    "§3.5: Authorization with must-revalidate",
                    200,
                    "must-revalidate, max-age=60",
                    Store,
                )
            },
        ];
        for row in rows {
            assert_eq!(
                storability(
                    &row.method,
                    &headers(&row.request),
                    row.status,
                    &headers(&row.response)
                ),
                row.expected,
                "{}",
                row.rule
            );
        }
    }

    #[test]
    fn fields_a_cache_must_not_keep() {
        let response = headers(&[
            ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
            ("Connection", "keep-alive, X-Hop"),
            ("X-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Proxy-Authenticate", "Basic realm=\"p\""),
            ("Proxy-Authentication-Info", "nextnonce=\"x\""),
            (
                "Cache-Control",
                "max-age=60, no-cache=\"X-Secret\", private=\"Set-Cookie\"",
            ),
            ("Set-Cookie", "id=1"),
            ("X-Secret", "s"),
            ("Content-Type", "text/plain"),
        ]);
        assert_eq!(
            fields_to_store(&response),
            headers(&[
                ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
                (
                    "Cache-Control",
                    "max-age=60, no-cache=\"X-Secret\", private=\"Set-Cookie\""
                ),
                ("Content-Type", "text/plain"),
            ])
        );
    }

    #[test]
    fn reasons_name_the_rfc() {
        assert_eq!(
            NotStorable::Authorization.to_string(),
            "the request carried Authorization and the response has neither public, s-maxage nor must-revalidate (RFC 9111 §3.5)"
        );
    }
}
