//! What a learner reads: track overviews, step texts, and check results.
//!
//! A passing check is one line. A failing one shows the rule, what happened, the conversation in
//! trace syntax (`C:`/`S:` lines with `\r\n` visible), a caret under the first byte that differs
//! from what was expected, the strict-versus-lenient diagnosis, a hint, and a command that
//! repeats the request by hand. Colour only on a terminal, and never with NO_COLOR.

use crate::catalog::{Step, Track};
use crate::exchange::{Event, Exchange, Hop, Party};
use crate::progress::Progress;
use crate::runner::StepResult;
use std::fmt::Write as _;
use wire::trace::{self, Tag, Trace, Transport};

/// Terminal styling: ANSI colours or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// Colour or not, as decided by `--color` (cmdline: on a terminal unless `NO_COLOR` is set).
    pub fn new(colour: bool) -> Style {
        Style { colour }
    }

    /// No colour at all (tests, JSON, files).
    pub fn plain() -> Style {
        Style { colour: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn pass(&self, t: &str) -> String {
        self.paint("32", t)
    }
    fn fail(&self, t: &str) -> String {
        self.paint("31;1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
}

/// `labs` with no arguments: every track and how far the learner is.
pub fn tracks_overview(tracks: &[&Track], progress: &Progress, style: &Style) -> String {
    let mut out = String::from("protolab labs: build it yourself, check it over the wire\n\n");
    for track in tracks {
        let required = track.steps.iter().filter(|s| !s.optional).count();
        let done = track
            .steps
            .iter()
            .filter(|s| !s.optional && progress.has_passed(&track.step_id(s)))
            .count();
        let _ = writeln!(
            out,
            "  {:<10} {:<68} {}",
            style.bold(track.id),
            track.title,
            style.dim(&format!("{done}/{required} steps"))
        );
    }
    out.push_str("\nlabs list TRACK shows its steps; labs next shows what to build next.\n");
    out
}

/// `labs list TRACK`: the steps with a mark for each passed one.
pub fn track_steps(track: &Track, progress: &Progress, style: &Style) -> String {
    let mut out = format!("{} — {}\n", style.bold(track.id), track.title);
    for (i, step) in track.steps.iter().enumerate() {
        let id = track.step_id(step);
        let mark = if progress.has_passed(&id) {
            style.pass("✓")
        } else {
            " ".to_string()
        };
        let optional = if step.optional {
            style.dim(" (optional)")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {mark} {:>2}. {:<28} {}{optional}",
            i + 1,
            id,
            step.title
        );
    }
    out
}

/// `labs show STEP`: the step's instructions.
pub fn step_text(track: &Track, index: usize, step: &Step, style: &Style) -> String {
    let id = track.step_id(step);
    let mut out = format!(
        "{} {}\n{}\n",
        style.bold(&format!(
            "{id} (step {} of {}):",
            index + 1,
            track.steps.len()
        )),
        style.bold(step.title),
        if step.optional {
            "This step is optional.\n"
        } else {
            ""
        }
    );
    out.push_str(step.text.trim_end());
    let _ = write!(
        out,
        "\n\nCheck it: labs check {id} {}\n",
        step.role.how_to_check()
    );
    out
}

/// The result of one step: one line when it passed (with its notes, such as bytes that passed
/// for this lab but would not for a stricter client; the command labs started is left out),
/// the whole story when it did not.
pub fn step_result(result: &StepResult, style: &Style) -> String {
    let name = format!("{:<24} {}", result.id, result.title);
    let failure = match &result.outcome {
        Ok(()) => {
            let mut out = format!("{} {name}\n", style.pass("PASS"));
            for note in &result.notes {
                if !note.starts_with(crate::check::STARTED_NOTE) {
                    let _ = writeln!(out, "  note:    {}", printable(note));
                }
            }
            return out;
        }
        Err(failure) => failure,
    };
    let mut out = format!("{} {name}\n", style.fail("FAIL"));
    let _ = writeln!(out, "  rule:    {}", printable(&failure.rule));
    let _ = writeln!(out, "  problem: {}", printable(&failure.problem));
    if let Some(crash) = &result.crash {
        let _ = writeln!(
            out,
            "  crash:   your program ended during this step: {crash}"
        );
    }
    for note in &result.notes {
        let _ = writeln!(out, "  note:    {}", printable(note));
    }
    for exchange in &result.exchanges {
        let mut lines = exchange_lines(exchange);
        if lines.is_empty() {
            continue;
        }
        if exchange.udp {
            elide_datagrams(&mut lines);
        }
        out.push('\n');
        for line in lines {
            let _ = writeln!(out, "    {}", style.dim(&line));
        }
    }
    if let (Some(expected), Some(got)) = (&failure.expected, &failure.got) {
        out.push('\n');
        out.push_str(&caret_diff(expected, got));
    }
    if let Some(diagnosis) = &failure.diagnosis {
        let _ = writeln!(out, "\n  diagnosis: {}", printable(diagnosis));
    }
    if let Some(hint) = &failure.hint {
        let _ = writeln!(out, "  hint:      {}", printable(hint));
    }
    if let Some((stdout, stderr)) = &result.learner_output {
        let stdout_tail: Vec<String> = {
            let text = String::from_utf8_lossy(stdout);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(8)..]
                .iter()
                .map(|l| l.to_string())
                .collect()
        };
        let parts = [
            ("stdout (last lines)", stdout_tail),
            ("stderr", crate::learner::stderr_excerpt(stderr)),
        ];
        for (name, lines) in parts {
            if !lines.is_empty() {
                let _ = writeln!(out, "  your program's {name}:");
                for line in lines {
                    let _ = writeln!(out, "    | {}", printable(&line));
                }
            }
        }
    }
    if let Some(cmd) = &result.reproduce {
        let _ = writeln!(out, "  try it:    {cmd}");
    }
    out.push('\n');
    out
}

/// The most datagram lines a text report shows of one UDP exchange (a server step sends
/// hundreds): the first ones and the last ones, with a line saying how many are left out.
/// `--json` and `--record` keep them all.
const DATAGRAM_LINES: usize = 24;

fn elide_datagrams(lines: &mut Vec<String>) {
    const HEAD: usize = 10;
    const TAIL: usize = 4;
    if lines.len() <= DATAGRAM_LINES {
        return;
    }
    let left_out = lines.len() - HEAD - TAIL;
    lines.splice(
        HEAD..lines.len() - TAIL,
        [format!(
            "# ... {left_out} more datagram lines (all of them: --record DIR or --json)"
        )],
    );
}

/// Text as it may go to a terminal: control characters (NUL, ESC and the rest, tab aside) are
/// written as `\xHH`, so a learner's bytes can never move the cursor or change colours.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn tag_of(exchange: &Exchange, party: Party) -> Tag {
    match (exchange.hop, party) {
        (Hop::ClientToProxy, Party::Labs) => return Tag::ClientToProxy,
        (Hop::ClientToProxy, Party::Learner) => return Tag::ProxyToClient,
        (Hop::ProxyToOrigin, Party::Learner) => return Tag::ProxyToOrigin,
        (Hop::ProxyToOrigin, Party::Labs) => return Tag::OriginToProxy,
        (Hop::Direct, _) => {}
    }
    match (party, exchange.learner_is_server) {
        (Party::Labs, true) | (Party::Learner, false) => Tag::Client,
        (Party::Labs, false) | (Party::Learner, true) => Tag::Server,
    }
}

fn exchange_to_trace(exchange: &Exchange) -> Trace {
    exchange_part_to_trace(exchange, &exchange.events)
}

pub(crate) fn exchange_part_to_trace(exchange: &Exchange, events: &[Event]) -> Trace {
    let mut t = Trace::new(if exchange.udp {
        Transport::Udp
    } else {
        Transport::Tcp
    });
    for event in events {
        match event {
            Event::Bytes(party, bytes) => t.push_bytes(tag_of(exchange, *party), bytes),
            Event::Closed(party) => t.push_event(tag_of(exchange, *party), trace::Event::Close),
            Event::Pause(d) => t.push_event(
                tag_of(exchange, Party::Labs),
                trace::Event::Wait {
                    millis: d.as_millis() as u64,
                },
            ),
            Event::Lost(party) => t.push_event(tag_of(exchange, *party), trace::Event::Lost),
            Event::TlsStarted => {}
        }
    }
    t
}

/// The exchange in trace syntax, one line per wire line, without metadata. Where TLS started,
/// a line says so: what follows was encrypted on the wire and is shown as plaintext.
pub fn exchange_lines(exchange: &Exchange) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, part) in exchange
        .events
        .split(|e| *e == Event::TlsStarted)
        .enumerate()
    {
        if i > 0 {
            lines.push("# (TLS from here on: shown decrypted)".to_string());
        }
        lines.extend(
            exchange_part_to_trace(exchange, part)
                .render()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    lines
}

/// The exchange as a complete `.trace` file with a title.
pub fn exchange_trace(exchange: &Exchange, title: &str) -> String {
    let mut t = exchange_to_trace(exchange);
    let _ = t.set_meta("title", title);
    t.render()
}

/// The byte offset in `got` where it stops matching `expected`, where `<any>` in `expected`
/// matches any run of bytes on one line. `None` when it matches.
pub fn first_difference(expected: &[u8], got: &[u8]) -> Option<usize> {
    const ANY: &[u8] = b"<any>";
    let mut e = 0;
    let mut g = 0;
    while e < expected.len() {
        if expected[e..].starts_with(ANY) {
            e += ANY.len();
            // The literal after the wildcard, up to the next wildcard or the end.
            let rest = &expected[e..];
            let lit_end = find(rest, ANY).unwrap_or(rest.len());
            let literal = &rest[..lit_end];
            if literal.is_empty() {
                // Trailing <any>: the rest of the line.
                while g < got.len() && got[g] != b'\r' && got[g] != b'\n' {
                    g += 1;
                }
                continue;
            }
            let line_end = got[g..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(got.len(), |p| g + p + 1);
            match find(&got[g..line_end.max(g)], literal)
                .or_else(|| find(&got[g..], literal).filter(|_| literal.contains(&b'\n')))
            {
                Some(p) => g += p,
                None => {
                    // Point at the end of the run the wildcard took.
                    let stop = got[g..]
                        .iter()
                        .position(|&b| b == b'\r' || b == b'\n')
                        .map_or(got.len(), |p| g + p);
                    return Some(stop);
                }
            }
            continue;
        }
        if g >= got.len() || got[g] != expected[e] {
            return Some(g);
        }
        e += 1;
        g += 1;
    }
    if g < got.len() {
        return Some(g);
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// "expected / got / caret" lines, escaped the way traces escape bytes, around the first line
/// that differs.
pub fn caret_diff(expected: &[u8], got: &[u8]) -> String {
    let Some(at) = first_difference(expected, got) else {
        return String::new();
    };
    // Show the wire line the difference is on.
    let line_start = got[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let line_end = got[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(got.len(), |p| at + p + 1);
    let shown = &got[line_start..line_end.max(line_start)];
    // The caret's column: the escaped line up to the differing byte, measured inside the whole
    // line (alone, a prefix ending in a space would be escaped `\x20`, as at the end of a line).
    let shown_text = trace::escape_inline(shown);
    let from_difference = trace::escape_inline(&got[at..line_end.max(at)]);
    let column = shown_text.chars().count() - from_difference.chars().count();
    // The expected line with the same index among lines.
    let line_no = got[..line_start].iter().filter(|&&b| b == b'\n').count();
    let expected_line: &[u8] = expected
        .split_inclusive(|&b| b == b'\n')
        .nth(line_no)
        .unwrap_or(b"");
    let what = match got.get(at) {
        Some(&b) => format!("byte {at} (0x{b:02x})"),
        None => format!("byte {at}: the response ended here"),
    };
    format!(
        "  expected: {}\n  got:      {}\n            {}^ first difference at {what}\n",
        trace::escape_inline(expected_line),
        shown_text,
        " ".repeat(column),
    )
}

/// The results as JSON: `{"passed": N, "failed": M, "not_run": [...], "steps": [...]}`, with
/// everything the text report says (and the exchanges of passing steps too). `not_run` names
/// the steps a run stopped before, as the text report's "Stopped at the first failed step".
pub fn json(results: &[StepResult], not_run: &[String]) -> String {
    let steps: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let mut step = serde_json::json!({
                "id": r.id,
                "title": r.title,
                "passed": r.passed(),
                "notes": r.notes,
                "exchanges": r.exchanges.iter().map(|e| exchange_lines(e).join("\n")).collect::<Vec<_>>(),
            });
            if let Some(crash) = &r.crash {
                step["crash"] = crash.clone().into();
            }
            if let Some((stdout, stderr)) = &r.learner_output {
                let text = String::from_utf8_lossy(stdout);
                step["stdout"] = text.lines().collect::<Vec<_>>().into();
                step["stderr"] = crate::learner::stderr_excerpt(stderr).into();
            }
            if let Some(cmd) = &r.reproduce {
                step["reproduce"] = cmd.clone().into();
            }
            if let Err(f) = &r.outcome {
                step["rule"] = f.rule.clone().into();
                step["problem"] = f.problem.clone().into();
                if let Some(d) = &f.diagnosis {
                    step["diagnosis"] = d.clone().into();
                }
                if let Some(h) = &f.hint {
                    step["hint"] = h.clone().into();
                }
                if let (Some(e), Some(g)) = (&f.expected, &f.got) {
                    step["expected"] = trace::escape_inline(e).into();
                    step["got"] = trace::escape_inline(g).into();
                    step["first_difference"] = first_difference(e, g).into();
                }
            }
            step
        })
        .collect();
    let passed = results.iter().filter(|r| r.passed()).count();
    serde_json::json!({
        "passed": passed,
        "failed": results.len() - passed,
        "not_run": not_run,
        "steps": steps,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Failure;
    use pretty_assertions::assert_eq;

    #[test]
    fn wildcards_match_within_a_line() {
        assert_eq!(
            first_difference(b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\n"),
            None
        );
        assert_eq!(
            first_difference(b"HTTP/1.1 200 <any>\r\n", b"HTTP/1.1 200 Fine\r\n"),
            None
        );
        assert_eq!(
            first_difference(b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\n"),
            Some(15)
        );
        assert_eq!(
            first_difference(b"Date: <any>\r\n", b"Date: Sun\n"),
            Some(9)
        );
        assert_eq!(first_difference(b"abc", b"abcd"), Some(3));
        assert_eq!(first_difference(b"abcd", b"abc"), Some(3));
        assert_eq!(
            first_difference(b"HTTP/1.1 <any>", b"HTTP/1.1 404 Not Found"),
            None
        );
    }

    #[test]
    fn the_caret_sits_under_the_bare_lf() {
        let diff = caret_diff(b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\n");
        assert_eq!(
            diff,
            "  expected: HTTP/1.1 200 OK\\r\\n\n  got:      HTTP/1.1 200 OK\\n\n                           ^ first difference at byte 15 (0x0a)\n"
        );
    }

    /// The column of the caret in a diff: where `^` is, and where the shown `got` line's
    /// escaped text has the byte at `at` (both counted from the start of the line).
    fn caret_columns(diff: &str) -> (usize, String) {
        let lines: Vec<&str> = diff.lines().collect();
        let caret = lines[2].find('^').expect("a caret line");
        let got = lines[1].strip_prefix("  got:      ").expect("a got line");
        (caret - "  got:      ".len(), got.to_string())
    }

    #[test]
    fn the_caret_sits_under_the_status_code_not_after_the_space_before_it() {
        let diff = caret_diff(b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 404 Not Found\r\n");
        let (column, got) = caret_columns(&diff);
        assert_eq!((column, &got[column..column + 3]), (9, "404"), "{diff}");
        // After a space, before bytes that are escaped: under the first escape.
        let diff = caret_diff(b"Ping 1 <text (UTF-8)>", b"Ping 1 \xff\x1b[2J");
        let (column, got) = caret_columns(&diff);
        assert_eq!((column, &got[column..]), (7, "\\xff\\x1b[2J"), "{diff}");
        // The reply ended after a space: the caret sits after the escaped space.
        let diff = caret_diff(b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 ");
        let (column, got) = caret_columns(&diff);
        assert_eq!(
            (column, got.as_str()),
            ("HTTP/1.1\\x20".len(), "HTTP/1.1\\x20"),
            "{diff}"
        );
    }

    /// A failed step with every part a report can have, and a passing one with a note.
    fn full_results() -> Vec<StepResult> {
        let mut exchange = Exchange::new(true);
        exchange.events.push(Event::Bytes(
            Party::Labs,
            b"GET /a%20b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ));
        exchange.events.push(Event::Bytes(
            Party::Learner,
            b"HTTP/1.1 200\r\n\r\n\x1b[31m".to_vec(),
        ));
        exchange.events.push(Event::Closed(Party::Learner));
        let failure = Failure::new(
            "A status line is HTTP-version SP status-code SP",
            "no space",
        )
        .bytes(
            b"HTTP/1.1 200 <any>\r\n".to_vec(),
            b"HTTP/1.1 200\r\n".to_vec(),
        )
        .diagnosis("curl accepts it; strict parsers do not")
        .hint("write the reason phrase, or at least the space");
        let stdout: String = (1..=12).map(|n| format!("served request {n}\n")).collect();
        let stderr = "Traceback (most recent call last):\n  File \"s.py\", line 9\nIndexError: list index out of range\n";
        let failed = StepResult {
            id: "http/respond".into(),
            number: 1,
            title: "Answer a request",
            outcome: Err(failure),
            exchanges: vec![exchange.clone()],
            notes: vec![
                "started your program: python3 s.py 4000".into(),
                "the two bytes after the file became part of the body".into(),
            ],
            learner_output: Some((stdout.into_bytes(), stderr.as_bytes().to_vec())),
            crash: Some("killed by SIGSEGV: signal 11".into()),
            reproduce: Some(
                "printf 'GET / HTTP/1.1\\r\\n\\r\\n' | client --raw - 127.0.0.1 4000".into(),
            ),
        };
        let passed = StepResult {
            id: "webserver/hello".into(),
            number: 2,
            title: "Serve HelloWorld.html",
            outcome: Ok(()),
            exchanges: vec![exchange],
            notes: vec!["no Content-Length, so the close ends the body".into()],
            learner_output: None,
            crash: None,
            reproduce: None,
        };
        vec![failed, passed]
    }

    /// Every line of the text report has its counterpart in `--json`, field by field: a line
    /// added to the text report without one fails here.
    #[test]
    fn json_carries_every_line_of_the_text_report() {
        let results = full_results();
        let json: serde_json::Value =
            serde_json::from_str(&json(&results, &["http/echo".to_string()])).unwrap();
        assert_eq!(json["passed"], 1);
        assert_eq!(json["failed"], 1);
        assert_eq!(json["not_run"], serde_json::json!(["http/echo"]));
        let text_of = |v: &serde_json::Value| printable(v.as_str().unwrap_or_default());
        let list_of = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().map(text_of).collect())
                .unwrap_or_default()
        };
        for (result, step) in results.iter().zip(json["steps"].as_array().unwrap()) {
            let text = step_result(result, &Style::plain());
            // Exchanges are trace text already (escaped), one wire line per line.
            let exchanges: Vec<&str> = step["exchanges"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| e.as_str().unwrap_or_default().lines())
                .collect();
            let mut seen = std::collections::BTreeSet::new();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let field = |prefix: &str| line.strip_prefix(prefix).map(str::to_string);
                let found = if let Some(rest) = field("PASS ").or_else(|| field("FAIL ")) {
                    assert_eq!(step["passed"], line.starts_with("PASS"), "{line}");
                    rest == format!("{:<24} {}", text_of(&step["id"]), text_of(&step["title"]))
                } else if let Some(v) = field("  rule:    ") {
                    v == text_of(&step["rule"])
                } else if let Some(v) = field("  problem: ") {
                    v == text_of(&step["problem"])
                } else if let Some(v) = field("  crash:   your program ended during this step: ") {
                    v == text_of(&step["crash"])
                } else if let Some(v) = field("  note:    ") {
                    list_of(&step["notes"]).contains(&v)
                } else if let Some(v) = field("  diagnosis: ") {
                    v == text_of(&step["diagnosis"])
                } else if let Some(v) = field("  hint:      ") {
                    v == text_of(&step["hint"])
                } else if let Some(v) = field("  try it:    ") {
                    v == text_of(&step["reproduce"])
                } else if let Some(v) = field("  expected: ") {
                    text_of(&step["expected"]).contains(&v)
                } else if let Some(v) = field("  got:      ") {
                    text_of(&step["got"]).contains(&v)
                } else if line.trim_start().starts_with("^ first difference at byte ") {
                    let at = step["first_difference"].as_u64().unwrap();
                    line.contains(&format!("at byte {at} "))
                } else if let Some(v) = field("    | ") {
                    list_of(&step["stdout"]).contains(&v) || list_of(&step["stderr"]).contains(&v)
                } else if line.starts_with("  your program's ") {
                    step["stdout"].is_array() && step["stderr"].is_array()
                } else if let Some(v) = field("    ") {
                    exchanges.contains(&v.as_str())
                } else {
                    false
                };
                assert!(found, "this text line is not in --json:\n{line}\n{step:#}");
                seen.insert(line.split(':').next().unwrap_or_default().to_string());
            }
            // The failed step exercised every kind of line.
            if !result.passed() {
                assert!(seen.len() >= 12, "{seen:?}");
            }
        }
    }

    #[test]
    fn exchanges_render_as_traces_with_the_learner_as_server() {
        let mut e = Exchange::new(true);
        e.events.push(Event::Bytes(
            Party::Labs,
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        ));
        e.events.push(Event::Bytes(
            Party::Learner,
            b"HTTP/1.1 200 OK\n\n".to_vec(),
        ));
        e.events.push(Event::Closed(Party::Learner));
        assert_eq!(
            exchange_lines(&e),
            vec![
                "C: GET / HTTP/1.1\\r\\n",
                "C: \\r\\n",
                "S: HTTP/1.1 200 OK\\n",
                "S: \\n",
                "S: <close>"
            ]
        );
    }
}
