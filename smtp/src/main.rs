use clap::Parser;

/// SMTP client and local sink server
#[derive(Parser, Debug)]
#[command(
    name = "smtp",
    version,
    about,
    long_about = "Sends mail over SMTP (STARTTLS, AUTH, MIME) or runs a local sink on 127.0.0.1:2525."
)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("smtp: not built yet; run `smtp --help` to see what it will do");
    std::process::exit(2);
}
