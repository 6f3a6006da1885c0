//! Test support: the same input fed whole, byte by byte, and cut at seeded random points.
//!
//! Every incremental decoder in this module (and the connection tests) runs each case through
//! [`assert_same_every_way`], so a decoder that only works when a line arrives in one piece fails
//! its tests. Tests add trailing bytes themselves (see [`TRAILING`]) and check they are left alone.
//!
//! [`crate::http1::testing::feed_every_way`] does the same for parsers that re-read a growing
//! buffer; this one is for consumers that take each byte once (the chunked decoder, `Conn`).

use std::fmt::Debug;

use crate::http1::testing::SplitMix64;

/// Bytes appended after a complete message to check that a decoder stops exactly at its end.
pub(crate) const TRAILING: &[u8] = b"GET /next HTTP/1.1\r\n";

/// How many seeded random cuttings each input gets.
const RANDOM_CUTTINGS: u64 = 24;

/// One way of cutting an input: a label for failure messages and the cut positions.
#[derive(Debug, Clone)]
pub(crate) struct Cutting {
    pub(crate) label: String,
    pub(crate) cuts: Vec<usize>,
}

impl Cutting {
    /// The pieces of `input` this cutting makes (never empty pieces, except for empty input).
    pub(crate) fn pieces<'a>(&self, input: &'a [u8]) -> Vec<&'a [u8]> {
        let mut pieces = Vec::with_capacity(self.cuts.len() + 1);
        let mut start = 0;
        for &cut in &self.cuts {
            pieces.push(&input[start..cut]);
            start = cut;
        }
        pieces.push(&input[start..]);
        pieces
    }
}

/// Whole, byte by byte, and [`RANDOM_CUTTINGS`] seeded random cuttings of an input of `len` bytes.
pub(crate) fn cuttings(len: usize) -> Vec<Cutting> {
    let mut all = vec![
        Cutting {
            label: "whole".into(),
            cuts: vec![],
        },
        Cutting {
            label: "byte by byte".into(),
            cuts: (1..len).collect(),
        },
    ];
    if len > 1 {
        for seed in 0..RANDOM_CUTTINGS {
            let mut rng = SplitMix64(seed);
            let count = 1 + rng.below(8.min(len - 1));
            let mut cuts: Vec<usize> = (0..count).map(|_| 1 + rng.below(len - 1)).collect();
            cuts.sort_unstable();
            cuts.dedup();
            all.push(Cutting {
                label: format!("random cuts, seed {seed}: {cuts:?}"),
                cuts,
            });
        }
    }
    all
}

/// Runs `run` on every cutting of `input` and checks each gives what the whole input gives;
/// returns that result.
pub(crate) fn assert_same_every_way<T: PartialEq + Debug>(
    input: &[u8],
    mut run: impl FnMut(&[&[u8]]) -> T,
) -> T {
    let mut all = cuttings(input.len()).into_iter();
    let whole = all.next().expect("the whole cutting comes first");
    let expected = run(&whole.pieces(input));
    for cutting in all {
        let got = run(&cutting.pieces(input));
        pretty_assertions::assert_eq!(
            got,
            expected,
            "fed {}: differs from feeding the input whole",
            cutting.label
        );
    }
    expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuttings_cover_the_input_exactly() {
        let input = b"0123456789abcdef";
        for cutting in cuttings(input.len()) {
            let pieces = cutting.pieces(input);
            assert_eq!(pieces.concat(), input.to_vec(), "{}", cutting.label);
            assert!(pieces.iter().all(|p| !p.is_empty()), "{}", cutting.label);
        }
        assert_eq!(cuttings(input.len())[1].pieces(input).len(), input.len());
    }

    #[test]
    fn a_run_that_depends_on_cutting_is_caught() {
        let result = std::panic::catch_unwind(|| {
            assert_same_every_way(b"abcdef", |pieces| pieces.len());
        });
        assert!(result.is_err());
    }
}
