//! Time as data (docs/FORMAT.md §Time). The core never reads a clock: instants come from
//! entries, "now" from the caller. Calendar arithmetic (local dates for Art. 105) is done here
//! with the civil-from-days algorithm, in the UTC offset that policy names.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Timestamp(u64);

/// Milliseconds in one day.
pub const DAY_MS: u64 = 86_400_000;

impl Timestamp {
    /// An instant from milliseconds since the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This instant plus `ms` milliseconds (saturating).
    pub fn plus_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn millis_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The local calendar date of this instant at a UTC offset in minutes.
    pub fn local_date(self, utc_offset_minutes: i32) -> Date {
        let local = self.0 as i64 + i64::from(utc_offset_minutes) * 60_000;
        Date(local.div_euclid(DAY_MS as i64) as i32)
    }
}

/// Why a text is not an instant [`Timestamp::parse`] takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Neither canonical decimal milliseconds nor an RFC 3339 date-time.
    #[error("{0:?} is neither Unix milliseconds nor an RFC 3339 date-time (2026-09-01T00:00:00Z)")]
    Unreadable(String),
    /// An instant before 1970-01-01T00:00:00Z or after 9999-12-31T23:59:59.999Z.
    #[error("{0:?} is outside 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z")]
    OutOfRange(String),
}

impl Timestamp {
    /// The latest instant RFC 3339 can write: 9999-12-31T23:59:59.999Z. Instants given by
    /// people (`?now=`) are at most this, so calendar arithmetic on them cannot overflow.
    pub const LATEST: Timestamp = Timestamp(253_402_300_799_999);

    /// Parses an instant as people and programs give it: Unix milliseconds in decimal digits
    /// (`1788220800000`), or an RFC 3339 date-time (`2026-09-01T00:00:00Z`,
    /// `2026-09-01T08:00:00+08:00`, fractions of a second below milliseconds truncated).
    /// Either must lie within 1970-01-01T00:00:00Z ..= [`Timestamp::LATEST`].
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let out_of_range = || TimeError::OutOfRange(text.to_owned());
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            // Digits only: milliseconds. More digits than u64 holds is out of range too.
            return match text.parse::<u64>() {
                Ok(ms) if ms <= Self::LATEST.0 => Ok(Self(ms)),
                _ => Err(out_of_range()),
            };
        }
        let ms = parse_rfc3339(text).ok_or_else(|| TimeError::Unreadable(text.to_owned()))?;
        u64::try_from(ms)
            .ok()
            .filter(|ms| *ms <= Self::LATEST.0)
            .map(Self)
            .ok_or_else(out_of_range)
    }
}

/// `n` ASCII digits as a number.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
    })
}

