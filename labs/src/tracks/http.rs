//! The `http` track: an HTTP/1.1 server built from an empty file.

use crate::catalog::{Role, Step, Track};
use crate::check::{Ctx, Failure};
use crate::exchange::Peer;
use crate::http::{expect_status, get, read_response, request, HOST};
use std::time::Duration;

macro_rules! step {
    ($slug:literal, $title:literal, $file:literal, $check:expr) => {
        Step {
            slug: $slug,
            title: $title,
            optional: false,
            role: Role::Server,
            text: include_str!(concat!("../../steps/http/", $file)),
            check: $check,
        }
    };
    (optional $slug:literal, $title:literal, $file:literal, $check:expr) => {
        Step {
            slug: $slug,
            title: $title,
            optional: true,
            role: Role::Server,
            text: include_str!(concat!("../../steps/http/", $file)),
            check: $check,
        }
    };
}

/// The track.
pub static TRACK: Track = Track {
    id: "http",
    title: "An HTTP/1.1 server, from an empty file to keep-alive and chunking",
    intro: "Build a web server over a raw TCP socket, one feature at a time.",
    steps: &[
        step!(
            "connect",
            "accept a TCP connection",
            "01-connect.txt",
            connect
        ),
        step!("respond", "answer 200 OK", "02-respond.txt", respond),
        step!(
            "read-request",
            "read a whole request before answering",
            "03-read-request.txt",
            read_request
        ),
        step!(
            "not-found",
            "404 for unknown paths",
            "04-not-found.txt",
            not_found
        ),
        step!(
            "echo",
            "a body with Content-Type and Content-Length",
            "05-echo.txt",
            echo
        ),
        step!(
            "percent-decode",
            "percent-decode the path",
            "06-percent-decode.txt",
            percent_decode
        ),
        step!(
            "user-agent",
            "read header fields, case-insensitively",
            "07-user-agent.txt",
            user_agent
        ),
        step!(
            "standard-headers",
            "Date, Server and Connection",
            "08-standard-headers.txt",
            standard_headers
        ),
        step!(
            "concurrent",
            "two clients at once while one stalls",
            "09-concurrent.txt",
            concurrent
        ),
        step!("query", "query parameters", "10-query.txt", query),
        step!("files", "serve files from a folder", "11-files.txt", files),
        step!(
            "traversal",
            "never serve outside the folder",
            "12-traversal.txt",
            traversal
        ),
        step!(
            "content-types",
            "Content-Type from the extension",
            "13-content-types.txt",
            content_types
        ),
        step!(
            "post-file",
            "POST bodies that arrive in pieces",
            "14-post-file.txt",
            post_file
        ),
        step!(
            "keep-alive",
            "keep-alive and Connection: close",
            "15-keep-alive.txt",
            keep_alive
        ),
        step!(
            "gzip",
            "gzip when the client accepts it",
            "16-gzip.txt",
            gzip
        ),
        step!(
            "pipelining",
            "pipelined requests answered in order",
            "17-pipelining.txt",
            pipelining
        ),
        step!(
            "chunked",
            "chunked responses and request bodies",
            "18-chunked.txt",
            chunked
        ),
        step!(optional "head", "HEAD: the headers without the body", "19-head.txt", head),
        step!(optional "conditional", "conditional GET: 304 Not Modified", "20-conditional.txt", conditional),
        step!(optional "ranges", "ranges: 206 and 416", "21-ranges.txt", ranges),
        step!(optional "http10", "HTTP/1.0 clients", "22-http10.txt", http10),
        step!(optional "malformed", "malformed requests: 400, 431, 505", "23-malformed.txt", malformed),
    ],
};

const PIECE_PAUSE: Duration = Duration::from_millis(300);

fn connect(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.shutdown_write();
    Ok(())
}

fn respond(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.send(&get("/")).map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    crate::http::expect_nothing_after(&mut peer, &response)
}

