use clap::Parser;

/// UDP pinger and its echo server
#[derive(Parser, Debug)]
#[command(name = "ping", version, about, long_about = "Sends 'Ping <seq> <time>' datagrams to UDP port 12000 and reports round-trip times.")]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("ping: not built yet; run `ping --help` to see what it will do");
    std::process::exit(2);
}
