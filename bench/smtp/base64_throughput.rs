//! base64 throughput on a 25 MiB attachment, ours against the `base64` crate.
//!
//! Run with `cargo run --release -p smtp --example base64_throughput` (bench/smtp/run.sh does).
//! Prints the best of several rounds for each encoder, in GB/s of input (10^9 bytes per second).
use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;

const SIZE: usize = 25 * 1024 * 1024;
const ROUNDS: usize = 40;

fn best_of(rounds: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut len = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        len = black_box(f());
        best = best.min(start.elapsed());
    }
    (best, len)
}

fn report(name: &str, (time, out_len): (Duration, usize)) {
    let gbps = SIZE as f64 / time.as_secs_f64() / 1e9;
    println!(
        "{name:<34} {:>8.2} ms  {gbps:>6.2} GB/s  ({out_len} bytes out)",
        time.as_secs_f64() * 1e3
    );
}

fn main() {
    // Deterministic bytes that look like a compressed file: a xorshift stream.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..SIZE)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    println!("base64 of {} MiB, best of {ROUNDS} rounds", SIZE >> 20);

    let mut out = Vec::with_capacity(SIZE / 3 * 4 + SIZE / 57 * 2 + 100);
    report(
        "wire::base64::encode_to (one line)",
        best_of(ROUNDS, || {
            out.clear();
            wire::base64::encode_to(black_box(&data), &mut out);
            out.len()
        }),
    );
    report(
        "wire::base64::encode_wrapped (MIME)",
        best_of(ROUNDS, || {
            out.clear();
            wire::base64::encode_wrapped(black_box(&data), &mut out);
            out.len()
        }),
    );
    let mut text = String::with_capacity(SIZE / 3 * 4 + 4);
    report(
        "base64 crate STANDARD (one line)",
        best_of(ROUNDS, || {
            text.clear();
            base64::engine::general_purpose::STANDARD.encode_string(black_box(&data), &mut text);
            text.len()
        }),
    );
    let mut wrapped = Vec::new();
    wire::base64::encode_wrapped(&data, &mut wrapped);
    report(
        "wire::base64::decode_mime",
        best_of(5, || {
            wire::base64::decode_mime(black_box(&wrapped))
                .map(|d| d.len())
                .unwrap_or(0)
        }),
    );
    assert_eq!(
        wire::base64::decode_mime(&wrapped).unwrap(),
        data,
        "round trip"
    );
}
