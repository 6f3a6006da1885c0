//! The `proxy` track: labs runs an origin server and plays the client around the learner's proxy.

use crate::catalog::{Role, Step, Track};
use crate::check::{Ctx, Failure};
use crate::exchange::Hop;
use crate::http::{expect_body, expect_status, read_response, send_failed};
use crate::origin::{Answer, Origin, Port80, Port80Watch, Seen, PORT_80};
use std::time::Duration;

macro_rules! step {
    ($slug:literal, $title:literal, $optional:literal, $file:literal, $check:expr) => {
        Step {
            slug: $slug,
            title: $title,
            optional: $optional,
            role: Role::Server,
            text: include_str!(concat!("../../steps/proxy/", $file)),
            check: $check,
        }
    };
}

/// The track.
pub static TRACK: Track = Track {
    id: "proxy",
    title: "A caching web proxy",
    intro: "Forward requests, relay responses, and keep copies to answer the next client faster.",
    steps: &[
        step!(
            "forward",
            "forward absolute-form requests",
            false,
            "01-forward.txt",
            forward
        ),
        step!(
            "path-form",
            "the lab's path form",
            false,
            "02-path-form.txt",
            path_form
        ),
        step!(
            "cache",
            "answer the second request from the cache",
            false,
            "03-cache.txt",
            cache
        ),
        step!(
            "not-found",
            "pass a 404 through",
            false,
            "04-not-found.txt",
            not_found
        ),
        step!("post", "forward POST bodies", true, "05-post.txt", post),
        step!(
            "revalidate",
            "revalidate stale entries with a conditional GET",
            true,
            "06-revalidate.txt",
            revalidate
        ),
        step!(
            "concurrent",
            "two clients at once",
            true,
            "07-concurrent.txt",
            concurrent
        ),
    ],
};

fn page(path: &str) -> Vec<u8> {
    format!("<html><body>labs origin page {path}</body></html>\n").into_bytes()
}

/// The origin's routes: `/missing*` is a 404, `/slow*` waits, `/stale*` is stale after a
/// second and revalidates with an ETag, `/form` echoes POST bodies, the rest are fresh pages.
fn routes(seen: &Seen) -> Answer {
    let path = seen.target.as_str();
    let ok = |fields: Vec<(&'static str, String)>, body: Vec<u8>, delay: Duration| Answer {
        status: (200, "OK"),
        fields,
        body,
        delay,
    };
    let html = || ("Content-Type", "text/html".to_string());
    if path.starts_with("/missing") {
        return Answer {
            status: (404, "Not Found"),
            fields: vec![html()],
            body: b"<h1>labs origin: no such page</h1>\n".to_vec(),
            delay: Duration::ZERO,
        };
    }
    if path.starts_with("/stale") {
        let etag = "\"labs-v1\"";
        if seen
            .field("If-None-Match")
            .is_some_and(|v| v == etag.as_bytes())
        {
            return Answer {
                status: (304, "Not Modified"),
                fields: vec![("ETag", etag.into()), ("Cache-Control", "max-age=1".into())],
                body: Vec::new(),
                delay: Duration::ZERO,
            };
        }
        let fields = vec![
            html(),
            ("ETag", etag.into()),
            ("Cache-Control", "max-age=1".into()),
            ("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT".into()),
        ];
        return ok(fields, page(path), Duration::ZERO);
    }
    if path == "/form" && seen.method == "POST" {
        let mut body = b"labs origin got: ".to_vec();
        body.extend_from_slice(&seen.body);
        return ok(
            vec![
                ("Content-Type", "text/plain".into()),
                ("Cache-Control", "no-store".into()),
            ],
            body,
            Duration::ZERO,
        );
    }
    let delay = if path.starts_with("/slow") {
        Duration::from_millis(1500)
    } else {
        Duration::ZERO
    };
    ok(
        vec![html(), ("Cache-Control", "max-age=300".into())],
        page(path),
        delay,
    )
}

