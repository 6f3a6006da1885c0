//! Differential test: our head parsers against `httparse`, a widely used HTTP/1.x parser.
//!
//! On generated valid heads both must finish at the same byte and agree on every part. On a
//! corpus of tricky inputs each case says what to expect: agreement, both refusing (with our
//! named error), or us refusing what httparse accepts, with the reason we are stricter. Every
//! input is also fed through `feed_every_way`, so our answer does not depend on how it arrives.

use proptest::prelude::*;
use wire::http1::{ParseError, ParseOptions, RawRequest, RawResponse, TargetError};
use wire::testing::feed_every_way;
use wire::Status;

/// What httparse saw in a complete request head.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    len: usize,
    method: String,
    target: String,
    minor_version: u8,
    fields: Vec<(String, Vec<u8>)>,
}

fn httparse_request(buf: &[u8]) -> Result<Option<Seen>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf)? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(len) => Ok(Some(Seen {
            len,
            method: request.method.unwrap_or_default().to_owned(),
            target: request.path.unwrap_or_default().to_owned(),
            minor_version: request.version.unwrap_or_default(),
            fields: request
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.to_vec()))
                .collect(),
        })),
    }
}

fn seen(len: usize, raw: &RawRequest<'_>) -> Seen {
    Seen {
        len,
        method: raw.method.to_owned(),
        target: raw.target.to_owned(),
        minor_version: match raw.version {
            wire::http1::Version::Http10 => 0,
            wire::http1::Version::Http11 => 1,
        },
        fields: raw
            .fields
            .iter()
            .map(|f| (f.name.to_owned(), f.value.to_vec()))
            .collect(),
    }
}

/// Our strict parser, fed every way; the borrowed view is turned into an owned `Seen` inside
/// the closure so that answers for different buffers can be compared.
fn ours_request_seen(buf: &[u8]) -> Result<Option<Seen>, ParseError> {
    let answer = feed_every_way(buf, |b| {
        RawRequest::parse(b, &ParseOptions::STRICT).map(|s| s.map(|(n, raw)| (n, seen(n, &raw))))
    })?;
    Ok(match answer {
        Status::Partial => None,
        Status::Complete((_, seen)) => Some(seen),
    })
}