fn read_request(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    let full = get("/");
    let (a, rest) = full.split_at(9);
    let (b, c) = rest.split_at(rest.len() - 2);
    peer.send(a).map_err(crate::http::send_failed)?;
    // Nothing may come back while the request is incomplete.
    let quiet = peer
        .stays_quiet(PIECE_PAUSE)
        .map_err(|e| crate::http::read_failed(&e, &peer))?;
    if !quiet {
        return Err(Failure::new(
            "A server reads the whole request head, up to the empty line, before it answers (RFC 9112 §2.1)",
            "your server answered (or closed) after the first 9 bytes of the request",
        )
        .hint("append each recv() to a buffer and only answer once it contains \\r\\n\\r\\n"));
    }
    peer.send_in_pieces(&[b, c], PIECE_PAUSE)
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")
}

fn not_found(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.send(&get("/no-such-page-7f3a"))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 404, "HTTP/1.1 404 Not Found\r\n")?;
    crate::http::expect_nothing_after(&mut peer, &response)?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/")).map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")
        .map_err(|f| f.hint("/ must still answer 200; only unknown paths get 404"))
}

/// GET `path` on a new connection and require a 200 with `body` as text/plain.
fn expect_text(
    ctx: &mut Ctx,
    path: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.send(&request("GET", path, extra, b""))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    crate::http::expect_media_type(&response, "text/plain")?;
    crate::http::expect_body(&response, body)?;
    crate::http::expect_nothing_after(&mut peer, &response)
}

fn echo(ctx: &mut Ctx) -> Result<(), Failure> {
    expect_text(ctx, "/echo/abc", &[], b"abc")?;
    expect_text(ctx, "/echo/protolab-42", &[], b"protolab-42")
}

fn percent_decode(ctx: &mut Ctx) -> Result<(), Failure> {
    expect_text(ctx, "/echo/hello%20world%21", &[], b"hello world!")?;
    expect_text(ctx, "/echo/caf%C3%A9", &[], "café".as_bytes())?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/echo/bad%zzescape"))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 400, "HTTP/1.1 400 Bad Request\r\n")
        .map_err(|f| f.hint("%zz is not a valid escape: answer 400 rather than guessing"))
}

fn user_agent(ctx: &mut Ctx) -> Result<(), Failure> {
    expect_text(
        ctx,
        "/user-agent",
        &[("uSeR-aGeNt", "labs/1.0")],
        b"labs/1.0",
    )?;
    expect_text(
        ctx,
        "/user-agent",
        &[("USER-AGENT", "  spaced/2.0 (x; y)\t")],
        b"spaced/2.0 (x; y)",
    )
}

fn standard_headers(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.send(&request("GET", "/", &[("Connection", "close")], b""))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    crate::http::expect_date(&response)?;
    crate::http::expect_field_present(&response, "Server", "Server: myserver/0.1\r\n")?;
    crate::http::expect_token(&response, "Connection", "close")?;
    crate::http::expect_close(
        &mut peer,
        "you said Connection: close, so close the connection after the response",
    )
}

/// A slow client connects and holds its connection with its request not sent; a second client
/// must be answered meanwhile. Then the slow client sends half a request line and holds that:
/// the server must wait for the rest, not answer what it has.
fn concurrent(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut staller = ctx.connect()?;
    let result = concurrent_with(ctx, &mut staller);
    // The silent, then half-sent, connection stays open until the program is stopped.
    ctx.hold(staller);
    result
}

fn concurrent_with(ctx: &mut Ctx, staller: &mut Peer) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.send(&get("/echo/second"))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET").map_err(|f| {
        crate::tracks::webserver::one_at_a_time(
            f,
            "the first client was connected and had not sent its request yet",
        )
    })?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    crate::http::expect_body(&response, b"second")?;
    staller
        .send(b"GET /echo/fir")
        .map_err(crate::http::send_failed)?;
    let quiet = staller
        .stays_quiet(PIECE_PAUSE)
        .map_err(|e| crate::http::read_failed(&e, staller))?;
    if !quiet {
        return Err(Failure::new(
            "A server waits for the whole request from a slow client (RFC 9112 §2.1)",
            "your server answered (or closed) the first client after half a request line",
        )
        .diagnosis("it reads once and answers whatever that read returned; a slow client's request arrives in pieces")
        .hint("append each recv() to a buffer and only answer once it contains \\r\\n\\r\\n"));
    }
    Ok(())
}

