//! The proxy's own pages: how to use it (`/`), and its counters (`/proxy-status`).

use std::sync::atomic::Ordering;

use crate::Stats;

/// The page for `/` (and `OPTIONS *`): what the proxy is and how to point a client at it.
pub fn usage_page(addr: &str) -> String {
    format!(
        "protolab proxy: a caching forward HTTP proxy (RFC 9110, 9111, 9112)\n\
         \n\
         Use it one of these ways:\n\
         \n\
         \x20 curl -x http://{addr} http://example.com/          absolute-form, as browsers send it\n\
         \x20 curl http://{addr}/http://example.com/             the path form of the proxy lab\n\
         \x20 curl http://{addr}/example.com:80/                 the short path form (port required)\n\
         \x20 curl -x http://{addr} https://example.com/         https through a CONNECT tunnel\n\
         \n\
         Every response carries X-Cache: HIT, MISS, REVALIDATED, STALE or BYPASS.\n\
         Counters: http://{addr}/proxy-status\n"
    )
}

/// The page for `/proxy-status`.
pub fn status_page(stats: &Stats, cache: Option<(u64, usize, u64)>, connections: usize) -> String {
    let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let mut page = format!(
        "requests: {}\nhits: {}\nmisses: {}\nrevalidations: {}\nstale: {}\nbypasses: {}\n\
         tunnels: {}\nerrors: {}\nbytes to clients: {}\nbytes from origins: {}\n\
         open connections: {connections}\n",
        n(&stats.requests),
        n(&stats.hits),
        n(&stats.misses),
        n(&stats.revalidations),
        n(&stats.stale),
        n(&stats.bypasses),
        n(&stats.tunnels),
        n(&stats.errors),
        n(&stats.bytes_to_clients),
        n(&stats.bytes_from_origins),
    );
    match cache {
        Some((bytes, entries, capacity)) => page.push_str(&format!(
            "cache entries: {entries}\ncache bytes: {bytes} of {capacity}\n"
        )),
        None => page.push_str("cache: off (--no-cache)\n"),
    }
    page
}
