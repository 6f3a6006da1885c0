//! How long a message body is: RFC 9112 §6.3, step by step, with the smuggling shapes refused.
//!
//! A recipient decides where a body ends from the head alone, before reading any of it. Two
//! recipients that decide differently for the same bytes (a proxy and the server behind it) can be
//! made to see different messages: request smuggling, response splitting. So this module follows
//! the RFC's order exactly and treats every ambiguous shape as a named error:
//!
//! | shape | request | response |
//! | --- | --- | --- |
//! | `Transfer-Encoding` and `Content-Length` together | [`FramingError::TransferEncodingWithContentLength`], 400 | chunked wins, connection closes after |
//! | `chunked` not the final coding | [`FramingError::ChunkedNotLast`], 400 | read until close |
//! | `chunked` applied twice | [`FramingError::ChunkedTwice`], 400 | same error |
//! | a coding other than `chunked` | [`FramingError::UnsupportedCoding`], 501 | reported in [`Framing::codings`] |
//! | `Transfer-Encoding` in HTTP/1.0 (RFC 9112 §6.1) | [`FramingError::TransferEncodingInHttp10`], 400 | followed, connection closes after |
//! | differing `Content-Length` values | [`FramingError::DifferingContentLengths`], 400 | same error |
//! | a `Content-Length` that is not digits | [`FramingError::InvalidContentLength`], 400 | same error |
//!
//! Identical repeated `Content-Length` values (`5, 5` or two lines of `5`) are folded into one,
//! as RFC 9110 §8.6 allows.
//!
//! Out of scope: reading the body (the connection does that with [`super::chunked`] or a byte
//! count) and choosing the framing of a message this side sends (the connection does that too).

use std::fmt;

use super::chunked::escape_bytes;
use super::{FramingFields, Headers, Method, Version};

/// How the body of a message is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// No body: the message ends with its head.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    ContentLength(u64),
    /// The chunked transfer coding (RFC 9112 §7.1).
    Chunked,
    /// Everything until the server closes the connection (responses only).
    CloseDelimited,
    /// The connection becomes a tunnel right after the head (2xx to CONNECT): what follows is not
    /// HTTP.
    Tunnel,
}

impl fmt::Display for BodyLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyLength::Empty => f.write_str("no body"),
            BodyLength::ContentLength(n) => write!(f, "Content-Length: {n}"),
            BodyLength::Chunked => f.write_str("chunked"),
            BodyLength::CloseDelimited => f.write_str("until the connection closes"),
            BodyLength::Tunnel => f.write_str("tunnel"),
        }
    }
}

/// Why a message whose body can be read must still be the last on its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspectFraming {
    /// A response with both `Transfer-Encoding` and `Content-Length` (RFC 9112 §6.3 step 3).
    TransferEncodingWithContentLength,
    /// An HTTP/1.0 response with `Transfer-Encoding` (RFC 9112 §6.1).
    TransferEncodingInHttp10,
}

impl fmt::Display for SuspectFraming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SuspectFraming::TransferEncodingWithContentLength => {
                "Transfer-Encoding and Content-Length together (RFC 9112 §6.3)"
            }
            SuspectFraming::TransferEncodingInHttp10 => {
                "Transfer-Encoding in an HTTP/1.0 message (RFC 9112 §6.1)"
            }
        })
    }
}

/// The decision for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framing {
    /// Where the body ends.
    pub body: BodyLength,
    /// When set, the message can be read but its framing is suspect: close the connection after
    /// it, since the peer may disagree about where the next message starts.
    pub close_after: Option<SuspectFraming>,
    /// Transfer codings applied before `chunked` (or, for a close-delimited response, all of
    /// them), lower-cased, in the order they were applied: the body data is still in these
    /// codings (for example `gzip`). Empty for almost every message.
    pub codings: Vec<String>,
}

impl Framing {
    fn plain(body: BodyLength) -> Framing {
        Framing {
            body,
            close_after: None,
            codings: Vec::new(),
        }
    }
}

