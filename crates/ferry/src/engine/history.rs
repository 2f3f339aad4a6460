//! The history table: its name, its DDL per engine, and the SQL that records
//! each change. Values written are integers, fixed words and escaped text.

use std::fmt;

use super::dialect::dialect;
use crate::migration::Direction;
use crate::text::is_identifier;
use crate::url::EngineKind;

/// A validated history table name: `name` or `schema.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTable {
    schema: Option<String>,
    name: String,
}

impl Default for HistoryTable {
    fn default() -> Self {
        HistoryTable {
            schema: None,
            name: "ferry_history".into(),
        }
    }
}

impl HistoryTable {
    /// Parses `name` or `schema.name`; each part a plain SQL identifier.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (schema, name) = match s.split_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, s),
        };
        if !is_identifier(name) || !schema.is_none_or(is_identifier) {
            return Err(format!(
                "`{s}` is not a plain table name: use letters, digits and `_`, starting with a letter (at most 63), optionally `schema.table`"
            ));
        }
        Ok(HistoryTable {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    /// The table name without schema.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema, if one was given.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// A table of ferry's beside this one: `<name>_<suffix>` in the same
    /// schema (cut to 63 characters).
    pub fn sibling(&self, suffix: &str) -> HistoryTable {
        let mut name = format!("{}_{suffix}", self.name);
        name.truncate(63);
        HistoryTable {
            schema: self.schema.clone(),
            name,
        }
    }

    /// The name quoted for `kind`.
    pub fn quoted(&self, kind: EngineKind) -> String {
        let d = dialect(kind);
        match &self.schema {
            Some(schema) => format!("{}.{}", d.ident(schema), d.ident(&self.name)),
            None => d.ident(&self.name),
        }
    }
}

impl fmt::Display for HistoryTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The migration a history change is about.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Version.
    pub version: u64,
    /// `0003_add_artifacts`.
    pub name: &'a str,
    /// SHA-256 of the up script.
    pub checksum: &'a str,
    /// Applying or reverting.
    pub direction: Direction,
}

/// One change to the history table.
#[derive(Debug, Clone)]
pub enum HistoryChange<'a> {
    /// A non-transactional step is about to run: an up step inserts its row
    /// as not successful; a down step marks its row not successful.
    Started(Record<'a>),
    /// A non-transactional step finished: an up step marks its row
    /// successful; a down step deletes it.
    Finished(Record<'a>, i64),
    /// A non-transactional step failed: the row stays, not successful, with
    /// the failing statement and message.
    Failed(Record<'a>, &'a str),
    /// `ferry db baseline`.
    Baseline {
        /// Version.
        version: u64,
        /// Name shown in history.
        name: &'a str,
    },
    /// `ferry db adopt`: a migration another tool applied.
    Adopted {
        /// Version.
        version: u64,
        /// Name shown in history.
        name: &'a str,
        /// SHA-256 of ferry's file.
        checksum: &'a str,
        /// When the other tool applied it, as a SQL literal (none: now).
        applied_at: Option<&'a str>,
        /// Why it counts as failed, if the other tool says it failed.
        error: Option<&'a str>,
    },
    /// `ferry db repair`: forget a row.
    Delete {
        /// Version.
        version: u64,
    },
    /// `ferry db repair`: a failed revert is taken back to applied.
    Restore {
        /// Version.
        version: u64,
    },
    /// `ferry db repair`: accept the file's current checksum.
    Checksum {
        /// Version.
        version: u64,
        /// The new checksum.
        checksum: &'a str,
    },
}

/// The error text of a non-transactional step that started and has not
/// finished (or was killed).
pub(crate) const STARTED_UP: &str = "up: started and did not finish (interrupted?)";
/// The same for a revert.
pub(crate) const STARTED_DOWN: &str = "down: started and did not finish (interrupted?)";

/// The error for a history table that cannot be read: most likely another
/// tool's table with the same name.
pub(crate) fn unreadable(table: &HistoryTable, message: impl fmt::Display) -> crate::Error {
    crate::Error::db(
        format!("cannot read history table {table}"),
        format!(
            "{message}\n  help: if `{table}` belongs to another tool, set history_table in ferry.toml to another name"
        ),
    )
}

/// Quotes text as a SQL string literal.
pub(crate) fn literal(kind: EngineKind, s: &str) -> String {
    dialect(kind).literal(s)
}

pub(crate) fn now(kind: EngineKind) -> &'static str {
    dialect(kind).now()
}

fn boolean(kind: EngineKind, b: bool) -> &'static str {
    dialect(kind).boolean(b)
}

/// `CREATE TABLE IF NOT EXISTS` for the history table.
pub(crate) fn create_sql(kind: EngineKind, table: &HistoryTable) -> String {
    dialect(kind).create_history(&table.quoted(kind))
}

/// `column` (a timestamp) as ISO 8601 UTC text.
pub(crate) fn timestamp_text(kind: EngineKind, column: &str) -> String {
    dialect(kind).timestamp_text(column)
}

