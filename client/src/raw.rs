//! What the bytes given to `--raw` ask for: how many requests they hold (pipelined requests get
//! one response each), the method of each (a response to HEAD has no body), and whether the
//! bytes end in the middle of a request, so the client can say so at once instead of waiting for
//! an answer the server will never send.
//!
//! The bytes are read the way a lenient server would read them: heads by
//! [`RawRequest::parse`] with every named leniency on (bare LF, obs-fold, ...), the body length by
//! [`request_body_length`] (RFC 9112 §6.3), a chunked body by [`ChunkedDecoder`] (RFC 9112 §7.1).
//! Nothing is changed or refused here: the bytes are sent exactly as given whatever this module
//! makes of them.
//!
//! Out of scope: what the server makes of the bytes (a strict server may refuse a request read
//! leniently here; the client then shows its answer), and requests that switch protocols
//! (whatever follows a CONNECT or an Upgrade is counted as HTTP).

use wire::http1::chunked::{ChunkedDecoder, ChunkedEvent, ChunkedOptions};
use wire::http1::framing::{request_body_length, BodyLength};
use wire::http1::{ParseOptions, RawRequest, RequestHead};
use wire::trace::escape_inline;
use wire::Status;

/// One complete request found in the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRequest {
    /// The method, as sent.
    pub method: String,
    /// Bytes of the head, from the start of the request (empty lines before it included).
    pub head_len: usize,
    /// Bytes of the whole request, head and body (in its transfer coding).
    pub len: usize,
    /// The leniencies the head needed, in words (`bare LF line endings (RFC 9112 §2.2)`).
    pub leniencies: Vec<String>,
}

/// Bytes that cannot be the start of a request, even read leniently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotARequest {
    /// What is wrong, naming the offending bytes and the RFC rule.
    pub why: String,
}

/// Reads one request from the start of `buf`: `Partial` when the bytes end before the request
/// does, `Complete((n, request))` when the first `n` bytes are a whole request.
pub fn next_request(buf: &[u8]) -> Result<Status<(usize, FoundRequest)>, NotARequest> {
    let options = ParseOptions::LENIENT;
    let (head_len, raw) = match RawRequest::parse(buf, &options) {
        Ok(Status::Partial) => return Ok(Status::Partial),
        Ok(Status::Complete(done)) => done,
        Err(e) => return Err(not_a_request(&e, buf)),
    };
    let head = RequestHead::try_from(&raw).map_err(|e| not_a_request(&e, buf))?;
    let framing = request_body_length(head.version, &head.headers).map_err(|e| NotARequest {
        why: format!("its body length cannot be told: {e}"),
    })?;
    let body = &buf[head_len..];
    let body_len = match framing.body {
        BodyLength::ContentLength(n) if (body.len() as u64) < n => return Ok(Status::Partial),
        BodyLength::ContentLength(n) => n as usize,
        BodyLength::Chunked => match chunked_len(body)? {
            Some(n) => n,
            None => return Ok(Status::Partial),
        },
        // Requests have no close-delimited body; a tunnel starts after the response.
        BodyLength::Empty | BodyLength::CloseDelimited | BodyLength::Tunnel => 0,
    };
    let found = FoundRequest {
        method: raw.method.to_string(),
        head_len,
        len: head_len + body_len,
        leniencies: head.leniencies_used.iter().map(|l| l.to_string()).collect(),
    };
    Ok(Status::Complete((found.len, found)))
}

fn not_a_request(error: &wire::http1::ParseError, buf: &[u8]) -> NotARequest {
    let mut why = error.to_string();
    let bytes = error.offending(buf);
    if !bytes.is_empty() {
        why.push_str(&format!(": `{}`", escape_inline(bytes)));
    }
    NotARequest { why }
}

