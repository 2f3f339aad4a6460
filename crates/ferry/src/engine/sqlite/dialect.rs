//! SQLite's SQL.

use crate::engine::dialect::{Dialect, KeyClass, SessionSetting};
use crate::url::EngineKind;

/// SQLite's dialect.
pub struct Sqlite;

impl Dialect for Sqlite {
    fn kind(&self) -> EngineKind {
        EngineKind::Sqlite
    }

    fn ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    fn now(&self) -> &'static str {
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    }

    fn timestamp_text(&self, column: &str) -> String {
        column.to_owned()
    }

    fn as_text(&self, column: &str) -> String {
        format!("CAST({column} AS TEXT)")
    }

    fn hex_text(&self, column: &str) -> String {
        format!("hex({column})")
    }

    fn begin(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }

    fn table_exists(&self, _schema: Option<&str>, name: &str, _quoted: &str) -> String {
        format!(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = {}",
            self.literal(name)
        )
    }

    fn tables(&self) -> &'static str {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    }

    fn columns(&self, table: &str) -> String {
        format!("SELECT name FROM pragma_table_info({})", self.literal(table))
    }

    fn create_history(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n  version INTEGER PRIMARY KEY,\n  name TEXT NOT NULL,\n  kind TEXT NOT NULL DEFAULT 'migration',\n  checksum TEXT NOT NULL,\n  applied_at TEXT NOT NULL,\n  execution_ms INTEGER NOT NULL DEFAULT 0,\n  success INTEGER NOT NULL,\n  error TEXT\n)"
        )
    }

    fn create_batches(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n  version INTEGER NOT NULL,\n  direction TEXT NOT NULL,\n  last_key TEXT NOT NULL,\n  rows_done INTEGER NOT NULL,\n  batches INTEGER NOT NULL,\n  updated_at TEXT NOT NULL,\n  PRIMARY KEY (version, direction)\n)"
        )
    }

    fn create_releases(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (seq INTEGER PRIMARY KEY, version TEXT NOT NULL, source TEXT NOT NULL, recorded_at TEXT NOT NULL)"
        )
    }

    fn upsert(&self, t: &str, columns: &[&str], key: &[&str], values: &str) -> String {
        on_conflict(t, columns, key, values)
    }

    fn create_state_docs(&self, t: &str) -> String {
        format!("CREATE TABLE IF NOT EXISTS {t} (name TEXT PRIMARY KEY, body BLOB NOT NULL, updated_at TEXT NOT NULL)")
    }

    fn create_state_runs(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (run TEXT PRIMARY KEY, info TEXT NOT NULL, state TEXT NOT NULL, finished INTEGER NOT NULL, updated_at TEXT NOT NULL)"
        )
    }

    fn create_state_journal(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (run TEXT NOT NULL, seq INTEGER NOT NULL, line TEXT NOT NULL, PRIMARY KEY (run, seq))"
        )
    }

    fn unsynced(&self) -> Option<&'static str> {
        // A commit otherwise costs four fsyncs.
        Some("PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY")
    }

    fn database_size(&self) -> &'static str {
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
    }

    fn key_columns(&self, _schema: Option<&str>, name: &str, _quoted: &str) -> String {
        format!(
            "SELECT name, type, CASE WHEN \"notnull\" = 1 OR pk > 0 THEN 1 ELSE 0 END FROM pragma_table_info({})",
            self.literal(name)
        )
    }

    fn key_literal(&self, column: &str, _class: KeyClass) -> String {
        format!("quote({column})")
    }

    fn walk_lock_timeout(&self, lock_timeout_ms: u128) -> Option<SessionSetting> {
        Some(SessionSetting {
            read: "PRAGMA busy_timeout",
            set: format!("PRAGMA busy_timeout = {lock_timeout_ms}"),
            restore: |old| {
                old.first()
                    .cloned()
                    .flatten()
                    .map(|o| format!("PRAGMA busy_timeout = {o}"))
            },
        })
    }
}

/// `INSERT ... ON CONFLICT (key) DO UPDATE SET` every other column: how
/// SQLite and PostgreSQL replace a row.
pub(crate) fn on_conflict(t: &str, columns: &[&str], key: &[&str], values: &str) -> String {
    let set: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {t} ({}) VALUES {values} ON CONFLICT ({}) DO UPDATE SET {}",
        columns.join(", "),
        key.join(", "),
        set.join(", ")
    )
}
