//! `/inspect?diagram` on the demo site: the request that loaded the page, drawn as the sequence
//! diagram `labs` draws (the [`diagram`] crate), each message one click from its bytes in
//! `.trace` syntax. `/inspect` itself answers the same bytes as text.
//!
//! The answer's arrow carries the head as this route builds it; the server adds `Server`,
//! `Date` and the framing (`Content-Length`) as it sends it, and the body is this page.

use diagram::page::{figure, message_list, page_end, page_start};
use diagram::{Diagram, Lane, Options};
use std::fmt::Write as _;
use wire::http1::{ResponseHead, StatusCode};
use wire::trace::{Tag, Trace, Transport};

use crate::handler::Context;
use crate::response::Response;

/// True when the query asks for the picture (`?diagram`, alone or among other parameters).
pub fn wanted(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|p| p == "diagram" || p.starts_with("diagram="))
    })
}

/// The page: the exchange that loaded it as a diagram, then every message in full.
pub fn page(cx: &Context<'_>) -> Response {
    let answer = Response::new(200)
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Cache-Control", "no-store");
    let mut trace = Trace::new(Transport::Tcp);
    trace.push_bytes(Tag::Client, cx.raw);
    trace.push_bytes(Tag::Server, &answer_head(&answer));
    let mut d = Diagram::from_trace(&trace);
    d.lane_notes = vec![
        (Lane::Client, "you".into()),
        (Lane::Server, "this server".into()),
    ];
    let mut out = String::new();
    page_start(&mut out, "Your request, drawn");
    out.push_str("<h1>Your request, drawn</h1>\n<section>\n");
    let _ = writeln!(
        out,
        "<p>The request that loaded this page, {} bytes exactly as the server received them, \
         and the head of the answer (the server adds <code>Server</code>, <code>Date</code> and \
         <code>Content-Length</code> as it sends it; the body is this page). Each arrow opens \
         its message below, one wire line per line, <code>\\r\\n</code> being the CR LF that \
         ends it.</p>",
        cx.raw.len()
    );
    let options = Options {
        link_prefix: Some("m".into()),
        title: Some("your request and its answer".into()),
    };
    figure(&mut out, "2 messages between client, server", &d, &options);
    message_list(&mut out, &d, "m");
    out.push_str(
        "<p>The same request as text: <a href=\"/inspect\">/inspect</a>. \
         Any <code>.trace</code> file draws the same way with \
         <code>labs trace view FILE.trace -o OUT.html</code>.</p>\n</section>\n",
    );
    page_end(&mut out);
    answer.bytes(out.into_bytes())
}

/// The head the diagram shows for this page's own answer: its status line and the fields the
/// route set, as the answer itself carries them.
fn answer_head(answer: &Response) -> Vec<u8> {
    let mut head = ResponseHead::new(StatusCode::new(answer.status).expect("200 is a status"));
    head.headers = answer.headers().clone();
    head.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_asks_for_the_picture() {
        assert!(wanted(Some("diagram")));
        assert!(wanted(Some("a=1&diagram=1")));
        assert!(!wanted(Some("diagrams")));
        assert!(!wanted(None));
    }

    #[test]
    fn the_drawn_head_is_the_answers_own() {
        let answer = Response::new(200)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Cache-Control", "no-store");
        assert_eq!(
            answer_head(&answer),
            b"\
            HTTP/1.1 200 OK\r\n\
            Content-Type: text/html; charset=utf-8\r\n\
            Cache-Control: no-store\r\n\
            \r\n"
        );
    }
}
