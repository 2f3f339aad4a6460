//! Where ferry keeps what it must remember about runs: each upgrade run's
//! journal, the records of config migrations with the files' original
//! bytes, verification and rehearsal records. By default in ferry's own
//! tables of the application's database ([`DbStore`]), so that any process
//! pointed at that database (another folder, a fresh container, the next
//! pod of a Job) sees an unfinished run, resumes it or rolls it back; or in
//! a folder ([`DirStore`], `[state] dir`), as files.
//!
//! Names are paths (`verified.json`, `config/<id>/record.json`); a folder
//! store keeps each as that file, a database store as a row. A run's
//! journal is appended line by line, each line durable before `append`
//! returns. The database store keeps each run's state beside its journal,
//! so that the migrator (an application that embeds ferry included) can
//! refuse to write while an upgrade run is unfinished: see [`unfinished_run`].
//!
//! What a database restore replaces never includes these tables: they live
//! in a schema of their own on PostgreSQL (`ferry_state`), are left out of
//! dumps and swaps on MariaDB, and are copied into a restored SQLite file
//! before it replaces the live one.

mod db;
mod dir;
mod tables;

use std::time::Duration;

pub use self::db::DbStore;
pub use self::dir::DirStore;
pub use self::tables::{StateTables, unfinished_run};
use crate::error::Result;

/// How a run stands, as a store keeps it beside its journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMark {
    /// The run's id.
    pub id: String,
    /// Its state, as `RunState::as_str` words it (`running`, `done`...).
    pub state: String,
    /// It is done or rolled back.
    pub finished: bool,
}

/// A run as a store keeps it: what it is (as `create_run` was given it),
/// and its journal's lines in order.
pub type RunRecord = (Vec<u8>, Vec<Vec<u8>>);

/// Where run state is kept.
pub trait Store: Send {
    /// Where, for messages: `the database's ferry_state tables`, `/srv/app/.ferry`.
    fn place(&self) -> String;

    /// The named document, if there is one.
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>>;

    /// Writes the named document, durably, replacing what was there.
    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()>;

    /// The names under `prefix` (a folder's path, `config/`), sorted.
    fn list(&mut self, prefix: &str) -> Result<Vec<String>>;

    /// Removes the named document, or everything under a prefix ending in `/`.
    fn remove(&mut self, name: &str) -> Result<()>;

    /// Records a new run: what it is, and its mark.
    fn create_run(&mut self, mark: &RunMark, info: &[u8]) -> Result<()>;

    /// Appends line `seq` to the run's journal and sets its mark, together
    /// and durably.
    fn append(&mut self, mark: &RunMark, seq: u64, line: &[u8]) -> Result<()>;

    /// Every run's id, oldest first.
    fn runs(&mut self) -> Result<Vec<String>>;

    /// What the run is (as `create_run` was given it), and its journal's
    /// lines in order. A last line cut short by a crash is the caller's to
    /// drop.
    fn run(&mut self, id: &str) -> Result<Option<RunRecord>>;

    /// Takes the state's lock, waiting up to `timeout` for another ferry
    /// process that holds it: the folder's lock file, or the database's
    /// migration lock. Held until [`Store::unlock`] or the store is dropped.
    fn lock(&mut self, timeout: Duration) -> Result<()>;

    /// Releases the lock taken by [`Store::lock`]; harmless when not held.
    fn unlock(&mut self);

    /// Whether another process holds the lock now (is working on a run).
    fn locked_elsewhere(&mut self) -> bool;

    /// Reopens the database after its file was replaced under the
    /// connection (a SQLite restore); other stores need not do anything.
    fn reopen(&mut self) -> Result<()> {
        Ok(())
    }

    /// The server's ids of the store's sessions with the database, which
    /// are this process's and not other users of it.
    fn own_sessions(&mut self) -> Vec<i64> {
        Vec::new()
    }

    /// Where a run's journal is, for people.
    fn run_place(&self, id: &str) -> String {
        format!("run {id} in {}", self.place())
    }

    /// True for a folder store.
    fn is_dir(&self) -> bool {
        false
    }
}