fn query(ctx: &mut Ctx) -> Result<(), Failure> {
    expect_text(
        ctx,
        "/params?name=Ada+Lovelace&lang=en%2Dgb",
        &[],
        b"name=Ada Lovelace\nlang=en-gb\n",
    )?;
    expect_text(ctx, "/echo/abc?x=1", &[], b"abc")
}

fn files(ctx: &mut Ctx) -> Result<(), Failure> {
    let dir = ctx.files_dir()?;
    let content: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
    ctx.put_file(&dir, "hello.bin", &content)?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/files/hello.bin"))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    crate::http::expect_media_type(&response, "application/octet-stream")?;
    crate::http::expect_body(&response, &content)?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/files/not-there-7f3a.bin"))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 404, "HTTP/1.1 404 Not Found\r\n")
}

fn traversal(ctx: &mut Ctx) -> Result<(), Failure> {
    // A server that serves no file cannot leak one: first it must serve a file in its folder,
    // or every 404 below would pass for a refusal.
    let dir = ctx.files_dir()?;
    let inside = b"labs: a file inside your folder";
    ctx.put_file(&dir, "inside.txt", inside)?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/files/inside.txt"))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")
        .and_then(|()| crate::http::expect_body(&response, inside))
        .map_err(|f| Failure {
            rule: "This step checks that a file server stays in its folder: first it must serve a file from it (http/files)".into(),
            hint: Some("pass http/files first: GET /files/NAME answers the bytes of NAME in your files folder".into()),
            ..f
        })?;
    let secret = b"labs-secret-0d1e5c2b: if you can read this, the server escaped its folder";
    // With --run, labs owns the folder around {dir}, so a secret can sit outside everything the
    // server was given; otherwise only a system file is probed.
    let secret_path = ctx.outside_dir().map(|d| d.join("labs-secret.txt"));
    let wrote_secret = secret_path
        .as_ref()
        .is_some_and(|p| std::fs::write(p, secret).is_ok());
    let attempts = [
        "/files/../../labs-secret.txt",
        "/files/..%2f..%2flabs-secret.txt",
        "/files/%2e%2e/%2e%2e/labs-secret.txt",
        "/files/%2e%2e%2f%2e%2e%2flabs-secret.txt",
        "/files/..%5c..%5clabs-secret.txt",
        "/files/..\\..\\labs-secret.txt",
        "/files/../../../../../../etc/passwd",
        "/files/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    ];
    let result = (|| {
        for target in attempts {
            let mut peer = ctx.connect()?;
            peer.send(&get(target)).map_err(crate::http::send_failed)?;
            let response = read_response(&mut peer, "GET")?;
            let leaked = (wrote_secret && crate::http::contains(&response.body, secret))
                || crate::http::contains(&response.body, b"root:x:0:0");
            if leaked {
                return Err(Failure::new(
                    "A file server never serves a file outside its folder",
                    format!("GET {target} was answered {} with a file from outside the folder", response.status),
                )
                .hint("decode the path, split it into segments, and refuse any segment that is `..`, empty, or contains / \\ or NUL"));
            }
            if !(400..500).contains(&response.status) {
                return Err(Failure::new(
                    "A path that leaves the folder, or names nothing in it, gets 400, 403 or 404",
                    format!("GET {target} was answered {}", response.status),
                ));
            }
        }
        Ok(())
    })();
    if let (true, Some(path)) = (wrote_secret, &secret_path) {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn content_types(ctx: &mut Ctx) -> Result<(), Failure> {
    let dir = ctx.files_dir()?;
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "index.html",
            b"<!doctype html><title>labs</title>",
            "text/html",
        ),
        ("style.css", b"body { color: teal }", "text/css"),
        ("logo.png", b"\x89PNG\r\n\x1a\n", "image/png"),
        ("notes.txt", b"plain words", "text/plain"),
        ("data.json", b"{\"a\": 1}", "application/json"),
    ];
    for (name, content, media_type) in cases {
        ctx.put_file(&dir, name, content)?;
        let mut peer = ctx.connect()?;
        peer.send(&get(&format!("/files/{name}")))
            .map_err(crate::http::send_failed)?;
        let response = read_response(&mut peer, "GET")?;
        expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
        crate::http::expect_media_type(&response, media_type).map_err(|f| Failure {
            problem: format!("for {name}: {}", f.problem),
            ..f
        })?;
    }
    Ok(())
}

