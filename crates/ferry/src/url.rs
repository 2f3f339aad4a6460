//! Database URLs: which engine a URL names, and a form safe to print.
//!
//! `DatabaseUrl` keeps the real URL (with its password) for the driver and
//! shows only the redacted form through `Display` and `Debug`, so a password
//! cannot reach output, logs or errors by accident.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::problem::Problem;
use crate::redact::redact_url;

/// The database engines ferry drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl EngineKind {
    /// The engine's usual name.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Sqlite => "SQLite",
            EngineKind::Postgres => "PostgreSQL",
            EngineKind::MySql => "MySQL/MariaDB",
        }
    }

    /// Every engine.
    pub const ALL: [EngineKind; 3] = [EngineKind::Sqlite, EngineKind::Postgres, EngineKind::MySql];

    /// The engine a release's component requirement names (`postgresql`,
    /// `pg`, `mariadb`, `sqlite3`...), any case; `None` for other
    /// components.
    pub fn of_component(name: &str) -> Option<EngineKind> {
        match name.to_ascii_lowercase().as_str() {
            "postgresql" | "postgres" | "pg" => Some(EngineKind::Postgres),
            "mysql" | "mariadb" => Some(EngineKind::MySql),
            "sqlite" | "sqlite3" => Some(EngineKind::Sqlite),
            _ => None,
        }
    }

    /// Its short name, as in JSON and in `migrations/${ENGINE}`: `sqlite`,
    /// `postgres`, `mysql`.
    pub fn key(self) -> &'static str {
        match self {
            EngineKind::Sqlite => "sqlite",
            EngineKind::Postgres => "postgres",
            EngineKind::MySql => "mysql",
        }
    }
}

/// How a SQLite URL's `mode=` parameter lets ferry open the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteMode {
    /// `mode=rwc` (the default): read and write, created when ferry first
    /// writes to it. Commands that only read never create it.
    #[default]
    ReadWriteCreate,
    /// `mode=rw`: read and write an existing file.
    ReadWrite,
    /// `mode=ro`: read only; commands that write refuse.
    ReadOnly,
}

/// Where a SQLite database lives.
#[derive(Clone, PartialEq, Eq)]
pub enum SqliteLocation {
    /// A file.
    File(PathBuf),
    /// A private in-memory database (`sqlite::memory:`).
    Memory,
}

/// A database URL. Prints redacted; hands the real text only to drivers.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    kind: EngineKind,
    sqlite: Option<SqliteLocation>,
    sqlite_mode: SqliteMode,
    safe: SafeUrl,
}

/// A URL with any password replaced by `****`: safe to print or log.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct SafeUrl(String);

impl SafeUrl {
    /// Redacts `raw`.
    pub fn new(raw: &str) -> Self {
        SafeUrl(redact_url(raw))
    }

    /// The redacted text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.safe, f)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.safe.0)
    }
}

impl DatabaseUrl {
    /// Parses a URL. Relative SQLite paths are resolved against `base`
    /// (the project folder), so `--project DIR` works from anywhere.
    pub fn parse(raw: &str, base: &Path) -> Result<Self, Problem> {
        let raw = raw.trim();
        let safe = SafeUrl::new(raw);
        if raw.is_empty() {
            return Err(Problem::general("the database URL is empty")
                .help("set DATABASE_URL, or `url` under [database] in ferry.toml, or pass --database-url"));
        }
        let mut sqlite_mode = SqliteMode::default();
        let (kind, sqlite) = match raw.split_once(':') {
            Some((scheme, rest)) if scheme.len() > 1 => match scheme.to_ascii_lowercase().as_str() {
                "sqlite" | "sqlite3" | "file" => {
                    sqlite_mode = sqlite_params(rest, &safe)?;
                    (EngineKind::Sqlite, Some(sqlite_location(rest, base)?))
                }
                "postgres" | "postgresql" | "mysql" | "mariadb" => {
                    // A URL the drivers cannot read is a mistake in the
                    // settings, not a server that cannot be reached.
                    if let Err(e) = url::Url::parse(raw) {
                        return Err(Problem::general(format!("{safe} is not a valid URL: {e}"))
                            .help("write scheme://USER:PASSWORD@HOST:PORT/DATABASE, with a port from 1 to 65535"));
                    }
                    let kind = if scheme.to_ascii_lowercase().starts_with("postgres") {
                        EngineKind::Postgres
                    } else {
                        EngineKind::MySql
                    };
                    (kind, None)
                }
                other => {
                    return Err(Problem::general(format!(
                        "unsupported database URL scheme `{other}:` in {safe}"
                    ))
                    .help("use sqlite://PATH, postgres://USER@HOST/DB, or mysql://USER@HOST/DB (mariadb:// also works)"));
                }
            },
            // No scheme (or a Windows drive letter): a SQLite file path.
            _ => (EngineKind::Sqlite, Some(SqliteLocation::File(base.join(raw)))),
        };
        Ok(DatabaseUrl {
            raw: raw.to_owned(),
            kind,
            sqlite,
            sqlite_mode,
            safe,
        })
    }

