use clap::Parser;

/// Protocol labs that check your own programs over the wire
#[derive(Parser, Debug)]
#[command(name = "labs", version, about, long_about = "Step-by-step exercises for an HTTP server, a pinger, a mail client and a proxy.")]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("labs: not built yet; run `labs --help` to see what it will do");
    std::process::exit(2);
}
