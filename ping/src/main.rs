//! `ping`: the UDP pinger lab's client (`ping HOST`), server (`ping serve`) and heartbeat
//! client (`ping heartbeat HOST`). See `ping --help`.
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;

fn main() -> ExitCode {
    broken_pipe::end_quietly(); // `ping ... | head` ends quietly
    let cli = match ping::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors; bad arguments are (iputils: 2).
            return ExitCode::from(if e.use_stderr() { ping::EXIT_ERROR } else { 0 });
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&interrupted)) {
            eprintln!("ping: cannot catch Ctrl-C ({e}); it will stop without the summary");
        }
    }
    ExitCode::from(ping::run(&cli, interrupted))
}
