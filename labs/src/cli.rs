//! The `labs` command line.

use crate::catalog::{self, Role, Step, Track};
use crate::check::{Ctx, Reach};
use crate::progress::Progress;
use crate::report::{self, Style};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Examples:
  labs                                   the tracks and how far you are
  labs show http/1                       the first step of the HTTP server track
  labs check http/1 --target 127.0.0.1:8080
                                         check your running server
  labs check http --run 'python3 server.py {port} {dir}/files'
                                         start your server and check the whole track
                                         (from step 11 it serves /files/ from {dir}/files)
  labs check mail/helo --run 'python3 mail.py {host} {port}'
                                         labs plays the mail server for your client
  labs next                              the first step you have not passed
  labs check http --keep-going --run 'python3 server.py {port} {dir}/files' \\
      --junit junit.xml --gradescope results.json
                                         results for CI and Gradescope too
  labs check http --run 'python3 server.py {port} {dir}/files' --html report.html
                                         a page with each exchange drawn as a diagram
  labs trace view traces/http-connect-1.trace -o connect.svg
                                         draw a recorded exchange
  labs show autograder                   how a teacher grades a class with labs

Steps are named TRACK/NAME or TRACK/NUMBER (http/echo, http/5). A --run command runs in the
folder you run labs in; {port}, {host} and {dir} are replaced by the port and host labs chose
and a scratch folder of labs' own (the file steps put their files in {dir}/files).

Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error (or when a
--junit, --gradescope or --html file could not be written).";

/// Step-by-step protocol labs that check your own programs over the wire.
///
/// You write an HTTP server, a pinger, a mail client or a proxy, in any language. labs tells
/// you what to build next, checks it over real sockets, and when a check fails shows the exact
/// bytes that were wrong and why.
#[derive(Debug, Parser)]
#[command(name = "labs", version = cmdline::version!(), about, long_about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// `--color auto|always|never` (auto: on a terminal, unless NO_COLOR is set).
    #[command(flatten)]
    color: cmdline::ColorArg,
    /// The same as --color never (kept for scripts written before --color).
    #[arg(long, global = true, hide = true)]
    no_color: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The tracks, with your progress (the default).
    Tracks,
    /// The steps of a track.
    List {
        /// http, webserver, pinger, mail or proxy.
        track: String,
    },
    /// A step's instructions: what to build, the exchange it checks, hints
    /// (`labs show autograder`: grading a class with Gradescope or CI).
    Show {
        /// A step, as TRACK/NAME or TRACK/NUMBER, or `autograder`.
        step: String,
    },
    /// The first required step you have not passed yet.
    Next,
    /// Every step and whether you have passed it.
    Progress,
    /// Forget your progress (all of it, or one track's).
    Reset {
        /// Only this track.
        track: Option<String>,
    },
    /// Check your program against a step or a whole track.
    Check(Box<CheckArgs>),
    /// Work with .trace files: draw one, write it as a capture, or make one from a capture.
    #[command(subcommand, after_help = crate::trace_tools::AFTER_HELP)]
    Trace(crate::trace_tools::TraceCommand),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// A step (TRACK/NAME, TRACK/NUMBER) or a whole track.
    what: String,
    /// Your program is a server running at HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["listen", "run"])]
    target: Option<String>,
    /// Your program is a client: labs listens at HOST:PORT and you start your client against it.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "run")]
    listen: Option<String>,
    /// Short for --listen 127.0.0.1:PORT: labs listens on this port for your client.
    #[arg(short = 'p', long, value_name = "PORT", conflicts_with_all = ["target", "listen", "run"])]
    port: Option<u16>,
    /// labs starts your program with this shell command ({port}, {host}, {dir} are filled in)
    /// and stops it afterwards.
    #[arg(long, value_name = "CMD")]
    run: Option<String>,
    /// The folder your server serves /files/ from (for the file steps).
    #[arg(long, value_name = "DIR")]
    files_dir: Option<PathBuf>,
    /// How long to wait for each read, e.g. 2s, 500ms, 1.5s or 1m (at most an hour).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print the results as JSON: {"passed": N, "failed": M, "not_run": [...], "steps": [...]},
    /// each step with everything the text report shows (notes, crash, stdout and stderr lines,
    /// expected and received bytes, exchanges).
    #[arg(long)]
    json: bool,
    /// Save each exchange as a .trace file in DIR (TCP connections, and UDP datagrams with
    /// `# transport: udp`).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Proxy track: labs' origin listens on 127.0.0.1:80 and the URLs carry no port, to grade
    /// a proxy that always connects to port 80 (needs root or CAP_NET_BIND_SERVICE).
    #[arg(long)]
    origin_on_80: bool,
    /// For a track: also run the optional steps.
    #[arg(long)]
    optional: bool,
    /// For a track: go on after a failed step instead of stopping there.
    #[arg(long)]
    keep_going: bool,
    /// Also write the results as JUnit XML to FILE (one testcase per step), for CI systems.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also write a Gradescope autograder results.json to FILE (see `labs show autograder`).
    #[arg(long, value_name = "FILE")]
    gradescope: Option<PathBuf>,
    /// Also write one self-contained HTML page to FILE: the summary, then each step with its
    /// verdict and every exchange drawn as a sequence diagram.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Points per step for --gradescope: lines of `STEP POINTS` (others: 1 required, 0 optional).
    #[arg(long, value_name = "FILE", requires = "gradescope")]
    weights: Option<PathBuf>,
}

