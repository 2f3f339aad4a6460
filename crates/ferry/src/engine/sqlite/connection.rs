//! SQLite, bundled into the binary.
//!
//! A database file that does not exist is not created until ferry writes
//! (takes the lock): until then an empty in-memory database stands in, so
//! `ferry status` on a new project creates nothing. `?mode=ro` opens the
//! file read-only and makes every writing command refuse; `?mode=rw`
//! requires the file to exist.
//!
//! Locking: ferry holds an exclusive OS lock on `<database>.ferry-lock`
//! beside the database for the whole run, so two ferry processes never both
//! migrate (the OS drops the lock if ferry dies). Each migration also takes
//! SQLite's write lock with `BEGIN IMMEDIATE`, waiting up to the busy timeout
//! for the application's own writers.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fallible_iterator::FallibleIterator;
use rusqlite::{Connection, OpenFlags};

use crate::engine::history::{self, HistoryTable, Record};
use crate::engine::{
    ConnectOptions, DatabaseUrl, Engine, EngineKind, SafeUrl, SqliteLocation, SqliteMode, StatementError,
};
use crate::error::{Error, Result};
use crate::migration::{AppliedMigration, RowKind};

pub(crate) struct SqliteEngine {
    conn: Connection,
    /// The file (none for an in-memory database).
    path: Option<PathBuf>,
    /// The file, while an in-memory stand-in replaces it (it does not exist yet).
    create_on_write: Option<PathBuf>,
    mode: SqliteMode,
    busy_timeout: Duration,
    url: SafeUrl,
    lock_path: Option<PathBuf>,
    lock_file: Option<File>,
    /// Whether foreign keys are enforced (`[database] sqlite_foreign_keys`).
    foreign_keys: bool,
}

