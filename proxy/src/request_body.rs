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
//! closing is still read from the socket. And while the proxy waits on a slow client for more
//! of the body, it waits on the origin too: an answer that comes then is relayed at once, not
//! when the client next sends something. Interim answers other than `100 Continue` (`103 Early
//! Hints`) are passed on to the client as they come, as RFC 9110 §15.2 asks of a proxy.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
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
                    if let Some(head) = push(client, up, timeout, waiter)? {
                        return Ok(Sent::Answered(head));
                    }
                }
            }
            Ok(Event::EndOfMessage(trailers)) => {
                let trailers = (!trailers.is_empty()).then_some(&trailers);
                up.conn
                    .send_end(trailers)
                    .map_err(|e| upstream_failed(up, &e))?;
                return Ok(match push(client, up, timeout, waiter)? {
                    Some(head) => Sent::Answered(head),
                    None => Sent::Whole,
                });
            }
            Ok(Event::NeedData) => {
                if let Some(head) = push(client, up, timeout, waiter)? {
                    return Ok(Sent::Answered(head));
                }
                if let Some(head) = wait_for_either(client, up)? {
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
    client: &mut Client<'_>,
    up: &mut Upstream,
    timeout: Duration,
    waiter: &mut Option<Poll>,
) -> Result<Option<ResponseHead>, BodyError> {
    if let Some(head) = answered(client, up)? {
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
                if let Some(head) = answered(client, up)? {
                    return Ok(Some(head));
                }
            }
            Err(e) => {
                // The origin closed, perhaps right after answering: read that answer.
                return match answered(client, up)? {
                    Some(head) => Ok(Some(head)),
                    None => Err(upstream_failed(up, &e)),
                };
            }
        }
    }
}

/// Waits until the client has more of the body or the origin has said something, the client's
/// `--body-timeout` at most. `Some(head)`: the origin's final answer came first. `None`: the
/// client's side is readable. A client that sends nothing for that long is a stalled body.
///
/// `poll(2)` and not the `mio` waiter: it is level-triggered, so bytes the client sent earlier
/// and the last read left in its socket still wake it.
fn wait_for_either(
    client: &mut Client<'_>,
    up: &mut Upstream,
) -> Result<Option<ResponseHead>, BodyError> {
    // Whatever the client is waiting for goes first (a `100 Continue`, relayed interim answers).
    client.flush().map_err(|e| BodyError::Client(None, e))?;
    let limit = client.shared.options.body_timeout;
    let limit_ms = i32::try_from(limit.as_millis()).unwrap_or(i32::MAX);
    loop {
        let (origin_spoke, client_sent) =
            match readable(up.stream.as_raw_fd(), client.stream.as_raw_fd(), limit_ms) {
                Ok(Some(ready)) => ready,
                Ok(None) => return Err(stalled_or_gone(client, io::ErrorKind::TimedOut.into())),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(upstream_failed(up, &e)),
            };
        if origin_spoke {
            if let Some(head) = answered(client, up)? {
                return Ok(Some(head));
            }
        }
        if client_sent {
            return Ok(None);
        }
        // An interim answer or part of a head came, and nothing from the client: wait again.
    }
}

/// Which of two sockets can be read (or has hung up), waiting `limit_ms` at most: `None` when
/// the time ran out first.
fn readable(first: RawFd, second: RawFd, limit_ms: i32) -> io::Result<Option<(bool, bool)>> {
    let watch = |fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let mut fds = [watch(first), watch(second)];
    // SAFETY: `fds` is a live local array of two `pollfd` for the whole call and `nfds` is its
    // length; poll writes only their `revents`.
    #[allow(unsafe_code)]
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, limit_ms) };
    match ready {
        n if n < 0 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        _ => Ok(Some((fds[0].revents != 0, fds[1].revents != 0))),
    }
}

/// Reads whatever the origin has sent (without blocking) and looks for a final response head;
/// interim answers but `100 Continue` are passed on to the client.
fn answered(client: &mut Client<'_>, up: &mut Upstream) -> Result<Option<ResponseHead>, BodyError> {
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
            // `100 Continue`: this proxy does not ask for it (it answers a client's
            // `Expect` itself), so it is not passed on. Other interim answers (`103 Early
            // Hints`) are, as they come; the body goes on either way.
            Ok(Event::InformationalResponse(mut interim)) => {
                if interim.status.as_u16() != 100 {
                    interim.headers.remove_hop_by_hop();
                    interim.version = wire::http1::Version::Http11;
                    // A client that may not get one (HTTP/1.0) is refused by the core: skip it.
                    if client.conn.send_response(&interim).is_ok() {
                        client.flush().map_err(|e| BodyError::Client(None, e))?;
                    }
                }
            }
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
