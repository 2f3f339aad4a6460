//! Values on their way from one engine to another: what a source cell is,
//! what the target column can hold (its category, from its catalogue
//! type), the conversion between them (SQLite's loosely typed values to
//! booleans, timestamps, integers), and one canonical text per value and
//! category, the same whichever engine it was read from, for the checksums
//! that prove both sides hold the same rows.

use sha2::{Digest, Sha256};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What a target column holds, from its catalogue type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    Bool,
    Int,
    Float,
    /// Exact decimals (`numeric`, `decimal`).
    Decimal,
    /// A date and time without a zone (`timestamp`, `datetime`).
    Timestamp,
    /// An instant (`timestamptz`; MariaDB's `timestamp`, stored as UTC).
    Instant,
    Date,
    Bytes,
    Text,
}

impl Category {
    /// The category of a catalogue type (`data_type` of
    /// `information_schema.columns`, lowercased), on `mysql` or not.
    pub(crate) fn of(data_type: &str, column_type: &str, mysql: bool) -> Category {
        let t = data_type.to_ascii_lowercase();
        let full = column_type.to_ascii_lowercase();
        match t.as_str() {
            "boolean" | "bool" => Category::Bool,
            "tinyint" if mysql && full.starts_with("tinyint(1)") => Category::Bool,
            "smallint" | "integer" | "int" | "bigint" | "tinyint" | "mediumint" | "int2" | "int4" | "int8" => {
                Category::Int
            }
            "real" | "double precision" | "double" | "float" | "float4" | "float8" => Category::Float,
            "numeric" | "decimal" => Category::Decimal,
            "timestamp without time zone" | "datetime" => Category::Timestamp,
            "timestamp" if mysql => Category::Instant,
            "timestamp" => Category::Timestamp,
            "timestamp with time zone" => Category::Instant,
            "date" => Category::Date,
            "bytea" | "blob" | "longblob" | "mediumblob" | "tinyblob" | "binary" | "varbinary" => Category::Bytes,
            _ => Category::Text,
        }
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Int(i) => Some(i.to_string()),
        Value::Real(r) => Some(real_text(*r)),
        Value::Text(t) => Some(t.clone()),
        Value::Blob(b) => String::from_utf8(b.clone()).ok(),
    }
}

fn real_text(r: f64) -> String {
    // Rust prints the shortest text that reads back as the same f64, as
    // PostgreSQL (12 and later) does: the same value gives the same text.
    format!("{r}")
}

/// A date and time in UTC (or without a zone), from the text forms SQLite
/// applications store: `2026-11-30 10:00:00`, `2026-11-30T10:00:00.123Z`,
/// `2026-11-30 10:00:00+02:00`, or Unix seconds.
fn datetime(v: &Value) -> Result<jiff::civil::DateTime, String> {
    match v {
        Value::Int(secs) => jiff::Timestamp::from_second(*secs)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).datetime())
            .map_err(|e| format!("{secs} is not a time in Unix seconds: {e}")),
        Value::Real(secs) => jiff::Timestamp::from_microsecond((secs * 1e6).round() as i64)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).datetime())
            .map_err(|e| format!("{secs} is not a time in Unix seconds: {e}")),
        other => {
            let t = text_of(other).ok_or("bytes that are not text")?;
            let s = t.trim();
            // With an offset or Z: an instant, taken to UTC.
            if let Ok(ts) = s.parse::<jiff::Timestamp>() {
                return Ok(ts.to_zoned(jiff::tz::TimeZone::UTC).datetime());
            }
            // PostgreSQL writes offsets as +00 (hours only).
            let padded = if s.len() > 3
                && (s.ends_with(|c: char| c.is_ascii_digit()))
                && matches!(s.as_bytes()[s.len() - 3], b'+' | b'-')
                && s[..s.len() - 3].contains(':')
            {
                Some(format!("{s}:00"))
            } else {
                None
            };
            if let Some(p) = padded
                && let Ok(ts) = p.parse::<jiff::Timestamp>()
            {
                return Ok(ts.to_zoned(jiff::tz::TimeZone::UTC).datetime());
            }
            s.parse::<jiff::civil::DateTime>()
                .or_else(|_| {
                    s.parse::<jiff::civil::Date>()
                        .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
                })
                .map_err(|_| format!("{s:?} is not a date and time"))
        }
    }
}

