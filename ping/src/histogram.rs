//! `ping --histogram`: the round-trip times drawn in the terminal after the statistics.
//!
//! Two pictures of the same run:
//!
//! - a histogram: the replies' round-trip times in equal-width bins from the fastest to the
//!   slowest, a bar of `█` per bin scaled to the fullest one, and the count;
//! - a sparkline: one mark per probe in sequence order, `▁` (the fastest) to `█` (the slowest),
//!   and `!` for a probe that got no reply in time (timed out, or port unreachable).
//!
//! ```text
//! rtt histogram (ms), 8 replies:
//!   0.040 - 0.060  ████████████████████████  5
//!   0.060 - 0.080  ██████████               2
//!   0.080 - 0.100  █████                    1
//! by seq (1-10, ▁ fastest, █ slowest, ! lost):
//!   ▁▁▂!▁▁█▁!▃
//! ```
//!
//! Scope: arithmetic and text only; what counts as a reply or a loss is the pinger's (late
//! replies count as lost, duplicates are not a second reply).

use std::collections::BTreeMap;
use std::time::Duration;

use cmdline::Paint;
use wire::ping::stats::Millis;

/// The sparkline's marks, fastest first.
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// The widest bar of the histogram, in characters.
const BAR_WIDTH: usize = 24;
/// Most bins of the histogram.
const MAX_BINS: usize = 8;
/// Sparkline marks per line.
const LINE_MARKS: usize = 60;

/// What became of each probe, by sequence number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    probes: BTreeMap<u64, Option<Duration>>,
}

/// One bin of the histogram: replies with `low <= rtt < high` (the last bin holds `high` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bin {
    /// The bin's lower edge.
    pub low: Duration,
    /// The bin's upper edge.
    pub high: Duration,
    /// Replies in the bin.
    pub count: usize,
}

impl Timeline {
    /// Probe `seq` was answered in `rtt` (the first answer counts; a duplicate changes nothing).
    pub fn reply(&mut self, seq: u64, rtt: Duration) {
        self.probes.entry(seq).or_insert(Some(rtt));
    }

    /// Probe `seq` got no answer in time.
    pub fn lost(&mut self, seq: u64) {
        self.probes.entry(seq).or_insert(None);
    }

    /// Every round-trip time, in sequence order.
    pub fn rtts(&self) -> Vec<Duration> {
        self.probes.values().flatten().copied().collect()
    }

    /// The histogram's bins: about the square root of the replies, at most [`MAX_BINS`], one
    /// when every reply took the same time; none without replies.
    pub fn bins(&self) -> Vec<Bin> {
        let rtts = self.rtts();
        let (Some(&min), Some(&max)) = (rtts.iter().min(), rtts.iter().max()) else {
            return Vec::new();
        };
        let span = (max - min).as_nanos();
        let n = if span == 0 {
            1
        } else {
            (rtts.len() as f64)
                .sqrt()
                .ceil()
                .clamp(1.0, MAX_BINS as f64) as usize
        };
        let width = span.div_ceil(n as u128).max(1);
        let edge = |i: usize| min + Duration::from_nanos((width * i as u128) as u64);
        let mut bins: Vec<Bin> = (0..n)
            .map(|i| Bin {
                low: edge(i),
                high: if i + 1 == n { max } else { edge(i + 1) },
                count: 0,
            })
            .collect();
        for rtt in rtts {
            let i = (((rtt - min).as_nanos() / width) as usize).min(n - 1);
            bins[i].count += 1;
        }
        bins
    }

    /// One mark per probe in sequence order (see the module doc).
    pub fn sparkline(&self) -> String {
        let rtts = self.rtts();
        let min = rtts.iter().min().copied().unwrap_or_default();
        let max = rtts.iter().max().copied().unwrap_or_default();
        let span = (max - min).as_secs_f64();
        self.probes
            .values()
            .map(|probe| match probe {
                None => '!',
                Some(_) if span == 0.0 => LEVELS[0],
                Some(rtt) => {
                    let at = (*rtt - min).as_secs_f64() / span;
                    LEVELS
                        [((at * (LEVELS.len() - 1) as f64).round() as usize).min(LEVELS.len() - 1)]
                }
            })
            .collect()
    }

