//! The installed release, recorded in the database next to the history
//! table (default `ferry_release`): one row per change, newest wins, so the
//! table doubles as a log of what was installed when. The migrator reads
//! and writes it under its lock.

use serde::Serialize;

use crate::engine::history::{literal, now, timestamp_text};
use crate::engine::{Engine, HistoryTable, dialect};
use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::url::EngineKind;
use crate::version::Version;

/// The release recorded as installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledRecord {
    /// The version as recorded.
    pub version: String,
    /// How it was recorded: `adopt` or `upgrade`.
    pub source: String,
    /// When, UTC, ISO 8601.
    pub recorded_at: String,
}

fn exists_sql(kind: EngineKind, table: &HistoryTable) -> String {
    dialect(kind).table_exists(table.schema(), table.name(), &table.quoted(kind))
}

fn create_sql(kind: EngineKind, table: &HistoryTable) -> String {
    dialect(kind).create_releases(&table.quoted(kind))
}

fn db_err(table: &HistoryTable, what: &str) -> impl Fn(crate::engine::StatementError) -> Error {
    let context = format!("{what} {table}");
    move |e| Error::db(context.clone(), e.message)
}

/// The newest recorded release, if the table exists and has a row.
pub fn read_installed(engine: &mut dyn Engine, table: &HistoryTable) -> Result<Option<InstalledRecord>> {
    let kind = engine.kind();
    let exists = engine
        .query(&exists_sql(kind, table))
        .map_err(db_err(table, "cannot look for"))?;
    if exists.first().and_then(|r| r.first().cloned().flatten()).as_deref() != Some("1") {
        return Ok(None);
    }
    let sql = format!(
        "SELECT version, source, {} FROM {} ORDER BY seq DESC LIMIT 1",
        timestamp_text(kind, "recorded_at"),
        table.quoted(kind)
    );
    let rows = engine.query(&sql).map_err(db_err(table, "cannot read"))?;
    Ok(rows.into_iter().next().map(|r| {
        let mut cells = r.into_iter();
        let mut next = || cells.next().flatten().unwrap_or_default();
        InstalledRecord {
            version: next(),
            source: next(),
            recorded_at: next(),
        }
    }))
}

/// The newest row's number in the release table (0 when it has none or
/// does not exist): what [`forget_since`] takes the table back to.
pub fn installed_seq(engine: &mut dyn Engine, table: &HistoryTable) -> Result<i64> {
    let kind = engine.kind();
    let exists = engine
        .query(&exists_sql(kind, table))
        .map_err(db_err(table, "cannot look for"))?;
    if exists.first().and_then(|r| r.first().cloned().flatten()).as_deref() != Some("1") {
        return Ok(0);
    }
    Ok(engine
        .query(&format!("SELECT COALESCE(MAX(seq), 0) FROM {}", table.quoted(kind)))
        .map_err(db_err(table, "cannot read"))?
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Removes the rows recorded after row `seq`: the table says again what it
/// said then. Call under the migration lock.
pub fn forget_since(engine: &mut dyn Engine, table: &HistoryTable, seq: i64) -> Result<()> {
    let kind = engine.kind();
    let exists = engine
        .query(&exists_sql(kind, table))
        .map_err(db_err(table, "cannot look for"))?;
    if exists.first().and_then(|r| r.first().cloned().flatten()).as_deref() != Some("1") {
        return Ok(());
    }
    engine
        .execute(&format!("DELETE FROM {} WHERE seq > {seq}", table.quoted(kind)))
        .map_err(db_err(table, "cannot write to"))?;
    engine.flush()
}

/// Records `version` as installed. Call under the migration lock.
pub fn record_installed(engine: &mut dyn Engine, table: &HistoryTable, version: &Version, source: &str) -> Result<()> {
    let kind = engine.kind();
    engine
        .execute(&create_sql(kind, table))
        .map_err(db_err(table, "cannot create"))?;
    let t = table.quoted(kind);
    let seq = engine
        .query(&format!("SELECT COALESCE(MAX(seq), 0) + 1 FROM {t}"))
        .map_err(db_err(table, "cannot read"))?
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(1);
    engine
        .execute(&format!(
            "INSERT INTO {t} (seq, version, source, recorded_at) VALUES ({seq}, {}, {}, {})",
            literal(kind, &version.to_string()),
            literal(kind, source),
            now(kind)
        ))
        .map_err(db_err(table, "cannot write to"))?;
    // Adopting is a single statement, but make it durable like a run.
    engine.flush()
}

/// The installed release, through the migrator and its lock.
impl Migrator {
    /// The release recorded as installed, if any. Changes nothing.
    pub fn installed(&mut self) -> Result<Option<InstalledRecord>> {
        let table = self.settings().release_table.clone();
        read_installed(self.engine(), &table)
    }

    /// Records `version` as the installed release (`ferry adopt`), under the lock.
    pub fn record_release(&mut self, version: &Version, source: &str) -> Result<()> {
        let table = self.settings().release_table.clone();
        self.locked(|engine| record_installed(engine, &table, version, source))
    }

    /// The number of the newest row of the release table (0: none).
    pub fn installed_seq(&mut self) -> Result<i64> {
        let table = self.settings().release_table.clone();
        installed_seq(self.engine(), &table)
    }

    /// Takes the release table back to what it said at row `seq`, under the lock.
    pub fn forget_releases_since(&mut self, seq: i64) -> Result<()> {
        let table = self.settings().release_table.clone();
        self.locked(|engine| forget_since(engine, &table, seq))
    }
}
