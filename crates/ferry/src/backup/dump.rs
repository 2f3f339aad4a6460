//! Dumping, reading back and restoring a database, per engine: SQLite with
//! its online backup API, PostgreSQL with `pg_dump`/`pg_restore`, MariaDB
//! with `mariadb-dump`/`mariadb`. Passwords reach the tools through the
//! environment (`PGPASSWORD`, `MYSQL_PWD`), never their command line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::backup::archive::DumpFormat;
use crate::backup::sqlite_file;
use crate::engine::{DatabaseUrl, Engine, EngineKind, SqliteLocation};
use crate::error::{Error, Result};

/// Finds `names[0]` (or an alternative) on PATH.
fn tool(names: &[&str], package: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(Error::refusal(
        format!("{} is not installed", names[0]),
        format!("install the Debian package {package} (apt-get install {package})"),
    ))
}

/// The connection pieces of a server URL, for the client tools.
struct Conn {
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    password: Option<String>,
    database: String,
    params: Vec<(String, String)>,
}

fn conn(url: &DatabaseUrl) -> Result<Conn> {
    let bad = |m: &str| {
        Error::refusal(
            format!("{}: {m}", url.safe()),
            "write the URL as scheme://USER:PASSWORD@HOST:PORT/DATABASE".to_owned(),
        )
    };
    let parsed = url::Url::parse(url.expose_secret()).map_err(|_| bad("not a URL the backup tools can use"))?;
    let decode = |s: &str| percent_decode(s);
    let database = decode(parsed.path().trim_start_matches('/'));
    if database.is_empty() {
        return Err(bad("the URL names no database"));
    }
    Ok(Conn {
        host: parsed.host_str().filter(|h| !h.is_empty()).map(str::to_owned),
        port: parsed.port(),
        user: (!parsed.username().is_empty()).then(|| decode(parsed.username())),
        password: parsed.password().map(decode),
        database,
        params: parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    })
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

impl Conn {
    /// libpq's environment for this connection.
    fn pg_env(&self, cmd: &mut Command) {
        cmd.env_remove("PGPASSWORD").env_remove("PGSERVICE");
        if let Some(h) = &self.host {
            cmd.env("PGHOST", h);
        }
        for (k, v) in &self.params {
            match k.as_str() {
                "host" => {
                    cmd.env("PGHOST", v);
                }
                "sslmode" => {
                    cmd.env("PGSSLMODE", v);
                }
                "sslrootcert" => {
                    cmd.env("PGSSLROOTCERT", v);
                }
                _ => {}
            }
        }
        if let Some(p) = self.port {
            cmd.env("PGPORT", p.to_string());
        }
        if let Some(u) = &self.user {
            cmd.env("PGUSER", u);
        }
        if let Some(p) = &self.password {
            cmd.env("PGPASSWORD", p);
        }
        cmd.env("PGDATABASE", &self.database).env("PGAPPNAME", "ferry");
    }

    /// The mariadb client's connection arguments (no password) and environment.
    fn mysql_args(&self, cmd: &mut Command) {
        cmd.env_remove("MYSQL_PWD");
        cmd.arg("--protocol=tcp");
        cmd.arg(format!("--host={}", self.host.as_deref().unwrap_or("127.0.0.1")));
        cmd.arg(format!("--port={}", self.port.unwrap_or(3306)));
        if let Some(u) = &self.user {
            cmd.arg(format!("--user={u}"));
        }
        if let Some(p) = &self.password {
            cmd.env("MYSQL_PWD", p);
        }
    }
}

fn run(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::db(format!("cannot run {what}"), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::db(
            format!("{what} failed ({})", out.status),
            crate::engine::redact_url(String::from_utf8_lossy(&out.stderr).trim()),
        ))
    }
}

fn major(version: &str) -> Option<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())?
        .parse()
        .ok()
}

/// A dump ready to be archived: the file to read and, for a live SQLite
/// database read in place, the connection whose read transaction keeps the
/// file still until the dump is dropped.
pub struct Dump {
    /// The format.
    pub format: DumpFormat,
    /// The file to archive.
    pub path: PathBuf,
    _hold: Option<sqlite_file::Hold>,
}

