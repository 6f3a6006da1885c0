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
    /// and stops it afterwards. Python runs unbuffered (PYTHONUNBUFFERED=1, unless you set it),
    /// so what it prints reaches the report.
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
    /// An optional step given points runs even without --optional.
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

/// A step picked for a run: its track, its place in the track, and the step.
type Selected = (&'static Track, usize, &'static Step);

/// `labs check`: pick the steps, reach the program, run the steps, then report and write the
/// files course tooling reads.
fn check(args: CheckArgs, progress: &mut Progress, style: &Style) -> i32 {
    let weights = match load_weights(args.weights.as_deref()) {
        Ok(w) => w,
        Err(message) => {
            eprintln!("labs: {message}");
            return 2;
        }
    };
    let Some(selected) = select_steps(&args.what, args.optional, &weights) else {
        return unknown_step(&args.what);
    };
    for id in weighted_optional(&args.what, &selected, &weights, args.optional) {
        eprintln!(
            "labs: running the optional step {id}: the weights file gives it {} points \
             (--optional runs every optional step)",
            weights.of(&id, true)
        );
    }
    let reach = match reach_from(&args, selected[0].2.role) {
        Ok(reach) => reach,
        Err(message) => {
            eprintln!("labs: {message}");
            return 2;
        }
    };
    if let Some(dir) = &args.record {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("labs: cannot create {}: {e}", dir.display());
            return 2;
        }
    }
    let mut ctx = Ctx::new(reach, args.timeout, args.files_dir.clone());
    if args.origin_on_80 {
        ctx.port_80 = crate::origin::Port80::Origin;
    }
    let run = Run::steps(&mut ctx, &selected, &args, progress, style);
    ctx.stop_learner();
    if let Err(e) = progress.save() {
        eprintln!("labs: cannot write your progress file: {e}");
    }
    let write_failed = !write_result_files(&args, &selected, &run, &weights);
    print!("{}", summary(&args, &selected, &run));
    run.exit_code(write_failed)
}

/// The weights file, or the default weights when there is none.
fn load_weights(path: Option<&std::path::Path>) -> Result<crate::grading::Weights, String> {
    let Some(path) = path else {
        return Ok(crate::grading::Weights::default());
    };
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| crate::grading::Weights::parse(&t))
        .map_err(|e| format!("the weights file {}: {e}", path.display()))
}

/// The steps `what` names: one step, or a track's required steps, its optional ones with
/// `--optional`, and any optional step the weights file gives points to (a grader who weighs
/// a step means it to be graded). `None` when `what` names neither a step nor a track.
fn select_steps(
    what: &str,
    optional: bool,
    weights: &crate::grading::Weights,
) -> Option<Vec<Selected>> {
    if let Some(found) = catalog::find_step(what) {
        return Some(vec![found]);
    }
    let track = catalog::find_track(what)?;
    Some(
        track
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| optional || !s.optional || weights.of(&track.step_id(s), true) > 0.0)
            .map(|(i, s)| (track, i, s))
            .collect(),
    )
}

/// The optional steps of a track run that run only because the weights file gives them
/// points (none when `what` names one step, or --optional runs them all anyway).
fn weighted_optional(
    what: &str,
    selected: &[Selected],
    weights: &crate::grading::Weights,
    optional: bool,
) -> Vec<String> {
    if optional || catalog::find_step(what).is_some() {
        return Vec::new();
    }
    selected
        .iter()
        .filter(|(_, _, step)| step.optional)
        .map(|(track, _, step)| track.step_id(step))
        .filter(|id| weights.of(id, true) > 0.0)
        .collect()
}

/// How labs reaches the program, from --target, --listen, --port or --run; without one, what
/// to type (`role` is the first step's, which says whether the program is a server).
fn reach_from(args: &CheckArgs, role: Role) -> Result<Reach, String> {
    let listen = args
        .listen
        .clone()
        .or(args.port.map(|p| format!("127.0.0.1:{p}")));
    match (&args.target, listen, &args.run) {
        (Some(t), _, _) => Ok(Reach::Target(t.clone())),
        (_, Some(l), _) => Ok(Reach::Listen(l)),
        (_, _, Some(r)) => Ok(Reach::Run(r.clone())),
        _ => Err(format!(
            "tell labs where your program is: {}\n      for example: labs check {} {}",
            role.how_to_check(),
            args.what,
            if matches!(role, Role::Server | Role::UdpServer) {
                "--target 127.0.0.1:8080"
            } else {
                "--run 'python3 client.py {host} {port}'"
            }
        )),
    }
}

