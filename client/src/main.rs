use clap::Parser;

/// Raw HTTP client that shows every byte
#[derive(Parser, Debug)]
#[command(name = "client", version, about, long_about = "Sends HTTP requests and shows exactly what went over the wire.")]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("client: not built yet; run `client --help` to see what it will do");
    std::process::exit(2);
}
