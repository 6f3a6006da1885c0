use clap::Parser;

/// Origin HTTP/1.1 server: static files, a built-in demo site, uploads
#[derive(Parser, Debug)]
#[command(
    name = "server",
    version,
    about,
    long_about = "Serves a folder or a built-in demo site over HTTP/1.1 on 127.0.0.1:8080."
)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("server: not built yet; run `server --help` to see what it will do");
    std::process::exit(2);
}
