//! The SQLite side of backups, compiled with the `sqlite` feature; without
//! it, each function says this build has no SQLite support.

use std::path::Path;

use crate::error::{Error, Result};

#[cfg(feature = "sqlite")]
pub(crate) use self::imp::*;
#[cfg(not(feature = "sqlite"))]
pub(crate) use self::none::*;

#[cfg(feature = "sqlite")]
mod imp {
    use super::*;

    /// A connection whose read transaction keeps the database file still.
    pub(crate) type Hold = rusqlite::Connection;

    /// For a database in rollback-journal mode, a connection holding a read
    /// transaction: SQLite's SHARED lock then keeps every writer from changing
    /// the file until it is released, so the file itself is a consistent copy
    /// and is archived in place (what a one-step backup-API copy also relies
    /// on, minus writing the copy). WAL databases keep committed pages in the
    /// WAL, so they are copied with the backup API instead.
    pub(crate) fn hold(src: &Path) -> Result<Option<Hold>> {
        let conn = rusqlite::Connection::open_with_flags(src, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| Error::db(format!("cannot open {}", src.display()), e))?;
        conn.busy_timeout(std::time::Duration::from_secs(60))
            .map_err(|e| Error::db("sqlite", e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| Error::db("cannot read the journal mode", e))?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(None);
        }
        // Reading the schema takes the SHARED lock (and rolls back a hot journal).
        conn.execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;")
            .map_err(|e| Error::db("cannot start a read transaction", e))?;
        Ok(Some(conn))
    }

    /// A consistent copy of a live SQLite database in one step of the backup
    /// API (a read transaction for the whole copy, so concurrent writers in WAL
    /// mode go on, and no torn copy is possible).
    pub(crate) fn copy(src: &Path, dest: &Path) -> Result<()> {
        let from = rusqlite::Connection::open_with_flags(src, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| Error::db(format!("cannot open {}", src.display()), e))?;
        from.busy_timeout(std::time::Duration::from_secs(60))
            .map_err(|e| Error::db("sqlite", e))?;
        let mut to =
            rusqlite::Connection::open(dest).map_err(|e| Error::db(format!("cannot create {}", dest.display()), e))?;
        let backup = rusqlite::backup::Backup::new(&from, &mut to)
            .map_err(|e| Error::db("cannot start the SQLite backup", e))?;
        loop {
            match backup.step(-1).map_err(|e| Error::db("SQLite backup failed", e))? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => continue,
                _ => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
        drop(backup);
        drop(to);
        // The backup API creates the file with the process umask.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io("cannot set permissions of", dest, e))
    }

    /// `PRAGMA integrity_check` on a copy; what is wrong, if anything.
    pub(crate) fn integrity(path: &Path) -> Result<Option<String>> {
        let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| Error::db("cannot open the backed-up database", e))?;
        // Map the file: integrity_check otherwise reads it a page per syscall.
        conn.execute_batch("PRAGMA mmap_size = 2147418112; PRAGMA cache_size = -262144;")
            .map_err(|e| Error::db("cannot open the backed-up database", e))?;
        let rows: Vec<String> = conn
            .prepare("PRAGMA integrity_check")
            .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect())
            .unwrap_or_else(|e| vec![e.to_string()]);
        Ok((rows != ["ok"]).then(|| format!("PRAGMA integrity_check: {}", rows.join("; "))))
    }

    /// Whether another process holds the database in a transaction: then
    /// BEGIN EXCLUSIVE cannot take its lock at once.
    pub(crate) fn busy(path: &Path) -> Result<Option<String>> {
        let c = rusqlite::Connection::open(path).map_err(|e| Error::db("sqlite", e))?;
        c.busy_timeout(std::time::Duration::ZERO)
            .map_err(|e| Error::db("sqlite", e))?;
        Ok(match c.execute_batch("BEGIN EXCLUSIVE; ROLLBACK;") {
            Ok(()) => None,
            Err(_) => Some("another process holds the SQLite database open in a transaction".to_owned()),
        })
    }
}

#[cfg(not(feature = "sqlite"))]
mod none {
    use super::*;

    pub(crate) type Hold = ();

    fn missing() -> Error {
        Error::db(
            "SQLite",
            "this build of ferry has no SQLite support; rebuild it with the `sqlite` feature",
        )
    }

    pub(crate) fn hold(_: &Path) -> Result<Option<Hold>> {
        Err(missing())
    }

    pub(crate) fn copy(_: &Path, _: &Path) -> Result<()> {
        Err(missing())
    }

    pub(crate) fn integrity(_: &Path) -> Result<Option<String>> {
        Err(missing())
    }

    pub(crate) fn busy(_: &Path) -> Result<Option<String>> {
        Err(missing())
    }
}
