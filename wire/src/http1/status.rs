//! Status codes and their standard reason phrases (RFC 9110 §15).
//!
//! A status code is three digits from 100 to 599; its first digit is its class. The reason phrase
//! is for humans only (RFC 9112 §4): a client ignores it, a server sends the one from
//! [`reason_phrase`] unless it has a reason to say something else.

use std::fmt;

use super::error::BuildError;

/// A status code from 100 to 599.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(u16);

/// The class of a status code: its first digit (RFC 9110 §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Informational,
    Successful,
    Redirection,
    ClientError,
    ServerError,
}

macro_rules! status_table {
    ($($code:literal $name:ident $reason:literal;)*) => {
        impl StatusCode {
            $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`")]
                pub const $name: StatusCode = StatusCode($code);
            )*
        }

        /// The standard reason phrase for `code` (RFC 9110 §15, plus 429 and 431 from RFC 6585
        /// and 508 from RFC 5842 §7.2, which a proxy answers a request that loops with), or
        /// `None` for a code with no registered meaning.
        pub fn reason_phrase(code: u16) -> Option<&'static str> {
            match code {
                $($code => Some($reason),)*
                _ => None,
            }
        }
    };
}

status_table! {
    100 CONTINUE "Continue";
    101 SWITCHING_PROTOCOLS "Switching Protocols";
    200 OK "OK";
    201 CREATED "Created";
    202 ACCEPTED "Accepted";
    203 NON_AUTHORITATIVE_INFORMATION "Non-Authoritative Information";
    204 NO_CONTENT "No Content";
    205 RESET_CONTENT "Reset Content";
    206 PARTIAL_CONTENT "Partial Content";
    300 MULTIPLE_CHOICES "Multiple Choices";
    301 MOVED_PERMANENTLY "Moved Permanently";
    302 FOUND "Found";
    303 SEE_OTHER "See Other";
    304 NOT_MODIFIED "Not Modified";
    305 USE_PROXY "Use Proxy";
    307 TEMPORARY_REDIRECT "Temporary Redirect";
    308 PERMANENT_REDIRECT "Permanent Redirect";
    400 BAD_REQUEST "Bad Request";
    401 UNAUTHORIZED "Unauthorized";
    402 PAYMENT_REQUIRED "Payment Required";
    403 FORBIDDEN "Forbidden";
    404 NOT_FOUND "Not Found";
    405 METHOD_NOT_ALLOWED "Method Not Allowed";
    406 NOT_ACCEPTABLE "Not Acceptable";
    407 PROXY_AUTHENTICATION_REQUIRED "Proxy Authentication Required";
    408 REQUEST_TIMEOUT "Request Timeout";
    409 CONFLICT "Conflict";
    410 GONE "Gone";
    411 LENGTH_REQUIRED "Length Required";
    412 PRECONDITION_FAILED "Precondition Failed";
    413 CONTENT_TOO_LARGE "Content Too Large";
    414 URI_TOO_LONG "URI Too Long";
    415 UNSUPPORTED_MEDIA_TYPE "Unsupported Media Type";
    416 RANGE_NOT_SATISFIABLE "Range Not Satisfiable";
    417 EXPECTATION_FAILED "Expectation Failed";
    421 MISDIRECTED_REQUEST "Misdirected Request";
    422 UNPROCESSABLE_CONTENT "Unprocessable Content";
    426 UPGRADE_REQUIRED "Upgrade Required";
    428 PRECONDITION_REQUIRED "Precondition Required";
    429 TOO_MANY_REQUESTS "Too Many Requests";
    431 REQUEST_HEADER_FIELDS_TOO_LARGE "Request Header Fields Too Large";
    500 INTERNAL_SERVER_ERROR "Internal Server Error";
    501 NOT_IMPLEMENTED "Not Implemented";
    502 BAD_GATEWAY "Bad Gateway";
    503 SERVICE_UNAVAILABLE "Service Unavailable";
    504 GATEWAY_TIMEOUT "Gateway Timeout";
    505 HTTP_VERSION_NOT_SUPPORTED "HTTP Version Not Supported";
    508 LOOP_DETECTED "Loop Detected";
}

impl StatusCode {
    /// A status code, or an error outside 100..=599.
    pub fn new(code: u16) -> Result<StatusCode, BuildError> {
        if (100..=599).contains(&code) {
            Ok(StatusCode(code))
        } else {
            Err(BuildError::InvalidStatusCode { code })
        }
    }

    pub fn as_u16(&self) -> u16 {
        self.0
    }

    pub fn class(&self) -> StatusClass {
        match self.0 / 100 {
            1 => StatusClass::Informational,
            2 => StatusClass::Successful,
            3 => StatusClass::Redirection,
            4 => StatusClass::ClientError,
            _ => StatusClass::ServerError,
        }
    }

    /// 1xx: an interim response, another response follows (RFC 9110 §15.2).
    pub fn is_informational(&self) -> bool {
        self.class() == StatusClass::Informational
    }

    /// The standard reason phrase, or `None` for an unregistered code.
    pub fn canonical_reason(&self) -> Option<&'static str> {
        reason_phrase(self.0)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u16> for StatusCode {
    type Error = BuildError;
    fn try_from(code: u16) -> Result<StatusCode, BuildError> {
        StatusCode::new(code)
    }
}

impl From<StatusCode> for u16 {
    fn from(code: StatusCode) -> u16 {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_outside_100_to_599_are_refused() {
        assert!(StatusCode::new(99).is_err());
        assert!(StatusCode::new(600).is_err());
        assert_eq!(StatusCode::new(404).unwrap(), StatusCode::NOT_FOUND);
        assert_eq!(StatusCode::NOT_FOUND.canonical_reason(), Some("Not Found"));
        assert_eq!(reason_phrase(299), None);
        assert_eq!(reason_phrase(508), Some("Loop Detected"));
        assert_eq!(StatusCode::CONTINUE.class(), StatusClass::Informational);
        assert_eq!(
            StatusCode::new(599).unwrap().class(),
            StatusClass::ServerError
        );
    }
}
