//! `smtp`: send mail (`smtp send`), run a local sink (`smtp serve`), read what it stored
//! (`smtp show`). See `smtp --help`.
use clap::Parser;

fn main() {
    broken_pipe::end_quietly(); // `smtp ... | head` ends quietly
    let cli = match smtp::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; bad arguments exit 1, as swaks does
            // (2 means "cannot connect" here).
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(smtp::run(cli));
}
