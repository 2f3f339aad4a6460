//! Restoring a MariaDB/MySQL backup without ever leaving a half-loaded
//! database.
//!
//! These servers commit DDL by themselves, so a dump cannot be loaded in a
//! transaction. ferry loads it into a scratch database instead (the slow
//! part: a kill there leaves the target untouched), then swaps the tables
//! in with one `RENAME TABLE`, which the server applies atomically to the
//! whole list. Triggers, views, routines and events cannot move between
//! databases: their definitions are read from the scratch database, kept in
//! a marker table in the target, and recreated there after the swap.
//!
//! The marker table (`ferry_restore`) exists in the target only from just
//! before the swap until the restore is complete. While it is there, every
//! ferry command refuses to use the database and says how to finish: run
//! the same restore again, which completes the swap (or, if the swap did not
//! happen, drops the marker and starts over). The target's data is never
//! half-loaded: it is the old tables or the backup's, whole.

use std::path::Path;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::dump::{Conn, tool};
use crate::engine::Engine;
use crate::error::{Error, Result};

use crate::engine::mysql::restore_marker::MARKER;

/// Prefix of the target's old tables between the swap and the clean-up.
const OLD: &str = "__ferry_old_";

fn q(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn lit(s: &str) -> String {
    crate::engine::history::literal(crate::url::EngineKind::MySql, s)
}

fn db_err(what: &str) -> impl Fn(crate::engine::StatementError) -> Error + '_ {
    move |e| Error::db(what.to_owned(), e.message)
}

fn column(engine: &mut dyn Engine, sql: &str, what: &str) -> Result<Vec<String>> {
    Ok(engine
        .query(sql)
        .map_err(db_err(what))?
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect())
}

/// The scratch database used for restoring into `db`: fixed for a target,
/// so that a restore run again finds what an interrupted one left.
fn scratch_name(db: &str) -> String {
    format!("ferry_restore_{}", &hex::encode(Sha256::digest(db.as_bytes()))[..16])
}

/// One object to recreate after the swap: (kind, name, sql_mode, definition).
type Object = (String, String, String, String);

fn tables(engine: &mut dyn Engine, db: &str) -> Result<Vec<String>> {
    column(
        engine,
        &format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = {} AND table_type = 'BASE TABLE' ORDER BY table_name",
            lit(db)
        ),
        "cannot list tables",
    )
}

/// Reads the definitions of the triggers, views, routines and events of
/// `db`, in an order they can be created in. The server writes a view's
/// tables without their database only when it is the current one, so `db`
/// is made current while reading, and `back` again after.
fn objects(engine: &mut dyn Engine, db: &str, back: &str) -> Result<Vec<Object>> {
    engine
        .execute(&format!("USE {}", q(db)))
        .map_err(db_err("cannot read the restored database"))?;
    let read = read_objects(engine, db);
    engine
        .execute(&format!("USE {}", q(back)))
        .map_err(db_err("cannot return to the database"))?;
    read
}

