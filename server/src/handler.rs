//! From a complete request to a `Response`: method rules, the demo routes, static files.
//!
//! The HTTP decisions are made by `wire::http1`: the path normaliser (`target::SafePath`),
//! preconditions (`conditional::evaluate`), ranges (`range`), content coding negotiation
//! (`fields::AcceptEncoding`), dates (`date::HttpDate`). This module only applies them to files.
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use wire::http1::conditional::{
    self, CurrentRepresentation, EntityTag, Outcome, RequestConditions,
};
use wire::http1::date::HttpDate;
use wire::http1::fields::AcceptEncoding;
use wire::http1::target::{PathError, SafePath};
use wire::http1::{Method, RequestHead};

use crate::content_type;
use crate::file_cache::{self, CachedFile};
use crate::listing::{self, Sort};
use crate::response::{Body, Response, Segment};
use crate::routes;
use crate::shared::{Settings, Shared};
use crate::site::{Contents, Found};
use crate::upload;

/// The methods a resource of this server allows, for `Allow`.
pub(crate) const ALLOW_READ: &str = "GET, HEAD, OPTIONS";
pub(crate) const ALLOW_WRITE: &str = "GET, HEAD, PUT, DELETE, OPTIONS";

/// What a handler knows about one request beyond its head (`wire`'s [`RequestHead`]): the body,
/// the bytes as received, the time, and the server's settings and counters.
pub(crate) struct Context<'a> {
    /// The whole body, chunked framing removed.
    pub body: &'a [u8],
    /// The request exactly as received (head and body framing), kept for `/inspect` only.
    pub raw: &'a [u8],
    /// The server's clock when the request was answered.
    pub now: SystemTime,
    pub settings: &'a Settings,
    /// The counters `/server-status` shows, and the error log.
    pub shared: &'a Shared,
}

/// The target's path as sent (still percent-encoded); `*` for `OPTIONS *` and the authority
/// form, which name no resource of this server.
pub(crate) fn path(head: &RequestHead) -> &str {
    head.target.path().unwrap_or("*")
}

/// Answers one request.
pub(crate) fn handle(head: &RequestHead, cx: &Context<'_>) -> Response {
    if let Some(r) = routes::dynamic(head, cx) {
        return r;
    }
    if path(head) == "*" {
        // `OPTIONS *` asks about the server itself (RFC 9110 §9.3.7); CONNECT's authority form
        // also lands here, and this server is no proxy.
        return match &head.method {
            Method::Options => Response::new(204).header("Allow", ALLOW_WRITE),
            _ => Response::text(
                405,
                format!(
                    "405 Method Not Allowed: {} needs a path here; this server is not a proxy",
                    head.method
                ),
            )
            .header("Allow", ALLOW_READ),
        };
    }
    let safe = match SafePath::from_target_path(path(head)) {
        Ok(p) => p,
        Err(e @ (PathError::ControlByte | PathError::NotUtf8)) => {
            // Not dangerous, only a name no file served here has (a TAB, CR or LF from `%09`,
            // `%0D`, `%0A`, or bytes that are not UTF-8): 404, as nginx answers where no such
            // file exists. What could climb out of the root or cut a name short is refused.
            let why = match e {
                PathError::ControlByte => {
                    "it decodes to a name with a control byte (TAB, CR, LF, ...), and no file \
                     served here has one"
                }
                _ => "it decodes to bytes that are not UTF-8, and every file name served here is",
            };
            return Response::text(
                404,
                format!("404 Not Found: nothing is served at {}: {why}", path(head)),
            );
        }
        Err(e) => {
            let status = e.status_hint();
            return Response::text(status, format!("{status} {}: {e}", reason(status)));
        }
    };
    let url_path = decoded_path(&safe);
    let writable = cx.settings.config.allow_write && !cx.settings.source.is_demo();
    let allow = if writable { ALLOW_WRITE } else { ALLOW_READ };
    match &head.method {
        Method::Get | Method::Head => serve(head, cx, &url_path, &safe),
        Method::Options => Response::new(204).header("Allow", allow),
        // A writable PUT is taken over by the connection, which streams the body to disk.
        Method::Delete if writable => delete(cx, &url_path, &safe),
        Method::Post | Method::Put | Method::Delete | Method::Trace | Method::Connect => {
            Response::text(
                405,
                format!(
                    "405 Method Not Allowed: {} is not allowed here; this resource allows {allow}",
                    head.method
                ),
            )
            .header("Allow", allow)
        }
        Method::Extension(m) => Response::text(
            501,
            format!(
                "501 Not Implemented: this server does not know the method {}",
                m.as_str()
            ),
        )
        .header("Allow", allow),
    }
}