impl SqliteEngine {
    pub(crate) fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self> {
        let fail = |message: String| Error::Connect {
            url: url.safe().clone(),
            message,
        };
        let mode = url.sqlite_mode();
        let mut create_on_write = None;
        let (conn, lock_path) = match url.sqlite_location() {
            Some(SqliteLocation::File(path)) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
                    && !parent.is_dir()
                {
                    return Err(fail(format!(
                        "the folder {} does not exist; create it, or point the URL at an existing folder",
                        parent.display()
                    )));
                }
                let mut lock = path.clone().into_os_string();
                lock.push(".ferry-lock");
                let conn = if path.exists() {
                    open_file(path, mode).map_err(|e| fail(e.to_string()))?
                } else if mode == SqliteMode::ReadWriteCreate {
                    create_on_write = Some(path.clone());
                    Connection::open_in_memory().map_err(|e| fail(e.to_string()))?
                } else {
                    return Err(fail(format!(
                        "no SQLite database at {} (the URL's mode does not let ferry create it)",
                        path.display()
                    )));
                };
                (conn, Some(PathBuf::from(lock)))
            }
            _ => (Connection::open_in_memory().map_err(|e| fail(e.to_string()))?, None),
        };
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| fail(e.to_string()))?;
        let path = match url.sqlite_location() {
            Some(SqliteLocation::File(p)) => Some(p.clone()),
            _ => None,
        };
        let engine = SqliteEngine {
            conn,
            path,
            create_on_write,
            mode,
            busy_timeout: options.busy_timeout,
            url: url.safe().clone(),
            lock_path,
            lock_file: None,
            foreign_keys: options.sqlite_foreign_keys,
        };
        engine.apply_foreign_keys().map_err(|e| fail(e.message))?;
        Ok(engine)
    }

    /// Sets `PRAGMA foreign_keys` as the project asks.
    fn apply_foreign_keys(&self) -> Result<(), StatementError> {
        let on = if self.foreign_keys { "ON" } else { "OFF" };
        self.conn
            .execute_batch(&format!("PRAGMA foreign_keys = {on}"))
            .map_err(|e| StatementError::new(format!("cannot set foreign_keys: {e}")))
    }

    /// Runs a migration and its history row in one `BEGIN IMMEDIATE`
    /// transaction; with `check_keys`, fails it before the commit when
    /// `PRAGMA foreign_key_check` finds a row whose parent is missing.
    fn apply(
        &mut self,
        table: &HistoryTable,
        sql: &str,
        record: &Record<'_>,
        check_keys: bool,
    ) -> Result<i64, StatementError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| StatementError {
            transient: is_busy(&e),
            ..StatementError::new(format!("cannot start a transaction: {e}"))
        })?;
        let start = Instant::now();
        let result = self.run_script(sql).and_then(|()| {
            if check_keys {
                self.check_foreign_keys()?;
            }
            let ms = start.elapsed().as_millis() as i64;
            let record_sql = history::in_transaction_sql(EngineKind::Sqlite, table, record, Some(ms));
            self.conn
                .execute_batch(&record_sql)
                .map_err(|e| StatementError::new(format!("cannot write to history table {table}: {e}")))?;
            self.conn
                .execute_batch("COMMIT")
                .map_err(|e| StatementError::new(format!("cannot commit: {e}")))?;
            Ok(ms)
        });
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        result
    }

    /// `PRAGMA foreign_key_check`, as an error naming the first violations.
    fn check_foreign_keys(&self) -> Result<(), StatementError> {
        let err = |e: rusqlite::Error| StatementError::new(format!("cannot check foreign keys: {e}"));
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check").map_err(err)?;
        let rows: Vec<(String, Option<i64>, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(err)?;
        if rows.is_empty() {
            return Ok(());
        }
        let shown: Vec<String> = rows
            .iter()
            .take(5)
            .map(|(t, rowid, parent)| match rowid {
                Some(id) => format!("{t} row {id} refers to a missing row of {parent}"),
                None => format!("a row of {t} refers to a missing row of {parent}"),
            })
            .collect();
        Err(StatementError::new(format!(
            "with foreign keys off, the migration left {} row{} whose parent is missing ({}{}); it was rolled back",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            shown.join("; "),
            if rows.len() > 5 { "; …" } else { "" }
        )))
    }

    fn run_script(&self, sql: &str) -> Result<(), StatementError> {
        // SQLite's own parser walks the statements. Each prepared statement's
        // text (sqlite3_sql) is exactly the input from the end of the one
        // before to its own semicolon, comments and blank lines included, so
        // adding up their lengths gives where each starts; errors are placed
        // from there, never by searching the script for the statement's text
        // (which finds an identical earlier one).
        let mut batch = rusqlite::Batch::new(&self.conn, sql);
        let mut cursor = 0;
        loop {
            let mut stmt = match batch.next() {
                Ok(Some(stmt)) => stmt,
                Ok(None) => return Ok(()),
                // Offsets of a statement that does not prepare count from
                // where it starts.
                Err(e) => return Err(to_statement_error(&e, sql, cursor)),
            };
            let start = cursor;
            // No statement of a migration has bound parameters, so the
            // expanded text is the original one.
            cursor += stmt.expanded_sql().map_or(0, |t| t.len());
            let mut rows = stmt.raw_query();
            loop {
                match rows.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        let mut err = to_statement_error(&e, sql, start);
                        err.position = Some(first_token(sql, start));
                        return Err(err);
                    }
                }
            }
        }
    }
}

/// The offset of the first character at or after `from` that is not
/// whitespace, a comment or a stray semicolon: where a statement starts.
fn first_token(sql: &str, from: usize) -> usize {
    let b = sql.as_bytes();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() || c == b';' => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            }
            _ => break,
        }
    }
    i.min(b.len())
}

