//! HTTP/1.1 as RFC 9110 (semantics) and RFC 9112 (message syntax) define it, without I/O.
//!
//! | module | what it owns |
//! | --- | --- |
//! | [`error`] | parse errors, who broke the protocol, the status each one maps to |
//! | [`fields`] | header fields: ordered, original case, case-insensitive lookup, comma lists |
//! | [`target`] | request targets (four forms), percent-decoding, the path normaliser |
//! | [`request`] | request heads: borrowed raw view and validated owned head |
//! | [`response`] | response heads: borrowed raw view and validated owned head |
//! | [`method`], [`version`], [`status`] | methods, protocol versions, status codes and reason phrases |
//! | [`options`] | limits and named leniencies for the head parsers |
//! | [`head`] | what request and response heads share: lines and the field section |
//! | [`abnf`] | the character classes of the grammar (`tchar`, `field-vchar`, URI bytes) |
//! | [`framing`] | how long a message body is (RFC 9112 §6.3), smuggling shapes refused |
//! | [`chunked`] | the chunked transfer coding (RFC 9112 §7.1): decoder and encoder |
//! | [`reader`] | one message as it arrives, either role: head, framing decision, body, trailers |
//! | [`plain_response`] | a plain response head's framing in one pass, for a client that only counts responses |
//! | [`conn`] | the connection state machine for both roles (keep-alive, pipelining, 100-continue) |
//! | [`date`] | HTTP dates (RFC 9110 §5.6.7) |
//! | [`conditional`] | conditional requests (RFC 9110 §13) |
//! | [`range`] | range requests (RFC 9110 §14) |
//! | [`via`] | the `Via` field (RFC 9110 §7.6.3): intermediaries passed, loops |
//! | [`max_forwards`] | `Max-Forwards` on TRACE and OPTIONS (RFC 9110 §7.6.2), the TRACE reflection |
//!
//! Reading a request head, the way a server does:
//!
//! ```
//! use wire::http1::{Method, ParseOptions, RequestHead};
//! use wire::Status;
//!
//! let buf = b"GET /docs/?q=1 HTTP/1.1\r\nHost: localhost:8080\r\n\r\nrest";
//! let Ok(Status::Complete((used, head))) = RequestHead::parse(buf, &ParseOptions::STRICT) else {
//!     panic!("a complete, valid head")
//! };
//! assert_eq!(&buf[used..], b"rest");
//! assert_eq!(head.method, Method::Get);
//! assert_eq!(head.target.path(), Some("/docs/"));
//! assert_eq!(head.headers.get_str("HOST"), Some("localhost:8080"));
//! ```

pub mod abnf;
pub mod chunked;
pub mod conditional;
pub mod conn;
pub mod date;
pub mod error;
pub mod fields;
pub mod framing;
pub mod head;
pub mod max_forwards;
pub mod method;
pub mod options;
pub mod plain_response;
pub mod range;
pub mod reader;
pub mod request;
pub mod response;
pub mod status;
#[cfg(test)]
mod strategies;
pub mod target;
pub mod version;
pub mod via;

pub use error::{Blame, BuildError, ParseError};
pub use fields::{
    AcceptEncoding, CacheDirective, Field, FramingFields, Headers, Te, TransferCoding, Vary,
};
pub use head::RawField;
pub use method::Method;
pub use options::{Leniencies, Leniency, Limits, ParseOptions};
pub use request::{RawRequest, RequestHead};
pub use response::{RawResponse, ResponseHead};
pub use status::{reason_phrase, StatusCode};
pub use target::{Authority, PathError, SafePath, Segment, Target, TargetError};
pub use version::Version;
