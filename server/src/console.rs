//! Running the server in the foreground: signals (SIGTERM and SIGINT stop gracefully, SIGHUP
//! reloads the config) and, when standard input is a terminal, a small console.
use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc;
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::cli::Cli;
use crate::config::Level;
use crate::server::Server;
use crate::shared::Shared;

const HELP: &str =
    "commands: status (counters), reload (re-read the config file), stop (graceful stop), help";

enum Command {
    Stop,
    Reload,
}

/// Takes over SIGTERM, SIGINT and SIGHUP from their default actions (which end the process).
pub fn catch_signals() -> std::io::Result<Signals> {
    Signals::new([SIGTERM, SIGINT, SIGHUP])
}

/// Serves until SIGTERM, SIGINT or `stop`; reloads on SIGHUP or `reload`. Returns after a
/// graceful stop.
/// `signals` comes from [`catch_signals`], called before the banner is printed: a signal sent
/// as soon as the banner appears is then a graceful stop or a reload, never the default action.
pub fn run_foreground(server: Server, cli: &Cli, mut signals: Signals) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel::<Command>();
    let handle = signals.handle();
    let sig_tx = tx.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                let cmd = if sig == SIGHUP {
                    Command::Reload
                } else {
                    Command::Stop
                };
                if sig_tx.send(cmd).is_err() {
                    return;
                }
            }
        })?;
    if std::io::stdin().is_terminal() {
        let shared = Arc::clone(server.shared());
        let console_tx = tx.clone();
        std::thread::Builder::new()
            .name("console".into())
            .spawn(move || console(&shared, &console_tx))?;
    }
    drop(tx);
    while let Ok(cmd) = rx.recv() {
        match cmd {
            Command::Stop => break,
            Command::Reload => match cli.to_config() {
                Ok(config) => {
                    if let Err(e) = server.reload(config) {
                        server.shared().log(
                            Level::Error,
                            &format!("reload failed, keeping the old settings: {e}"),
                        );
                    }
                }
                Err(e) => server.shared().log(
                    Level::Error,
                    &format!("reload failed, keeping the old settings: {e}"),
                ),
            },
        }
    }
    server
        .shared()
        .log(Level::Info, "stopping: finishing requests in flight");
    handle.close();
    server.shutdown();
    Ok(())
}

fn console(shared: &Shared, tx: &mpsc::Sender<Command>) {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{HELP}");
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        match line.trim() {
            "" => {}
            "status" => {
                let _ = write!(out, "{}", shared.stats.snapshot().render());
            }
            "reload" => {
                let _ = tx.send(Command::Reload);
            }
            "stop" | "quit" | "exit" => {
                let _ = tx.send(Command::Stop);
                return;
            }
            "help" | "?" => {
                let _ = writeln!(out, "{HELP}");
            }
            other => {
                let _ = writeln!(out, "unknown command `{other}`; {HELP}");
            }
        }
    }
}
