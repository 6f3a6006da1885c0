//! HTTP dates (RFC 9110 §5.6.7): one way to write them, three ways to read them.
//!
//! In scope:
//! - [`HttpDate`], a point in time with one-second resolution between the years 0000 and 9999,
//!   which is all an HTTP date can express.
//! - Writing the preferred form, IMF-fixdate, as a fixed 29-byte array ([`HttpDate::to_imf_fixdate`])
//!   and through `Display`. [`DateCache`] keeps the formatted `Date` value for the current second,
//!   so a busy server formats once per second.
//! - Reading all three forms a recipient must accept ([`HttpDate::parse`]):
//!
//!   | form | example (RFC 9110 §5.6.7) |
//!   | --- | --- |
//!   | IMF-fixdate | `Sun, 06 Nov 1994 08:49:37 GMT` |
//!   | obsolete RFC 850 | `Sunday, 06-Nov-94 08:49:37 GMT` |
//!   | ANSI C's asctime() | `Sun Nov  6 08:49:37 1994` |
//!
//! Out of scope: reading a clock (the caller passes the time in), time zones other than GMT (the
//! grammar allows none), sub-second precision.
//!
//! Strictness: names are case-sensitive as the grammar says (`%s"Sun"`, `%s"GMT"`), the stated
//! day of the week must agree with the date, and anything after the date is an error. A cache
//! that cannot read an `Expires` value treats the response as already stale (RFC 9111 §5.3), and
//! a server that cannot read `If-Modified-Since` ignores it (RFC 9110 §13.1.3), so an error here
//! is never a reason to refuse a message.
//!
//! The calendar is the proleptic Gregorian one, converted to and from a count of days since
//! 1970-01-01 by hand ([`days_from_civil`], [`civil_from_days`]), the way the "days from civil"
//! algorithm does it: shift the year to start in March so the leap day is the last day of the
//! year, then count whole 400-year eras.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time as an HTTP date carries it: whole seconds, GMT, years 0000 through 9999.
///
/// Ordering is chronological. Build one from the clock the shell read
/// (`HttpDate::from(SystemTime)`) or from unix seconds; nothing here reads a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HttpDate {
    /// Seconds since 1970-01-01T00:00:00Z; negative before it.
    unix_seconds: i64,
}

/// Which of the three grammars a date was written in (RFC 9110 §5.6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateForm {
    /// `Sun, 06 Nov 1994 08:49:37 GMT`: the form every sender must generate.
    ImfFixdate,
    /// `Sunday, 06-Nov-94 08:49:37 GMT`: obsolete, with a two-digit year.
    Rfc850,
    /// `Sun Nov  6 08:49:37 1994`: obsolete, the C library's `asctime()` layout.
    Asctime,
}

impl fmt::Display for DateForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateForm::ImfFixdate => "IMF-fixdate",
            DateForm::Rfc850 => "rfc850-date",
            DateForm::Asctime => "asctime-date",
        })
    }
}

/// The earliest instant an HTTP date can name: 0000-01-01T00:00:00Z.
const MIN_UNIX_SECONDS: i64 = -62_167_219_200;
/// The last instant an HTTP date can name: 9999-12-31T23:59:59Z.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

const SECONDS_PER_DAY: i64 = 86_400;

/// Day names as IMF-fixdate and asctime write them, Sunday first (`day-name`).
const SHORT_DAY_NAMES: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
/// Day names as RFC 850 writes them, Sunday first (`day-name-l`).
const LONG_DAY_NAMES: [&[u8]; 7] = [
    b"Sunday",
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
];
/// Month names, January first (`month`).
const MONTH_NAMES: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

impl HttpDate {
    /// The earliest representable date, 0000-01-01T00:00:00Z.
    pub const MIN: HttpDate = HttpDate {
        unix_seconds: MIN_UNIX_SECONDS,
    };
    /// The latest representable date, 9999-12-31T23:59:59Z.
    pub const MAX: HttpDate = HttpDate {
        unix_seconds: MAX_UNIX_SECONDS,
    };
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: HttpDate = HttpDate { unix_seconds: 0 };

    /// The date `seconds` after (or, when negative, before) 1970-01-01T00:00:00Z, or `None` when
    /// that falls outside the years 0000..=9999 an HTTP date can write.
    pub const fn from_unix_seconds(seconds: i64) -> Option<HttpDate> {
        if seconds < MIN_UNIX_SECONDS || seconds > MAX_UNIX_SECONDS {
            None
        } else {
            Some(HttpDate {
                unix_seconds: seconds,
            })
        }
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before it).
    pub const fn unix_seconds(self) -> i64 {
        self.unix_seconds
    }

