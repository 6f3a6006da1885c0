//! `server`: an origin HTTP/1.1 server with a built-in demo site, as a thin shell over
//! `wire::http1`.
//!
//! | module | what it does |
//! | --- | --- |
//! | [`cli`], [`config`] | flags, the TOML config file, defaults |
//! | [`server`] | start (bind, threads), reload, graceful stop |
//! | [`event_loop`] | the `epoll` and `pool` models (mio readiness loops) |
//! | [`server::serve_blocking`] | the `threads` model: a thread per connection |
//! | [`connection`] | one connection: bytes in, responses out, limits and timeouts |
//! | [`exchange`] | the edge to `wire::http1`: request heads, keep-alive, the `Date` value |
//! | [`handler`], [`routes`], [`ranges`] | from a request to a response: files, listings, demo routes |
//! | [`site`], [`demo`], [`listing`], [`content_type`] | what a path names, the embedded site, folder pages, MIME types |
//! | [`upload`] | atomic PUT and DELETE |
//! | [`sendfile`], [`memory`], [`socket_options`] | zero-copy file bodies, returning freed memory, `TCP_DEFER_ACCEPT` (the three `unsafe` calls) |
//! | [`stats`], [`log`] | `/server-status`, access and error logs |
//! | [`console`] | signals and the terminal console |
pub mod cli;
pub mod config;
pub mod connection;
pub mod console;
pub mod content_type;
pub mod demo;
pub mod event_loop;
pub mod exchange;
pub mod file_cache;
pub mod handler;
pub mod inspect_page;
pub mod lab_routes;
pub mod listing;
pub mod log;
pub mod memory;
pub mod ranges;
pub mod response;
pub mod routes;
pub mod sendfile;
pub mod server;
pub mod shared;
pub mod site;
pub mod socket_options;
pub mod stats;
pub mod upload;

pub use config::{Clock, Config, Model};
pub use server::Server;