/// What a corpus case expects.
enum Expect {
    /// Both parse it completely and agree on every part.
    Agree,
    /// Both refuse it; ours with this error.
    BothRefuse(ParseError),
    /// httparse accepts it, we refuse it with this error, for the reason given.
    Stricter(ParseError, &'static str),
}

struct Case {
    name: &'static str,
    input: &'static [u8],
    expect: Expect,
}

fn request_corpus() -> Vec<Case> {
    use Expect::*;
    use ParseError as E;
    vec![
        Case {
            name: "a plain GET",
            input: b"\
                GET /index.html HTTP/1.1\r\n\
                Host: localhost:8080\r\n\
                User-Agent: curl/8.5.0\r\n\
                Accept: */*\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "empty lines before the request line (RFC 9112 §2.2)",
            input: b"\
                \r\n\
                \r\n\
                GET / HTTP/1.0\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "absolute-form for a proxy",
            input: b"\
                GET http://example.com:8000/a/b?c=d HTTP/1.1\r\n\
                Host: example.com:8000\r\n\
                Proxy-Connection: keep-alive\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "CONNECT in authority-form",
            input: b"\
                CONNECT example.com:443 HTTP/1.1\r\n\
                Host: example.com:443\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "OPTIONS in asterisk-form",
            input: b"\
                OPTIONS * HTTP/1.1\r\n\
                Host: a\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "empty value, OWS around values, tabs inside",
            input: b"\
                POST /upload HTTP/1.1\r\n\
                Host: a\r\n\
                X-Empty:\r\n\
                X-Padded: \t value\twith tab \t\r\n\
                Content-Length: 0\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "obs-text in a value",
            input: b"\
                GET / HTTP/1.1\r\n\
                Host: a\r\n\
                X-Latin1: caf\xe9\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "browser characters left unencoded in the query",
            input: b"\
                GET /search?q={a|b}^[c]`d HTTP/1.1\r\n\
                Host: a\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "extension method",
            input: b"\
                PROPFIND /dav/ HTTP/1.1\r\n\
                Host: a\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "bare LF line endings",
            input: b"\
                GET / HTTP/1.1\n\
                Host: a\n\
                \n",
            // RFC 9112 §2.2 lets a recipient accept a bare LF; we refuse by default so that a lab
            // can tell a student their server forgot the CR. `Leniencies::bare_lf` accepts it.
            expect: Stricter(E::BareLf { offset: 14 }, "bare LF is a named leniency"),
        },
        Case {
            name: "fragment in the target",
            input: b"\
                GET /page#section HTTP/1.1\r\n\
                Host: a\r\n\
                \r\n",
            // A fragment is never part of a request-target (RFC 9112 §3.2).
            expect: Stricter(
                E::InvalidTargetByte { offset: 9 },
                "# is not in request-target",
            ),
        },
        Case {
            name: "double quote in the target",
            input: b"\
                GET /a\"b HTTP/1.1\r\n\
                Host: a\r\n\
                \r\n",
            // `"` is neither a URI character (RFC 3986 §2) nor left raw by browsers.
            expect: Stricter(
                E::InvalidTargetByte { offset: 6 },
                "\" is not a URI character",
            ),
        },
        Case {
            name: "backslash in the target",
            input: b"\
                GET /a\\..\\secret HTTP/1.1\r\n\
                Host: a\r\n\
                \r\n",
            // `\` is not a URI character and is a path separator on some systems: refusing it at
            // the request line keeps it away from the path normaliser.
            expect: Stricter(
                E::InvalidTargetByte { offset: 6 },
                "\\ is not a URI character",
            ),
        },
        Case {
            name: "raw UTF-8 in the target",
            input: b"\
                GET /caf\xc3\xa9 HTTP/1.1\r\n\
                Host: a\r\n\
                \r\n",
            // Non-ASCII must be percent-encoded in a URI (RFC 3986 §2); clients do so.
            expect: Stricter(
                E::InvalidTargetByte { offset: 8 },
                "non-ASCII must be percent-encoded",
            ),
        },
        Case {
            name: "obs-fold",
            input: b"\
                GET / HTTP/1.1\r\n\
                Host: a\r\n\
                X-Folded: one\r\n\
                \x20two\r\n\
                \r\n",
            expect: BothRefuse(E::ObsFold { offset: 40 }),
        },
        Case {
            name: "whitespace before the colon",
            input: b"\
                GET / HTTP/1.1\r\n\
                Host : a\r\n\
                \r\n",
            expect: BothRefuse(E::SpaceBeforeColon { offset: 20 }),
        },
        Case {
            name: "two spaces in the request line",
            input: b"\
                GET  / HTTP/1.1\r\n\
                Host: a\r\n\
                \r\n",
            expect: BothRefuse(E::MalformedRequestLine { offset: 4 }),
        },
        Case {
            name: "NUL in a value",
            input: b"\
                GET / HTTP/1.1\r\n\
                Host: a\x00b\r\n\
                \r\n",
            expect: BothRefuse(E::InvalidFieldValue {
                offset: 23,
                byte: 0,
            }),
        },
        Case {
            name: "HTTP/2.0 on an HTTP/1 connection",
            input: b"\
                GET / HTTP/2.0\r\n\
                Host: a\r\n\
                \r\n",
            expect: BothRefuse(E::UnsupportedVersion {
                offset: 6,
                major: 2,
                minor: 0,
            }),
        },
        Case {
            name: "lower-case protocol name",
            input: b"\
                GET / http/1.1\r\n\
                \r\n",
            expect: BothRefuse(E::MalformedVersion { offset: 6 }),
        },
        Case {
            name: "HTTP/0.9 request line",
            input: b"\
                GET /\r\n\
                \r\n",
            expect: BothRefuse(E::MalformedRequestLine { offset: 5 }),
        },
        Case {
            name: "separator in the method",
            input: b"\
                GE(T / HTTP/1.1\r\n\
                \r\n",
            expect: BothRefuse(E::InvalidMethod { offset: 2 }),
        },
        Case {
            name: "empty field name",
            input: b"\
                GET / HTTP/1.1\r\n\
                : x\r\n\
                \r\n",
            expect: BothRefuse(E::InvalidFieldName { offset: 16 }),
        },
        Case {
            name: "a field line without a colon",
            input: b"\
                GET / HTTP/1.1\r\n\
                Host\r\n\
                \r\n",
            expect: BothRefuse(E::MissingColon { offset: 20 }),
        },
        Case {
            name: "a TLS ClientHello sent to a plain HTTP port",
            input: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            expect: BothRefuse(E::InvalidMethod { offset: 0 }),
        },
        Case {
            name: "whitespace before the first field",
            input: b"\
                GET / HTTP/1.1\r\n\
                \x20Host: a\r\n\
                \r\n",
            expect: BothRefuse(E::WhitespaceAfterStartLine { offset: 16 }),
        },
    ]
}

/// Runs a corpus: `theirs` is httparse, `ours` our strict parser fed every way.
fn check_corpus<S: std::fmt::Debug + PartialEq>(
    corpus: Vec<Case>,
    theirs: impl Fn(&[u8]) -> Result<Option<S>, httparse::Error>,
    ours: impl Fn(&[u8]) -> Result<Option<S>, ParseError>,
) {
    for case in corpus {
        let theirs = theirs(case.input);
        let ours = ours(case.input);
        match &case.expect {
            Expect::Agree => {
                let theirs =
                    theirs.unwrap_or_else(|e| panic!("{}: httparse refused: {e}", case.name));
                let ours = ours.unwrap_or_else(|e| panic!("{}: we refused: {e}", case.name));
                assert!(theirs.is_some(), "{}: httparse says partial", case.name);
                assert_eq!(ours, theirs, "{}", case.name);
            }
            Expect::BothRefuse(error) => {
                assert!(
                    theirs.is_err(),
                    "{}: httparse accepted it: {theirs:?}",
                    case.name
                );
                assert_eq!(ours.as_ref().err(), Some(error), "{}", case.name);
            }
            Expect::Stricter(error, why) => {
                assert!(
                    matches!(theirs, Ok(Some(_))),
                    "{}: httparse does not accept it ({theirs:?}), so `{why}` is no longer a difference",
                    case.name
                );
                assert_eq!(ours.as_ref().err(), Some(error), "{}", case.name);
            }
        }
    }
}

#[test]
fn request_corpus_matches_expectations() {
    check_corpus(request_corpus(), httparse_request, ours_request_seen);
}

#[test]
fn the_lenient_parser_accepts_what_the_strict_one_names() {
    // Each strict refusal that is a named leniency is accepted once that leniency is on.
    for case in request_corpus() {
        if let Expect::Stricter(ParseError::BareLf { .. }, _)
        | Expect::BothRefuse(
            ParseError::ObsFold { .. } | ParseError::SpaceBeforeColon { .. },
        ) = case.expect
        {
            let lenient = feed_every_way(case.input, |b| {
                RawRequest::parse(b, &ParseOptions::LENIENT)
                    .map(|s| s.map(|(n, raw)| (n, raw.leniencies_used)))
            });
            let Ok(Status::Complete((n, used))) = lenient else {
                panic!("{}: {lenient:?}", case.name)
            };
            assert_eq!(n, case.input.len(), "{}", case.name);
            assert!(!used.is_empty(), "{}", case.name);
        }
    }
}

#[test]
fn host_rules_are_beyond_httparse() {
    // httparse checks syntax only; the Host rules of RFC 9112 §3.2 are ours.
    let missing = b"GET / HTTP/1.1\r\n\r\n";
    assert!(matches!(httparse_request(missing), Ok(Some(_))));
    let parsed = feed_every_way(missing, |b| {
        wire::http1::RequestHead::parse(b, &ParseOptions::STRICT)
    });
    assert_eq!(parsed, Err(ParseError::MissingHost));

    let wrong_form = b"GET * HTTP/1.1\r\nHost: a\r\n\r\n";
    assert!(matches!(httparse_request(wrong_form), Ok(Some(_))));
    let parsed = feed_every_way(wrong_form, |b| {
        wire::http1::RequestHead::parse(b, &ParseOptions::STRICT)
    });
    assert_eq!(
        parsed,
        Err(ParseError::InvalidTarget {
            offset: 4,
            error: TargetError::AsteriskNotOptions
        })
    );
}

/// What a parser saw in a complete response head: length, status, reason, fields.
type SeenResponse = (usize, u16, Vec<u8>, Vec<(String, Vec<u8>)>);

fn httparse_response(buf: &[u8]) -> Result<Option<SeenResponse>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut response = httparse::Response::new(&mut headers);
    Ok(match response.parse(buf)? {
        httparse::Status::Partial => None,
        httparse::Status::Complete(len) => Some((
            len,
            response.code.unwrap_or_default(),
            response.reason.unwrap_or_default().as_bytes().to_vec(),
            response
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.to_vec()))
                .collect(),
        )),
    })
}

