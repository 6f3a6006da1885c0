//! The dynamic routes: `/server-status` everywhere, the labs' routes ([`crate::lab_routes`]), and on the demo site `/inspect` (the request
//! as received, rendered as a trace; `/inspect?diagram` draws it, [`crate::inspect_page`]), `/cookies` (a visit counter) and `/chunked` (a streamed
//! body).
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use wire::http1::{Method, RequestHead};
use wire::trace::{Tag, Trace, Transport};

use crate::handler::{path, Context};
use crate::listing::escape_html;
use crate::response::{Body, ChunkSource, Next, Response};
use crate::shared::Settings;

/// The response of a dynamic route, or `None` when the path is not one.
pub fn dynamic(head: &RequestHead, cx: &Context<'_>) -> Option<Response> {
    if crate::lab_routes::enabled(cx.settings) {
        if let Some(r) = crate::lab_routes::route(head, cx) {
            return Some(r);
        }
    }
    let read = matches!(head.method, Method::Get | Method::Head);
    match path(head) {
        "/server-status" => Some(if read {
            Response::text(200, cx.shared.stats.snapshot().render())
                .header("Cache-Control", "no-store")
        } else {
            not_allowed(head, "GET, HEAD")
        }),
        _ if !cx.settings.source.is_demo() => None,
        "/inspect" => Some(match &head.method {
            Method::Get | Method::Head if crate::inspect_page::wanted(head.target.query()) => {
                crate::inspect_page::page(cx)
            }
            Method::Get | Method::Head | Method::Post | Method::Put => inspect(head, cx),
            _ => not_allowed(head, "GET, HEAD, POST, PUT"),
        }),
        "/cookies" => Some(if read {
            cookies(head)
        } else {
            not_allowed(head, "GET, HEAD")
        }),
        "/chunked" => Some(if read {
            chunked(head)
        } else {
            not_allowed(head, "GET, HEAD")
        }),
        _ => None,
    }
}

/// True when the handler for `method` on `path` reads the request body (the demo's `/inspect`,
/// the lab's `POST /files/NAME`); every other handler answers from the head alone, so a refusal
/// can go out before the body is read. A route that starts reading bodies must be named here.
pub fn reads_body(method: &Method, path: &str, settings: &Settings) -> bool {
    let demo = settings.source.is_demo();
    let inspect = demo && path == "/inspect" && matches!(method, Method::Post | Method::Put);
    let lab_upload = crate::lab_routes::enabled(settings)
        && *method == Method::Post
        && path.starts_with("/files/");
    inspect || lab_upload
}

fn not_allowed(head: &RequestHead, allow: &str) -> Response {
    Response::text(
        405,
        format!(
            "405 Method Not Allowed: {} is not allowed on {}; use {allow}",
            head.method,
            path(head)
        ),
    )
    .header("Allow", allow)
}

/// The request exactly as received, in the `.trace` syntax every protolab tool uses.
fn inspect(head: &RequestHead, cx: &Context<'_>) -> Response {
    let mut trace = Trace::new(Transport::Tcp);
    trace.push_bytes(Tag::Client, cx.raw);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Your request, exactly as the server received it ({} bytes), in .trace syntax:",
        cx.raw.len()
    );
    let _ = writeln!(
        text,
        "# every line is one line on the wire; \\r\\n are the CR LF bytes that end it."
    );
    text.push_str(&trace.render());
    if head_has_bare_lf(cx.raw) {
        let _ = writeln!(
            text,
            "\n# Some lines of the head end in a bare LF (\\n without \\r): accepted, as RFC 9112 \
             §2.2 allows, but HTTP/1.1 lines end in CR LF (a server started with --strict answers \
             400)."
        );
    }
    if request_line_has_raw_utf8(cx.raw) {
        let _ = writeln!(
            text,
            "\n# The path holds raw UTF-8 bytes: read as if percent-encoded (%C3%A9 for \u{e9}), \
             as nginx does, but a URI is ASCII (RFC 3986 §2.1; a server started with --strict \
             answers 400)."
        );
    }
    if !cx.body.is_empty() {
        let _ = writeln!(
            text,
            "\n# The body after removing any chunked framing: {} bytes.",
            cx.body.len()
        );
        if head
            .headers
            .get("content-type")
            .is_some_and(|t| t.starts_with(b"application/x-www-form-urlencoded"))
        {
            let _ = writeln!(text, "# Form fields, decoded:");
            for pair in cx.body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
                let mut kv = pair.splitn(2, |&b| b == b'=');
                let k = form_decode(kv.next().unwrap_or_default());
                let v = form_decode(kv.next().unwrap_or_default());
                let _ = writeln!(text, "#   {k} = {v}");
            }
        }
    }
    Response::text(200, text).header("Cache-Control", "no-store")
}