fn open_file(path: &std::path::Path, mode: SqliteMode) -> rusqlite::Result<Connection> {
    let access = match mode {
        SqliteMode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
        SqliteMode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
        SqliteMode::ReadWriteCreate => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    };
    Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// `e` as a statement error, placed in `sql`: prepare errors carry an offset
/// from `base`, the start of the statement being prepared; others are placed
/// at the first token after `base`.
fn to_statement_error(e: &rusqlite::Error, sql: &str, base: usize) -> StatementError {
    let position = match e {
        rusqlite::Error::SqlInputError { offset, .. } if *offset >= 0 => Some(base + *offset as usize),
        _ => Some(first_token(sql, base)),
    };
    let message = match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        other => other.to_string(),
    };
    let transient = is_busy(e);
    StatementError {
        message,
        position,
        transient,
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn db_err(context: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::db(context, e)
}

impl SqliteEngine {
    /// Connects this engine to the file at `path` (made, if its mode lets
    /// it), with the busy timeout and foreign-key setting it was opened with.
    fn open_at(&mut self, path: &Path) -> Result<()> {
        let connect_error = |message: String| Error::Connect {
            url: self.url.clone(),
            message,
        };
        self.conn = open_file(path, self.mode)
            .and_then(|c| c.busy_timeout(self.busy_timeout).map(|()| c))
            .map_err(|e| connect_error(e.to_string()))?;
        self.apply_foreign_keys().map_err(|e| connect_error(e.message))
    }
}

impl Engine for SqliteEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Sqlite
    }

    fn server_version(&mut self) -> Result<String> {
        Ok(rusqlite::version().to_owned())
    }

    fn lock(&mut self, timeout: Duration) -> Result<()> {
        if self.mode == SqliteMode::ReadOnly {
            return Err(Error::refusal(
                format!(
                    "{} opens the SQLite database read-only (mode=ro); nothing was changed",
                    self.url
                ),
                "remove ?mode=ro from the database URL to let ferry change the database",
            ));
        }
        // Writing from here: the file is made now if it was not there.
        self.open_for_writing()?;
        let Some(path) = &self.lock_path else {
            return Ok(()); // in-memory: private to this connection
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("cannot open lock file", path, e))?;
        crate::engine::poll_until(timeout, || match file.try_lock() {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("cannot lock", path, e)),
        })?;
        self.lock_file = Some(file);
        Ok(())
    }

    fn open_for_writing(&mut self) -> Result<()> {
        match self.create_on_write.take() {
            Some(path) => self.open_at(&path),
            None => Ok(()),
        }
    }

    fn catch_up(&mut self) -> Result<()> {
        if self.create_on_write.as_ref().is_some_and(|p| p.exists()) {
            self.open_for_writing()?;
        }
        Ok(())
    }

    fn reopen(&mut self) -> Result<()> {
        if self.create_on_write.is_some() {
            return self.catch_up();
        }
        match self.path.clone() {
            Some(path) => self.open_at(&path),
            None => Ok(()),
        }
    }

    fn unlock(&mut self) -> Result<()> {
        if let Some(file) = self.lock_file.take() {
            let _ = file.unlock();
        }
        Ok(())
    }

    fn ensure_history(&mut self, table: &HistoryTable) -> Result<()> {
        if table.schema().is_some() {
            return Err(Error::db(
                format!("history table {table}"),
                "SQLite has no schemas here; use a plain table name",
            ));
        }
        self.conn
            .execute_batch(&history::create_sql(EngineKind::Sqlite, table))
            .map_err(db_err(&format!("cannot create history table {table}")))
    }

    fn read_history(&mut self, table: &HistoryTable) -> Result<Vec<AppliedMigration>> {
        let exists: bool = self
            .conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table.name()],
                |r| r.get(0),
            )
            .map_err(db_err("cannot read the database schema"))?;
        if !exists {
            return Ok(Vec::new());
        }
        let context = format!("cannot read history table {table}");
        let mut stmt = self
            .conn
            .prepare(&history::select_sql(EngineKind::Sqlite, table))
            .map_err(|e| history::unreadable(table, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AppliedMigration {
                    version: r.get::<_, i64>(0)? as u64,
                    name: r.get(1)?,
                    kind: RowKind::parse(&r.get::<_, String>(2)?),
                    checksum: r.get(3)?,
                    applied_at: r.get(4)?,
                    execution_ms: r.get(5)?,
                    success: r.get::<_, i64>(6)? != 0,
                    error: r.get(7)?,
                })
            })
            .map_err(db_err(&context))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err(&context))
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    fn apply_in_transaction(
        &mut self,
        table: &HistoryTable,
        sql: &str,
        record: &Record<'_>,
        foreign_keys_off: bool,
    ) -> Result<i64, StatementError> {
        if !foreign_keys_off {
            return self.apply(table, sql, record, false);
        }
        // Has no effect inside a transaction: set before it starts.
        self.conn
            .execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(|e| StatementError::new(format!("cannot turn foreign keys off: {e}")))?;
        let result = self.apply(table, sql, record, true);
        if let Err(e) = self.apply_foreign_keys() {
            tracing::warn!("could not set foreign keys back: {}", e.message);
        }
        result
    }

    fn execute(&mut self, sql: &str) -> Result<(), StatementError> {
        self.run_script(sql)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, StatementError> {
        let err = |e: rusqlite::Error| to_statement_error(&e, sql, 0);
        let mut stmt = self.conn.prepare(sql).map_err(err)?;
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                (0..columns)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => None,
                            rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                            rusqlite::types::ValueRef::Real(f) => Some(f.to_string()),
                            rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                                Some(String::from_utf8_lossy(t).into_owned())
                            }
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
    }
}
