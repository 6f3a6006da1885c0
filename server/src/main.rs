//! `server`: flags, start, serve until a signal, exit code.
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use server::cli::Cli;
use server::Server;

fn main() -> ExitCode {
    broken_pipe::end_quietly(); // `server --help | head` ends quietly
    let cli = Cli::parse();
    cli.color.apply();
    let (out, err) = (cmdline::Paint::stdout(), cmdline::Paint::stderr());
    let config = match cli.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("server: {} {e}", err.error("bad config file:"));
            return ExitCode::from(2);
        }
    };
    if let Err(message) = config.validate() {
        eprintln!("server: {}", err.error(&message));
        return ExitCode::from(2);
    }
    let signals = match server::console::catch_signals() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("server: cannot catch signals: {e}");
            return ExitCode::from(1);
        }
    };
    let demo = config.root.is_none();
    let server = match Server::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("server: {}", err.error(&e.to_string()));
            return ExitCode::from(1);
        }
    };
    let addr = server.local_addr();
    let what = if demo {
        "the built-in demo site"
    } else {
        "your folder"
    };
    // It serves now: a closed stdout (`server | head`) must not stop it, so errors are ignored.
    broken_pipe::keep_serving();
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "server: {what} is at {} ({} model; Ctrl-C stops)",
        out.bold(&format!("http://{addr}/")),
        server.model()
    );
    let _ = writeln!(
        stdout,
        "try:  client GET {} {} /",
        if addr.ip().is_loopback() {
            "localhost".to_string()
        } else {
            addr.ip().to_string()
        },
        addr.port()
    );
    let _ = writeln!(
        stdout,
        "      curl -v http://{}:{}/",
        if addr.ip().is_loopback() {
            "localhost".to_string()
        } else {
            addr.ip().to_string()
        },
        addr.port()
    );
    match server::console::run_foreground(server, &cli, signals) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            ExitCode::from(1)
        }
    }
}
