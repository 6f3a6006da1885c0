//! The command line: `ping HOST`, `ping serve`, `ping heartbeat HOST`, with iputils' flags.

use std::net::IpAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  ping serve                      start the lab's server on 127.0.0.1:12000 (30% loss)
  ping localhost                  10 pings, one a second, then the statistics
  ping -c 3 -i 0.2 localhost      3 pings, 200 ms apart
  ping -s 64 -W 0.5 localhost     64-byte datagrams, give up on each after 0.5 s
  ping -w 5 localhost             keep pinging for 5 seconds
  ping --json -c 5 localhost      the results as one JSON document
  ping --icmp 127.0.0.1           a real ICMP echo, to compare with UDP on the same path
  ping serve --kr --seed 7        the lab's own dice (drop when randint(0, 10) < 4), reproducibly
  ping serve --delay 20 --jitter 10 --duplicate 0.1
  ping serve --heartbeat          report heartbeats: one-way delay, lost ones, stopped clients
  ping heartbeat localhost        send 'Heartbeat <seq> <time>' every second until Ctrl-C

Exit status: 0 when a reply came, 1 when none did, 2 on an error.";

/// UDP pinger and the lab's echo server.
///
/// Sends `Ping <seq> <time>` datagrams to UDP port 12000 and reports each round-trip time and
/// loss like iputils ping. The server (`ping serve`) drops some datagrams on purpose and echoes
/// the rest upper-cased.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "ping",
    version,
    about,
    long_about = None,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// `serve` or `heartbeat`; without one, ping HOST.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Pinging a host.
    #[command(flatten)]
    pub ping: PingArgs,
}

/// The subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the lab's echo server: drop some datagrams, echo the rest upper-cased.
    #[command(after_help = EXAMPLES)]
    Serve(ServeArgs),
    /// Send `Heartbeat <seq> <time>` every interval without waiting for replies.
    #[command(after_help = EXAMPLES)]
    Heartbeat(HeartbeatArgs),
}

/// `ping HOST`.
#[derive(Args, Debug, Clone)]
pub struct PingArgs {
    /// Host name or address of a `ping serve` (or any UDP echo server).
    #[arg(required = true)]
    pub host: Option<String>,
    /// UDP port the server listens on.
    #[arg(short, long, default_value_t = 12000)]
    pub port: u16,
    /// Stop after COUNT probes (with -w: after COUNT replies).
    #[arg(short, long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Seconds between probes.
    #[arg(short, long, default_value = "1", value_parser = seconds)]
    pub interval: Duration,
    /// Seconds to wait for each reply before reporting it lost.
    #[arg(short = 'W', long, default_value = "1", value_parser = seconds)]
    pub timeout: Duration,
    /// Stop after DEADLINE seconds, whatever else happens.
    #[arg(short = 'w', long, value_parser = seconds)]
    pub deadline: Option<Duration>,
    /// Pad each probe to SIZE bytes (the `Ping <seq> <time>` text is never cut).
    #[arg(short, long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=65_507))]
    pub size: u16,
    /// Print only the banner and the statistics.
    #[arg(short, long)]
    pub quiet: bool,
    /// Also show datagrams that answer no probe, and why.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print the results as one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Use ICMP echo (an unprivileged ICMP socket) instead of the lab's UDP datagrams.
    #[arg(long)]
    pub icmp: bool,
}

/// `ping serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// UDP port to listen on (0 picks a free one and prints it).
    #[arg(short, long, default_value_t = 12000)]
    pub port: u16,
    /// Probability of dropping each datagram, 0 to 1.
    #[arg(long, default_value_t = 0.3, value_parser = probability, conflicts_with = "kr")]
    pub loss: f64,
    /// Roll the lab's dice instead: an integer 0..=10, dropped when below 4 (4/11, about 36%).
    #[arg(long)]
    pub kr: bool,
    /// Seed for the drops, delays and duplicates: the same seed gives the same run.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Hold every echo back this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub delay: u64,
    /// Add a random 0..=JITTER milliseconds to each delay (echoes may overtake each other).
    #[arg(long, default_value_t = 0)]
    pub jitter: u64,
    /// Probability of echoing a datagram twice, 0 to 1.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub duplicate: f64,
    /// Track `Heartbeat` datagrams per client instead of echoing them.
    #[arg(long)]
    pub heartbeat: bool,
    /// With --heartbeat: seconds of silence before a client is reported stopped.
    #[arg(long, default_value = "3", value_parser = seconds)]
    pub dead_after: Duration,
    /// Do not log each datagram; print the counts once a second instead.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `ping heartbeat HOST`.
#[derive(Args, Debug, Clone)]
pub struct HeartbeatArgs {
    /// Host name or address of a `ping serve --heartbeat`.
    pub host: String,
    /// UDP port the server listens on.
    #[arg(short, long, default_value_t = 12000)]
    pub port: u16,
    /// Stop after COUNT heartbeats (default: until Ctrl-C).
    #[arg(short, long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Seconds between heartbeats.
    #[arg(short, long, default_value = "1", value_parser = seconds)]
    pub interval: Duration,
    /// Pad each heartbeat to SIZE bytes.
    #[arg(short, long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=65_507))]
    pub size: u16,
    /// Do not print each heartbeat.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Seconds as iputils takes them: `1`, `0.2`, `.5`; at least a millisecond, at most a day.
pub fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds (try 1 or 0.2)"))?;
    if !value.is_finite() || !(0.001..=86_400.0).contains(&value) {
        return Err(format!(
            "'{text}' seconds is out of range: use 0.001 to 86400"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

/// A probability from 0 to 1.
pub fn probability(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a probability (try 0.3)"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("'{text}' is not between 0 and 1 (0.3 means 30%)"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn host_and_subcommands_parse() {
        let cli = Cli::try_parse_from(["ping", "-c", "3", "-i", "0.2", "localhost"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.ping.host.as_deref(), Some("localhost"));
        assert_eq!(cli.ping.interval, Duration::from_millis(200));
        let cli = Cli::try_parse_from(["ping", "serve", "--kr", "--seed", "7"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Serve(ServeArgs {
                kr: true,
                seed: Some(7),
                ..
            }))
        ));
        assert!(Cli::try_parse_from(["ping"]).is_err(), "a host is required");
        assert!(Cli::try_parse_from(["ping", "-c", "0", "h"]).is_err());
        assert!(Cli::try_parse_from(["ping", "serve", "--loss", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["ping", "serve", "--loss", "0.1", "--kr"]).is_err());
    }

    #[test]
    fn seconds_reject_nonsense() {
        assert_eq!(seconds(".5"), Ok(Duration::from_millis(500)));
        assert!(seconds("-1").is_err());
        assert!(seconds("NaN").is_err());
        assert!(seconds("0").is_err());
    }
}
