//! What the words on the command line ask for: the lab form `METHOD HOST PORT [PATH]`, or
//! `[METHOD] URL [URL...]`, turned into places to connect to and request-targets to ask for.
//!
//! A URL here is what a person types (`http://host:port/path?q`, `https://...`, or just
//! `localhost:8080/x`); the request-target sent on the wire is its path and query (origin-form,
//! RFC 9112 §3.2.1) or, through a proxy, the URL itself (absolute-form, §3.2.2).

use std::fmt;

/// The two schemes this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP, default port 80.
    Http,
    /// HTTP over TLS, default port 443.
    Https,
}

impl Scheme {
    /// The port a URL without one means.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// One place to send a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// http or https.
    pub scheme: Scheme,
    /// Host name or address as typed (IPv6 in brackets).
    pub host: String,
    /// Port, explicit or the scheme's default.
    pub port: u16,
    /// Path and query, starting with `/` (origin-form).
    pub path: String,
}

impl Url {
    /// The `Host` header value: the host, and the port unless it is the scheme's default.
    pub fn authority(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Resolves a `Location` value against this URL (RFC 9110 §10.2.2: a URI reference).
    pub fn join(&self, location: &str) -> Result<Url, TargetError> {
        let location = location.trim();
        if location.contains("://") {
            return Url::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme.as_str()));
        }
        let path = if location.starts_with('/') {
            location.to_string()
        } else if location.starts_with('?') {
            let base = self.path.split('?').next().unwrap_or("/");
            format!("{base}{location}")
        } else {
            let base = self.path.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Ok(Url {
            path,
            ..self.clone()
        })
    }

    /// Parses a URL as a person types it; no scheme means `http://`.
    pub fn parse(text: &str) -> Result<Url, TargetError> {
        let bad = |why: &'static str| TargetError::Malformed {
            url: text.to_string(),
            why,
        };
        let (scheme, rest) = match text.split_once("://") {
            Some((s, rest)) => {
                let scheme = if s.eq_ignore_ascii_case("http") {
                    Scheme::Http
                } else if s.eq_ignore_ascii_case("https") {
                    Scheme::Https
                } else {
                    return Err(TargetError::UnsupportedScheme {
                        scheme: s.to_string(),
                    });
                };
                (scheme, rest)
            }
            None => (Scheme::Http, text),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let path = path.split('#').next().unwrap_or("");
        let path = if path.is_empty() {
            "/".to_string()
        } else if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if authority.contains('@') {
            return Err(bad(
                "user:password@ is not supported; send -H 'Authorization: ...' instead",
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6
                .find(']')
                .ok_or_else(|| bad("an IPv6 address needs its closing ]"))?;
            let host = &authority[..close + 2];
            let after = &v6[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad("only :PORT may follow an IPv6 address")),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        if host.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad("the host contains a space or a control byte"));
        }
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad(
                "the path contains a space or a control byte; percent-encode it (%20)",
            ));
        }
        let port = match port {
            None | Some("") => scheme.default_port(),
            Some(p) => p
                .parse()
                .map_err(|_| bad("the port is not a number from 0 to 65535"))?,
        };
        Ok(Url {
            scheme,
            host: host.to_string(),
            port,
            path,
        })
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.path
        )
    }
}

/// What the positional words asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// A method typed as a word (`GET` in `client GET localhost 8080 /`).
    pub method: Option<String>,
    /// The places to ask, in order.
    pub urls: Vec<Url>,
}

/// The words could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// A URL that does not parse.
    Malformed { url: String, why: &'static str },
    /// A scheme other than http or https.
    UnsupportedScheme { scheme: String },
    /// Nothing to ask for.
    Missing,
    /// A method typed in lower case (`client get localhost 8080 /`).
    LowerCaseMethod { typed: String },
}