/// Dumps the database, into `dest` where a copy is needed.
pub fn dump(url: &DatabaseUrl, engine: &mut dyn Engine, dest: &Path) -> Result<Dump> {
    let staged = |format| Dump {
        format,
        path: dest.to_owned(),
        _hold: None,
    };
    match url.kind() {
        EngineKind::Sqlite => {
            let Some(SqliteLocation::File(src)) = url.sqlite_location() else {
                return Err(Error::refusal(
                    "an in-memory SQLite database cannot be backed up",
                    "point the URL at a file",
                ));
            };
            if let Some(hold) = sqlite_file::hold(src)? {
                return Ok(Dump {
                    format: DumpFormat::SqliteFile,
                    path: src.clone(),
                    _hold: Some(hold),
                });
            }
            sqlite_file::copy(src, dest)?;
            Ok(staged(DumpFormat::SqliteFile))
        }
        EngineKind::Postgres => {
            let pg_dump = tool(&["pg_dump"], "postgresql-client")?;
            let server = engine.server_version()?;
            let version = Command::new(&pg_dump)
                .arg("--version")
                .output()
                .map_err(|e| Error::db("cannot run pg_dump", e))?;
            let client = String::from_utf8_lossy(&version.stdout)
                .trim()
                .rsplit(' ')
                .next()
                .unwrap_or_default()
                .to_owned();
            // pg_dump refuses servers newer than itself: say so before trying.
            if let (Some(c), Some(s)) = (major(&client), major(&server))
                && c < s
            {
                return Err(Error::refusal(
                    format!(
                        "pg_dump {client} cannot dump PostgreSQL {server}: it must be at least as new as the server"
                    ),
                    format!("install postgresql-client-{s}"),
                ));
            }
            let c = conn(url)?;
            let mut cmd = Command::new(pg_dump);
            c.pg_env(&mut cmd);
            // Uncompressed: ferry's zstd compresses faster, on every core.
            cmd.args(["--format=custom", "--compress=0", "--no-password", "--file"])
                .arg(dest);
            run(cmd, "pg_dump")?;
            Ok(staged(DumpFormat::PgCustom))
        }
        EngineKind::MySql => {
            let dumper = tool(&["mariadb-dump", "mysqldump"], "mariadb-client")?;
            let c = conn(url)?;
            let mut cmd = Command::new(dumper);
            c.mysql_args(&mut cmd);
            cmd.args([
                "--single-transaction",
                "--routines",
                "--triggers",
                "--events",
                "--hex-blob",
                "--no-tablespaces",
            ])
            .arg(format!("--result-file={}", dest.display()))
            .arg(&c.database);
            run(cmd, "mariadb-dump")?;
            Ok(staged(DumpFormat::MysqlSql))
        }
    }
}
/// Reads an extracted dump in full; returns what is wrong, if anything.
pub fn read_back(format: DumpFormat, path: &Path) -> Result<Option<String>> {
    match format {
        DumpFormat::SqliteFile => sqlite_file::integrity(path),
        DumpFormat::PgCustom => {
            // `pg_restore --list` passes damaged dumps: only a full read finds it.
            let mut cmd = Command::new(tool(&["pg_restore"], "postgresql-client")?);
            cmd.args(["--file=/dev/null"]).arg(path);
            Ok(run(cmd, "pg_restore").err().map(|e| e.to_string()))
        }
        DumpFormat::MysqlSql => {
            let text = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
            let tail = String::from_utf8_lossy(&text[text.len().saturating_sub(200)..]).into_owned();
            Ok((!tail.contains("-- Dump completed"))
                .then(|| "the dump does not end with `-- Dump completed`: it is truncated".to_owned()))
        }
    }
}

/// Other sessions using the database, which a restore would pull the floor from under.
pub fn users(url: &DatabaseUrl, engine: &mut dyn Engine) -> Result<Option<String>> {
    let sql = match url.kind() {
        EngineKind::Sqlite => {
            let Some(SqliteLocation::File(path)) = url.sqlite_location() else {
                return Ok(None);
            };
            if !path.exists() {
                return Ok(None);
            }
            return sqlite_file::busy(path);
        }
        EngineKind::Postgres => {
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        }
        EngineKind::MySql => {
            "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
        }
    };
    let rows = engine
        .query(sql)
        .map_err(|e| Error::db("cannot list the database's sessions", e.message))?;
    let n: i64 = rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((n > 0).then(|| {
        format!(
            "{n} other session{} connected to the database",
            if n == 1 { " is" } else { "s are" }
        )
    }))
}

