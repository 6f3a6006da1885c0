//! `client load`: many connections against one URL, with throughput, latency percentiles, status
//! counts and errors by kind.
//!
//! The connections are shared out among `--threads` event loops ([`engine`]); each counts into
//! its own [`report::Tally`], merged at the end. A progress line is redrawn on a terminal (plain
//! lines once a second otherwise) from shared atomic counters.
//!
//! Ctrl-C stops the loops at once and the summary of what was measured so far is printed (as
//! wrk, ab and hey do); a second Ctrl-C ends the program straight away.

pub mod engine;
pub mod report;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::cli::LoadArgs;
use crate::paint::{ColorChoice, Paint};
use crate::request::RequestSpec;
use crate::target::{Scheme, Url};
use crate::ExitCode;
use engine::{Budget, Live, LoopPlan};
use report::{Report, Tally};

/// Why a load run could not start.
#[derive(Debug)]
pub struct LoadError {
    /// What to tell the user.
    pub message: String,
    /// How to exit.
    pub code: ExitCode,
}

/// Runs `client load` with its output going to `stdout` and `stderr`.
pub fn run(args: &LoadArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode {
    let paint = Paint::for_stderr(args.color);
    let progress = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stderr().is_terminal(),
    };
    match prepare(args) {
        Err(e) => {
            let _ = writeln!(
                stderr,
                "{}",
                paint.error(&format!("client load: {}", e.message))
            );
            e.code
        }
        Ok((plans, budget)) => {
            let shown = if progress {
                Progress::Live(&mut *stderr)
            } else {
                Progress::Plain(&mut *stderr)
            };
            let interrupt = Arc::new(AtomicBool::new(false));
            let handlers = catch_ctrl_c(&interrupt);
            let report = drive(args, plans, budget, shown, Some(&interrupt));
            for id in handlers {
                signal_hook::low_level::unregister(id);
            }
            match report {
                Ok(report) => {
                    if args.json {
                        let _ = writeln!(
                            stdout,
                            "{}",
                            serde_json::to_string_pretty(&report.json()).unwrap_or_default()
                        );
                    } else {
                        let _ = write!(stdout, "{}", report.text());
                    }
                    if report.tally.completed() == 0 && report.tally.failed() > 0 {
                        let worst = report
                            .tally
                            .errors
                            .keys()
                            .next()
                            .cloned()
                            .unwrap_or_default();
                        if worst.starts_with("connect: connection refused") {
                            ExitCode::CouldNotConnect
                        } else {
                            ExitCode::RecvError
                        }
                    } else {
                        ExitCode::Ok
                    }
                }
                Err(e) => {
                    let _ = writeln!(stderr, "{}", paint.error(&format!("client load: {e}")));
                    ExitCode::RecvError
                }
            }
        }
    }
}

/// Makes the first Ctrl-C (SIGINT) set `flag`, and a second one end the program with the
/// shell's 130 at once. Returns what to unregister afterwards (nothing if it cannot be set up:
/// Ctrl-C then ends the run as before, without a summary).
fn catch_ctrl_c(flag: &Arc<AtomicBool>) -> Vec<signal_hook::SigId> {
    use signal_hook::consts::SIGINT;
    let mut ids = Vec::new();
    // Registered first, so it sees the flag as it was before this Ctrl-C set it.
    if let Ok(id) = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, flag.clone()) {
        ids.push(id);
    }
    if let Ok(id) = signal_hook::flag::register(SIGINT, flag.clone()) {
        ids.push(id);
    }
    ids
}

/// Resolves the URL, builds the request and shares out the connections.
pub fn prepare(args: &LoadArgs) -> Result<(Vec<LoopPlan>, Budget), LoadError> {
    let url = Url::parse(&args.url).map_err(|e| LoadError {
        message: e.to_string(),
        code: e.exit_code(),
    })?;
    if url.scheme == Scheme::Https {
        return Err(LoadError {
            message: "load speaks plain http:// only; drive a TLS server through a local TLS terminator, or measure it with `client --timing https://...`".into(),
            code: ExitCode::UnsupportedProtocol,
        });
    }
    if args.connections == 0 || args.threads == 0 {
        return Err(LoadError {
            message: "-c and -t must be at least 1".into(),
            code: ExitCode::Usage,
        });
    }
    if let Some(rate) = args.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(LoadError {
                message: "--rate must be a positive number".into(),
                code: ExitCode::Usage,
            });
        }
    }
    let addrs =
        crate::net::resolve(&url.host, url.port, Some(Duration::from_secs(10))).map_err(|e| {
            LoadError {
                code: e.exit_code(),
                message: e.to_string(),
            }
        })?;
    let mut spec = RequestSpec::new(&args.method, &url);
    // A load generator sends what wrk sends: the request line and Host, and what -H adds. The
    // one-shot client's User-Agent and Accept would only make the server under test parse two
    // more fields per request (about 5 % of its work for a 1 KiB file).
    spec.remove_header("User-Agent");
    spec.remove_header("Accept");
    for line in &args.headers {
        spec.header_line(line).map_err(|e| LoadError {
            message: e,
            code: ExitCode::Usage,
        })?;
    }
    if let Some(body) = &args.body {
        spec.set_body(body.as_bytes().to_vec(), None);
    }
    if args.close {
        spec.set_header("Connection", "close");
    }
    let request: Arc<[u8]> = spec.to_bytes().into();
    let threads = args.threads.min(args.connections);
    let plans = (0..threads)
        .map(|t| LoopPlan {
            addr: addrs[0],
            request: request.clone(),
            head_request: spec.method.eq_ignore_ascii_case("HEAD"),
            connections: args.connections / threads + usize::from(t < args.connections % threads),
            close: args.close,
            rate: args.rate.map(|r| r / threads as f64),
            timeout: args.timeout,
            spin: args.spin,
        })
        .collect();
    let budget = match (args.requests, args.duration) {
        (Some(n), _) => Budget::Requests(AtomicI64::new(n.min(i64::MAX as u64) as i64)),
        (None, Some(d)) => Budget::Until(Instant::now() + d),
        (None, None) => Budget::Until(Instant::now() + Duration::from_secs(10)),
    };
    Ok((plans, budget))
}