/// Runs a step's check with labs' origin behind the learner's proxy. When the proxy never
/// reached the origin, the failure says whether it connected to port 80 instead (labs watches
/// 127.0.0.1:80 when it may), or that labs cannot tell and why.
fn behind_origin(
    ctx: &mut Ctx,
    check: fn(&mut Ctx, &Origin) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let origin = start_origin(ctx)?;
    let watch = match ctx.port_80 {
        Port80::Watch => Port80Watch::start(&ctx.log(), ctx.timeout.min(Duration::from_secs(1)))
            .map_err(Unwatched::Refused),
        Port80::Origin => Err(Unwatched::OriginIsThere),
        Port80::Never => Err(Unwatched::Never),
    };
    match check(ctx, &origin) {
        Ok(()) => Ok(()),
        Err(failure) if origin.connections() > 0 => Err(failure),
        Err(failure) => Err(unreached(failure, origin.addr().port(), &watch)),
    }
}

/// Why labs did not watch port 80 during a step.
#[derive(Debug)]
enum Unwatched {
    /// The origin itself is there (`--origin-on-80`).
    OriginIsThere,
    /// The run leaves port 80 alone.
    Never,
    /// Listening there failed.
    Refused(std::io::Error),
}

const GRADE_AS_IS: &str = "to grade your proxy as it is, run labs as root with --origin-on-80: its origin then listens on 127.0.0.1:80 and the URLs carry no port";

/// The failure of a step in which no connection reached labs' origin: the proxy connected to
/// port 80 (seen there), or it may have, and why labs cannot tell.
fn unreached(failure: Failure, port: u16, watch: &Result<Port80Watch, Unwatched>) -> Failure {
    let arrivals = watch
        .as_ref()
        .map(Port80Watch::arrivals)
        .unwrap_or_default();
    if !arrivals.is_empty() {
        return Failure::new(
            "The proxy connects to the host and port the URL names: port 80 only when the URL names none (RFC 9110 §4.2.1)",
            format!("your proxy connected to port 80; the URL asked for port {port}"),
        )
        .diagnosis(format!(
            "labs listened on {PORT_80} during this step and your proxy sent {} there, while labs' origin on port {port} got no connection; the client then saw: {}",
            arrivals.join(", "),
            failure.problem
        ))
        .hint(format!("take the port from the URL (`host:port`, 80 when it has none) and connect there; or, {GRADE_AS_IS}"));
    }
    let origin = if port == 80 {
        format!("labs' origin on {PORT_80}")
    } else {
        format!("labs' origin on 127.0.0.1:{port}")
    };
    let why_unseen = match watch {
        Ok(_) => format!(
            "labs listened on {PORT_80} too and nothing arrived there either, so your proxy did not connect to port 80 on this machine: check the host and port it takes from the URL"
        ),
        Err(Unwatched::OriginIsThere) => {
            "check that your proxy connects to the host in the URL (127.0.0.1)".to_string()
        }
        Err(Unwatched::Never) => format!(
            "a proxy that connects to port 80 whatever the URL says (the lab skeleton's `connect((host, 80))`) fails this way; labs did not listen on {PORT_80} in this run, so it cannot tell whether yours does"
        ),
        Err(Unwatched::Refused(e)) if e.kind() == std::io::ErrorKind::PermissionDenied => format!(
            "a proxy that connects to port 80 whatever the URL says (the lab skeleton's `connect((host, 80))`) fails this way; labs may not listen on {PORT_80} here (that needs root or CAP_NET_BIND_SERVICE), so it cannot tell whether yours does. If it does: take the port from the URL, or {GRADE_AS_IS}"
        ),
        Err(Unwatched::Refused(e)) if e.kind() == std::io::ErrorKind::AddrInUse => format!(
            "a proxy that connects to port 80 whatever the URL says (the lab skeleton's `connect((host, 80))`) fails this way; something else listens on {PORT_80}, so labs cannot tell whether yours connected there (if it did, that server answered it)"
        ),
        Err(Unwatched::Refused(e)) => format!(
            "a proxy that connects to port 80 whatever the URL says (the lab skeleton's `connect((host, 80))`) fails this way; labs could not listen on {PORT_80} to tell ({e})"
        ),
    };
    let seen = format!("no connection reached {origin}: {why_unseen}");
    Failure {
        diagnosis: Some(match failure.diagnosis {
            Some(d) => format!("{d}; {seen}"),
            None => seen,
        }),
        ..failure
    }
}

