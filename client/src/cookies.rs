//! Cookies as curl keeps them: `-b FILE` reads a Netscape cookie file (the format curl, wget
//! and browsers' export tools share), `-c FILE` writes one at the end, and in between every
//! `Set-Cookie` is stored (RFC 6265 §5.2, §5.3) and sent back in `Cookie` where it applies
//! (§5.4: the domain, path, `Secure` and expiry rules).
//!
//! A Netscape cookie file has one cookie per line, seven fields separated by tabs:
//!
//! ```text
//! # Netscape HTTP Cookie File
//! localhost→FALSE→/→FALSE→0→visits→3
//! .example.org→TRUE→/docs→TRUE→1893456000→theme→dark
//! #HttpOnly_localhost→FALSE→/→FALSE→0→session→abc
//! ```
//!
//! (each `→` is a tab)
//!
//! domain (a leading dot when subdomains match too), whether subdomains match, path, secure
//! only, expiry in seconds since 1970 (0 for a session cookie), name, value. `#HttpOnly_`
//! before the domain marks an HttpOnly cookie; other lines starting with `#` are comments.
//!
//! Out of scope: the public suffix list (a `Domain=` attribute is taken when the host is within
//! it, whatever the suffix), `SameSite`, cookie size limits.

use std::fmt::Write as _;

/// True when a `-b` argument is cookies written out (`name=value; n2=v2`) rather than a file
/// name: curl's rule is that such an argument holds a `=`.
pub fn is_cookie_string(arg: &str) -> bool {
    arg.contains('=')
}

/// One stored cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The domain, in lower case, without a leading dot.
    pub domain: String,
    /// True when only that exact host gets it (no `Domain=` attribute).
    pub host_only: bool,
    /// The path it applies to.
    pub path: String,
    /// Sent only over https.
    pub secure: bool,
    /// Not visible to scripts (kept and written back; it changes nothing for this client).
    pub http_only: bool,
    /// Seconds since 1970 when it expires; `None` for a session cookie.
    pub expires: Option<i64>,
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
}

/// The cookies of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jar {
    cookies: Vec<Cookie>,
}

impl Jar {
    /// An empty jar.
    pub fn new() -> Jar {
        Jar::default()
    }

    /// The cookies, in the order they were first stored (the unit tests read them).
    #[cfg(test)]
    pub fn cookies(&self) -> &[Cookie] {
        &self.cookies
    }

    /// Reads a Netscape cookie file. A line that is not seven tab-separated fields is an error
    /// naming its number.
    pub fn parse_netscape(text: &str) -> Result<Jar, String> {
        let mut jar = Jar::new();
        for (index, line) in text.lines().enumerate() {
            let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let bad = |why: &str| format!("line {}: {why}", index + 1);
            if fields.len() != 7 {
                return Err(bad(&format!(
                    "{} fields; a Netscape cookie line has 7, separated by tabs \
                     (domain, subdomains TRUE/FALSE, path, secure TRUE/FALSE, expiry, name, value)",
                    fields.len()
                )));
            }
            let flag = |f: &str| f.eq_ignore_ascii_case("TRUE");
            let expiry: i64 = fields[4]
                .trim()
                .parse()
                .map_err(|_| bad(&format!("the expiry {:?} is not a number", fields[4])))?;
            let domain = fields[0].trim_start_matches('.').to_ascii_lowercase();
            jar.store(Cookie {
                host_only: !flag(fields[1]),
                domain,
                path: fields[2].to_string(),
                secure: flag(fields[3]),
                http_only,
                expires: (expiry != 0).then_some(expiry),
                name: fields[5].to_string(),
                value: fields[6].to_string(),
            });
        }
        Ok(jar)
    }

    /// Adds another jar's cookies (a later one replaces an earlier one of the same name,
    /// domain and path).
    pub fn merge(&mut self, other: Jar) {
        for cookie in other.cookies {
            self.store(cookie);
        }
    }