/// True when a line of the request head (up to its empty line) ends in LF without CR.
/// True when the request line (up to its first LF) holds a byte above 0x7F.
fn request_line_has_raw_utf8(raw: &[u8]) -> bool {
    raw.iter()
        .take_while(|&&b| b != b'\n')
        .any(|b| !b.is_ascii())
}

fn head_has_bare_lf(raw: &[u8]) -> bool {
    let mut previous = 0u8;
    let mut line_start = true;
    for &b in raw {
        if b == b'\n' {
            if previous != b'\r' {
                return true;
            }
            if line_start {
                // The empty line: the head is over.
                return false;
            }
            line_start = true;
        } else if b != b'\r' {
            line_start = false;
        }
        previous = b;
    }
    false
}

/// Decodes one urlencoded form component: `+` is a space, `%XX` a byte; bad escapes stay as is.
pub(crate) fn form_decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A visit counter kept in a cookie, with the `Set-Cookie` line shown on the page.
fn cookies(head: &RequestHead) -> Response {
    let reset = head
        .target
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "reset"));
    let previous: u64 = head
        .headers
        .get_all("cookie")
        .flat_map(|v| v.split(|&b| b == b';'))
        .filter_map(|c| std::str::from_utf8(c).ok())
        .find_map(|c| c.trim().strip_prefix("visits="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (visits, set_cookie) = if reset {
        (
            0,
            "visits=0; Path=/cookies; Max-Age=0; HttpOnly; SameSite=Lax".to_string(),
        )
    } else {
        let n = previous.saturating_add(1);
        (
            n,
            format!("visits={n}; Path=/cookies; Max-Age=3600; HttpOnly; SameSite=Lax"),
        )
    };
    let sent = head
        .headers
        .get_all("cookie")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect::<Vec<_>>()
        .join("; ");
    let body = format!(
        include_str!("../demo/cookies.html"),
        visits = visits,
        sent = if sent.is_empty() {
            "(none)".to_string()
        } else {
            escape_html(&sent)
        },
        set_cookie = escape_html(&set_cookie),
    );
    Response::html(200, body)
        .header("Set-Cookie", &set_cookie)
        .header("Cache-Control", "no-store")
}

/// `n` lines, `delay_ms` apart, each in its own chunk.
struct Ticker {
    sent: u32,
    count: u32,
    delay: Duration,
    next_at: Option<Instant>,
}

impl ChunkSource for Ticker {
    fn next(&mut self, now: Instant) -> Next {
        if self.sent == self.count {
            return Next::End;
        }
        let due = *self.next_at.get_or_insert(now);
        if now < due {
            return Next::WaitUntil(due);
        }
        self.sent += 1;
        self.next_at = Some(due + self.delay);
        let at = self.delay.as_millis() * u128::from(self.sent - 1);
        Next::Chunk(
            format!("line {} of {}, sent at +{at} ms\n", self.sent, self.count).into_bytes(),
        )
    }
}

fn chunked(head: &RequestHead) -> Response {
    let mut count = 8u32;
    let mut delay_ms = 250u64;
    for pair in head.target.query().unwrap_or("").split('&') {
        if let Some(v) = pair.strip_prefix("n=") {
            count = v.parse().unwrap_or(count).clamp(1, 100);
        } else if let Some(v) = pair.strip_prefix("delay_ms=") {
            delay_ms = v.parse().unwrap_or(delay_ms).min(2000);
        }
    }
    Response::new(200)
        .header("Content-Type", "text/plain; charset=utf-8")
        .header("Cache-Control", "no-store")
        // Browsers buffer the first bytes of a text body before showing it; this keeps them from
        // sniffing, so each line appears as its chunk arrives.
        .header("X-Content-Type-Options", "nosniff")
        .body(Body::Stream(Box::new(Ticker {
            sent: 0,
            count,
            delay: Duration::from_millis(delay_ms),
            next_at: None,
        })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_components_decode() {
        assert_eq!(form_decode(b"1+%2B+1"), "1 + 1");
        assert_eq!(form_decode(b"caf%C3%A9"), "café");
        assert_eq!(form_decode(b"50%"), "50%");
        assert_eq!(form_decode(b"%zz"), "%zz");
    }

    #[test]
    fn the_ticker_waits_between_lines() {
        let start = Instant::now();
        let mut t = Ticker {
            sent: 0,
            count: 2,
            delay: Duration::from_millis(100),
            next_at: None,
        };
        assert!(matches!(t.next(start), Next::Chunk(c) if c == b"line 1 of 2, sent at +0 ms\n"));
        assert!(
            matches!(t.next(start), Next::WaitUntil(at) if at == start + Duration::from_millis(100))
        );
        assert!(matches!(
            t.next(start + Duration::from_millis(100)),
            Next::Chunk(_)
        ));
        assert!(matches!(t.next(start + Duration::from_secs(9)), Next::End));
    }
}