fn ours_response(buf: &[u8]) -> Result<Option<SeenResponse>, ParseError> {
    let answer = feed_every_way(buf, |b| {
        RawResponse::parse(b, &ParseOptions::STRICT).map(|s| {
            s.map(|(n, raw)| {
                let fields = raw
                    .fields
                    .iter()
                    .map(|f| (f.name.to_owned(), f.value.to_vec()))
                    .collect();
                (n, (n, raw.status, raw.reason.to_vec(), fields))
            })
        })
    })?;
    Ok(match answer {
        Status::Partial => None,
        Status::Complete((_, seen)) => Some(seen),
    })
}

fn response_corpus() -> Vec<Case> {
    use Expect::*;
    use ParseError as E;
    vec![
        Case {
            name: "a plain 200",
            input: b"\
                HTTP/1.1 200 OK\r\n\
                Content-Type: text/html\r\n\
                Content-Length: 12\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "no reason phrase and no SP before it",
            input: b"\
                HTTP/1.1 204\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "an empty reason phrase",
            input: b"\
                HTTP/1.0 404 \r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "a reason phrase with tabs and spaces",
            input: b"\
                HTTP/1.1 500 Internal\tServer  Error\r\n\
                \r\n",
            expect: Agree,
        },
        Case {
            name: "bare LF line endings",
            input: b"\
                HTTP/1.1 200 OK\n\
                Server: x\n\
                \n",
            // Accepted only with `Leniencies::bare_lf`, so that the client can tell the user.
            expect: Stricter(E::BareLf { offset: 15 }, "bare LF is a named leniency"),
        },
        Case {
            name: "a status code below 100",
            input: b"\
                HTTP/1.1 099 Odd\r\n\
                \r\n",
            // RFC 9110 §15: every valid status code is within 100..=599.
            expect: Stricter(
                E::InvalidStatusCode { offset: 9 },
                "status codes are 100..=599",
            ),
        },
        Case {
            name: "a status code above 599",
            input: b"\
                HTTP/1.1 600 Odd\r\n\
                \r\n",
            expect: Stricter(
                E::InvalidStatusCode { offset: 9 },
                "status codes are 100..=599",
            ),
        },
        Case {
            name: "obs-fold in a response",
            input: b"\
                HTTP/1.1 200 OK\r\n\
                X-Folded: one\r\n\
                \ttwo\r\n\
                \r\n",
            expect: BothRefuse(E::ObsFold { offset: 32 }),
        },
        Case {
            name: "whitespace before a colon in a response",
            input: b"\
                HTTP/1.1 200 OK\r\n\
                Server : x\r\n\
                \r\n",
            expect: BothRefuse(E::SpaceBeforeColon { offset: 23 }),
        },
        Case {
            name: "a two-digit status code",
            input: b"\
                HTTP/1.1 20 OK\r\n\
                \r\n",
            expect: BothRefuse(E::InvalidStatusCode { offset: 11 }),
        },
        Case {
            name: "not HTTP at all",
            input: b"SSH-2.0-OpenSSH_9.2p1\r\n",
            expect: BothRefuse(E::MalformedVersion { offset: 0 }),
        },
        Case {
            name: "HTTP/2 preface-like version",
            input: b"\
                HTTP/2 200\r\n\
                \r\n",
            expect: BothRefuse(E::MalformedVersion { offset: 6 }),
        },
    ]
}