fn post_file(ctx: &mut Ctx) -> Result<(), Failure> {
    let dir = ctx.files_dir()?;
    let name = "upload-labs.txt";
    ctx.will_write(&dir.join(name))?;
    let _ = std::fs::remove_file(dir.join(name));
    let body = b"abcdefghijklmnopqrstuvwxyz";
    let mut peer = ctx.connect()?;
    let head = request(
        "POST",
        &format!("/files/{name}"),
        &[
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", "26"),
        ],
        b"",
    );
    peer.send(&head).map_err(crate::http::send_failed)?;
    peer.send_in_pieces(&[&body[..5], &body[5..17], &body[17..]], PIECE_PAUSE)
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "POST")?;
    expect_status(&response, 201, "HTTP/1.1 201 Created\r\n")?;
    crate::http::expect_file(&dir, name, body)
}

fn keep_alive(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    for word in ["one", "two"] {
        peer.send(&get(&format!("/echo/{word}")))
            .map_err(crate::http::send_failed)?;
        let response = read_response(&mut peer, "GET").map_err(|f| Failure {
            hint: Some("keep reading requests on the same connection after answering one; close only on Connection: close".into()),
            ..f
        })?;
        expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
        crate::http::expect_body(&response, word.as_bytes())?;
        if crate::http::expect_token(&response, "Connection", "close").is_ok() {
            return Err(Failure::new(
                "An HTTP/1.1 connection stays open unless a side says Connection: close (RFC 9112 §9.3)",
                format!("the response to /echo/{word} said Connection: close, though the request did not ask to close"),
            )
            .hint("loop: read a request, answer it, read the next; close only when the request says Connection: close"));
        }
    }
    peer.send(&request(
        "GET",
        "/echo/three",
        &[("Connection", "close")],
        b"",
    ))
    .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    crate::http::expect_body(&response, b"three")?;
    crate::http::expect_close(
        &mut peer,
        "after a request with Connection: close, close the connection once the response is sent",
    )
}