/// The columns read back, in this order, with `applied_at` as ISO 8601 text.
pub(crate) fn select_sql(kind: EngineKind, table: &HistoryTable) -> String {
    let d = dialect(kind);
    format!(
        "SELECT version, name, kind, checksum, {}, execution_ms, {}, error FROM {} ORDER BY version",
        d.timestamp_text("applied_at"),
        d.boolean_as_int("success"),
        table.quoted(kind)
    )
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// The history write that goes into a migration's own transaction. On
/// PostgreSQL the duration is measured by the server, so the whole
/// transaction can be sent in one round trip.
pub(crate) fn in_transaction_sql(
    kind: EngineKind,
    table: &HistoryTable,
    record: &Record<'_>,
    ms: Option<i64>,
) -> String {
    let t = table.quoted(kind);
    match record.direction {
        Direction::Down => format!("DELETE FROM {t} WHERE version = {}", record.version),
        Direction::Up => {
            let ms = match (ms, kind) {
                (Some(ms), _) => ms.to_string(),
                (None, EngineKind::Postgres) => {
                    "(extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint".to_owned()
                }
                (None, _) => "0".to_owned(),
            };
            insert_sql(kind, table, record, &ms, true, None)
        }
    }
}

fn insert_sql(
    kind: EngineKind,
    table: &HistoryTable,
    record: &Record<'_>,
    ms: &str,
    success: bool,
    error: Option<&str>,
) -> String {
    format!(
        "INSERT INTO {} (version, name, kind, checksum, applied_at, execution_ms, success, error) VALUES ({}, {}, 'migration', {}, {}, {ms}, {}, {})",
        table.quoted(kind),
        record.version,
        literal(kind, record.name),
        literal(kind, record.checksum),
        now(kind),
        boolean(kind, success),
        error.map_or_else(|| "NULL".to_owned(), |e| literal(kind, e)),
    )
}

/// The SQL for one history change outside a migration's transaction.
pub(crate) fn change_sql(kind: EngineKind, table: &HistoryTable, change: &HistoryChange<'_>) -> String {
    let t = table.quoted(kind);
    let (f, tr) = (boolean(kind, false), boolean(kind, true));
    match change {
        HistoryChange::Started(r) => match r.direction {
            Direction::Up => insert_sql(kind, table, r, "0", false, Some(STARTED_UP)),
            Direction::Down => format!(
                "UPDATE {t} SET success = {f}, error = {} WHERE version = {}",
                literal(kind, STARTED_DOWN),
                r.version
            ),
        },
        HistoryChange::Finished(r, ms) => match r.direction {
            Direction::Up => format!(
                "UPDATE {t} SET success = {tr}, error = NULL, execution_ms = {ms}, applied_at = {} WHERE version = {}",
                now(kind),
                r.version
            ),
            Direction::Down => format!("DELETE FROM {t} WHERE version = {}", r.version),
        },
        HistoryChange::Failed(r, error) => {
            let dir = match r.direction {
                Direction::Up => "up",
                Direction::Down => "down",
            };
            format!(
                "UPDATE {t} SET success = {f}, error = {} WHERE version = {}",
                literal(kind, &format!("{dir}: {error}")),
                r.version
            )
        }
        HistoryChange::Baseline { version, name } => format!(
            "INSERT INTO {t} (version, name, kind, checksum, applied_at, execution_ms, success) VALUES ({version}, {}, 'baseline', '', {}, 0, {tr})",
            literal(kind, name),
            now(kind)
        ),
        HistoryChange::Adopted {
            version,
            name,
            checksum,
            applied_at,
            error,
        } => format!(
            "INSERT INTO {t} (version, name, kind, checksum, applied_at, execution_ms, success, error) VALUES ({version}, {}, 'migration', {}, {}, 0, {}, {})",
            literal(kind, name),
            literal(kind, checksum),
            applied_at.unwrap_or(now(kind)),
            boolean(kind, error.is_none()),
            error.map_or_else(|| "NULL".to_owned(), |e| literal(kind, e)),
        ),
        HistoryChange::Delete { version } => format!("DELETE FROM {t} WHERE version = {version}"),
        HistoryChange::Restore { version } => {
            format!("UPDATE {t} SET success = {tr}, error = NULL WHERE version = {version}")
        }
        HistoryChange::Checksum { version, checksum } => format!(
            "UPDATE {t} SET checksum = {} WHERE version = {version}",
            literal(kind, checksum)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert_eq!(
            HistoryTable::parse("schema_migrations")
                .unwrap()
                .quoted(EngineKind::MySql),
            "`schema_migrations`"
        );
        assert_eq!(
            HistoryTable::parse("app.hist").unwrap().quoted(EngineKind::Postgres),
            "\"app\".\"hist\""
        );
        for bad in ["", "1abc", "a-b", "a.b.c", "x\"; DROP", "a b"] {
            assert!(HistoryTable::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn literals_escape_quotes_and_mysql_backslashes() {
        assert_eq!(literal(EngineKind::Postgres, "it's \\"), "'it''s \\'");
        assert_eq!(literal(EngineKind::MySql, "it's \\"), "'it''s \\\\'");
    }
}