/// Replaces the database's contents with the dump at `path`.
pub fn restore(url: &DatabaseUrl, engine: &mut dyn Engine, format: DumpFormat, path: &Path) -> Result<()> {
    match (url.kind(), format) {
        (EngineKind::Sqlite, DumpFormat::SqliteFile) => {
            let Some(SqliteLocation::File(target)) = url.sqlite_location() else {
                return Err(Error::refusal(
                    "an in-memory SQLite database cannot be restored",
                    "point the URL at a file",
                ));
            };
            // Same folder, then rename: the swap is atomic.
            let tmp = target.with_extension(format!("ferry-restore-{}", std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            std::fs::copy(path, &tmp).map_err(|e| Error::io("cannot write", &tmp, e))?;
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io("cannot write", &tmp, e))?;
            for suffix in ["-wal", "-shm", "-journal"] {
                let mut side = target.clone().into_os_string();
                side.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(side));
            }
            std::fs::rename(&tmp, target).map_err(|e| Error::io("cannot replace", target, e))?;
            if let Some(parent) = target.parent() {
                super::store::sync_dir(parent)?;
            }
            Ok(())
        }
        (EngineKind::Postgres, DumpFormat::PgCustom) => {
            let c = conn(url)?;
            // Drop every schema the application owns, then restore into the
            // emptied database in one transaction.
            let schemas = engine
                .query("SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'")
                .map_err(|e| Error::db("cannot list schemas", e.message))?;
            let names: Vec<String> = schemas
                .into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
                .collect();
            if !names.is_empty() {
                engine
                    .execute(&format!("DROP SCHEMA {} CASCADE", names.join(", ")))
                    .map_err(|e| Error::db("cannot empty the database before restoring", e.message))?;
            }
            // pg_dump takes `public` as pre-existing and never creates it:
            // recreate it as the server does for a new database.
            let server: u32 = engine
                .query("SHOW server_version_num")
                .ok()
                .and_then(|r| r.first().and_then(|r| r.first().cloned().flatten()))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let public = if server >= 150000 {
                "CREATE SCHEMA public AUTHORIZATION pg_database_owner; GRANT USAGE ON SCHEMA public TO PUBLIC"
            } else {
                "CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO PUBLIC"
            };
            engine
                .execute(public)
                .map_err(|e| Error::db("cannot recreate the public schema before restoring", e.message))?;
            let mut cmd = Command::new(tool(&["pg_restore"], "postgresql-client")?);
            c.pg_env(&mut cmd);
            cmd.args([
                "--no-password",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
            ])
            .arg(&c.database)
            .arg(path);
            run(cmd, "pg_restore")
        }
        (EngineKind::MySql, DumpFormat::MysqlSql) => {
            let c = conn(url)?;
            let tables = engine
                .query("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE()")
                .map_err(|e| Error::db("cannot list tables", e.message))?;
            let mut drops = vec!["SET FOREIGN_KEY_CHECKS = 0".to_owned()];
            for row in tables {
                let (Some(Some(name)), Some(Some(kind))) = (row.first().cloned(), row.get(1).cloned()) else {
                    continue;
                };
                let what = if kind == "VIEW" { "VIEW" } else { "TABLE" };
                drops.push(format!("DROP {what} IF EXISTS `{}`", name.replace('`', "``")));
            }
            let routines = engine
                .query("SELECT routine_name, routine_type FROM information_schema.routines WHERE routine_schema = DATABASE()")
                .map_err(|e| Error::db("cannot list routines", e.message))?;
            for row in routines {
                if let (Some(Some(name)), Some(Some(kind))) = (row.first().cloned(), row.get(1).cloned()) {
                    drops.push(format!("DROP {kind} IF EXISTS `{}`", name.replace('`', "``")));
                }
            }
            drops.push("SET FOREIGN_KEY_CHECKS = 1".to_owned());
            for sql in drops {
                engine
                    .execute(&sql)
                    .map_err(|e| Error::db("cannot empty the database before restoring", e.message))?;
            }
            let mut cmd = Command::new(tool(&["mariadb", "mysql"], "mariadb-client")?);
            c.mysql_args(&mut cmd);
            cmd.arg(&c.database);
            let input = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
            let out = cmd
                .stdin(input)
                .output()
                .map_err(|e| Error::db("cannot run mariadb", e))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(Error::db(
                    "restoring with mariadb failed",
                    crate::engine::redact_url(String::from_utf8_lossy(&out.stderr).trim()),
                ))
            }
        }
        (kind, format) => Err(Error::refusal(
            format!(
                "this backup holds a {format:?} dump, which cannot be restored into {}",
                kind.name()
            ),
            "restore it into a database of the engine it came from".to_owned(),
        )),
    }
}
