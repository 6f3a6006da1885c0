//! What a load run measured, merged across threads, printed for people or as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use hdrhistogram::Histogram;

/// The longest latency the histogram tells apart (an hour, in nanoseconds); longer ones count as
/// an hour. Below it every value is kept to 3 significant digits (0.1 %).
const LATENCY_HIGHEST_NS: u64 = 3_600_000_000_000;

/// An empty latency histogram: nanoseconds from 1 ns to an hour, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_HIGHEST_NS, 3).expect("the bounds are valid")
}

/// The percentiles the summary lists, as wrk's latency distribution does.
pub const DISTRIBUTION: [f64; 6] = [50.0, 75.0, 90.0, 99.0, 99.9, 100.0];

/// Counts kept by one event loop, merged at the end.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency of each completed request, in nanoseconds.
    pub latency: Histogram<u64>,
    /// Final responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Failed requests by kind ("connect refused", "timeout", "bad response: ...").
    pub errors: BTreeMap<String, u64>,
    /// Bytes read from the server.
    pub bytes_read: u64,
    /// Bytes written to the server.
    pub bytes_written: u64,
    /// Connections opened (one per request with --close).
    pub connects: u64,
    /// Kept-alive connections the server had closed while idle, opened again and retried.
    pub reconnects: u64,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            latency: latency_histogram(),
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            bytes_read: 0,
            bytes_written: 0,
            connects: 0,
            reconnects: 0,
        }
    }
}

impl Tally {
    /// Counts a completed request's latency (an hour or more counts as an hour).
    pub fn record_latency(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency
            .saturating_record(ns.clamp(1, LATENCY_HIGHEST_NS));
    }

    /// Adds another loop's counts.
    pub fn merge(&mut self, other: &Tally) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.bytes_read += other.bytes_read;
        self.bytes_written += other.bytes_written;
        self.connects += other.connects;
        self.reconnects += other.reconnects;
    }

    /// Counts one failure.
    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    /// Requests that got a response.
    pub fn completed(&self) -> u64 {
        self.latency.len()
    }

    /// The latency at percentile `p` (0..=100), in nanoseconds (0 when nothing completed).
    pub fn latency_at(&self, p: f64) -> u64 {
        if self.latency.is_empty() {
            0
        } else {
            self.latency.value_at_percentile(p)
        }
    }

    /// Requests that failed.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The URL driven.
    pub url: String,
    /// Connections.
    pub connections: usize,
    /// Event-loop threads.
    pub threads: usize,
    /// Kept-alive connections (false with --close).
    pub keep_alive: bool,
    /// The pacing asked for, if any.
    pub rate: Option<f64>,
    /// Wall time from the first connect to the last response.
    pub elapsed: Duration,
    /// Everything counted.
    pub tally: Tally,
    /// Stopped early by Ctrl-C: the figures are those measured until then.
    pub interrupted: bool,
}

fn ms(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms < 1.0 {
        format!("{:.0}us", ns as f64 / 1e3)
    } else if ms < 100.0 {
        format!("{ms:.2}ms")
    } else {
        format!("{ms:.0}ms")
    }
}

fn bytes(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64)
    } else if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

