//! The tracks, one module each.

pub mod http;
pub mod mail;
pub mod pinger;
pub mod proxy;
pub mod webserver;

use crate::catalog::Track;

/// Every track in teaching order.
pub static ALL: &[&Track] = &[
    &http::TRACK,
    &webserver::TRACK,
    &pinger::TRACK,
    &mail::TRACK,
    &proxy::TRACK,
];
