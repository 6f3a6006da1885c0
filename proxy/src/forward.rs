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
    let store = shared.store.as_ref();
    let mut fetch = Fetch {
        client,
        head: &head,
        store,
        key,
    };
    match store {
        Some(store) if matches!(head.method, Method::Get | Method::Head) => {
            if asks_nothing_of_the_cache(&head.headers) {
                let now = shared.options.clock.http_date();
                if let Some(hit) = store.fresh_hit(key, &head.method, &head.headers, now) {
                    return fetch.client.send_fresh_hit(&hit);
                }
            }
            fetch.cached(store, true)
        }
        _ => fetch.ask_origin(None, None, CacheStatus::Bypass),
    }
}

/// One forwarded request on its way through the cache (the diagram at the top): the client it
/// came on, its head, its cache key, and the store when the cache is on. Each step is a method.
struct Fetch<'f, 's> {
    client: &'f mut Client<'s>,
    head: &'f RequestHead,
    store: Option<&'f Store>,
    key: &'f str,
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

impl<'s> Fetch<'_, 's> {
    /// A GET or HEAD with the cache on.
    fn cached(&mut self, store: &Store, may_collapse: bool) -> io::Result<Served> {
        let (head, key) = (self.head, self.key);
        let now = self.client.shared.options.clock.http_date();
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
                self.serve_or_refetch(store, &selected.stored, selected.id, label, may_collapse)
            }
            Decision::GatewayTimeout(instead) => self.client.respond_error(
                504,
                &format!("the request said only-if-cached, and this would have been a {instead}"),
            ),
            Decision::Revalidate { conditional, .. } => {
                let Some(lead) = collapse(self.client, head, key, may_collapse) else {
                    return self.cached(store, false);
                };
                let selected = selected.expect("a revalidation has a stored response");
                self.revalidate(store, selected, conditional, lead)
            }
            Decision::Miss(_) => {
                let Some(lead) = collapse(self.client, head, key, may_collapse) else {
                    return self.cached(store, false);
                };
                self.ask_origin(None, lead, CacheStatus::Miss)
            }
        }
    }

    /// Serves a stored response; when its body turned out corrupt (and is gone), fetches it
    /// again.
    fn serve_or_refetch(
        &mut self,
        store: &Store,
        stored: &StoredResponse,
        id: u64,
        label: CacheStatus,
        may_collapse: bool,
    ) -> io::Result<Served> {
        match serve_stored(self.client, self.head, store, stored, id, label)? {
            Some(served) => Ok(served),
            None => self.cached(store, may_collapse),
        }
    }

    /// Asks the origin (with the cache's `conditional` fields, if validating) and relays its
    /// answer, or answers the failure.
    fn ask_origin(
        &mut self,
        conditional: Option<&ConditionalFields>,
        lead: Option<Lead<'_>>,
        label: CacheStatus,
    ) -> io::Result<Served> {
        match exchange(self.client, self.head, conditional) {
            Ok(started) => self.relay(started, lead, label),
            Err(failure) => answer_failure(self.client, failure),
        }
    }

    /// A stored response that needs validation: ask the origin with `conditional` and act on
    /// its answer (RFC 9111 §4.3).
    fn revalidate(
        &mut self,
        store: &Store,
        selected: Selected<Decision>,
        conditional: ConditionalFields,
        lead: Option<Lead<'_>>,
    ) -> io::Result<Served> {
        let started = match exchange(self.client, self.head, Some(&conditional)) {
            Ok(started) => started,
            Err(Failure::Answer(status, why)) => {
                // The origin cannot be reached: a stored response that allows it is served
                // stale (RFC 9111 §4.2.4), anything else gets the error.
                if wire::cache::validation::may_serve_stale(&selected.stored.directives()) {
                    let (stored, id) = (&selected.stored, selected.id);
                    let label = CacheStatus::Stale;
                    if let Some(served) =
                        serve_stored(self.client, self.head, store, stored, id, label)?
                    {
                        return Ok(served);
                    }
                }
                return self.client.respond_error(status, &why);
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
                finish_quietly(self.client, up);
                let mut stored = selected.stored.clone();
                freshen(&mut stored, &response.headers, request_time, response_time);
                let _ = store.freshen(selected.id, stored.clone());
                drop(lead);
                let label = CacheStatus::Revalidated;
                self.serve_or_refetch(store, &stored, selected.id, label, false)
            }
            AfterValidation::ServeStale => {
                drop(started);
                drop(lead);
                let label = CacheStatus::Stale;
                self.serve_or_refetch(store, &selected.stored, selected.id, label, false)
            }
            AfterValidation::UseNewResponse if status == 304 => {
                // A 304 about some other response: ask again without conditions (RFC 9111
                // §4.3.3).
                finish_quietly(self.client, started.up);
                store.remove(selected.id);
                drop(lead);
                self.ask_origin(None, None, CacheStatus::Miss)
            }
            AfterValidation::UseNewResponse | AfterValidation::ForwardError => {
                self.relay(started, lead, CacheStatus::Miss)
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
        return send_bodiless(client, &mut response, label).map(Some);
    }
    let Some(body) = store.body(id) else {
        return Ok(None);
    };
    // Ranges of a stored 200 are answered here (wire::cache::ranges); the boundary of a
    // multipart answer is fixed per entry, so the same request gets the same bytes.
    let boundary = format!("protolab-cache-{id:016x}");
    let policy = RangePolicy::default();
    let (method, request) = (&head.method, &head.headers);
    let len = body.len();
    match ranged_reply(stored, method, request, age, len, &boundary, &policy, now) {
        RangedReply::Whole(_) => {}
        RangedReply::NotSatisfiable(content_range) => {
            let why = format!(
                "416 Range Not Satisfiable\n\nthe stored response has {len} bytes, and no range \
                 the request asked for starts within them (RFC 9110 §14.1.1)\n"
            );
            let content_range = content_range.to_string();
            let extra = [("Content-Range", content_range.as_str())];
            let content_type = "text/plain; charset=utf-8";
            return client
                .respond(416, content_type, why.as_bytes(), label, &extra)
                .map(Some);
        }
        RangedReply::Partial {
            head: response,
            body: segments,
        } => {
            if let BodySource::File { .. } = body {
                if !store.verify_file_body(id) {
                    // Corrupt, and gone from the store: the caller fetches it again.
                    return Ok(None);
                }
            }
            return send_partial(client, response, &body, &segments, label).map(Some);
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

/// Sends a response without a body (a 304), with the proxy's fields.
fn send_bodiless(
    client: &mut Client<'_>,
    response: &mut ResponseHead,
    label: CacheStatus,
) -> io::Result<Served> {
    client.add_proxy_fields(&mut response.headers, label);
    client
        .conn
        .send_response(response)
        .map_err(io::Error::other)?;
    client.conn.send_end(None).map_err(io::Error::other)?;
    client.flush()?;
    Ok(Served {
        status: response.status.as_u16(),
        bytes: 0,
        cache: label,
    })
}

/// Sends a 206 of a stored `body`: `response` and its `segments`.
fn send_partial(
    client: &mut Client<'_>,
    mut response: ResponseHead,
    body: &BodySource,
    segments: &[BodySegment],
    label: CacheStatus,
) -> io::Result<Served> {
    client.add_proxy_fields(&mut response.headers, label);
    client
        .conn
        .send_response(&response)
        .map_err(io::Error::other)?;
    let mut sent = 0;
    if client.conn.can_send_data() {
        sent = send_segments(client, body, segments)?;
    }
    client.conn.send_end(None).map_err(io::Error::other)?;
    client.flush()?;
    Ok(Served {
        status: 206,
        bytes: sent,
        cache: label,
    })
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
/// final response head, passing interim responses on. A reused pooled connection that closes
/// before answering a request without a body is tried once more on a new one.
fn exchange<'s>(
    client: &mut Client<'s>,
    head: &RequestHead,
    conditional: Option<&ConditionalFields>,
) -> Result<Started<'s>, Failure> {
    let shared = client.shared;
    let timeout = shared.options.upstream_timeout;
    let (out, has_body, authority) = prepare(head, &shared.via_name, conditional)?;
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
        let answered = if has_body {
            send_body(client, &mut up, timeout)?
        } else {
            None
        };
        let response = match answered {
            Some(early) => early,
            None => match final_head(client, &mut up, retryable)? {
                Some(response) => response,
                None => continue,
            },
        };
        let response_time = shared.options.clock.http_date();
        return Ok(Started {
            up,
            _registered: registered,
            response,
            request_time,
            response_time,
        });
    }
    Err(Failure::Answer(
        502,
        "the origin closed the connection twice without a response".into(),
    ))
}

/// The request as it goes out, whether it has a body, and where it goes.
fn prepare<'h>(
    head: &'h RequestHead,
    via_name: &str,
    conditional: Option<&ConditionalFields>,
) -> Result<(RequestHead, bool, &'h wire::http1::Authority), Failure> {
    let framing = request_body_length(head.version, &head.headers)
        .map(|f| f.body)
        .map_err(|e| Failure::Answer(400, format!("the request's framing: {e}")))?;
    let out = outgoing_head(head, framing, via_name, conditional)
        .ok_or_else(|| Failure::Answer(400, "the request cannot be forwarded".into()))?;
    let authority = head
        .target
        .authority()
        .ok_or_else(|| Failure::Answer(400, "no host to forward to".into()))?;
    Ok((out, framing != BodyLength::Empty, authority))
}

/// Streams the client's body to the origin. `Some(head)` when the origin answered early (413,
/// 401, 403, ...): that answer is relayed as it is, and the rest of the client's body is
/// drained or the client connection closed by its core.
fn send_body(
    client: &mut Client<'_>,
    up: &mut Upstream,
    timeout: std::time::Duration,
) -> Result<Option<ResponseHead>, Failure> {
    match request_body::send(client, up, timeout) {
        Ok(Sent::Whole) => Ok(None),
        Ok(Sent::Answered(response)) => Ok(Some(response)),
        Err(BodyError::Upstream(status, why)) => Err(Failure::Answer(status, why)),
        Err(BodyError::Client(Some(status), e)) => Err(Failure::Answer(status, e.to_string())),
        Err(BodyError::Client(None, e)) => Err(Failure::Client(e)),
    }
}

/// Reads the origin's answer up to its final head, passing interim responses (but `100
/// Continue`) on to the client. `None`: a `retryable` exchange got nothing at all; try again.
fn final_head(
    client: &mut Client<'_>,
    up: &mut Upstream,
    retryable: bool,
) -> Result<Option<ResponseHead>, Failure> {
    let timeout = client.shared.options.upstream_timeout;
    let mut got_bytes = false;
    loop {
        match up.conn.poll_event() {
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
            Ok(Event::Response(response)) => return Ok(Some(response)),
            Ok(Event::NeedData) => match read_upstream(up) {
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
                Err(_) if retryable && !got_bytes => return Ok(None),
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
            Err(_) if retryable && !got_bytes => return Ok(None),
            Err(e) => {
                return Err(Failure::Answer(
                    502,
                    format!("{} sent a response the proxy cannot read: {e}", up.origin),
                ))
            }
        }
    }
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

impl Fetch<'_, '_> {
    /// Relays the origin's response to the client, storing it on the way when the cache may,
    /// and invalidating what an unsafe method changed.
    fn relay(
        &mut self,
        mut started: Started<'_>,
        lead: Option<Lead<'_>>,
        label: CacheStatus,
    ) -> io::Result<Served> {
        let shared = self.client.shared;
        let status = started.response.status.as_u16();
        // Before anything reads the origin's fields: a `Content-Length` beside
        // `Transfer-Encoding` was wrong (the core read the body chunked, RFC 9112 §6.3 step 3)
        // and is dropped, so it is neither relayed nor stored; repeated equal lengths become one
        // (RFC 9110 §8.6). Lengths that differ never get here (the core refused the response:
        // 502).
        if let Err(e) = collapse_for_forwarding(&mut started.response.headers) {
            return self.client.respond_error(
                502,
                &format!("the origin's response cannot be relayed: {e}"),
            );
        }
        self.invalidate(status, &started.response.headers);
        let mut pending = self.begin_storing(status, &started.response.headers);
        // Followers wait for a stored response only.
        let mut lead = if pending.is_some() { lead } else { None };

        let had_length = match self.send_response_head(&started.response, label) {
            Ok(had_length) => had_length,
            Err(RelayHead::Unsendable(e)) => {
                drop(pending);
                return self.client.respond_error(
                    502,
                    &format!("the origin's response cannot be relayed: {e}"),
                );
            }
            Err(RelayHead::Client(e)) => return Err(e),
        };
        let sending = self.client.conn.can_send_data();
        let (sent, trailers) = relay_body(
            self.client,
            &mut started.up,
            sending,
            &mut pending,
            &mut lead,
        )?;
        shared
            .stats
            .bytes_from_origins
            .fetch_add(sent, Ordering::Relaxed);
        let trailers = (!trailers.is_empty() && !had_length && sending).then_some(&trailers);
        self.client
            .conn
            .send_end(trailers)
            .map_err(io::Error::other)?;
        self.client.flush()?;
        if let (Some(store), Some(entry)) = (self.store, pending) {
            let stored = StoredResponse::new(
                status,
                &started.response.headers,
                &self.head.headers,
                started.request_time,
                started.response_time,
            );
            let _ = store.commit(entry, stored, &self.head.headers);
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

    /// What an unsafe method changed is forgotten (RFC 9111 §4.4).
    fn invalidate(&self, status: u16, response: &wire::http1::Headers) {
        let (Some(store), head) = (self.store, self.head) else {
            return;
        };
        if head.method.is_safe() {
            return;
        }
        let uri = absolute_uri(head);
        for target in invalidation_targets(&head.method, status, &uri, response) {
            store.remove_key(&target);
        }
    }

    /// A new cache entry for the response, when a GET's response may be stored.
    fn begin_storing(&self, status: u16, response: &wire::http1::Headers) -> Option<PendingEntry> {
        let (store, head) = (self.store?, self.head);
        let storable = head.method == Method::Get
            && storability(&head.method, &head.headers, status, response) == Storability::Store;
        if storable {
            store.begin(self.key).ok()
        } else {
            None
        }
    }

    /// Sends the origin's head on, hop-by-hop fields removed and the proxy's added; `Ok(true)`
    /// when it has a `Content-Length` (trailers cannot follow it).
    fn send_response_head(
        &mut self,
        origin: &ResponseHead,
        label: CacheStatus,
    ) -> Result<bool, RelayHead> {
        let mut response = origin.clone();
        response.version = Version::Http11;
        response.headers.remove_hop_by_hop();
        response.headers.remove("trailer");
        let had_length = response.headers.contains("content-length");
        self.client.add_proxy_fields(&mut response.headers, label);
        // The origin's head cannot be sent on as it is (its framing): the client is told.
        self.client
            .conn
            .send_response(&response)
            .map_err(|e| RelayHead::Unsendable(e.to_string()))?;
        self.client.flush().map_err(RelayHead::Client)?;
        Ok(had_length)
    }
}

/// Why the origin's response head was not sent on.
enum RelayHead {
    /// Its framing cannot be sent as it is: the client gets a 502 saying this.
    Unsendable(String),
    /// The client's side failed.
    Client(io::Error),
}

/// Streams the origin's body to the client (when `sending`) and into `pending`; returns the body
/// bytes and the trailers. A failure mid-body cuts the client's response short, never completes
/// it wrongly; a store write that fails drops the entry and the lead.
fn relay_body(
    client: &mut Client<'_>,
    up: &mut Upstream,
    sending: bool,
    pending: &mut Option<PendingEntry>,
    lead: &mut Option<Lead<'_>>,
) -> io::Result<(u64, wire::http1::Headers)> {
    let mut sent = 0u64;
    loop {
        match up.conn.poll_event() {
            Ok(Event::Data(bytes)) => {
                sent += bytes.len() as u64;
                if sending {
                    client.conn.send_data(bytes).map_err(io::Error::other)?;
                }
                if let Some(entry) = pending {
                    if !matches!(entry.write(bytes), Ok(true)) {
                        *pending = None;
                        *lead = None;
                    }
                }
                if client.conn.pending_transmit() >= FLUSH_AT {
                    client.flush()?;
                }
            }
            Ok(Event::EndOfMessage(trailers)) => return Ok((sent, trailers)),
            Ok(Event::NeedData) => {
                client.flush()?;
                read_upstream(up)?;
            }
            Ok(_) | Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the origin's response body ended early",
                ));
            }
        }
    }
}
