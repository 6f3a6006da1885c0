//! The routes the labs' `http` track asks a learner's server for, so that `server` passes that
//! track itself (`labs check http --run 'server --port {port} --root {dir} --lab'`):
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /echo/TEXT` | TEXT, percent-decoded, as `text/plain` |
//! | `GET /user-agent` | the request's `User-Agent` value |
//! | `GET /params?a=1&b=2` | each query parameter, form-decoded, as `name=value` lines |
//! | `GET /chunked/N` | N chunks, chunk i being `chunk i\n`, with chunked coding |
//! | `POST /files/NAME` | the body written to `files/NAME` under `--root`, 201 Created |
//!
//! `GET /files/NAME` needs no route: it is the static file `files/NAME` under `--root`, with
//! the server's MIME types, validators and ranges. On for the demo site, and with `--lab`.
use std::time::Instant;

use wire::http1::target::{percent_decode, SafePath};
use wire::http1::{Method, RequestHead};

use crate::handler::{maybe_gzip_bytes, path, Context};
use crate::response::{Body, ChunkSource, Next, Response};
use crate::routes::form_decode;
use crate::shared::Settings;
use crate::upload::Upload;

/// True when the lab routes are on.
pub fn enabled(settings: &Settings) -> bool {
    settings.config.lab || settings.source.is_demo()
}

/// The response of a lab route, or `None` when the request is not for one.
pub fn route(head: &RequestHead, cx: &Context<'_>) -> Option<Response> {
    let read = matches!(head.method, Method::Get | Method::Head);
    if let Some(text) = path(head).strip_prefix("/echo/") {
        return Some(if read {
            echo(head, cx, text)
        } else {
            not_allowed("GET, HEAD")
        });
    }
    if let Some(count) = path(head).strip_prefix("/chunked/") {
        return Some(if read {
            chunks(count)
        } else {
            not_allowed("GET, HEAD")
        });
    }
    match path(head) {
        "/user-agent" if read => Some(text(
            head,
            cx,
            head.headers.get("user-agent").unwrap_or_default().to_vec(),
        )),
        "/params" if read => Some(params(head, cx)),
        _ => match path(head).strip_prefix("/files/") {
            Some(name) if head.method == Method::Post => Some(upload(cx.settings, name, cx.body)),
            _ => None,
        },
    }
}

/// A plain-text 200, gzip-compressed when the client accepts it (the `gzip` step).
fn text(head: &RequestHead, cx: &Context<'_>, body: Vec<u8>) -> Response {
    maybe_gzip_bytes(head, cx, Response::new(200), body, "text/plain")
}

fn not_allowed(allow: &str) -> Response {
    Response::text(
        405,
        format!("405 Method Not Allowed: this lab route allows {allow}"),
    )
    .header("Allow", allow)
}

fn echo(head: &RequestHead, cx: &Context<'_>, encoded: &str) -> Response {
    match percent_decode(encoded) {
        Ok(decoded) => text(head, cx, decoded),
        Err(e) => Response::text(400, format!("400 Bad Request: {e}")),
    }
}

fn params(head: &RequestHead, cx: &Context<'_>) -> Response {
    let mut body = String::new();
    for pair in head
        .target
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        body.push_str(&form_decode(name.as_bytes()));
        body.push('=');
        body.push_str(&form_decode(value.as_bytes()));
        body.push('\n');
    }
    text(head, cx, body.into_bytes())
}

/// `chunk 1\n` … `chunk N\n`, one chunk each.
struct Counted {
    next: u32,
    last: u32,
}

impl ChunkSource for Counted {
    fn next(&mut self, _now: Instant) -> Next {
        if self.next > self.last {
            return Next::End;
        }
        let chunk = format!("chunk {}\n", self.next).into_bytes();
        self.next += 1;
        Next::Chunk(chunk)
    }
}

fn chunks(count: &str) -> Response {
    match count.parse::<u32>() {
        Ok(n) if n <= 1000 => Response::new(200)
            .header("Content-Type", "text/plain")
            .body(Body::Stream(Box::new(Counted { next: 1, last: n }))),
        _ => Response::text(
            400,
            format!("400 Bad Request: /chunked/N takes a count from 0 to 1000, not `{count}`"),
        ),
    }
}

fn upload(settings: &Settings, name: &str, body: &[u8]) -> Response {
    let path = format!("/files/{name}");
    // The name is decoded as every request path is, and must stay a file under `files/`.
    let under_files = SafePath::from_target_path(&path)
        .ok()
        .filter(|p| p.segments().len() >= 2 && p.segments()[0].as_str() == "files");
    let target = match under_files.map(|p| settings.source.write_target(&p)) {
        Some(Ok(t)) => t,
        _ => {
            return Response::text(
                404,
                format!("404 Not Found: POST {path} needs --root with a files/ folder in it, and a plain file name"),
            )
        }
    };
    let stored = Upload::begin(&target).and_then(|mut u| {
        u.write(body)?;
        u.commit(None)
    });
    match stored {
        Ok(_) => Response::text(
            201,
            format!("201 Created: {} bytes written to {path}", body.len()),
        )
        .header("Location", &path),
        Err(e) => Response::text(
            500,
            format!("500 Internal Server Error: could not write {path}: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_chunks_say_their_number_and_end() {
        let mut c = Counted { next: 1, last: 2 };
        let now = Instant::now();
        assert!(matches!(c.next(now), Next::Chunk(b) if b == b"chunk 1\n"));
        assert!(matches!(c.next(now), Next::Chunk(b) if b == b"chunk 2\n"));
        assert!(matches!(c.next(now), Next::End));
    }

    #[test]
    fn uploads_are_named_as_downloads_are_and_stay_in_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("files")).unwrap();
        let settings = Settings::open(crate::config::Config {
            root: Some(dir.path().to_path_buf()),
            ..Default::default()
        })
        .unwrap();
        // `GET /files/a%20b.txt` serves `files/a b.txt`, so that is what the POST writes.
        assert_eq!(upload(&settings, "a%20b.txt", b"hi").status, 201);
        assert_eq!(
            std::fs::read(dir.path().join("files/a b.txt")).unwrap(),
            b"hi"
        );
        for outside in ["../x.txt", "%2e%2e/x.txt", "a%2fb", "", ".hidden"] {
            assert_eq!(upload(&settings, outside, b"no").status, 404, "{outside}");
        }
        assert!(!dir.path().join("x.txt").exists());
    }
}
