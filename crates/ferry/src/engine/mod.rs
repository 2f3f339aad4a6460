//! Database engines behind one small trait: connect, lock, read history,
//! apply in a transaction, execute without one, record.

pub(crate) mod admin;
pub mod catalog;
pub mod dialect;
pub(crate) mod history;
pub(crate) mod mysql;
pub(crate) mod postgres;
pub mod progress;
#[cfg(feature = "operator")]
pub mod scratch;
#[cfg(feature = "operator")]
pub(crate) mod snapshot;
pub(crate) mod sqlite;
mod unreachable;

use std::time::Duration;

pub use self::admin::{create_database, is_missing_database};
pub use self::dialect::{Dialect, KeyClass, dialect};
pub use self::history::{HistoryChange, HistoryTable, Record};
#[cfg(feature = "operator")]
pub use self::snapshot::SnapshotCache;
use crate::error::{Error, Result};
use crate::migration::AppliedMigration;
pub use crate::redact::{redact_text, redact_url};
pub use crate::url::{DatabaseUrl, EngineKind, SafeUrl, SqliteLocation, SqliteMode};

/// A statement failed: what the database said and, when it said, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError {
    /// The database's message.
    pub message: String,
    /// Byte offset in the SQL sent where the error was found, if reported.
    pub position: Option<usize>,
    /// The statement could not get a lock in time, or lost a deadlock: the
    /// same work may succeed when tried again.
    pub transient: bool,
}

impl StatementError {
    /// An error without a position.
    pub fn new(message: impl Into<String>) -> Self {
        StatementError {
            message: message.into(),
            position: None,
            transient: false,
        }
    }
}

/// One database connection that ferry migrates through.
///
/// Implementations are synchronous. An async application calls ferry from
/// `spawn_blocking`; the PostgreSQL driver runs its own small runtime and
/// must not be called from inside another one.
pub trait Engine: Send {
    /// Which engine this is.
    fn kind(&self) -> EngineKind;

    /// Its SQL.
    fn dialect(&self) -> &'static dyn Dialect {
        dialect(self.kind())
    }

    /// The server's version string (for SQLite, the library's).
    fn server_version(&mut self) -> Result<String>;

    /// Takes the migration lock, waiting at most `timeout`. Call through
    /// [`crate::Migrator`], which releases it with a guard on every path.
    fn lock(&mut self, timeout: Duration) -> Result<()>;

    /// Releases the migration lock. Must be harmless when not held.
    fn unlock(&mut self) -> Result<()>;

    /// Creates the history table if it does not exist.
    fn ensure_history(&mut self, table: &HistoryTable) -> Result<()>;

    /// Reads the history table; an absent table is an empty history.
    fn read_history(&mut self, table: &HistoryTable) -> Result<Vec<AppliedMigration>>;

    /// True when DDL can be rolled back (SQLite, PostgreSQL): migrations then
    /// run in one transaction with their history row.
    fn transactional_ddl(&self) -> bool;

    /// Runs `sql` and the history change for `record` in one transaction,
    /// returning the time the script took in milliseconds. On error the
    /// transaction is rolled back and nothing of it remains. With
    /// `foreign_keys_off` (SQLite's table rebuilds), foreign keys are not
    /// enforced while it runs and are checked once before it commits.
    fn apply_in_transaction(
        &mut self,
        table: &HistoryTable,
        sql: &str,
        record: &Record<'_>,
        foreign_keys_off: bool,
    ) -> Result<i64, StatementError>;

    /// Runs one statement outside any transaction.
    fn execute(&mut self, sql: &str) -> Result<(), StatementError>;

    /// Runs a query and returns its rows as text (NULL as `None`). For
    /// ferry's own small tables and for checks, not for bulk data.
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, StatementError>;

    /// Makes every step committed so far durable. The executor calls it once
    /// after a run's steps, whether they all succeeded or one failed, before
    /// it reports anything as done. Engines whose commits are durable one by
    /// one need not do anything.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    /// Makes the database's file now if the connection was opened before
    /// it existed (SQLite creates it on the first write); other engines
    /// need not do anything.
    fn open_for_writing(&mut self) -> Result<()> {
        Ok(())
    }

    /// Opens the database's file if another connection made it since this
    /// one was opened without it (SQLite); reads then see what it holds.
    fn catch_up(&mut self) -> Result<()> {
        Ok(())
    }

    /// Reopens the database after its file was replaced under the
    /// connection (a SQLite restore); other engines need not do anything.
    fn reopen(&mut self) -> Result<()> {
        Ok(())
    }

    /// The server's ids of this engine's own sessions (its lock connection
    /// among them), which do not count as other users of the database.
    fn own_sessions(&mut self) -> Vec<i64> {
        Vec::new()
    }

    /// Writes one change to the history table, committed at once.
    fn record(&mut self, table: &HistoryTable, change: &HistoryChange<'_>) -> Result<()> {
        let sql = history::change_sql(self.kind(), table, change);
        self.execute(&sql)
            .map_err(|e| Error::db(format!("cannot write to history table {table}"), e.message))
    }
}

