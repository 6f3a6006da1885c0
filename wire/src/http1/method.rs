//! Request methods (RFC 9110 §9).
//!
//! `method = token`, case-sensitive: `GET` is the GET method, `get` is an extension method that
//! happens to look similar. The eight methods RFC 9110 defines have their own variant; any other
//! token is an [`Method::Extension`].

use std::fmt;
use std::str::FromStr;

use super::abnf::is_token;
use super::error::BuildError;

/// A request method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    /// Any other token, such as `PATCH` (RFC 5789) or `PROPFIND`.
    Extension(ExtensionMethod),
}

/// A method token that is not one of RFC 9110's eight. Built only through [`Method::parse`], so
/// `Extension("GET")` cannot exist and equality stays meaningful.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionMethod(String);

impl ExtensionMethod {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Method {
    /// The method for a token, or an error when `s` is not a token.
    pub fn parse(s: &str) -> Result<Method, BuildError> {
        Ok(match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            _ if is_token(s.as_bytes()) => Method::Extension(ExtensionMethod(s.to_owned())),
            _ => {
                return Err(BuildError::InvalidMethod {
                    method: s.to_owned(),
                })
            }
        })
    }

    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Extension(e) => e.as_str(),
        }
    }

    /// Safe methods do not ask the server to change anything (RFC 9110 §9.2.1).
    pub fn is_safe(&self) -> bool {
        matches!(
            self,
            Method::Get | Method::Head | Method::Options | Method::Trace
        )
    }

    /// Idempotent methods may be retried automatically (RFC 9110 §9.2.2).
    pub fn is_idempotent(&self) -> bool {
        self.is_safe() || matches!(self, Method::Put | Method::Delete)
    }
}

impl FromStr for Method {
    type Err = BuildError;
    fn from_str(s: &str) -> Result<Method, BuildError> {
        Method::parse(s)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_case_sensitive_tokens() {
        assert_eq!(Method::parse("GET"), Ok(Method::Get));
        let lower = Method::parse("get").unwrap();
        assert_ne!(lower, Method::Get);
        assert_eq!(lower.as_str(), "get");
        assert_eq!(Method::parse("PATCH").unwrap().to_string(), "PATCH");
        assert!(Method::parse("GE T").is_err());
        assert!(Method::parse("").is_err());
        assert!(Method::Put.is_idempotent() && !Method::Put.is_safe());
        assert!(!Method::Post.is_idempotent());
    }
}
