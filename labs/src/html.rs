//! The report of a `labs check` run as one self-contained HTML page (`--html FILE`): the
//! summary, then each step with its verdict, rule, problem, hint and every connection drawn as
//! a sequence diagram. The page of one `.trace` file (`labs trace view`) and the pieces both
//! pages are made of are the [`diagram`](::diagram) crate's ([`diagram::page`]), which the
//! server's demo site draws with too.

use crate::exchange::{Event, Exchange, Party};
use crate::runner::StepResult;
use diagram::page::{figure, lane_names, message_list, page_end, page_start, plural_messages};
use diagram::{xml, Diagram, Lane, Options, Row};
use std::fmt::Write as _;
use wire::trace::Transport;

pub use diagram::page::trace_page;

/// The diagram of one connection with labs and a learner's program: lanes named for who played
/// them, TLS marked where STARTTLS turned it on.
pub fn exchange_diagram(exchange: &Exchange) -> Diagram {
    let mut d = Diagram::new(Transport::Tcp);
    for (i, part) in exchange
        .events
        .split(|e| *e == Event::TlsStarted)
        .enumerate()
    {
        if i > 0 {
            d.rows.push(Row::Tls);
        }
        d.push_items(crate::report::exchange_part_to_trace(exchange, part).items());
    }
    let learner = diagram::ends(crate::report::tag_of(exchange, Party::Learner)).0;
    let labs = diagram::ends(crate::report::tag_of(exchange, Party::Labs)).0;
    d.lane_notes = vec![(learner, "your program".into()), (labs, "labs".into())];
    d
}

/// `labs check ... --html FILE`: the summary, then every step with its verdict, rule, problem,
/// hint and each exchange as a diagram.
pub fn check_page(what: &str, results: &[StepResult], not_run: usize) -> String {
    let title = format!("labs check {what}");
    let passed = results.iter().filter(|r| r.passed()).count();
    let failed = results.len() - passed;
    let mut out = String::new();
    page_start(&mut out, &title);
    let _ = writeln!(out, "<h1>{}</h1>", xml(&title));
    let _ = writeln!(
        out,
        "<div class=\"summary\"><p><strong>{passed} passed, {failed} failed</strong>{}</p>\n<table>",
        if not_run > 0 {
            format!(
                " ({not_run} not run: labs stopped at the first failed step; --keep-going runs the rest)"
            )
        } else {
            String::new()
        }
    );
    for (i, r) in results.iter().enumerate() {
        let verdict = if r.passed() { "pass" } else { "fail" };
        let _ = writeln!(
            out,
            "<tr><td><span class=\"verdict {verdict}\">{}</span></td><td><a href=\"#step{}\">{}</a></td><td>{}</td></tr>",
            verdict.to_ascii_uppercase(),
            i + 1,
            xml(&r.id),
            xml(r.title)
        );
    }
    out.push_str("</table></div>\n");
    for (i, r) in results.iter().enumerate() {
        step_section(&mut out, r, i + 1);
    }
    page_end(&mut out);
    out
}

fn step_section(out: &mut String, r: &StepResult, number: usize) {
    let verdict = if r.passed() { "pass" } else { "fail" };
    let _ = writeln!(
        out,
        "<section id=\"step{number}\" class=\"step {verdict}\">\n<h2><span class=\"verdict\">{}</span> {} — {}</h2>",
        verdict.to_ascii_uppercase(),
        xml(&r.id),
        xml(r.title)
    );
    let rows = verdict_rows(r);
    if !rows.is_empty() {
        out.push_str("<dl>\n");
        for (key, value) in rows {
            let _ = writeln!(
                out,
                "<dt>{key}</dt><dd>{}</dd>",
                xml(&crate::report::printable(&value))
            );
        }
        out.push_str("</dl>\n");
    }
    if let Some(cmd) = &r.reproduce {
        let _ = writeln!(
            out,
            "<p>Try it by hand:</p><pre>{}</pre>",
            xml(&crate::report::printable(cmd))
        );
    }
    let difference = first_difference(r);
    if let Some((expected, got, _)) = &difference {
        let _ = writeln!(
            out,
            "<pre class=\"caret\">{}</pre>",
            xml(&crate::report::caret_diff(expected, got))
        );
    }
    connection_figures(out, r, number, difference.as_ref());
    learner_output(out, r);
    out.push_str("</section>\n");
}

