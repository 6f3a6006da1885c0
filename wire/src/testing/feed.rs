//! Feeding a buffer parser its input every way bytes can arrive.
//!
//! Every parser in `wire` that has the shape `parse(buf) -> Result<Status<(usize, T)>, E>`
//! (re-reading a growing buffer from its start) must give the same answer however the bytes
//! arrive. [`feed_every_way`] checks that and returns the answer for the whole input, so a test
//! is one call plus its assertions:
//!
//! ```
//! use wire::http1::{ParseOptions, RequestHead};
//! use wire::testing::feed_every_way;
//! use wire::Status;
//!
//! let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
//! let answer = feed_every_way(input, |buf| RequestHead::parse(buf, &ParseOptions::STRICT));
//! assert!(matches!(answer, Ok(Status::Complete((n, _))) if n == input.len()));
//! ```
//!
//! A parser that returns a view borrowing the buffer (`RawRequest<'b>`) is compared across
//! different buffers, so map the view to an owned value inside the closure (the owned head, or
//! just the parts under test). A parser whose error carries what it has seen so far (SMTP's)
//! uses [`feed_every_way_with`], saying which errors count as the same.

use std::fmt::Debug;

use super::SplitMix64;
use crate::Status;

/// Seeds for the random split points; fixed so that failures reproduce.
pub const SEEDS: [u64; 4] = [1, 0x5eed, 0xdead_beef, 0x0123_4567_89ab_cdef];

/// Bytes appended to check that a complete item ignores what follows it.
pub const TRAILERS: [&[u8]; 3] = [b"GET / HTTP/1.1\r\n\r\n", b"\x00\xff garbage\n", b"\r\n"];

/// Feeds `input` to `parse` whole, then every prefix (byte by byte), then the prefixes ending at
/// seeded random split points, then with trailing bytes, and checks that:
///
/// - a prefix shorter than the item is `Partial`, or the error the whole input gives;
/// - a prefix that holds the whole item gives the same `Complete((n, value))`;
/// - trailing bytes after a complete item (or after an error) change nothing.
///
/// Returns the answer for the whole input. Inputs over 4 KiB are checked at every prefix in their
/// first and last 512 bytes and at 256 random ones, to keep the cost linear-ish.
pub fn feed_every_way<T, E, P>(input: &[u8], parse: P) -> Result<Status<(usize, T)>, E>
where
    T: PartialEq + Debug,
    E: PartialEq + Debug,
    P: Fn(&[u8]) -> Result<Status<(usize, T)>, E>,
{
    feed_every_way_with(input, &TRAILERS, E::eq, parse)
}

/// [`feed_every_way`] with the trailing bytes to try, and what makes an error on a prefix the
/// same as the whole input's (`same_error(prefix's, whole's)`: for a parser whose error carries
/// the bytes seen so far, the same kind). Trailing bytes must still leave the answer exactly as
/// it was.
pub fn feed_every_way_with<T, E, P>(
    input: &[u8],
    trailers: &[&[u8]],
    same_error: impl Fn(&E, &E) -> bool,
    parse: P,
) -> Result<Status<(usize, T)>, E>
where
    T: PartialEq + Debug,
    E: PartialEq + Debug,
    P: Fn(&[u8]) -> Result<Status<(usize, T)>, E>,
{
    let whole = parse(input);
    let check_prefix = |len: usize, how: &str| {
        let got = parse(&input[..len]);
        let consistent = match (&got, &whole) {
            (Ok(Status::Partial), _) => match &whole {
                Ok(Status::Complete((n, _))) => len < *n,
                _ => true,
            },
            (Ok(Status::Complete((n, v))), Ok(Status::Complete((wn, wv)))) => {
                n == wn && v == wv && len >= *n
            }
            (Err(e), Err(we)) => same_error(e, we),
            _ => false,
        };
        assert!(
            consistent,
            "{how}: the first {len} of {} bytes gave {got:?}, but the whole input gives {whole:?}\ninput: {:?}",
            input.len(),
            String::from_utf8_lossy(input),
        );
    };

    // Byte by byte: every prefix (or a sample of them for large inputs).
    let mut lengths: Vec<usize> = if input.len() <= 4096 {
        (0..input.len()).collect()
    } else {
        let mut rng = SplitMix64::new(input.len() as u64);
        let mut sample: Vec<usize> = (0..512).chain(input.len() - 512..input.len()).collect();
        sample.extend((0..256).map(|_| rng.index_below(input.len())));
        sample
    };
    lengths.sort_unstable();
    lengths.dedup();
    for len in lengths {
        check_prefix(len, "byte by byte");
    }

    // Seeded random split points: the prefixes a reader would see after each read.
    for seed in SEEDS {
        let mut rng = SplitMix64::new(seed);
        let mut len = 0;
        while len < input.len() {
            len += 1 + rng.index_below(input.len().min(64));
            check_prefix(
                len.min(input.len()),
                &format!("random splits (seed {seed:#x})"),
            );
        }
    }

    // Trailing bytes.
    if !matches!(whole, Ok(Status::Partial)) {
        for trailer in trailers {
            let mut longer = input.to_vec();
            longer.extend_from_slice(trailer);
            let got = parse(&longer);
            assert!(
                got == whole,
                "trailing {:?}: gave {got:?}, but the input alone gives {whole:?}",
                String::from_utf8_lossy(trailer)
            );
        }
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy parser: a line ending in `\n`; `!` is an error.
    fn line(buf: &[u8]) -> Result<Status<(usize, Vec<u8>)>, usize> {
        for (i, &b) in buf.iter().enumerate() {
            match b {
                b'!' => return Err(i),
                b'\n' => return Ok(Status::Complete((i + 1, buf[..i].to_vec()))),
                _ => {}
            }
        }
        Ok(Status::Partial)
    }

    #[test]
    fn consistent_parsers_pass() {
        assert_eq!(
            feed_every_way(b"abc\n", line),
            Ok(Status::Complete((4, b"abc".to_vec())))
        );
        assert_eq!(feed_every_way(b"ab!c\n", line), Err(2));
        assert_eq!(feed_every_way(b"abc", line), Ok(Status::Partial));
    }

    #[test]
    #[should_panic(expected = "byte by byte")]
    fn a_parser_that_errors_on_a_valid_prefix_is_caught() {
        let eager = |buf: &[u8]| if buf.len() == 2 { Err(0) } else { line(buf) };
        let _ = feed_every_way(b"abc\n", eager);
    }

    #[test]
    #[should_panic(expected = "trailing")]
    fn a_parser_that_reads_past_the_item_is_caught() {
        let greedy = |buf: &[u8]| line(buf).map(|s| s.map(|(_, v)| (buf.len(), v)));
        let _ = feed_every_way(b"abc\n", greedy);
    }
}
