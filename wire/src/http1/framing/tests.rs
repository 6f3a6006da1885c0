//! Every step of RFC 9112 §6.3, and every smuggling shape, for requests and responses.

use pretty_assertions::assert_eq;

use super::*;

fn headers(fields: &[(&str, &str)]) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in fields {
        headers.append(name, value).expect("a valid test field");
    }
    headers
}

fn request(fields: &[(&str, &str)]) -> Result<Framing, FramingError> {
    request_body_length(Version::Http11, &headers(fields))
}

fn response(method: Method, status: u16, fields: &[(&str, &str)]) -> Result<Framing, FramingError> {
    response_body_length(&method, status, Version::Http11, &headers(fields))
}

fn plain(body: BodyLength) -> Result<Framing, FramingError> {
    Ok(Framing::plain(body))
}

#[test]
fn a_request_without_framing_fields_has_no_body() {
    assert_eq!(request(&[("Host", "a")]), plain(BodyLength::Empty));
}

#[test]
fn a_request_with_content_length() {
    assert_eq!(
        request(&[("Content-Length", "42")]),
        plain(BodyLength::ContentLength(42))
    );
    assert_eq!(
        request(&[("Content-Length", "0")]),
        plain(BodyLength::ContentLength(0))
    );
    assert_eq!(
        request(&[("Content-Length", "007")]),
        plain(BodyLength::ContentLength(7))
    );
    assert_eq!(
        request(&[("Content-Length", "18446744073709551615")]),
        plain(BodyLength::ContentLength(u64::MAX))
    );
}

#[test]
fn identical_content_lengths_fold_into_one() {
    assert_eq!(
        request(&[("Content-Length", "5, 5")]),
        plain(BodyLength::ContentLength(5))
    );
    assert_eq!(
        request(&[("Content-Length", "5"), ("Content-Length", "5")]),
        plain(BodyLength::ContentLength(5))
    );
}

#[test]
fn differing_content_lengths_are_refused() {
    assert_eq!(
        request(&[("Content-Length", "5"), ("Content-Length", "6")]),
        Err(FramingError::DifferingContentLengths { first: 5, other: 6 })
    );
    assert_eq!(
        request(&[("Content-Length", "5, 6")]),
        Err(FramingError::DifferingContentLengths { first: 5, other: 6 })
    );
    assert_eq!(
        response(Method::Get, 200, &[("Content-Length", "1,2")]),
        Err(FramingError::DifferingContentLengths { first: 1, other: 2 })
    );
}

#[test]
fn malformed_content_lengths_are_refused() {
    for (value, element) in [
        ("-1", "-1"),
        ("+5", "+5"),
        ("5 5", "5 5"),
        ("0x10", "0x10"),
        ("5,", ""),
        ("5,,5", ""),
        ("18446744073709551616", "18446744073709551616"),
        ("1.0", "1.0"),
    ] {
        let error = FramingError::InvalidContentLength {
            element: element.into(),
        };
        assert_eq!(error.status_hint(), 400);
        let expected = Err(error);
        assert_eq!(request(&[("Content-Length", value)]), expected, "{value}");
        assert_eq!(
            response(Method::Get, 200, &[("Content-Length", value)]),
            expected,
            "{value}"
        );
    }
    let empty = request(&[("Content-Length", "")]).unwrap_err();
    assert_eq!(
        empty,
        FramingError::InvalidContentLength { element: vec![] }
    );
    assert_eq!(
        FramingError::InvalidContentLength {
            element: b"5 5".to_vec()
        }
        .to_string(),
        "Content-Length `5\\x205` is not a number of bytes (RFC 9112 §6.3, RFC 9110 §8.6)"
    );
}

#[test]
fn a_chunked_request() {
    assert_eq!(
        request(&[("Transfer-Encoding", "chunked")]),
        plain(BodyLength::Chunked)
    );
    assert_eq!(
        request(&[("Transfer-Encoding", "Chunked")]),
        plain(BodyLength::Chunked)
    );
}

