//! The `client` program: a raw HTTP client that shows every byte, a REPL for typing requests by
//! hand, and a load generator.
//!
//! It is a shell: the HTTP messages are parsed and framed by `wire::http1`, and what went over the
//! wire is rendered by `wire::trace`. This crate moves bytes between those cores and sockets,
//! files and the terminal.
//!
//! | module | what it does |
//! | --- | --- |
//! | [`cli`] | the command line (clap) |
//! | [`target`] | the lab form and URLs, turned into places to connect to |
//! | [`net`] | resolve, connect with a timeout, TLS handshake, timing of each phase |
//! | [`tls`] | rustls configuration: webpki roots, `--cacert`, `-k` |
//! | [`paint`] | colour on a terminal only, hex dumps |
//! | [`histogram`] | latency histogram for `load` |
//! | [`exit`] | curl-compatible exit codes |

pub mod cli;
pub mod exit;
pub mod histogram;
pub mod net;
pub mod paint;
pub mod repl;
pub mod request;
pub mod target;
pub mod tls;
pub mod transcript;

pub use exit::ExitCode;
