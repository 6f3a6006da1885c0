//! A request body on its way to the origin, watched for an early answer.
//!
//! An origin may answer before it has read the body: `413 Content Too Large` for an upload over
//! its limit, `401`/`403` for a client it will not take anything from (RFC 9112 §9.5: a server
//! may send its response before the request is complete; a client that sees it "SHOULD stop
//! sending the body"). It then stops reading, and often closes. A proxy that only writes until
//! the whole body is gone blocks on a full socket, or fails on a reset, and turns that answer
//! into a 502. So while the body goes out, the origin's side is read too:
//!
//! ```text
//! client body data ──► upstream core (framing) ──► socket, written without blocking
//!                                                    │ full: wait until writable OR readable
//!                                                    ▼
//!                      origin bytes read whenever they come ──► a final response head?
//!                                                               yes: stop sending, relay it
//! ```
//!
//! A write that fails (the origin closed) is not the end either: the response it sent before
//! closing is still read from the socket.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use wire::http1::conn::{Event, Transmit};
use wire::http1::ResponseHead;

use crate::client_side::Client;
use crate::upstream::Upstream;

/// Write to the origin whenever this much is queued.
const FLUSH_AT: u64 = 64 * 1024;

/// How the body went.
pub(crate) enum Sent {
    /// All of it, with its end; the response is read as usual.
    Whole,
    /// The origin answered first: this is its final response head, and the rest of the body was
    /// not sent.
    Answered(ResponseHead),
}

/// Why the body could not be sent.
pub(crate) enum BodyError {
    /// The origin failed (gone without an answer, broke HTTP, too slow): the client gets 502 or
    /// 504 with this explanation.
    Upstream(u16, String),
    /// The client's side failed: its status hint (a bad chunk is 400) and why, or `None` when
    /// the client is gone.
    Client(Option<u16>, io::Error),
}

/// Streams the client's request body to `up`, stopping as soon as the origin sends a final
/// response. `timeout` bounds each wait on the origin.
pub(crate) fn send(
    client: &mut Client<'_>,
    up: &mut Upstream,
    timeout: Duration,
) -> Result<Sent, BodyError> {
    up.stream
        .set_nonblocking(true)
        .map_err(|e| upstream_failed(up, &e))?;
    let mut waiter = None;
    let sent = send_nonblocking(client, up, timeout, &mut waiter);
    // The response is read with blocking reads and the socket's timeout.
    if let Err(e) = up.stream.set_nonblocking(false) {
        return Err(upstream_failed(up, &e));
    }
    sent
}

fn send_nonblocking(
    client: &mut Client<'_>,
    up: &mut Upstream,
    timeout: Duration,
    waiter: &mut Option<Poll>,
) -> Result<Sent, BodyError> {
    loop {
        match client.conn.poll_event() {
            Ok(Event::Data(bytes)) => {
                up.conn
                    .send_data(bytes)
                    .map_err(|e| upstream_failed(up, &e))?;
                if up.conn.pending_transmit() >= FLUSH_AT {
                    if let Some(head) = push(up, timeout, waiter)? {
                        return Ok(Sent::Answered(head));
                    }
                }
            }
            Ok(Event::EndOfMessage(trailers)) => {
                let trailers = (!trailers.is_empty()).then_some(&trailers);
                up.conn
                    .send_end(trailers)
                    .map_err(|e| upstream_failed(up, &e))?;
                return Ok(match push(up, timeout, waiter)? {
                    Some(head) => Sent::Answered(head),
                    None => Sent::Whole,
                });
            }
            Ok(Event::NeedData) => {
                if let Some(head) = push(up, timeout, waiter)? {
                    return Ok(Sent::Answered(head));
                }
                client.read_more().map_err(|e| stalled_or_gone(client, e))?;
            }
            Ok(_) => {
                return Err(BodyError::Client(
                    None,
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client stopped in the middle of the request body",
                    ),
                ))
            }
            Err(e) => {
                return Err(BodyError::Client(
                    Some(e.status_hint()),
                    io::Error::other(e.to_string()),
                ))
            }
        }
    }
}

