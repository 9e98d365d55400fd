//! Wall-clock time as Unix milliseconds, and its UTC calendar form (RFC 3339, MySQL DATETIME),
//! without a date-time library: the pipeline only ever needs UTC milliseconds.

/// The current time in Unix milliseconds.
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A UTC instant split into calendar fields (years 1970–65535).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// Year.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59.
    pub second: u8,
    /// 0–999.
    pub millisecond: u32,
}

impl UtcTime {
    /// The calendar fields of a Unix time in milliseconds.
    #[must_use]
    #[allow(
        clippy::cast_possible_truncation,
        reason = "each field is bounded by its modulus"
    )]
    pub fn from_unix_ms(unix_ms: u64) -> Self {
        let (year, month, day) = civil_from_days(unix_ms / 86_400_000);
        let ms = unix_ms % 86_400_000;
        Self {
            year: u16::try_from(year).unwrap_or(u16::MAX),
            month,
            day,
            hour: (ms / 3_600_000) as u8,
            minute: (ms / 60_000 % 60) as u8,
            second: (ms / 1_000 % 60) as u8,
            millisecond: (ms % 1_000) as u32,
        }
    }

    /// RFC 3339 with milliseconds, e.g. `2026-11-22T10:00:00.000Z`.
    #[must_use]
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        )
    }
}

/// RFC 3339 (UTC, milliseconds) of a Unix time in milliseconds.
#[must_use]
pub fn rfc3339_from_ms(unix_ms: u64) -> String {
    UtcTime::from_unix_ms(unix_ms).rfc3339()
}

/// Parses RFC 3339 (`2026-11-22T10:00:00Z`, optional fraction, `Z` or `±HH:MM` offset) into
/// Unix milliseconds; `None` for anything else, including times before 1970. Digits past
/// milliseconds are truncated.
#[must_use]
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let digits = text.get(from..to)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let (millis, zone) = fraction_ms(&text[19..])?;
    let offset_secs = zone_offset_secs(zone)?;
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
        - offset_secs;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000)?
        .checked_add(millis)
}

/// `.123…` then the zone → (milliseconds, zone text).
fn fraction_ms(rest: &str) -> Option<(u64, &str)> {
    let Some(fraction) = rest.strip_prefix('.') else {
        return Some((0, rest));
    };
    let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let millis = format!("{:0<3}", &fraction[..digits.min(3)]).parse().ok()?;
    Some((millis, &fraction[digits..]))
}

fn zone_offset_secs(zone: &str) -> Option<i64> {
    if zone == "Z" || zone == "z" {
        return Some(0);
    }
    let b = zone.as_bytes();
    if b.len() != 6 || b[3] != b':' || !matches!(b[0], b'+' | b'-') {
        return None;
    }
    let hours: i64 = zone.get(1..3)?.parse().ok()?;
    let minutes: i64 = zone.get(4..6)?.parse().ok()?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let secs = hours * 3_600 + minutes * 60;
    Some(if b[0] == b'-' { -secs } else { secs })
}

const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Proleptic Gregorian date → days since 1970-01-01; Howard Hinnant's algorithm.
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day); Howard Hinnant's algorithm.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    reason = "bounded by the algorithm"
)]
fn civil_from_days(days: u64) -> (i64, u8, u8) {
    let z = (days as i64) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_milliseconds_become_utc_calendar_times() {
        assert_eq!(rfc3339_from_ms(0), "1970-01-01T00:00:00.000Z");
        // A leap day, checked against Python's datetime.
        assert_eq!(
            rfc3339_from_ms(1_709_251_198_123),
            "2024-02-29T23:59:58.123Z"
        );
        assert_eq!(
            rfc3339_from_ms(1_795_305_600_000),
            "2026-11-22T00:00:00.000Z"
        );
        assert_eq!(rfc3339_from_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn rfc3339_text_becomes_unix_milliseconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:58.123Z"),
            Some(1_709_251_198_123)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:58.1234567Z"),
            Some(1_709_251_198_123)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T01:59:58.1+02:00"),
            Some(1_709_251_198_100)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T18:59:58-05:00"),
            Some(1_709_251_198_000)
        );
        for ms in [0, 951_782_400_000, 1_795_305_600_123] {
            assert_eq!(parse_rfc3339(&rfc3339_from_ms(ms)), Some(ms));
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22 10:00:00Z",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T10:00:00",
            "2026-11-22T10:00:00.Z",
            "2026-11-22T10:00:00+2:00",
            "1969-12-31T23:59:59Z",
            "2026-11-22T10:00:00Z; DROP TABLE activities",
            "+026-11-22T10:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