/// Parses a read timeout as every protolab program reads a duration (`2s`, `500ms`, `1.5s`,
/// `1m`, or a bare number of seconds): more than nothing and at most an hour.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = cmdline::parse_positive_duration(text)?;
    if d > Duration::from_secs(3600) {
        return Err(format!(
            "`{}` is longer than an hour; a read timeout of 2s or 500ms is usual",
            text.trim()
        ));
    }
    Ok(d)
}

/// Runs a command line; returns the exit status.
pub fn run(cli: Cli) -> i32 {
    if cli.no_color {
        cmdline::ColorWhen::Never.apply();
    } else {
        cli.color.apply();
    }
    let style = Style::new(cmdline::Paint::stdout().enabled());
    let mut progress = match Progress::load_default() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("labs: cannot read your progress file: {e}");
            Progress::default()
        }
    };
    match cli.command.unwrap_or(Command::Tracks) {
        Command::Tracks => {
            print!(
                "{}",
                report::tracks_overview(catalog::tracks(), &progress, &style)
            );
            0
        }
        Command::List { track } => match catalog::find_track(&track) {
            Some(track) => {
                print!("{}", report::track_steps(track, &progress, &style));
                0
            }
            None => unknown_track(&track),
        },
        Command::Show { step }
            if ["autograder", "gradescope", "junit"]
                .contains(&step.to_ascii_lowercase().as_str()) =>
        {
            print!("{}", crate::grading::AUTOGRADER_GUIDE);
            0
        }
        Command::Show { step } => match catalog::find_step(&step) {
            Some((track, index, step)) => {
                print!("{}", report::step_text(track, index, step, &style));
                0
            }
            None => match catalog::find_track(&step) {
                // `labs show http`: the track's steps, and how to see the first one.
                Some(track) => {
                    print!("{}", report::track_steps(track, &progress, &style));
                    println!(
                        "\nlabs show {}/1 shows the first step; labs show {}/NAME any other.",
                        track.id, track.id
                    );
                    0
                }
                None => unknown_step(&step),
            },
        },
        Command::Next => {
            for track in catalog::tracks() {
                for (i, step) in track.steps.iter().enumerate() {
                    if !step.optional && !progress.has_passed(&track.step_id(step)) {
                        print!("{}", report::step_text(track, i, step, &style));
                        return 0;
                    }
                }
            }
            println!("You have passed every required step of every track. Try the optional ones: labs progress");
            0
        }
        Command::Progress => {
            for track in catalog::tracks() {
                print!("{}", report::track_steps(track, &progress, &style));
                println!();
            }
            0
        }
        Command::Reset { track } => {
            let prefix = match &track {
                Some(t) => match catalog::find_track(t) {
                    Some(track) => format!("{}/", track.id),
                    None => return unknown_track(t),
                },
                None => String::new(),
            };
            let n = progress.reset(&prefix);
            if let Err(e) = progress.save() {
                eprintln!("labs: cannot write your progress file: {e}");
                return 2;
            }
            println!("Forgot {n} passed step{}.", if n == 1 { "" } else { "s" });
            0
        }
        Command::Check(args) => check(*args, &mut progress, &style),
        Command::Trace(command) => crate::trace_tools::run(command),
    }
}

fn unknown_track(name: &str) -> i32 {
    let names: Vec<&str> = catalog::tracks().iter().map(|t| t.id).collect();
    eprintln!(
        "labs: there is no track `{name}`; the tracks are {}",
        names.join(", ")
    );
    2
}

fn unknown_step(name: &str) -> i32 {
    eprintln!("labs: there is no step `{name}`; name a step as TRACK/NAME or TRACK/NUMBER (see `labs list TRACK`)");
    2
}

