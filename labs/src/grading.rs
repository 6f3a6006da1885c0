//! Results for course tooling: JUnit XML for CI systems and a Gradescope `results.json`.
//!
//! Both are written from the same [`Graded`] rows that the text report and `--json` come from,
//! so one `labs check` run can print its report and write every file at once.
//!
//! - JUnit: one `<testsuite>` per track inside `<testsuites>`, one `<testcase>` per step
//!   (`name` = step id). A failed step has a `<failure>` whose `message` is the problem and
//!   whose text is the whole report; a passed step carries its report in `<system-out>`; a
//!   step not run (an earlier one failed without
//!   `--keep-going`) is `<skipped>`.
//! - Gradescope: `{"score": S, "output": ..., "tests": [{"name", "score", "max_score",
//!   "status", "output"}]}`. Each required step is worth 1 point and each optional step 0,
//!   unless a weights file says otherwise (an optional step it gives points to is then run
//!   without `--optional`: `labs check` selects it); a step not run scores 0.
//!
//! Out of scope: JUnit `<error>` (a step either passed or failed; labs' own faults are failures
//! that say so) and Gradescope's leaderboard and visibility fields.

use crate::catalog;
use crate::report::{self, Style};
use crate::runner::StepResult;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// One row of the results: a step that ran (with its result and time) or one that did not.
#[derive(Debug)]
pub struct Graded<'a> {
    /// `track/slug`.
    pub id: String,
    /// The step's title.
    pub title: &'static str,
    /// True for an optional step.
    pub optional: bool,
    /// The result, or `None` when the step was not run.
    pub result: Option<&'a StepResult>,
    /// How long the check took.
    pub time: Duration,
}

impl Graded<'_> {
    fn passed(&self) -> bool {
        self.result.is_some_and(StepResult::passed)
    }

    /// The report as text, exactly as `labs check` prints it without colour.
    fn output(&self) -> String {
        match self.result {
            Some(r) => report::step_result(r, &Style::plain()),
            None => format!(
                "NOT RUN {} {}: an earlier step failed (labs check --keep-going runs every step)\n",
                self.id, self.title
            ),
        }
    }

    fn problem(&self) -> String {
        match self.result.map(|r| &r.outcome) {
            Some(Err(f)) => f.problem.clone(),
            _ => String::new(),
        }
    }

    fn track(&self) -> &str {
        self.id.split('/').next().unwrap_or("labs")
    }
}

/// Points per step, from a `--weights` file.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Weights {
    points: BTreeMap<String, f64>,
}

impl Weights {
    /// Parses a weights file: one `STEP POINTS` per line (`http/echo 2`, `http/5 0.5`); blank
    /// lines and `#` comments are ignored. Steps are named as on the command line.
    pub fn parse(text: &str) -> Result<Weights, String> {
        let mut points = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(step), Some(value), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!(
                    "line {}: `{line}` is not `STEP POINTS` (for example `http/echo 2`)",
                    n + 1
                ));
            };
            let Some((track, _, found)) = catalog::find_step(step) else {
                return Err(format!(
                    "line {}: there is no step `{step}` (see `labs list TRACK`)",
                    n + 1
                ));
            };
            let value: f64 = match value.parse() {
                Ok(v) if f64::is_finite(v) && v >= 0.0 => v,
                _ => {
                    return Err(format!(
                        "line {}: `{value}` is not a number of points (0 or more, like 2 or 0.5)",
                        n + 1
                    ))
                }
            };
            points.insert(track.step_id(found), value);
        }
        Ok(Weights { points })
    }

    /// What a step is worth: the file's figure, else 1 for a required step and 0 for an
    /// optional one.
    pub fn of(&self, id: &str, optional: bool) -> f64 {
        self.points
            .get(id)
            .copied()
            .unwrap_or(if optional { 0.0 } else { 1.0 })
    }
}

