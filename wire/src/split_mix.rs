//! SplitMix64 (Steele, Lea and Flood, 2014), the one seedable generator of the workspace: a
//! 64-bit state advanced by a constant and mixed. Small, fast, and good enough to simulate a
//! network (the pinger's loss and delay, [`crate::ping::fate`]) or to choose where tests cut an
//! input ([`crate::testing`]); not for secrets.
//!
//! It draws nothing from the system: a seed fixes its whole future, on every machine.

/// A SplitMix64 generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose whole future is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `0..n` without modulo bias (rejects the few draws that would favour low
    /// numbers: for `n` below 2^32, fewer than one in four billion). `n` must not be zero.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no answer");
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// [`SplitMix64::below`] for lengths and indexes: a number in `0..n`, `n` not zero.
    pub fn index_below(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn splitmix_matches_its_published_sequence() {
        // The first outputs for seed 1234567, as the reference C implementation prints them.
        let mut rng = SplitMix64::new(1_234_567);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            vec![
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn draws_stay_in_range_and_cover_it() {
        let mut rng = SplitMix64::new(5);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let n = rng.index_below(7);
            seen[n] = true;
            let f = rng.next_f64();
            assert!((0.0..1.0).contains(&f), "{f}");
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
        assert_eq!(rng.below(1), 0);
    }
}
