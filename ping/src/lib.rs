//! The `ping` program: the UDP pinger lab's client and server, with heartbeat and ICMP echo.
//!
//! This crate is the I/O shell. The protocol (messages, sequencing, timeouts, statistics, the
//! loss model, heartbeat tracking, ICMP echo) lives in [`wire::ping`], which never touches a
//! socket or a clock; here we own the sockets, read the clocks, catch Ctrl-C and print.
//!
//! | module | command |
//! | --- | --- |
//! | [`client`] | `ping HOST`: iputils-style output over UDP, or `--icmp` |
//! | [`serve`] | `ping serve`: the lab's echo server, startable on port 0 for tests |
//! | [`heartbeat`] | `ping heartbeat HOST`: the lab's heartbeat client |
//! | `histogram` | `ping --histogram`: the round-trip times drawn after the statistics |
//! | `icmp_socket` | Linux's unprivileged ICMP echo socket |
//! | `readiness` | waiting for a datagram with a microsecond timeout (`ppoll`) |
//! | [`cli`] | the command line |

pub mod cli;
pub mod client;
pub mod heartbeat;
mod histogram;
mod icmp_socket;
mod readiness;
pub mod serve;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use cli::{Cli, Command, HeartbeatArgs, PingArgs, ServeArgs};
pub use cmdline::Paint;
use wire::ping::fate::{FateModel, LossModel};
use wire::ping::pinger::{Config, Transport};

/// Exit status for an error (iputils: 2).
pub const EXIT_ERROR: u8 = 2;

/// The client options a parsed command line asks for.
pub fn client_options(args: &PingArgs, paint: Paint) -> client::ClientOptions {
    // iputils: with -w and no -c, ping until the deadline; otherwise the lab's 10.
    let count = match (args.count, args.deadline) {
        (Some(c), _) => Some(c),
        (None, Some(_)) => None,
        (None, None) => Some(10),
    };
    client::ClientOptions {
        host: args.host.clone().unwrap_or_default(),
        port: args.port,
        config: Config {
            count,
            interval: args.interval,
            timeout: args.timeout,
            deadline: args.deadline,
            size: usize::from(args.size),
            transport: if args.icmp {
                Transport::IcmpEcho
            } else {
                Transport::Udp
            },
        },
        quiet: args.quiet,
        verbose: args.verbose,
        json: args.json,
        histogram: args.histogram,
        paint: if args.json { Paint::PLAIN } else { paint },
    }
}

/// The server options a parsed command line asks for; without `--seed`, one from the clock.
pub fn serve_options(args: &ServeArgs, paint: Paint) -> serve::ServeOptions {
    let seed = args.seed.unwrap_or_else(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
    });
    serve::ServeOptions {
        bind: args.bind,
        port: args.port,
        fate: FateModel {
            loss: if args.kr {
                LossModel::LabDice
            } else {
                LossModel::Probability(args.loss)
            },
            delay: args.delay,
            jitter: args.jitter,
            duplicate: args.duplicate,
        },
        seed,
        heartbeat_dead_after: args.heartbeat.then_some(args.dead_after),
        quiet: args.quiet,
        paint,
    }
}

/// The heartbeat client options a parsed command line asks for.
pub fn heartbeat_options(args: &HeartbeatArgs, paint: Paint) -> heartbeat::HeartbeatOptions {
    heartbeat::HeartbeatOptions {
        host: args.host.clone(),
        port: args.port,
        count: args.count,
        interval: args.interval,
        size: usize::from(args.size),
        quiet: args.quiet,
        paint,
    }
}

/// Runs a parsed command line to its exit status, with `interrupted` as the Ctrl-C flag.
pub fn run(cli: &Cli, interrupted: Arc<AtomicBool>) -> u8 {
    cli.color.apply();
    let stdout = std::io::stdout();
    let paint = Paint::stdout();
    let errors = Paint::stderr();
    let fail = |message: &dyn std::fmt::Display| {
        eprintln!("{} {message}", errors.error("ping:"));
        EXIT_ERROR
    };
    match &cli.command {
        None => {
            let options = client_options(&cli.ping, paint);
            match client::run(&options, &mut stdout.lock(), &interrupted) {
                Ok(client::Outcome::Replied) => 0,
                Ok(client::Outcome::NoReply) => 1,
                Err(e) => fail(&e),
            }
        }
        Some(Command::Serve(args)) => {
            let mut server = match serve::Server::bind(serve_options(args, paint)) {
                Ok(server) => server,
                Err(e) => return fail(&e),
            };
            server.stop_on(interrupted);
            match server.run(&mut stdout.lock()) {
                Ok(_) => 0,
                Err(e) => fail(&e),
            }
        }
        Some(Command::Heartbeat(args)) => match heartbeat::run(
            &heartbeat_options(args, paint),
            &mut stdout.lock(),
            &interrupted,
        ) {
            Ok(_) => 0,
            Err(e) => fail(&e),
        },
    }
}
