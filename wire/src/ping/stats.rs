//! Round-trip statistics and the summary, printed exactly as iputils `ping` prints them.
//!
//! ```text
//! --- localhost ping statistics ---
//! 7 packets transmitted, 4 received, 42.8571% packet loss, time 6004ms
//! rtt min/avg/max/mdev = 0.040/0.073/0.138/0.045 ms
//! ```
//!
//! - The loss is `(transmitted - received) * 100 / transmitted` rounded to a 32-bit float and
//!   printed with C's `%g` (six significant digits, trailing zeros dropped): `0%`, `42.8571%`,
//!   `100%`. `+N duplicates` and `+N errors` appear after `received` only when not zero.
//! - `mdev` is the population standard deviation of the round-trip times:
//!   `sqrt(mean of squares - square of mean)`.
//! - The `rtt` line is left out when nothing came back.
//!
//! Only first, on-time replies count as received and enter the round-trip figures; duplicates
//! are counted apart, and a reply that comes after its probe timed out is counted as late (the
//! probe stays lost).

use std::fmt;
use std::time::Duration;

/// Counters and round-trip sums for one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Probes sent.
    pub transmitted: u64,
    /// Probes answered in time (first answer only).
    pub received: u64,
    /// Extra answers to a probe already answered.
    pub duplicates: u64,
    /// Answers that came after their probe had timed out.
    pub late: u64,
    /// Probes answered by an error (ICMP port unreachable) instead of an echo.
    pub errors: u64,
    min_us: Option<u128>,
    max_us: u128,
    sum_us: u128,
    sum_sq_us: u128,
}

/// The `rtt min/avg/max/mdev` figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttSummary {
    /// Shortest round trip.
    pub min: Duration,
    /// Mean round trip.
    pub avg: Duration,
    /// Longest round trip.
    pub max: Duration,
    /// Population standard deviation.
    pub mdev: Duration,
}

impl Statistics {
    /// Counts one received reply and its round-trip time.
    pub fn record_reply(&mut self, rtt: Duration) {
        self.received += 1;
        let us = rtt.as_micros();
        self.min_us = Some(self.min_us.map_or(us, |m| m.min(us)));
        self.max_us = self.max_us.max(us);
        self.sum_us += us;
        self.sum_sq_us += us * us;
    }

    /// The loss in percent, computed as iputils does (through a 32-bit float).
    pub fn loss_percent(&self) -> f64 {
        if self.transmitted == 0 {
            return 0.0;
        }
        let lost = self.transmitted.saturating_sub(self.received) as f64;
        f64::from((lost * 100.0 / self.transmitted as f64) as f32)
    }

    /// The round-trip figures, or `None` when nothing came back.
    ///
    /// Like iputils, in whole microseconds with integer division: `avg = sum / n` and
    /// `mdev = floor(sqrt(sum_of_squares / n - avg * avg))`.
    pub fn rtt(&self) -> Option<RttSummary> {
        let min = self.min_us?;
        let n = u128::from(self.received.max(1));
        let avg = self.sum_us / n;
        let variance = (self.sum_sq_us / n).saturating_sub(avg * avg);
        let us = |v: u128| Duration::from_micros(u64::try_from(v).unwrap_or(u64::MAX));
        Some(RttSummary {
            min: us(min),
            avg: us(avg),
            max: us(self.max_us),
            mdev: us(integer_sqrt(variance)),
        })
    }
}

/// The statistics at the end of a run, ready to print under a host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The counters and round-trip sums.
    pub statistics: Statistics,
    /// From the first probe to the end of the run.
    pub elapsed: Duration,
}

impl Summary {
    /// The three (or two) summary lines, each ending in `\n`, for `host` as the user typed it.
    pub fn render(&self, host: &str) -> String {
        let s = &self.statistics;
        let mut out = format!("--- {host} ping statistics ---\n");
        out += &format!(
            "{} packets transmitted, {} received",
            s.transmitted, s.received
        );
        if s.duplicates > 0 {
            out += &format!(", +{} duplicates", s.duplicates);
        }
        if s.errors > 0 {
            out += &format!(", +{} errors", s.errors);
        }
        if s.transmitted > 0 {
            out += &format!(
                ", {}% packet loss, time {}ms",
                format_g(s.loss_percent()),
                round_ms(self.elapsed)
            );
        }
        out.push('\n');
        if let Some(rtt) = s.rtt() {
            out += &format!(
                "rtt min/avg/max/mdev = {}/{}/{}/{} ms\n",
                Millis(rtt.min),
                Millis(rtt.avg),
                Millis(rtt.max),
                Millis(rtt.mdev)
            );
        }
        out
    }
}

/// The largest `r` with `r * r <= n` (Newton's method on integers).
fn integer_sqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    let mut x = n;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x
}

fn round_ms(d: Duration) -> u128 {
    (d.as_nanos() + 500_000) / 1_000_000
}

/// A duration in milliseconds with three decimals (whole microseconds), as the `rtt` line shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millis(pub Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        write!(f, "{}.{:03}", us / 1000, us % 1000)
    }
}