    /// The jar as a Netscape cookie file, leaving out cookies expired at `now`.
    pub fn to_netscape(&self, now: i64) -> String {
        let mut out = String::from(
            "# Netscape HTTP Cookie File\n\
             # Written by protolab's client (-c); curl and wget read this format too.\n\n",
        );
        for c in self.cookies.iter().filter(|c| !c.expired(now)) {
            let flag = |b: bool| if b { "TRUE" } else { "FALSE" };
            let _ = writeln!(
                out,
                "{}{}{}\t{}\t{}\t{}\t{}\t{}\t{}",
                if c.http_only { "#HttpOnly_" } else { "" },
                if c.host_only { "" } else { "." },
                c.domain,
                flag(!c.host_only),
                c.path,
                flag(c.secure),
                c.expires.unwrap_or(0),
                c.name,
                c.value
            );
        }
        out
    }

    /// Stores a cookie, replacing one with the same name, domain and path (§5.3 step 11).
    fn store(&mut self, cookie: Cookie) {
        match self
            .cookies
            .iter_mut()
            .find(|c| c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
        {
            Some(old) => *old = cookie,
            None => self.cookies.push(cookie),
        }
    }

    /// Takes a `Set-Cookie` value received from `host` for `path` (the request's path) at
    /// `now`. Returns why it was ignored, if it was.
    pub fn receive(
        &mut self,
        set_cookie: &str,
        host: &str,
        path: &str,
        now: i64,
    ) -> Result<(), String> {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let mut pieces = set_cookie.split(';');
        let pair = pieces.next().unwrap_or("");
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("{pair:?} has no '=' (§5.2 step 2)"));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return Err("the cookie has no name (§5.2 step 5)".into());
        }
        let mut cookie = Cookie {
            domain: host.clone(),
            host_only: true,
            path: default_path(path),
            secure: false,
            http_only: false,
            expires: None,
            name: name.to_string(),
            value: value.to_string(),
        };
        let mut max_age = None;
        let mut expires = None;
        for attribute in pieces {
            let (key, val) = match attribute.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (attribute.trim(), ""),
            };
            match key.to_ascii_lowercase().as_str() {
                "domain" if !val.is_empty() => {
                    let domain = val.trim_start_matches('.').to_ascii_lowercase();
                    if !domain_matches(&host, &domain) {
                        return Err(format!(
                            "Domain={val} does not cover {host}, which sent it (§5.3 step 6)"
                        ));
                    }
                    cookie.host_only = false;
                    cookie.domain = domain;
                }
                "path" if val.starts_with('/') => cookie.path = val.to_string(),
                "secure" => cookie.secure = true,
                "httponly" => cookie.http_only = true,
                "max-age" => {
                    if let Ok(seconds) = val.parse::<i64>() {
                        max_age = Some(now.saturating_add(seconds.max(0)));
                    }
                }
                "expires" => {
                    let epoch = wire::http1::date::HttpDate::UNIX_EPOCH;
                    if let Ok(date) = wire::http1::date::HttpDate::parse(val.as_bytes(), epoch) {
                        expires = Some(date.unix_seconds());
                    }
                }
                _ => {}
            }
        }
        // Max-Age wins over Expires (§5.3 step 3).
        cookie.expires = max_age.or(expires);
        if cookie.expired(now) {
            // An expiry in the past deletes the cookie (§5.3 step 11, then §5.3's eviction).
            self.cookies.retain(|c| {
                !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
            });
            return Ok(());
        }
        self.store(cookie);
        Ok(())
    }

    /// The `Cookie` header value for a request to `host` and `path`, over https when `secure`,
    /// at `now`: every cookie that applies, longer paths first (§5.4).
    pub fn header_for(&self, host: &str, path: &str, secure: bool, now: i64) -> Option<String> {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let path = path.split('?').next().unwrap_or("/");
        let mut chosen: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| {
                let domain_ok = if c.host_only {
                    c.domain == host
                } else {
                    domain_matches(&host, &c.domain)
                };
                domain_ok && path_matches(path, &c.path) && (secure || !c.secure) && !c.expired(now)
            })
            .collect();
        chosen.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        if chosen.is_empty() {
            return None;
        }
        let pairs: Vec<String> = chosen
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        Some(pairs.join("; "))
    }
}

impl Cookie {
    fn expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

/// §5.1.3: the host is the domain, or ends in `.domain` (and is a name, not an IP address).
fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || (host.ends_with(domain)
            && host[..host.len() - domain.len()].ends_with('.')
            && host.parse::<std::net::IpAddr>().is_err())
}

/// §5.1.4: the default path is the request path up to, not including, its last `/`.
fn default_path(request_path: &str) -> String {
    let path = request_path.split('?').next().unwrap_or("");
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(at) => path[..at].to_string(),
    }
}

