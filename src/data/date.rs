//! A calendar date with day resolution.
//!
//! Customer-base models only ever need whole days: purchases on the same day are one purchase,
//! and every time span is a number of days converted to the caller's [`TimeUnit`]. A date is
//! therefore stored as one `i32`, the number of days since 1970-01-01 in the proleptic Gregorian
//! calendar, which makes differences, ordering and hashing trivial and keeps a transaction row
//! small. We wrote this type rather than pull in `chrono` or `time` because the crate needs only
//! civil-date conversion (Howard Hinnant's `days_from_civil` algorithm, exact for every date in
//! range) and parsing of a few text forms (see [`Date`]'s `FromStr`); a date crate would add a public dependency that every
//! user must then match. Convert from your own date type with [`Date::from_ymd`].
//!
//! [`TimeUnit`]: crate::TimeUnit

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A day in the proleptic Gregorian calendar, years 1 to 9999.
///
/// Ordered, hashable and `Copy`; `b.days_since(a)` is the signed number of days from `a` to `b`.
/// Serialized as the text `YYYY-MM-DD`; deserializing accepts every form that
/// [`str::parse`] accepts and validates it.
///
/// # Parsing
///
/// `"…".parse::<Date>()` accepts:
///
/// * `YYYY-MM-DD`, e.g. `2014-03-08`;
/// * the compact `YYYYMMDD`, e.g. `20140308` (as in the CDNOW files; also [`Date::parse_compact`]);
/// * an ISO 8601 date-time as most exports write it: `YYYY-MM-DD`, then a space or `T`, then
///   `hh:mm:ss` with optional fractional seconds (`.123`), then optionally `Z` or a UTC offset
///   `±hh:mm`, `±hhmm` or `±hh`. Examples: `2014-03-08 00:00:00`, `2014-03-08T13:45:10`,
///   `2014-03-08T13:45:10.123Z`, `2014-03-08 23:30:00+02:00`, `2014-03-08T23:30:00-0500`.
///
/// The time of day is checked (hours 0–23, minutes 0–59, seconds 0–60, offset hours 0–23 and
/// minutes 0–59) and then **discarded**: the result is the calendar date as written, and the
/// offset is *not* applied. A purchase's day is what summaries group on (one purchase per
/// customer per day, recency and age in whole days), and the written date is the day the
/// exporting system saw; converting to UTC would move a late-evening purchase to the next day
/// (or an early-morning one to the previous day) relative to that. If you need UTC days, convert
/// before formatting the text, or build dates with [`Date::from_ymd`].
///
/// Everything else is rejected with [`Error::InvalidDate`]: a time without seconds
/// (`2014-03-08 12:00`), a separator with no time (`2014-03-08T`), text after the date or the time
/// (`2014-03-08x`, `2014-03-08 00:00:00 junk`), surrounding whitespace, and days that do not
/// exist.
///
/// ```
/// use custseg::Date;
/// let a = Date::from_ymd(1997, 1, 1)?;
/// let b: Date = "1997-09-30".parse()?;
/// assert_eq!(b.days_since(a), 272);
/// assert_eq!(b.to_string(), "1997-09-30");
/// assert_eq!(Date::parse_compact("19970930")?, b);
///
/// // Date-times keep the written calendar date; the time and any offset are dropped.
/// let day: Date = "2014-03-08".parse()?;
/// assert_eq!("2014-03-08 00:00:00".parse::<Date>()?, day);
/// assert_eq!("2014-03-08T23:59:59.999+02:00".parse::<Date>()?, day);
/// assert!("2014-03-08 25:00:00".parse::<Date>().is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

/// Days from 1970-01-01 to 0001-01-01 and to 9999-12-31.
const MIN_DAYS: i32 = -719_162;
const MAX_DAYS: i32 = 2_932_896;

impl Date {
    /// The earliest representable date, 0001-01-01.
    pub const MIN: Date = Date(MIN_DAYS);
    /// The latest representable date, 9999-12-31.
    pub const MAX: Date = Date(MAX_DAYS);