/// What a run of steps came to: a result and a time per step that ran, in order.
#[derive(Debug, Default)]
struct Run {
    results: Vec<crate::runner::StepResult>,
    times: Vec<Duration>,
    /// A step failed and the rest were not run (no --keep-going).
    stopped_early: bool,
}

impl Run {
    /// Runs the steps in order, printing each result (unless --json), recording each exchange
    /// (--record) and marking passed steps; stops at the first failure without --keep-going.
    fn steps(
        ctx: &mut Ctx,
        selected: &[Selected],
        args: &CheckArgs,
        progress: &mut Progress,
        style: &Style,
    ) -> Run {
        let mut run = Run::default();
        for (n, (track, index, step)) in selected.iter().enumerate() {
            let started = std::time::Instant::now();
            let result = crate::runner::run_step(ctx, track, *index, step);
            run.times.push(started.elapsed());
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
            run.results.push(result);
            if failed && !args.keep_going && n + 1 < selected.len() {
                run.stopped_early = true;
                break;
            }
        }
        run
    }

    fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }

    fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// 2 when a results file could not be written, 1 when a step failed or did not run, else 0.
    fn exit_code(&self, write_failed: bool) -> i32 {
        if write_failed {
            2
        } else if self.failed() == 0 && !self.stopped_early {
            0
        } else {
            1
        }
    }
}

/// One row per selected step for JUnit and Gradescope; a step that did not run has no result.
fn graded_rows<'a>(selected: &[Selected], run: &'a Run) -> Vec<crate::grading::Graded<'a>> {
    selected
        .iter()
        .enumerate()
        .map(|(i, (track, _, step))| crate::grading::Graded {
            id: track.step_id(step),
            title: step.title,
            optional: step.optional,
            result: run.results.get(i),
            time: run.times.get(i).copied().unwrap_or_default(),
        })
        .collect()
}

/// Writes --junit, --gradescope and --html; false when one could not be written (each failure
/// is reported, and the others are still written).
fn write_result_files(
    args: &CheckArgs,
    selected: &[Selected],
    run: &Run,
    weights: &crate::grading::Weights,
) -> bool {
    let mut files: Vec<(&PathBuf, String)> = Vec::new();
    if args.junit.is_some() || args.gradescope.is_some() {
        let rows = graded_rows(selected, run);
        if let Some(path) = &args.junit {
            let run_name = format!("labs check {}", args.what);
            files.push((path, crate::grading::junit(&rows, &run_name)));
        }
        if let Some(path) = &args.gradescope {
            files.push((path, crate::grading::gradescope(&rows, weights)));
        }
    }
    if let Some(path) = &args.html {
        let not_run = selected.len() - run.results.len();
        files.push((
            path,
            crate::html::check_page(&args.what, &run.results, not_run),
        ));
    }
    let mut all_written = true;
    for (path, text) in files {
        if let Err(e) = std::fs::write(path, text) {
            eprintln!(
                "labs: cannot write {}: {e}; check that its folder exists",
                path.display()
            );
            all_written = false;
        }
    }
    all_written
}