/// The length of the chunked body at the start of `body`, last chunk and trailers included;
/// `None` when the bytes end first.
fn chunked_len(body: &[u8]) -> Result<Option<usize>, NotARequest> {
    let mut decoder = ChunkedDecoder::new(ChunkedOptions {
        bare_lf: true,
        ..ChunkedOptions::default()
    });
    let mut at = 0;
    loop {
        match decoder.decode(&body[at..]) {
            Ok(Status::Partial) => return Ok(None),
            Ok(Status::Complete((used, ChunkedEvent::Data(_)))) => at += used,
            Ok(Status::Complete((used, ChunkedEvent::End))) => return Ok(Some(at + used)),
            Err(e) => {
                return Err(NotARequest {
                    why: format!("its chunked body is broken: {e}"),
                })
            }
        }
    }
}

/// What follows the last complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rest {
    /// Nothing (or only empty lines, which a server skips before a request, RFC 9112 §2.2).
    Nothing,
    /// A request that has begun but not ended: the server waits for the rest.
    Incomplete {
        /// Where it starts in the bytes.
        offset: usize,
        /// What is missing, in words.
        missing: String,
    },
    /// Bytes that are not a request: the server will most likely answer with an error.
    NotARequest {
        /// Where they start in the bytes.
        offset: usize,
        /// What is wrong with them.
        why: String,
    },
}

/// Everything the bytes hold: the complete requests in order, then the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// The complete requests, in the order they are sent.
    pub requests: Vec<FoundRequest>,
    /// What follows them.
    pub rest: Rest,
}

impl Survey {
    /// How many responses a server that reads the bytes as this module does would send: one per
    /// complete request, and one (an error) for bytes that are not a request.
    pub fn responses_owed(&self) -> usize {
        self.requests.len() + usize::from(matches!(self.rest, Rest::NotARequest { .. }))
    }

    /// The method a response answers: the request's, or GET for the error a server sends to bytes
    /// that are not a request.
    pub fn method_of_response(&self, index: usize) -> &str {
        self.requests
            .get(index)
            .map_or("GET", |r| r.method.as_str())
    }
}

/// Reads every request in `bytes`.
pub fn survey(bytes: &[u8]) -> Survey {
    let mut requests = Vec::new();
    let mut at = 0;
    let rest = loop {
        let left = &bytes[at..];
        if left.iter().all(|&b| b == b'\r' || b == b'\n') {
            break Rest::Nothing;
        }
        match next_request(left) {
            Ok(Status::Complete((used, found))) => {
                requests.push(found);
                at += used;
            }
            Ok(Status::Partial) => {
                break Rest::Incomplete {
                    offset: at,
                    missing: what_is_missing(left),
                }
            }
            Err(e) => {
                break Rest::NotARequest {
                    offset: at,
                    why: e.why,
                }
            }
        }
    };
    Survey { requests, rest }
}

