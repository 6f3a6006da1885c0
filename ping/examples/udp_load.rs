//! The load generator for `bench/ping`: keeps a window of datagrams in flight to a UDP echo
//! server and counts the echoes that come back per second.
//!
//!     cargo run --release -p ping --example udp_load -- 127.0.0.1:12000 5 64
//!
//! Arguments: the server, the seconds to run, the window (datagrams in flight). Each echo that
//! arrives releases the next datagram; a 50 ms silence refills the window (datagrams the kernel
//! dropped). Prints `echoes=<n> seconds=<s> rate=<n/s> sent=<n>`.

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: udp_load ADDR SECONDS WINDOW");
        std::process::exit(2);
    }
    let seconds: f64 = args[2].parse().expect("SECONDS is a number");
    let window: usize = args[3].parse().expect("WINDOW is a number");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("binds");
    socket.connect(&args[1]).expect("connects");
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("sets a timeout");
    let mut seq: u64 = 0;
    let mut sent: u64 = 0;
    let mut send = |socket: &UdpSocket| {
        seq += 1;
        let message = format!("Ping {seq} 1767268800.000000");
        if socket.send(message.as_bytes()).is_ok() {
            sent += 1;
        }
    };
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    for _ in 0..window {
        send(&socket);
    }
    let mut echoes: u64 = 0;
    while Instant::now() < until {
        match socket.recv(&mut buf) {
            Ok(_) => {
                echoes += 1;
                send(&socket);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                for _ in 0..window {
                    send(&socket);
                }
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "echoes={echoes} seconds={elapsed:.2} rate={:.0} sent={sent}",
        echoes as f64 / elapsed
    );
}
