//! Reading a database's schema as a comparable [`Snapshot`]: each engine's
//! catalogue is read by its own `schema.rs`; here, the dispatch and what a
//! read keeps for the next one.

use super::{Engine, EngineKind};
use crate::error::{Error, Result};
use crate::schema::Snapshot;

/// What a snapshot read keeps for the next one of the same database.
#[derive(Debug, Default)]
pub struct SnapshotCache {
    postgres: super::postgres::schema::Cache,
    sqlite: super::sqlite::schema::Cache,
}

impl SnapshotCache {
    /// On PostgreSQL, for a superuser, in a database nobody keeps: installs
    /// event triggers that record what each command changes, so that each
    /// later read costs what changed rather than what there is. Returns
    /// whether it did; reads work the same either way.
    pub fn track(&mut self, engine: &mut dyn Engine) -> Result<bool> {
        match engine.kind() {
            EngineKind::Postgres => super::postgres::schema::track(engine, &mut self.postgres),
            _ => Ok(false),
        }
    }
}

/// Reading snapshots.
impl Snapshot {
    /// Reads the schema of the database `engine` is connected to, leaving
    /// out the tables named in `skip` (ferry's own) and what belongs to them.
    pub fn read(engine: &mut dyn Engine, skip: &[String]) -> Result<Self> {
        Self::read_cached(engine, skip, &mut SnapshotCache::default())
    }

    /// As [`Snapshot::read`], reading again only what changed since `cache`
    /// last saw it (on PostgreSQL and SQLite; MariaDB's catalogue is read
    /// whole). A cache belongs to one database and one session.
    pub fn read_cached(engine: &mut dyn Engine, skip: &[String], cache: &mut SnapshotCache) -> Result<Self> {
        let mut s = match engine.kind() {
            EngineKind::Sqlite => super::sqlite::schema::read(engine, &mut cache.sqlite)?,
            EngineKind::Postgres => super::postgres::schema::read(engine, &mut cache.postgres)?,
            EngineKind::MySql => super::mysql::schema::read(engine)?,
        };
        let ours = |name: &str| skip.iter().any(|t| t.eq_ignore_ascii_case(name));
        s.tables.retain(|name, _| !ours(name));
        // Indexes, triggers and sequences of ferry's tables: `table:name` keys
        // or names that start with the table's.
        let belongs = |key: &str| {
            skip.iter().any(|t| {
                key.strip_prefix(t.as_str())
                    .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('_'))
            })
        };
        s.indexes.retain(|k, _| !belongs(k));
        s.triggers.retain(|k, _| !belongs(k));
        s.sequences.retain(|k, _| !belongs(k));
        Ok(s)
    }
}

pub(crate) fn query_err(what: &'static str) -> impl Fn(crate::engine::StatementError) -> Error {
    move |e| Error::db(format!("cannot read the schema ({what})"), e.message)
}

/// The cells of a row as text.
pub(crate) fn cell(r: &[Option<String>], i: usize) -> String {
    r.get(i).cloned().flatten().unwrap_or_default()
}