fn read_objects(engine: &mut dyn Engine, db: &str) -> Result<Vec<Object>> {
    let mut out = Vec::new();
    let d = lit(db);
    let show = |engine: &mut dyn Engine, sql: &str, col: usize, mode_col: Option<usize>| -> Result<(String, String)> {
        let rows = engine.query(sql).map_err(db_err("cannot read a definition"))?;
        let row = rows.into_iter().next().unwrap_or_default();
        let get = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        Ok((mode_col.map(get).unwrap_or_default(), get(col)))
    };
    // Views first (in the order they were created), then routines, events
    // and triggers, which may use them.
    for name in column(
        engine,
        &format!("SELECT table_name FROM information_schema.views WHERE table_schema = {d} ORDER BY table_name"),
        "cannot list views",
    )? {
        let (_, def) = show(engine, &format!("SHOW CREATE VIEW {}.{}", q(db), q(&name)), 1, None)?;
        out.push(("VIEW".into(), name, String::new(), def));
    }
    let routines = engine
        .query(&format!(
            "SELECT routine_type, routine_name FROM information_schema.routines WHERE routine_schema = {d} ORDER BY routine_name"
        ))
        .map_err(db_err("cannot list routines"))?;
    for r in routines {
        let (Some(Some(kind)), Some(Some(name))) = (r.first().cloned(), r.get(1).cloned()) else {
            continue;
        };
        let (mode, def) = show(
            engine,
            &format!("SHOW CREATE {kind} {}.{}", q(db), q(&name)),
            2,
            Some(1),
        )?;
        out.push((kind, name, mode, def));
    }
    for name in column(
        engine,
        &format!("SELECT event_name FROM information_schema.events WHERE event_schema = {d} ORDER BY event_name"),
        "cannot list events",
    )? {
        let (mode, def) = show(engine, &format!("SHOW CREATE EVENT {}.{}", q(db), q(&name)), 3, Some(1))?;
        out.push(("EVENT".into(), name, mode, def));
    }
    for name in column(
        engine,
        &format!(
            "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = {d} ORDER BY event_object_table, action_timing, event_manipulation, action_order"
        ),
        "cannot list triggers",
    )? {
        let (mode, def) = show(
            engine,
            &format!("SHOW CREATE TRIGGER {}.{}", q(db), q(&name)),
            2,
            Some(1),
        )?;
        out.push(("TRIGGER".into(), name, mode, def));
    }
    Ok(out)
}

fn drop_objects(engine: &mut dyn Engine, db: &str, objects: &[Object]) -> Result<()> {
    for (kind, name, _, _) in objects {
        engine
            .execute(&format!("DROP {kind} IF EXISTS {}.{}", q(db), q(name)))
            .map_err(db_err("cannot drop an object"))?;
    }
    Ok(())
}

fn marker_exists(engine: &mut dyn Engine) -> Result<bool> {
    Ok(!column(
        engine,
        &format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = {}",
            lit(MARKER)
        ),
        "cannot look for an unfinished restore",
    )?
    .is_empty())
}