/// The decoded path with `/` between segments and a trailing `/` for folders.
pub(crate) fn decoded_path(safe: &SafePath) -> String {
    let mut s = String::new();
    for seg in safe.segments() {
        s.push('/');
        s.push_str(seg.as_str());
    }
    if safe.has_trailing_slash() || safe.is_root() {
        s.push('/');
    }
    s
}

/// The reason phrase for a status this server sends.
pub(crate) fn reason(status: u16) -> &'static str {
    wire::http1::status::reason_phrase(status).unwrap_or("Unknown")
}

fn not_found(path: &str) -> Response {
    Response::text(404, format!("404 Not Found: nothing is served at {path}"))
}

fn forbidden(path: &str) -> Response {
    Response::text(403, format!("403 Forbidden: {path} may not be served"))
}

fn serve(head: &RequestHead, cx: &Context<'_>, url_path: &str, safe: &SafePath) -> Response {
    let found = file_cache::get_or_find(
        url_path,
        cx.shared.generation(),
        Instant::now(),
        || cx.settings.source.find(safe),
        |f| content_type::for_name(&f.name, &cx.settings.config.mime_types),
    );
    let found = match found {
        Ok(cached) => return serve_file(head, cx, cached),
        Err(other) => other,
    };
    match found {
        Found::NotFound => not_found(url_path),
        Found::Forbidden => forbidden(url_path),
        Found::Unreadable(why) => {
            cx.shared.log(
                crate::config::Level::Warn,
                &format!(
                    "403 for {}: {why}",
                    wire::trace::escape::escape(
                        url_path.as_bytes(),
                        wire::trace::escape::Also::Nothing
                    )
                ),
            );
            forbidden(url_path)
        }
        Found::AddSlash => {
            let location = match head.target.query() {
                Some(q) => format!("{}?{q}", safe_with_slash(safe)),
                None => safe_with_slash(safe),
            };
            Response::text(
                301,
                format!("301 Moved Permanently: the folder is at {location}"),
            )
            .header("Location", location)
        }
        Found::Folder(entries) => {
            let html = listing::render(
                url_path,
                entries,
                Sort::from_query(head.target.query().unwrap_or("")),
                |t| HttpDate::from(t).to_string(),
            );
            maybe_gzip_bytes(
                head,
                cx,
                Response::new(200),
                html.into_bytes(),
                "text/html; charset=utf-8",
            )
        }
        Found::File(file) => {
            let ty = content_type::for_name(&file.name, &cx.settings.config.mime_types);
            serve_file(head, cx, CachedFile::new(file, ty))
        }
    }
}

fn safe_with_slash(safe: &SafePath) -> String {
    let mut s = safe.to_url_path();
    if !s.ends_with('/') {
        s.push('/');
    }
    s
}

/// True when the client takes gzip (it must say so: no `Accept-Encoding` means no gzip here).
fn accepts_gzip(head: &RequestHead) -> bool {
    let ae = AcceptEncoding::from_headers(&head.headers);
    ae.present && ae.preferred(&["gzip", "identity"]) == Some("gzip")
}

/// Small generated pages (listings) are compressed in memory like files.
pub(crate) fn maybe_gzip_bytes(
    head: &RequestHead,
    cx: &Context<'_>,
    mut resp: Response,
    bytes: Vec<u8>,
    ty: &str,
) -> Response {
    resp.push_header("Content-Type", ty.as_bytes());
    if cx.settings.config.gzip {
        resp.push_header("Vary", b"Accept-Encoding");
        if accepts_gzip(head) {
            if let Some(gz) = smaller_gzip(&bytes) {
                return resp.header("Content-Encoding", "gzip").bytes(gz);
            }
        }
    }
    resp.bytes(bytes)
}

