//! `server`: an origin HTTP/1.1 server with a built-in demo site, as a thin shell over
//! `wire::http1`.
//!
//! Only what the binary and the tests use is public: [`cli`], [`config`], [`console`],
//! [`server`] and [`handler::gzip`]; the rest are private modules.
//!
//! | module | what it does |
//! | --- | --- |
//! | [`cli`], [`config`] | flags, the TOML config file, defaults |
//! | [`server`] | start (bind, threads), reload, graceful stop |
//! | `event_loop` | the `epoll` and `pool` models (mio readiness loops) |
//! | [`server::serve_blocking`] | the `threads` model: a thread per connection |
//! | `connection` | one connection: bytes in, responses out, limits and timeouts |
//! | `exchange` | the edge to `wire::http1`: the logged request line, the `Date` value, spare buffers |
//! | [`handler`], `routes`, `ranges` | from a request to a response: files, listings, demo routes |
//! | `site`, `demo`, `listing`, `content_type` | what a path names, the embedded site, folder pages, MIME types |
//! | `upload` | atomic PUT and DELETE |
//! | `sendfile`, `memory`, `socket_options` | zero-copy file bodies, returning freed memory, `TCP_DEFER_ACCEPT` (the three `unsafe` calls) |
//! | `stats`, `log` | `/server-status`, access and error logs |
//! | [`console`] | signals and the terminal console |
pub mod cli;
pub mod config;
mod connection;
pub mod console;
mod content_type;
mod demo;
mod event_loop;
mod exchange;
mod file_cache;
pub mod handler;
mod inspect_page;
mod lab_routes;
mod listing;
mod log;
mod memory;
mod ranges;
mod response;
mod routes;
mod sendfile;
pub mod server;
mod shared;
mod site;
mod socket_options;
mod stats;
mod upload;

pub use config::{Clock, Config, Model};
pub use server::Server;