fn gzip(ctx: &mut Ctx) -> Result<(), Failure> {
    // Long enough that gzip makes it smaller (a server may rightly send a tiny body as it is).
    let text = "a".repeat(160);
    let path = format!("/echo/{text}");
    let mut peer = ctx.connect()?;
    peer.send(&request(
        "GET",
        &path,
        &[("Accept-Encoding", "br, gzip")],
        b"",
    ))
    .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    crate::http::expect_token(&response, "Content-Encoding", "gzip")?;
    let decoded = crate::http::gunzip(&response.body)?;
    if decoded != text.as_bytes() {
        return Err(Failure::new(
            "A gzip body decompresses to the representation",
            "the body did not decompress to the echoed text",
        )
        .bytes(text.as_bytes().to_vec(), decoded));
    }
    for accept in ["br", "gzip;q=0, identity"] {
        let mut peer = ctx.connect()?;
        peer.send(&request("GET", &path, &[("Accept-Encoding", accept)], b""))
            .map_err(crate::http::send_failed)?;
        let response = read_response(&mut peer, "GET")?;
        if response
            .field("Content-Encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"gzip"))
        {
            return Err(Failure::new(
                "Only use a content coding the client accepts (RFC 9110 §12.5.3)",
                format!("with Accept-Encoding: {accept} the response was still gzip"),
            )
            .hint("q=0 means \"not acceptable\"; a coding that is not listed is not accepted"));
        }
        crate::http::expect_body(&response, text.as_bytes())?;
    }
    Ok(())
}

fn pipelining(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    let mut all = Vec::new();
    for n in 1..=3 {
        all.extend_from_slice(&get(&format!("/echo/{n}")));
    }
    peer.send(&all).map_err(crate::http::send_failed)?;
    for n in 1..=3 {
        let response = read_response(&mut peer, "GET").map_err(|f| Failure {
            problem: format!("response {n} of 3: {}", f.problem),
            hint: Some(
                "keep the bytes after the first request in your buffer: they are the next requests"
                    .into(),
            ),
            ..f
        })?;
        expect_status(&response, 200, "HTTP/1.1 200 OK\r\n").map_err(|f| Failure {
            problem: format!("response {n} of 3: {}", f.problem),
            ..f
        })?;
        crate::http::expect_body(&response, n.to_string().as_bytes())?;
    }
    Ok(())
}

fn chunked(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.send(&get("/chunked/3"))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    crate::http::expect_token(&response, "Transfer-Encoding", "chunked")?;
    if response.chunks < 3 {
        return Err(Failure::new(
            "GET /chunked/3 answers three chunks (RFC 9112 §7.1)",
            format!("the body came in {} chunk(s)", response.chunks),
        ));
    }
    crate::http::expect_body(&response, b"chunk 1\nchunk 2\nchunk 3\n")?;

    let dir = ctx.files_dir()?;
    let name = "chunked-labs.txt";
    ctx.will_write(&dir.join(name))?;
    let _ = std::fs::remove_file(dir.join(name));
    let mut peer = ctx.connect()?;
    let head = request(
        "POST",
        &format!("/files/{name}"),
        &[("Transfer-Encoding", "chunked")],
        b"",
    );
    peer.send(&head).map_err(crate::http::send_failed)?;
    peer.send_in_pieces(
        &[
            b"5;note=first\r\nhello\r\n",
            b"7\r\n, chunk\r\n",
            b"0\r\nX-Trailer: yes\r\n\r\n",
        ],
        PIECE_PAUSE,
    )
    .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "POST")?;
    expect_status(&response, 201, "HTTP/1.1 201 Created\r\n")?;
    crate::http::expect_file(&dir, name, b"hello, chunk")
}

fn head(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.send(&request("HEAD", "/echo/abc", &[], b""))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "HEAD")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    if response.field("Content-Length").is_none_or(|v| v != b"3") {
        return Err(Failure::new(
            "HEAD gets the same fields as GET, Content-Length included (RFC 9110 §9.3.2)",
            "the HEAD response did not say Content-Length: 3",
        ));
    }
    peer.send(&get("/echo/after"))
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET").map_err(|f| Failure {
        hint: Some("a HEAD response has no body: if you sent one, its bytes were read as the next response".into()),
        ..f
    })?;
    crate::http::expect_body(&response, b"after")
}

fn conditional(ctx: &mut Ctx) -> Result<(), Failure> {
    let dir = ctx.files_dir()?;
    ctx.put_file(&dir, "cond.txt", b"conditional content")?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/files/cond.txt"))
        .map_err(crate::http::send_failed)?;
    let first = read_response(&mut peer, "GET")?;
    expect_status(&first, 200, "HTTP/1.1 200 OK\r\n")?;
    let (name, value) = if let Some(tag) = first.field("ETag") {
        ("If-None-Match", String::from_utf8_lossy(tag).into_owned())
    } else if let Some(date) = first.field("Last-Modified") {
        (
            "If-Modified-Since",
            String::from_utf8_lossy(date).into_owned(),
        )
    } else {
        return Err(Failure::new(
            "A cacheable file carries a validator: ETag or Last-Modified (RFC 9110 §8.8)",
            "the response had neither",
        ));
    };
    peer.send(&request("GET", "/files/cond.txt", &[(name, &value)], b""))
        .map_err(crate::http::send_failed)?;
    let second = read_response(&mut peer, "GET")?;
    expect_status(&second, 304, "HTTP/1.1 304 Not Modified\r\n")?;
    if !second.body.is_empty() {
        return Err(Failure::new(
            "A 304 response has no body (RFC 9110 §15.4.5)",
            "the 304 carried body bytes",
        ));
    }
    Ok(())
}

