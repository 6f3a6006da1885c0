//! How old a stored response is (RFC 9111 §4.2.3).
//!
//! ```text
//! apparent_age          = max(0, response_time - date_value)
//! response_delay        = response_time - request_time
//! corrected_age_value   = age_value + response_delay
//! corrected_initial_age = max(apparent_age, corrected_age_value)
//! resident_time         = now - response_time
//! current_age           = corrected_initial_age + resident_time
//! ```
//!
//! `age_value` is the `Age` field the response arrived with (0 without one), `date_value` its
//! `Date` (the arrival time without one), `request_time` when the cache sent the request that
//! got it, `response_time` when it arrived. Every intermediate value is kept in
//! [`AgeCalculation`] so a lab can show the arithmetic. Clocks that step backwards give 0, never
//! a negative age.

use crate::http1::date::HttpDate;

/// The §4.2.3 calculation, step by step, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AgeCalculation {
    /// How long the response seems to have travelled, by the origin's `Date`.
    pub apparent_age: u64,
    /// How long the request and response took, by the cache's clock.
    pub response_delay: u64,
    /// `Age` plus the response delay: age accumulated by caches on the way, plus the trip.
    pub corrected_age_value: u64,
    /// The larger of the two estimates: the age when the response arrived.
    pub corrected_initial_age: u64,
    /// How long the response has been in this cache.
    pub resident_time: u64,
    /// The age now: what goes in the `Age` field of a response served from the cache.
    pub current_age: u64,
}

/// Reads an `Age` field value: `delta-seconds`, the first of several lines or list members if
/// a broken sender repeated it, values beyond 2^31 read as 2^31 (RFC 9111 §1.2.2). `None` when
/// it is not a number, which makes the cache ignore it.
pub fn parse_age(value: &[u8]) -> Option<u64> {
    let first = value.split(|&b| b == b',').next()?.trim_ascii();
    if first.is_empty() || !first.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(first.iter().fold(0u64, |n, d| {
        n.saturating_mul(10)
            .saturating_add(u64::from(d - b'0'))
            .min(1 << 31)
    }))
}

/// The current age of a stored response (§4.2.3).
pub fn current_age(
    date: Option<HttpDate>,
    age_value: Option<u64>,
    request_time: HttpDate,
    response_time: HttpDate,
    now: HttpDate,
) -> AgeCalculation {
    let non_negative = |seconds: i64| u64::try_from(seconds).unwrap_or(0);
    let date_value = date.unwrap_or(response_time);
    let apparent_age = non_negative(response_time.seconds_since(date_value));
    let response_delay = non_negative(response_time.seconds_since(request_time));
    let corrected_age_value = age_value.unwrap_or(0).saturating_add(response_delay);
    let corrected_initial_age = apparent_age.max(corrected_age_value);
    let resident_time = non_negative(now.seconds_since(response_time));
    AgeCalculation {
        apparent_age,
        response_delay,
        corrected_age_value,
        corrected_initial_age,
        resident_time,
        current_age: corrected_initial_age.saturating_add(resident_time),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn at(seconds: i64) -> HttpDate {
        HttpDate::from_unix_seconds(seconds).expect("in range")
    }

    const T: i64 = 1_767_225_600;

    #[test]
    fn every_step_of_section_4_2_3() {
        // Sent at T, the origin stamped Date T+1, an upstream cache said Age 10, arrived T+3,
        // and it is now T+63.
        assert_eq!(
            current_age(Some(at(T + 1)), Some(10), at(T), at(T + 3), at(T + 63)),
            AgeCalculation {
                apparent_age: 2,
                response_delay: 3,
                corrected_age_value: 13,
                corrected_initial_age: 13,
                resident_time: 60,
                current_age: 73,
            }
        );
    }

    #[test]
    fn apparent_age_wins_when_the_origin_clock_says_older() {
        let calculation = current_age(Some(at(T - 100)), None, at(T), at(T + 1), at(T + 1));
        assert_eq!(calculation.apparent_age, 101);
        assert_eq!(calculation.current_age, 101);
    }

    #[test]
    fn clocks_going_backwards_never_make_a_negative_age() {
        // A Date in the future, a response before its request, `now` before the response.
        let calculation = current_age(Some(at(T + 500)), None, at(T + 10), at(T), at(T - 5));
        assert_eq!(calculation.current_age, 0);
    }

    #[test]
    fn without_date_the_arrival_time_stands_in() {
        let calculation = current_age(None, None, at(T), at(T + 2), at(T + 12));
        assert_eq!(calculation.apparent_age, 0);
        assert_eq!(calculation.current_age, 12);
    }

    #[test]
    fn age_field_values() {
        let cases: [(&[u8], Option<u64>); 7] = [
            (b"60", Some(60)),
            (b" 60 ", Some(60)),
            (b"60, 120", Some(60)),
            (b"99999999999999999999", Some(1 << 31)),
            (b"-5", None),
            (b"1.5", None),
            (b"", None),
        ];
        for (value, expected) in cases {
            assert_eq!(
                parse_age(value),
                expected,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }
}
