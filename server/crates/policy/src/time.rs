//! Instants as the admin API writes and reads them: RFC 3339, to and from
//! milliseconds since the Unix epoch (no clock is read here).

/// `2026-11-30T12:00:00.000Z` for these milliseconds since the epoch.
pub fn rfc3339(millis: i64) -> String {
    let (days, rest) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (year, month, day) = civil(days);
    let (hours, rest) = (rest / 3_600_000, rest % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, millis) = (rest / 1000, rest % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}Z")
}

/// The end of a time-limited cell: milliseconds since the epoch, written
/// and read as RFC 3339 (`"2026-12-04T17:00:00Z"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Until(pub i64);

impl serde::Serialize for Until {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&rfc3339(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for Until {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_rfc3339(&text)
            .map(Until)
            .map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Until {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&rfc3339(self.0))
    }
}

/// How long is left from `now` until `end`, in words: `2 d 3 h`,
/// `3 h 5 min`, `4 min`, `12 s` (a part of a second counts as one);
/// `ended` when it is over.
pub fn time_left(now: i64, end: i64) -> String {
    let seconds = end.saturating_sub(now).saturating_add(999).div_euclid(1000);
    if seconds <= 0 {
        return "ended".to_string();
    }
    let (days, hours) = (seconds / 86_400, seconds % 86_400 / 3600);
    let (minutes, secs) = (seconds % 3600 / 60, seconds % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// Milliseconds since the epoch of an RFC 3339 instant
/// (`2026-12-04T17:00:00Z`, `2026-12-04T18:00:00.5+01:00`; `t` and `z` in
/// either case), or why it is not one.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not an RFC 3339 instant like `2026-12-04T17:00:00Z`");
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't') {
        return Err(bad());
    }
    let number = |from: usize, to: usize| -> Result<i64, String> {
        let part = text.get(from..to).ok_or_else(bad)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<i64>().map_err(|_| bad())
    };
    if bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' || bytes[16] != b':' {
        return Err(bad());
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hours, minutes, seconds) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if day < 1 || day > days_in_month || hours > 23 || minutes > 59 || seconds > 59 {
        return Err(bad());
    }
    // fractions of a second: milliseconds kept, the rest dropped
    let mut at = 19;
    let mut millis = 0;
    if bytes.get(at) == Some(&b'.') {
        let start = at + 1;
        at = start;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return Err(bad());
        }
        let digits = text.get(start..at.min(start + 3)).ok_or_else(bad)?;
        millis = digits.parse::<i64>().map_err(|_| bad())? * 10_i64.pow(3 - digits.len() as u32);
    }
    let zone = bytes.get(at..).unwrap_or_default();
    let offset_minutes = match zone {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (number(at + 1, at + 3)?, number(at + 4, at + 6)?);
            if hours > 23 || minutes > 59 {
                return Err(bad());
            }
            let sign = if *sign == b'-' { -1 } else { 1 };
            sign * (hours * 60 + minutes)
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day);
    let at =
        ((days * 24 + hours) * 60 + minutes - offset_minutes) * 60_000 + seconds * 1000 + millis;
    // an offset can carry a written year past what four digits write back
    // (`9999-12-31T23:59:59-23:59` is in the year 10000): refused, so every
    // instant read is one `rfc3339` writes and this reads again
    let first = days_from_civil(0, 1, 1) * 86_400_000;
    let past_last = days_from_civil(10_000, 1, 1) * 86_400_000;
    if !(first..past_last).contains(&at) {
        return Err(format!(
            "`{text}` is outside the years 0000 to 9999 once its offset is applied"
        ));
    }
    Ok(at)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_as_words() {
        let now = 1_000_000;
        assert_eq!(time_left(now, now), "ended");
        assert_eq!(time_left(now, now - 5_000), "ended");
        assert_eq!(time_left(now, now + 1), "1 s");
        assert_eq!(time_left(now, now + 999), "1 s");
        assert_eq!(time_left(now, now + 12_000), "12 s");
        assert_eq!(time_left(now, now + 11_001), "12 s");
        assert_eq!(time_left(now, now + 4 * 60_000 + 59_000), "4 min");
        assert_eq!(time_left(now, now + 3 * 3_600_000), "3 h");
        assert_eq!(
            time_left(now, now + 3 * 3_600_000 + 5 * 60_000),
            "3 h 5 min"
        );
        assert_eq!(time_left(now, now + 2 * 86_400_000), "2 d");
        assert_eq!(
            time_left(now, now + 2 * 86_400_000 + 3 * 3_600_000),
            "2 d 3 h"
        );
    }

    #[test]
    fn until_round_trips_as_rfc3339() {
        let until: Until = serde_json::from_str("\"2026-12-04T18:00:00+01:00\"").unwrap();
        assert_eq!(
            serde_json::to_string(&until).unwrap(),
            "\"2026-12-04T17:00:00.000Z\""
        );
        let error = serde_json::from_str::<Until>("\"Friday\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("not an RFC 3339 instant"), "{error}");
    }

    #[test]
    fn instants_are_written_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_040_000_123), "2026-11-30T12:00:00.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn instants_are_read_with_their_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339("2026-11-30T12:00:00.123Z"),
            Ok(1_796_040_000_123)
        );
        assert_eq!(
            parse_rfc3339("2026-11-30T13:30:00.123456+01:30"),
            Ok(1_796_040_000_123)
        );
        assert_eq!(
            parse_rfc3339("2026-11-30t10:00:00.1-02:00"),
            Ok(1_796_040_000_100)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Ok(951_782_400_000));
        // every millisecond written reads back
        for millis in [0, 1, 951_782_400_000, 1_796_040_000_123, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339(&rfc3339(millis)), Ok(millis));
        }
        // the last instant four digits write, and none past it
        let last = parse_rfc3339("9999-12-31T23:59:59.999Z");
        assert_eq!(last.map(rfc3339).as_deref(), Ok("9999-12-31T23:59:59.999Z"));
        for beyond in ["9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+00:01"] {
            assert!(
                parse_rfc3339(beyond).is_err_and(|error| error.contains("0000 to 9999")),
                "{beyond}"
            );
        }
        assert!(parse_rfc3339("0000-01-01T00:00:00Z").is_ok());
        for bad in [
            "",
            "2026-11-30",
            "2026-11-30 12:00:00Z",
            "2026-11-30T12:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-30T24:00:00Z",
            "2026-11-30T12:60:00Z",
            "2026-11-30T12:00:00.Z",
            "2026-11-30T12:00:00+0100",
            "2026-11-30T12:00:00+01:00x",
            "+026-11-30T12:00:00Z",
            "2026-11-30T12:00:00ZZ",
            "2026-11-30T12:00:00€:00",
            "2026-11-30T12:00:00+0€:00",
            "2026-11-30T12:00:00.9€",
            "2026-11-3€T12:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