/// A message head whose body length cannot be decided safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// A request with both `Transfer-Encoding` and `Content-Length` (RFC 9112 §6.3 step 3): the
    /// classic request-smuggling shape.
    TransferEncodingWithContentLength,
    /// `Transfer-Encoding` whose final coding is not `chunked` on a request (RFC 9112 §6.3
    /// step 4): the length cannot be determined.
    ChunkedNotLast {
        /// The codings as received, lower-cased, comma-separated.
        codings: String,
    },
    /// `chunked` applied more than once (RFC 9112 §6.1).
    ChunkedTwice {
        /// The codings as received, lower-cased, comma-separated.
        codings: String,
    },
    /// A request whose body uses a transfer coding this side does not decode (RFC 9112 §6.1: 501).
    UnsupportedCoding {
        /// The coding's name, lower-cased.
        coding: String,
    },
    /// A `Transfer-Encoding` element that is not `token *( OWS ";" OWS transfer-parameter )`,
    /// or a `Transfer-Encoding` field with no coding at all (RFC 9112 §6.1).
    MalformedTransferEncoding {
        /// The offending element (empty when the field had none).
        element: Vec<u8>,
    },
    /// `Transfer-Encoding` in an HTTP/1.0 request (RFC 9112 §6.1: the framing is faulty).
    TransferEncodingInHttp10,
    /// A `Content-Length` element that is not `1*DIGIT`, or too large for 64 bits
    /// (RFC 9112 §6.3 step 5).
    InvalidContentLength {
        /// The offending element.
        element: Vec<u8>,
    },
    /// `Content-Length` elements with different values (RFC 9110 §8.6, RFC 9112 §6.3 step 5).
    DifferingContentLengths {
        /// The first value.
        first: u64,
        /// The first value that differs from it.
        other: u64,
    },
}

impl FramingError {
    /// The status a server answers a *request* with when its framing has this error: 501 for a
    /// transfer coding it does not implement, 400 otherwise. A proxy that gets a response with a
    /// framing error answers its client 502 instead, and a client just closes (RFC 9112 §6.3).
    pub fn status_hint(&self) -> u16 {
        match self {
            FramingError::UnsupportedCoding { .. } => 501,
            _ => 400,
        }
    }
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::TransferEncodingWithContentLength => f.write_str(
                "a request with both Transfer-Encoding and Content-Length: refused as possible \
                 request smuggling (RFC 9112 §6.3)",
            ),
            FramingError::ChunkedNotLast { codings } => write!(
                f,
                "Transfer-Encoding `{codings}` does not end in chunked, so the request body's \
                 length cannot be determined (RFC 9112 §6.3)"
            ),
            FramingError::ChunkedTwice { codings } => write!(
                f,
                "Transfer-Encoding `{codings}` applies chunked more than once (RFC 9112 §6.1)"
            ),
            FramingError::UnsupportedCoding { coding } => write!(
                f,
                "transfer coding `{coding}` is not implemented here; only chunked is \
                 (RFC 9112 §6.1)"
            ),
            FramingError::MalformedTransferEncoding { element } if element.is_empty() => {
                f.write_str("a Transfer-Encoding field without any transfer coding (RFC 9112 §6.1)")
            }
            FramingError::MalformedTransferEncoding { element } => {
                f.write_str("Transfer-Encoding element `")?;
                escape_bytes(element, f)?;
                f.write_str("` is not a transfer coding (RFC 9112 §6.1)")
            }
            FramingError::TransferEncodingInHttp10 => f.write_str(
                "Transfer-Encoding in an HTTP/1.0 request: its framing is faulty (RFC 9112 §6.1)",
            ),
            FramingError::InvalidContentLength { element } => {
                f.write_str("Content-Length `")?;
                escape_bytes(element, f)?;
                f.write_str("` is not a number of bytes (RFC 9112 §6.3, RFC 9110 §8.6)")
            }
            FramingError::DifferingContentLengths { first, other } => write!(
                f,
                "Content-Length values {first} and {other} differ (RFC 9112 §6.3, RFC 9110 §8.6)"
            ),
        }
    }
}

impl std::error::Error for FramingError {}