    /// The date of a year, month (1–12) and day of month.
    ///
    /// # Errors
    /// [`Error::InvalidDate`] when the year is outside 1–9999, the month outside 1–12 or the day
    /// does not exist in that month (29 February of a common year, 31 April, …).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Date> {
        let bad = |reason| Error::InvalidDate {
            input: format!("{year:04}-{month:02}-{day:02}"),
            reason,
        };
        if !(1..=9999).contains(&year) {
            return Err(bad("year must be between 1 and 9999"));
        }
        if !(1..=12).contains(&month) {
            return Err(bad("month must be between 1 and 12"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(bad("day does not exist in that month"));
        }
        Ok(Date(days_from_civil(year, month, day)))
    }

    /// A date known valid at compile time (crate constants only; no validation).
    pub(crate) const fn ymd_unchecked(year: i32, month: u32, day: u32) -> Date {
        Date(days_from_civil(year, month, day))
    }

    /// The date of a day count that came from a valid `Date` (crate internals only).
    pub(crate) const fn from_epoch_days(days: i32) -> Date {
        Date(days)
    }

    /// The date `days` days after 1970-01-01 (negative: before).
    ///
    /// # Errors
    /// [`Error::InvalidDate`] outside 0001-01-01 ..= 9999-12-31.
    pub fn from_days_since_epoch(days: i64) -> Result<Date> {
        if (MIN_DAYS as i64..=MAX_DAYS as i64).contains(&days) {
            Ok(Date(days as i32))
        } else {
            Err(Error::InvalidDate {
                input: format!("{days} days since 1970-01-01"),
                reason: "outside 0001-01-01 ..= 9999-12-31",
            })
        }
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i32 {
        self.0
    }

    /// Signed number of days from `earlier` to `self`.
    pub fn days_since(self, earlier: Date) -> i64 {
        self.0 as i64 - earlier.0 as i64
    }

    /// The date `days` later (earlier when negative).
    ///
    /// # Errors
    /// [`Error::InvalidDate`] when the result leaves the representable range.
    pub fn add_days(self, days: i64) -> Result<Date> {
        // i64::MAX days would overflow the sum itself before the range check.
        let sum = (self.0 as i64)
            .checked_add(days)
            .ok_or_else(|| Error::InvalidDate {
                input: format!("{self} + {days} days"),
                reason: "outside 0001-01-01 ..= 9999-12-31",
            })?;
        Date::from_days_since_epoch(sum)
    }

    /// Year, month (1–12) and day of month.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// Day of the week, Monday = 0 … Sunday = 6.
    pub fn weekday_from_monday(self) -> u32 {
        // 1970-01-01 was a Thursday (index 3 when Monday is 0).
        (self.0 as i64 + 3).rem_euclid(7) as u32
    }

    /// The Monday on or before this date (start of its ISO week).
    pub fn week_start(self) -> Date {
        // Never leaves the range: the earliest date, 0001-01-01, is itself a Monday.
        Date(self.0 - self.weekday_from_monday() as i32)
    }

    /// The first day of this date's month.
    pub fn month_start(self) -> Date {
        let (y, m, _) = self.ymd();
        Date(days_from_civil(y, m, 1))
    }

    /// Parses the compact form `YYYYMMDD` (as in the CDNOW files).
    ///
    /// # Errors
    /// [`Error::InvalidDate`] when the text is not eight digits or names no real day.
    pub fn parse_compact(s: &str) -> Result<Date> {
        let b = s.as_bytes();
        if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
            return Err(Error::InvalidDate {
                input: s.to_string(),
                reason: "expected eight digits YYYYMMDD",
            });
        }
        let (y, m, d) = (digits(&b[0..4]), digits(&b[4..6]), digits(&b[6..8]));
        Date::from_ymd(y as i32, m, d).map_err(|_| Error::InvalidDate {
            input: s.to_string(),
            reason: "no such calendar day",
        })
    }
}

fn digits(b: &[u8]) -> u32 {
    b.iter().fold(0, |acc, c| acc * 10 + (c - b'0') as u32)
}

impl FromStr for Date {
    type Err = Error;

