//! Header fields curl writes from its own flags: `-r/--range` becomes `Range: bytes=...`
//! (RFC 9110 §14.2), `-z/--time-cond` becomes `If-Modified-Since` (§13.1.3), or with a leading
//! `-`, `If-Unmodified-Since` (§13.1.4), from a date or from a file's modification time.

use std::path::Path;
use std::time::SystemTime;

use wire::http1::date::HttpDate;

/// The `Range` value for `-r RANGES`: `0-63`, `-32`, `100-`, `0-9,32-41`.
pub fn range_header(ranges: &str) -> Result<String, String> {
    let ok = !ranges.is_empty()
        && ranges.split(',').all(|r| {
            let Some((first, last)) = r.trim().split_once('-') else {
                return false;
            };
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            digits(first)
                && digits(last)
                && !(first.is_empty() && last.is_empty())
                && match (first.parse::<u64>(), last.parse::<u64>()) {
                    (Ok(a), Ok(b)) => a <= b,
                    _ => true,
                }
        });
    if !ok {
        return Err(format!(
            "-r {ranges:?}: write byte ranges as FIRST-LAST (0-63), -SUFFIX (-32: the last 32 bytes), FIRST- (to the end), or several with commas (0-9,32-41)"
        ));
    }
    Ok(format!("bytes={}", ranges.replace(' ', "")))
}

/// `-z` worked out: which field and its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeCondition {
    /// `If-Modified-Since` or, with a leading `-`, `If-Unmodified-Since`.
    pub field: &'static str,
    /// The date, as IMF-fixdate.
    pub date: String,
    /// Where the date came from, for `-v`.
    pub source: String,
}

/// Reads `-z`: an existing file's modification time, else a date (the HTTP forms of RFC 9110
/// §5.6.7, or `YYYY-MM-DD` with an optional `HH:MM[:SS]`, in UTC). A leading `-` asks for
/// `If-Unmodified-Since`. `now` reads the RFC 850 form's two-digit year.
pub fn time_condition(arg: &str, now: SystemTime) -> Result<TimeCondition, String> {
    let (field, rest) = match arg.strip_prefix('-') {
        Some(rest) => ("If-Unmodified-Since", rest),
        None => ("If-Modified-Since", arg),
    };
    let path = Path::new(rest);
    if path.is_file() {
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| format!("-z {arg:?}: cannot read the file's time: {e}"))?;
        let date = to_http_date(modified)
            .ok_or_else(|| format!("-z {arg:?}: the file's time cannot be written as a date"))?;
        return Ok(TimeCondition {
            field,
            date,
            source: format!("the modification time of {}", path.display()),
        });
    }
    let now = to_http_date_value(now).unwrap_or(HttpDate::UNIX_EPOCH);
    let parsed = HttpDate::parse(rest.as_bytes(), now)
        .ok()
        .or_else(|| parse_iso(rest.trim()));
    match parsed {
        Some(date) => Ok(TimeCondition {
            field,
            date: String::from_utf8_lossy(&date.to_imf_fixdate()).into_owned(),
            source: format!("the date {rest:?}"),
        }),
        None => Err(format!(
            "-z {arg:?} is neither a file nor a date; write a date as 'Sat, 01 Jan 2050 00:00:00 GMT' or 2050-01-01 (UTC), or name a file to use its modification time"
        )),
    }
}

fn to_http_date_value(time: SystemTime) -> Option<HttpDate> {
    let seconds = match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        Err(e) => -i64::try_from(e.duration().as_secs()).ok()?,
    };
    HttpDate::from_unix_seconds(seconds)
}

fn to_http_date(time: SystemTime) -> Option<String> {
    to_http_date_value(time).map(|d| String::from_utf8_lossy(&d.to_imf_fixdate()).into_owned())
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DDTHH:MM:SS`, an optional `Z`; UTC.
fn parse_iso(text: &str) -> Option<HttpDate> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut ymd = date.split('-');
    let year: u16 = ymd.next()?.parse().ok()?;
    let month: u8 = ymd.next()?.parse().ok()?;
    let day: u8 = ymd.next()?.parse().ok()?;
    if ymd.next().is_some() {
        return None;
    }
    let (hour, minute, second) = match time {
        None => (0, 0, 0),
        Some(t) => {
            let mut hms = t.split(':');
            let h = hms.next()?.parse().ok()?;
            let m = hms.next()?.parse().ok()?;
            let s = match hms.next() {
                Some(s) => s.parse().ok()?,
                None => 0,
            };
            if hms.next().is_some() {
                return None;
            }
            (h, m, s)
        }
    };
    HttpDate::from_civil(year, month, day, hour, minute, second).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ranges_as_curl_takes_them() {
        assert_eq!(range_header("0-63").unwrap(), "bytes=0-63");
        assert_eq!(range_header("-32").unwrap(), "bytes=-32");
        assert_eq!(range_header("9999999-").unwrap(), "bytes=9999999-");
        assert_eq!(range_header("0-9,32-41").unwrap(), "bytes=0-9,32-41");
        for bad in ["", "-", "a-b", "10-5", "5", "0-9,,"] {
            assert!(
                range_header(bad).unwrap_err().contains("FIRST-LAST"),
                "{bad}"
            );
        }
    }

    #[test]
    fn dates_and_files_make_conditions() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let c = time_condition("Sat, 01 Jan 2050 00:00:00 GMT", now).unwrap();
        assert_eq!(
            (c.field, c.date.as_str()),
            ("If-Modified-Since", "Sat, 01 Jan 2050 00:00:00 GMT")
        );
        let c = time_condition("-2050-01-01", now).unwrap();
        assert_eq!(
            (c.field, c.date.as_str()),
            ("If-Unmodified-Since", "Sat, 01 Jan 2050 00:00:00 GMT")
        );
        let c = time_condition("2030-06-15T12:30:05Z", now).unwrap();
        assert_eq!(c.date, "Sat, 15 Jun 2030 12:30:05 GMT");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copy.html");
        std::fs::write(&file, b"x").unwrap();
        let stamp = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(stamp)
            .unwrap();
        let c = time_condition(file.to_str().unwrap(), now).unwrap();
        assert_eq!(c.date, "Tue, 14 Nov 2023 22:13:20 GMT");
        assert!(c.source.contains("modification time"));

        let err = time_condition("next tuesday", now).unwrap_err();
        assert!(err.contains("neither a file nor a date"), "{err}");
    }
}