/// Writes what the core has queued for the origin, reading what the origin sends meanwhile.
/// `Some(head)` when a final response has arrived (the rest is not written). The origin's side
/// is read once on the way in and after every wait, not after every write: one `read` per
/// [`FLUSH_AT`] bytes of body when the origin says nothing.
fn push(
    up: &mut Upstream,
    timeout: Duration,
    waiter: &mut Option<Poll>,
) -> Result<Option<ResponseHead>, BodyError> {
    if let Some(head) = answered(up)? {
        return Ok(Some(head));
    }
    loop {
        let Some(transmit) = up.conn.poll_transmit() else {
            return Ok(None);
        };
        let Transmit::Bytes(bytes) = transmit else {
            return Err(BodyError::Upstream(
                502,
                "unexpected shell-written body".into(),
            ));
        };
        match up.stream.write(bytes) {
            Ok(0) => {
                return Err(upstream_failed(
                    up,
                    &io::Error::from(io::ErrorKind::WriteZero),
                ))
            }
            Ok(n) => up
                .conn
                .advance_transmit(n as u64)
                .map_err(|e| upstream_failed(up, &e))?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(up, timeout, waiter)?;
                if let Some(head) = answered(up)? {
                    return Ok(Some(head));
                }
            }
            Err(e) => {
                // The origin closed, perhaps right after answering: read that answer.
                return match answered(up)? {
                    Some(head) => Ok(Some(head)),
                    None => Err(upstream_failed(up, &e)),
                };
            }
        }
    }
}

/// Reads whatever the origin has sent (without blocking) and looks for a final response head.
fn answered(up: &mut Upstream) -> Result<Option<ResponseHead>, BodyError> {
    loop {
        match up.stream.read(up.conn.receive_buffer()) {
            Ok(0) => {
                up.conn.handle_eof();
                break;
            }
            Ok(n) => up.conn.handle_received(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            // A reset after the answer: what was read before it still counts.
            Err(_) => {
                up.conn.handle_eof();
                break;
            }
        }
    }
    loop {
        match up.conn.poll_event() {
            Ok(Event::NeedData) => return Ok(None),
            // `100 Continue` (this proxy does not ask for it) and other interim answers: the
            // body goes on.
            Ok(Event::InformationalResponse(_)) => {}
            Ok(Event::Response(head)) => return Ok(Some(head)),
            Ok(_) => {
                return Err(BodyError::Upstream(
                    502,
                    format!(
                        "{} closed the connection during the request body, without a response",
                        up.origin
                    ),
                ))
            }
            Err(e) => {
                return Err(BodyError::Upstream(
                    502,
                    format!("{} sent a response the proxy cannot read: {e}", up.origin),
                ))
            }
        }
    }
}

/// Waits until the origin's socket takes more or has something to read, `timeout` at most.
fn wait(up: &Upstream, timeout: Duration, waiter: &mut Option<Poll>) -> Result<(), BodyError> {
    let origin_failed = |e: io::Error| upstream_failed(up, &e);
    if waiter.is_none() {
        let poll = Poll::new().map_err(origin_failed)?;
        let fd = up.stream.as_raw_fd();
        poll.registry()
            .register(
                &mut SourceFd(&fd),
                Token(0),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(origin_failed)?;
        *waiter = Some(poll);
    }
    let poll = waiter.as_mut().expect("just made");
    let mut events = Events::with_capacity(2);
    loop {
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) if events.is_empty() => {
                return Err(BodyError::Upstream(
                    504,
                    format!(
                        "{} took no more of the request body and sent nothing within the upstream \
                         timeout ({} s)",
                        up.origin,
                        timeout.as_secs_f64()
                    ),
                ))
            }
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(origin_failed(e)),
        }
    }
}

/// A client read that failed: a client that sent none of its body for `--body-timeout` is told
/// so with `408` (RFC 9110 §15.5.9; no response has started), one that is gone is not.
fn stalled_or_gone(client: &mut Client<'_>, e: io::Error) -> BodyError {
    if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        // The core gives up on the body and allows the one final response.
        client.conn.handle_timeout();
        let waited = client.shared.options.body_timeout;
        let why = format!(
            "the request body stopped: nothing of it arrived for {waited:?} (--body-timeout)"
        );
        return BodyError::Client(Some(408), io::Error::new(io::ErrorKind::TimedOut, why));
    }
    BodyError::Client(None, e)
}

fn upstream_failed(up: &Upstream, e: &dyn std::fmt::Display) -> BodyError {
    BodyError::Upstream(
        502,
        format!("sending the request body to {} failed: {e}", up.origin),
    )
}