/// Restores the dump at `path` into the database `c` names.
pub(crate) fn restore(c: &Conn, engine: &mut dyn Engine, path: &Path, backup_id: &str, keep: &[String]) -> Result<()> {
    let target = c.database.clone();
    let scratch = scratch_name(&target);
    // An earlier restore that stopped: finish its swap, or forget it.
    if marker_exists(engine)? {
        finish(engine, &target, &scratch)?;
    }
    let charset = engine
        .query(&format!(
            "SELECT default_character_set_name, default_collation_name FROM information_schema.schemata WHERE schema_name = {}",
            lit(&target)
        ))
        .map_err(db_err("cannot read the database's character set"))?
        .into_iter()
        .next()
        .unwrap_or_default();
    let (cs, coll) = (
        charset.first().cloned().flatten().unwrap_or_else(|| "utf8mb4".into()),
        charset
            .get(1)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "utf8mb4_general_ci".into()),
    );
    engine
        .execute(&format!(
            "DROP DATABASE IF EXISTS {s}; CREATE DATABASE {s} CHARACTER SET {cs} COLLATE {coll}",
            s = q(&scratch)
        ))
        .map_err(|e| {
            Error::refusal(
                format!("cannot create the scratch database {scratch} to restore into: {}; nothing was changed", e.message),
                "ferry restores MariaDB backups into a scratch database and swaps it in: grant the user CREATE and DROP on it",
            )
        })?;

    // The slow part: the target is not touched.
    let mut cmd = Command::new(tool(&["mariadb", "mysql"], "mariadb-client")?);
    c.mysql_args(&mut cmd);
    cmd.arg(&scratch);
    let input = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    cmd.stdin(input).stdout(Stdio::null()).stderr(Stdio::piped());
    let (child, _reg) = crate::process::spawn(cmd, "mariadb", false)?;
    let out = child
        .wait_with_output()
        .map_err(|e| Error::db("cannot run mariadb", e))?;
    crate::crash::point("FERRY_TEST_CRASH_RESTORE", "mysql-loaded");
    if !out.status.success() {
        let _ = engine.execute(&format!("DROP DATABASE IF EXISTS {}", q(&scratch)));
        return Err(Error::refusal(
            format!(
                "loading the dump failed ({}); the database is as it was\n  {}",
                crate::process::describe(out.status),
                crate::redact::redact_text(String::from_utf8_lossy(&out.stderr).trim())
            ),
            "fix the cause and restore again",
        ));
    }

    // Keep the backup's objects, and take them off its tables so they can move.
    let objects = objects(engine, &scratch, &target)?;
    drop_objects(engine, &scratch, &objects)?;
    // ferry's run state stays as it is: the journal driving a rollback that
    // restores must survive it (a backup made before it was left out of
    // dumps may hold an old copy, which goes).
    for t in tables(engine, &scratch)?.iter().filter(|t| keep.contains(t)) {
        engine
            .execute(&format!("DROP TABLE {}.{}", q(&scratch), q(t)))
            .map_err(db_err("cannot leave the run state out of the restore"))?;
    }
    let new_tables = tables(engine, &scratch)?;
    let old_tables: Vec<String> = tables(engine, &target)?
        .into_iter()
        .filter(|t| t != MARKER && !keep.contains(t))
        .collect();

    // The marker goes in first: from here until the end, commands refuse.
    let mut marker = format!(
        "CREATE TABLE {m} (seq INT NOT NULL PRIMARY KEY, kind VARCHAR(16) NOT NULL, name VARCHAR(255) NOT NULL, sql_mode TEXT, definition LONGTEXT) ENGINE=InnoDB; INSERT INTO {m} VALUES (0, 'BACKUP', {}, NULL, NULL)",
        lit(backup_id),
        m = q(MARKER)
    );
    for (i, (kind, name, mode, def)) in objects.iter().enumerate() {
        marker.push_str(&format!(
            ", ({}, {}, {}, {}, {})",
            i + 1,
            lit(kind),
            lit(name),
            lit(mode),
            lit(def)
        ));
    }
    engine
        .execute(&marker)
        .map_err(db_err("cannot record the restore in progress"))?;
    crate::crash::point("FERRY_TEST_CRASH_RESTORE", "mysql-marked");

    // One statement: the old tables step aside and the backup's move in, together.
    let mut renames: Vec<String> = Vec::new();
    for (i, t) in old_tables.iter().enumerate() {
        renames.push(format!(
            "{}.{} TO {}.{}",
            q(&target),
            q(t),
            q(&target),
            q(&format!("{OLD}{i}"))
        ));
    }
    for t in &new_tables {
        renames.push(format!("{}.{} TO {}.{}", q(&scratch), q(t), q(&target), q(t)));
    }
    if !renames.is_empty() {
        engine
            .execute(&format!("RENAME TABLE {}", renames.join(", ")))
            .map_err(|e| {
                Error::refusal(
                    format!(
                        "cannot swap the restored tables in: {}; the database's tables are as they were",
                        e.message
                    ),
                    format!("run the restore again; it clears the marker table {MARKER} first"),
                )
            })?;
    }
    crate::crash::point("FERRY_TEST_CRASH_RESTORE", "mysql-swapped");
    finish(engine, &target, &scratch)
}