    /// The same instant as a `SystemTime`.
    pub fn to_system_time(self) -> SystemTime {
        let magnitude = Duration::from_secs(self.unix_seconds.unsigned_abs());
        if self.unix_seconds >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }

    /// Builds a date from its calendar fields, checking each one (month 1..=12, a day that exists
    /// in that month, hour 0..=23, minute 0..=59, second 0..=60).
    ///
    /// A leap second (`:60`) is accepted as the grammar allows and lands on the first second of
    /// the next minute, since unix time has no name for it.
    pub fn from_civil(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<HttpDate, DateError> {
        check_civil(year, month, day, hour, minute, second).map_err(|kind| DateError {
            kind,
            input: format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"),
        })
    }

    /// The calendar fields of this date: `(year, month 1..=12, day 1..=31, hour, minute, second)`.
    pub fn to_civil(self) -> (u16, u8, u8, u8, u8, u8) {
        let days = self.unix_seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = self.unix_seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        (
            year as u16,
            month,
            day,
            (second_of_day / 3600) as u8,
            (second_of_day / 60 % 60) as u8,
            (second_of_day % 60) as u8,
        )
    }

    /// Day of the week, 0 = Sunday .. 6 = Saturday.
    pub fn weekday(self) -> u8 {
        weekday_from_days(self.unix_seconds.div_euclid(SECONDS_PER_DAY))
    }

    /// This date `seconds` later, saturating at [`HttpDate::MAX`] / [`HttpDate::MIN`].
    pub fn saturating_add_seconds(self, seconds: i64) -> HttpDate {
        HttpDate {
            unix_seconds: self
                .unix_seconds
                .saturating_add(seconds)
                .clamp(MIN_UNIX_SECONDS, MAX_UNIX_SECONDS),
        }
    }

    /// Seconds from `earlier` to `self`; negative when `self` comes first.
    pub fn seconds_since(self, earlier: HttpDate) -> i64 {
        self.unix_seconds - earlier.unix_seconds
    }

    /// The IMF-fixdate form, always exactly 29 bytes: `Sun, 06 Nov 1994 08:49:37 GMT`.
    ///
    /// This is the only form a sender generates (RFC 9110 §5.6.7). No allocation, no `fmt`
    /// machinery: a table lookup per name and two digits at a time.
    pub fn to_imf_fixdate(self) -> [u8; 29] {
        let (year, month, day, hour, minute, second) = self.to_civil();
        let mut out = *b"Sun, 00 Jan 0000 00:00:00 GMT";
        out[0..3].copy_from_slice(SHORT_DAY_NAMES[usize::from(self.weekday())]);
        write_two_digits(&mut out[5..7], day);
        out[8..11].copy_from_slice(MONTH_NAMES[usize::from(month - 1)]);
        write_two_digits(&mut out[12..14], (year / 100) as u8);
        write_two_digits(&mut out[14..16], (year % 100) as u8);
        write_two_digits(&mut out[17..19], hour);
        write_two_digits(&mut out[20..22], minute);
        write_two_digits(&mut out[23..25], second);
        out
    }

    /// Reads a date in any of the three forms (RFC 9110 §5.6.7). Leading and trailing spaces and
    /// tabs (optional whitespace around a field value) are skipped; anything else is an error.
    ///
    /// `now` is needed only for the RFC 850 form's two-digit year: RFC 9110 §5.6.7 says a year that
    /// appears to be more than 50 years in the future is the most recent past year with those
    /// two digits. The comparison is made by calendar year.
    pub fn parse(value: &[u8], now: HttpDate) -> Result<HttpDate, DateError> {
        Self::parse_with_form(value, now).map(|(date, _)| date)
    }

    /// Like [`HttpDate::parse`], and also says which form the value was in, so a checker can
    /// point out that a peer sent an obsolete one.
    pub fn parse_with_form(value: &[u8], now: HttpDate) -> Result<(HttpDate, DateForm), DateError> {
        let trimmed = trim_optional_whitespace(value);
        parse_any_form(trimmed, now.to_civil().0).map_err(|kind| DateError {
            kind,
            input: printable(value),
        })
    }

    /// Reads only IMF-fixdate, the form senders must use; useful to check a peer's output.
    pub fn parse_imf_fixdate(value: &[u8]) -> Result<HttpDate, DateError> {
        let trimmed = trim_optional_whitespace(value);
        parse_after_day_name(&mut Cursor::new(trimmed), None)
            .map(|(date, _)| date)
            .map_err(|kind| DateError {
                kind,
                input: printable(value),
            })
    }
}

impl From<SystemTime> for HttpDate {
    /// Drops the fraction of a second (an HTTP date has none) and clamps to the years 0000..=9999.
    fn from(time: SystemTime) -> HttpDate {
        let seconds = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => {
                // Round towards the past, so 0.5 s before the epoch is second -1.
                let before = before.duration();
                let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                let partial = i64::from(before.subsec_nanos() > 0);
                whole.saturating_add(partial).saturating_neg()
            }
        };
        HttpDate {
            unix_seconds: seconds.clamp(MIN_UNIX_SECONDS, MAX_UNIX_SECONDS),
        }
    }
}

