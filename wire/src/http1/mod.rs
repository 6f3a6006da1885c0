//! HTTP/1.1 as RFC 9110 (semantics) and RFC 9112 (message syntax) define it, without I/O.
//!
//! | module | what it owns |
//! | --- | --- |
//! | [`error`] | parse errors, who broke the protocol, the status each one maps to |
//! | [`fields`] | header fields: ordered, original case, case-insensitive lookup, comma lists |
//! | [`target`] | request targets (four forms), percent-decoding, the path normaliser |
//! | [`request`] | request heads: borrowed raw view and validated owned head |
//! | [`response`] | response heads: borrowed raw view and validated owned head |
//! | [`framing`] | how long a message body is (RFC 9112 §6.3), smuggling shapes refused |
//! | [`chunked`] | the chunked transfer coding (RFC 9112 §7.1): decoder and encoder |
//! | [`conn`] | the connection state machine for both roles (keep-alive, pipelining, 100-continue) |
//! | [`date`] | HTTP dates (RFC 9110 §5.6.7) |
//! | [`conditional`] | conditional requests (RFC 9110 §13) |
//! | [`range`] | range requests (RFC 9110 §14) |

pub mod chunked;
pub mod conditional;
pub mod conn;
pub mod date;
pub mod error;
pub mod fields;
pub mod framing;
pub mod range;
pub mod request;
pub mod response;
pub mod target;
