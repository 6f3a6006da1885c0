//! The test responder: a fixed little site, so a snapshot shows what the connection core did
//! with a request rather than what a real handler chose.
//!
//! | target | answer |
//! | --- | --- |
//! | `/`, `/index.html` (GET, HEAD) | 200, `text/html`, a fixed 44-byte page, `Content-Length` |
//! | `/chunked` (GET, HEAD) | 200 with no length: the core frames it (chunked for 1.1, close for 1.0) |
//! | `/large` (GET, HEAD) | 200, 3700 bytes (elided in snapshots) |
//! | `/no-content` | 204 |
//! | `/not-modified` | 304 with an `ETag` |
//! | `/close` | 200 with `Connection: close` |
//! | `/echo` (any method) | 200 with the request body as it arrived, and its trailers as headers |
//! | any other target | 404 with a short body |
//! | `/` and friends with another method | 405 with `Allow: GET, HEAD` |

use std::time::SystemTime;

use wire::http1::date::HttpDate;
use wire::http1::{Headers, Method, RequestHead, ResponseHead, StatusCode};

/// The page at `/` and `/index.html`.
pub const INDEX_PAGE: &[u8] = b"<!doctype html>\n<h1>protolab test page</h1>\n";

/// A response: the head, and the body in the pieces it is sent in.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status line and fields; framing fields only when the responder sets the length itself.
    pub head: ResponseHead,
    /// Body pieces, each sent with one `send_data` (ignored where the message has no body).
    pub body: Vec<Vec<u8>>,
    /// Trailer fields for a chunked body.
    pub trailers: Option<Headers>,
}

/// Answers one complete request. `now` comes from the trace's `# now:`; with it the response
/// carries a `Date:` field.
pub fn respond(
    request: &RequestHead,
    body: &[u8],
    trailers: &Headers,
    now: Option<SystemTime>,
) -> Answer {
    let path = request.target.path().unwrap_or("");
    let is_get_or_head = matches!(request.method, Method::Get | Method::Head);
    let mut answer = match path {
        "/echo" => {
            let mut answer = fixed(StatusCode::OK, "application/octet-stream", body);
            for field in trailers {
                answer
                    .head
                    .headers
                    .append(&format!("Echo-Trailer-{}", field.name()), field.value())
                    .expect("a received field is a valid field");
            }
            answer
        }
        "/" | "/index.html" | "/chunked" | "/large" | "/no-content" | "/not-modified"
        | "/close"
            if !is_get_or_head =>
        {
            let mut answer = fixed(
                StatusCode::new(405).expect("405 is a status code"),
                "text/plain",
                b"only GET and HEAD here\n",
            );
            answer.head.headers.append("Allow", "GET, HEAD").unwrap();
            answer
        }
        "/" | "/index.html" => fixed(StatusCode::OK, "text/html", INDEX_PAGE),
        "/large" => fixed(StatusCode::OK, "text/plain", &large_body()),
        "/chunked" => {
            let mut head = ResponseHead::new(StatusCode::OK);
            head.headers.append("Content-Type", "text/plain").unwrap();
            Answer {
                head,
                body: vec![
                    b"first piece\n".to_vec(),
                    b"second\n".to_vec(),
                    b"last\n".to_vec(),
                ],
                trailers: None,
            }
        }
        "/no-content" => Answer {
            head: ResponseHead::new(StatusCode::new(204).unwrap()),
            body: Vec::new(),
            trailers: None,
        },
        "/not-modified" => {
            let mut head = ResponseHead::new(StatusCode::new(304).unwrap());
            head.headers.append("ETag", "\"v1\"").unwrap();
            Answer {
                head,
                body: Vec::new(),
                trailers: None,
            }
        }
        "/close" => {
            let mut answer = fixed(StatusCode::OK, "text/plain", b"goodbye\n");
            answer.head.headers.append("Connection", "close").unwrap();
            answer
        }
        _ => fixed(StatusCode::new(404).unwrap(), "text/plain", b"not found\n"),
    };
    if let Some(now) = now {
        let date = HttpDate::from(now).to_imf_fixdate();
        answer.head.headers.insert("Date", date).unwrap();
    }
    answer
}

/// The answer to a request the core refused: the status it hints, a one-line body, and close.
pub fn refuse(status: u16, now: Option<SystemTime>) -> Answer {
    let status = StatusCode::new(status).unwrap_or(StatusCode::new(400).unwrap());
    let text = format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let mut answer = fixed(status, "text/plain", text.as_bytes());
    answer.head.headers.append("Connection", "close").unwrap();
    if let Some(now) = now {
        answer
            .head
            .headers
            .insert("Date", HttpDate::from(now).to_imf_fixdate())
            .unwrap();
    }
    answer
}

fn fixed(status: StatusCode, content_type: &str, body: &[u8]) -> Answer {
    let mut head = ResponseHead::new(status);
    head.headers.append("Content-Type", content_type).unwrap();
    head.headers
        .append("Content-Length", body.len().to_string())
        .unwrap();
    Answer {
        head,
        body: vec![body.to_vec()],
        trailers: None,
    }
}

/// 3700 bytes: 100 numbered lines of 37 bytes.
fn large_body() -> Vec<u8> {
    (0..100)
        .flat_map(|n| format!("line {n:03} of the large test body.....\n").into_bytes())
        .collect()
}
