//! The run state in the application's database, through a connection of
//! its own (the migrator's may be inside a migration's transaction, or
//! have its database replaced under it by a restore). Every write commits
//! before it returns: a journal line is durable before its step starts.

use std::time::Duration;

use super::{RunMark, RunRecord, StateTables, Store};
use crate::engine::{ConnectOptions, Engine, HistoryTable, in_transaction};
use crate::error::{Error, Result};
use crate::url::DatabaseUrl;

/// Run state in ferry's tables of the application's database.
pub struct DbStore {
    engine: Box<dyn Engine>,
    tables: StateTables,
    place: String,
    ready: bool,
    locked: bool,
    lock_timeout: Duration,
}

impl std::fmt::Debug for DbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbStore").field("place", &self.place).finish()
    }
}

fn fail(what: &str) -> impl Fn(crate::engine::StatementError) -> Error + '_ {
    move |e| Error::db(format!("cannot {what} ferry's run state"), e.message)
}

fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

impl DbStore {
    /// The run state beside the history table `history` in the database
    /// at `url`, through a connection of its own; its lock is waited for
    /// as long as `options.busy_timeout`.
    pub fn connect(url: &DatabaseUrl, history: &HistoryTable, options: &ConnectOptions) -> Result<Self> {
        let options = ConnectOptions {
            sqlite_foreign_keys: true,
            ..options.clone()
        };
        let engine = crate::engine::connect(url, &options)?;
        Ok(Self::with(engine, history, options.busy_timeout))
    }

    /// The run state through `engine`, a connection this store owns.
    pub fn with(engine: Box<dyn Engine>, history: &HistoryTable, lock_timeout: Duration) -> Self {
        let kind = engine.kind();
        let tables = StateTables::of(history, kind);
        DbStore {
            place: format!(
                "the database's tables {}, {} and {}",
                tables.runs, tables.journal, tables.docs
            ),
            engine,
            tables,
            ready: false,
            locked: false,
            lock_timeout,
        }
    }

    fn ensure(&mut self) -> Result<()> {
        if !self.ready {
            self.engine.open_for_writing()?;
            self.tables.ensure(&mut *self.engine)?;
            self.ready = true;
        }
        Ok(())
    }

    /// Whether the tables are there to read (absent: nothing recorded yet).
    fn readable(&mut self) -> Result<bool> {
        if self.ready {
            return Ok(true);
        }
        self.engine.catch_up()?;
        let there = self.tables.exist(&mut *self.engine)?;
        self.ready = there;
        Ok(there)
    }

    fn q(&self, t: &HistoryTable) -> String {
        t.quoted(self.engine.kind())
    }

    fn lit(&self, s: &str) -> String {
        self.engine.dialect().literal(s)
    }

    fn query(&mut self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        self.engine.query(sql).map_err(fail(what))
    }
}

/// A document's body, read as hex text.
fn unhex(s: &str) -> Result<Vec<u8>> {
    hex::decode(s.trim()).map_err(|e| Error::db("cannot read ferry's run state", e))
}