/// The body length of a received request (RFC 9112 §6.3; steps 1 and 2 are about responses).
///
/// 3. `Transfer-Encoding` with `Content-Length`: refused (400), since a request is where
///    smuggling starts. `Transfer-Encoding` in HTTP/1.0: refused (400, RFC 9112 §6.1).
/// 4. `Transfer-Encoding` with `chunked` last: chunked. Without `chunked` last: refused (400).
///    Any other coding than `chunked`: refused (501), since nothing here decodes it.
/// 5. An invalid `Content-Length` (not digits, or differing values): refused (400).
/// 6. A valid `Content-Length`: that many bytes.
/// 7. Neither field: no body.
pub fn request_body_length(version: Version, headers: &Headers) -> Result<Framing, FramingError> {
    request_body_length_given(version, headers, headers.framing_fields())
}

/// [`request_body_length`] for a connection that has already looked which fields are `present`.
pub(crate) fn request_body_length_given(
    version: Version,
    headers: &Headers,
    present: FramingFields,
) -> Result<Framing, FramingError> {
    if present.transfer_encoding {
        // Step 3, then RFC 9112 §6.1 for HTTP/1.0.
        if present.content_length {
            return Err(FramingError::TransferEncodingWithContentLength);
        }
        if version == Version::Http10 {
            return Err(FramingError::TransferEncodingInHttp10);
        }
        // Step 4.
        let codings = transfer_codings(headers)?;
        let (last, before) = codings
            .split_last()
            .expect("transfer_codings is never empty");
        if last != "chunked" {
            return Err(FramingError::ChunkedNotLast {
                codings: codings.join(", "),
            });
        }
        if let Some(coding) = before.first() {
            return Err(FramingError::UnsupportedCoding {
                coding: coding.clone(),
            });
        }
        return Ok(Framing::plain(BodyLength::Chunked));
    }
    // Steps 5 to 7.
    if !present.content_length {
        return Ok(Framing::plain(BodyLength::Empty));
    }
    Ok(Framing::plain(match content_length(headers)? {
        Some(n) => BodyLength::ContentLength(n),
        None => BodyLength::Empty,
    }))
}

/// The body length of a received response to a request with `request_method` (RFC 9112 §6.3).
///
/// 1. A response to HEAD, and any 1xx, 204 or 304 response: no body, whatever the fields say.
/// 2. A 2xx response to CONNECT: a tunnel; `Content-Length` and `Transfer-Encoding` are ignored.
/// 3. `Transfer-Encoding` with `Content-Length`: `Transfer-Encoding` wins, and the connection
///    closes after this response ([`SuspectFraming`]). So does `Transfer-Encoding` in HTTP/1.0
///    (RFC 9112 §6.1).
/// 4. `Transfer-Encoding` with `chunked` last: chunked. Without `chunked` last: the body runs
///    until the server closes the connection. Codings before `chunked` are reported in
///    [`Framing::codings`].
/// 5. An invalid `Content-Length` (not digits, or differing values): refused.
/// 6. A valid `Content-Length`: that many bytes.
/// 7. (Requests only.)
/// 8. Neither field: the body runs until the server closes the connection.
pub fn response_body_length(
    request_method: &Method,
    status: u16,
    version: Version,
    headers: &Headers,
) -> Result<Framing, FramingError> {
    response_body_length_given(
        request_method,
        status,
        version,
        headers,
        headers.framing_fields(),
    )
}

/// [`response_body_length`] for a connection that has already looked which fields are
/// `present`.
pub(crate) fn response_body_length_given(
    request_method: &Method,
    status: u16,
    version: Version,
    headers: &Headers,
    present: FramingFields,
) -> Result<Framing, FramingError> {
    // Step 1.
    if *request_method == Method::Head
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(Framing::plain(BodyLength::Empty));
    }
    // Step 2.
    if *request_method == Method::Connect && (200..300).contains(&status) {
        return Ok(Framing::plain(BodyLength::Tunnel));
    }
    if present.transfer_encoding {
        // Step 3 (and RFC 9112 §6.1 for HTTP/1.0).
        let close_after = if present.content_length {
            Some(SuspectFraming::TransferEncodingWithContentLength)
        } else if version == Version::Http10 {
            Some(SuspectFraming::TransferEncodingInHttp10)
        } else {
            None
        };
        // Step 4.
        let mut codings = transfer_codings(headers)?;
        let body = if codings.last().is_some_and(|c| c == "chunked") {
            codings.pop();
            BodyLength::Chunked
        } else {
            BodyLength::CloseDelimited
        };
        return Ok(Framing {
            body,
            close_after,
            codings,
        });
    }
    // Steps 5, 6 and 8.
    if !present.content_length {
        return Ok(Framing::plain(BodyLength::CloseDelimited));
    }
    Ok(Framing::plain(match content_length(headers)? {
        Some(n) => BodyLength::ContentLength(n),
        None => BodyLength::CloseDelimited,
    }))
}

