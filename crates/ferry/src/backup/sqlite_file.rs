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

    /// Replaces the database at `target` with the file at `from`: a copy is
    /// written beside it with the original's mode and owner, synced, and
    /// renamed over it, so the swap is atomic. A WAL database is
    /// checkpointed first so that no log of the old contents is left for the
    /// new file to pick up.
    pub(crate) fn replace(target: &Path, from: &Path, keep: &[String]) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(target).ok();
        if meta.is_some() {
            let conn = rusqlite::Connection::open(target).map_err(|e| Error::db("sqlite", e))?;
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(|e| Error::db("sqlite", e))?;
            let mode: String = conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .map_err(|e| Error::db("cannot read the journal mode", e))?;
            if mode.eq_ignore_ascii_case("wal") {
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .map_err(|e| Error::db("cannot checkpoint the database before restoring", e))?;
            }
            drop(conn);
        }
        let bytes_mode = meta.as_ref().map_or(0o600, |m| m.mode() & 0o777);
        let owner = meta.as_ref().map(|m| (m.uid(), m.gid()));
        let dir = crate::durable::parent(target);
        let mut tmp = tempfile::Builder::new()
            .prefix(".ferry-restore-")
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot write in", dir, e))?;
        let mut src = std::fs::File::open(from).map_err(|e| Error::io("cannot read", from, e))?;
        std::io::copy(&mut src, tmp.as_file_mut()).map_err(|e| Error::io("cannot write", tmp.path(), e))?;
        if !keep.is_empty() {
            carry_over(tmp.path(), target, keep)?;
        }
        if let Some((uid, gid)) = owner {
            let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid));
        }
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(bytes_mode))
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| Error::io("cannot write", tmp.path(), e))?;
        crate::crash::point("FERRY_TEST_CRASH_RESTORE", "sqlite-before-rename");
        tmp.persist(target)
            .map_err(|e| Error::io("cannot replace", target, e.error))?;
        // The old file's side files must not meet the new file.
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = target.as_os_str().to_owned();
            side.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(side));
        }
        crate::durable::sync_dir(dir)
    }

    /// Puts `keep` (ferry's run state) of the live database at `live` into
    /// the restored copy at `staged`, in place of what the backup holds: a
    /// restore never replaces the journal driving the rollback that runs
    /// it. Done before the copy replaces the live file, so that whichever
    /// file a kill leaves in place holds the state.
    fn carry_over(staged: &Path, live: &Path, keep: &[String]) -> Result<()> {
        let err = |e: rusqlite::Error| Error::db("cannot carry ferry's run state into the restored database", e);
        let conn = rusqlite::Connection::open(staged).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(60)).map_err(err)?;
        let live_exists = live.exists();
        if live_exists {
            conn.execute("ATTACH DATABASE ?1 AS live", [live.to_string_lossy()])
                .map_err(err)?;
        }
        conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        for t in keep {
            conn.execute_batch(&format!("DROP TABLE IF EXISTS main.{}", q(t)))
                .map_err(err)?;
            if !live_exists {
                continue;
            }
            let create: Option<String> = conn
                .query_row(
                    "SELECT sql FROM live.sqlite_master WHERE type = 'table' AND name = ?1",
                    [t],
                    |r| r.get(0),
                )
                .ok();
            if let Some(create) = create {
                conn.execute_batch(&create).map_err(err)?;
                conn.execute_batch(&format!("INSERT INTO main.{} SELECT * FROM live.{}", q(t), q(t)))
                    .map_err(err)?;
            }
        }
        conn.execute_batch("COMMIT").map_err(err)?;
        if live_exists {
            conn.execute_batch("DETACH DATABASE live").map_err(err)?;
        }
        conn.close().map_err(|(_, e)| err(e))
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

    pub(crate) fn replace(_: &Path, _: &Path, _: &[String]) -> Result<()> {
        Err(missing())
    }
}