impl Store for DbStore {
    fn place(&self) -> String {
        self.place.clone()
    }

    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>> {
        if !self.readable()? {
            return Ok(None);
        }
        let body = self.engine.dialect().hex_text("body");
        let sql = format!(
            "SELECT {body} FROM {} WHERE name = {}",
            self.q(&self.tables.docs),
            self.lit(name)
        );
        match self.query(&sql, "read")?.into_iter().next() {
            Some(row) => Ok(Some(unhex(&text(&row, 0))?)),
            None => Ok(None),
        }
    }

    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.ensure()?;
        let d = self.engine.dialect();
        let values = format!("({}, {}, {})", self.lit(name), d.bytes_literal(bytes), d.now());
        let sql = d.upsert(
            &self.q(&self.tables.docs),
            &["name", "body", "updated_at"],
            &["name"],
            &values,
        );
        self.engine.execute(&sql).map_err(fail("write"))
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<String>> {
        if !self.readable()? {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT name FROM {} ORDER BY name", self.q(&self.tables.docs));
        Ok(self
            .query(&sql, "read")?
            .into_iter()
            .map(|r| text(&r, 0))
            .filter(|n| n.starts_with(prefix))
            .collect())
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        if !self.readable()? {
            return Ok(());
        }
        let names: Vec<String> = if name.ends_with('/') {
            self.list(name)?
        } else {
            vec![name.to_owned()]
        };
        let t = self.q(&self.tables.docs);
        let statements: Vec<String> = names
            .iter()
            .map(|n| format!("DELETE FROM {t} WHERE name = {}", self.lit(n)))
            .collect();
        if statements.is_empty() {
            return Ok(());
        }
        in_transaction(&mut *self.engine, &statements).map_err(fail("write"))
    }

    fn create_run(&mut self, mark: &RunMark, info: &[u8]) -> Result<()> {
        self.ensure()?;
        let d = self.engine.dialect();
        let sql = format!(
            "INSERT INTO {} (run, info, state, finished, updated_at) VALUES ({}, {}, {}, {}, {})",
            self.q(&self.tables.runs),
            self.lit(&mark.id),
            self.lit(&String::from_utf8_lossy(info)),
            self.lit(&mark.state),
            d.boolean(mark.finished),
            d.now()
        );
        self.engine.execute(&sql).map_err(fail("write"))
    }

    fn append(&mut self, mark: &RunMark, seq: u64, line: &[u8]) -> Result<()> {
        self.ensure()?;
        let d = self.engine.dialect();
        let statements = vec![
            format!(
                "INSERT INTO {} (run, seq, line) VALUES ({}, {seq}, {})",
                self.q(&self.tables.journal),
                self.lit(&mark.id),
                self.lit(&String::from_utf8_lossy(line))
            ),
            format!(
                "UPDATE {} SET state = {}, finished = {}, updated_at = {} WHERE run = {}",
                self.q(&self.tables.runs),
                self.lit(&mark.state),
                d.boolean(mark.finished),
                d.now(),
                self.lit(&mark.id)
            ),
        ];
        in_transaction(&mut *self.engine, &statements).map_err(fail("write"))
    }

    fn runs(&mut self) -> Result<Vec<String>> {
        if !self.readable()? {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT run FROM {} ORDER BY run", self.q(&self.tables.runs));
        Ok(self.query(&sql, "read")?.into_iter().map(|r| text(&r, 0)).collect())
    }

    fn run(&mut self, id: &str) -> Result<Option<RunRecord>> {
        if !self.readable()? {
            return Ok(None);
        }
        let sql = format!(
            "SELECT info FROM {} WHERE run = {}",
            self.q(&self.tables.runs),
            self.lit(id)
        );
        let Some(row) = self.query(&sql, "read")?.into_iter().next() else {
            return Ok(None);
        };
        let info = text(&row, 0).into_bytes();
        let sql = format!(
            "SELECT line FROM {} WHERE run = {} ORDER BY seq",
            self.q(&self.tables.journal),
            self.lit(id)
        );
        let lines = self
            .query(&sql, "read")?
            .into_iter()
            .map(|r| text(&r, 0).into_bytes())
            .collect();
        Ok(Some((info, lines)))
    }

    fn reopen(&mut self) -> Result<()> {
        self.engine.reopen()
    }

    fn lock(&mut self, timeout: Duration) -> Result<()> {
        if !self.locked {
            self.engine.lock(timeout)?;
            self.locked = true;
        }
        Ok(())
    }

    fn unlock(&mut self) {
        if std::mem::take(&mut self.locked)
            && let Err(e) = self.engine.unlock()
        {
            tracing::warn!("could not release the migration lock: {e}");
        }
    }

    fn own_sessions(&mut self) -> Vec<i64> {
        self.engine.own_sessions()
    }

    fn locked_elsewhere(&mut self) -> bool {
        if self.locked {
            return false;
        }
        match self.engine.lock(Duration::ZERO) {
            Ok(()) => {
                let _ = self.engine.unlock();
                false
            }
            Err(Error::LockTimeout { .. }) => true,
            Err(_) => false,
        }
    }
}

impl Drop for DbStore {
    fn drop(&mut self) {
        self.unlock();
    }
}

impl DbStore {
    /// How long [`Store::lock`] waits when the caller has no timeout of its own.
    pub fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }
}