/// `value` as what a column of `category` holds, or why it cannot be.
pub(crate) fn convert(value: &Value, category: Category) -> Result<Value, String> {
    if *value == Value::Null {
        return Ok(Value::Null);
    }
    Ok(match category {
        Category::Bool => match value {
            Value::Int(0) => Value::Int(0),
            Value::Int(1) => Value::Int(1),
            Value::Real(r) if *r == 0.0 || *r == 1.0 => Value::Int(*r as i64),
            other => {
                let t = text_of(other).unwrap_or_default().trim().to_ascii_lowercase();
                match t.as_str() {
                    "1" | "t" | "true" | "yes" | "y" | "on" => Value::Int(1),
                    "0" | "f" | "false" | "no" | "n" | "off" => Value::Int(0),
                    _ => return Err(format!("{} is not a boolean", shown(other))),
                }
            }
        },
        Category::Int => match value {
            Value::Int(i) => Value::Int(*i),
            Value::Real(r) if r.fract() == 0.0 && r.abs() < 9.2e18 => Value::Int(*r as i64),
            other => match text_of(other).and_then(|t| t.trim().parse::<i64>().ok()) {
                Some(i) => Value::Int(i),
                None => return Err(format!("{} is not an integer", shown(other))),
            },
        },
        Category::Float => match value {
            Value::Int(i) => Value::Real(*i as f64),
            Value::Real(r) => Value::Real(*r),
            other => match text_of(other).and_then(|t| t.trim().parse::<f64>().ok()) {
                Some(r) => Value::Real(r),
                None => return Err(format!("{} is not a number", shown(other))),
            },
        },
        Category::Decimal => match value {
            Value::Int(i) => Value::Text(i.to_string()),
            Value::Real(r) => Value::Text(real_text(*r)),
            other => {
                let t = text_of(other).unwrap_or_default();
                if t.trim().parse::<f64>().is_err() {
                    return Err(format!("{} is not a number", shown(other)));
                }
                Value::Text(t.trim().to_owned())
            }
        },
        Category::Timestamp | Category::Instant => {
            let dt = datetime(value)?;
            Value::Text(dt.strftime("%Y-%m-%d %H:%M:%S%.f").to_string())
        }
        Category::Date => Value::Text(datetime(value)?.date().to_string()),
        Category::Bytes => match value {
            Value::Blob(b) => Value::Blob(b.clone()),
            other => Value::Blob(text_of(other).unwrap_or_default().into_bytes()),
        },
        Category::Text => match value {
            Value::Blob(b) => match String::from_utf8(b.clone()) {
                Ok(s) => Value::Text(s),
                Err(_) => return Err("bytes that are not UTF-8 text".to_owned()),
            },
            other => Value::Text(text_of(other).unwrap_or_default()),
        },
    })
}

/// A value as a person reads it in an error.
pub(crate) fn shown(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Real(r) => real_text(*r),
        Value::Text(t) => {
            let t: String = t.chars().take(60).collect();
            format!("{t:?}")
        }
        Value::Blob(b) => format!("{} bytes", b.len()),
    }
}