fn start_origin(ctx: &mut Ctx) -> Result<Origin, Failure> {
    let started = match ctx.port_80 {
        Port80::Origin => std::net::TcpListener::bind(PORT_80)
            .map_err(|e| {
                let hint = match e.kind() {
                    std::io::ErrorKind::PermissionDenied => "listening on a port below 1024 needs root: run labs with sudo, or let it bind low ports once with sudo setcap cap_net_bind_service=+ep \"$(command -v labs)\"",
                    std::io::ErrorKind::AddrInUse => "something else listens on port 80: stop it for the check, or make your proxy take the port from the URL and run labs without --origin-on-80",
                    _ => "run labs without --origin-on-80, with a proxy that takes the port from the URL",
                };
                Failure::new(
                    "--origin-on-80 runs labs' origin on 127.0.0.1:80",
                    format!("labs could not listen on {PORT_80}: {e}"),
                )
                .hint(hint)
            })
            .and_then(|listener| {
                Origin::start_on(listener, routes, &ctx.log(), ctx.timeout).map_err(origin_failed)
            }),
        _ => Origin::start(routes, &ctx.log(), ctx.timeout).map_err(origin_failed),
    };
    let origin = started?;
    if origin.addr().port() == 80 {
        ctx.notes.push(format!(
            "labs' origin listens on {PORT_80} (--origin-on-80); the URLs carry no port"
        ));
    }
    Ok(origin)
}

fn origin_failed(e: std::io::Error) -> Failure {
    Failure::new(
        "labs runs an origin server for this step",
        format!("it could not start: {e}"),
    )
}

/// Sends one request through the proxy and reads the response.
fn through_proxy(
    ctx: &mut Ctx,
    request: &[u8],
    method: &str,
) -> Result<crate::http::Response, Failure> {
    let mut peer = ctx.connect()?.with_hop(Hop::ClientToProxy);
    peer.send(request).map_err(send_failed)?;
    read_response(&mut peer, method)
}

fn absolute(origin: &Origin, path: &str) -> Vec<u8> {
    let authority = origin.authority();
    format!(
        "GET http://{authority}{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

fn expect_origin_saw(origin: &Origin, path: &str) -> Result<Seen, Failure> {
    let seen = origin.seen();
    if let Some(s) = seen.iter().find(|s| s.target == path) {
        return Ok(s.clone());
    }
    let targets: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.target))
        .collect();
    Err(Failure::new(
        "The proxy sends the origin the request in origin form: `GET /path HTTP/1.1` (RFC 9112 §3.2.1)",
        if targets.is_empty() {
            "no request reached the origin".to_string()
        } else {
            format!("the origin received {} instead of GET {path}", targets.join(", "))
        },
    )
    .hint("parse the host, port and path out of the URL; connect to host:port; send `GET /path HTTP/1.1` with a Host field"))
}

fn forward(ctx: &mut Ctx) -> Result<(), Failure> {
    behind_origin(ctx, forward_via)
}