impl TargetError {
    /// The curl exit code.
    pub fn exit_code(&self) -> crate::ExitCode {
        match self {
            TargetError::Malformed { .. } => crate::ExitCode::MalformedUrl,
            TargetError::UnsupportedScheme { .. } => crate::ExitCode::UnsupportedProtocol,
            TargetError::Missing | TargetError::LowerCaseMethod { .. } => crate::ExitCode::Usage,
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Malformed { url, why } => write!(f, "malformed URL {url:?}: {why}"),
            TargetError::UnsupportedScheme { scheme } => write!(
                f,
                "{scheme}:// is not spoken here; use http:// or https:// (for other line protocols try `client repl --line HOST PORT`)"
            ),
            TargetError::Missing => write!(
                f,
                "nothing to request; give METHOD HOST PORT [PATH] or a URL (see client --help)"
            ),
            TargetError::LowerCaseMethod { typed } => write!(
                f,
                "{typed:?} is not a method: methods are case-sensitive and standard ones are upper-case (RFC 9110 §9.1); write {}, or -X {typed} to send it as typed",
                typed.to_ascii_uppercase()
            ),
        }
    }
}

impl std::error::Error for TargetError {}

/// True for a word that can only be a method: a token (RFC 9110 §9.1) in capitals.
fn looks_like_method(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
}

/// The methods of RFC 9110 §9 and PATCH (RFC 5789), which a learner may type in lower case.
const KNOWN_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// True when `words` are `METHOD HOST PORT [PATH]` with a known method not in upper case.
fn lower_case_lab_method(words: &[String]) -> Option<&str> {
    let (first, rest) = words.split_first()?;
    let known = KNOWN_METHODS.iter().any(|m| m.eq_ignore_ascii_case(first));
    let lab_form = (2..=3).contains(&rest.len()) && rest[1].parse::<u16>().is_ok();
    (known && !looks_like_method(first) && lab_form).then_some(first.as_str())
}