/// `Content-Encoding: gzip\r\n`: what a gzip response carries that the identity one does not.
const CODING_LINE: usize = "Content-Encoding: gzip\r\n".len();

/// A body this short cannot come out smaller: gzip adds 18 bytes of its own (RFC 1952's header
/// and trailer), deflate at least 3, and the response a [`CODING_LINE`]. It is sent as it is,
/// without trying.
pub(crate) const GZIP_MIN_LEN: usize = 18 + 3 + CODING_LINE + 1;

/// True when sending `gzip_len` bytes with `Content-Encoding: gzip` (and a field value
/// `extra_field_bytes` longer, an `ETag`'s `-gzip`) makes the response smaller than `plain_len`
/// bytes without: gzip must never make a response larger.
fn gzip_is_smaller(plain_len: u64, gzip_len: u64, extra_field_bytes: u64) -> bool {
    gzip_len + CODING_LINE as u64 + extra_field_bytes < plain_len
}

/// `bytes` gzipped, or `None` when that would not make the response smaller.
pub(crate) fn smaller_gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < GZIP_MIN_LEN {
        return None;
    }
    let gz = gzip(bytes).ok()?;
    gzip_is_smaller(bytes.len() as u64, gz.len() as u64, 0).then_some(gz)
}

/// Compresses with flate2 at its default level.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3 + 64),
        flate2::Compression::default(),
    );
    enc.write_all(bytes)?;
    enc.finish()
}

/// Files above this size are not compressed on the fly (a `.gz` sibling still is used).
const GZIP_ON_THE_FLY_LIMIT: u64 = 8 * 1024 * 1024;

/// The representation chosen for a file: identity, a `.gz` sibling, or compressed now.
struct Representation {
    segments: Vec<Segment>,
    len: u64,
    etag: EntityTag,
    gzip: bool,
}

fn serve_file(head: &RequestHead, cx: &Context<'_>, cached: CachedFile) -> Response {
    let file = &cached.file;
    let ty: &str = &cached.content_type;
    let compressible = cx.settings.config.gzip && content_type::is_compressible(ty);
    let has_range = head.headers.contains("range");
    let last_modified = HttpDate::from(file.modified);
    let Some(mut rep) = identity(&cached) else {
        return not_found(&file.name);
    };
    if compressible && !has_range && accepts_gzip(head) {
        if let Some(gz) = gzip_representation(cx, &cached) {
            // The compressed form (on the fly or a `.gz` sibling) only when it is smaller, its
            // `ETag` and `Content-Encoding` counted.
            let plain_tag = rep.etag.to_field_value().len() as u64;
            let gz_tag = gz.etag.to_field_value().len() as u64;
            if gzip_is_smaller(rep.len, gz.len, gz_tag.saturating_sub(plain_tag)) {
                rep = gz;
            }
        }
    }
    let current = CurrentRepresentation {
        etag: Some(rep.etag.clone()),
        last_modified: Some(last_modified),
    };
    let conditions = RequestConditions::from_field_values(
        head.headers.get("if-match"),
        head.headers.get("if-none-match"),
        head.headers.get("if-modified-since"),
        head.headers.get("if-unmodified-since"),
        HttpDate::from(cx.now),
    );
    let etag_value = rep.etag.to_field_value();
    let lm = last_modified.to_imf_fixdate();
    if !conditions.is_empty() {
        match conditional::evaluate(&head.method, &conditions, Some(&current)).outcome {
            Outcome::Proceed => {}
            Outcome::NotModified => {
                let mut r = Response::new(304)
                    .header("ETag", &etag_value)
                    .header("Last-Modified", lm);
                if compressible {
                    r.push_header("Vary", b"Accept-Encoding");
                }
                return r;
            }
            Outcome::PreconditionFailed => {
                return Response::text(
                    412,
                    "412 Precondition Failed: the file does not match the request's If-Match or If-Unmodified-Since",
                )
                .header("ETag", &etag_value);
            }
        }
    }
    let mut resp = Response::new(200);
    resp.push_header("Content-Type", ty.as_bytes());
    resp.push_header("Last-Modified", &lm);
    resp.push_header("ETag", &etag_value);
    resp.push_header("Accept-Ranges", b"bytes");
    if compressible {
        resp.push_header("Vary", b"Accept-Encoding");
    }
    if rep.gzip {
        resp.push_header("Content-Encoding", b"gzip");
        return resp.body(Body::Fixed(rep.segments));
    }
    if has_range && matches!(head.method, Method::Get) {
        return crate::ranges::apply(head, cx, resp, &rep.segments, rep.len, &current, ty);
    }
    resp.body(Body::Fixed(rep.segments))
}

