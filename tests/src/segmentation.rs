//! How a recorded stream is cut into reads: whole, byte by byte, and at seeded random points.
//!
//! A `.trace` file does not record read or write boundaries, so a core must give the same answer
//! however its input arrives. The replay harness feeds every recorded stream in each of
//! [`Segmentation::standard`]'s ways and insists on one result.

use std::fmt;

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
                    let take = 1 + rng.below(most as u64) as usize;
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

/// SplitMix64: a tiny, well-mixed, seedable generator; plenty for choosing cut points.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator that always yields the same sequence for `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0). The slight modulo bias does not matter for cut points.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
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
    fn standard_starts_with_whole_and_byte_by_byte() {
        let all = Segmentation::standard(0, 3);
        assert_eq!(all.len(), 5);
        assert_eq!(all[0], Segmentation::Whole);
        assert_eq!(all[1], Segmentation::ByteByByte);
        assert_eq!(Segmentation::ByteByByte.read_lengths(3), [1, 1, 1]);
        assert_eq!(Segmentation::Whole.read_lengths(3), [3]);
    }
}