impl From<HttpDate> for SystemTime {
    fn from(date: HttpDate) -> SystemTime {
        date.to_system_time()
    }
}

impl fmt::Display for HttpDate {
    /// Writes IMF-fixdate.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_imf_fixdate();
        // Every byte written by to_imf_fixdate is ASCII.
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

/// The formatted `Date` field value for the current second, reformatted only when the second
/// changes. A server calls [`DateCache::imf_fixdate`] with the time it read for each response.
#[derive(Debug, Clone)]
pub struct DateCache {
    second: i64,
    text: [u8; 29],
}

impl DateCache {
    /// A cache primed for `now`.
    pub fn new(now: SystemTime) -> DateCache {
        let date = HttpDate::from(now);
        DateCache {
            second: date.unix_seconds(),
            text: date.to_imf_fixdate(),
        }
    }

    /// The IMF-fixdate for `now`, formatted at most once per second.
    pub fn imf_fixdate(&mut self, now: SystemTime) -> &[u8; 29] {
        let date = HttpDate::from(now);
        if date.unix_seconds() != self.second {
            self.second = date.unix_seconds();
            self.text = date.to_imf_fixdate();
        }
        &self.text
    }
}

/// Why a value is not an HTTP date, and the value itself (made printable) for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError {
    /// What was wrong.
    pub kind: DateErrorKind,
    /// The offending value, with bytes outside printable ASCII written as `\xHH`, cut at 64 bytes.
    pub input: String,
}

/// What was wrong with a date. Offsets count bytes from the start of the trimmed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// The value does not start with a day name (`Sun`..`Sat` or `Sunday`..`Saturday`).
    UnknownDayName,
    /// A specific character or word was expected at `offset`.
    Expected {
        /// Byte offset in the trimmed value.
        offset: usize,
        /// What the grammar asks for there, e.g. `", "` or `"GMT"`.
        what: &'static str,
    },
    /// The month is not one of `Jan`..`Dec` (case-sensitive).
    UnknownMonth {
        /// Byte offset in the trimmed value.
        offset: usize,
    },
    /// A calendar field is outside its range (e.g. `31 Feb`, hour `24`).
    OutOfRange {
        /// The field: "month", "day", "hour", "minute" or "second".
        field: &'static str,
        /// The value given.
        value: u32,
    },
    /// The day name disagrees with the date (e.g. `Mon, 06 Nov 1994`: that was a Sunday).
    WrongDayName {
        /// The day name the value states.
        stated: &'static str,
        /// The day the date actually falls on.
        actual: &'static str,
    },
    /// Bytes follow a complete date.
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
    },
    /// [`HttpDate::parse_imf_fixdate`] was given a valid date in an obsolete form.
    NotImfFixdate {
        /// The form it was in.
        form: DateForm,
    },
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" is not an HTTP date: ", self.input)?;
        match &self.kind {
            DateErrorKind::Empty => f.write_str("the value is empty")?,
            DateErrorKind::UnknownDayName => {
                f.write_str("it must start with a day name such as \"Sun\" or \"Sunday\"")?
            }
            DateErrorKind::Expected { offset, what } => {
                write!(f, "expected {what} at byte {offset}")?
            }
            DateErrorKind::UnknownMonth { offset } => write!(
                f,
                "the month at byte {offset} must be one of Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"
            )?,
            DateErrorKind::OutOfRange { field, value } => {
                write!(f, "{field} {value} is out of range")?
            }
            DateErrorKind::WrongDayName { stated, actual } => {
                write!(f, "it says {stated} but that date is a {actual}")?
            }
            DateErrorKind::TrailingBytes { offset } => {
                write!(f, "unexpected bytes after the date at byte {offset}")?
            }
            DateErrorKind::NotImfFixdate { form } => write!(
                f,
                "it is in the obsolete {form} form; senders must write IMF-fixdate, e.g. \"Sun, 06 Nov 1994 08:49:37 GMT\""
            )?,
        }
        f.write_str(" (RFC 9110 §5.6.7)")
    }
}

