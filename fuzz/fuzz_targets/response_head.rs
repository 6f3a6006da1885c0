//! Response head parser: never panics, and a head that parses is consistent with its own bytes.
//!
//! Oracles, for strict and for lenient options:
//! - `Complete((n, _))` has `n <= len`, and the first `n` bytes alone parse to the same head;
//! - every prefix shorter than `n` is `Partial`;
//! - a strictly parsed head, written back with `to_bytes`, parses strictly to the same head.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::http1::options::ParseOptions;
use wire::http1::response::ResponseHead;
use wire::Status;

fuzz_target!(|data: &[u8]| {
    for options in [ParseOptions::STRICT, ParseOptions::LENIENT] {
        check(data, &options);
    }
});

fn check(data: &[u8], options: &ParseOptions) {
    let Ok(Status::Complete((used, head))) = ResponseHead::parse(data, options) else {
        return;
    };
    assert!(used <= data.len());
    match ResponseHead::parse(&data[..used], options) {
        Ok(Status::Complete((again, same))) => {
            assert_eq!(again, used);
            assert_eq!(same, head);
        }
        other => panic!("the head's own {used} bytes parse as {other:?}"),
    }
    for prefix in [used - 1, used / 2] {
        if prefix < used {
            let answer = ResponseHead::parse(&data[..prefix], options);
            assert!(
                matches!(answer, Ok(Status::Partial)),
                "prefix of {prefix} bytes of a {used}-byte head: {answer:?}"
            );
        }
    }
    if options.leniencies == ParseOptions::STRICT.leniencies {
        let written = head.to_bytes();
        match ResponseHead::parse(&written, &ParseOptions::STRICT) {
            Ok(Status::Complete((n, reparsed))) => {
                assert_eq!(n, written.len());
                assert_eq!(
                    reparsed,
                    head,
                    "written as {:?}",
                    String::from_utf8_lossy(&written)
                );
            }
            other => panic!(
                "head written as {:?} parses as {other:?}",
                String::from_utf8_lossy(&written)
            ),
        }
    }
}