/// What an intermediary does to the framing fields of a message it received before it forwards
/// it, so the next recipient cannot read another length than this side did:
///
/// - `Transfer-Encoding` with `Content-Length` (a response: requests of that shape are refused
///   earlier): "an intermediary that chooses to forward the message MUST first remove the
///   received Content-Length field" (RFC 9112 §6.3 step 3). The body is then forwarded with
///   this side's own framing (chunked again, or a length once it is known).
/// - `Content-Length: 5, 5`, or two `Content-Length: 5` lines: collapsed into one
///   `Content-Length: 5` (RFC 9110 §8.6 allows a recipient to treat them as one value; a
///   sender forwards a single one, so a lenient next hop cannot pick a different line).
///
/// A `Content-Length` that is not a number, or values that differ, are an error: such a
/// message must not be forwarded at all (400 for a request, 502 for a response).
pub fn collapse_for_forwarding(headers: &mut Headers) -> Result<(), FramingError> {
    let present = headers.framing_fields();
    if !present.content_length {
        return Ok(());
    }
    if present.transfer_encoding {
        headers.remove("content-length");
        return Ok(());
    }
    let single = headers.content_lengths().nth(1).is_none();
    if let Some(n) = content_length(headers)? {
        if !single {
            headers
                .insert("Content-Length", n.to_string())
                .expect("a decimal number is a valid field value");
        }
    }
    Ok(())
}

/// The transfer codings, lower-cased, never empty; `chunked` twice is refused.
fn transfer_codings(headers: &Headers) -> Result<Vec<String>, FramingError> {
    let codings: Vec<String> = headers
        .transfer_codings()
        .map_err(|malformed| FramingError::MalformedTransferEncoding {
            element: malformed.0,
        })?
        .into_iter()
        .map(|coding| {
            if coding.is_chunked() && !coding.params.is_empty() {
                // chunked has no parameters (RFC 9112 §7): `chunked;x=y` is not chunked as we know it.
                Err(FramingError::MalformedTransferEncoding {
                    element: coding_text(&coding.name, &coding.params).into_bytes(),
                })
            } else {
                Ok(coding.name)
            }
        })
        .collect::<Result<_, _>>()?;
    if codings.is_empty() {
        return Err(FramingError::MalformedTransferEncoding { element: vec![] });
    }
    if codings.iter().filter(|c| *c == "chunked").count() > 1 {
        return Err(FramingError::ChunkedTwice {
            codings: codings.join(", "),
        });
    }
    Ok(codings)
}

fn coding_text(name: &str, params: &[(String, String)]) -> String {
    let mut text = name.to_owned();
    for (key, value) in params {
        text.push(';');
        text.push_str(key);
        text.push('=');
        text.push_str(value);
    }
    text
}

/// The `Content-Length`, if any: every element must be `1*DIGIT` and all must be equal
/// (RFC 9110 §8.6, RFC 9112 §6.3 step 5).
fn content_length(headers: &Headers) -> Result<Option<u64>, FramingError> {
    let mut length = None;
    for element in headers.content_lengths() {
        let value = parse_decimal(element).ok_or_else(|| FramingError::InvalidContentLength {
            element: element.to_vec(),
        })?;
        match length {
            None => length = Some(value),
            Some(first) if first != value => {
                return Err(FramingError::DifferingContentLengths {
                    first,
                    other: value,
                })
            }
            Some(_) => {}
        }
    }
    Ok(length)
}

/// `1*DIGIT` as a u64, refusing signs, spaces, an empty string and overflow.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests;
