//! The request a one-shot invocation or a load run sends: method, target, version, header fields
//! in order, and a body.
//!
//! Defaults follow curl (`Host`, `User-Agent`, `Accept: */*`); a `-H` line replaces a default of
//! the same name, `-H 'Name:'` removes it, and `-H 'Name;'` sends it with an empty value. A body
//! gets `Content-Length` unless the user set framing headers themselves.

use crate::target::Url;

/// The version written on the request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0 (`--http1.0`).
    Http10,
    /// HTTP/1.1, the default.
    Http11,
}

impl Version {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// A request, before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// The method, as given.
    pub method: String,
    /// The request-target: origin-form, or absolute-form through a proxy.
    pub target: String,
    /// The version.
    pub version: Version,
    /// Header fields in order, names as given.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

/// The User-Agent sent unless `-A` or `-H` says otherwise.
pub const USER_AGENT: &str = concat!("protolab-client/", env!("CARGO_PKG_VERSION"));

impl RequestSpec {
    /// `METHOD path HTTP/1.1` with curl's default headers for `url`.
    pub fn new(method: &str, url: &Url) -> RequestSpec {
        RequestSpec {
            method: method.to_string(),
            target: url.path.clone(),
            version: Version::Http11,
            headers: vec![
                ("Host".into(), url.authority()),
                ("User-Agent".into(), USER_AGENT.into()),
                ("Accept".into(), "*/*".into()),
            ],
            body: None,
        }
    }

    /// The value of a header (first of that name, case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets a header, replacing every field of that name (in the first one's place).
    pub fn set_header(&mut self, name: &str, value: &str) {
        match self
            .headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(at) => {
                self.headers[at] = (name.to_string(), value.to_string());
                let mut i = 0;
                self.headers.retain(|(n, _)| {
                    i += 1;
                    i - 1 == at || !n.eq_ignore_ascii_case(name)
                });
            }
            None => self.headers.push((name.to_string(), value.to_string())),
        }
    }

    /// Removes every field of that name.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Applies a `-H` line: `Name: value` sets, `Name:` removes, `Name;` sets an empty value.
    pub fn header_line(&mut self, line: &str) -> Result<(), String> {
        if let Some(name) = line.strip_suffix(';') {
            if !name.contains(':') && is_token(name.trim()) {
                self.set_header(name.trim(), "");
                return Ok(());
            }
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "-H {line:?} has no colon; write it as 'Name: value' (or 'Name:' to remove a default)"
            ));
        };
        let name = name.trim_end();
        if !is_token(name) {
            return Err(format!(
                "-H {line:?}: {name:?} is not a field name (a token, RFC 9110 §5.1); use --raw to send malformed headers on purpose"
            ));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(format!(
                "-H {line:?} contains a line break; use --raw to send that"
            ));
        }
        let value = value.trim();
        if value.is_empty() {
            self.remove_header(name);
        } else {
            self.set_header(name, value);
        }
        Ok(())
    }

    /// Attaches a body with `Content-Length` (and a `Content-Type` when given and none is set).
    pub fn set_body(&mut self, body: Vec<u8>, content_type: Option<&str>) {
        if let Some(ct) = content_type {
            if self.header("Content-Type").is_none() {
                self.headers.push(("Content-Type".into(), ct.into()));
            }
        }
        if self.header("Transfer-Encoding").is_none() {
            self.set_header("Content-Length", &body.len().to_string());
        }
        self.body = Some(body);
    }

    /// The head and body, as they go on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.as_ref().map_or(0, Vec::len));
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.version.as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if let Some(body) = &self.body {
            out.extend_from_slice(body);
        }
        out
    }
}

fn is_token(s: &str) -> bool {
    wire::http1::abnf::is_token(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Url;
    use pretty_assertions::assert_eq;

    const GET: &[u8] = b"\
        GET /x HTTP/1.1\r\n\
        Host: localhost:8080\r\n\
        User-Agent: protolab-client/0.2.0\r\n\
        Accept: */*\r\n\
        \r\n";

    #[test]
    fn defaults_are_curls() {
        let url = Url::parse("http://localhost:8080/x").unwrap();
        assert_eq!(RequestSpec::new("GET", &url).to_bytes(), GET);
    }

    #[test]
    fn header_lines_replace_remove_and_empty() {
        let url = Url::parse("http://a/").unwrap();
        let mut r = RequestSpec::new("GET", &url);
        r.header_line("accept: text/html").unwrap();
        r.header_line("User-Agent:").unwrap();
        r.header_line("X-Empty;").unwrap();
        r.header_line("X-A: 1").unwrap();
        assert_eq!(
            r.headers,
            vec![
                ("Host".into(), "a".into()),
                ("accept".into(), "text/html".into()),
                ("X-Empty".into(), "".into()),
                ("X-A".into(), "1".into()),
            ]
        );
        assert!(r.header_line("no colon").unwrap_err().contains("no colon"));
        assert!(r
            .header_line("bad name: x")
            .unwrap_err()
            .contains("RFC 9110"));
    }

    #[test]
    fn a_body_gets_its_length() {
        let url = Url::parse("http://a/f").unwrap();
        let mut r = RequestSpec::new("POST", &url);
        r.set_body(
            b"name=ada".to_vec(),
            Some("application/x-www-form-urlencoded"),
        );
        let bytes = r.to_bytes();
        assert!(bytes.ends_with(
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n\r\nname=ada"
        ));
    }
}
