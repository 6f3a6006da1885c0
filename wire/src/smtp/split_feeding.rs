//! Test support: feeds one input to a parser whole, byte by byte, at seeded random split points
//! and with trailing bytes, and checks that every way gives the same answer.
//!
//! Two shapes of parser are covered. A *buffer* parser (like [`super::Reply::parse`]) is handed
//! the whole buffer so far each time and answers `Partial` or `Complete((used, value))`. A
//! *stream* decoder (like [`super::DataReader`]) is handed each new piece once and keeps its own
//! state; [`pieces`] gives the ways to cut an input for it.

use crate::Status;
use std::fmt::Debug;

/// A small deterministic generator for split points (xorshift64*), so failures replay exactly.
pub struct SplitRng(u64);

impl SplitRng {
    pub fn new(seed: u64) -> SplitRng {
        SplitRng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

/// The ways to cut `input` into pieces: whole, byte by byte, and 16 seeded random cuttings.
pub fn pieces(input: &[u8]) -> Vec<(String, Vec<&[u8]>)> {
    let mut ways = vec![
        ("whole".to_string(), vec![input]),
        ("byte by byte".to_string(), input.chunks(1).collect()),
    ];
    for seed in 0..16u64 {
        let mut rng = SplitRng::new(seed);
        let mut cut = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let len = 1 + rng.below((input.len() - at).min(40));
            cut.push(&input[at..at + len]);
            at += len;
        }
        ways.push((format!("random split, seed {seed}"), cut));
    }
    ways
}

/// Checks a buffer parser on `input`: whole, every prefix (byte by byte), seeded random prefixes,
/// and with trailing bytes, and returns the one answer they all agree on.
///
/// Every proper prefix must answer `Partial` (or the same error, once the error is visible);
/// the whole input, and the input followed by trailing bytes, must give the same result.
pub fn check_buffer_parser<T, E>(
    input: &[u8],
    trailing: &[u8],
    parse: impl Fn(&[u8]) -> Result<Status<(usize, T)>, E>,
) -> Result<Status<(usize, T)>, E>
where
    T: Debug + PartialEq,
    E: Debug + PartialEq,
{
    let whole = parse(input);
    // Byte by byte: every prefix before the end is "not yet", unless the input is bad, in which
    // case a prefix may already say so (with the same error as the whole).
    for end in 0..input.len() {
        match parse(&input[..end]) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete((used, value))) => {
                // Complete early is only right when the item really ends there.
                assert_eq!(
                    Ok(Status::Complete((used, &value))),
                    whole.as_ref().map(|s| match s {
                        Status::Complete((u, v)) => Status::Complete((*u, v)),
                        Status::Partial => Status::Partial,
                    }),
                    "prefix of {end} bytes completed differently from the whole"
                );
                assert!(used <= end);
            }
            // An error seen early carries the bytes seen so far, so only its kind must match.
            Err(error) => match &whole {
                Err(whole_error) => assert_eq!(
                    std::mem::discriminant(&error),
                    std::mem::discriminant(whole_error),
                    "prefix of {end} bytes failed with {error:?} but the whole with {whole_error:?}"
                ),
                Ok(status) => panic!(
                    "prefix of {end} bytes failed with {error:?} but the whole gave {status:?}"
                ),
            },
        }
    }
    // Seeded random prefixes are a subset of the above; they matter for stream decoders, which
    // `pieces` serves. Trailing bytes must not change a complete answer.
    let mut with_trailing = input.to_vec();
    with_trailing.extend_from_slice(trailing);
    let extended = parse(&with_trailing);
    match (&whole, &extended) {
        (Ok(Status::Complete(_)), _) | (Err(_), _) => {
            assert_eq!(whole, extended, "trailing bytes changed the answer")
        }
        (Ok(Status::Partial), _) => {}
    }
    whole
}
