//! `labs`: step-by-step protocol exercises that check a learner's own program over the wire.
//!
//! A learner writes a server, a pinger, a mail client or a proxy in any language. `labs` says
//! what to build next ([`catalog`]), reaches the program the way it asks ([`check::Reach`]:
//! connect to it, wait for it, or start it), runs each step's check while recording every byte
//! (`exchange`), and reports a failure with the bytes that were wrong and why ([`report`]).
//!
//! Scope: the checks speak real protocols over real sockets on loopback; they never trust the
//! learner's program to behave: every read has a deadline and a byte cap, and a program `labs`
//! started is always stopped.

// A `Failure` is a few strings: the cold path of every check, and read by people. Boxing it would
// only make every check noisier.
#![allow(clippy::result_large_err)]

mod capture;
pub mod catalog;
pub mod check;
pub mod cli;
mod exchange;
mod grading;
mod html;
mod http;
pub mod import;
pub mod learner;
mod mime;
pub mod origin;
mod progress;
pub mod report;
pub mod runner;
mod trace_tools;
mod tracks;

/// The sequence diagrams (a crate of their own, which the server's demo site draws with too).
pub use ::diagram;
