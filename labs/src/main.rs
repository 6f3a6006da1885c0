use clap::Parser;

fn main() {
    let cli = labs::cli::Cli::parse();
    std::process::exit(labs::cli::run(cli));
}