fn check(args: CheckArgs, progress: &mut Progress, style: &Style) -> i32 {
    let selected: Vec<(&'static Track, usize, &'static Step)> =
        if let Some(found) = catalog::find_step(&args.what) {
            vec![found]
        } else if let Some(track) = catalog::find_track(&args.what) {
            track
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| args.optional || !s.optional)
                .map(|(i, s)| (track, i, s))
                .collect()
        } else {
            return unknown_step(&args.what);
        };
    let listen = args
        .listen
        .clone()
        .or(args.port.map(|p| format!("127.0.0.1:{p}")));
    let reach = match (&args.target, &listen, &args.run) {
        (Some(t), _, _) => Reach::Target(t.clone()),
        (_, Some(l), _) => Reach::Listen(l.clone()),
        (_, _, Some(r)) => Reach::Run(r.clone()),
        _ => {
            let role = selected[0].2.role;
            eprintln!(
                "labs: tell labs where your program is: {}\n      for example: labs check {} {}",
                role.how_to_check(),
                args.what,
                if matches!(role, Role::Server | Role::UdpServer) {
                    "--target 127.0.0.1:8080"
                } else {
                    "--run 'python3 client.py {host} {port}'"
                }
            );
            return 2;
        }
    };
    if let Some(dir) = &args.record {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("labs: cannot create {}: {e}", dir.display());
            return 2;
        }
    }
    let weights = match &args.weights {
        None => crate::grading::Weights::default(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| crate::grading::Weights::parse(&t))
        {
            Ok(w) => w,
            Err(e) => {
                eprintln!("labs: the weights file {}: {e}", path.display());
                return 2;
            }
        },
    };
    let mut ctx = Ctx::new(reach, args.timeout, args.files_dir.clone());
    if args.origin_on_80 {
        ctx.port_80 = crate::origin::Port80::Origin;
    }
    let mut results = Vec::new();
    let mut times = Vec::new();
    let mut stopped_early = false;
    for (n, (track, index, step)) in selected.iter().enumerate() {
        let started = std::time::Instant::now();
        let result = crate::runner::run_step(&mut ctx, track, *index, step);
        times.push(started.elapsed());
        if let Some(dir) = &args.record {
            if let Err(e) = crate::runner::record(dir, &result) {
                eprintln!("labs: cannot save the exchange in {}: {e}", dir.display());
            }
        }
        if result.passed() {
            progress.mark_passed(&result.id, unix_now());
        }
        if !args.json {
            print!("{}", report::step_result(&result, style));
        }
        let failed = !result.passed();
        results.push(result);
        if failed && !args.keep_going && n + 1 < selected.len() {
            stopped_early = true;
            break;
        }
    }
    ctx.stop_learner();
    if let Err(e) = progress.save() {
        eprintln!("labs: cannot write your progress file: {e}");
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let failed = results.len() - passed;
    let mut write_failed = false;
    if args.junit.is_some() || args.gradescope.is_some() {
        let rows: Vec<crate::grading::Graded<'_>> = selected
            .iter()
            .enumerate()
            .map(|(i, (track, _, step))| crate::grading::Graded {
                id: track.step_id(step),
                title: step.title,
                optional: step.optional,
                result: results.get(i),
                time: times.get(i).copied().unwrap_or_default(),
            })
            .collect();
        let files = [
            (
                &args.junit,
                crate::grading::junit(&rows, &format!("labs check {}", args.what)),
            ),
            (
                &args.gradescope,
                crate::grading::gradescope(&rows, &weights),
            ),
        ];
        for (path, text) in files {
            let Some(path) = path else { continue };
            if let Err(e) = std::fs::write(path, text) {
                eprintln!(
                    "labs: cannot write {}: {e}; check that its folder exists",
                    path.display()
                );
                write_failed = true;
            }
        }
    }
    if let Some(path) = &args.html {
        let page = crate::html::check_page(&args.what, &results, selected.len() - results.len());
        if let Err(e) = std::fs::write(path, page) {
            eprintln!(
                "labs: cannot write {}: {e}; check that its folder exists",
                path.display()
            );
            write_failed = true;
        }
    }
    if args.json {
        let not_run: Vec<String> = selected[results.len()..]
            .iter()
            .map(|(track, _, step)| track.step_id(step))
            .collect();
        println!("{}", report::json(&results, &not_run));
    } else {
        if stopped_early {
            println!(
                "Stopped at the first failed step ({} not run); --keep-going runs the rest.",
                selected.len() - results.len()
            );
        }
        println!("{passed} passed, {failed} failed");
    }
    if write_failed {
        2
    } else if failed == 0 && !stopped_early {
        0
    } else {
        1
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_the_way_people_type_them() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("soon").unwrap_err().contains("1.5s, 500ms"));
        assert!(parse_duration("2h")
            .unwrap_err()
            .contains("longer than an hour"));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("0").is_err());
    }
}