#[test]
fn transfer_encoding_with_content_length_is_refused_on_a_request() {
    for fields in [
        &[("Transfer-Encoding", "chunked"), ("Content-Length", "5")][..],
        &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
        &[
            ("Content-Length", "nonsense"),
            ("Transfer-Encoding", "chunked"),
        ],
    ] {
        let error = request(fields).unwrap_err();
        assert_eq!(error, FramingError::TransferEncodingWithContentLength);
        assert_eq!(error.status_hint(), 400);
    }
}

#[test]
fn chunked_not_last_is_refused_on_a_request() {
    assert_eq!(
        request(&[("Transfer-Encoding", "chunked, gzip")]),
        Err(FramingError::ChunkedNotLast {
            codings: "chunked, gzip".into()
        })
    );
    assert_eq!(
        request(&[("Transfer-Encoding", "gzip")]),
        Err(FramingError::ChunkedNotLast {
            codings: "gzip".into()
        })
    );
    assert_eq!(
        request(&[
            ("Transfer-Encoding", "chunked"),
            ("Transfer-Encoding", "identity")
        ]),
        Err(FramingError::ChunkedNotLast {
            codings: "chunked, identity".into()
        })
    );
}

#[test]
fn chunked_twice_is_refused() {
    let expected = Err(FramingError::ChunkedTwice {
        codings: "chunked, chunked".into(),
    });
    assert_eq!(
        request(&[("Transfer-Encoding", "chunked, chunked")]),
        expected
    );
    assert_eq!(
        request(&[
            ("Transfer-Encoding", "chunked"),
            ("Transfer-Encoding", "chunked")
        ]),
        expected
    );
    assert_eq!(
        response(
            Method::Get,
            200,
            &[("Transfer-Encoding", "chunked, chunked")]
        ),
        expected
    );
}

#[test]
fn other_codings_on_a_request_are_not_implemented() {
    let error = request(&[("Transfer-Encoding", "gzip, chunked")]).unwrap_err();
    assert_eq!(
        error,
        FramingError::UnsupportedCoding {
            coding: "gzip".into()
        }
    );
    assert_eq!(error.status_hint(), 501);
    assert_eq!(
        request(&[("Transfer-Encoding", "x-custom, chunked")]),
        Err(FramingError::UnsupportedCoding {
            coding: "x-custom".into()
        })
    );
}

#[test]
fn malformed_transfer_encodings_are_refused() {
    assert_eq!(
        request(&[("Transfer-Encoding", "")]),
        Err(FramingError::MalformedTransferEncoding { element: vec![] })
    );
    assert_eq!(
        request(&[("Transfer-Encoding", ",")]),
        Err(FramingError::MalformedTransferEncoding { element: vec![] })
    );
    assert!(matches!(
        request(&[("Transfer-Encoding", "chunked;x=1")]),
        Err(FramingError::MalformedTransferEncoding { .. })
    ));
    assert!(matches!(
        request(&[("Transfer-Encoding", "\"chunked\"")]),
        Err(FramingError::MalformedTransferEncoding { .. })
    ));
}

#[test]
fn transfer_encoding_in_http_1_0() {
    let fields = headers(&[("Transfer-Encoding", "chunked")]);
    assert_eq!(
        request_body_length(Version::Http10, &fields),
        Err(FramingError::TransferEncodingInHttp10)
    );
    assert_eq!(
        response_body_length(&Method::Get, 200, Version::Http10, &fields),
        Ok(Framing {
            body: BodyLength::Chunked,
            close_after: Some(SuspectFraming::TransferEncodingInHttp10),
            codings: vec![],
        })
    );
}

#[test]
fn responses_without_a_body_whatever_the_fields_say() {
    let misleading = [("Content-Length", "100"), ("Transfer-Encoding", "chunked")];
    for status in [100, 101, 103, 199, 204, 304] {
        assert_eq!(
            response(Method::Get, status, &misleading),
            plain(BodyLength::Empty),
            "{status}"
        );
    }
    for status in [200, 404, 500] {
        assert_eq!(
            response(Method::Head, status, &misleading),
            plain(BodyLength::Empty),
            "{status}"
        );
    }
    assert_eq!(
        response(Method::Head, 200, &[("Content-Length", "not a number")]),
        plain(BodyLength::Empty)
    );
}

