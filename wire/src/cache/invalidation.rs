//! What a cache forgets after an unsafe request (RFC 9111 §4.4), and the URI form it keys on.
//!
//! When a request with an unsafe method (anything but GET, HEAD, OPTIONS and TRACE, including
//! methods the cache does not know) gets a non-error response (2xx or 3xx), the cache must
//! invalidate the target URI, and may invalidate the URIs in `Location` and `Content-Location`,
//! but only when they have the same origin as the target (so one site cannot evict another's
//! entries). [`invalidation_targets`] lists all three, in that order, as [`cache_key`]s.
//!
//! [`cache_key`] is the normal form used to compare URIs: scheme and host lower-cased, the
//! default port dropped, an empty path written `/`, the fragment removed. Relative references in
//! `Location` and `Content-Location` are resolved against the target URI (RFC 3986 §5.2,
//! including the removal of `.` and `..` segments).

use crate::http1::fields::Headers;
use crate::http1::method::Method;

/// An `http` or `https` URI split into the parts that make an origin, and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HttpUri {
    /// `http` or `https`, lower-cased.
    scheme: String,
    /// Lower-cased host (brackets kept for IPv6).
    host: String,
    /// The port, the scheme's default filled in.
    port: u16,
    /// The path, never empty.
    path: String,
    /// The query without `?`, if any.
    query: Option<String>,
}

impl HttpUri {
    fn parse(uri: &str) -> Option<HttpUri> {
        let uri = uri.split('#').next()?;
        let (scheme, rest) = uri.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(authority_end);
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let (host, port) = match authority.rfind(':') {
            Some(colon) if !authority[colon..].contains(']') => {
                let digits = &authority[colon + 1..];
                let port = if digits.is_empty() {
                    default_port
                } else {
                    digits.parse().ok()?
                };
                (&authority[..colon], port)
            }
            _ => (authority, default_port),
        };
        if host.is_empty() {
            return None;
        }
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (path_and_query, None),
        };
        Some(HttpUri {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                remove_dot_segments(path)
            },
            query,
        })
    }

    fn same_origin(&self, other: &HttpUri) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }

    fn key(&self) -> String {
        let default_port = if self.scheme == "https" { 443 } else { 80 };
        let mut key = format!("{}://{}", self.scheme, self.host);
        if self.port != default_port {
            key.push_str(&format!(":{}", self.port));
        }
        key.push_str(&self.path);
        if let Some(query) = &self.query {
            key.push('?');
            key.push_str(query);
        }
        key
    }

    /// Resolves a URI reference against this base (RFC 3986 §5.2.2).
    fn resolve(&self, reference: &str) -> Option<HttpUri> {
        let reference = reference.trim().split('#').next()?;
        let has_scheme = reference.split_once(':').is_some_and(|(scheme, _)| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        });
        if has_scheme {
            return HttpUri::parse(reference);
        }
        if reference.starts_with("//") {
            return HttpUri::parse(&format!("{}:{reference}", self.scheme));
        }
        let (path, query) = match reference.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (reference, None),
        };
        let mut resolved = self.clone();
        if path.is_empty() {
            if query.is_some() {
                resolved.query = query;
            }
            return Some(resolved);
        }
        resolved.path = if path.starts_with('/') {
            remove_dot_segments(path)
        } else {
            let directory = &self.path[..self.path.rfind('/').map_or(0, |i| i + 1)];
            remove_dot_segments(&format!("{directory}{path}"))
        };
        resolved.query = query;
        Some(resolved)
    }
}

/// RFC 3986 §5.2.4: removes `.` and `..` segments from an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." | ".." => {
                if *segment == ".." && output.len() > 1 {
                    output.pop();
                }
                if i == last {
                    output.push("");
                }
            }
            _ => output.push(segment),
        }
    }
    let joined = output.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// The normal form of an `http` or `https` URI that cache entries are keyed on, or `None` for
/// anything else (another scheme, a relative reference, userinfo, a bad port).
pub fn cache_key(uri: &str) -> Option<String> {
    HttpUri::parse(uri).map(|uri| uri.key())
}

