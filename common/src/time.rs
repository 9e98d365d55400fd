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
}
