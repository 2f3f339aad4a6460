//! Dumping, reading back and restoring a database, per engine: SQLite with
//! its online backup API, PostgreSQL with `pg_dump`/`pg_restore`, MariaDB
//! with `mariadb-dump`/`mariadb`. Passwords reach the tools through the
//! environment (`PGPASSWORD`, `MYSQL_PWD`), never their command line.
//!
//! One of the few places outside `engine/` that names engines: which
//! program makes and reads a dump (pg_dump and pg_restore, mariadb-dump and
//! mariadb, SQLite's backup API) is the backup's own choice of a tool, not
//! SQL that an engine's dialect could give.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::backup::archive::{ArchiveWriter, DumpFormat};
use crate::backup::sqlite_file;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::state::StateTables;
use crate::url::{DatabaseUrl, EngineKind, SqliteLocation};

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

/// A PostgreSQL client tool, and its major version when known from where
/// it is. Debian's `/usr/bin/pg_dump` and its siblings are links to
/// pg_wrapper, a Perl script that runs the newest installed major version's
/// binary (about 20 ms of Perl per call); where the tool on PATH is that
/// wrapper and no cluster is chosen through `PGCLUSTER`, ferry runs the
/// same binary directly.
pub(crate) fn pg_tool(name: &str) -> Result<(PathBuf, Option<u32>)> {
    let found = tool(&[name], "postgresql-client")?;
    let wrapped = std::fs::canonicalize(&found).is_ok_and(|p| p.ends_with("pg_wrapper"));
    if wrapped && std::env::var_os("PGCLUSTER").is_none() {
        let newest = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|d| {
                let major: u32 = d.file_name().to_str()?.parse().ok()?;
                let bin = d.path().join("bin").join(name);
                bin.is_file().then_some((major, bin))
            })
            .max_by_key(|(major, _)| *major);
        if let Some((major, bin)) = newest {
            return Ok((bin, Some(major)));
        }
    }
    Ok((found, None))
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
        // The URL's ssl-mode and ssl-ca, as the mariadb tools take them.
        let param = |names: &[&str]| {
            self.params
                .iter()
                .find(|(k, _)| names.contains(&k.to_ascii_lowercase().replace('_', "-").as_str()))
                .map(|(_, v)| v.clone())
        };
        if let Some(mode) = param(&["ssl-mode", "sslmode"]) {
            let url = format!("mysql://h/d?ssl-mode={mode}");
            if let Ok((_, mode, _)) = crate::engine::mysql::tls::split(&url) {
                let ca = param(&["ssl-ca", "sslrootcert"]);
                cmd.args(crate::engine::mysql::tls::client_args(mode, ca.as_deref()));
            }
        } else if let Some(ca) = param(&["ssl-ca", "sslrootcert"]) {
            cmd.args(crate::engine::mysql::tls::client_args(
                crate::engine::mysql::tls::Mode::VerifyIdentity,
                Some(&ca),
            ));
        }
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

fn major(version: &str) -> Option<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())?
        .parse()
        .ok()
}

/// A dump ready to be archived: a file (a SQLite database, read in place
/// under a read transaction that keeps it still until the dump is dropped,
/// or copied), or a dump tool's standard output, streamed into the archive
/// with no scratch copy on disk.
pub struct Dump {
    /// The format.
    pub format: DumpFormat,
    source: Source,
}

enum Source {
    File {
        path: PathBuf,
        _hold: Option<sqlite_file::Hold>,
    },
    Tool(Tool),
}

/// A running dump or read-back tool: its standard error read on a thread so
/// that it never blocks on a full pipe.
pub(crate) struct Tool {
    child: Child,
    _reg: crate::process::Registered,
    stderr: std::thread::JoinHandle<String>,
    what: &'static str,
}

impl Tool {
    fn spawn(mut cmd: Command, what: &'static str, stdin: bool) -> Result<Tool> {
        cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(if stdin { Stdio::null() } else { Stdio::piped() })
            .stderr(Stdio::piped());
        let (mut child, _reg) = crate::process::spawn(cmd, what, false)?;
        if let Some(out) = &child.stdout {
            widen_pipe(out);
        }
        let stderr = super::pg_restore::drain(child.stderr.take().expect("piped"));
        Ok(Tool {
            child,
            _reg,
            stderr,
            what,
        })
    }