    /// Both pictures, for the terminal; empty when no probe was sent.
    pub fn render(&self, paint: Paint) -> String {
        let (Some(first), Some(last)) = (self.probes.keys().next(), self.probes.keys().last())
        else {
            return String::new();
        };
        let bins = self.bins();
        let mut out = String::new();
        if bins.is_empty() {
            out.push_str("rtt histogram: no replies\n");
        } else {
            let replies: usize = bins.iter().map(|b| b.count).sum();
            let fullest = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1);
            out += &format!(
                "rtt histogram (ms), {replies} repl{}:\n",
                if replies == 1 { "y" } else { "ies" }
            );
            for bin in &bins {
                let bar = "█".repeat((bin.count * BAR_WIDTH).div_ceil(fullest));
                out += &format!(
                    "  {} - {}  {bar:<BAR_WIDTH$} {:>2}\n",
                    Millis(bin.low),
                    Millis(bin.high),
                    bin.count
                );
            }
        }
        out += &format!("by seq ({first}-{last}, ▁ fastest, █ slowest, ! lost):\n");
        let marks: Vec<char> = self.sparkline().chars().collect();
        for line in marks.chunks(LINE_MARKS) {
            let painted: String = line
                .iter()
                .map(|&c| {
                    if c == '!' {
                        paint.warn("!")
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            out += &format!("  {painted}\n");
        }
        out
    }

    /// The bins and the sparkline for `--json --histogram`.
    pub fn json(&self) -> serde_json::Value {
        let bins: Vec<serde_json::Value> = self
            .bins()
            .iter()
            .map(|b| {
                serde_json::json!({
                    "low_ms": crate::client::ms(b.low),
                    "high_ms": crate::client::ms(b.high),
                    "count": b.count,
                })
            })
            .collect();
        serde_json::json!({"bins": bins, "sparkline": self.sparkline()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    fn timeline(probes: &[Option<u64>]) -> Timeline {
        let mut t = Timeline::default();
        for (i, p) in probes.iter().enumerate() {
            match p {
                Some(rtt) => t.reply(i as u64 + 1, us(*rtt)),
                None => t.lost(i as u64 + 1),
            }
        }
        t
    }

    #[test]
    fn bins_run_from_the_fastest_to_the_slowest_and_hold_every_reply() {
        let t = timeline(&[Some(40), Some(45), None, Some(60), Some(100), Some(41)]);
        let bins = t.bins();
        // Five replies: three bins of 20 µs.
        assert_eq!(
            bins,
            vec![
                Bin {
                    low: us(40),
                    high: us(60),
                    count: 3
                },
                Bin {
                    low: us(60),
                    high: us(80),
                    count: 1
                },
                Bin {
                    low: us(80),
                    high: us(100),
                    count: 1
                },
            ]
        );
        assert_eq!(t.rtts(), vec![us(40), us(45), us(60), us(100), us(41)]);
    }

    #[test]
    fn one_time_for_every_reply_is_one_bin_and_no_reply_is_none() {
        let same = timeline(&[Some(50), Some(50)]);
        assert_eq!(
            same.bins(),
            vec![Bin {
                low: us(50),
                high: us(50),
                count: 2
            }]
        );
        assert_eq!(same.sparkline(), "▁▁");
        let lost = timeline(&[None, None]);
        assert_eq!(lost.bins(), vec![]);
        assert_eq!(lost.sparkline(), "!!");
        assert_eq!(
            lost.render(Paint::PLAIN),
            "rtt histogram: no replies\nby seq (1-2, ▁ fastest, █ slowest, ! lost):\n  !!\n"
        );
        assert_eq!(Timeline::default().render(Paint::PLAIN), "");
    }

    #[test]
    fn the_sparkline_has_a_mark_per_probe_and_a_duplicate_changes_nothing() {
        let mut t = timeline(&[Some(10), Some(80), None, Some(45), Some(10)]);
        t.reply(2, us(10));
        t.lost(1);
        assert_eq!(t.sparkline(), "▁█!▅▁");
    }

    #[test]
    fn the_terminal_picture() {
        let t = timeline(&[Some(40), Some(45), None, Some(60), Some(100), Some(41)]);
        assert_eq!(
            t.render(Paint::PLAIN),
            "rtt histogram (ms), 5 replies:\n\
             \x20 0.040 - 0.060  ████████████████████████  3\n\
             \x20 0.060 - 0.080  ████████                  1\n\
             \x20 0.080 - 0.100  ████████                  1\n\
             by seq (1-6, ▁ fastest, █ slowest, ! lost):\n\
             \x20 ▁▂!▃█▁\n"
        );
        let long = timeline(&vec![Some(5); 130]);
        let rendered = long.render(Paint::PLAIN);
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines.len(), 3 + 3, "60 marks a line: {rendered}");
        assert_eq!(lines[5], format!("  {}", "▁".repeat(10)));
    }
}
