//! The edge between a connection and `wire::http1`: the request line the access log shows, the
//! per-thread `Date` value, and a per-thread pool of connection buffers.
use std::cell::RefCell;
use std::time::SystemTime;

use wire::http1::conn::{Buffers, Conn};
use wire::http1::date::DateCache;
use wire::http1::RequestHead;

/// The request line as the access log shows it: `GET /index.html HTTP/1.1`.
pub fn request_line(head: &RequestHead) -> Vec<u8> {
    format!("{} {} {}", head.method, head.target, head.version).into_bytes()
}

thread_local! {
    static DATE: RefCell<Option<DateCache>> = const { RefCell::new(None) };
    static SPARE: RefCell<Vec<Buffers>> = const { RefCell::new(Vec::new()) };
}

/// Buffers kept per thread for the next connection. A loop finishes one short exchange before
/// the next, so a few cover a new connection per request; the cap bounds what 10,000 idle
/// connections leave resident (8 x about 10 KiB).
const SPARE_BUFFERS: usize = 8;

/// Gives `conn` buffers an earlier connection on this thread left (no allocation, no zeroing).
pub fn lend_buffers(conn: &mut Conn) {
    if let Some(b) = SPARE.with(|s| s.borrow_mut().pop()) {
        conn.provide_buffers(b);
    }
}

/// Keeps buffers a closing or idle connection gave back, up to [`SPARE_BUFFERS`]; frees the rest.
pub fn keep_buffers(buffers: Buffers) {
    if buffers.capacity() == 0 {
        return;
    }
    SPARE.with(|s| {
        let mut spare = s.borrow_mut();
        if spare.len() < SPARE_BUFFERS {
            spare.push(buffers);
        }
    });
}

/// Calls `f` with the IMF-fixdate for `now`, formatted at most once per second per thread.
pub fn with_date<R>(now: SystemTime, f: impl FnOnce(&[u8]) -> R) -> R {
    DATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let cache = slot.get_or_insert_with(|| DateCache::new(now));
        f(cache.imf_fixdate(now))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::http1::ParseOptions;
    use wire::Status;

    #[test]
    fn the_request_line_is_rebuilt_for_the_log() {
        let Ok(Status::Complete((_, head))) = RequestHead::parse(
            b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n",
            &ParseOptions::STRICT,
        ) else {
            panic!("a valid head")
        };
        assert_eq!(request_line(&head), b"GET /a?b=1 HTTP/1.1");
        assert_eq!(
            (crate::handler::path(&head), head.target.query()),
            ("/a", Some("b=1"))
        );
    }

    #[test]
    fn the_date_is_an_imf_fixdate() {
        let d = with_date(SystemTime::UNIX_EPOCH, |d| d.to_vec());
        assert_eq!(d, b"Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