/// The cache keys to invalidate after `method` on `target_uri` got `status` with
/// `response_headers` (§4.4); empty for safe methods and error statuses.
pub fn invalidation_targets(
    method: &Method,
    status: u16,
    target_uri: &str,
    response_headers: &Headers,
) -> Vec<String> {
    if method.is_safe() || !(200..400).contains(&status) {
        return Vec::new();
    }
    let Some(target) = HttpUri::parse(target_uri) else {
        return Vec::new();
    };
    let mut keys = vec![target.key()];
    for name in ["location", "content-location"] {
        let Some(value) = response_headers
            .get(name)
            .and_then(|v| std::str::from_utf8(v).ok())
        else {
            continue;
        };
        if let Some(uri) = target.resolve(value) {
            let key = uri.key();
            if target.same_origin(&uri) && !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
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
    fn cache_keys_are_normalised() {
        let cases = [
            ("HTTP://Example.COM/a?b=C", Some("http://example.com/a?b=C")),
            ("http://example.com:80", Some("http://example.com/")),
            (
                "https://example.com:443/x#frag",
                Some("https://example.com/x"),
            ),
            (
                "http://example.com:8080/x",
                Some("http://example.com:8080/x"),
            ),
            ("http://[::1]:8000/", Some("http://[::1]:8000/")),
            (
                "http://example.com/a/./b/../c",
                Some("http://example.com/a/c"),
            ),
            ("ftp://example.com/", None),
            ("/relative", None),
            ("http://user@example.com/", None),
            ("http://example.com:99999/", None),
        ];
        for (uri, expected) in cases {
            assert_eq!(cache_key(uri).as_deref(), expected, "{uri}");
        }
    }

    #[test]
    fn reference_resolution_examples_of_rfc_3986() {
        // RFC 3986 §5.4.1, base http://a/b/c/d;p?q
        let base = HttpUri::parse("http://a/b/c/d;p?q").expect("valid");
        let cases = [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("g/../h", "http://a/b/c/h"),
        ];
        for (reference, expected) in cases {
            assert_eq!(
                base.resolve(reference).map(|u| u.key()).as_deref(),
                Some(expected),
                "{reference}"
            );
        }
    }

    #[test]
    fn invalidation_rules_of_rfc_9111_section_4_4() {
        let target = "http://example.com/items/7";
        // (what the row shows, method, status, response fields, keys to invalidate)
        type Row = (
            &'static str,
            Method,
            u16,
            Vec<(&'static str, &'static str)>,
            Vec<&'static str>,
        );
        let rows: Vec<Row> = vec![
            (
                "unsafe method, 2xx: the target",
                Method::Delete,
                204,
                vec![],
                vec!["http://example.com/items/7"],
            ),
            (
                "POST with Location and Content-Location on the same origin",
                Method::Post,
                201,
                vec![
                    ("Location", "/items/8"),
                    ("Content-Location", "http://EXAMPLE.com:80/items/list"),
                ],
                vec![
                    "http://example.com/items/7",
                    "http://example.com/items/8",
                    "http://example.com/items/list",
                ],
            ),
            (
                "relative Location resolved against the target",
                Method::Put,
                200,
                vec![("Location", "../index")],
                vec!["http://example.com/items/7", "http://example.com/index"],
            ),
            (
                "another origin is left alone",
                Method::Post,
                303,
                vec![
                    ("Location", "http://other.example/x"),
                    ("Content-Location", "https://example.com/items/7"),
                ],
                vec!["http://example.com/items/7"],
            ),
            (
                "unknown methods count as unsafe",
                Method::parse("PURGE").expect("token"),
                200,
                vec![],
                vec!["http://example.com/items/7"],
            ),
            (
                "errors invalidate nothing",
                Method::Post,
                500,
                vec![("Location", "/x")],
                vec![],
            ),
            (
                "4xx invalidates nothing",
                Method::Delete,
                404,
                vec![],
                vec![],
            ),
            (
                "safe methods invalidate nothing",
                Method::Get,
                200,
                vec![("Content-Location", "/x")],
                vec![],
            ),
            ("OPTIONS is safe", Method::Options, 200, vec![], vec![]),
        ];
        for (what, method, status, response, expected) in rows {
            assert_eq!(
                invalidation_targets(&method, status, target, &headers(&response)),
                expected,
                "{what}"
            );
        }
    }
}