/// The last lines: the --json document, or the count of passed and failed steps.
fn summary(args: &CheckArgs, selected: &[Selected], run: &Run) -> String {
    let not_run = &selected[run.results.len()..];
    if args.json {
        let not_run: Vec<String> = not_run
            .iter()
            .map(|(track, _, step)| track.step_id(step))
            .collect();
        return format!("{}\n", report::json(&run.results, &not_run));
    }
    let mut text = String::new();
    if run.stopped_early {
        text.push_str(&format!(
            "Stopped at the first failed step ({} not run); --keep-going runs the rest.\n",
            not_run.len()
        ));
    }
    text.push_str(&format!(
        "{} passed, {} failed\n",
        run.passed(),
        run.failed()
    ));
    text
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

    fn check_args(words: &[&str]) -> CheckArgs {
        let cli = Cli::try_parse_from(["labs", "check"].iter().chain(words)).unwrap();
        match cli.command {
            Some(Command::Check(args)) => *args,
            other => panic!("not a check: {other:?}"),
        }
    }

    fn ids(selected: &[Selected]) -> Vec<String> {
        selected.iter().map(|(t, _, s)| t.step_id(s)).collect()
    }

    fn weights(text: &str) -> crate::grading::Weights {
        crate::grading::Weights::parse(text).unwrap()
    }

    #[test]
    fn a_track_runs_its_required_steps_and_optional_ones_when_asked_or_weighted() {
        let track = catalog::find_track("http").unwrap();
        let required: Vec<String> = track
            .steps
            .iter()
            .filter(|s| !s.optional)
            .map(|s| track.step_id(s))
            .collect();
        let none = crate::grading::Weights::default();
        assert_eq!(ids(&select_steps("http", false, &none).unwrap()), required);
        assert_eq!(
            select_steps("http", true, &none).unwrap().len(),
            track.steps.len()
        );
        // An optional step with points runs without --optional, in its place in the track.
        let weighted = select_steps("http", false, &weights("http/head 2\n")).unwrap();
        assert_eq!(weighted.len(), required.len() + 1);
        let head = ids(&weighted)
            .iter()
            .position(|id| id == "http/head")
            .unwrap();
        assert_eq!(
            weighted[head].1,
            track.steps.iter().position(|s| s.slug == "head").unwrap()
        );
        // Zero points is the default for an optional step: it stays out.
        assert_eq!(
            ids(&select_steps("http", false, &weights("http/head 0\n")).unwrap()),
            required
        );
        assert_eq!(
            ids(&select_steps("http/head", false, &none).unwrap()),
            ["http/head"]
        );
        assert!(select_steps("nosuch", false, &none).is_none());
    }

    #[test]
    fn only_optional_steps_run_for_their_points_are_announced() {
        let w = weights("http/head 2\nhttp/connect 3\n");
        let selected = select_steps("http", false, &w).unwrap();
        assert_eq!(
            weighted_optional("http", &selected, &w, false),
            ["http/head"]
        );
        assert!(weighted_optional("http", &selected, &w, true).is_empty());
        let one = select_steps("http/head", false, &w).unwrap();
        assert!(weighted_optional("http/head", &one, &w, false).is_empty());
    }

    #[test]
    fn the_program_is_reached_as_the_flags_say_or_labs_says_what_to_type() {
        let reach = |words: &[&str]| reach_from(&check_args(words), Role::Server);
        assert_eq!(
            reach(&["http", "--target", "127.0.0.1:8080"]),
            Ok(Reach::Target("127.0.0.1:8080".into()))
        );
        assert_eq!(
            reach(&["mail", "-p", "2525"]),
            Ok(Reach::Listen("127.0.0.1:2525".into()))
        );
        assert_eq!(
            reach(&["mail", "--listen", "0.0.0.0:25"]),
            Ok(Reach::Listen("0.0.0.0:25".into()))
        );
        assert_eq!(
            reach(&["http", "--run", "python3 s.py {port}"]),
            Ok(Reach::Run("python3 s.py {port}".into()))
        );
        let server = reach(&["http"]).unwrap_err();
        assert!(
            server.contains("labs check http --target 127.0.0.1:8080"),
            "{server}"
        );
        let client = reach_from(&check_args(&["mail"]), Role::Client).unwrap_err();
        assert!(
            client.contains("labs check mail --run 'python3 client.py {host} {port}'"),
            "{client}"
        );
    }

    #[test]
    fn a_weights_file_that_cannot_be_read_or_parsed_names_the_file() {
        assert_eq!(load_weights(None), Ok(crate::grading::Weights::default()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weights.txt");
        let err = load_weights(Some(&path)).unwrap_err();
        assert!(
            err.starts_with(&format!("the weights file {}: ", path.display())),
            "{err}"
        );
        std::fs::write(&path, "http/nosuch 2\n").unwrap();
        let err = load_weights(Some(&path)).unwrap_err();
        assert!(
            err.ends_with("line 1: there is no step `http/nosuch` (see `labs list TRACK`)"),
            "{err}"
        );
    }

    #[test]
    fn the_exit_code_puts_unwritten_files_before_failed_steps() {
        let mut run = Run::default();
        assert_eq!(run.exit_code(false), 0);
        assert_eq!(run.exit_code(true), 2);
        run.stopped_early = true;
        assert_eq!(run.exit_code(false), 1);
        assert_eq!(run.exit_code(true), 2);
    }

    #[test]
    fn the_summary_counts_steps_and_says_how_to_run_the_rest() {
        let selected = select_steps("http", false, &crate::grading::Weights::default()).unwrap();
        let run = Run {
            stopped_early: true,
            ..Run::default()
        };
        assert_eq!(
            summary(&check_args(&["http"]), &selected, &run),
            format!(
                "Stopped at the first failed step ({} not run); --keep-going runs the rest.\n\
                 0 passed, 0 failed\n",
                selected.len()
            )
        );
        let json = summary(&check_args(&["http", "--json"]), &selected, &run);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["not_run"].as_array().unwrap().len(), selected.len());
        assert!(graded_rows(&selected, &run)
            .iter()
            .all(|row| row.result.is_none()));
    }
}