/// Reads the positional words. `tls` (`--tls`) makes the lab form use https.
pub fn from_words(words: &[String], tls: bool) -> Result<Targets, TargetError> {
    let lab_scheme = if tls { Scheme::Https } else { Scheme::Http };
    if let Some(typed) = lower_case_lab_method(words) {
        return Err(TargetError::LowerCaseMethod {
            typed: typed.to_string(),
        });
    }
    let (method, rest) = match words.split_first() {
        None => return Err(TargetError::Missing),
        Some((first, rest)) if looks_like_method(first) && !rest.is_empty() => {
            (Some(first.clone()), rest)
        }
        Some(_) => (None, words),
    };
    // METHOD HOST PORT [PATH], or HOST PORT [PATH] (with --raw, or the method from -X).
    if (2..=3).contains(&rest.len()) && !rest[0].contains("://") {
        if let Ok(port) = rest[1].parse::<u16>() {
            // A path typed without its leading slash (`files/x`) means `/files/x`.
            let path = match rest.get(2) {
                None => "/".to_string(),
                Some(p) if p.starts_with('/') => p.clone(),
                Some(p) => format!("/{p}"),
            };
            let url = Url::parse(&format!(
                "{}://{}:{}{}",
                lab_scheme.as_str(),
                bracket(&rest[0]),
                port,
                path
            ))?;
            return Ok(Targets {
                method,
                urls: vec![url],
            });
        }
    }
    let mut urls = Vec::new();
    for word in rest {
        let mut url = Url::parse(word)?;
        if tls && !word.contains("://") {
            url.scheme = Scheme::Https;
            if url.port == 80 && !word.contains(':') {
                url.port = 443;
            }
        }
        urls.push(url);
    }
    Ok(Targets { method, urls })
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    fn url(scheme: Scheme, host: &str, port: u16, path: &str) -> Url {
        Url {
            scheme,
            host: host.into(),
            port,
            path: path.into(),
        }
    }

    #[test]
    fn lab_form_is_method_host_port_path() {
        let t = from_words(&words(&["GET", "localhost", "8080", "/index.html"]), false).unwrap();
        assert_eq!(t.method.as_deref(), Some("GET"));
        assert_eq!(
            t.urls,
            vec![url(Scheme::Http, "localhost", 8080, "/index.html")]
        );
        let t = from_words(&words(&["HEAD", "::1", "8443"]), true).unwrap();
        assert_eq!(t.urls, vec![url(Scheme::Https, "[::1]", 8443, "/")]);
    }

    #[test]
    fn the_lab_form_forgives_a_missing_slash_and_explains_lower_case_methods() {
        let t = from_words(&words(&["GET", "localhost", "8080", "files/x"]), false).unwrap();
        assert_eq!(
            t.urls,
            vec![url(Scheme::Http, "localhost", 8080, "/files/x")]
        );
        let t = from_words(&words(&["GET", "localhost", "8080", "?q=1"]), false).unwrap();
        assert_eq!(t.urls, vec![url(Scheme::Http, "localhost", 8080, "/?q=1")]);
        let e = from_words(&words(&["get", "localhost", "8080", "/"]), false).unwrap_err();
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);
        let text = e.to_string();
        assert!(
            text.contains("case-sensitive") && text.contains("write GET"),
            "{text}"
        );
        // A host called `get` with a URL-form word is still a URL.
        assert!(from_words(&words(&["get:8080/x"]), false).is_ok());
    }

    #[test]
    fn url_form_with_and_without_method() {
        let t = from_words(&words(&["http://a:81/x?y#frag", "https://b/"]), false).unwrap();
        assert_eq!(t.method, None);
        assert_eq!(
            t.urls,
            vec![
                url(Scheme::Http, "a", 81, "/x?y"),
                url(Scheme::Https, "b", 443, "/")
            ]
        );
        let t = from_words(&words(&["DELETE", "localhost:8080/thing"]), false).unwrap();
        assert_eq!(t.method.as_deref(), Some("DELETE"));
        assert_eq!(t.urls, vec![url(Scheme::Http, "localhost", 8080, "/thing")]);
    }

    #[test]
    fn host_port_without_method_serves_raw() {
        let t = from_words(&words(&["localhost", "8080"]), false).unwrap();
        assert_eq!(
            (t.method, t.urls),
            (None, vec![url(Scheme::Http, "localhost", 8080, "/")])
        );
    }

    #[test]
    fn bad_urls_are_explained() {
        assert_eq!(
            Url::parse("ftp://x/").unwrap_err().exit_code(),
            crate::ExitCode::UnsupportedProtocol
        );
        let e = Url::parse("http://x:99999/").unwrap_err();
        assert_eq!(e.exit_code(), crate::ExitCode::MalformedUrl);
        assert!(e.to_string().contains("port"), "{e}");
        assert!(Url::parse("http:///x").is_err());
        assert!(Url::parse("http://a/b c")
            .unwrap_err()
            .to_string()
            .contains("%20"));
    }

    #[test]
    fn locations_resolve_against_the_request() {
        let base = url(Scheme::Http, "a", 8080, "/dir/page?q");
        assert_eq!(base.join("/top").unwrap().path, "/top");
        assert_eq!(base.join("other").unwrap().path, "/dir/other");
        assert_eq!(base.join("?r").unwrap().path, "/dir/page?r");
        assert_eq!(
            base.join("https://b/x").unwrap(),
            url(Scheme::Https, "b", 443, "/x")
        );
        assert_eq!(base.join("//c:9/").unwrap(), url(Scheme::Http, "c", 9, "/"));
    }

    #[test]
    fn authority_leaves_out_default_ports() {
        assert_eq!(url(Scheme::Http, "a", 80, "/").authority(), "a");
        assert_eq!(url(Scheme::Https, "a", 80, "/").authority(), "a:80");
        assert_eq!(
            url(Scheme::Http, "a", 8080, "/").to_string(),
            "http://a:8080/"
        );
    }
}
