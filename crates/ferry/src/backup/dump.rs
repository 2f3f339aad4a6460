//! Dumping, reading back and restoring a database, per engine: SQLite with
//! its online backup API, PostgreSQL with `pg_dump`/`pg_restore`, MariaDB
//! with `mariadb-dump`/`mariadb`. Passwords reach the tools through the
//! environment (`PGPASSWORD`, `MYSQL_PWD`), never their command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::backup::archive::DumpFormat;
use crate::backup::sqlite_file;
use crate::engine::{DatabaseUrl, Engine, EngineKind, SqliteLocation};
use crate::error::{Error, Result};

/// Finds `names[0]` (or an alternative) on PATH.
pub(crate) fn tool(names: &[&str], package: &str) -> Result<PathBuf> {
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
pub(crate) struct Conn {
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    password: Option<String>,
    pub(crate) database: String,
    params: Vec<(String, String)>,
}

pub(crate) fn conn(url: &DatabaseUrl) -> Result<Conn> {
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
    pub(crate) fn pg_env(&self, cmd: &mut Command) {
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
    pub(crate) fn mysql_args(&self, cmd: &mut Command) {
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

fn run(cmd: Command, what: &str) -> Result<()> {
    crate::process::output(cmd, what).map(|_| ())
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
            let mut version = Command::new(&pg_dump);
            version.arg("--version");
            let version = crate::process::output(version, "pg_dump --version")?;
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
            // What a killed restore left goes first.
            super::mysql_restore::clean_scratch(engine)?;
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
            // ferry's own sessions (its lock connection among them) do not count.
            let own: Vec<String> = engine.own_sessions().iter().map(ToString::to_string).collect();
            format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'{}",
                if own.is_empty() {
                    String::new()
                } else {
                    format!(" AND pid NOT IN ({})", own.join(", "))
                }
            )
        }
        EngineKind::MySql => {
            "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                .to_owned()
        }
    };
    let rows = engine
        .query(&sql)
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

/// How a restore treats what the backup holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    /// PostgreSQL: leave out the backup's GRANTs and REVOKEs (for a server
    /// that lacks the roles they name).
    pub no_privileges: bool,
}

/// Replaces the database's contents with the dump at `path`, all or
/// nothing: a restore that fails or is interrupted leaves the database as
/// it was (or, on MariaDB, marked until the restore is run again; see
/// [`super::mysql_restore`]).
pub fn restore(
    url: &DatabaseUrl,
    engine: &mut dyn Engine,
    format: DumpFormat,
    path: &Path,
    backup_id: &str,
    options: RestoreOptions,
) -> Result<()> {
    match (url.kind(), format) {
        (EngineKind::Sqlite, DumpFormat::SqliteFile) => {
            let Some(SqliteLocation::File(target)) = url.sqlite_location() else {
                return Err(Error::refusal(
                    "an in-memory SQLite database cannot be restored",
                    "point the URL at a file",
                ));
            };
            sqlite_file::replace(target, path)
        }
        (EngineKind::Postgres, DumpFormat::PgCustom) => super::pg_restore::restore(&conn(url)?, engine, path, options),
        (EngineKind::MySql, DumpFormat::MysqlSql) => {
            super::mysql_restore::restore(&conn(url)?, engine, path, backup_id)
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
