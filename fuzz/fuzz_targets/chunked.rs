//! Chunked decoder: never panics, and the answer does not depend on how the input is cut.
//!
//! The first byte chooses the options (bare-LF leniency) and a cut point; the rest is the body.
//! The decoder is run on the whole input and on the input in two reads; both runs must agree on
//! the decoded data, where the body ended, the trailers, and whether (and where) it failed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::http1::chunked::{ChunkedDecoder, ChunkedEvent, ChunkedOptions};
use wire::Status;

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    data: Vec<u8>,
    /// Bytes of input used when the body ended.
    ended_at: Option<u64>,
    /// The error's offset, if the body was refused.
    error_at: Option<u64>,
    trailers: usize,
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, body)) = input.split_first() else {
        return;
    };
    let options = ChunkedOptions {
        bare_lf: control & 1 == 1,
        ..ChunkedOptions::default()
    };
    let cut = if body.is_empty() {
        0
    } else {
        usize::from(control >> 1) % (body.len() + 1)
    };
    let whole = run(options, &[body]);
    let split = run(options, &[&body[..cut], &body[cut..]]);
    assert_eq!(whole, split, "cut at {cut}");
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    if body.len() <= 256 {
        assert_eq!(whole, run(options, &bytes), "byte by byte");
    }
});

fn run(options: ChunkedOptions, reads: &[&[u8]]) -> Outcome {
    let mut decoder = ChunkedDecoder::new(options);
    let mut outcome = Outcome {
        data: Vec::new(),
        ended_at: None,
        error_at: None,
        trailers: 0,
    };
    let mut fed = 0u64;
    for read in reads {
        let mut rest: &[u8] = read;
        while !rest.is_empty() && outcome.ended_at.is_none() {
            match decoder.decode(rest) {
                Ok(Status::Partial) => {
                    fed += rest.len() as u64;
                    rest = &[];
                }
                Ok(Status::Complete((used, ChunkedEvent::Data(range)))) => {
                    assert!(range.end == used && range.start <= range.end);
                    outcome.data.extend_from_slice(&rest[range]);
                    fed += used as u64;
                    rest = &rest[used..];
                }
                Ok(Status::Complete((used, ChunkedEvent::End))) => {
                    assert!(used <= rest.len());
                    fed += used as u64;
                    outcome.ended_at = Some(fed);
                    assert!(decoder.is_done());
                    assert_eq!(decoder.consumed(), fed);
                    outcome.trailers = decoder.trailers().len();
                }
                Err(error) => {
                    assert_eq!(error.status_hint(), 400);
                    let _ = error.to_string();
                    outcome.error_at = Some(error.offset());
                    return outcome;
                }
            }
        }
    }
    outcome
}