    /// The engine this URL names.
    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// The redacted form.
    pub fn safe(&self) -> &SafeUrl {
        &self.safe
    }

    /// The real URL, password included: for drivers only, never for output.
    pub fn expose_secret(&self) -> &str {
        &self.raw
    }

    /// Where the SQLite database lives, for SQLite URLs.
    pub fn sqlite_location(&self) -> Option<&SqliteLocation> {
        self.sqlite.as_ref()
    }

    /// How a SQLite URL lets ferry open its file.
    pub fn sqlite_mode(&self) -> SqliteMode {
        self.sqlite_mode
    }

    /// The URL with `mariadb://` spelt as the drivers expect, `mysql://`.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn for_driver(&self) -> String {
        match self.raw.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => format!("mysql://{rest}"),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("postgresql") => {
                format!("postgres://{rest}")
            }
            _ => self.raw.clone(),
        }
    }
}

/// The parameters of a SQLite URL: `mode=ro|rw|rwc`; anything else is an
/// error rather than silently ignored.
fn sqlite_params(rest: &str, safe: &SafeUrl) -> Result<SqliteMode, Problem> {
    let Some((_, query)) = rest.split_once('?') else {
        return Ok(SqliteMode::default());
    };
    let mut mode = SqliteMode::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (k, v) {
            ("mode", "rwc") => mode = SqliteMode::ReadWriteCreate,
            ("mode", "rw") => mode = SqliteMode::ReadWrite,
            ("mode", "ro") => mode = SqliteMode::ReadOnly,
            ("mode", other) => {
                return Err(
                    Problem::general(format!("mode={other} in {safe} is not a SQLite open mode"))
                        .help("use mode=ro (read only), mode=rw (an existing file) or mode=rwc (the default)"),
                );
            }
            (other, _) => {
                return Err(Problem::general(format!(
                    "ferry does not understand the SQLite URL parameter `{other}` in {safe}"
                ))
                .help("the only parameter is mode=ro, mode=rw or mode=rwc; remove the others"));
            }
        }
    }
    Ok(mode)
}

fn sqlite_location(rest: &str, base: &Path) -> Result<SqliteLocation, Problem> {
    let rest = rest.split('?').next().unwrap_or_default();
    if rest == ":memory:" || rest == "//:memory:" {
        return Ok(SqliteLocation::Memory);
    }
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(Problem::general("the SQLite URL names no file")
            .help("write sqlite://data/app.db for a file relative to the project, or sqlite:///var/lib/app/app.db for an absolute path"));
    }
    let path = PathBuf::from(path);
    Ok(SqliteLocation::File(if path.is_absolute() {
        path
    } else {
        base.join(path)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_by_scheme() {
        let base = Path::new("/proj");
        let k = |s: &str| DatabaseUrl::parse(s, base).unwrap().kind();
        assert_eq!(k("postgresql://h/d"), EngineKind::Postgres);
        assert_eq!(k("mariadb://h/d"), EngineKind::MySql);
        assert_eq!(k("data/app.db"), EngineKind::Sqlite);
        let loc = |s: &str| DatabaseUrl::parse(s, base).unwrap().sqlite_location().cloned();
        assert!(loc("sqlite://data/app.db") == Some(SqliteLocation::File("/proj/data/app.db".into())));
        assert!(loc("sqlite:///var/app.db") == Some(SqliteLocation::File("/var/app.db".into())));
        assert!(loc("sqlite::memory:") == Some(SqliteLocation::Memory));
        assert!(DatabaseUrl::parse("oracle://x", base).is_err());
        assert!(DatabaseUrl::parse("sqlite://", base).is_err());
    }
}