impl std::error::Error for DateError {}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12, day 1..=31).
///
/// The year is shifted to start on 1 March, so February's variable length falls at the end of
/// the shifted year; then whole 400-year eras (146,097 days each) are counted.
pub fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // 0..=399
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 }; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days separate 0000-03-01 from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date `(year, month 1..=12, day 1..=31)` that is `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let shifted = days + 719_468; // days since 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097); // 0..=146_096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u8;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// 0 = Sunday; 1970-01-01 was a Thursday.
fn weekday_from_days(days: i64) -> u8 {
    (days + 4).rem_euclid(7) as u8
}

fn is_leap_year(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn check_civil(
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
) -> Result<HttpDate, DateErrorKind> {
    let out_of_range = |field, value: u8| DateErrorKind::OutOfRange {
        field,
        value: u32::from(value),
    };
    if year > 9999 {
        return Err(DateErrorKind::OutOfRange {
            field: "year",
            value: u32::from(year),
        });
    }
    if !(1..=12).contains(&month) {
        return Err(out_of_range("month", month));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(out_of_range("day", day));
    }
    if hour > 23 {
        return Err(out_of_range("hour", hour));
    }
    if minute > 59 {
        return Err(out_of_range("minute", minute));
    }
    if second > 60 {
        return Err(out_of_range("second", second));
    }
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * SECONDS_PER_DAY
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    // A leap second on 9999-12-31 would step past the last representable instant.
    Ok(HttpDate {
        unix_seconds: seconds.min(MAX_UNIX_SECONDS),
    })
}

fn write_two_digits(out: &mut [u8], value: u8) {
    out[0] = b'0' + value / 10;
    out[1] = b'0' + value % 10;
}

fn trim_optional_whitespace(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// The value as a person can read it in an error message (at most 64 bytes of it).
fn printable(value: &[u8]) -> String {
    crate::trace::escape::escape_prefix(value, 64)
}

/// A position in the value being parsed.
struct Cursor<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, offset: 0 }
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.offset..]
    }

    fn literal(&mut self, expected: &'static str) -> Result<(), DateErrorKind> {
        if self.rest().starts_with(expected.as_bytes()) {
            self.offset += expected.len();
            Ok(())
        } else {
            Err(DateErrorKind::Expected {
                offset: self.offset,
                what: match expected {
                    " " => "a space",
                    ", " => "\", \"",
                    "-" => "\"-\"",
                    ":" => "\":\"",
                    " GMT" => "\" GMT\"",
                    _ => expected,
                },
            })
        }
    }

    /// Exactly `count` ASCII digits.
    fn digits(&mut self, count: usize, what: &'static str) -> Result<u32, DateErrorKind> {
        let rest = self.rest();
        if rest.len() < count || !rest[..count].iter().all(u8::is_ascii_digit) {
            return Err(DateErrorKind::Expected {
                offset: self.offset,
                what,
            });
        }
        self.offset += count;
        Ok(rest[..count]
            .iter()
            .fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    }

    fn month(&mut self) -> Result<u8, DateErrorKind> {
        let rest = self.rest();
        let found = MONTH_NAMES
            .iter()
            .position(|name| rest.starts_with(&name[..]));
        match found {
            Some(index) => {
                self.offset += 3;
                Ok(index as u8 + 1)
            }
            None => Err(DateErrorKind::UnknownMonth {
                offset: self.offset,
            }),
        }
    }

    /// `hour ":" minute ":" second`, each two digits.
    fn time_of_day(&mut self) -> Result<(u8, u8, u8), DateErrorKind> {
        let hour = self.digits(2, "a two-digit hour")?;
        self.literal(":")?;
        let minute = self.digits(2, "a two-digit minute")?;
        self.literal(":")?;
        let second = self.digits(2, "a two-digit second")?;
        Ok((hour as u8, minute as u8, second as u8))
    }

    fn end(&self) -> Result<(), DateErrorKind> {
        if self.offset == self.bytes.len() {
            Ok(())
        } else {
            Err(DateErrorKind::TrailingBytes {
                offset: self.offset,
            })
        }
    }
}

fn parse_any_form(value: &[u8], current_year: u16) -> Result<(HttpDate, DateForm), DateErrorKind> {
    if value.is_empty() {
        return Err(DateErrorKind::Empty);
    }
    parse_after_day_name(&mut Cursor::new(value), Some(current_year))
}

/// Reads the day name, decides the form from what follows it, and reads the rest.
///
/// `current_year` is `None` when only IMF-fixdate is acceptable; the obsolete forms are then
/// refused as soon as they are recognised.
fn parse_after_day_name(
    cursor: &mut Cursor<'_>,
    current_year: Option<u16>,
) -> Result<(HttpDate, DateForm), DateErrorKind> {
    let rest = cursor.rest();
    // The long names start with the short ones, so try the long names first.
    if let Some(weekday) = LONG_DAY_NAMES
        .iter()
        .position(|name| rest.starts_with(name) && rest.get(name.len()) == Some(&b','))
    {
        let current_year = current_year.ok_or(DateErrorKind::NotImfFixdate {
            form: DateForm::Rfc850,
        })?;
        cursor.offset += LONG_DAY_NAMES[weekday].len();
        let fields = parse_rfc850_rest(cursor, current_year)?;
        return fields.to_date(weekday).map(|date| (date, DateForm::Rfc850));
    }
    let weekday = SHORT_DAY_NAMES
        .iter()
        .position(|name| rest.starts_with(&name[..]))
        .ok_or(DateErrorKind::UnknownDayName)?;
    cursor.offset += 3;
    let (fields, form) = match cursor.rest().first() {
        Some(b',') => (parse_imf_fixdate_rest(cursor)?, DateForm::ImfFixdate),
        Some(b' ') if current_year.is_some() => (parse_asctime_rest(cursor)?, DateForm::Asctime),
        Some(b' ') => {
            return Err(DateErrorKind::NotImfFixdate {
                form: DateForm::Asctime,
            })
        }
        _ => {
            return Err(DateErrorKind::Expected {
                offset: cursor.offset,
                what: "\", \" (IMF-fixdate) or a space (asctime)",
            })
        }
    };
    fields.to_date(weekday).map(|date| (date, form))
}

/// The calendar fields as read, before they are checked.
struct CivilFields {
    year: u32,
    month: u8,
    day: u32,
    time: (u8, u8, u8),
}

impl CivilFields {
    /// Checks every field and that the stated day of the week (0 = Sunday) is the date's.
    fn to_date(&self, stated_weekday: usize) -> Result<HttpDate, DateErrorKind> {
        let day = u8::try_from(self.day).map_err(|_| DateErrorKind::OutOfRange {
            field: "day",
            value: self.day,
        })?;
        let (hour, minute, second) = self.time;
        // Callers read at most four digits, so the year fits.
        let year = self.year as u16;
        let date = check_civil(year, self.month, day, hour, minute, second)?;
        // Judged on the calendar day: a leap second moves the instant into the next day.
        let actual = usize::from(weekday_from_days(days_from_civil(
            i64::from(year),
            self.month,
            day,
        )));
        if actual == stated_weekday {
            Ok(date)
        } else {
            let name = |i: usize| std::str::from_utf8(LONG_DAY_NAMES[i]).unwrap_or("?");
            Err(DateErrorKind::WrongDayName {
                stated: name(stated_weekday),
                actual: name(actual),
            })
        }
    }
}

/// `", " day SP month SP year SP time-of-day SP "GMT"` after the day name.
fn parse_imf_fixdate_rest(cursor: &mut Cursor<'_>) -> Result<CivilFields, DateErrorKind> {
    cursor.literal(", ")?;
    let day = cursor.digits(2, "a two-digit day")?;
    cursor.literal(" ")?;
    let month = cursor.month()?;
    cursor.literal(" ")?;
    let year = cursor.digits(4, "a four-digit year")?;
    cursor.literal(" ")?;
    let time = cursor.time_of_day()?;
    cursor.literal(" GMT")?;
    cursor.end()?;
    Ok(CivilFields {
        year,
        month,
        day,
        time,
    })
}

/// `", " day "-" month "-" 2DIGIT SP time-of-day SP "GMT"` after the long day name.
fn parse_rfc850_rest(
    cursor: &mut Cursor<'_>,
    current_year: u16,
) -> Result<CivilFields, DateErrorKind> {
    cursor.literal(", ")?;
    let day = cursor.digits(2, "a two-digit day")?;
    cursor.literal("-")?;
    let month = cursor.month()?;
    cursor.literal("-")?;
    let two_digit_year = cursor.digits(2, "a two-digit year")?;
    cursor.literal(" ")?;
    let time = cursor.time_of_day()?;
    cursor.literal(" GMT")?;
    cursor.end()?;
    let year = u32::from(expand_two_digit_year(two_digit_year as u16, current_year));
    Ok(CivilFields {
        year,
        month,
        day,
        time,
    })
}

/// `SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP year` after the day name.
fn parse_asctime_rest(cursor: &mut Cursor<'_>) -> Result<CivilFields, DateErrorKind> {
    cursor.literal(" ")?;
    let month = cursor.month()?;
    cursor.literal(" ")?;
    let day = if cursor.rest().first() == Some(&b' ') {
        cursor.offset += 1;
        cursor.digits(1, "a day (two digits, or a space and one digit)")?
    } else {
        cursor.digits(2, "a day (two digits, or a space and one digit)")?
    };
    cursor.literal(" ")?;
    let time = cursor.time_of_day()?;
    cursor.literal(" ")?;
    let year = cursor.digits(4, "a four-digit year")?;
    cursor.end()?;
    Ok(CivilFields {
        year,
        month,
        day,
        time,
    })
}

/// The year with these last two digits that lies within 50 years of `current_year`, preferring
/// the past: RFC 9110 §5.6.7 says a year more than 50 years in the future is the most recent
/// past year with the same last two digits.
fn expand_two_digit_year(two_digits: u16, current_year: u16) -> u16 {
    let current = i32::from(current_year);
    let mut candidate = current - current % 100 + i32::from(two_digits);
    if candidate > current + 50 {
        candidate -= 100;
    } else if candidate <= current - 50 {
        candidate += 100;
    }
    candidate.clamp(0, 9999) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    /// Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example instant.
    const EXAMPLE: i64 = 784_111_777;

    fn date(seconds: i64) -> HttpDate {
        HttpDate::from_unix_seconds(seconds).expect("in range")
    }

    /// A `now` in 2026, for the two-digit year rule.
    fn now() -> HttpDate {
        HttpDate::from_civil(2026, 1, 1, 12, 0, 0).expect("valid")
    }

    fn kind(value: &[u8]) -> DateErrorKind {
        HttpDate::parse(value, now())
            .expect_err("must be rejected")
            .kind
    }

    #[test]
    fn rfc_9110_example_in_all_three_forms() {
        let forms: [(&[u8], DateForm); 3] = [
            (b"Sun, 06 Nov 1994 08:49:37 GMT", DateForm::ImfFixdate),
            (b"Sunday, 06-Nov-94 08:49:37 GMT", DateForm::Rfc850),
            (b"Sun Nov  6 08:49:37 1994", DateForm::Asctime),
        ];
        for (text, form) in forms {
            assert_eq!(
                HttpDate::parse_with_form(text, now()),
                Ok((date(EXAMPLE), form)),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn formats_the_example_as_imf_fixdate() {
        assert_eq!(
            &date(EXAMPLE).to_imf_fixdate(),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(date(EXAMPLE).to_string(), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn known_instants() {
        let cases: [(i64, &str); 8] = [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (-1, "Wed, 31 Dec 1969 23:59:59 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_767_225_600, "Thu, 01 Jan 2026 00:00:00 GMT"),
            (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
            (MAX_UNIX_SECONDS, "Fri, 31 Dec 9999 23:59:59 GMT"),
            (MIN_UNIX_SECONDS, "Sat, 01 Jan 0000 00:00:00 GMT"),
            (2_147_483_648, "Tue, 19 Jan 2038 03:14:08 GMT"),
        ];
        for (seconds, text) in cases {
            assert_eq!(date(seconds).to_string(), text);
            assert_eq!(
                HttpDate::parse(text.as_bytes(), now()),
                Ok(date(seconds)),
                "{text}"
            );
        }
    }

    #[test]
    fn out_of_range_unix_seconds_are_refused() {
        assert_eq!(HttpDate::from_unix_seconds(MAX_UNIX_SECONDS + 1), None);
        assert_eq!(HttpDate::from_unix_seconds(MIN_UNIX_SECONDS - 1), None);
    }

    #[test]
    fn system_time_conversion_truncates_towards_the_past() {
        let later = UNIX_EPOCH + Duration::new(EXAMPLE as u64, 999_999_999);
        assert_eq!(HttpDate::from(later), date(EXAMPLE));
        let before = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(HttpDate::from(before), date(-1));
        assert_eq!(
            date(-5).to_system_time(),
            UNIX_EPOCH - Duration::from_secs(5)
        );
        assert_eq!(
            SystemTime::from(date(EXAMPLE)),
            UNIX_EPOCH + Duration::from_secs(EXAMPLE as u64)
        );
    }

    #[test]
    fn surrounding_whitespace_is_skipped() {
        assert_eq!(
            HttpDate::parse(b" \tSun, 06 Nov 1994 08:49:37 GMT\t ", now()),
            Ok(date(EXAMPLE))
        );
    }

    #[test]
    fn asctime_accepts_a_two_digit_day() {
        assert_eq!(
            HttpDate::parse(b"Thu Nov 10 08:49:37 1994", now()),
            Ok(date(EXAMPLE + 4 * SECONDS_PER_DAY))
        );
    }

    #[test]
    fn rfc850_two_digit_years_follow_the_fifty_year_rule() {
        // (two digits, current year, expected year)
        let cases = [
            (94, 2026, 1994),
            (76, 2026, 2076), // exactly 50 years ahead is not "more than 50"
            (77, 2026, 1977), // 51 years ahead is taken as the past century
            (26, 2026, 2026),
            (0, 2099, 2100), // 99 years ago would be further than 1 year ahead
            (49, 1999, 2049),
            (50, 1999, 1950), // 2050 would be 51 years ahead
            (99, 1999, 1999),
        ];
        for (two_digits, current, expected) in cases {
            assert_eq!(
                expand_two_digit_year(two_digits, current),
                expected,
                "{two_digits:02} in {current}"
            );
        }
        let in_2099 = HttpDate::from_civil(2099, 6, 1, 0, 0, 0).expect("valid");
        assert_eq!(
            HttpDate::parse(b"Friday, 01-Jan-00 00:00:00 GMT", in_2099).map(|d| d.to_civil().0),
            Ok(2100)
        );
    }

    #[test]
    fn leap_second_lands_on_the_next_minute() {
        assert_eq!(
            HttpDate::parse(b"Sat, 31 Dec 2016 23:59:60 GMT", now()),
            Ok(date(1_483_228_800))
        );
    }

    #[test]
    fn invalid_dates_are_errors_that_say_why() {
        let cases: [(&[u8], DateErrorKind); 16] = [
            (b"", DateErrorKind::Empty),
            (b"   ", DateErrorKind::Empty),
            (
                b"sun, 06 Nov 1994 08:49:37 GMT",
                DateErrorKind::UnknownDayName,
            ),
            (
                b"Sun, 06 nov 1994 08:49:37 GMT",
                DateErrorKind::UnknownMonth { offset: 8 },
            ),
            (
                b"Sun, 06 Nov 1994 08:49:37 UTC",
                DateErrorKind::Expected {
                    offset: 25,
                    what: "\" GMT\"",
                },
            ),
            (
                b"Sun, 6 Nov 1994 08:49:37 GMT",
                DateErrorKind::Expected {
                    offset: 5,
                    what: "a two-digit day",
                },
            ),
            (
                b"Sun, 06 Nov 94 08:49:37 GMT",
                DateErrorKind::Expected {
                    offset: 12,
                    what: "a four-digit year",
                },
            ),
            (
                b"Sun, 06 Nov 1994 08:49:37 GMT x",
                DateErrorKind::TrailingBytes { offset: 29 },
            ),
            (
                b"Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
                DateErrorKind::TrailingBytes { offset: 29 },
            ),
            (
                b"Sun, 31 Feb 1994 08:49:37 GMT",
                DateErrorKind::OutOfRange {
                    field: "day",
                    value: 31,
                },
            ),
            (
                b"Sun, 06 Nov 1994 24:00:00 GMT",
                DateErrorKind::OutOfRange {
                    field: "hour",
                    value: 24,
                },
            ),
            (
                b"Sun, 06 Nov 1994 08:60:37 GMT",
                DateErrorKind::OutOfRange {
                    field: "minute",
                    value: 60,
                },
            ),
            (
                b"Sun, 06 Nov 1994 08:49:61 GMT",
                DateErrorKind::OutOfRange {
                    field: "second",
                    value: 61,
                },
            ),
            (
                b"Mon, 06 Nov 1994 08:49:37 GMT",
                DateErrorKind::WrongDayName {
                    stated: "Monday",
                    actual: "Sunday",
                },
            ),
            (
                b"Sun,06 Nov 1994 08:49:37 GMT",
                DateErrorKind::Expected {
                    offset: 3,
                    what: "\", \"",
                },
            ),
            (
                b"Sun/06 Nov 1994 08:49:37 GMT",
                DateErrorKind::Expected {
                    offset: 3,
                    what: "\", \" (IMF-fixdate) or a space (asctime)",
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(kind(text), expected, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn february_29_exists_only_in_leap_years() {
        assert!(HttpDate::parse(b"Tue, 29 Feb 2000 00:00:00 GMT", now()).is_ok());
        assert_eq!(
            kind(b"Thu, 29 Feb 1900 00:00:00 GMT"),
            DateErrorKind::OutOfRange {
                field: "day",
                value: 29
            }
        );
        assert!(HttpDate::parse(b"Sun, 29 Feb 2004 00:00:00 GMT", now()).is_ok());
    }

    #[test]
    fn error_message_names_the_value_and_the_rfc() {
        let error =
            HttpDate::parse(b"Mon, 06 Nov 1994 08:49:37 GMT", now()).expect_err("wrong day");
        assert_eq!(
            error.to_string(),
            "\"Mon, 06 Nov 1994 08:49:37 GMT\" is not an HTTP date: it says Monday but that date is a Sunday (RFC 9110 §5.6.7)"
        );
        let error = HttpDate::parse(b"\xff", now()).expect_err("binary");
        assert_eq!(error.input, "\\xff");
    }

    #[test]
    fn imf_fixdate_only_refuses_the_obsolete_forms() {
        assert_eq!(
            HttpDate::parse_imf_fixdate(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            Ok(date(EXAMPLE))
        );
        assert_eq!(
            HttpDate::parse_imf_fixdate(b"Sun Nov  6 08:49:37 1994").map_err(|e| e.kind),
            Err(DateErrorKind::NotImfFixdate {
                form: DateForm::Asctime
            })
        );
        assert_eq!(
            HttpDate::parse_imf_fixdate(b"Sunday, 06-Nov-94 08:49:37 GMT").map_err(|e| e.kind),
            Err(DateErrorKind::NotImfFixdate {
                form: DateForm::Rfc850
            })
        );
    }

    #[test]
    fn date_cache_reformats_only_when_the_second_changes() {
        let start = UNIX_EPOCH + Duration::from_secs(EXAMPLE as u64);
        let mut cache = DateCache::new(start);
        assert_eq!(
            cache.imf_fixdate(start + Duration::from_millis(999)),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            cache.imf_fixdate(start + Duration::from_secs(1)),
            b"Sun, 06 Nov 1994 08:49:38 GMT"
        );
    }

    #[test]
    fn civil_round_trip_across_four_eras() {
        for days in (-800_000..800_000).step_by(997) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(
                days_from_civil(year, month, day),
                days,
                "{year}-{month}-{day}"
            );
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity_1970_to_9999(seconds in 0..=MAX_UNIX_SECONDS) {
            let original = date(seconds);
            let text = original.to_imf_fixdate();
            prop_assert_eq!(HttpDate::parse(&text, now()), Ok(original));
            prop_assert_eq!(HttpDate::parse_imf_fixdate(&text), Ok(original));
        }

        #[test]
        fn asctime_of_any_date_reads_back(seconds in MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS) {
            let original = date(seconds);
            let (year, month, day, hour, minute, second) = original.to_civil();
            let text = format!(
                "{} {} {:>2} {hour:02}:{minute:02}:{second:02} {year:04}",
                std::str::from_utf8(SHORT_DAY_NAMES[usize::from(original.weekday())]).unwrap(),
                std::str::from_utf8(MONTH_NAMES[usize::from(month - 1)]).unwrap(),
                day,
            );
            prop_assert_eq!(HttpDate::parse(text.as_bytes(), now()), Ok(original));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = HttpDate::parse(&bytes, now());
        }

        #[test]
        fn order_of_dates_is_order_of_seconds(a in 0..=MAX_UNIX_SECONDS, b in 0..=MAX_UNIX_SECONDS) {
            prop_assert_eq!(date(a).cmp(&date(b)), a.cmp(&b));
        }
    }
}