fn ranges(ctx: &mut Ctx) -> Result<(), Failure> {
    let dir = ctx.files_dir()?;
    let content = b"0123456789abcdefghijklmnopqrstuvwxyz";
    ctx.put_file(&dir, "range.txt", content)?;
    let cases: [(&str, u16, &[u8], &str); 3] = [
        ("bytes=0-4", 206, b"01234", "bytes 0-4/36"),
        ("bytes=-6", 206, b"uvwxyz", "bytes 30-35/36"),
        ("bytes=30-", 206, b"uvwxyz", "bytes 30-35/36"),
    ];
    for (range, status, body, content_range) in cases {
        let mut peer = ctx.connect()?;
        peer.send(&request(
            "GET",
            "/files/range.txt",
            &[("Range", range)],
            b"",
        ))
        .map_err(crate::http::send_failed)?;
        let response = read_response(&mut peer, "GET")?;
        expect_status(&response, status, "HTTP/1.1 206 Partial Content\r\n")?;
        crate::http::expect_field(&response, "Content-Range", content_range)?;
        crate::http::expect_body(&response, body)?;
    }
    let mut peer = ctx.connect()?;
    peer.send(&request(
        "GET",
        "/files/range.txt",
        &[("Range", "bytes=100-200")],
        b"",
    ))
    .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 416, "HTTP/1.1 416 Range Not Satisfiable\r\n")?;
    crate::http::expect_field(&response, "Content-Range", "bytes */36")
}

fn http10(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.send(b"GET /echo/old HTTP/1.0\r\n\r\n")
        .map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    crate::http::expect_body(&response, b"old")?;
    crate::http::expect_close(&mut peer, "an HTTP/1.0 request without Connection: keep-alive ends with the connection closed (RFC 9112 §9.3)")
}

fn malformed(ctx: &mut Ctx) -> Result<(), Failure> {
    let big = format!(
        "GET / HTTP/1.1\r\nHost: {HOST}\r\n{}\r\n",
        "X-Filler: ".to_string() + &"a".repeat(70 * 1024) + "\r\n"
    );
    let cases: [(&[u8], u16, &str, &str); 4] = [
        (
            b"GARBAGE\r\n\r\n",
            400,
            "HTTP/1.1 400 Bad Request\r\n",
            "a request line is three parts separated by single spaces (RFC 9112 §3)",
        ),
        (
            b"GET / HTTP/1.1\r\n\r\n",
            400,
            "HTTP/1.1 400 Bad Request\r\n",
            "an HTTP/1.1 request without a Host field is a 400 (RFC 9112 §3.2)",
        ),
        (
            big.as_bytes(),
            431,
            "HTTP/1.1 431 Request Header Fields Too Large\r\n",
            "cap the header section (say 8 KiB to 64 KiB) and answer 431 beyond it (RFC 6585 §5)",
        ),
        (
            b"GET / HTTP/3.0\r\nHost: x\r\n\r\n",
            505,
            "HTTP/1.1 505 HTTP Version Not Supported\r\n",
            "only HTTP/1.0 and HTTP/1.1 are spoken over a plain socket (RFC 9110 §15.6.6)",
        ),
    ];
    for (bytes, status, line, why) in cases {
        let mut peer = ctx.connect()?;
        // A server may answer and close before reading everything; that is allowed.
        let _ = peer.send(bytes);
        let response = read_response(&mut peer, "GET")?;
        expect_status(&response, status, line).map_err(|f| f.hint(why))?;
    }
    let mut peer = ctx.connect()?;
    peer.send(&get("/")).map_err(crate::http::send_failed)?;
    let response = read_response(&mut peer, "GET").map_err(|f| Failure {
        rule: "A bad request must not take the server down".into(),
        ..f
    })?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")
}
