//! `client`: a raw HTTP client, a REPL for raw requests, and a load generator.
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = client::cli::Cli::parse();
    let _ = cli;
    client::ExitCode::Ok.into()
}
