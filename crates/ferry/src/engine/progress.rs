//! The batch table beside the history table (`<history>_batches`): one row
//! per batched migration at work, with the last key its batches reached.
//! Each batch writes its row in the batch's own transaction, so the row and
//! the data never disagree. The row goes when the migration finishes, in
//! the transaction that marks it done.

use super::dialect::dialect;
use super::history::{HistoryTable, literal, now, timestamp_text};
use super::{Engine, EngineKind};
use crate::error::{Error, Result};
use crate::migration::{BatchProgress, Direction};

/// The batch table that belongs to `history`.
pub fn table(history: &HistoryTable) -> HistoryTable {
    history.sibling("batches")
}

fn dir(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

/// `CREATE TABLE IF NOT EXISTS` for the batch table.
pub(crate) fn create_sql(kind: EngineKind, t: &HistoryTable) -> String {
    dialect(kind).create_batches(&t.quoted(kind))
}

/// Writes a migration's progress (inside the batch's transaction).
pub(crate) fn upsert_sql(kind: EngineKind, t: &HistoryTable, p: &BatchProgress) -> String {
    let key = serde_json::to_string(&p.last_key).unwrap_or_default();
    let values = format!(
        "({}, '{}', {}, {}, {}, {})",
        p.version,
        dir(p.direction),
        literal(kind, &key),
        p.rows,
        p.batches,
        now(kind)
    );
    dialect(kind).upsert(
        &t.quoted(kind),
        &["version", "direction", "last_key", "rows_done", "batches", "updated_at"],
        &["version", "direction"],
        &values,
    )
}

/// Forgets a migration's progress: one direction, or both.
pub(crate) fn delete_sql(kind: EngineKind, t: &HistoryTable, version: u64, direction: Option<Direction>) -> String {
    let t = t.quoted(kind);
    match direction {
        Some(d) => format!("DELETE FROM {t} WHERE version = {version} AND direction = '{}'", dir(d)),
        None => format!("DELETE FROM {t} WHERE version = {version}"),
    }
}

/// Reads every row of the batch table; an absent table is none.
pub fn read(engine: &mut dyn Engine, history: &HistoryTable) -> Result<Vec<BatchProgress>> {
    let kind = engine.kind();
    let t = table(history);
    let exists_sql = dialect(kind).table_exists(t.schema(), t.name(), &t.quoted(kind));
    let fail = |e: super::StatementError| Error::db(format!("cannot read the batch table {t}"), e.message);
    let exists = engine.query(&exists_sql).map_err(fail)?;
    if exists.first().and_then(|r| r.first()).and_then(|v| v.as_deref()) != Some("1") {
        return Ok(Vec::new());
    }
    let rows = engine
        .query(&format!(
            "SELECT version, direction, last_key, rows_done, batches, {} FROM {} ORDER BY version",
            timestamp_text(kind, "updated_at"),
            t.quoted(kind)
        ))
        .map_err(fail)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            Some(BatchProgress {
                version: text(0).parse().ok()?,
                direction: if text(1) == "down" {
                    Direction::Down
                } else {
                    Direction::Up
                },
                last_key: serde_json::from_str(&text(2)).unwrap_or_default(),
                rows: text(3).parse().unwrap_or(0),
                batches: text(4).parse().unwrap_or(0),
                updated_at: text(5),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upserts_quote_the_key_and_name_the_direction() {
        let t = table(&HistoryTable::parse("app.ferry_history").unwrap());
        assert_eq!(t.to_string(), "app.ferry_history_batches");
        let p = BatchProgress {
            version: 4,
            direction: Direction::Down,
            last_key: vec!["'it''s'".into(), "7".into()],
            rows: 10,
            batches: 1,
            updated_at: String::new(),
        };
        let sql = upsert_sql(EngineKind::Postgres, &t, &p);
        assert!(sql.contains(r#"'["''it''''s''","7"]'"#), "{sql}");
        assert!(sql.contains("'down'") && sql.contains("ON CONFLICT"), "{sql}");
        assert!(upsert_sql(EngineKind::MySql, &t, &p).contains("ON DUPLICATE KEY"));
    }
}
