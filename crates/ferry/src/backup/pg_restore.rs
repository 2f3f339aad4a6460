//! Restoring a PostgreSQL backup in one transaction.
//!
//! `pg_restore --single-transaction` cannot drop what the database holds
//! now in its own transaction, and a drop committed before it is the old
//! data gone when the restore then fails. So ferry has pg_restore write the
//! dump as SQL (`--file=-`) and feeds it to `psql` after its own prelude:
//!
//! ```sql
//! BEGIN;
//! DROP SCHEMA ... CASCADE;          -- every schema the application has
//! CREATE SCHEMA public ...;         -- as the server makes it
//! <the dump, COPY data included>
//! COMMIT;                           -- written only once pg_restore succeeded
//! ```
//!
//! psql stops at the first error (`ON_ERROR_STOP`) and, like any session
//! that ends inside a transaction, leaves nothing of it behind; so does a
//! psql killed with ferry (the children die with ferry). The database is
//! either exactly as it was, or exactly the backup.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::dump::{Conn, RestoreOptions, pg_tool};
use crate::engine::Engine;
use crate::error::{Error, Result};

fn first_cell(rows: Vec<Vec<Option<String>>>) -> Option<String> {
    rows.into_iter().next().and_then(|r| r.into_iter().next().flatten())
}

/// The SQL that empties the database, run inside the restore's
/// transaction: every schema but the server's own and `keep` (ferry's run
/// state, which the restore never replaces).
fn prelude(engine: &mut dyn Engine, keep: Option<&str>) -> Result<String> {
    let schemas = engine
        .query(&format!(
            "SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' AND nspname <> {} ORDER BY 1",
            crate::engine::dialect(crate::url::EngineKind::Postgres).literal(keep.unwrap_or(""))
        ))
        .map_err(|e| Error::db("cannot list schemas", e.message))?;
    let names: Vec<String> = schemas
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    let server: u32 = engine
        .query("SHOW server_version_num")
        .ok()
        .and_then(first_cell)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut sql = String::from("SET client_min_messages = warning;\nBEGIN;\n");
    if !names.is_empty() {
        sql.push_str(&format!("DROP SCHEMA {} CASCADE;\n", names.join(", ")));
    }
    // pg_dump takes `public` as pre-existing and never creates it:
    // recreate it as the server does for a new database.
    sql.push_str(if server >= 150000 {
        "CREATE SCHEMA public AUTHORIZATION pg_database_owner;\nGRANT USAGE ON SCHEMA public TO PUBLIC;\n"
    } else {
        "CREATE SCHEMA public;\nGRANT ALL ON SCHEMA public TO PUBLIC;\n"
    });
    Ok(sql)
}

/// Reads a pipe to its end on a thread of its own, so that a child never
/// blocks on a full pipe while ferry writes to it.
pub(crate) fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = r.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    })
}

/// Restores the custom-format dump at `path` into the database `c` names,
/// replacing its whole contents in one transaction.
pub(crate) fn restore(c: &Conn, engine: &mut dyn Engine, path: &Path, options: RestoreOptions) -> Result<()> {
    let keep = options.keep.as_ref().and_then(|s| s.runs.schema().map(str::to_owned));
    let prelude = prelude(engine, keep.as_deref())?;
    let mut script = Command::new(pg_tool("pg_restore")?.0);
    script.args(["--no-owner", "--file=-"]);
    if options.no_privileges {
        script.arg("--no-privileges");
    }
    script
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut psql = Command::new(pg_tool("psql")?.0);
    c.pg_env(&mut psql);
    psql.args([
        "--no-psqlrc",
        "--quiet",
        "--no-password",
        "--set=ON_ERROR_STOP=1",
        "--output=/dev/null",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());

    let (mut psql, _psql_reg) = crate::process::spawn(psql, "psql", false)?;
    let psql_err = drain(psql.stderr.take().expect("piped"));
    let mut input = psql.stdin.take().expect("piped");
    let (mut dumper, _dumper_reg) = match crate::process::spawn(script, "pg_restore", false) {
        Ok(d) => d,
        Err(e) => {
            let _ = psql.kill();
            let _ = psql.wait();
            return Err(e);
        }
    };
    let dumper_err = drain(dumper.stderr.take().expect("piped"));
    let mut sql = dumper.stdout.take().expect("piped");
    crate::crash::point("FERRY_TEST_CRASH_RESTORE", "pg-before-feed");
    let fed = input
        .write_all(prelude.as_bytes())
        .and_then(|_| std::io::copy(&mut sql, &mut input).map(|_| ()))
        .is_ok();
    // If psql stopped reading, pg_restore must not wait on a full pipe.
    drop(sql);
    let dumped = dumper.wait();
    let dumper_err = dumper_err.join().unwrap_or_default();
    let dump_ok = matches!(&dumped, Ok(s) if s.success());
    crate::crash::point("FERRY_TEST_CRASH_RESTORE", "pg-before-commit");
    if fed && dump_ok {
        // Only a complete script is committed.
        let _ = input.write_all(b"COMMIT;\n");
        drop(input);
    } else {
        // A psql that ends inside the transaction leaves nothing of it.
        drop(input);
        let _ = psql.kill();
    }
    let status = psql.wait().map_err(|e| Error::db("cannot run psql", e))?;
    let psql_err = psql_err.join().unwrap_or_default();
    if fed && !dump_ok {
        return Err(Error::refusal(
            format!(
                "pg_restore could not read the dump, and the restore was rolled back: the database is as it was\n  {}",
                crate::redact::redact_text(dumper_err.trim())
            ),
            "verify the backup (`ferry backup verify ID`) or use another one",
        ));
    }
    if fed && status.success() {
        return Ok(());
    }
    let message = crate::redact::redact_text(psql_err.trim());
    let help = match missing_role(&message) {
        Some(role) => format!(
            "the backup grants privileges to role {role}, which this server does not have: create it (CREATE ROLE {role}), or restore without the backup's privileges with --no-privileges"
        ),
        None => "fix the cause and restore again".to_owned(),
    };
    Err(Error::refusal(
        format!(
            "the restore failed ({}), and was rolled back: the database is as it was\n  {}",
            crate::process::describe(status),
            message.replace('\n', "\n  ")
        ),
        help,
    ))
}

/// The role a `role "r" does not exist` error names.
fn missing_role(message: &str) -> Option<&str> {
    let rest = &message[message.find("role \"")? + 6..];
    let end = rest.find("\" does not exist")?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn missing_roles_are_named() {
        assert_eq!(
            super::missing_role("psql:<stdin>:80: ERROR:  role \"reporting\" does not exist"),
            Some("reporting")
        );
        assert_eq!(super::missing_role("ERROR: relation x"), None);
    }
}