    /// Waits for the tool; what went wrong, in words, when it failed.
    fn finish(mut self) -> Result<Option<String>> {
        drop(self.child.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(|e| Error::db(format!("cannot run {}", self.what), e))?;
        let err = self.stderr.join().unwrap_or_default();
        Ok((!status.success()).then(|| {
            format!(
                "{} failed ({}): {}",
                self.what,
                crate::process::describe(status),
                crate::redact::redact_text(err.trim())
            )
        }))
    }
}

impl Dump {
    /// Adds the dump to the archive as `name` (in parts when streamed and
    /// large; see [`ArchiveWriter::add_stream`]); true when it took parts.
    pub fn archive_into(self, w: &mut ArchiveWriter, name: &str) -> Result<bool> {
        match self.source {
            Source::File { path, _hold } => w.add_file(name, &path, 0o600).map(|()| false),
            Source::Tool(mut tool) => {
                let out = tool.child.stdout.take().expect("piped");
                let added = w.add_stream(name, out, 0o600);
                if added.is_err() {
                    let _ = tool.child.kill();
                }
                let failed = tool.finish()?;
                let parts = added?;
                match failed {
                    Some(problem) => Err(Error::db("cannot dump the database", problem)),
                    None => Ok(parts > 1),
                }
            }
        }
    }
}

/// Dumps the database: in place or into `dest` for SQLite, streamed from
/// the dump tool for the servers.
pub fn dump(url: &DatabaseUrl, engine: &mut dyn Engine, dest: &Path, state: &StateTables) -> Result<Dump> {
    match url.kind() {
        EngineKind::Sqlite => {
            let Some(SqliteLocation::File(src)) = url.sqlite_location() else {
                return Err(Error::refusal(
                    "an in-memory SQLite database cannot be backed up",
                    "point the URL at a file",
                ));
            };
            let source = match sqlite_file::hold(src)? {
                Some(hold) => Source::File {
                    path: src.clone(),
                    _hold: Some(hold),
                },
                None => {
                    sqlite_file::copy(src, dest)?;
                    Source::File {
                        path: dest.to_owned(),
                        _hold: None,
                    }
                }
            };
            Ok(Dump {
                format: DumpFormat::SqliteFile,
                source,
            })
        }
        EngineKind::Postgres => {
            let (pg_dump, known) = pg_tool("pg_dump")?;
            let server = engine.server_version()?;
            let client = match known {
                Some(major) => major.to_string(),
                None => {
                    let mut version = Command::new(&pg_dump);
                    version.arg("--version");
                    let version = crate::process::output(version, "pg_dump --version")?;
                    String::from_utf8_lossy(&version.stdout)
                        .trim()
                        .rsplit(' ')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                }
            };
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
            // Uncompressed, to standard output: ferry's zstd compresses
            // faster, on every core, as the dump arrives.
            cmd.args(["--format=custom", "--compress=0", "--no-password"]);
            // ferry's run state is not the application's: a restore leaves it be.
            if let Some(schema) = state.runs.schema() {
                cmd.arg(format!("--exclude-schema={schema}"));
            }
            Ok(Dump {
                format: DumpFormat::PgCustom,
                source: Source::Tool(Tool::spawn(cmd, "pg_dump", false)?),
            })
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
            ]);
            // ferry's run state is not the application's: a restore leaves it be.
            for t in state.all() {
                cmd.arg(format!(
                    "--ignore-table={}.{}",
                    t.schema().unwrap_or(&c.database),
                    t.name()
                ));
            }
            cmd.arg(&c.database);
            Ok(Dump {
                format: DumpFormat::MysqlSql,
                source: Source::Tool(Tool::spawn(cmd, "mariadb-dump", false)?),
            })
        }
    }
}

