//! The `webserver` track: the first socket lab (serve HelloWorld.html, 404, threads, a client).

use crate::catalog::{Role, Step, Track};
use crate::check::{Ctx, Failure};
use crate::http::{expect_body, expect_status, get, read_response, send_failed, Response};
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

/// The HelloWorld.html the server should send: the learner's own when it is in the server's
/// folder, else labs' example, placed there for this run and removed when labs ends. `None`
/// when labs cannot see the folder (`--target` without `--files-dir`).
fn hello_page(ctx: &mut Ctx) -> Result<Option<Vec<u8>>, Failure> {
    let Some(dir) = ctx.server_folder() else {
        ctx.notes.push("labs checks that /HelloWorld.html comes back 200 with an HTML body; its bytes were not compared with the file on disk, as labs cannot see your server's folder (--files-dir DIR, the folder your server runs in, compares them)".into());
        return Ok(None);
    };
    let path = dir.join("HelloWorld.html");
    if ctx.is_placed(&path) {
        return Ok(Some(HELLO.to_vec()));
    }
    match std::fs::read(&path) {
        Ok(page) => {
            ctx.notes.push(format!(
                "compared with your own {} ({} bytes)",
                path.display(),
                page.len()
            ));
            Ok(Some(page))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ctx.put_file(&dir, "HelloWorld.html", HELLO)?;
            ctx.notes.push(format!(
                "there was no HelloWorld.html in {}: labs put its example there for this run and removes it afterwards (put your own page there to have it compared)",
                dir.display()
            ));
            Ok(Some(HELLO.to_vec()))
        }
        Err(e) => Err(Failure::new(
            "labs reads the HelloWorld.html your server serves",
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// A 200 for /HelloWorld.html whose body is the page. The lab's skeleton sends the file and
/// then `\r\n` before it closes; with no Content-Length the close ends the body, so those two
/// bytes become part of it. That is what the lab asks for, so it passes with a note.
fn expect_hello(ctx: &mut Ctx, response: &Response, page: Option<&[u8]>) -> Result<(), Failure> {
    expect_status(response, 200, "HTTP/1.1 200 OK\r\n")?;
    let framed =
        response.field("Content-Length").is_some() || response.field("Transfer-Encoding").is_some();
    let Some(page) = page else {
        let html = response
            .field("Content-Type")
            .is_some_and(|v| crate::http::contains(&v.to_ascii_lowercase(), b"text/html"))
            || crate::http::contains(&response.body.to_ascii_lowercase(), b"<html");
        if !html {
            return Err(Failure::new(
                "GET /HelloWorld.html answers the page: an HTML body",
                format!("the {}-byte body does not look like HTML (no <html> tag, no Content-Type: text/html)", response.body.len()),
            )
            .hint("read the file named in the request and send its bytes after the empty line"));
        }
        return Ok(());
    };
    if response.body == page {
        return Ok(());
    }
    for tail in [b"\r\n".as_slice(), b"\n"] {
        if !framed
            && response.body.len() == page.len() + tail.len()
            && response.body.starts_with(page)
            && response.body.ends_with(tail)
        {
            ctx.notes.push(format!(
                "the {} byte(s) your server sent after the file ({}) became part of the body: with no Content-Length, the close ends the body. Fine for this lab; send Content-Length: {} to say where the body ends",
                tail.len(),
                wire::trace::escape_inline(tail),
                page.len()
            ));
            return Ok(());
        }
    }
    expect_body(response, page)
}

fn hello(ctx: &mut Ctx) -> Result<(), Failure> {
    let page = hello_page(ctx)?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/HelloWorld.html")).map_err(send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_hello(ctx, &response, page.as_deref())
}

fn not_found(ctx: &mut Ctx) -> Result<(), Failure> {
    let page = hello_page(ctx)?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/NoSuchFile.html")).map_err(send_failed)?;
    let response = read_response(&mut peer, "GET")?;
    expect_status(&response, 404, "HTTP/1.1 404 Not Found\r\n")?;
    let mut peer = ctx.connect()?;
    peer.send(&get("/HelloWorld.html")).map_err(send_failed)?;
    let response = read_response(&mut peer, "GET").map_err(|f| Failure {
        rule: "The server keeps running after a 404".into(),
        ..f
    })?;
    expect_hello(ctx, &response, page.as_deref())
}

/// A slow client holds a connection open with its request not sent yet (as a person typing
/// into telnet does); the second client must still be answered. A server that serves one
/// connection at a time is stuck reading the first and never answers the second.
fn threads(ctx: &mut Ctx) -> Result<(), Failure> {
    let page = hello_page(ctx)?;
    let staller = ctx.connect()?;
    // The silent connection stays open until the program is stopped, whatever the verdict:
    // closing it hands the skeleton an empty read, and it dies on `message.split()[1]`.
    ctx.hold(staller);
    let mut peer = ctx.connect()?;
    peer.send(&get("/HelloWorld.html")).map_err(send_failed)?;
    let response = read_response(&mut peer, "GET").map_err(|f| {
        one_at_a_time(
            f,
            "the first client was connected and had not sent its request yet",
        )
    })?;
    expect_hello(ctx, &response, page.as_deref())
}

/// The failure of a concurrency step when the second client got no answer.
pub fn one_at_a_time(f: Failure, first: &str) -> Failure {
    Failure {
        rule: "A server answers one client while another is slow".into(),
        problem: format!(
            "while {first}, the second client got no answer ({})",
            f.problem
        ),
        diagnosis: Some("your server serves one connection at a time: it is still waiting to read the first client's request, so every other client waits too".into()),
        hint: Some("accept in a loop and hand each connection to a new thread (threading.Thread(target=handle, args=(conn,)).start())".into()),
        ..f
    }
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