#[test]
fn response_corpus_matches_expectations() {
    check_corpus(response_corpus(), httparse_response, ours_response);
}

/// A valid request head as bytes, built field by field.
fn valid_request() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![
        Just("GET".to_owned()),
        Just("POST".to_owned()),
        Just("HEAD".to_owned()),
        "[A-Z][A-Z_-]{0,9}",
    ];
    let target = prop_oneof![
        "/[A-Za-z0-9._~!$&'()*+,;=:@/%-]{0,30}(\\?[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,20})?",
        "http://[a-z0-9.-]{1,12}(:[0-9]{1,5})?(/[a-z0-9/]{0,12})?",
    ];
    let version = prop_oneof![Just("HTTP/1.0"), Just("HTTP/1.1")];
    let name = "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}";
    let value_byte =
        prop_oneof![10 => 0x21u8..=0x7e, 2 => Just(b' '), 1 => Just(b'\t'), 1 => 0x80u8..=0xff];
    let value = prop::collection::vec(value_byte, 0..30);
    let ows = prop_oneof![Just(""), Just(" "), Just("\t"), Just("  ")];
    let field = (name, ows.clone(), value, ows);
    (
        0usize..3,
        method,
        target,
        version,
        prop::collection::vec(field, 0..20),
    )
        .prop_map(|(empty_lines, method, target, version, fields)| {
            let mut out = b"\r\n".repeat(empty_lines);
            out.extend_from_slice(format!("{method} {target} {version}\r\n").as_bytes());
            for (name, lead, value, trail) in fields {
                out.extend_from_slice(format!("{name}:{lead}").as_bytes());
                out.extend_from_slice(&value);
                out.extend_from_slice(trail.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"\r\n");
            out
        })
}