/// Drops the scratch database a killed restore into this database left,
/// unless a restore is using it now or its swap is waiting to be finished.
pub(crate) fn clean_scratch(engine: &mut dyn Engine) -> Result<()> {
    let target = column(engine, "SELECT DATABASE()", "cannot read the database name")?
        .pop()
        .unwrap_or_default();
    let scratch = scratch_name(&target);
    let exists = !column(
        engine,
        &format!(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = {}",
            lit(&scratch)
        ),
        "cannot look for a scratch database",
    )?
    .is_empty();
    let busy = !column(
        engine,
        &format!(
            "SELECT id FROM information_schema.processlist WHERE db = {}",
            lit(&scratch)
        ),
        "cannot list sessions",
    )?
    .is_empty();
    if exists && !busy && !marker_exists(engine)? {
        engine
            .execute(&format!("DROP DATABASE IF EXISTS {}", q(&scratch)))
            .map_err(db_err("cannot drop a leftover scratch database"))?;
    }
    Ok(())
}

/// Completes (or, if the swap did not happen, abandons) a restore whose
/// marker is in the target.
fn finish(engine: &mut dyn Engine, target: &str, scratch: &str) -> Result<()> {
    let scratch_exists = !column(
        engine,
        &format!(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = {}",
            lit(scratch)
        ),
        "cannot look for the scratch database",
    )?
    .is_empty();
    let swapped = !scratch_exists || tables(engine, scratch)?.is_empty();
    if !swapped {
        // The swap never happened: the target's tables are its own. Its
        // objects were not touched either.
        engine
            .execute(&format!(
                "DROP TABLE IF EXISTS {}; DROP DATABASE IF EXISTS {}",
                q(MARKER),
                q(scratch)
            ))
            .map_err(db_err("cannot clear an unfinished restore"))?;
        return Ok(());
    }
    let rows = engine
        .query(&format!(
            "SELECT kind, name, sql_mode, definition FROM {} WHERE seq > 0 ORDER BY seq",
            q(MARKER)
        ))
        .map_err(db_err("cannot read the restore in progress"))?;
    let wanted: Vec<Object> = rows
        .into_iter()
        .map(|r| {
            let mut c = r.into_iter().map(Option::unwrap_or_default);
            let mut next = || c.next().unwrap_or_default();
            (next(), next(), next(), next())
        })
        .collect();
    // The old tables, with the triggers that went with them.
    let old: Vec<String> = tables(engine, target)?
        .into_iter()
        .filter(|t| t.starts_with(OLD))
        .collect();
    let mut drop = String::from("SET FOREIGN_KEY_CHECKS = 0");
    for t in &old {
        drop.push_str(&format!("; DROP TABLE IF EXISTS {}", q(t)));
    }
    drop.push_str("; SET FOREIGN_KEY_CHECKS = 1");
    engine
        .execute(&drop)
        .map_err(db_err("cannot drop the tables the restore replaced"))?;
    // The target's own views, routines and events give way to the backup's.
    let current: Vec<Object> = objects(engine, target, target)?;
    drop_objects(engine, target, &current)?;
    crate::crash::point("FERRY_TEST_CRASH_RESTORE", "mysql-objects");
    // A view may use a view that sorts after it: retry what failed while
    // each pass creates something.
    let mut pending: Vec<&Object> = wanted.iter().collect();
    while !pending.is_empty() {
        let mut failed = Vec::new();
        let mut last_error = None;
        for o in &pending {
            let (kind, name, mode, def) = o;
            let set_mode = if mode.is_empty() {
                String::new()
            } else {
                format!("SET SESSION sql_mode = {}; ", lit(mode))
            };
            if let Err(e) = engine.execute(&format!("{set_mode}{def}")) {
                last_error = Some(Error::db(
                    format!("cannot recreate {} {name} from the backup", kind.to_lowercase()),
                    e.message,
                ));
                failed.push(*o);
            }
        }
        if failed.len() == pending.len() {
            return Err(last_error.unwrap_or_else(|| Error::db("restore", "objects could not be recreated")));
        }
        pending = failed;
    }
    engine
        .execute(&format!(
            "SET SESSION sql_mode = DEFAULT; DROP TABLE IF EXISTS {}; DROP DATABASE IF EXISTS {}",
            q(MARKER),
            q(scratch)
        ))
        .map_err(db_err("cannot finish the restore"))?;
    Ok(())
}