/// The verdict's lines, as the text report has them: rule, problem, crash, notes (the
/// "started your program" one only when the step failed), diagnosis, hint.
fn verdict_rows(r: &StepResult) -> Vec<(&'static str, String)> {
    let failure = r.outcome.as_ref().err();
    let mut rows: Vec<(&'static str, String)> = Vec::new();
    if let Some(f) = failure {
        rows.push(("rule", f.rule.clone()));
        rows.push(("problem", f.problem.clone()));
    }
    if let Some(crash) = &r.crash {
        rows.push((
            "crash",
            format!("your program ended during this step: {crash}"),
        ));
    }
    for note in &r.notes {
        if failure.is_some() || !note.starts_with(crate::check::STARTED_NOTE) {
            rows.push(("note", note.clone()));
        }
    }
    if let Some(f) = failure {
        if let Some(d) = &f.diagnosis {
            rows.push(("diagnosis", d.clone()));
        }
        if let Some(h) = &f.hint {
            rows.push(("hint", h.clone()));
        }
    }
    rows
}

/// The expected and received bytes of a failure, and where they first differ.
fn first_difference(r: &StepResult) -> Option<(Vec<u8>, Vec<u8>, usize)> {
    let f = r.outcome.as_ref().err()?;
    let (e, g) = (f.expected.as_ref()?, f.got.as_ref()?);
    crate::report::first_difference(e, g).map(|at| (e.clone(), g.clone(), at))
}

/// One figure and message list per connection that carried something; the first message of
/// the learner's that holds the difference is drawn red.
fn connection_figures(
    out: &mut String,
    r: &StepResult,
    number: usize,
    difference: Option<&(Vec<u8>, Vec<u8>, usize)>,
) {
    let mut marked = false;
    let connections = r.exchanges.iter().filter(|e| !e.events.is_empty()).count();
    for (n, exchange) in r
        .exchanges
        .iter()
        .filter(|e| !e.events.is_empty())
        .enumerate()
    {
        let mut d = exchange_diagram(exchange);
        if let Some((_, got, at)) = difference {
            if !marked {
                let learner = crate::report::tag_of(exchange, Party::Learner);
                marked = d.mark_difference(&[learner], got, *at);
            }
        }
        let prefix = format!("s{number}-{}", n + 1);
        let learner_lane = d
            .lane_notes
            .iter()
            .find(|(_, note)| note == "your program")
            .map_or(Lane::Server, |(l, _)| *l);
        let caption = format!(
            "{}{} between {} (your program is the {})",
            if connections > 1 {
                format!("Connection {}: ", n + 1)
            } else {
                String::new()
            },
            plural_messages(&d),
            lane_names(&d),
            learner_lane.name(),
        );
        let options = Options {
            link_prefix: Some(prefix.clone()),
            title: Some(format!("{} connection {}", r.id, n + 1)),
        };
        figure(out, &caption, &d, &options);
        message_list(out, &d, &prefix);
    }
}

/// The last 40 lines of what the learner's program printed on stdout and stderr, folded away,
/// one line of the page per line printed.
fn learner_output(out: &mut String, r: &StepResult) {
    let Some((stdout, stderr)) = &r.learner_output else {
        return;
    };
    for (name, bytes) in [("stdout", stdout), ("stderr", stderr)] {
        if !bytes.is_empty() {
            let text = String::from_utf8_lossy(bytes);
            let lines: Vec<&str> = text.lines().collect();
            // Line by line: the line ends stay line ends, other controls become \xHH.
            let tail: Vec<String> = lines[lines.len().saturating_sub(40)..]
                .iter()
                .map(|line| crate::report::printable(line))
                .collect();
            let _ = writeln!(
                out,
                "<details><summary>your program's {name} (last lines)</summary><pre>{}</pre></details>",
                xml(&tail.join("\n"))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Failure;

    fn result(outcome: Result<(), Failure>) -> StepResult {
        StepResult {
            id: "http/respond".into(),
            number: 2,
            title: "answer 200 OK",
            outcome,
            exchanges: Vec::new(),
            notes: vec![format!(
                "{} python3 server.py 4000",
                crate::check::STARTED_NOTE
            )],
            learner_output: None,
            crash: None,
            reproduce: None,
        }
    }

    #[test]
    fn a_failure_shows_every_line_and_a_pass_hides_the_start_note() {
        assert!(verdict_rows(&result(Ok(()))).is_empty());
        let failure = Failure::new("the rule", "the problem")
            .diagnosis("the diagnosis")
            .hint("the hint");
        let mut failed = result(Err(failure));
        failed.crash = Some("signal 11 (SIGSEGV)".into());
        let keys: Vec<&str> = verdict_rows(&failed).iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            ["rule", "problem", "crash", "note", "diagnosis", "hint"]
        );
    }

    #[test]
    fn the_difference_is_where_expected_and_received_bytes_part() {
        assert_eq!(first_difference(&result(Ok(()))), None);
        let plain = result(Err(Failure::new("r", "p")));
        assert_eq!(first_difference(&plain), None);
        let bytes = result(Err(
            Failure::new("r", "p").bytes(&b"HTTP/1.1 200"[..], &b"HTTP/1.0 200"[..])
        ));
        assert_eq!(
            first_difference(&bytes),
            Some((b"HTTP/1.1 200".to_vec(), b"HTTP/1.0 200".to_vec(), 7))
        );
    }

    #[test]
    fn the_learners_output_is_its_last_forty_lines_escaped() {
        let mut r = result(Err(Failure::new("r", "p")));
        let printed: String = (1..=45).map(|n| format!("line {n}\n")).collect();
        r.learner_output = Some((printed.into_bytes(), b"<oops>\x1b[31m".to_vec()));
        let mut out = String::new();
        learner_output(&mut out, &r);
        assert!(
            out.contains("your program's stdout (last lines)</summary><pre>line 6\n"),
            "{out}"
        );
        assert!(
            !out.contains("\nline 5\n") && !out.contains(">line 5\n"),
            "{out}"
        );
        assert!(out.contains("line 45</pre>"), "{out}");
        assert!(
            out.contains(
                "your program's stderr (last lines)</summary><pre>&lt;oops&gt;\\x1b[31m</pre>"
            ),
            "{out}"
        );
    }
}
