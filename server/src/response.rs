//! What a handler answers: a status, header fields, and a body that may be bytes, a slice of a
//! file (sent with `sendfile`), several of those (multipart ranges), or a stream of chunks.
//!
//! Handlers never write framing: `Date`, `Server`, `Content-Length` and `Connection: close` are
//! added by [`crate::connection`] (`Connection::send`) when the response is sent, and
//! `Transfer-Encoding` by the `wire` core it hands the head to, because only they know the request
//! method, the protocol version and whether the connection stays open. ([`crate::exchange`] holds
//! the per-thread `Date` value that `send` copies.)
use std::fs::File;
use std::sync::Arc;
use std::time::Instant;

use wire::http1::fields::Headers;

/// A piece of a body.
#[derive(Debug, Clone)]
pub enum Segment {
    /// Bytes in memory.
    Bytes(Arc<[u8]>),
    /// Bytes compiled into the binary (the demo site).
    Static(&'static [u8]),
    /// `len` bytes of a file from `offset`, sent with `sendfile`.
    File {
        file: Arc<File>,
        offset: u64,
        len: u64,
    },
}

impl Segment {
    pub fn len(&self) -> u64 {
        match self {
            Segment::Bytes(b) => b.len() as u64,
            Segment::Static(b) => b.len() as u64,
            Segment::File { len, .. } => *len,
        }
    }
}

/// What a stream of chunks has next.
pub enum Next {
    /// A chunk to send now.
    Chunk(Vec<u8>),
    /// Nothing before this instant.
    WaitUntil(Instant),
    /// The body is complete.
    End,
}

/// A body produced over time (the `/chunked` demo). Sent with chunked coding on HTTP/1.1.
pub trait ChunkSource: Send {
    fn next(&mut self, now: Instant) -> Next;
}

/// A response body.
pub enum Body {
    /// A body of known length, as one or more segments.
    Fixed(Vec<Segment>),
    /// A body whose length is not known in advance.
    Stream(Box<dyn ChunkSource>),
}

impl Body {
    pub fn empty() -> Body {
        Body::Fixed(Vec::new())
    }

    /// The length when it is known in advance.
    pub fn known_len(&self) -> Option<u64> {
        match self {
            Body::Fixed(parts) => Some(parts.iter().map(Segment::len).sum()),
            Body::Stream(_) => None,
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Fixed(parts) => f.debug_tuple("Fixed").field(parts).finish(),
            Body::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// A response before framing: the handler's field lines are kept as `wire`'s [`Headers`], which
/// [`crate::connection`] moves into the head it sends, after `Server` and `Date`.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    headers: Headers,
    pub body: Body,
    /// The handler wants the connection closed after this response.
    pub close: bool,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Headers::new(),
            body: Body::empty(),
            close: false,
        }
    }

    /// Adds a field. A value must not hold CR or LF; any that do are replaced by spaces rather
    /// than let a value split the head. A line `wire` still refuses (a name that is not a token,
    /// a value with another control byte or white space at an edge) is left out.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Response {
        self.push_header(name, value.as_ref());
        self
    }

    pub fn push_header(&mut self, name: &str, value: &[u8]) {
        // A line still refused is left out, as it always was when the head was sent.
        let _ = if value.iter().any(|&b| b == b'\r' || b == b'\n') {
            let value: Vec<u8> = value
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            self.headers.append(name, value)
        } else {
            self.headers.append(name, value)
        };
    }

    /// The field lines so far, in order.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The field lines, for the connection to send.
    pub fn take_headers(&mut self) -> Headers {
        std::mem::take(&mut self.headers)
    }

    /// Removes every line named `name` (any case).
    pub fn remove_header(&mut self, name: &str) {
        self.headers.remove(name);
    }

    pub fn body(mut self, body: Body) -> Response {
        self.body = body;
        self
    }

    pub fn bytes(self, bytes: impl Into<Arc<[u8]>>) -> Response {
        self.body(Body::Fixed(vec![Segment::Bytes(bytes.into())]))
    }

    /// A short `text/plain` response, the way errors are answered: the text names the problem.
    pub fn text(status: u16, text: impl Into<String>) -> Response {
        let mut text = text.into();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .bytes(text.into_bytes())
    }

    /// An HTML page.
    pub fn html(status: u16, html: String) -> Response {
        Response::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .bytes(html.into_bytes())
    }

    pub fn closing(mut self) -> Response {
        self.close = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_kept_in_order_and_cannot_split_the_head() {
        let r = Response::new(200)
            .header("ETag", "\"x\"")
            .header("X-Evil", "a\r\nSet-Cookie: b");
        let mut lines = Vec::new();
        r.headers().write_to(&mut lines);
        assert_eq!(lines, b"ETag: \"x\"\r\nX-Evil: a  Set-Cookie: b\r\n");
        assert_eq!(r.headers().get("etag"), Some(&b"\"x\""[..]));
        assert_eq!(r.headers().get("set-cookie"), None);
    }

    #[test]
    fn text_bodies_end_in_a_newline() {
        let r = Response::text(404, "no such file: /x");
        assert_eq!(r.body.known_len(), Some(17));
        assert_eq!(
            r.headers().get("Content-Type"),
            Some(&b"text/plain; charset=utf-8"[..])
        );
    }
}