/// Where progress goes while the loops run.
pub enum Progress<'w> {
    /// A line redrawn in place (a terminal).
    Live(&'w mut dyn Write),
    /// A plain line once a second (a log file, a pipe).
    Plain(&'w mut dyn Write),
}

/// Runs the loops to the end, or until `interrupt` is set (Ctrl-C), and merges what they
/// counted.
pub fn drive(
    args: &LoadArgs,
    plans: Vec<LoopPlan>,
    budget: Budget,
    mut progress: Progress<'_>,
    interrupt: Option<&AtomicBool>,
) -> std::io::Result<Report> {
    let live = Arc::new(Live::default());
    let budget = Arc::new(budget);
    let connections = plans.iter().map(|p| p.connections).sum();
    let threads = plans.len();
    let keep_alive = !args.close;
    let total_requests = args.requests;
    let total_time = match &*budget {
        Budget::Until(at) => Some(at.saturating_duration_since(Instant::now())),
        Budget::Requests(_) => None,
    };
    let begin = Instant::now();
    let (done_tx, done_rx) = mpsc::channel();
    let mut handles = Vec::new();
    for plan in plans {
        let live = live.clone();
        let budget = budget.clone();
        let done = done_tx.clone();
        handles.push(std::thread::spawn(move || {
            let result = engine::run_loop(&plan, &budget, &live);
            let _ = done.send(());
            result
        }));
    }
    drop(done_tx);
    let mut finished = 0;
    let mut last_plain = Instant::now();
    let mut interrupted = false;
    while finished < threads {
        if !interrupted && interrupt.is_some_and(|i| i.load(Ordering::Relaxed)) {
            interrupted = true;
            live.stop.store(true, Ordering::Relaxed);
        }
        match done_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(()) => finished += 1,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        match &mut progress {
            Progress::Live(out) => {
                let line = progress_line(&live, begin.elapsed(), total_requests, total_time);
                let _ = write!(out, "\r\x1b[2K{line}");
                let _ = out.flush();
            }
            Progress::Plain(out)
                if last_plain.elapsed() >= Duration::from_secs(1) && finished < threads =>
            {
                last_plain = Instant::now();
                let line = progress_line(&live, begin.elapsed(), total_requests, total_time);
                let _ = writeln!(out, "{line}");
            }
            _ => {}
        }
    }
    if let Progress::Live(out) = &mut progress {
        let _ = write!(out, "\r\x1b[2K");
        let _ = out.flush();
    }
    let elapsed = begin.elapsed();
    let mut tally = Tally::default();
    for handle in handles {
        let part = handle
            .join()
            .map_err(|_| std::io::Error::other("a load thread panicked"))??;
        tally.merge(&part);
    }
    Ok(Report {
        url: args.url.clone(),
        connections,
        threads,
        keep_alive,
        rate: args.rate,
        elapsed,
        tally,
        interrupted,
    })
}

fn progress_line(
    live: &Live,
    elapsed: Duration,
    total: Option<u64>,
    time: Option<Duration>,
) -> String {
    let done = live.completed.load(Ordering::Relaxed);
    let failed = live.failed.load(Ordering::Relaxed);
    let fraction = match (total, time) {
        (Some(n), _) if n > 0 => (done + failed) as f64 / n as f64,
        (_, Some(t)) if !t.is_zero() => elapsed.as_secs_f64() / t.as_secs_f64(),
        _ => 0.0,
    }
    .clamp(0.0, 1.0);
    let width = 24;
    let filled = (fraction * width as f64) as usize;
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
    format!(
        "[{}{}] {:>3.0}%  {:>5.1}s  {done} ok  {failed} failed  {rate:.0} req/s",
        "=".repeat(filled),
        " ".repeat(width - filled),
        fraction * 100.0,
        elapsed.as_secs_f64()
    )
}
