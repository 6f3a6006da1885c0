//! The `webserver` track: the first socket lab (serve HelloWorld.html, 404, threads, a client).

use crate::catalog::{Role, Step, Track};
use crate::check::{Ctx, Failure};
use crate::http::{expect_body, expect_status, get, read_response, send_failed};
use std::time::Duration;

/// The page labs puts in the server's folder.
const HELLO: &[u8] = b"<html><head><title>HelloWorld</title></head><body><h1>Hello, World!</h1><p>Served by your own server.</p></body></html>\n";

/// The track.
pub static TRACK: Track = Track {
    id: "webserver",
    title: "The first socket lab: a server for HelloWorld.html",
    intro: "A one-file web server: accept, read the request, send the file or a 404.",
    steps: &[
        Step {
            slug: "hello",
            title: "serve HelloWorld.html",
            optional: false,
            role: Role::Server,
            text: include_str!("../../steps/webserver/01-hello.txt"),
            check: hello,
        },
        Step {
            slug: "not-found",
            title: "404 for a missing file",
            optional: false,
            role: Role::Server,
            text: include_str!("../../steps/webserver/02-not-found.txt"),
            check: not_found,
        },
        Step {
            slug: "threads",
            title: "several clients at once",
            optional: true,
            role: Role::Server,
            text: include_str!("../../steps/webserver/03-threads.txt"),
            check: threads,
        },
        Step {
            slug: "client",
            title: "the client side",
            optional: true,
            role: Role::Client,
            text: include_str!("../../steps/webserver/04-client.txt"),
            check: client,
        },
    ],
};

fn place_hello(ctx: &mut Ctx) -> Result<(), Failure> {
    let dir = ctx.server_folder()?;
    crate::http::put_file(&dir, "HelloWorld.html", HELLO)
}

fn hello(ctx: &mut Ctx) -> Result<(), Failure> {
    place_hello(ctx)?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/HelloWorld.html")).map_err(send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")?;
    expect_body(&response, HELLO)
}

fn not_found(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut peer = ctx.connect()?;
    peer.send(&get("/NoSuchFile.html")).map_err(send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 404, "HTTP/1.1 404 Not Found\r\n")?;
    place_hello(ctx)?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/HelloWorld.html")).map_err(send_failed)?;
    let response = read_response(&mut peer, "GET").map_err(|f| Failure {
        rule: "The server keeps running after a 404".into(),
        ..f
    })?;
    expect_status(&response, 200, "HTTP/1.1 200 OK\r\n")
}

fn threads(ctx: &mut Ctx) -> Result<(), Failure> {
    place_hello(ctx)?;
    let mut staller = ctx.connect()?;
    staller
        .send(b"GET /HelloWorld.html HTTP/1.1\r\n")
        .map_err(send_failed)?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/HelloWorld.html")).map_err(send_failed)?;
    let response = read_response(&mut peer, "GET").map_err(|f| Failure {
        rule: "A threaded server answers one client while another is slow".into(),
        problem: format!(
            "the second client got no answer while the first stalled: {}",
            f.problem
        ),
        hint: Some("start a thread for each accepted connection".into()),
        ..f
    })?;
    drop(staller);
    expect_body(&response, HELLO)
}

fn client(ctx: &mut Ctx) -> Result<(), Failure> {
    let listener = ctx.client_listener()?;
    let mut peer = ctx.accept(&listener, Duration::from_secs(10).max(ctx.timeout * 5))?;
    let head = peer
        .read_until(|b| b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4))
        .map_err(|end| {
            Failure::new("A client sends a complete request head, ending in an empty line (RFC 9112 §2.1)", end.to_string())
                .hint("end the request with \\r\\n\\r\\n: the request line, the Host line, then an empty line")
        })?;
    crate::http::expect_request_line(&head, "GET /HelloWorld.html HTTP/1.1\r\n")?;
    crate::http::expect_request_field(&head, "Host")?;
    let page = b"<html><body>labs says hello back</body></html>\n";
    let mut response = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", page.len()).into_bytes();
    response.extend_from_slice(page);
    peer.send(&response).map_err(|e| {
        Failure::new(
            "The client waits for the response",
            format!("it closed before labs answered: {e}"),
        )
    })?;
    peer.shutdown_write();
    drop(peer);
    if let Some(process) = ctx.learner() {
        let _ = process.wait_exit(Duration::from_secs(5));
        let out = process.stdout();
        if !crate::http::contains(&out, b"labs says hello back") {
            return Err(Failure::new(
                "The client prints what the server sent",
                "the page labs sent did not appear on your program's output",
            )
            .hint("read from the socket until it returns no more bytes, then print it"));
        }
    }
    Ok(())
}
