//! Durations as people type them on a command line or in a config file.
//!
//! The syntax is humantime's: a number and a unit, several of them in a row if you like
//! (`1.5s`, `500ms`, `1m`, `2m 30s`, `1h`). A bare number (`10`, `0.2`) is seconds: that is what
//! every protolab flag meant before units were accepted, and what iputils ping's `-i` means.

use std::time::Duration;

/// Parses `1.5s`, `500ms`, `1m`, `2m 30s`, or a bare number of seconds (`10`, `0.2`).
///
/// For clap: `#[arg(long, value_parser = cmdline::parse_duration)]`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(hint(text, "it is empty"));
    }
    if is_bare_number(t) {
        let seconds: f64 = t.parse().map_err(|_| hint(text, "not a number"))?;
        return Duration::try_from_secs_f64(seconds).map_err(|_| hint(text, "too large"));
    }
    if t.starts_with('-') {
        return Err(hint(text, "a duration cannot be negative"));
    }
    humantime::parse_duration(t).map_err(|e| hint(text, &e.to_string()))
}

/// Like [`parse_duration`], but zero is refused (an interval or a deadline of nothing).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err(format!(
            "`{text}` is zero; give a positive duration such as 1.5s, 500ms or 1m"
        ));
    }
    Ok(d)
}

/// Writes a duration so that [`parse_duration`] reads it back: `10s`, `500ms`, `1s 500ms`, `2m`.
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    humantime::format_duration(d).to_string()
}

/// Digits with at most one dot, nothing else: `10`, `0.2`, `.5`, `3.`.
fn is_bare_number(t: &str) -> bool {
    let mut dots = 0;
    let mut digits = 0;
    for c in t.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' => dots += 1,
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}

fn hint(text: &str, why: &str) -> String {
    format!(
        "`{text}` is not a duration ({why}); write it like 1.5s, 500ms, 1m or 2m 30s \
         (a bare number is seconds)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_fractions_and_bare_seconds() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("1.5s", ms(1500)),
            ("500ms", ms(500)),
            ("1m", ms(60_000)),
            ("2m 30s", ms(150_000)),
            ("2m30s", ms(150_000)),
            ("1h", ms(3_600_000)),
            ("10", ms(10_000)),
            ("0.2", ms(200)),
            (" 3 ", ms(3000)),
            ("0", ms(0)),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn nonsense_is_refused_with_an_example() {
        for text in [
            "",
            "soon",
            "-1s",
            "-1",
            "1.2.3",
            "5 parsecs",
            "inf",
            "nan",
            "1e3",
        ] {
            let e = parse_duration(text).unwrap_err();
            assert!(e.contains("1.5s, 500ms"), "{text}: {e}");
        }
        assert!(parse_positive_duration("0s").unwrap_err().contains("zero"));
        assert_eq!(parse_positive_duration("2s"), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn formatted_durations_read_back() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(500),
            Duration::from_millis(1500),
            Duration::from_secs(10),
            Duration::from_secs(120),
        ] {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
    }
}