impl Report {
    /// Completed requests per second.
    pub fn requests_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.tally.completed() as f64 / secs
        } else {
            0.0
        }
    }

    /// The report for a person.
    pub fn text(&self) -> String {
        let t = &self.tally;
        let mut out = String::new();
        if self.interrupted {
            let _ = writeln!(
                out,
                "interrupted (Ctrl-C) after {:.2}s: what was measured until then",
                self.elapsed.as_secs_f64()
            );
        }
        let mode = if self.keep_alive {
            "keep-alive"
        } else {
            "a new connection per request"
        };
        let _ = writeln!(
            out,
            "{} requests to {} in {:.2}s over {} connection{} ({mode}, {} thread{}{})",
            t.completed(),
            self.url,
            self.elapsed.as_secs_f64(),
            self.connections,
            if self.connections == 1 { "" } else { "s" },
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            self.rate
                .map(|r| format!(", paced at {r} req/s"))
                .unwrap_or_default(),
        );
        let _ = writeln!(
            out,
            "  {:.0} req/s   {} read ({}/s)   {} written",
            self.requests_per_second(),
            bytes(t.bytes_read),
            bytes((t.bytes_read as f64 / self.elapsed.as_secs_f64().max(1e-9)) as u64),
            bytes(t.bytes_written)
        );
        let h = &t.latency;
        if h.is_empty() {
            let _ = writeln!(out, "  latency  (no request completed)");
        } else {
            let _ = writeln!(
                out,
                "  latency  min {}  p50 {}  p90 {}  p99 {}  max {}  mean {}  stdev {}",
                ms(h.min()),
                ms(t.latency_at(50.0)),
                ms(t.latency_at(90.0)),
                ms(t.latency_at(99.0)),
                ms(h.max()),
                ms(h.mean() as u64),
                ms(h.stdev() as u64)
            );
            let _ = writeln!(out, "  latency distribution");
            let widest = t.latency_at(100.0).max(1) as f64;
            for p in DISTRIBUTION {
                let at = t.latency_at(p);
                let bar = ((at as f64 / widest) * 30.0).round() as usize;
                let _ = writeln!(
                    out,
                    "    {:>6}  {:>8}  {}",
                    format!("{p}%"),
                    ms(at),
                    "#".repeat(bar.max(1))
                );
            }
        }
        let statuses: Vec<String> = t
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        let _ = writeln!(
            out,
            "  status   {}",
            if statuses.is_empty() {
                "none".to_string()
            } else {
                statuses.join("  ")
            }
        );
        if t.errors.is_empty() {
            let _ = writeln!(out, "  errors   none");
        } else {
            let _ = writeln!(out, "  errors   {} in all", t.failed());
            for (kind, n) in &t.errors {
                let _ = writeln!(out, "    {n:>8}  {kind}");
            }
        }
        let _ = writeln!(
            out,
            "  connections opened {}{}",
            t.connects,
            if t.reconnects > 0 {
                format!(
                    " ({} reopened after the server closed them while idle)",
                    t.reconnects
                )
            } else {
                String::new()
            }
        );
        out
    }

    /// The report as JSON (latencies in microseconds).
    pub fn json(&self) -> Value {
        let t = &self.tally;
        let h = &t.latency;
        let us = |ns: u64| ns as f64 / 1e3;
        json!({
            "url": self.url,
            "connections": self.connections,
            "threads": self.threads,
            "keep_alive": self.keep_alive,
            "rate": self.rate,
            "duration_s": self.elapsed.as_secs_f64(),
            "requests": t.completed(),
            "errors_total": t.failed(),
            "requests_per_second": self.requests_per_second(),
            "bytes_read": t.bytes_read,
            "bytes_written": t.bytes_written,
            "connections_opened": t.connects,
            "reconnects": t.reconnects,
            "latency_us": {
                "min": us(h.min()),
                "p50": us(t.latency_at(50.0)),
                "p90": us(t.latency_at(90.0)),
                "p99": us(t.latency_at(99.0)),
                "max": us(h.max()),
                "mean": h.mean() / 1e3,
            },
            "status": t.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "errors": t.errors.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut tally = Tally::default();
        for ms in [1, 2, 3] {
            tally.record_latency(Duration::from_millis(ms));
        }
        tally.statuses.insert(200, 2);
        tally.statuses.insert(404, 1);
        tally.error("timeout");
        tally.bytes_read = 3000;
        tally.connects = 2;
        Report {
            url: "http://127.0.0.1:1/".into(),
            connections: 2,
            threads: 1,
            keep_alive: true,
            rate: None,
            elapsed: Duration::from_secs(1),
            tally,
            interrupted: false,
        }
    }

    #[test]
    fn text_report_names_every_figure() {
        let text = sample().text();
        for needle in [
            "3 requests",
            "3 req/s",
            "p50 2.0",
            "p99 3.00ms",
            "200: 2",
            "404: 1",
            "timeout",
            "2.9 KiB read",
            "latency distribution",
            "99.9%",
        ] {
            assert!(text.contains(needle), "{needle:?} missing in:\n{text}");
        }
    }

    #[test]
    fn percentiles_come_from_the_histogram_within_its_precision() {
        let mut tally = Tally::default();
        for us in 1..=10_000u64 {
            tally.record_latency(Duration::from_micros(us));
        }
        for (p, exact) in [(50.0, 5_000_000u64), (90.0, 9_000_000), (99.0, 9_900_000)] {
            let got = tally.latency_at(p);
            let err = (got as f64 - exact as f64).abs() / exact as f64;
            assert!(err <= 0.001, "p{p}: {got} vs {exact}");
        }
        assert!(tally.latency_at(100.0) >= 10_000_000);
        assert_eq!(Tally::default().latency_at(99.0), 0);
        // An hour or more is counted, as an hour.
        tally.record_latency(Duration::from_secs(7200));
        assert_eq!(tally.completed(), 10_001);
    }

    #[test]
    fn an_interrupted_run_says_so_first() {
        let mut report = sample();
        report.interrupted = true;
        let text = report.text();
        assert!(
            text.starts_with("interrupted (Ctrl-C) after 1.00s"),
            "{text}"
        );
        assert!(text.contains("3 requests"), "{text}");
        // --json keeps its shape.
        assert_eq!(report.json(), sample().json());
    }

    #[test]
    fn json_report_has_the_same_figures() {
        let v = sample().json();
        assert_eq!(v["requests"], 3);
        assert_eq!(v["status"]["404"], 1);
        assert_eq!(v["errors"]["timeout"], 1);
        // The histogram keeps 3 significant digits: 3 ms is reported within 0.1 %.
        let max = v["latency_us"]["max"].as_f64().unwrap();
        assert!((max - 3000.0).abs() <= 3.0, "{max}");
    }

    #[test]
    fn merge_adds_everything() {
        let mut a = sample().tally;
        a.merge(&sample().tally);
        assert_eq!(a.completed(), 6);
        assert_eq!(a.statuses[&200], 4);
        assert_eq!(a.errors["timeout"], 2);
        assert_eq!(a.bytes_read, 6000);
    }
}