/// A reply's `time=` as iputils prints it: three decimals below 1 ms, two below 10 ms, one
/// below 100 ms, none above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTime(pub Duration);

impl fmt::Display for ReplyTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        if us >= 100_000 - 50 {
            write!(f, "{}", (us + 500) / 1000)
        } else if us >= 10_000 - 5 {
            let t = us + 50;
            write!(f, "{}.{}", t / 1000, (t % 1000) / 100)
        } else if us >= 1000 {
            let t = us + 5;
            write!(f, "{}.{:02}", t / 1000, (t % 1000) / 10)
        } else {
            write!(f, "{}.{:03}", us / 1000, us % 1000)
        }
    }
}

/// C's `printf("%g", x)`: six significant digits, trailing zeros removed, exponent form below
/// 1e-4 and from 1e6 on.
pub fn format_g(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return x.to_string();
    }
    let scientific = format!("{x:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..6).contains(&exponent) {
        let mantissa = trim_fraction(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let decimals = (5 - exponent) as usize;
    trim_fraction(&format!("{x:.decimals$}")).to_string()
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn percent_g_matches_c() {
        for (x, c) in [
            (0.0, "0"),
            (100.0, "100"),
            (50.0, "50"),
            (300.0 / 7.0, "42.8571"),
            (100.0 / 3.0, "33.3333"),
            (0.001, "0.001"),
            (100.0 / 300_000.0, "0.000333333"),
            (100.0 / 3_000_000.0, "3.33333e-05"),
            (1_234_567.0, "1.23457e+06"),
            (999_999.5, "1e+06"),
            (9.999_995, "10"),
        ] {
            assert_eq!(format_g(x), c, "{x}");
        }
    }

    #[test]
    fn loss_goes_through_a_float_like_iputils() {
        let s = Statistics {
            transmitted: 7,
            received: 4,
            ..Statistics::default()
        };
        assert_eq!(format_g(s.loss_percent()), "42.8571");
        let none = Statistics {
            transmitted: 3,
            ..Statistics::default()
        };
        assert_eq!(format_g(none.loss_percent()), "100");
    }

    #[test]
    fn mdev_is_the_population_standard_deviation() {
        let mut s = Statistics::default();
        for rtt in [40, 41, 138] {
            s.record_reply(us(rtt));
        }
        // mean 219 / 3 = 73, mean of squares 22325 / 3 = 7441, minus 73^2 = 2112; sqrt = 45.96.
        let rtt = s.rtt().unwrap();
        assert_eq!((rtt.min, rtt.avg, rtt.max), (us(40), us(73), us(138)));
        assert_eq!(rtt.mdev.as_micros(), 45);
    }

    #[test]
    fn integer_sqrt_floors() {
        for n in 0..10_000u128 {
            let r = integer_sqrt(n);
            assert!(r * r <= n && (r + 1) * (r + 1) > n, "{n}");
        }
    }

    #[test]
    fn renders_iputils_summary() {
        let mut statistics = Statistics {
            transmitted: 3,
            ..Statistics::default()
        };
        for rtt in [40, 41, 138] {
            statistics.record_reply(us(rtt));
        }
        let summary = Summary {
            statistics,
            elapsed: Duration::from_micros(2_036_400),
        };
        assert_eq!(
            summary.render("localhost"),
            "--- localhost ping statistics ---\n\
             3 packets transmitted, 3 received, 0% packet loss, time 2036ms\n\
             rtt min/avg/max/mdev = 0.040/0.073/0.138/0.045 ms\n"
        );
    }

    #[test]
    fn leaves_out_rtt_when_nothing_came_back_and_shows_dups_and_errors() {
        let statistics = Statistics {
            transmitted: 7,
            errors: 7,
            ..Statistics::default()
        };
        let summary = Summary {
            statistics,
            elapsed: Duration::from_millis(6004),
        };
        assert_eq!(
            summary.render("h"),
            "--- h ping statistics ---\n\
             7 packets transmitted, 0 received, +7 errors, 100% packet loss, time 6004ms\n"
        );
        let mut statistics = Statistics {
            transmitted: 7,
            duplicates: 2,
            ..Statistics::default()
        };
        for _ in 0..4 {
            statistics.record_reply(us(500));
        }
        let summary = Summary {
            statistics,
            elapsed: Duration::from_millis(6000),
        };
        assert_eq!(
            summary.render("h"),
            "--- h ping statistics ---\n\
             7 packets transmitted, 4 received, +2 duplicates, 42.8571% packet loss, time 6000ms\n\
             rtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms\n"
        );
    }

    #[test]
    fn reply_time_precision_follows_iputils() {
        assert_eq!(ReplyTime(us(40)).to_string(), "0.040");
        assert_eq!(ReplyTime(us(999)).to_string(), "0.999");
        assert_eq!(ReplyTime(us(1234)).to_string(), "1.23");
        assert_eq!(ReplyTime(us(9996)).to_string(), "10.0");
        assert_eq!(ReplyTime(us(12_345)).to_string(), "12.3");
        assert_eq!(ReplyTime(us(99_960)).to_string(), "100");
        assert_eq!(ReplyTime(us(1_234_567)).to_string(), "1235");
    }
}
