//! Protocol cores for protolab, with no I/O.
//!
//! Every module here is a state machine or a parser that is fed bytes (and, where time matters,
//! the current time as an argument) and answers with what to do next. Nothing in this crate opens
//! a socket, reads a clock, spawns a thread or touches the file system. The programs in the
//! workspace (`server`, `proxy`, `client`, `ping`, `smtp`, `labs`) are thin shells that move bytes
//! between these cores and the operating system.
//!
//! | module | what it speaks |
//! | --- | --- |
//! | [`http1`] | HTTP/1.1 messages, framing, chunked coding, connections, dates, conditionals, ranges (RFC 9110, 9112) |
//! | [`trace`] | the `.trace` exchange format used by recordings, snapshots, labs and the REPL |
//! | [`base64`] | base64 (RFC 4648), as SMTP AUTH and MIME use it |
//! | [`smtp`] | SMTP commands, replies and the session state machine (RFC 5321), messages (RFC 5322, MIME) |
//! | [`cache`] | HTTP caching for a shared cache (RFC 9111): storability, freshness, age, validation |
//! | [`ping`] | the UDP pinger: sequence numbers, in-flight table, timeouts, statistics |
//! | [`packet`] | captured frames: Ethernet, IPv4/IPv6, TCP and UDP headers, read and written |
//! | [`tcp_reassembly`] | TCP segments back into the two byte streams (RFC 9293 §3.4, §3.10.7.4) |
//! | [`split_mix`] | SplitMix64, the seedable generator behind the pinger's simulated loss and the tests' cut points |
//! | `testing` | test support (the `testing` feature): feed a parser its input whole, byte by byte, at random splits |
#![forbid(unsafe_code)]

pub mod base64;
pub mod cache;
pub mod http1;
pub mod packet;
pub mod ping;
pub mod smtp;
pub mod split_mix;
pub mod tcp_reassembly;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trace;

/// The answer of every incremental parser in this crate.
///
/// `Partial` means "this prefix is fine so far, feed me more". `Complete((n, value))` means the
/// first `n` bytes of the input made `value`; the bytes after them belong to whatever comes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status<T> {
    /// More bytes are needed before anything can be decided.
    Partial,
    /// A complete item, and how many bytes of the input it used.
    Complete(T),
}

impl<T> Status<T> {
    /// Maps the completed value, leaving `Partial` alone.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Status::Partial => Status::Partial,
            Status::Complete(t) => Status::Complete(f(t)),
        }
    }

    /// True when the item is complete.
    pub fn is_complete(&self) -> bool {
        matches!(self, Status::Complete(_))
    }
}