/// Runs statements in one transaction (ferry's own bookkeeping: rows of its
/// tables, and DML only on MySQL, where DDL would commit by itself).
pub(crate) fn in_transaction(engine: &mut dyn Engine, statements: &[String]) -> Result<(), StatementError> {
    let begin = engine.dialect().begin();
    let result = if engine.kind() == EngineKind::Postgres {
        // One round trip.
        engine.execute(&format!("{begin};\n{};\nCOMMIT", statements.join(";\n")))
    } else {
        (|| {
            engine.execute(begin)?;
            for st in statements {
                engine.execute(st)?;
            }
            engine.execute("COMMIT")
        })()
    };
    if result.is_err() {
        let _ = engine.execute("ROLLBACK");
    }
    result
}

/// Options for connecting.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long to wait for SQLite's write lock (busy timeout), and for a
    /// connection to a server.
    pub busy_timeout: Duration,
    /// SQLite: whether foreign keys are enforced (`PRAGMA foreign_keys`).
    pub sqlite_foreign_keys: bool,
    /// How long one attempt to connect to a server waits (a URL's own
    /// `connect_timeout` wins).
    pub connect_timeout: Duration,
    /// How long to keep trying while the server cannot be reached.
    pub wait: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            busy_timeout: Duration::from_secs(60),
            sqlite_foreign_keys: true,
            connect_timeout: Duration::from_secs(10),
            wait: Duration::ZERO,
        }
    }
}

/// Connects to the database `url` names.
pub fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Box<dyn Engine>> {
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(250);
    let mut tries = 1;
    loop {
        let error = match connect_once(url, options) {
            Ok(engine) => return Ok(engine),
            Err(e) => e,
        };
        let Error::Connect { url: safe, message } = error else {
            return Err(error);
        };
        let why = unreachable::Why::of(&message);
        let left = options.wait.saturating_sub(start.elapsed());
        if why.may_pass() && left > Duration::ZERO {
            let nap = pause.min(left);
            tracing::warn!(
                "cannot reach {safe} yet ({}); trying again in {} (waiting up to {} in all)",
                why.describe(),
                crate::text::seconds(nap),
                crate::text::seconds(options.wait)
            );
            std::thread::sleep(nap);
            pause = (pause * 2).min(Duration::from_secs(5));
            tries += 1;
            continue;
        }
        return Err(Error::Connect {
            url: safe,
            message: unreachable::explain(&message, why, url.kind(), tries, start.elapsed()),
        });
    }
}

fn connect_once(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Box<dyn Engine>> {
    match url.kind() {
        #[cfg(feature = "sqlite")]
        EngineKind::Sqlite => Ok(Box::new(sqlite::SqliteEngine::connect(url, options)?)),
        #[cfg(feature = "postgres")]
        EngineKind::Postgres => Ok(Box::new(postgres::PostgresEngine::connect(url, options)?)),
        #[cfg(feature = "mysql")]
        EngineKind::MySql => Ok(Box::new(mysql::MySqlEngine::connect(url, options)?)),
        #[allow(unreachable_patterns)]
        other => Err(Error::Connect {
            url: url.safe().clone(),
            message: format!(
                "this build of ferry has no {} support; rebuild with the `{}` feature",
                other.name(),
                match other {
                    EngineKind::Sqlite => "sqlite",
                    EngineKind::Postgres => "postgres",
                    EngineKind::MySql => "mysql",
                }
            ),
        }),
    }
}

#[cfg(feature = "sqlite")]
/// Polls `try_once` until it succeeds or `timeout` passes. Used by lock
/// implementations whose server call cannot itself time out in a bounded way.
pub(crate) fn poll_until(timeout: Duration, mut try_once: impl FnMut() -> Result<bool>) -> Result<()> {
    let start = std::time::Instant::now();
    let mut wait = Duration::from_millis(5);
    loop {
        if try_once()? {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(Error::LockTimeout {
                waited: start.elapsed(),
            });
        }
        std::thread::sleep(wait.min(timeout.saturating_sub(start.elapsed())));
        wait = (wait * 2).min(Duration::from_millis(100));
    }
}