/// One text per value of a column of `category`, whichever engine it was
/// read from (after [`convert`] on the source side; as read back on the
/// target's): what the checksums are made of.
pub(crate) fn canonical(value: &Value, category: Category) -> Result<String, String> {
    if *value == Value::Null {
        return Ok("\u{0}".to_owned());
    }
    Ok(match category {
        Category::Bool => match convert(value, Category::Bool)? {
            Value::Int(1) => "t".to_owned(),
            _ => "f".to_owned(),
        },
        Category::Int => match convert(value, Category::Int)? {
            Value::Int(i) => i.to_string(),
            _ => unreachable!("an integer"),
        },
        Category::Float => match convert(value, Category::Float)? {
            Value::Real(r) => real_text(r),
            _ => unreachable!("a number"),
        },
        Category::Decimal => {
            let t = text_of(value).unwrap_or_default();
            let t = t.trim();
            match t.split_once('.') {
                Some((i, f)) => {
                    let f = f.trim_end_matches('0');
                    if f.is_empty() { i.to_owned() } else { format!("{i}.{f}") }
                }
                None => t.to_owned(),
            }
        }
        Category::Timestamp | Category::Instant => datetime(value)?.strftime("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        Category::Date => datetime(value)?.date().to_string(),
        Category::Bytes => match value {
            Value::Blob(b) => hex::encode(b),
            other => hex::encode(text_of(other).unwrap_or_default()),
        },
        Category::Text => text_of(value).unwrap_or_default(),
    })
}

/// A table's content checksum: the count of rows and the wrapping sum of
/// each row's hash, so that it does not depend on the order rows are read
/// in (which collations make differ between engines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Checksum {
    pub rows: u64,
    pub sum: u64,
}

impl Checksum {
    pub(crate) fn add(&mut self, canonical_row: &[String]) {
        let mut h = Sha256::new();
        for c in canonical_row {
            h.update((c.len() as u64).to_le_bytes());
            h.update(c.as_bytes());
        }
        let d = h.finalize();
        self.sum = self
            .sum
            .wrapping_add(u64::from_le_bytes(d[..8].try_into().expect("8 bytes")));
        self.rows += 1;
    }

    pub(crate) fn hex(&self) -> String {
        format!("{:016x}", self.sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_values_become_what_the_column_holds() {
        assert_eq!(convert(&Value::Int(1), Category::Bool), Ok(Value::Int(1)));
        assert_eq!(convert(&Value::Text("false".into()), Category::Bool), Ok(Value::Int(0)));
        assert_eq!(
            convert(&Value::Int(7), Category::Bool),
            Err("7 is not a boolean".into())
        );
        assert_eq!(convert(&Value::Text("42".into()), Category::Int), Ok(Value::Int(42)));
        assert_eq!(
            convert(&Value::Text("abc".into()), Category::Int),
            Err("\"abc\" is not an integer".into())
        );
        assert_eq!(
            convert(&Value::Text("2026-11-30T10:00:00.5Z".into()), Category::Instant),
            Ok(Value::Text("2026-11-30 10:00:00.5".into()))
        );
        assert_eq!(
            convert(&Value::Text("2026-11-30 12:00:00+02:00".into()), Category::Timestamp),
            Ok(Value::Text("2026-11-30 10:00:00".into()))
        );
        assert_eq!(
            convert(&Value::Int(0), Category::Timestamp),
            Ok(Value::Text("1970-01-01 00:00:00".into()))
        );
        assert!(convert(&Value::Text("yesterday".into()), Category::Timestamp).is_err());
        assert_eq!(
            convert(&Value::Blob(vec![0xff, 0]), Category::Text),
            Err("bytes that are not UTF-8 text".into())
        );
    }

    #[test]
    fn the_same_value_reads_the_same_from_any_engine() {
        // SQLite's 1 and PostgreSQL's t; its ISO text and PostgreSQL's output.
        assert_eq!(
            canonical(&Value::Int(1), Category::Bool),
            canonical(&Value::Text("t".into()), Category::Bool)
        );
        assert_eq!(
            canonical(&Value::Text("2026-11-30T10:00:00Z".into()), Category::Instant),
            canonical(&Value::Text("2026-11-30 10:00:00+00".into()), Category::Instant)
        );
        assert_eq!(
            canonical(&Value::Text("1.5".into()), Category::Decimal),
            canonical(&Value::Text("1.50".into()), Category::Decimal)
        );
        assert_eq!(
            canonical(&Value::Real(0.1), Category::Float),
            canonical(&Value::Text("0.1".into()), Category::Float)
        );
        let mut a = Checksum::default();
        let mut b = Checksum::default();
        a.add(&["1".into(), "x".into()]);
        a.add(&["2".into(), "y".into()]);
        b.add(&["2".into(), "y".into()]);
        b.add(&["1".into(), "x".into()]);
        assert_eq!(a, b);
        b.add(&["3".into(), "".into()]);
        assert_ne!(a, b);
    }
}
