//! Timestamps as other tools store them (`2024-01-02 03:04:05`,
//! `2024-01-02 03:04:05.123+00`, RFC 3339, Unix seconds), read as UTC
//! instants and written back in ferry's history column.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use crate::url::EngineKind;

/// `text` as an instant; a time without an offset is taken as UTC.
pub fn parse(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().ok().and_then(|s| Timestamp::from_second(s).ok());
    }
    let mut s = t.replacen(' ', "T", 1);
    // PostgreSQL's text of a timestamptz ends in "+00" or "-05".
    let tail = s.len().saturating_sub(3);
    if s.len() > 3 && matches!(s.as_bytes()[tail], b'+' | b'-') && s[tail + 1..].bytes().all(|b| b.is_ascii_digit()) {
        s.push_str(":00");
    }
    s.parse::<Timestamp>().ok().or_else(|| {
        s.parse::<DateTime>()
            .ok()
            .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

/// A SQL literal for the history table's `applied_at` column.
pub fn literal(kind: EngineKind, at: Timestamp) -> String {
    crate::engine::dialect(kind).timestamp_literal(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_tools_write() {
        let want = "2024-01-02T03:04:05Z".parse::<Timestamp>().unwrap();
        for text in [
            "2024-01-02 03:04:05",
            "2024-01-02T03:04:05Z",
            "2024-01-02 03:04:05+00",
            "2024-01-02 05:04:05+02:00",
            "2024-01-02 03:04:05.000",
            "1704164645",
        ] {
            assert_eq!(parse(text), Some(want), "{text}");
        }
        assert_eq!(parse("yesterday"), None);
        assert_eq!(literal(EngineKind::MySql, want), "'2024-01-02 03:04:05.000'");
        assert_eq!(literal(EngineKind::Sqlite, want), "'2024-01-02T03:04:05.000Z'");
    }
}