#[test]
fn a_2xx_response_to_connect_is_a_tunnel() {
    for status in [200, 204, 299] {
        assert_eq!(
            response(Method::Connect, status, &[("Content-Length", "5")]),
            if status == 204 {
                plain(BodyLength::Empty)
            } else {
                plain(BodyLength::Tunnel)
            }
        );
    }
    assert_eq!(
        response(Method::Connect, 407, &[("Content-Length", "5")]),
        plain(BodyLength::ContentLength(5))
    );
}

#[test]
fn response_framings() {
    assert_eq!(
        response(Method::Get, 200, &[("Content-Length", "5")]),
        plain(BodyLength::ContentLength(5))
    );
    assert_eq!(
        response(Method::Get, 200, &[("Transfer-Encoding", "chunked")]),
        plain(BodyLength::Chunked)
    );
    assert_eq!(
        response(Method::Get, 200, &[]),
        plain(BodyLength::CloseDelimited)
    );
    assert_eq!(
        response(Method::Post, 500, &[("Server", "x")]),
        plain(BodyLength::CloseDelimited)
    );
}

#[test]
fn response_transfer_encoding_overrides_content_length_and_closes_after() {
    assert_eq!(
        response(
            Method::Get,
            200,
            &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")]
        ),
        Ok(Framing {
            body: BodyLength::Chunked,
            close_after: Some(SuspectFraming::TransferEncodingWithContentLength),
            codings: vec![],
        })
    );
}

#[test]
fn response_codings_before_chunked_are_reported() {
    assert_eq!(
        response(Method::Get, 200, &[("Transfer-Encoding", "gzip, chunked")]),
        Ok(Framing {
            body: BodyLength::Chunked,
            close_after: None,
            codings: vec!["gzip".into()]
        })
    );
    assert_eq!(
        response(Method::Get, 200, &[("Transfer-Encoding", "chunked, gzip")]),
        Ok(Framing {
            body: BodyLength::CloseDelimited,
            close_after: None,
            codings: vec!["chunked".into(), "gzip".into()]
        })
    );
}

#[test]
fn messages_read_well() {
    assert_eq!(
        FramingError::ChunkedNotLast {
            codings: "gzip".into()
        }
        .to_string(),
        "Transfer-Encoding `gzip` does not end in chunked, so the request body's length cannot be \
         determined (RFC 9112 §6.3)"
    );
    assert_eq!(
        BodyLength::ContentLength(3).to_string(),
        "Content-Length: 3"
    );
}

fn collapsed(fields: &[(&str, &str)]) -> Result<Vec<(String, String)>, FramingError> {
    let mut h = headers(fields);
    collapse_for_forwarding(&mut h)?;
    Ok(h.iter()
        .map(|f| {
            (
                f.name().to_string(),
                String::from_utf8_lossy(f.value()).into_owned(),
            )
        })
        .collect())
}

fn owned(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn forwarding_collapses_repeated_equal_lengths_into_one() {
    assert_eq!(
        collapsed(&[("Content-Length", "5, 5"), ("X", "y")]),
        Ok(owned(&[("Content-Length", "5"), ("X", "y")]))
    );
    assert_eq!(
        collapsed(&[("Content-Length", "5"), ("X", "y"), ("content-length", "5")]),
        Ok(owned(&[("Content-Length", "5"), ("X", "y")]))
    );
    // One plain line is left exactly as it was.
    assert_eq!(
        collapsed(&[("content-length", "7")]),
        Ok(owned(&[("content-length", "7")]))
    );
    assert_eq!(collapsed(&[("Host", "a")]), Ok(owned(&[("Host", "a")])));
}

#[test]
fn forwarding_drops_content_length_beside_transfer_encoding() {
    assert_eq!(
        collapsed(&[("Transfer-Encoding", "chunked"), ("Content-Length", "5")]),
        Ok(owned(&[("Transfer-Encoding", "chunked")]))
    );
}

#[test]
fn forwarding_refuses_lengths_that_differ_or_are_not_numbers() {
    assert_eq!(
        collapsed(&[("Content-Length", "5, 6")]),
        Err(FramingError::DifferingContentLengths { first: 5, other: 6 })
    );
    assert_eq!(
        collapsed(&[("Content-Length", "5"), ("Content-Length", "+5")]),
        Err(FramingError::InvalidContentLength {
            element: b"+5".to_vec()
        })
    );
}