    /// Parses `YYYY-MM-DD`, the compact `YYYYMMDD`, or an ISO 8601 date-time
    /// (`YYYY-MM-DD hh:mm:ss` or `YYYY-MM-DDThh:mm:ss`, optional fractional seconds, optional `Z`
    /// or `±hh:mm` / `±hhmm` / `±hh` offset) whose time is validated and discarded: the result is
    /// the date as written, with no offset applied. See [`Date`] for why.
    ///
    /// # Errors
    /// [`Error::InvalidDate`] when the text has none of these shapes, the day does not exist,
    /// or the time of day or offset is out of range.
    fn from_str(s: &str) -> Result<Date> {
        let b = s.as_bytes();
        if b.len() == 8 {
            return Date::parse_compact(s);
        }
        let bad = |reason| Error::InvalidDate {
            input: s.to_string(),
            reason,
        };
        let shape_ok = b.len() >= 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b[..10]
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return Err(bad(
                "expected YYYY-MM-DD or YYYYMMDD, optionally followed by a time of day such as \
                 00:00:00",
            ));
        }
        let (y, m, d) = (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10]));
        let date = Date::from_ymd(y as i32, m, d).map_err(|_| bad("no such calendar day"))?;
        if b.len() > 10 {
            check_time_suffix(&b[10..]).map_err(bad)?;
        }
        Ok(date)
    }
}

