//! One request: answer it from the cache, revalidate, or forward it, by the decisions of
//! `wire::cache` (RFC 9111), and stream the answer to the client (and to the store).
//!
//! ```text
//! GET/HEAD with the cache on
//!   lookup (wire::cache::lookup over Store::select)
//!     Fresh ─────────────► serve stored: 304 if the client's own conditions say so, else 200 (HIT)
//!     StaleAllowed ──────► serve stored (STALE)
//!     GatewayTimeout ────► 504 (only-if-cached)
//!     Revalidate ────────► upstream with If-None-Match / If-Modified-Since
//!                            304 about it ─► freshen, serve stored (REVALIDATED)
//!                            5xx, may be stale ─► serve stored (STALE)
//!                            anything else ─► as a miss
//!     Miss ──────────────► upstream; store while streaming if storable (MISS)
//! other methods, or --no-cache: upstream (BYPASS); unsafe methods invalidate (RFC 9111 §4.4)
//! ```
//!
//! Concurrent misses and revalidations of one key are collapsed ([`crate::inflight`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use wire::cache::invalidation::invalidation_targets;
use wire::cache::ranges::{ranged_reply, RangedReply};
use wire::cache::validation::{after_validation, client_conditionals, freshen, AfterValidation};
use wire::cache::{
    asks_nothing_of_the_cache, lookup_prepared, storability, ConditionalFields, Decision,
    Storability, StoredResponse,
};
use wire::http1::conditional::Outcome;
use wire::http1::conn::{Event, Transmit};
use wire::http1::date::HttpDate;
use wire::http1::framing::{collapse_for_forwarding, request_body_length, BodyLength};
use wire::http1::max_forwards::{self, Hop};
use wire::http1::range::{BodySegment, RangePolicy};
use wire::http1::{via, Method, RequestHead, ResponseHead, Version};

use crate::client_side::Client;
use crate::inflight::{Joined, Lead};
use crate::request_body::{self, BodyError, Sent};
use crate::request_target::{absolute_uri, destination, Destination, LocalPage};
use crate::status_page;
use crate::store::{BodySource, Fnv1a, PendingEntry, Selected, Store};
use crate::upstream::Upstream;
use crate::SocketGuard;

/// Write to the client whenever this much is queued.
const FLUSH_AT: u64 = 64 * 1024;

/// The cache's verdict on a request, sent as `X-Cache` and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from the cache without contacting the origin.
    Hit,
    /// Fetched from the origin.
    Miss,
    /// The stored response was validated with the origin (304) and served.
    Revalidated,
    /// The stored response was served stale.
    Stale,
    /// The cache was not consulted (method, `--no-cache`, the proxy's own pages, tunnels).
    Bypass,
}

impl CacheStatus {
    /// The `X-Cache` value.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Revalidated => "REVALIDATED",
            CacheStatus::Stale => "STALE",
            CacheStatus::Bypass => "BYPASS",
        }
    }
}

/// What was sent for one request (for the access log and the counters).
#[derive(Debug, Clone, Copy)]
pub struct Served {
    pub status: u16,
    pub bytes: u64,
    pub cache: CacheStatus,
}

/// Why an upstream exchange did not produce a response to relay.
enum Failure {
    /// Answer the client with this status and explanation.
    Answer(u16, String),
    /// The client's side failed (gone, or broke the protocol mid-body): close.
    Client(io::Error),
}

/// An exchange with the origin whose response head has arrived.
struct Started<'s> {
    up: Upstream,
    _registered: SocketGuard<'s>,
    response: ResponseHead,
    request_time: HttpDate,
    response_time: HttpDate,
}

/// Handles one request from `client`. `Err` means the client connection must close now.
pub(crate) fn handle(client: &mut Client<'_>, head: RequestHead) -> io::Result<()> {
    let request = Request::new(head);
    handle_request(client, request)
}

/// A request read from a client and where it goes, as it passes from the event loop to a
/// thread.
pub(crate) struct Request {
    started: Instant,
    method: Method,
    version: Version,
    destination: Destination,
}

impl Request {
    pub fn new(head: RequestHead) -> Request {
        Request {
            started: Instant::now(),
            method: head.method.clone(),
            version: head.version,
            destination: destination(head),
        }
    }
}