/// The file as stored: its bytes when small (kept by the cache), else the file, opened now.
/// `None` when it vanished since the lookup.
fn identity(cached: &CachedFile) -> Option<Representation> {
    let file = &cached.file;
    let segment = match (&cached.bytes, &file.contents) {
        (Some(b), _) => Segment::Bytes(Arc::clone(b)),
        (None, Contents::Static(b)) => Segment::Static(b),
        (None, Contents::Disk(f, _)) => Segment::File {
            file: Arc::clone(f),
            offset: 0,
            len: file.len,
        },
        (None, Contents::Path(p)) => Segment::File {
            file: Arc::new(std::fs::File::open(p).ok()?),
            offset: 0,
            len: file.len,
        },
    };
    Some(Representation {
        segments: vec![segment],
        len: file.len,
        etag: file.etag.clone(),
        gzip: false,
    })
}

/// A `.gz` sibling on disk, or the file compressed once and kept with the cache entry.
fn gzip_representation(cx: &Context<'_>, cached: &CachedFile) -> Option<Representation> {
    let file = &cached.file;
    if !cx.settings.source.is_demo() {
        let gz_path = format!("{}.gz", file.name);
        let sibling = file_cache::get_or_find(
            &gz_path,
            cx.shared.generation(),
            Instant::now(),
            || match file.path.with_suffix(".gz") {
                Some(gz) => cx.settings.source.find(&gz),
                None => Found::NotFound,
            },
            |_| "application/gzip".to_string(),
        );
        if let Some(mut rep) = sibling.ok().as_ref().and_then(identity) {
            rep.gzip = true;
            return Some(rep);
        }
    }
    if file.len > GZIP_ON_THE_FLY_LIMIT || file.len < GZIP_MIN_LEN as u64 {
        return None;
    }
    let bytes = cached.gzipped.get_or_init(|| {
        let plain: Vec<u8> = match (&cached.bytes, &file.contents) {
            (Some(b), _) => b.to_vec(),
            (None, Contents::Static(b)) => b.to_vec(),
            (None, Contents::Disk(_, path) | Contents::Path(path)) => std::fs::read(path).ok()?,
        };
        // Kept only when it is smaller (the "-gzip" of its `ETag` counted).
        let gz = gzip(&plain).ok()?;
        gzip_is_smaller(plain.len() as u64, gz.len() as u64, 5).then(|| Arc::from(gz))
    });
    let bytes = bytes.clone()?;
    // A different representation needs a different strong tag: the identity tag plus "-gzip".
    let mut opaque = file.etag.opaque().to_vec();
    opaque.extend_from_slice(b"-gzip");
    let etag = EntityTag::strong(opaque).ok()?;
    Some(Representation {
        len: bytes.len() as u64,
        segments: vec![Segment::Bytes(bytes)],
        etag,
        gzip: true,
    })
}

fn delete(cx: &Context<'_>, url_path: &str, safe: &SafePath) -> Response {
    let target = match cx.settings.source.write_target(safe) {
        Ok(t) => t,
        Err(Found::NotFound) => return not_found(url_path),
        Err(_) => return forbidden(url_path),
    };
    match upload::delete(&target) {
        Ok(()) => {
            file_cache::note_write();
            Response::new(204)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => not_found(url_path),
        Err(e) => Response::text(409, format!("409 Conflict: cannot delete {url_path}: {e}")),
    }
}