/// The rows as JUnit XML (the structure Jenkins, GitLab and GitHub test reporters read).
pub fn junit(rows: &[Graded<'_>], run_name: &str) -> String {
    let mut tracks: Vec<&str> = Vec::new();
    for row in rows {
        if !tracks.contains(&row.track()) {
            tracks.push(row.track());
        }
    }
    let count = |rows: &mut dyn Iterator<Item = &Graded<'_>>| {
        let (mut tests, mut failures, mut skipped, mut time) = (0, 0, 0, 0.0);
        for r in rows {
            tests += 1;
            time += r.time.as_secs_f64();
            match r.result {
                None => skipped += 1,
                Some(res) if !res.passed() => failures += 1,
                Some(_) => {}
            }
        }
        format!(
            "tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\""
        )
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" {}>",
        xml_attr(run_name),
        count(&mut rows.iter())
    );
    for track in tracks {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" {}>",
            xml_attr(track),
            count(&mut rows.iter().filter(|r| r.track() == track))
        );
        for row in rows.iter().filter(|r| r.track() == track) {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"labs.{}\" time=\"{:.3}\"",
                xml_attr(&row.id),
                xml_attr(track),
                row.time.as_secs_f64()
            );
            match row.result {
                Some(r) if r.passed() => {
                    let _ = writeln!(
                        out,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        xml_text(&row.output())
                    );
                }
                Some(r) => {
                    let rule = r.outcome.as_ref().err().map_or("", |f| f.rule.as_str());
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        xml_attr(&row.problem()),
                        xml_attr(rule),
                        xml_text(&row.output())
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml_attr("not run: an earlier step failed (--keep-going runs every step)")
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The rows as a Gradescope autograder `results.json`.
pub fn gradescope(rows: &[Graded<'_>], weights: &Weights) -> String {
    let mut total = 0.0;
    let tests: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let max = weights.of(&row.id, row.optional);
            let score = if row.passed() { max } else { 0.0 };
            total += score;
            serde_json::json!({
                "name": format!("{} {}", row.id, row.title),
                "score": score,
                "max_score": max,
                "status": if row.passed() { "passed" } else { "failed" },
                "output": row.output(),
                "execution_time": row.time.as_secs_f64(),
            })
        })
        .collect();
    let passed = rows.iter().filter(|r| r.passed()).count();
    let value = serde_json::json!({
        "score": total,
        "output": format!("labs check: {passed} of {} steps passed", rows.len()),
        "tests": tests,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// `labs show autograder`: how a teacher grades a class with labs.
pub const AUTOGRADER_GUIDE: &str = "\
Grading with labs: Gradescope, and CI systems that read JUnit

labs check writes results that course tooling reads, in the same run as its text report:
  --junit FILE        JUnit XML: one <testcase> per step, the problem as the failure message
                      and the whole report as its text (a passed step's in <system-out>), as
                      Jenkins, GitLab and GitHub test reports read it
  --gradescope FILE   a Gradescope results.json: one test per step with score, max_score,
                      status (passed/failed) and output (the report), and the total score
  --weights FILE      points per step for --gradescope, one `STEP POINTS` a line:
                        # http track, out of 10
                        http/connect 1
                        http/echo    2
                        http/head    0.5
                      steps the file does not name are worth 1 (required) or 0 (optional);
                      an optional step the file gives points to is run and graded even
                      without --optional (labs says so on stderr)

Gradescope (programming assignment, autograder zip):
  setup.sh        install labs (copy the binary into /usr/local/bin) and the language the
                  students write in
  run_autograder  run the student's program from /autograder/submission, for example:
                    #!/usr/bin/env bash
                    cd /autograder/submission
                    labs check http --optional --keep-going \\
                      --run 'python3 server.py {port} {dir}/files' \\
                      --weights /autograder/source/weights.txt \\
                      --gradescope /autograder/results/results.json
  Use --keep-going so every step runs and scores (a step not run scores 0). Optional steps
  with points in the weights file run by themselves; --optional lists the others too, at 0
  points. labs exits 1 when a step fails; Gradescope reads the results file either way.

CI (a JUnit report next to the text one):
    labs check http --keep-going --run 'python3 server.py {port} {dir}/files' \\
      --junit labs-junit.xml
";

fn xml_attr(text: &str) -> String {
    xml_escape(text, true)
}

fn xml_text(text: &str) -> String {
    xml_escape(text, false)
}

/// Escapes for XML 1.0. Control characters XML cannot carry at all (the escape from a
/// learner's terminal output, say) become `\xHH`, the way traces write them.
fn xml_escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\x{:02x}", c as u32 & 0xff);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Failure;
    use pretty_assertions::assert_eq;

    fn result(id: &str, outcome: Result<(), Failure>) -> StepResult {
        StepResult {
            id: id.to_string(),
            number: 1,
            title: "a step",
            outcome,
            exchanges: Vec::new(),
            notes: Vec::new(),
            learner_output: None,
            crash: None,
            reproduce: None,
        }
    }

    #[test]
    fn weights_name_steps_as_the_command_line_does() {
        let w = Weights::parse("# out of 3\nhttp/echo 2\nhttp/1 0.5  # the first\n\n").unwrap();
        assert_eq!(w.of("http/echo", false), 2.0);
        assert_eq!(w.of("http/connect", false), 0.5);
        assert_eq!(w.of("http/respond", false), 1.0);
        assert_eq!(w.of("http/respond", true), 0.0);
        assert!(Weights::parse("http/nosuch 1")
            .unwrap_err()
            .contains("no step `http/nosuch`"));
        assert!(Weights::parse("http/echo lots")
            .unwrap_err()
            .contains("not a number"));
        assert!(Weights::parse("http/echo").unwrap_err().contains("line 1"));
    }

    #[test]
    fn junit_escapes_what_xml_cannot_carry() {
        assert_eq!(
            xml_attr("a<b & \"c\"\n\x1b[0m"),
            "a&lt;b &amp; &quot;c&quot;&#10;\\x1b[0m"
        );
        assert_eq!(xml_text("x\r\n"), "x\r\n");
    }

    #[test]
    fn gradescope_scores_passed_steps_and_zero_for_the_rest() {
        let ok = result("http/connect", Ok(()));
        let bad = result(
            "http/echo",
            Err(Failure::new("a rule", "Content-Length said 5 bytes")),
        );
        let rows = vec![
            Graded {
                id: ok.id.clone(),
                title: "a step",
                optional: false,
                result: Some(&ok),
                time: Duration::from_millis(5),
            },
            Graded {
                id: bad.id.clone(),
                title: "a step",
                optional: false,
                result: Some(&bad),
                time: Duration::from_millis(5),
            },
            Graded {
                id: "http/head".into(),
                title: "a step",
                optional: true,
                result: None,
                time: Duration::ZERO,
            },
        ];
        let w = Weights::parse("http/connect 3\nhttp/head 1").unwrap();
        let v: serde_json::Value = serde_json::from_str(&gradescope(&rows, &w)).unwrap();
        assert_eq!(v["score"], 3.0);
        assert_eq!(v["tests"][0]["status"], "passed");
        assert_eq!(v["tests"][1]["status"], "failed");
        assert_eq!(v["tests"][1]["max_score"], 1.0);
        assert_eq!(v["tests"][2]["max_score"], 1.0);
        assert_eq!(v["tests"][2]["score"], 0.0);
        assert!(v["tests"][1]["output"]
            .as_str()
            .unwrap()
            .contains("problem: Content-Length said 5 bytes"));
        let xml = junit(&rows, "labs check http");
        assert!(xml.contains("<testsuites name=\"labs check http\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""), "{xml}");
        assert!(
            xml.contains(
                "<failure message=\"Content-Length said 5 bytes\" type=\"a rule\">FAIL http/echo"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "classname=\"labs.http\" time=\"0.005\">\n      <system-out>PASS http/connect"
            ),
            "{xml}"
        );
    }
}
