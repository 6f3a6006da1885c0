//! The reference for `bench/ping`: the smallest possible UDP round-trip measurement.
//!
//! One connected socket; for each probe read the monotonic clock, send, block in `recv`, read
//! the clock again. No parsing, no state machine, no printing until the end. What `ping`
//! reports should be within tens of microseconds of this on the same path.
//!
//!     cargo run --release -p ping --example rtt_reference -- 127.0.0.1:12000 2000 0.001
//!
//! Prints `n=<count> mean_us=<mean> median_us=<median> min_us=<min>`.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: rtt_reference ADDR COUNT INTERVAL_SECONDS");
        std::process::exit(2);
    }
    let count: usize = args[2].parse().expect("COUNT is a number");
    let interval = Duration::from_secs_f64(args[3].parse().expect("INTERVAL is seconds"));
    let socket = UdpSocket::bind("127.0.0.1:0").expect("binds");
    socket.connect(&args[1]).expect("connects");
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("sets a timeout");
    let mut buf = [0u8; 2048];
    let mut rtts = Vec::with_capacity(count);
    let start = Instant::now();
    for seq in 1..=count {
        let message = format!("Ping {seq} 1767268800.000000");
        let due = start + interval * (seq as u32 - 1);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let sent = Instant::now();
        socket.send(message.as_bytes()).expect("sends");
        if socket.recv(&mut buf).is_ok() {
            rtts.push(sent.elapsed().as_nanos() as f64 / 1000.0);
        }
    }
    rtts.sort_by(f64::total_cmp);
    let n = rtts.len();
    if n == 0 {
        eprintln!("no replies");
        std::process::exit(1);
    }
    let mean = rtts.iter().sum::<f64>() / n as f64;
    println!(
        "n={n} mean_us={mean:.1} median_us={:.1} min_us={:.1}",
        rtts[n / 2],
        rtts[0]
    );
}
