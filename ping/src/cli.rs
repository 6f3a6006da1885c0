//! The command line: `ping HOST`, `ping serve`, `ping heartbeat HOST`, with iputils' flags.

use std::net::IpAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  ping serve                      start the lab's server on 127.0.0.1:12000 (30% loss)
  ping localhost                  10 pings, one a second, then the statistics
  ping -c 3 -i 0.2 localhost      3 pings, 200 ms apart (-i 200ms says the same)
  ping -s 64 -W 500ms localhost   64-byte datagrams, give up on each after 0.5 s
  ping -w 1m localhost            keep pinging for a minute
  ping --json -c 5 localhost      the results as one JSON document
  ping --histogram -c 20 -i 0.1 localhost
                                  the round-trip times drawn: a histogram and a sparkline
  ping --icmp 127.0.0.1           a real ICMP echo, to compare with UDP on the same path
  ping serve --kr --seed 7        the lab's own dice (drop when randint(0, 10) < 4), reproducibly
  ping serve --delay 20ms --jitter 10ms --duplicate 0.1
  ping serve --heartbeat          report heartbeats: one-way delay, lost ones, stopped clients
  ping heartbeat localhost        send 'Heartbeat <seq> <time>' every second until Ctrl-C

Durations: 1.5s, 500ms, 1m, 2m 30s; a bare number is seconds (as iputils' -i, -W and -w).
Exit status: 0 when a reply came, 1 when none did, 2 on an error.";

/// UDP pinger and the lab's echo server.
///
/// Sends `Ping <seq> <time>` datagrams to UDP port 12000 and reports each round-trip time and
/// loss like iputils ping. The server (`ping serve`) drops some datagrams on purpose and echoes
/// the rest upper-cased.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "ping",
    version = cmdline::version!(),
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
    /// `--color auto|always|never`, for every subcommand.
    #[command(flatten)]
    pub color: cmdline::ColorArg,
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
    /// Time between probes (0.2, 200ms, 1s).
    #[arg(short, long, value_name = "TIME", default_value = "1s", value_parser = seconds)]
    pub interval: Duration,
    /// Time to wait for each reply before reporting it lost.
    #[arg(short = 'W', long, value_name = "TIME", default_value = "1s", value_parser = seconds)]
    pub timeout: Duration,
    /// Stop after this long, whatever else happens (5, 1m).
    #[arg(short = 'w', long, value_name = "TIME", value_parser = seconds)]
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
    /// After the statistics, draw the round-trip times: a histogram, and a sparkline with one
    /// mark per probe (! for a lost one). With --json: a "histogram" object.
    #[arg(long)]
    pub histogram: bool,
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
    /// Hold every echo back this long (20ms, 0.5s).
    #[arg(long, value_name = "TIME", default_value = "0s", value_parser = with_unit)]
    pub delay: Duration,
    /// Add a random 0..=JITTER to each delay (10ms; echoes may overtake each other).
    #[arg(long, value_name = "TIME", default_value = "0s", value_parser = with_unit)]
    pub jitter: Duration,
    /// Probability of echoing a datagram twice, 0 to 1.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub duplicate: f64,
    /// Track `Heartbeat` datagrams per client instead of echoing them.
    #[arg(long)]
    pub heartbeat: bool,
    /// With --heartbeat: silence before a client is reported stopped.
    #[arg(long, value_name = "TIME", default_value = "3s", value_parser = seconds)]
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
    /// Time between heartbeats (0.2, 200ms, 1s).
    #[arg(short, long, value_name = "TIME", default_value = "1s", value_parser = seconds)]
    pub interval: Duration,
    /// Pad each heartbeat to SIZE bytes.
    #[arg(short, long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=65_507))]
    pub size: u16,
    /// Do not print each heartbeat.
    #[arg(short, long)]
    pub quiet: bool,
}

/// A duration as every protolab program reads one (`1.5s`, `500ms`, `1m`), where a bare number
/// is seconds as iputils takes them (`1`, `0.2`, `.5`); at least a millisecond, at most a day.
pub fn seconds(text: &str) -> Result<Duration, String> {
    let d = cmdline::parse_duration(text)?;
    if !(Duration::from_millis(1)..=Duration::from_secs(86_400)).contains(&d) {
        return Err(format!(
            "`{text}` is out of range: use 1ms to 24h (0.001 to 86400 seconds)"
        ));
    }
    Ok(d)
}

/// A duration that must carry its unit (`20ms`, `0.5s`): `--delay` and `--jitter` once took
/// bare milliseconds, so a bare number is refused rather than read as seconds. Zero is fine.
pub fn with_unit(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.') && t != "0" {
        return Err(format!(
            "`{text}` has no unit: write {t}ms for milliseconds or {t}s for seconds"
        ));
    }
    cmdline::parse_duration(text)
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
        assert_eq!(seconds("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(seconds("1m"), Ok(Duration::from_secs(60)));
        assert!(seconds("-1").is_err());
        assert!(seconds("NaN").is_err());
        assert!(seconds("0").is_err());
        assert!(seconds("2d").unwrap_err().contains("out of range"));
    }

    #[test]
    fn delays_need_their_unit() {
        assert_eq!(with_unit("20ms"), Ok(Duration::from_millis(20)));
        assert_eq!(with_unit("0"), Ok(Duration::ZERO));
        assert!(with_unit("120").unwrap_err().contains("120ms"));
    }
}