/// §5.1.4: the cookie's path is the request path, or a prefix of it ending at a `/`.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn set_cookie_is_sent_back_where_it_applies() {
        let mut jar = Jar::new();
        jar.receive("visits=1; Path=/", "localhost", "/cookies", NOW)
            .unwrap();
        jar.receive("theme=dark; Path=/docs; Secure", "localhost", "/", NOW)
            .unwrap();
        jar.receive(
            "site=x; Domain=.example.org; Path=/",
            "www.example.org",
            "/a/b",
            NOW,
        )
        .unwrap();
        assert_eq!(
            jar.header_for("localhost", "/cookies?x", false, NOW),
            Some("visits=1".into())
        );
        assert_eq!(
            jar.header_for("localhost", "/docs/page", true, NOW),
            Some("theme=dark; visits=1".into())
        );
        assert_eq!(
            jar.header_for("localhost", "/docsx", true, NOW),
            Some("visits=1".into())
        );
        assert_eq!(
            jar.header_for("api.example.org", "/", false, NOW),
            Some("site=x".into())
        );
        assert_eq!(jar.header_for("example.com", "/", false, NOW), None);
        // A replacement, then a deletion by an expiry in the past.
        jar.receive("visits=2; Path=/", "localhost", "/", NOW)
            .unwrap();
        assert_eq!(
            jar.header_for("localhost", "/", false, NOW),
            Some("visits=2".into())
        );
        jar.receive("visits=; Path=/; Max-Age=0", "localhost", "/", NOW)
            .unwrap();
        assert_eq!(jar.header_for("localhost", "/", false, NOW), None);
    }

    #[test]
    fn bad_set_cookies_are_refused_with_the_rule() {
        let mut jar = Jar::new();
        assert!(jar
            .receive("novalue", "a", "/", NOW)
            .unwrap_err()
            .contains("'='"));
        assert!(jar
            .receive("x=1; Domain=other.org", "a.example.org", "/", NOW)
            .unwrap_err()
            .contains("does not cover"));
        assert!(jar.cookies().is_empty());
    }

    #[test]
    fn expiry_from_max_age_or_expires_and_default_path() {
        let mut jar = Jar::new();
        jar.receive(
            "a=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "h",
            "/x/y",
            NOW,
        )
        .unwrap();
        jar.receive("b=2; Expires=Wed, 01 Jan 2048 00:00:00 GMT", "h", "/", NOW)
            .unwrap();
        let a = &jar.cookies()[0];
        assert_eq!((a.expires, a.path.as_str()), (Some(NOW + 60), "/x"));
        assert_eq!(jar.cookies()[1].expires, Some(2_461_449_600));
        // a=1 has expired a second after its Max-Age; b=2 has not.
        assert_eq!(
            jar.header_for("h", "/x/z", false, NOW + 59),
            Some("a=1; b=2".into())
        );
        assert_eq!(
            jar.header_for("h", "/x/z", false, NOW + 61),
            Some("b=2".into())
        );
    }

    #[test]
    fn netscape_files_round_trip() {
        let text = "# Netscape HTTP Cookie File\n\
                    localhost\tFALSE\t/\tFALSE\t0\tvisits\t3\n\
                    .example.org\tTRUE\t/docs\tTRUE\t2000000000\ttheme\tdark\n\
                    #HttpOnly_localhost\tFALSE\t/\tFALSE\t0\tsession\tabc\n";
        let jar = Jar::parse_netscape(text).unwrap();
        assert_eq!(jar.cookies().len(), 3);
        assert!(!jar.cookies()[1].host_only && jar.cookies()[1].secure);
        assert!(jar.cookies()[2].http_only);
        let written = jar.to_netscape(NOW);
        assert_eq!(Jar::parse_netscape(&written).unwrap(), jar);
        assert!(written.contains("\n.example.org\tTRUE\t/docs\tTRUE\t2000000000\ttheme\tdark\n"));
        // Expired cookies are left out.
        assert!(!jar.to_netscape(2_000_000_001).contains("theme"));
        let err = Jar::parse_netscape("localhost FALSE / FALSE 0 a 1\n").unwrap_err();
        assert!(
            err.starts_with("line 1: 1 fields") && err.contains("tabs"),
            "{err}"
        );
    }
}