/// RFC 3339 §5.6 `date-time` as milliseconds since the epoch (negative before it):
/// `YYYY-MM-DD(T|t| )HH:MM:SS[.fraction](Z|z|(+|-)HH:MM)`; leap seconds (`:60`) are refused.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hh, mm, ss) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let date = Date::from_ymd(
        i32::try_from(y).ok()?,
        u32::try_from(m).ok()?,
        u32::try_from(d).ok()?,
    )?;
    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        // The first three digits are milliseconds; later ones are truncated.
        let mut first3 = [b'0'; 3];
        for (i, c) in frac.iter().take(n.min(3)).enumerate() {
            first3[i] = *c;
        }
        millis = digits(&first3)?;
        rest = &frac[n..];
    }
    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let minutes = oh * 60 + om;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let local = i64::from(date.days()) * DAY_MS as i64 + ((hh * 60 + mm) * 60 + ss) * 1000 + millis;
    Some(local - offset_minutes * 60_000)
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.local_date(0);
        let ms = self.0 % DAY_MS;
        write!(
            f,
            "{d}T{:02}:{:02}:{:02}.{:03}Z",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A calendar date, as days since 1970-01-01 (proleptic Gregorian).
///
/// Encoded as a zigzag varint of the day number; in JSON as `"YYYY-MM-DD"`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// The date with this day number.
    pub const fn from_days(days: i32) -> Self {
        Self(days)
    }

    /// Days since 1970-01-01.
    pub const fn days(self) -> i32 {
        self.0
    }

    /// The date of a year, month (1-12) and day (1-31), if it exists.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Self> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m as i32 + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Self(era * 146_097 + doe - 719_468))
    }

    /// Year, month (1-12), day (1-31).
    pub fn ymd(self) -> (i32, u32, u32) {
        // Howard Hinnant's civil_from_days.
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i32::from(m <= 2);
        (y, m, d)
    }

    /// Day of the week, Monday = 1 .. Sunday = 7.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (4).
        ((self.0 + 3).rem_euclid(7) + 1) as u32
    }

    /// The date `n` days later.
    pub fn plus_days(self, n: i32) -> Self {
        Self(self.0 + n)
    }

    /// The same day `n` months later, or the month's last day if it is shorter.
    pub fn plus_months(self, n: u32) -> Self {
        let (y, m, d) = self.ymd();
        let total = y * 12 + (m as i32 - 1) + n as i32;
        let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        let nd = d.min(days_in_month(ny, nm));
        Self::from_ymd(ny, nm, nd).expect("day clamped to the month's length")
    }

    /// The first instant of the next day, at a UTC offset: "the end of this day".
    pub fn end_instant(self, utc_offset_minutes: i32) -> Timestamp {
        let local_ms = i64::from(self.0 + 1) * DAY_MS as i64;
        let utc = local_ms - i64::from(utc_offset_minutes) * 60_000;
        Timestamp::from_millis(utc.max(0) as u64)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.splitn(3, '-');
        let y = it.next()?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let d = it.next()?.parse().ok()?;
        if s.len() != 10 {
            return None;
        }
        Self::from_ymd(y, m, d)
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
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
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Date::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad date {s:?}")))
        } else {
            i32::deserialize(d).map(Date)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_and_know_weekdays() {
        let d = Date::from_ymd(2026, 11, 27).expect("valid");
        assert_eq!(d.ymd(), (2026, 11, 27));
        assert_eq!(d.weekday(), 5, "2026-11-27 is a Friday");
        assert_eq!(Date::from_ymd(1970, 1, 1).expect("valid").days(), 0);
        assert_eq!(
            Date::from_ymd(2024, 1, 31)
                .expect("valid")
                .plus_months(1)
                .to_string(),
            "2024-02-29"
        );
        for n in -800_000..800_000 {
            if n % 997 == 0 {
                let d = Date::from_days(n);
                let (y, m, dd) = d.ymd();
                assert_eq!(Date::from_ymd(y, m, dd), Some(d));
            }
        }
    }

    /// `Timestamp::parse(text)` gives `expected` (Unix ms), or an error when `None`.
    fn check(text: &str, expected: Option<u64>) {
        assert_eq!(
            Timestamp::parse(text).ok().map(Timestamp::as_millis),
            expected,
            "{text:?}"
        );
    }

    #[test]
    fn parses_milliseconds_and_rfc_3339_within_the_civil_range() {
        for (text, expected) in [
            ("0", Some(0)),
            ("1788220800000", Some(1_788_220_800_000)),
            ("2026-09-01T00:00:00Z", Some(1_788_220_800_000)),
            ("2026-09-01t00:00:00z", Some(1_788_220_800_000)),
            ("2026-09-01 00:00:00Z", Some(1_788_220_800_000)),
            ("2026-09-01T08:00:00+08:00", Some(1_788_220_800_000)),
            ("2026-08-31T19:30:00-04:30", Some(1_788_220_800_000)),
            ("2026-09-01T00:00:00.5Z", Some(1_788_220_800_500)),
            ("2026-09-01T00:00:00.123456789Z", Some(1_788_220_800_123)),
            ("1970-01-01T00:00:00Z", Some(0)),
            ("9999-12-31T23:59:59.999Z", Some(253_402_300_799_999)),
            ("253402300799999", Some(253_402_300_799_999)),
            // Out of range: after year 9999, before 1970, more than u64.
            ("253402300800000", None),
            ("18446744073709551615", None),
            ("99999999999999999999999", None),
            ("1969-12-31T23:59:59Z", None),
            ("1970-01-01T00:00:00+00:01", None),
            // Not an instant.
            ("", None),
            ("-1", None),
            ("2026-09-01", None),
            ("2026-09-01T00:00:00", None),
            ("2026-09-01T24:00:00Z", None),
            ("2026-09-01T00:00:60Z", None),
            ("2026-02-30T00:00:00Z", None),
            ("2026-09-01T00:00:00.Z", None),
            ("2026-09-01T00:00:00+8:00", None),
            ("2026-09-01T00:00:00+08:00x", None),
            ("+026-09-01T00:00:00Z", None),
        ] {
            check(text, expected);
        }
        assert!(matches!(
            Timestamp::parse("18446744073709551615"),
            Err(TimeError::OutOfRange(_))
        ));
        assert!(matches!(
            Timestamp::parse("tomorrow"),
            Err(TimeError::Unreadable(_))
        ));
    }

    #[test]
    fn parses_what_it_displays() {
        for ms in [0, 1, 1_788_220_800_123, 253_402_300_799_999] {
            let t = Timestamp::from_millis(ms);
            assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
        }
    }
}
