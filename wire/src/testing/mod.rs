//! Test support, for wire's own tests and other crates' (the `testing` feature, off by default;
//! a crate's dev-dependency on wire turns it on): one seedable generator and one way of feeding
//! an input every way bytes can arrive.
//!
//! | item | for |
//! | --- | --- |
//! | [`SplitMix64`] | every seeded random choice a test makes (the pinger's simulation uses it too) |
//! | [`feed_every_way`], [`feed_every_way_with`] | parsers that re-read a growing buffer: `parse(buf) -> Result<Status<(usize, T)>, E>` |
//! | [`Segmentation`], [`assert_same_every_way`] | consumers that take each piece once (decoders, connections, whole programs): whole, byte by byte, seeded random reads |
//!
//! A parser test feeds its input whole, byte by byte, at random split points and with trailing
//! bytes, and every way must give the same answer; these are the one implementation of that
//! rule. Each panics with a description of the first inconsistency it finds, which is what a
//! test wants.

mod feed;
mod segmentation;

pub use crate::split_mix::SplitMix64;
pub use feed::{feed_every_way, feed_every_way_with, SEEDS, TRAILERS};
pub use segmentation::{assert_same_every_way, Segmentation, RANDOM_CUTTINGS, TRAILING};
