//! The time in a learner's `Ping <seq> <time>`: whatever their clock printed.
//!
//! The lab does not fix a format, so labs reads what it can and never fails a step on the
//! time alone. Two forms can be compared with labs' clock:
//!
//! - seconds since 1970 (`time.time()`: `1767268800.123456`), or the same in milliseconds or
//!   nanoseconds (`time.time_ns()`);
//! - a time of day, `HH:MM:SS` with optional fraction, wherever it stands in the text:
//!   `datetime.now()` (`2026-12-06 21:00:12.345678`), `time.ctime()`
//!   (`Mon Dec  7 03:14:54 2026`), ISO 8601 (`2026-12-06T21:00:12`), `strftime('%H:%M:%S')`.
//!
//! A time of day is the learner's local time, and labs does not know their zone. Every zone in
//! use is a whole number of quarter hours from UTC, so labs compares the two clocks modulo 15
//! minutes: the remainder is the one-way delay plus whatever the clocks disagree by.
//! Everything else (`time.perf_counter()`, a date alone, words) is unreadable: a note, never a
//! failure.

/// What the time in a ping says, as far as labs can read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SentTime {
    /// Seconds since 1970 (converted from milliseconds or nanoseconds where it was given so).
    Unix(f64),
    /// Seconds since the learner's local midnight.
    TimeOfDay(f64),
    /// Nothing labs can compare with its clock.
    Unreadable,
}

/// A quarter hour: every time zone in use is a multiple of it away from UTC.
const ZONE_STEP: f64 = 900.0;

impl SentTime {
    /// Reads the time part of a ping (everything after the sequence number).
    pub fn read(text: &str) -> SentTime {
        let text = text.trim();
        if let Ok(number) = text.parse::<f64>() {
            // 2001-09-09 .. 2286-11-20 in seconds, and the same span in ms and ns.
            return match number {
                n if (1e9..1e10).contains(&n) => SentTime::Unix(n),
                n if (1e12..1e13).contains(&n) => SentTime::Unix(n / 1e3),
                n if (1e18..1e19).contains(&n) => SentTime::Unix(n / 1e9),
                _ => SentTime::Unreadable,
            };
        }
        time_of_day(text).map_or(SentTime::Unreadable, SentTime::TimeOfDay)
    }

    /// How far labs' clock (`now`, seconds since 1970) is ahead of this time: the one-way delay
    /// when the clocks agree. A time of day is compared modulo the zone step, so the answer lies
    /// within ±7.5 minutes. `None` when the time is unreadable.
    pub fn behind(self, now: f64) -> Option<f64> {
        match self {
            SentTime::Unix(t) => Some(now - t),
            SentTime::TimeOfDay(t) => {
                let diff = (now - t).rem_euclid(ZONE_STEP);
                Some(if diff > ZONE_STEP / 2.0 {
                    diff - ZONE_STEP
                } else {
                    diff
                })
            }
            SentTime::Unreadable => None,
        }
    }

    /// The form in words, for a note.
    pub fn form(self) -> &'static str {
        match self {
            SentTime::Unix(_) => "seconds since 1970",
            SentTime::TimeOfDay(_) => {
                "a time of day (your local time; labs compares it modulo the time zone)"
            }
            SentTime::Unreadable => "a form labs cannot compare with its clock",
        }
    }
}

/// The first `H:MM:SS` or `HH:MM:SS(.fff)` in `text`, as seconds since midnight.
fn time_of_day(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let digits = |from: usize| {
        bytes[from.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let number = |from: usize, len: usize| text[from..from + len].parse::<u32>().ok();
    for start in 0..bytes.len() {
        if start > 0 && bytes[start - 1].is_ascii_digit() {
            continue;
        }
        let h_len = digits(start);
        if !(1..=2).contains(&h_len) {
            continue;
        }
        let m = start + h_len + 1;
        let s = m + 3;
        if bytes.get(m - 1) != Some(&b':')
            || digits(m) != 2
            || bytes.get(s - 1) != Some(&b':')
            || digits(s) != 2
        {
            continue;
        }
        let (Some(h), Some(mi), Some(se)) = (number(start, h_len), number(m, 2), number(s, 2))
        else {
            continue;
        };
        if h > 23 || mi > 59 || se > 60 {
            continue;
        }
        let mut seconds = f64::from(h * 3600 + mi * 60 + se);
        let after = s + 2;
        if matches!(bytes.get(after), Some(b'.' | b',')) {
            let f_len = digits(after + 1);
            if f_len > 0 {
                if let Ok(fraction) =
                    format!("0.{}", &text[after + 1..after + 1 + f_len]).parse::<f64>()
                {
                    seconds += fraction;
                }
            }
        }
        return Some(seconds);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_common_clocks_are_read() {
        assert_eq!(SentTime::read("1767268800.5"), SentTime::Unix(1767268800.5));
        assert_eq!(
            SentTime::read("1767268800500"),
            SentTime::Unix(1767268800.5)
        );
        assert_eq!(
            SentTime::read("1767268800500000000"),
            SentTime::Unix(1767268800.5)
        );
        assert_eq!(
            SentTime::read("2026-12-06 21:00:12.25"),
            SentTime::TimeOfDay(75612.25)
        );
        assert_eq!(
            SentTime::read("Mon Dec  7 03:14:54 2026"),
            SentTime::TimeOfDay(11694.0)
        );
        assert_eq!(
            SentTime::read("2026-12-06T21:00:12+01:00"),
            SentTime::TimeOfDay(75612.0)
        );
        assert_eq!(SentTime::read("9:05:01"), SentTime::TimeOfDay(32701.0));
    }

    #[test]
    fn anything_else_is_unreadable_not_an_error() {
        for text in [
            "12345.678",
            "",
            "now",
            "2026-12-06",
            "21:00",
            "25:00:00",
            "121:00:00",
        ] {
            assert_eq!(SentTime::read(text), SentTime::Unreadable, "{text}");
        }
    }

    #[test]
    fn a_time_of_day_is_compared_modulo_the_zone() {
        // 2026-01-01T12:00:00Z is 1767268800; a learner at UTC+05:45 sent 17:45:00.2.
        let now = 1767268800.25;
        let behind = SentTime::TimeOfDay(17.0 * 3600.0 + 45.0 * 60.0 + 0.2)
            .behind(now)
            .unwrap();
        assert!((behind - 0.05).abs() < 1e-6, "{behind}");
        // A clock a little ahead gives a small negative figure, not 15 minutes.
        let ahead = SentTime::TimeOfDay(12.0 * 3600.0 + 0.5)
            .behind(now)
            .unwrap();
        assert!((ahead + 0.25).abs() < 1e-6, "{ahead}");
        assert_eq!(SentTime::Unix(now - 2.0).behind(now), Some(2.0));
        assert_eq!(SentTime::Unreadable.behind(now), None);
    }
}