/// Checks what follows `YYYY-MM-DD` in a date-time: a space or `T`, `hh:mm:ss`, optional
/// `.fraction`, optional `Z` or `±hh[:mm]` / `±hhmm`. Only validates; the caller drops it.
fn check_time_suffix(b: &[u8]) -> std::result::Result<(), &'static str> {
    const SHAPE: &str = "expected YYYY-MM-DD, optionally followed by a time of day such as \
                         00:00:00 or T13:45:10 (optional .fraction, Z or UTC offset such as \
                         +02:00)";
    const TIME_RANGE: &str = "time of day out of range (hours 0–23, minutes 0–59, seconds 0–60)";
    const OFFSET_RANGE: &str = "UTC offset out of range (hours 0–23, minutes 0–59)";
    let two = |at: usize| -> Option<u32> {
        let p = b.get(at..at + 2)?;
        p.iter().all(u8::is_ascii_digit).then(|| digits(p))
    };

    // Separator and hh:mm:ss.
    if !matches!(b[0], b' ' | b'T') || b.len() < 9 || b[3] != b':' || b[6] != b':' {
        return Err(SHAPE);
    }
    let (Some(h), Some(mi), Some(sec)) = (two(1), two(4), two(7)) else {
        return Err(SHAPE);
    };
    if h > 23 || mi > 59 || sec > 60 {
        return Err(TIME_RANGE);
    }
    let mut rest = &b[9..];

    // Fractional seconds: a dot and at least one digit.
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(SHAPE);
        }
        rest = &frac[n..];
    }

    // Zone designator.
    match rest {
        [] | [b'Z'] => Ok(()),
        [b'+' | b'-', off @ ..] => {
            // ±hh, ±hhmm or ±hh:mm.
            let minutes_at = match off.len() {
                2 => None,
                4 => Some(2),
                5 if off[2] == b':' => Some(3),
                _ => return Err(SHAPE),
            };
            let digits2 = |at: usize| -> Option<u32> {
                let p = &off[at..at + 2];
                p.iter().all(u8::is_ascii_digit).then(|| digits(p))
            };
            let (Some(oh), Some(om)) = (digits2(0), minutes_at.map_or(Some(0), digits2)) else {
                return Err(SHAPE);
            };
            if oh > 23 || om > 59 {
                return Err(OFFSET_RANGE);
            }
            Ok(())
        }
        _ => Err(SHAPE),
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Date, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil.
const fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

// Hinnant, civil_from_days: the inverse of days_from_civil.
fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe as i32 + era * 400 + i32::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_bounds() {
        assert_eq!(Date::from_ymd(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Date::from_ymd(1, 1, 1).unwrap(), Date::MIN);
        assert_eq!(Date::from_ymd(9999, 12, 31).unwrap(), Date::MAX);
        assert!(Date::MIN.add_days(-1).is_err());
        assert!(Date::MAX.add_days(1).is_err());
        // 0001-01-01 is a Monday, so week_start never underflows.
        assert_eq!(Date::MIN.weekday_from_monday(), 0);
    }

    #[test]
    fn round_trip_every_day_of_four_centuries() {
        let start = Date::from_ymd(1900, 1, 1).unwrap().days_since_epoch();
        let mut expect = (1900, 1, 1);
        for z in start..start + 146_097 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!((y, m, d), expect, "day {z}");
            assert_eq!(days_from_civil(y, m, d), z);
            expect = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(Date::from_ymd(1997, 2, 29).is_err());
        assert!(Date::from_ymd(2000, 2, 29).is_ok());
        assert!(Date::from_ymd(1900, 2, 29).is_err());
        assert!(Date::from_ymd(1997, 4, 31).is_err());
        assert!(Date::from_ymd(1997, 13, 1).is_err());
        assert!(Date::from_ymd(0, 1, 1).is_err());
        for bad in [
            "1997-9-30",
            "19970931",
            "1997/09/30",
            "",
            "abcdefgh",
            "1997-09-3x",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }

    #[test]
    fn date_times_keep_the_written_date() {
        let day = Date::from_ymd(2014, 3, 8).unwrap();
        for ok in [
            "2014-03-08",
            "20140308",
            "2014-03-08 00:00:00",
            "2014-03-08T00:00:00",
            "2014-03-08T13:45:10",
            "2014-03-08 23:59:59",
            "2014-03-08 23:59:60",
            "2014-03-08T13:45:10.1",
            "2014-03-08 13:45:10.123",
            "2014-03-08T13:45:10.123456789",
            "2014-03-08T13:45:10Z",
            "2014-03-08 13:45:10.123Z",
            // The offset is validated but not applied: still 8 March, not 9 March UTC.
            "2014-03-08 23:30:00-05:00",
            "2014-03-08T23:30:00-0500",
            "2014-03-08T00:30:00+02:00",
            "2014-03-08T00:30:00+0200",
            "2014-03-08 00:30:00+02",
            "2014-03-08T13:45:10.5+00:00",
        ] {
            assert_eq!(ok.parse::<Date>(), Ok(day), "{ok}");
        }
        // Through serde too (the Deserialize impl uses FromStr).
        assert_eq!(
            serde_json::from_str::<Date>("\"2014-03-08T13:45:10Z\"").unwrap(),
            day
        );
    }

    #[test]
    fn rejects_malformed_date_times() {
        for bad in [
            "",
            "2014-03-08x",
            "2014-03-08T",
            "2014-03-08 ",
            " 2014-03-08",
            "2014-03-08 12:00",
            "2014-03-08 25:00:00",
            "2014-03-08 24:00:00",
            "2014-03-08 12:60:00",
            "2014-03-08 12:00:61",
            "2014-03-08 1:00:00",
            "2014-03-08 12:00:00 junk",
            "2014-03-08 00:00:00 junk",
            "2014-03-08 00:00:00 ",
            "2014-03-08 00:00:00.",
            "2014-03-08 00:00:00.12x",
            "2014-03-08 00:00:00ZZ",
            "2014-03-08 00:00:00 +02:00",
            "2014-03-08 00:00:00+2",
            "2014-03-08 00:00:00+02:0",
            "2014-03-08 00:00:00+020",
            "2014-03-08 00:00:00+24:00",
            "2014-03-08 00:00:00+02:60",
            "2014-03-08_00:00:00",
            "2014-02-30 00:00:00",
            "20140308 00:00:00",
        ] {
            let e = bad.parse::<Date>().unwrap_err();
            assert!(
                matches!(e, Error::InvalidDate { ref input, .. } if input == bad),
                "{bad:?}: {e}"
            );
        }
        let reason = |s: &str| match s.parse::<Date>() {
            Err(Error::InvalidDate { reason, .. }) => reason,
            other => panic!("{s:?}: {other:?}"),
        };
        assert!(reason("2014-03-08 00:00:00 junk").contains("time of day such as 00:00:00"));
        assert!(reason("2014-03-08x").contains("time of day such as 00:00:00"));
        assert!(reason("2014-03-08 25:00:00").contains("hours 0–23"));
        assert!(reason("2014-02-30 00:00:00").contains("no such calendar day"));
    }

    #[test]
    fn weekday_and_period_starts() {
        let d: Date = "1997-09-30".parse().unwrap(); // a Tuesday
        assert_eq!(d.weekday_from_monday(), 1);
        assert_eq!(d.week_start().to_string(), "1997-09-29");
        assert_eq!(d.month_start().to_string(), "1997-09-01");
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let d: Date = "2024-02-29".parse().unwrap();
        let v = serde_json::to_string(&d).unwrap();
        assert_eq!(v, "\"2024-02-29\"");
        assert_eq!(serde_json::from_str::<Date>(&v).unwrap(), d);
        assert!(serde_json::from_str::<Date>("\"2023-02-29\"").is_err());
    }
}