fn forward_via(ctx: &mut Ctx, origin: &Origin) -> Result<(), Failure> {
    let response = through_proxy(ctx, &absolute(origin, "/page.html"), "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    expect_body(&response, &page("/page.html"))?;
    let seen = expect_origin_saw(origin, "/page.html")?;
    if seen.field("Host").is_none() {
        return Err(Failure::new(
            "A forwarded HTTP/1.1 request carries Host (RFC 9112 §3.2)",
            "the origin got no Host field",
        ));
    }
    Ok(())
}

fn path_form(ctx: &mut Ctx) -> Result<(), Failure> {
    behind_origin(ctx, path_form_via)
}

fn path_form_via(ctx: &mut Ctx, origin: &Origin) -> Result<(), Failure> {
    let authority = origin.authority();
    for (target, path) in [
        (format!("/{authority}/path-form.html"), "/path-form.html"),
        (
            format!("/http://{authority}/scheme-form.html"),
            "/scheme-form.html",
        ),
    ] {
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let response = through_proxy(ctx, request.as_bytes(), "GET")?;
        expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
        expect_body(&response, &page(path))?;
        expect_origin_saw(origin, path)?;
    }
    Ok(())
}

fn cache(ctx: &mut Ctx) -> Result<(), Failure> {
    behind_origin(ctx, cache_via)
}

fn cache_via(ctx: &mut Ctx, origin: &Origin) -> Result<(), Failure> {
    for round in 1..=2 {
        let response = through_proxy(ctx, &absolute(origin, "/cached.html"), "GET")?;
        expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
        expect_body(&response, &page("/cached.html")).map_err(|f| Failure {
            problem: format!("request {round}: {}", f.problem),
            ..f
        })?;
    }
    let hits = origin.hits().get("/cached.html").copied().unwrap_or(0);
    if hits != 1 {
        return Err(Failure::new(
            "A caching proxy answers a repeated request from its cache",
            format!("the origin was asked for /cached.html {hits} times for 2 client requests (it allows max-age=300)"),
        )
        .hint("after relaying a 200, keep the response keyed by its full URL; look there before connecting to the origin"));
    }
    Ok(())
}

fn not_found(ctx: &mut Ctx) -> Result<(), Failure> {
    behind_origin(ctx, not_found_via)
}

fn not_found_via(ctx: &mut Ctx, origin: &Origin) -> Result<(), Failure> {
    let response = through_proxy(ctx, &absolute(origin, "/missing.html"), "GET")?;
    expect_status(&response, 404, "HTTP/1.1 404 Not Found\r\n")?;
    expect_body(&response, b"<h1>labs origin: no such page</h1>\n")
}

fn post(ctx: &mut Ctx) -> Result<(), Failure> {
    behind_origin(ctx, post_via)
}

fn post_via(ctx: &mut Ctx, origin: &Origin) -> Result<(), Failure> {
    let authority = origin.authority();
    let body = b"name=Ada&lang=en";
    let mut request = format!(
        "POST http://{authority}/form HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let response = through_proxy(ctx, &request, "POST")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    expect_body(&response, b"labs origin got: name=Ada&lang=en")?;
    let seen = expect_origin_saw(origin, "/form")?;
    if seen.method != "POST" || seen.body != body {
        return Err(Failure::new(
            "The proxy forwards the method and the body",
            format!(
                "the origin got {} with a {}-byte body",
                seen.method,
                seen.body.len()
            ),
        ));
    }
    Ok(())
}

fn revalidate(ctx: &mut Ctx) -> Result<(), Failure> {
    behind_origin(ctx, revalidate_via)
}

fn revalidate_via(ctx: &mut Ctx, origin: &Origin) -> Result<(), Failure> {
    let first = through_proxy(ctx, &absolute(origin, "/stale.html"), "GET")?;
    expect_body(&first, &page("/stale.html"))?;
    std::thread::sleep(Duration::from_millis(2100));
    let second = through_proxy(ctx, &absolute(origin, "/stale.html"), "GET")?;
    expect_status(&second, 200, "HTTP/1.1 200 OK\r\n")?;
    expect_body(&second, &page("/stale.html"))?;
    let seen: Vec<Seen> = origin
        .seen()
        .into_iter()
        .filter(|s| s.target == "/stale.html")
        .collect();
    let conditional = seen
        .iter()
        .skip(1)
        .any(|s| s.field("If-None-Match").is_some() || s.field("If-Modified-Since").is_some());
    if !conditional {
        return Err(Failure::new(
            "A stale cached response is revalidated with a conditional GET (RFC 9111 §4.3.1)",
            format!("the origin got {} request(s) for /stale.html and none carried If-None-Match or If-Modified-Since", seen.len()),
        )
        .hint("when max-age has passed, send the stored ETag as If-None-Match; on 304 serve the stored body"));
    }
    Ok(())
}

fn concurrent(ctx: &mut Ctx) -> Result<(), Failure> {
    behind_origin(ctx, concurrent_via)
}

fn concurrent_via(ctx: &mut Ctx, origin: &Origin) -> Result<(), Failure> {
    let mut slow = ctx.connect()?.with_hop(Hop::ClientToProxy);
    slow.send(&absolute(origin, "/slow.html"))
        .map_err(send_failed)?;
    let started = std::time::Instant::now();
    let quick = through_proxy(ctx, &absolute(origin, "/quick.html"), "GET")?;
    expect_body(&quick, &page("/quick.html"))?;
    if started.elapsed() >= Duration::from_millis(1400) {
        return Err(Failure::new(
            "A proxy serves other clients while one waits for a slow origin",
            format!(
                "the second client waited {} ms, as long as the slow request",
                started.elapsed().as_millis()
            ),
        )
        .hint("handle each client connection in its own thread"));
    }
    let slow_response = read_response(&mut slow, "GET")?;
    expect_body(&slow_response, &page("/slow.html"))
}