/// Asks for a 1 MiB pipe (Linux's default for an unprivileged process's
/// maximum) instead of 64 KiB, so that decompressing the next chunk
/// overlaps the tool's reading of the last one instead of waiting for it.
/// Best effort: a smaller pipe is only slower.
fn widen_pipe(fd: &impl std::os::fd::AsRawFd) {
    // SAFETY: fcntl(2) on a descriptor this process owns; F_SETPIPE_SZ only
    // resizes the pipe's buffer and fails harmlessly where unsupported.
    unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

/// The end a complete `mariadb-dump` script has.
const MYSQL_END: &str = "-- Dump completed";

/// Reads an extracted dump in full; returns what is wrong, if anything.
pub fn read_back(format: DumpFormat, path: &Path) -> Result<Option<String>> {
    let mut check = ReadBack::start(format, path)?;
    if format != DumpFormat::SqliteFile {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
        std::io::copy(&mut file, &mut check).map_err(|e| Error::io("cannot read", path, e))?;
    }
    check.finish(true)
}

/// A full read of a dump as it streams out of an archive, without a scratch
/// copy where the engine's tool can read a stream: PostgreSQL's into
/// `pg_restore --file=/dev/null` (`--list` passes damaged dumps: only a
/// full read finds them); MariaDB's by its last bytes; a SQLite database
/// is written to `scratch` (not synced: it is only read back and removed)
/// for `PRAGMA integrity_check`, which needs a file.
pub(crate) enum ReadBack {
    Pg(Tool, Feeder),
    Mysql(Vec<u8>),
    Sqlite(PathBuf, Option<std::io::BufWriter<std::fs::File>>),
}

impl ReadBack {
    /// Starts a read-back; `scratch` is where a SQLite database goes (or,
    /// when [`ReadBack::write`] is never called, where it already is).
    pub(crate) fn start(format: DumpFormat, scratch: &Path) -> Result<ReadBack> {
        Ok(match format {
            DumpFormat::PgCustom => {
                let mut cmd = Command::new(pg_tool("pg_restore")?.0);
                cmd.args(["--file=/dev/null"]);
                let mut tool = Tool::spawn(cmd, "pg_restore", true)?;
                let stdin = tool.child.stdin.take().expect("piped");
                widen_pipe(&stdin);
                ReadBack::Pg(tool, Feeder::start(stdin))
            }
            DumpFormat::MysqlSql => ReadBack::Mysql(Vec::new()),
            DumpFormat::SqliteFile => ReadBack::Sqlite(scratch.to_owned(), None),
        })
    }

    /// What is wrong with the dump, if anything. With `judge` false (the
    /// archive was found damaged already), the tool is only waited for.
    pub(crate) fn finish(self, judge: bool) -> Result<Option<String>> {
        if !judge {
            if let ReadBack::Pg(tool, feeder) = self {
                feeder.finish();
                tool.finish()?;
            }
            return Ok(None);
        }
        match self {
            ReadBack::Pg(tool, feeder) => {
                feeder.finish();
                tool.finish()
            }
            ReadBack::Mysql(tail) => Ok((!String::from_utf8_lossy(&tail).contains(MYSQL_END))
                .then(|| format!("the dump does not end with `{MYSQL_END}`: it is truncated"))),
            ReadBack::Sqlite(path, file) => {
                if let Some(w) = file {
                    w.into_inner()
                        .map_err(|e| Error::io("cannot write", &path, e.into_error()))?;
                }
                sqlite_file::integrity(&path)
            }
        }
    }
}

/// Writes into a tool's standard input from a thread of its own, so that
/// decompressing the next chunk overlaps the tool's reading of the last.
/// A tool that stops reading ends the thread; what it said comes from its
/// exit status and standard error.
pub(crate) struct Feeder {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Feeder {
    fn start(mut stdin: std::process::ChildStdin) -> Feeder {
        use std::io::Write as _;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        let thread = std::thread::spawn(move || {
            for chunk in rx {
                if stdin.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        Feeder {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    fn send(&mut self, buf: &[u8]) {
        if let Some(tx) = &self.tx
            && tx.send(buf.to_vec()).is_err()
        {
            self.tx = None;
        }
    }

    /// Closes the tool's standard input once everything sent is written.
    fn finish(mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Fails only when a SQLite scratch file cannot be written: a tool that
/// stopped reading has said why on its standard error, which
/// [`ReadBack::finish`] reports, and the archive is read on to its end all
/// the same, for its checksums.
impl std::io::Write for ReadBack {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            ReadBack::Pg(_, feeder) => feeder.send(buf),
            ReadBack::Mysql(tail) => {
                tail.extend_from_slice(buf);
                let keep = 200;
                if tail.len() > 4 * keep {
                    tail.drain(..tail.len() - keep);
                }
            }
            ReadBack::Sqlite(path, file) => {
                if file.is_none() {
                    let f = super::store::create_private(path).map_err(|e| std::io::Error::other(e.to_string()))?;
                    *file = Some(std::io::BufWriter::with_capacity(1 << 20, f));
                }
                return file.as_mut().expect("opened").write(buf);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Other sessions using the database, which a restore would pull the floor
/// from under. `engine`'s own sessions and `ours` (this process's other
/// connections: the run state's) do not count.
pub fn users(url: &DatabaseUrl, engine: &mut dyn Engine, ours: &[i64]) -> Result<Option<String>> {
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
            format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'{}",
                not_in("pid", engine, ours)
            )
        }
        EngineKind::MySql => format!(
            "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID(){}",
            not_in("id", engine, ours)
        ),
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

/// ` AND column NOT IN (...)` of ferry's own sessions (its lock connection
/// among them), or nothing.
fn not_in(column: &str, engine: &mut dyn Engine, ours: &[i64]) -> String {
    let own: Vec<String> = engine
        .own_sessions()
        .iter()
        .chain(ours)
        .map(ToString::to_string)
        .collect();
    if own.is_empty() {
        String::new()
    } else {
        format!(" AND {column} NOT IN ({})", own.join(", "))
    }
}

/// How a restore treats what the backup holds.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// PostgreSQL: leave out the backup's GRANTs and REVOKEs (for a server
    /// that lacks the roles they name).
    pub no_privileges: bool,
    /// ferry's run state, which a restore never replaces: the journal
    /// driving a rollback that restores must survive it.
    pub keep: Option<StateTables>,
}

/// The run state's tables a restore keeps, by name.
fn kept(options: &RestoreOptions) -> Vec<String> {
    options
        .keep
        .iter()
        .flat_map(|s| s.all().map(|t| t.name().to_owned()))
        .collect()
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
            sqlite_file::replace(target, path, &kept(&options))
        }
        (EngineKind::Postgres, DumpFormat::PgCustom) => super::pg_restore::restore(&conn(url)?, engine, path, options),
        (EngineKind::MySql, DumpFormat::MysqlSql) => {
            super::mysql_restore::restore(&conn(url)?, engine, path, backup_id, &kept(&options))
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