/// Handles a request whose destination is known.
pub(crate) fn handle_request(client: &mut Client<'_>, request: Request) -> io::Result<()> {
    let Request {
        started,
        method,
        version,
        destination,
    } = request;
    let (line_target, served): (Arc<str>, _) = match destination {
        Destination::Forward(head) => {
            let (uri, key) = client.uri_and_key(&head);
            let served = forward(client, head, &key);
            (uri, served)
        }
        Destination::Tunnel(authority) => (
            authority.to_string().into(),
            crate::tunnel::open(client, &authority),
        ),
        Destination::Local(page) => ("(proxy page)".into(), local_page(client, page)),
        Destination::Refused(status, why) => {
            ("(refused)".into(), client.respond_error(status, &why))
        }
    };
    record(client, started, &method, version, &line_target, &served);
    served.map(|_| ())
}

/// Answers `request` when it is a fresh hit that needs nothing but the prepared reply (see
/// [`Store::fresh_hit`]); `None` leaves it for [`handle_request`]. This never blocks on anything
/// but the client's socket, so the event loop may call it.
pub(crate) fn try_fresh_hit(client: &mut Client<'_>, request: &Request) -> Option<io::Result<()>> {
    let shared = client.shared;
    let (Some(store), Destination::Forward(head)) = (&shared.store, &request.destination) else {
        return None;
    };
    if !asks_nothing_of_the_cache(&head.headers)
        || via::passed_through(&head.headers, &shared.via_name)
    {
        return None;
    }
    let (uri, key) = client.uri_and_key(head);
    let now = shared.options.clock.http_date();
    let hit = store.fresh_hit(&key, &head.method, &head.headers, now)?;
    let served = client.send_fresh_hit(&hit);
    record(
        client,
        request.started,
        &request.method,
        request.version,
        &uri,
        &served,
    );
    Some(served.map(|_| ()))
}

