//! proptest strategies for valid heads and for HTTP-shaped noise, shared by the unit tests of
//! the head parsers (compiled for tests only).

use proptest::prelude::*;

use super::fields::{Field, Headers};
use super::method::Method;
use super::request::RequestHead;
use super::response::ResponseHead;
use super::status::StatusCode;
use super::target::{Authority, Target};
use super::version::Version;

pub fn version() -> impl Strategy<Value = Version> {
    prop_oneof![Just(Version::Http10), Just(Version::Http11)]
}

/// A token, biased towards realistic names.
pub fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9-]{0,15}",
        "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}",
    ]
}

/// A field value: no leading or trailing whitespace, VCHAR, obs-text and inner SP/HTAB.
pub fn field_value() -> impl Strategy<Value = Vec<u8>> {
    let byte =
        prop_oneof![8 => 0x21u8..=0x7e, 1 => Just(b' '), 1 => Just(b'\t'), 1 => 0x80u8..=0xff];
    prop::collection::vec(byte, 0..40).prop_map(|mut v| {
        while v.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            v.remove(0);
        }
        while v.last().is_some_and(|b| *b == b' ' || *b == b'\t') {
            v.pop();
        }
        v
    })
}

/// Fields other than Host.
pub fn fields() -> impl Strategy<Value = Vec<Field>> {
    prop::collection::vec(
        (token(), field_value())
            .prop_filter("not Host", |(name, _)| !name.eq_ignore_ascii_case("host"))
            .prop_map(|(name, value)| Field::new(&name, value).expect("generated valid")),
        0..12,
    )
}

/// `host[:port]` with a reg-name or an IP literal.
pub fn authority() -> impl Strategy<Value = Authority> {
    let host = prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
        "(25[0-5]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|1[0-9]{2}|[1-9]?[0-9])){3}",
        Just("[::1]".to_owned()),
        Just("[2001:db8::7]".to_owned()),
    ];
    (host, prop::option::of(any::<u16>())).prop_map(|(host, port)| Authority { host, port })
}

/// An encoded path: segments of pchars, some percent-escapes.
pub fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        "[A-Za-z0-9._~!$&'()*+,;=:@-]{0,10}",
        "%[0-9A-F]{2}[a-z]{0,3}",
    ];
    prop::collection::vec(segment, 0..6).prop_map(|segs| format!("/{}", segs.join("/")))
}

pub fn query() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[A-Za-z0-9._~!$&'()*+,;=:@/?-]{0,20}")
}

/// A method and a target of a form that method allows.
pub fn method_and_target() -> impl Strategy<Value = (Method, Target)> {
    let plain_method = prop_oneof![
        Just(Method::Get),
        Just(Method::Head),
        Just(Method::Post),
        Just(Method::Put),
        Just(Method::Delete),
        Just(Method::Trace),
        Just(Method::Options),
        "[A-Z]{3,9}".prop_map(|m| Method::parse(&m).expect("token")),
    ]
    .prop_filter("CONNECT needs authority-form", |m| *m != Method::Connect);
    let origin = (path(), query()).prop_map(|(path, query)| Target::Origin { path, query });
    let absolute = (
        prop_oneof![Just("http"), Just("https")],
        authority(),
        prop_oneof![Just(String::new()), path()],
        query(),
    )
        .prop_map(|(scheme, authority, path, query)| Target::Absolute {
            scheme: scheme.to_owned(),
            authority,
            path,
            query,
        });
    prop_oneof![
        6 => (plain_method, prop_oneof![3 => origin, 1 => absolute]),
        1 => authority()
            .prop_map(|a| Authority { port: Some(a.port.unwrap_or(443)), ..a })
            .prop_map(|a| (Method::Connect, Target::Authority(a))),
        1 => Just((Method::Options, Target::Asterisk)),
    ]
}

/// A valid request head: HTTP/1.1 always has exactly one Host, HTTP/1.0 sometimes.
pub fn request_head() -> impl Strategy<Value = RequestHead> {
    (
        method_and_target(),
        version(),
        prop::option::of(authority()),
        any::<prop::sample::Index>(),
        fields(),
    )
        .prop_map(|((method, target), version, host, position, fields)| {
            let mut head = RequestHead::new(method, target, version);
            let host = match (version, host) {
                (Version::Http11, None) => Some(Authority {
                    host: "localhost".into(),
                    port: None,
                }),
                (_, host) => host,
            };
            let mut all: Vec<Field> = fields;
            if let Some(host) = host {
                let field = Field::new("Host", host.to_string()).expect("valid host");
                all.insert(position.index(all.len() + 1), field);
            }
            head.headers = all.into_iter().collect::<Headers>();
            head
        })
}

/// A valid response head.
pub fn response_head() -> impl Strategy<Value = ResponseHead> {
    let reason = prop::collection::vec(prop_oneof![8 => 0x20u8..=0x7e, 1 => Just(b'\t')], 0..20)
        .prop_map(|v| String::from_utf8(v).expect("ASCII"));
    (version(), 100u16..=599, reason, fields()).prop_map(|(version, code, reason, fields)| {
        let mut head = ResponseHead::new(StatusCode::new(code).expect("in range"))
            .with_reason(&reason)
            .expect("valid");
        head.version = version;
        head.headers = fields.into_iter().collect();
        head
    })
}

/// HTTP-shaped noise: fragments of heads, line endings and bad bytes glued together, to check
/// that every input gives a consistent answer however it is split.
pub fn noise() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(&b"GET"[..]),
        Just(&b"HTTP/1.1"[..]),
        Just(&b"HTTP/1.0 200 OK"[..]),
        Just(&b" "[..]),
        Just(&b"/"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\n"[..]),
        Just(&b"\r"[..]),
        Just(&b"\t"[..]),
        Just(&b":"[..]),
        Just(&b"Host"[..]),
        Just(&b"a"[..]),
        Just(&b"%2e"[..]),
        Just(&b"\x00"[..]),
        Just(&b"\x7f"[..]),
        Just(&b"\xc3\xa9"[..]),
        Just(&b"*"[..]),
        Just(&b"http://h:1"[..]),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}
