use clap::Parser;

/// Caching forward HTTP proxy
#[derive(Parser, Debug)]
#[command(
    name = "proxy",
    version,
    about,
    long_about = "A forward proxy on 127.0.0.1:8888 that caches by the rules of RFC 9111."
)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("proxy: not built yet; run `proxy --help` to see what it will do");
    std::process::exit(2);
}
