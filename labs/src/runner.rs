//! Running one step's check and keeping what a report needs.

use crate::catalog::{Role, Step, Track};
use crate::check::{Ctx, Failure, Reach};
use crate::exchange::Exchange;
use std::path::Path;
use std::time::Duration;

/// The outcome of one step, with everything the report shows.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// `track/slug`.
    pub id: String,
    /// The step number within its track (1-based) and its title.
    pub number: usize,
    /// The step's title.
    pub title: &'static str,
    /// Passed, or why not.
    pub outcome: Result<(), Failure>,
    /// The conversations the check had with the learner's program.
    pub exchanges: Vec<Exchange>,
    /// Notes (a program started or restarted).
    pub notes: Vec<String>,
    /// What the learner's program printed, when labs started it and the step failed.
    pub learner_output: Option<(Vec<u8>, Vec<u8>)>,
    /// How the learner's program ended during the step (exit code or signal), when labs
    /// started it and it did not survive a failed step.
    pub crash: Option<String>,
    /// A command that repeats the check's first request by hand.
    pub reproduce: Option<String>,
}

impl StepResult {
    /// True when the check passed.
    pub fn passed(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Runs a step's check. A panic inside a check (a bug in labs, never the learner's fault) is
/// caught and reported as such rather than ending the run.
///
/// With `--run`, every step gets a freshly started program, as a grader starting it once per
/// test would: what one step did to the program (a crash, a stalled connection) never decides
/// the next. The program is stopped and reaped when the step ends.
pub fn run_step(ctx: &mut Ctx, track: &Track, index: usize, step: &Step) -> StepResult {
    let started_by_labs = matches!(ctx.reach(), Reach::Run(_));
    if started_by_labs {
        ctx.stop_learner();
    }
    ctx.take_exchanges();
    ctx.notes.clear();
    ctx.files_dir_unpassed = false;
    let check = step.check;
    let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(ctx))) {
        Ok(outcome) => outcome,
        Err(_) => Err(Failure::new(
            "labs itself must not fail",
            "this check stopped on an internal error; please report it with the command you ran",
        )),
    };
    // A program that broke a connection by dying is given a moment to finish dying, so the
    // report can say how it ended. A client ending with exit code 0 has simply finished.
    let server = matches!(step.role, Role::Server | Role::UdpServer);
    let crash = match &outcome {
        Err(_) => ctx
            .learner_exit(Duration::from_millis(300))
            .filter(|status| server || !status.success())
            .map(crate::learner::describe_exit),
        Ok(()) => None,
    };
    if outcome.is_err() && ctx.files_dir_unpassed {
        if let Ok(dir) = ctx.files_dir() {
            ctx.notes.push(format!(
                "labs put this step's files in {{dir}}/files ({}), but your --run command does not pass {{dir}}, so your server cannot know where they are: add it, as in --run 'python3 server.py {{port}} {{dir}}/files', and serve /files/ from that argument (or pass --files-dir DIR, the folder your server serves /files/ from)",
                dir.display()
            ));
        }
    }
    // Connections held open for the program (a silent client, half a request) are still open;
    // what they saw belongs in the report, which is often where the step failed.
    ctx.log_held();
    let exchanges = ctx.take_exchanges();
    // Stopped first, so that everything it printed up to the end of the step is there (its
    // readers are done), not whatever had been read when the check gave up.
    let learner_output = match (&outcome, ctx.learner()) {
        (Err(_), Some(p)) => {
            if started_by_labs {
                p.stop();
            }
            Some((p.stdout(), p.stderr()))
        }
        _ => None,
    };
    if started_by_labs {
        ctx.stop_learner();
    }
    ctx.release_held();
    let reproduce = reproduce_command(ctx.reach(), exchanges.first());
    StepResult {
        id: track.step_id(step),
        number: index + 1,
        title: step.title,
        outcome,
        exchanges,
        notes: ctx.notes.clone(),
        learner_output,
        crash,
        reproduce,
    }
}

/// `client --raw - HOST PORT` with the bytes labs sent, for server steps reached by address.
fn reproduce_command(reach: &Reach, first: Option<&Exchange>) -> Option<String> {
    let Reach::Target(target) = reach else {
        return None;
    };
    let exchange = first?;
    if !exchange.learner_is_server {
        return None;
    }
    let sent: Vec<u8> = exchange
        .events
        .iter()
        .filter_map(|e| match e {
            crate::exchange::Event::Bytes(crate::exchange::Party::Labs, b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    if sent.is_empty() {
        return None;
    }
    let (host, port) = target.rsplit_once(':')?;
    Some(format!(
        "printf '{}' | client --raw - {host} {port}",
        printf_escape(&sent)
    ))
}

/// Escapes bytes for a single-quoted `printf` format.
fn printf_escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            b'%' => out.push_str("%%"),
            b'\'' => out.push_str("'\\''"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

/// Saves each exchange of a result as `DIR/<track>-<slug>-<n>.trace`.
pub fn record(dir: &Path, result: &StepResult) -> std::io::Result<()> {
    for (n, exchange) in result.exchanges.iter().enumerate() {
        let name = format!("{}-{}.trace", result.id.replace('/', "-"), n + 1);
        let text =
            crate::report::exchange_trace(exchange, &format!("{} ({})", result.title, result.id));
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_escapes_survive_the_shell() {
        assert_eq!(
            printf_escape(b"GET / HTTP/1.1\r\n\r\n"),
            "GET / HTTP/1.1\\r\\n\\r\\n"
        );
        assert_eq!(printf_escape(b"100%'\x00"), "100%%'\\''\\000");
    }
}