/// A valid response head as bytes.
fn valid_response() -> impl Strategy<Value = Vec<u8>> {
    let version = prop_oneof![Just("HTTP/1.0"), Just("HTTP/1.1")];
    let reason = "[A-Za-z0-9 ]{0,20}";
    let field = ("[A-Za-z0-9-]{1,16}", "[!-~]([ -~]{0,20}[!-~])?");
    (
        version,
        100u16..=599,
        reason,
        prop::collection::vec(field, 0..20),
    )
        .prop_map(|(version, code, reason, fields)| {
            let mut out = format!("{version} {code} {reason}\r\n");
            for (name, value) in fields {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            out.into_bytes()
        })
}

proptest! {
    #[test]
    fn generated_requests_agree(input in valid_request()) {
        let theirs = httparse_request(&input);
        let ours = ours_request_seen(&input);
        prop_assert!(matches!(theirs, Ok(Some(_))), "httparse: {:?}", theirs);
        prop_assert_eq!(ours.ok(), theirs.ok());
    }

    #[test]
    fn generated_responses_agree(input in valid_response()) {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let theirs = response.parse(&input);
        type OwnedResponse = (u16, String, Vec<(String, Vec<u8>)>);
        let ours = feed_every_way(&input, |b| {
            RawResponse::parse(b, &ParseOptions::STRICT).map(|s| {
                s.map(|(n, raw)| {
                    let fields = raw.fields.iter().map(|f| (f.name.to_owned(), f.value.to_vec())).collect();
                    let owned: OwnedResponse = (raw.status, String::from_utf8_lossy(raw.reason).into_owned(), fields);
                    (n, owned)
                })
            })
        });
        let (Ok(httparse::Status::Complete(their_len)), Ok(Status::Complete((our_len, (status, reason, our_fields))))) = (theirs, ours) else {
            return Err(TestCaseError::fail(format!("{theirs:?}")));
        };
        prop_assert_eq!(our_len, their_len);
        prop_assert_eq!(Some(status), response.code);
        prop_assert_eq!(Some(reason.as_str()), response.reason);
        let their_fields: Vec<(String, Vec<u8>)> = response.headers.iter().map(|h| (h.name.to_owned(), h.value.to_vec())).collect();
        prop_assert_eq!(our_fields, their_fields);
    }
}
