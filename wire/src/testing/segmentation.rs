//! How a stream is cut into reads: whole, byte by byte, and at seeded random points.
//!
//! A consumer that takes each piece once and keeps its own state (the chunked decoder, the
//! message reader, `Conn`, a whole program behind a socket) must give the same answer however
//! its input arrives; a `.trace` file does not record read or write boundaries either. Tests feed
//! each input in every one of [`Segmentation::standard`]'s ways and insist on one result;
//! [`assert_same_every_way`] is that loop for a consumer that can be run on a list of pieces.

use std::fmt::{self, Debug};

use super::SplitMix64;

/// Bytes a test appends after a complete message to check that a consumer stops exactly at its
/// end (the start of the next request on the connection).
pub const TRAILING: &[u8] = b"GET /next HTTP/1.1\r\n";

/// How many seeded random cuttings [`assert_same_every_way`] tries besides whole and byte by
/// byte.
pub const RANDOM_CUTTINGS: usize = 24;

/// The seed [`assert_same_every_way`] derives its random cuttings from.
const SEED: u64 = 0x5eed;

/// One way of cutting a byte stream into the chunks a core is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segmentation {
    /// Everything in one read.
    Whole,
    /// One byte per read: every boundary a parser can stop at is visited.
    ByteByByte,
    /// Reads of random lengths drawn from a seeded generator (mostly short, sometimes long).
    Random {
        /// The seed; the same seed cuts the same stream the same way on every machine.
        seed: u64,
    },
}

impl Segmentation {
    /// Whole, byte by byte, and `random` seeded random cuttings derived from `seed`.
    pub fn standard(seed: u64, random: usize) -> Vec<Segmentation> {
        let mut all = vec![Segmentation::Whole, Segmentation::ByteByByte];
        let mut seeds = SplitMix64::new(seed);
        all.extend((0..random).map(|_| Segmentation::Random {
            seed: seeds.next_u64(),
        }));
        all
    }

    /// The lengths of the reads for a stream of `len` bytes (they add up to `len`; none is 0).
    pub fn read_lengths(&self, len: usize) -> Vec<usize> {
        match *self {
            Segmentation::Whole if len == 0 => Vec::new(),
            Segmentation::Whole => vec![len],
            Segmentation::ByteByByte => vec![1; len],
            Segmentation::Random { seed } => {
                let mut rng = SplitMix64::new(seed);
                let mut lengths = Vec::new();
                let mut left = len;
                while left > 0 {
                    // Three in four reads are 1..=8 bytes (cuts inside tokens and line ends);
                    // the rest are anything up to what is left.
                    let most = if rng.below(4) == 0 { left } else { left.min(8) };
                    let take = 1 + rng.index_below(most);
                    lengths.push(take);
                    left -= take;
                }
                lengths
            }
        }
    }

    /// `bytes` cut into reads.
    pub fn split<'b>(&self, bytes: &'b [u8]) -> Vec<&'b [u8]> {
        let mut rest = bytes;
        self.read_lengths(bytes.len())
            .into_iter()
            .map(|n| {
                let (read, after) = rest.split_at(n);
                rest = after;
                read
            })
            .collect()
    }
}

impl fmt::Display for Segmentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segmentation::Whole => f.write_str("whole"),
            Segmentation::ByteByByte => f.write_str("byte by byte"),
            Segmentation::Random { seed } => write!(f, "random cuts (seed {seed})"),
        }
    }
}

/// Runs `run` on the pieces of `input` in every one of [`Segmentation::standard`]'s ways
/// ([`RANDOM_CUTTINGS`] random ones) and checks each gives what the whole input gives; returns
/// that result.
pub fn assert_same_every_way<T: PartialEq + Debug>(
    input: &[u8],
    mut run: impl FnMut(&[&[u8]]) -> T,
) -> T {
    let mut ways = Segmentation::standard(SEED, RANDOM_CUTTINGS).into_iter();
    let whole = ways.next().expect("the whole cutting comes first");
    let expected = run(&whole.split(input));
    for way in ways {
        let got = run(&way.split(input));
        assert!(
            got == expected,
            "fed {way}: differs from feeding the input whole\n got: {got:?}\nwhole: {expected:?}"
        );
    }
    expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cutting_covers_the_stream_exactly() {
        let bytes: Vec<u8> = (0..=255).collect();
        for segmentation in Segmentation::standard(7, 16) {
            let reads = segmentation.split(&bytes);
            assert!(reads.iter().all(|r| !r.is_empty()), "{segmentation}");
            assert_eq!(reads.concat(), bytes, "{segmentation}");
            assert!(segmentation.split(&[]).is_empty());
        }
    }

    #[test]
    fn the_same_seed_cuts_the_same_way_and_different_seeds_differ() {
        let a = Segmentation::Random { seed: 1 }.read_lengths(500);
        assert_eq!(a, Segmentation::Random { seed: 1 }.read_lengths(500));
        assert_ne!(a, Segmentation::Random { seed: 2 }.read_lengths(500));
        assert!(a.len() > 1 && a.iter().any(|&n| n <= 8), "{a:?}");
    }

    #[test]
    fn a_run_that_depends_on_the_cutting_is_caught() {
        assert_eq!(
            assert_same_every_way(b"abcdef", |pieces| pieces.concat()),
            b"abcdef"
        );
        let result = std::panic::catch_unwind(|| {
            assert_same_every_way(b"abcdef", |pieces| pieces.len());
        });
        assert!(result.is_err());
    }

    #[test]
    fn standard_starts_with_whole_and_byte_by_byte() {
        let all = Segmentation::standard(0, 3);
        assert_eq!(all.len(), 5);
        assert_eq!(all[0], Segmentation::Whole);
        assert_eq!(all[1], Segmentation::ByteByByte);
        assert_eq!(Segmentation::ByteByByte.read_lengths(3), [1, 1, 1]);
        assert_eq!(Segmentation::Whole.read_lengths(3), [3]);
    }
}
