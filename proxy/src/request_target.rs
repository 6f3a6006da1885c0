//! What a request to the proxy asks for, read from its request-target (RFC 9112 §3.2).
//!
//! | request line | meaning |
//! | --- | --- |
//! | `GET http://host:port/path HTTP/1.1` | absolute-form: forward (what `curl -x` and browsers send) |
//! | `GET /http://host:port/path HTTP/1.1` | the lab's path form: the same as the absolute form |
//! | `GET /host:port/path HTTP/1.1` | the short path form: `http://` is implied (the port is required) |
//! | `CONNECT host:443 HTTP/1.1` | authority-form: open a tunnel |
//! | `GET /proxy-status HTTP/1.1` | the proxy's counters |
//! | `GET / HTTP/1.1` (any other origin-form) | the proxy's own page, explaining how to use it |
//!
//! The path form and the absolute form give the same absolute URI, so they share one cache.

use wire::http1::{Authority, Method, RequestHead, Target};

/// What a request asks the proxy to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Forward this request, whose target is now in absolute-form, to the origin.
    Forward(RequestHead),
    /// Open a tunnel to this authority.
    Tunnel(Authority),
    /// A page the proxy serves itself: `/proxy-status`, or anything else in origin-form.
    Local(LocalPage),
    /// A target the proxy cannot forward, and why (answered 400 or 501).
    Refused(u16, String),
}

/// The proxy's own pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalPage {
    /// `/`: how to use the proxy.
    Usage,
    /// `/proxy-status`: counters.
    Status,
    /// Any other origin-form path.
    NotFound,
}

/// Reads the destination of `head`.
pub fn destination(head: RequestHead) -> Destination {
    match &head.target {
        Target::Authority(authority) => {
            if head.method == Method::Connect {
                Destination::Tunnel(authority.clone())
            } else {
                Destination::Refused(400, "authority-form is for CONNECT only".into())
            }
        }
        Target::Absolute { scheme, .. } => match scheme.as_str() {
            "http" => Destination::Forward(head),
            "https" => Destination::Refused(
                501,
                "this proxy reaches https:// sites through CONNECT tunnels only: \
                 use https:// URLs with the proxy set (curl -x), not http://proxy/https://..."
                    .into(),
            ),
            other => Destination::Refused(501, format!("the {other}: scheme is not proxied")),
        },
        Target::Asterisk => Destination::Local(LocalPage::Usage),
        Target::Origin { path, query } => match path_form(path, query.as_deref()) {
            Some(Ok(uri)) => match Target::parse(&head.method, &uri) {
                Ok(target @ Target::Absolute { .. }) => {
                    let mut head = head;
                    head.target = target;
                    destination(head)
                }
                Ok(_) | Err(_) => {
                    Destination::Refused(400, format!("{uri} is not a URL the proxy can fetch"))
                }
            },
            Some(Err(why)) => Destination::Refused(400, why),
            None => Destination::Local(match path.as_str() {
                "/" | "/index.html" => LocalPage::Usage,
                "/proxy-status" => LocalPage::Status,
                _ => LocalPage::NotFound,
            }),
        },
    }
}

/// The absolute URI a path-form target names, `None` when the path is not the path form.
fn path_form(path: &str, query: Option<&str>) -> Option<Result<String, String>> {
    let rest = path.strip_prefix('/')?;
    let lower = rest.get(..8).unwrap_or(rest).to_ascii_lowercase();
    let uri = if lower.starts_with("http://") || lower.starts_with("https://") {
        rest.to_owned()
    } else {
        let first = rest.split('/').next().unwrap_or("");
        let (host, port) = first.rsplit_once(':')?;
        if host.is_empty() || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if port.parse::<u16>().is_err() {
            return Some(Err(format!(
                "{first}: the port is not a number below 65536"
            )));
        }
        format!("http://{rest}")
    };
    Some(Ok(match query {
        Some(q) => format!("{uri}?{q}"),
        None => uri,
    }))
}

/// The absolute URI of a forwarded request, as the cache keys it (RFC 9111 §2: the target URI).
pub fn absolute_uri(head: &RequestHead) -> String {
    head.target.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use wire::http1::ParseOptions;
    use wire::Status;

    fn head(bytes: &[u8]) -> RequestHead {
        match RequestHead::parse(bytes, &ParseOptions::STRICT) {
            Ok(Status::Complete((_, head))) => head,
            other => panic!("a valid head: {other:?}"),
        }
    }

    fn forwarded_uri(request_line: &str) -> String {
        let bytes = format!("{request_line}\r\nHost: localhost:8888\r\n\r\n");
        match destination(head(bytes.as_bytes())) {
            Destination::Forward(h) => absolute_uri(&h),
            other => panic!("{request_line}: expected a forward, got {other:?}"),
        }
    }

    #[test]
    fn absolute_and_both_path_forms_name_the_same_uri() {
        let want = "http://127.0.0.1:8000/test/a?x=1";
        assert_eq!(
            forwarded_uri("GET http://127.0.0.1:8000/test/a?x=1 HTTP/1.1"),
            want
        );
        assert_eq!(
            forwarded_uri("GET /http://127.0.0.1:8000/test/a?x=1 HTTP/1.1"),
            want
        );
        assert_eq!(
            forwarded_uri("GET /127.0.0.1:8000/test/a?x=1 HTTP/1.1"),
            want
        );
        assert_eq!(
            forwarded_uri("GET /localhost:8080 HTTP/1.1"),
            "http://localhost:8080"
        );
    }

    #[test]
    fn origin_form_paths_are_the_proxys_own_pages() {
        let local = |line: &str| destination(head(format!("{line}\r\nHost: p\r\n\r\n").as_bytes()));
        assert_eq!(
            local("GET / HTTP/1.1"),
            Destination::Local(LocalPage::Usage)
        );
        assert_eq!(
            local("GET /proxy-status HTTP/1.1"),
            Destination::Local(LocalPage::Status)
        );
        assert_eq!(
            local("GET /favicon.ico HTTP/1.1"),
            Destination::Local(LocalPage::NotFound)
        );
        assert!(matches!(
            local("GET /host:99999/x HTTP/1.1"),
            Destination::Refused(400, _)
        ));
        assert!(matches!(
            local("GET https://example.com/ HTTP/1.1"),
            Destination::Refused(501, _)
        ));
        assert!(matches!(
            local("CONNECT example.com:443 HTTP/1.1"),
            Destination::Tunnel(_)
        ));
    }
}