/// Counts a request and writes its access-log line.
fn record(
    client: &Client<'_>,
    started: Instant,
    method: &Method,
    version: Version,
    line_target: &str,
    served: &io::Result<Served>,
) {
    let shared = client.shared;
    let stats = &shared.stats;
    if let Ok(served) = served {
        let counter = match served.cache {
            CacheStatus::Hit => &stats.hits,
            CacheStatus::Miss => &stats.misses,
            CacheStatus::Revalidated => &stats.revalidations,
            CacheStatus::Stale => &stats.stale,
            CacheStatus::Bypass => &stats.bypasses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        stats
            .bytes_to_clients
            .fetch_add(served.bytes, Ordering::Relaxed);
    }
    if let Some(log) = &shared.log {
        let (status, bytes, cache) = match served {
            Ok(s) => (s.status.to_string(), s.bytes, s.cache.as_str()),
            Err(_) => ("-".to_owned(), 0, "-"),
        };
        log.line(&format!(
            "{} [{}] \"{method} {line_target} {version}\" {status} {bytes} {cache} {:.1}ms",
            client.peer,
            shared.options.clock.http_date(),
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }
}

fn local_page(client: &mut Client<'_>, page: LocalPage) -> io::Result<Served> {
    let shared = client.shared;
    let addr = shared.local_addr.to_string();
    match page {
        LocalPage::Usage => client.respond(
            200,
            "text/plain; charset=utf-8",
            status_page::usage_page(&addr).as_bytes(),
            CacheStatus::Bypass,
            &[("Cache-Control", "no-store")],
        ),
        LocalPage::Status => {
            let cache = shared.store.as_ref().map(|s| {
                let (bytes, entries) = s.usage();
                (bytes, entries, s.capacity())
            });
            let page = status_page::status_page(
                &shared.stats,
                cache,
                shared.connections.load(Ordering::Relaxed),
            );
            client.respond(
                200,
                "text/plain; charset=utf-8",
                page.as_bytes(),
                CacheStatus::Bypass,
                &[("Cache-Control", "no-store")],
            )
        }
        LocalPage::NotFound => client.respond_error(
            404,
            &format!(
                "this is a proxy, not a web server: ask it for a URL such as\n\
                 http://{addr}/http://example.com/ or use it with curl -x http://{addr}"
            ),
        ),
    }
}

fn forward(client: &mut Client<'_>, head: RequestHead, key: &str) -> io::Result<Served> {
    let shared = client.shared;
    if via::passed_through(&head.headers, &shared.via_name) {
        return client.respond_error(
            508,
            &format!(
                "the request has already passed through this proxy ({}): it would loop",
                shared.via_name
            ),
        );
    }
    let mut head = head;
    match max_forwards::next_hop(&head.method, &head.headers) {
        Ok(Hop::Forward) => {}
        Ok(Hop::ForwardWith(n)) => {
            // RFC 9110 §7.6.2: "MUST generate an updated Max-Forwards field".
            let _ = head.headers.insert("Max-Forwards", n.to_string());
        }
        Ok(Hop::AnswerHere) => return answer_as_final_recipient(client, &head),
        Err(e) => return client.respond_error(400, &e.to_string()),
    }
    match &shared.store {
        Some(store) if matches!(head.method, Method::Get | Method::Head) => {
            if asks_nothing_of_the_cache(&head.headers) {
                let now = shared.options.clock.http_date();
                if let Some(hit) = store.fresh_hit(key, &head.method, &head.headers, now) {
                    return client.send_fresh_hit(&hit);
                }
            }
            cached(client, &head, store, key, true)
        }
        store => {
            let label = CacheStatus::Bypass;
            match exchange(client, &head, None) {
                Ok(started) => relay(client, &head, started, store.as_ref(), key, None, label),
                Err(failure) => answer_failure(client, failure),
            }
        }
    }
}

/// The methods the proxy forwards (CONNECT is for its authority form), for `Allow`.
const FORWARDED_METHODS: &str = "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH";

/// A TRACE or OPTIONS with `Max-Forwards: 0` stops here (RFC 9110 §7.6.2): OPTIONS is told what
/// the proxy forwards (§9.3.7), TRACE gets its own request back as `message/http` (§9.3.8).
fn answer_as_final_recipient(client: &mut Client<'_>, head: &RequestHead) -> io::Result<Served> {
    if head.method == Method::Trace {
        let reflection = max_forwards::trace_reflection(head);
        return client.respond(
            200,
            "message/http",
            &reflection,
            CacheStatus::Bypass,
            &[("Cache-Control", "no-store")],
        );
    }
    client.respond(
        200,
        "",
        b"",
        CacheStatus::Bypass,
        &[("Allow", FORWARDED_METHODS)],
    )
}

fn answer_failure(client: &mut Client<'_>, failure: Failure) -> io::Result<Served> {
    match failure {
        Failure::Answer(status, why) => client.respond_error(status, &why),
        Failure::Client(error) => Err(error),
    }
}

/// A GET or HEAD with the cache on.
fn cached(
    client: &mut Client<'_>,
    head: &RequestHead,
    store: &Store,
    key: &str,
    may_collapse: bool,
) -> io::Result<Served> {
    let shared = client.shared;
    let now = shared.options.clock.http_date();
    let selected = store.select(key, &head.headers, |stored, prepared| {
        lookup_prepared(&head.method, &head.headers, Some((stored, prepared)), now)
    });
    let decision = match &selected {
        Some(s) => s.decision.clone(),
        None => lookup_prepared(&head.method, &head.headers, None, now),
    };
    match decision {
        Decision::Fresh { .. } | Decision::StaleAllowed { .. } => {
            let selected = selected.expect("a hit has a stored response");
            let label = if matches!(decision, Decision::Fresh { .. }) {
                CacheStatus::Hit
            } else {
                CacheStatus::Stale
            };
            match serve_stored(client, head, store, &selected.stored, selected.id, label)? {
                Some(served) => Ok(served),
                // The stored body was corrupt and is gone: fetch it again.
                None => cached(client, head, store, key, may_collapse),
            }
        }
        Decision::GatewayTimeout(instead) => client.respond_error(
            504,
            &format!("the request said only-if-cached, and this would have been a {instead}"),
        ),
        Decision::Revalidate { conditional, .. } => {
            let Some(lead) = collapse(client, head, key, may_collapse) else {
                return cached(client, head, store, key, false);
            };
            let selected = selected.expect("a revalidation has a stored response");
            revalidate(client, head, store, key, selected, conditional, lead)
        }
        Decision::Miss(_) => {
            let Some(lead) = collapse(client, head, key, may_collapse) else {
                return cached(client, head, store, key, false);
            };
            match exchange(client, head, None) {
                Ok(started) => relay(
                    client,
                    head,
                    started,
                    Some(store),
                    key,
                    lead,
                    CacheStatus::Miss,
                ),
                Err(failure) => answer_failure(client, failure),
            }
        }
    }
}

/// Joins the flight for `key`. `Some(lead)` means go upstream (holding the lead, if any);
/// `None` means another request just fetched it: look again.
fn collapse<'s>(
    client: &Client<'s>,
    head: &RequestHead,
    key: &str,
    may_collapse: bool,
) -> Option<Option<Lead<'s>>> {
    // A request for ranges gets the origin's 206, which is not stored: nothing to wait for.
    if !may_collapse || head.method != Method::Get || head.headers.contains("range") {
        return Some(None);
    }
    let shared = client.shared;
    match shared.inflight.join(key) {
        Joined::Leader(lead) => Some(Some(lead)),
        Joined::Follower(flight) => {
            flight.wait(shared.options.upstream_timeout);
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn revalidate(
    client: &mut Client<'_>,
    head: &RequestHead,
    store: &Store,
    key: &str,
    selected: Selected<Decision>,
    conditional: ConditionalFields,
    lead: Option<Lead<'_>>,
) -> io::Result<Served> {
    let started = match exchange(client, head, Some(&conditional)) {
        Ok(started) => started,
        Err(Failure::Answer(status, why)) => {
            // The origin cannot be reached: a stored response that allows it is served stale
            // (RFC 9111 §4.2.4), anything else gets the error.
            if wire::cache::validation::may_serve_stale(&selected.stored.directives()) {
                if let Some(served) = serve_stored(
                    client,
                    head,
                    store,
                    &selected.stored,
                    selected.id,
                    CacheStatus::Stale,
                )? {
                    return Ok(served);
                }
            }
            return client.respond_error(status, &why);
        }
        Err(Failure::Client(error)) => return Err(error),
    };
    let status = started.response.status.as_u16();
    match after_validation(&selected.stored, status, &started.response.headers) {
        AfterValidation::Freshen => {
            let Started {
                up,
                response,
                request_time,
                response_time,
                ..
            } = started;
            finish_quietly(client, up);
            let mut stored = selected.stored.clone();
            freshen(&mut stored, &response.headers, request_time, response_time);
            let _ = store.freshen(selected.id, stored.clone());
            drop(lead);
            match serve_stored(
                client,
                head,
                store,
                &stored,
                selected.id,
                CacheStatus::Revalidated,
            )? {
                Some(served) => Ok(served),
                None => cached(client, head, store, key, false),
            }
        }
        AfterValidation::ServeStale => {
            drop(started);
            drop(lead);
            match serve_stored(
                client,
                head,
                store,
                &selected.stored,
                selected.id,
                CacheStatus::Stale,
            )? {
                Some(served) => Ok(served),
                None => cached(client, head, store, key, false),
            }
        }
        AfterValidation::UseNewResponse if status == 304 => {
            // A 304 about some other response: ask again without conditions (RFC 9111 §4.3.3).
            finish_quietly(client, started.up);
            store.remove(selected.id);
            drop(lead);
            match exchange(client, head, None) {
                Ok(started) => relay(
                    client,
                    head,
                    started,
                    Some(store),
                    key,
                    None,
                    CacheStatus::Miss,
                ),
                Err(failure) => answer_failure(client, failure),
            }
        }
        AfterValidation::UseNewResponse | AfterValidation::ForwardError => relay(
            client,
            head,
            started,
            Some(store),
            key,
            lead,
            CacheStatus::Miss,
        ),
    }
}

/// Reads the rest of a bodiless response (a 304) so the connection can go back to the pool.
fn finish_quietly(client: &Client<'_>, mut up: Upstream) {
    loop {
        match up.conn.poll_event() {
            Ok(Event::EndOfMessage(_)) => break,
            Ok(Event::Data(_)) => {}
            Ok(Event::NeedData) => {
                if read_upstream(&mut up).is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
    client.shared.pool.checkin(up);
}

/// Serves a stored response. `Ok(None)` when its body turned out corrupt (the entry is gone).
fn serve_stored(
    client: &mut Client<'_>,
    head: &RequestHead,
    store: &Store,
    stored: &StoredResponse,
    id: u64,
    label: CacheStatus,
) -> io::Result<Option<Served>> {
    let now = client.shared.options.clock.http_date();
    let evaluation = client_conditionals(&head.method, &head.headers, stored, now);
    let age = stored.age(now).current_age;
    if evaluation.outcome == Outcome::NotModified {
        let mut response = stored.not_modified_head(age);
        client.add_proxy_fields(&mut response.headers, label);
        client
            .conn
            .send_response(&response)
            .map_err(io::Error::other)?;
        client.conn.send_end(None).map_err(io::Error::other)?;
        client.flush()?;
        return Ok(Some(Served {
            status: 304,
            bytes: 0,
            cache: label,
        }));
    }
    let Some(body) = store.body(id) else {
        return Ok(None);
    };
    // Ranges of a stored 200 are answered here (wire::cache::ranges); the boundary of a
    // multipart answer is fixed per entry, so the same request gets the same bytes.
    let boundary = format!("protolab-cache-{id:016x}");
    let policy = RangePolicy::default();
    let (method, request) = (&head.method, &head.headers);
    match ranged_reply(
        stored,
        method,
        request,
        age,
        body.len(),
        &boundary,
        &policy,
        now,
    ) {
        RangedReply::Whole(_) => {}
        RangedReply::NotSatisfiable(content_range) => {
            let why = format!(
                "416 Range Not Satisfiable\n\nthe stored response has {} bytes, and no range the \
                 request asked for starts within them (RFC 9110 §14.1.1)\n",
                body.len()
            );
            let content_range = content_range.to_string();
            let extra = [("Content-Range", content_range.as_str())];
            let content_type = "text/plain; charset=utf-8";
            return client
                .respond(416, content_type, why.as_bytes(), label, &extra)
                .map(Some);
        }
        RangedReply::Partial {
            head: mut response,
            body: segments,
        } => {
            if let BodySource::File { .. } = body {
                if !store.verify_file_body(id) {
                    // Corrupt, and gone from the store: the caller fetches it again.
                    return Ok(None);
                }
            }
            client.add_proxy_fields(&mut response.headers, label);
            client
                .conn
                .send_response(&response)
                .map_err(io::Error::other)?;
            let mut sent = 0;
            if client.conn.can_send_data() {
                sent = send_segments(client, &body, &segments)?;
            }
            client.conn.send_end(None).map_err(io::Error::other)?;
            client.flush()?;
            return Ok(Some(Served {
                status: 206,
                bytes: sent,
                cache: label,
            }));
        }
    }
    // The stored body is sent with a length and without the trailer it may have had.
    let mut response = stored.reply_head(age, body.len());
    client.add_proxy_fields(&mut response.headers, label);
    client
        .conn
        .send_response(&response)
        .map_err(io::Error::other)?;
    let mut sent = 0;
    if client.conn.can_send_data() {
        match &body {
            BodySource::Memory(bytes) => {
                client.conn.send_data(bytes).map_err(io::Error::other)?;
                sent = bytes.len() as u64;
            }
            BodySource::File {
                path,
                len,
                checksum,
            } => {
                sent = *len;
                if let Err(e) = stream_file(client, path, *len, *checksum) {
                    // The response is cut short and the entry forgotten.
                    store.remove(id);
                    return Err(e);
                }
            }
        }
    }
    client.conn.send_end(None).map_err(io::Error::other)?;
    client.flush()?;
    Ok(Some(Served {
        status: stored.status,
        bytes: sent,
        cache: label,
    }))
}

/// Sends the body of a 206 made of `segments` (part headers and spans of the stored `body`);
/// returns the bytes sent. A body on disk was verified whole before ([`Store::verify_file_body`]).
fn send_segments(
    client: &mut Client<'_>,
    body: &BodySource,
    segments: &[BodySegment],
) -> io::Result<u64> {
    let mut file = match body {
        BodySource::File { path, .. } => Some(File::open(path)?),
        BodySource::Memory(_) => None,
    };
    let mut buf = Vec::new();
    let mut sent = 0;
    for segment in segments {
        match (segment, body) {
            (BodySegment::Literal(bytes), _) => {
                client.conn.send_data(bytes).map_err(io::Error::other)?;
            }
            (BodySegment::Representation(span), BodySource::Memory(bytes)) => {
                let span = span.as_range();
                let piece = &bytes[span.start as usize..span.end as usize];
                client.conn.send_data(piece).map_err(io::Error::other)?;
            }
            (BodySegment::Representation(span), BodySource::File { .. }) => {
                let file = file.as_mut().ok_or(io::ErrorKind::NotFound)?;
                buf.resize(64 * 1024, 0);
                file.seek(SeekFrom::Start(span.first))?;
                let mut left = span.len();
                while left > 0 {
                    let want = left.min(buf.len() as u64) as usize;
                    file.read_exact(&mut buf[..want])?;
                    client
                        .conn
                        .send_data(&buf[..want])
                        .map_err(io::Error::other)?;
                    left -= want as u64;
                    if client.conn.pending_transmit() >= FLUSH_AT {
                        client.flush()?;
                    }
                }
            }
        }
        sent += segment.len();
        if client.conn.pending_transmit() >= FLUSH_AT {
            client.flush()?;
        }
    }
    Ok(sent)
}

/// Sends `len` body bytes from the start of `path`. The last piece goes out only once the whole
/// body matched `checksum`: a corrupt body reaches the client cut short, never complete.
fn stream_file(
    client: &mut Client<'_>,
    path: &std::path::Path,
    len: u64,
    checksum: u64,
) -> io::Result<()> {
    let mut file = File::open(path)?.take(len);
    let mut hash = Fnv1a::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        left -= n as u64;
        hash.update(&buf[..n]);
        if left == 0 && hash.value() != checksum {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a stored body failed its checksum while being sent",
            ));
        }
        client.conn.send_data(&buf[..n]).map_err(io::Error::other)?;
        if client.conn.pending_transmit() >= FLUSH_AT {
            client.flush()?;
        }
    }
    Ok(())
}

/// The request as it goes to the origin: origin-form, `Host` from the URI, hop-by-hop fields
/// removed, framing re-added, `Via` appended, and the cache's conditions if it is validating.
fn outgoing_head(
    head: &RequestHead,
    framing: BodyLength,
    via_name: &str,
    conditional: Option<&ConditionalFields>,
) -> Option<RequestHead> {
    let mut out = head.to_origin_form()?;
    out.version = Version::Http11;
    // `Content-Length: 5, 5` goes on as one `Content-Length: 5` (RFC 9110 §8.6): a lenient
    // origin must not be able to read another length than the proxy did.
    collapse_for_forwarding(&mut out.headers).ok()?;
    out.headers.remove_hop_by_hop();
    for name in ["proxy-authorization", "trailer", "expect"] {
        out.headers.remove(name);
    }
    if framing == BodyLength::Chunked {
        out.headers.append("Transfer-Encoding", "chunked").ok()?;
    }
    let protocol = if head.version == Version::Http10 {
        "1.0"
    } else {
        "1.1"
    };
    out.headers
        .append("Via", format!("{protocol} {via_name}"))
        .ok()?;
    if let Some(conditional) = conditional {
        conditional.apply_to(&mut out.headers);
    }
    Some(out)
}

/// Sends the request to the origin (its body streamed from the client) and reads up to the
/// final response head, passing interim responses on.
fn exchange<'s>(
    client: &mut Client<'s>,
    head: &RequestHead,
    conditional: Option<&ConditionalFields>,
) -> Result<Started<'s>, Failure> {
    let shared = client.shared;
    let timeout = shared.options.upstream_timeout;
    let framing = request_body_length(head.version, &head.headers)
        .map(|f| f.body)
        .map_err(|e| Failure::Answer(400, format!("the request's framing: {e}")))?;
    let has_body = framing != BodyLength::Empty;
    let out = outgoing_head(head, framing, &shared.via_name, conditional)
        .ok_or_else(|| Failure::Answer(400, "the request cannot be forwarded".into()))?;
    let authority = head
        .target
        .authority()
        .ok_or_else(|| Failure::Answer(400, "no host to forward to".into()))?;
    let port = authority.port_or(80);
    for attempt in 0..2 {
        let mut up = if attempt == 0 {
            shared.pool.checkout(&authority.host, port, timeout)
        } else {
            shared.pool.connect(&authority.host, port, timeout)
        }
        .map_err(|e| Failure::Answer(e.status(), e.to_string()))?;
        let registered = shared.sockets.register(&up.stream);
        let request_time = shared.options.clock.http_date();
        up.conn
            .send_request(&out)
            .map_err(|e| Failure::Answer(500, format!("the proxy built a bad request: {e}")))?;
        let retryable = up.reused && !has_body;
        if let Err(e) = flush_upstream(&mut up) {
            if retryable {
                continue;
            }
            return Err(Failure::Answer(
                502,
                format!("sending to {} failed: {e}", up.origin),
            ));
        }
        if has_body {
            match request_body::send(client, &mut up, timeout) {
                Ok(Sent::Whole) => {}
                Ok(Sent::Answered(response)) => {
                    // An early answer (413, 401, 403, ...): relayed as it is; the rest of the
                    // client's body is drained or the client connection closed by its core.
                    let response_time = shared.options.clock.http_date();
                    return Ok(Started {
                        up,
                        _registered: registered,
                        response,
                        request_time,
                        response_time,
                    });
                }
                Err(BodyError::Upstream(status, why)) => return Err(Failure::Answer(status, why)),
                Err(BodyError::Client(Some(status), e)) => {
                    return Err(Failure::Answer(status, e.to_string()))
                }
                Err(BodyError::Client(None, e)) => return Err(Failure::Client(e)),
            }
        }
        let mut got_bytes = false;
        loop {
            let event = up.conn.poll_event();
            match event {
                Ok(Event::InformationalResponse(mut interim)) => {
                    got_bytes = true;
                    if interim.status.as_u16() == 100 {
                        continue;
                    }
                    interim.headers.remove_hop_by_hop();
                    interim.version = Version::Http11;
                    if client.conn.send_response(&interim).is_ok() {
                        client.flush().map_err(Failure::Client)?;
                    }
                }
                Ok(Event::Response(response)) => {
                    let response_time = shared.options.clock.http_date();
                    return Ok(Started {
                        up,
                        _registered: registered,
                        response,
                        request_time,
                        response_time,
                    });
                }
                Ok(Event::NeedData) => match read_upstream(&mut up) {
                    Ok(n) => got_bytes |= n > 0,
                    Err(e) if is_timeout(&e) => {
                        return Err(Failure::Answer(
                            504,
                            format!(
                                "{} sent no response within the upstream timeout ({} s)",
                                up.origin,
                                timeout.as_secs_f64()
                            ),
                        ))
                    }
                    Err(_) if retryable && !got_bytes => break,
                    Err(e) => {
                        return Err(Failure::Answer(
                            502,
                            format!("reading the response from {} failed: {e}", up.origin),
                        ))
                    }
                },
                Ok(_) => {
                    return Err(Failure::Answer(
                        502,
                        format!("{} closed the connection without a response", up.origin),
                    ))
                }
                Err(_) if retryable && !got_bytes => break,
                Err(e) => {
                    return Err(Failure::Answer(
                        502,
                        format!("{} sent a response the proxy cannot read: {e}", up.origin),
                    ))
                }
            }
        }
    }
    Err(Failure::Answer(
        502,
        "the origin closed the connection twice without a response".into(),
    ))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn flush_upstream(up: &mut Upstream) -> io::Result<()> {
    while let Some(transmit) = up.conn.poll_transmit() {
        let Transmit::Bytes(bytes) = transmit else {
            return Err(io::Error::other("unexpected shell-written body"));
        };
        let n = up.stream.write(bytes)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        up.conn
            .advance_transmit(n as u64)
            .map_err(io::Error::other)?;
    }
    Ok(())
}

fn read_upstream(up: &mut Upstream) -> io::Result<usize> {
    let n = up.stream.read(up.conn.receive_buffer())?;
    if n == 0 {
        up.conn.handle_eof();
    } else {
        up.conn.handle_received(n);
    }
    Ok(n)
}

/// Relays the origin's response to the client, storing it on the way when the cache may, and
/// invalidating what an unsafe method changed.
fn relay(
    client: &mut Client<'_>,
    head: &RequestHead,
    mut started: Started<'_>,
    store: Option<&Store>,
    key: &str,
    lead: Option<Lead<'_>>,
    label: CacheStatus,
) -> io::Result<Served> {
    let shared = client.shared;
    let status = started.response.status.as_u16();
    // Before anything reads the origin's fields: a `Content-Length` beside `Transfer-Encoding`
    // was wrong (the core read the body chunked, RFC 9112 §6.3 step 3) and is dropped, so it is
    // neither relayed nor stored; repeated equal lengths become one (RFC 9110 §8.6). Lengths
    // that differ never get here (the core refused the response: 502).
    if let Err(e) = collapse_for_forwarding(&mut started.response.headers) {
        return client.respond_error(
            502,
            &format!("the origin's response cannot be relayed: {e}"),
        );
    }
    if let Some(store) = store {
        if !head.method.is_safe() {
            let uri = absolute_uri(head);
            for target in
                invalidation_targets(&head.method, status, &uri, &started.response.headers)
            {
                store.remove_key(&target);
            }
        }
    }
    let mut pending: Option<PendingEntry> = None;
    if let Some(store) = store {
        if head.method == Method::Get
            && storability(
                &head.method,
                &head.headers,
                status,
                &started.response.headers,
            ) == Storability::Store
        {
            pending = store.begin(key).ok();
        }
    }
    let mut lead = lead;
    if pending.is_none() {
        lead = None;
    }

    let mut response = started.response.clone();
    response.version = Version::Http11;
    response.headers.remove_hop_by_hop();
    response.headers.remove("trailer");
    let had_length = response.headers.contains("content-length");
    client.add_proxy_fields(&mut response.headers, label);
    if let Err(e) = client.conn.send_response(&response) {
        // The origin's head cannot be sent on as it is (its framing): tell the client.
        drop(pending);
        return client.respond_error(
            502,
            &format!("the origin's response cannot be relayed: {e}"),
        );
    }
    client.flush()?;

    let mut sent = 0u64;
    let sending = client.conn.can_send_data();
    let up = &mut started.up;
    let trailers = loop {
        match up.conn.poll_event() {
            Ok(Event::Data(bytes)) => {
                sent += bytes.len() as u64;
                if sending {
                    client.conn.send_data(bytes).map_err(io::Error::other)?;
                }
                if let Some(entry) = &mut pending {
                    if !matches!(entry.write(bytes), Ok(true)) {
                        pending = None;
                        lead = None;
                    }
                }
                if client.conn.pending_transmit() >= FLUSH_AT {
                    client.flush()?;
                }
            }
            Ok(Event::EndOfMessage(trailers)) => break trailers,
            Ok(Event::NeedData) => {
                client.flush()?;
                // A failure mid-body cuts the client's response short (never completes it wrongly).
                read_upstream(up)?;
            }
            Ok(_) | Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the origin's response body ended early",
                ));
            }
        }
    };
    shared
        .stats
        .bytes_from_origins
        .fetch_add(sent, Ordering::Relaxed);
    let trailers = (!trailers.is_empty() && !had_length && sending).then_some(&trailers);
    client.conn.send_end(trailers).map_err(io::Error::other)?;
    client.flush()?;
    if let (Some(store), Some(entry)) = (store, pending) {
        let stored = StoredResponse::new(
            status,
            &started.response.headers,
            &head.headers,
            started.request_time,
            started.response_time,
        );
        let _ = store.commit(entry, stored, &head.headers);
    }
    drop(lead);
    let Started { up, .. } = started;
    shared.pool.checkin(up);
    Ok(Served {
        status,
        bytes: if sending { sent } else { 0 },
        cache: label,
    })
}
