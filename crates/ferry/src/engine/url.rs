//! Database URLs: which engine a URL names, and a form safe to print.
//!
//! `DatabaseUrl` keeps the real URL (with its password) for the driver and
//! shows only the redacted form through `Display` and `Debug`, so a password
//! cannot reach output, logs or errors by accident.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Problem;

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

    /// Its short name, as in JSON and in `migrations/${ENGINE}`: `sqlite`,
    /// `postgres`, `mysql`.
    pub fn key(self) -> &'static str {
        match self {
            EngineKind::Sqlite => "sqlite",
            EngineKind::Postgres => "postgres",
            EngineKind::MySql => "mysql",
        }
    }

    /// The SQL dialect the engine speaks.
    pub fn dialect(self) -> crate::migration::Dialect {
        match self {
            EngineKind::Sqlite => crate::migration::Dialect::Sqlite,
            EngineKind::Postgres => crate::migration::Dialect::Postgres,
            EngineKind::MySql => crate::migration::Dialect::MySql,
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

const SECRET_PARAMS: &[&str] = &["password", "pass", "pwd", "sslpassword", "secret", "token"];

/// Replaces the password of a URL (and secret-looking query parameters or
/// `key=value` connection-string fields) with `****`.
pub fn redact_url(raw: &str) -> String {
    if let Ok(mut url) = url::Url::parse(raw)
        && url.has_host()
    {
        if url.password().is_some() {
            let _ = url.set_password(Some("****"));
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let secret = SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str());
                    (k.into_owned(), if secret { "****".into() } else { v.into_owned() })
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return url.to_string();
    }
    // A libpq `key=value` connection string, or text that is not a URL.
    if raw.contains('=') && !raw.contains("://") {
        return raw
            .split_whitespace()
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => {
                    format!("{k}=****")
                }
                _ => kv.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    // `scheme://user:password@...` that the url crate could not parse.
    if let Some((scheme, rest)) = raw.split_once("://")
        && let Some((userinfo, host)) = rest.rsplit_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:****@{host}");
    }
    raw.to_owned()
}

/// Hides secrets in free text that may quote URLs or connection strings (a
/// tool's error output, a hook's, a check's): the password of every
/// `scheme://user:password@`, and the value of every `password=` field.
/// [`redact_url`] is for text that is one URL.
pub fn redact_text(text: &str) -> String {
    let urls = crate::config::secrets::redact_urls(text);
    let mut out = String::with_capacity(urls.len());
    let mut rest = urls.as_str();
    while let Some(i) = rest.to_ascii_lowercase().find("password=") {
        let (head, tail) = rest.split_at(i + "password=".len());
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || "&;'\"".contains(c))
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str("****");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
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
    fn redacts_passwords_everywhere() {
        for (raw, want) in [
            ("postgres://app:s3cret@db:5432/app", "postgres://app:****@db:5432/app"),
            (
                "mysql://root:pw@127.0.0.1/x?password=zz&ssl=1",
                "mysql://root:****@127.0.0.1/x?password=****&ssl=1",
            ),
            (
                "host=db user=app password=s3cret dbname=app",
                "host=db user=app password=**** dbname=app",
            ),
            ("postgres://app@db/app", "postgres://app@db/app"),
        ] {
            assert_eq!(redact_url(raw), want);
        }
        let url = DatabaseUrl::parse("postgres://u:hunter2@h/d", Path::new(".")).unwrap();
        assert!(!format!("{url} {url:?}").contains("hunter2"));
        assert_eq!(url.expose_secret(), "postgres://u:hunter2@h/d");
    }

    #[test]
    fn text_keeps_its_shape_and_loses_its_secrets() {
        let t = "pg_dump: error: connection to postgres://app:s3cret@db:5432/app failed\n  host=db password=hunter2 user=app";
        assert_eq!(
            redact_text(t),
            "pg_dump: error: connection to postgres://app:****@db:5432/app failed\n  host=db password=**** user=app"
        );
        assert_eq!(redact_text("http://h/x answered 503"), "http://h/x answered 503");
    }

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