/// Says what an unfinished request lacks.
fn what_is_missing(partial: &[u8]) -> String {
    let Ok(Status::Complete((head_len, raw))) = RawRequest::parse(partial, &ParseOptions::LENIENT)
    else {
        return if partial.contains(&b'\n') {
            "its head never ends: a head ends with an empty line, \\r\\n\\r\\n (RFC 9112 §2.1)"
                .to_string()
        } else {
            "its request line never ends: no \\r\\n after it (RFC 9112 §3)".to_string()
        };
    };
    let body = partial.len() - head_len;
    let framing = RequestHead::try_from(&raw)
        .ok()
        .and_then(|h| request_body_length(h.version, &h.headers).ok())
        .map(|f| f.body);
    match framing {
        Some(BodyLength::ContentLength(n)) => format!(
            "its body has {body} of the {n} bytes its Content-Length announces (RFC 9112 §6.2)"
        ),
        Some(BodyLength::Chunked) => format!(
            "its chunked body ({body} bytes so far) has no last chunk, 0\\r\\n\\r\\n (RFC 9112 §7.1)"
        ),
        _ => "its body is incomplete".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use wire::testing::feed_every_way;

    const GET: &[u8] = b"\
        GET / HTTP/1.1\r\n\
        Host: a\r\n\
        \r\n";

    const POST: &[u8] = b"\
        POST /form HTTP/1.1\r\n\
        Host: a\r\n\
        Content-Length: 5\r\n\
        \r\n\
        a=1&b";

    const CHUNKED: &[u8] = b"\
        PUT /f HTTP/1.1\r\n\
        Host: a\r\n\
        Transfer-Encoding: chunked\r\n\
        \r\n\
        3\r\n\
        abc\r\n\
        0\r\n\
        \r\n";

    const BARE_LF: &[u8] = b"\
        HEAD / HTTP/1.0\n\
        \n";

    fn found(method: &str, head_len: usize, len: usize, leniencies: &[&str]) -> FoundRequest {
        FoundRequest {
            method: method.to_string(),
            head_len,
            len,
            leniencies: leniencies.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[test]
    fn one_request_whatever_the_cutting() {
        let cases = [
            (GET, found("GET", GET.len(), GET.len(), &[])),
            (POST, found("POST", POST.len() - 5, POST.len(), &[])),
            (
                CHUNKED,
                found("PUT", CHUNKED.len() - 13, CHUNKED.len(), &[]),
            ),
            (
                BARE_LF,
                found(
                    "HEAD",
                    BARE_LF.len(),
                    BARE_LF.len(),
                    &["bare LF line endings (RFC 9112 §2.2)"],
                ),
            ),
        ];
        for (input, expected) in cases {
            let answer = feed_every_way(input, next_request);
            assert_eq!(answer, Ok(Status::Complete((input.len(), expected))));
        }
    }

    #[test]
    fn garbage_is_not_a_request_whatever_the_cutting() {
        let answer = feed_every_way(b"\x16\x03\x01 hello\r\n\r\n", next_request);
        let Err(e) = answer else { panic!("{answer:?}") };
        assert!(e.why.contains("\\x16"), "{}", e.why);
    }

    #[test]
    fn pipelined_requests_are_counted_with_their_methods() {
        let bytes = [GET, BARE_LF, POST, GET].concat();
        let s = survey(&bytes);
        let methods: Vec<&str> = s.requests.iter().map(|r| r.method.as_str()).collect();
        assert_eq!(methods, ["GET", "HEAD", "POST", "GET"]);
        assert_eq!(s.rest, Rest::Nothing);
        assert_eq!(s.responses_owed(), 4);
        assert_eq!(s.method_of_response(1), "HEAD");
        // Empty lines after the last request are skipped, as a server skips them.
        assert_eq!(survey(&[GET, b"\r\n"].concat()).rest, Rest::Nothing);
    }

    #[test]
    fn an_unfinished_request_is_named_at_once() {
        let s = survey(b"GET / HTTP/1.1\r\nHost: a\r\n");
        assert!(s.requests.is_empty());
        let Rest::Incomplete { offset: 0, missing } = &s.rest else {
            panic!("{s:?}")
        };
        assert!(missing.contains("\\r\\n\\r\\n"), "{missing}");
        assert_eq!(s.responses_owed(), 0);

        let s = survey(b"GET / HTTP/1.1");
        let Rest::Incomplete { missing, .. } = &s.rest else {
            panic!("{s:?}")
        };
        assert!(missing.contains("request line never ends"), "{missing}");

        let bytes = [GET, &POST[..POST.len() - 2]].concat();
        let s = survey(&bytes);
        assert_eq!(s.requests.len(), 1);
        let Rest::Incomplete { offset, missing } = &s.rest else {
            panic!("{s:?}")
        };
        assert_eq!(*offset, GET.len());
        assert!(missing.contains("3 of the 5 bytes"), "{missing}");

        let s = survey(&CHUNKED[..CHUNKED.len() - 5]);
        let Rest::Incomplete { missing, .. } = &s.rest else {
            panic!("{s:?}")
        };
        assert!(missing.contains("no last chunk"), "{missing}");
    }

    #[test]
    fn garbage_after_a_request_is_owed_one_error_response() {
        let bytes = [GET, b"hello there\r\n\r\n"].concat();
        let s = survey(&bytes);
        assert_eq!(s.requests.len(), 1);
        assert!(
            matches!(&s.rest, Rest::NotARequest { offset, .. } if *offset == GET.len()),
            "{s:?}"
        );
        assert_eq!(s.responses_owed(), 2);
        assert_eq!(s.method_of_response(1), "GET");
    }
}
