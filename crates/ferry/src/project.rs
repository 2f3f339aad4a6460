//! `ferry.toml`: reading and validating the project file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::engine::{DatabaseUrl, HistoryTable};
use crate::env::{Env, expand};
use crate::error::{Error, Problem, Problems, Result};
use crate::migration::{MigrationSet, line_of};
use crate::migrator::Settings;

/// The project file's name.
pub const PROJECT_FILE: &str = "ferry.toml";

const DEFAULT_URL: &str = "${DATABASE_URL}";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    project: Option<RawProject>,
    database: Option<RawDatabase>,
    migrations: Option<RawMigrations>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProject {
    name: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<Spanned<String>>,
    history_table: Option<Spanned<String>>,
    lock_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMigrations {
    dir: Option<Spanned<String>>,
}

/// A loaded, validated project.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
    file: PathBuf,
    name: Option<String>,
    url_template: String,
    url_line: Option<usize>,
    history_table: HistoryTable,
    lock_timeout: Duration,
    migrations_dir: PathBuf,
}

impl Project {
    /// Reads `root/ferry.toml`.
    pub fn load(root: &Path) -> Result<Self> {
        let file = root.join(PROJECT_FILE);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Config(Problems(vec![
                    Problem::general(format!("no {PROJECT_FILE} in {}", display_dir(root)))
                        .help("run `ferry init` there to create one, or pass --project DIR"),
                ])));
            }
            Err(e) => return Err(Error::io("cannot read", &file, e)),
        };
        Self::parse(root, &file, &text)
    }

    /// Parses the text of a project file found at `file`.
    pub fn parse(root: &Path, file: &Path, text: &str) -> Result<Self> {
        let problem = |span: std::ops::Range<usize>, msg: String, help: &str| {
            Problem::in_file(file, msg)
                .at_line(line_of(text, span.start))
                .help(help.to_owned())
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let message = e.message().trim().to_owned();
            let help = if message.contains("unknown field") {
                "check the spelling; `ferry init` writes a commented ferry.toml that lists every key"
            } else {
                "fix the TOML syntax at this line"
            };
            Error::Config(Problems(vec![Problem::in_file(file, message).at_line(line).help(help)]))
        })?;
        let db = raw.database.unwrap_or_default();
        let mut problems = Vec::new();

        let history_table = match &db.history_table {
            Some(t) => HistoryTable::parse(t.get_ref()).unwrap_or_else(|msg| {
                problems.push(problem(
                    t.span(),
                    format!("history_table: {msg}"),
                    "for example history_table = \"ferry_history\"",
                ));
                HistoryTable::default()
            }),
            None => HistoryTable::default(),
        };
        let lock_timeout = match &db.lock_timeout {
            Some(t) => humantime::parse_duration(t.get_ref()).unwrap_or_else(|e| {
                problems.push(problem(
                    t.span(),
                    format!("lock_timeout: `{}` is not a duration ({e})", t.get_ref()),
                    "write a number with a unit, for example \"30s\" or \"5m\"",
                ));
                Duration::from_secs(60)
            }),
            None => Duration::from_secs(60),
        };
        let migrations_dir = match raw.migrations.and_then(|m| m.dir) {
            Some(d) if d.get_ref().trim().is_empty() => {
                problems.push(problem(
                    d.span(),
                    "migrations.dir is empty".into(),
                    "for example dir = \"migrations\"",
                ));
                root.join("migrations")
            }
            Some(d) => root.join(d.get_ref()),
            None => root.join("migrations"),
        };
        if !problems.is_empty() {
            return Err(Error::Config(Problems(problems)));
        }
        Ok(Project {
            root: root.to_owned(),
            file: file.to_owned(),
            name: raw.project.and_then(|p| p.name),
            url_line: db.url.as_ref().map(|u| line_of(text, u.span().start)),
            url_template: db.url.map_or_else(|| DEFAULT_URL.to_owned(), Spanned::into_inner),
            history_table,
            lock_timeout,
            migrations_dir,
        })
    }

    /// The project folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The project file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The application's name, if given.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The migrations folder.
    pub fn migrations_dir(&self) -> &Path {
        &self.migrations_dir
    }

    /// Loads the migrations.
    pub fn migrations(&self) -> Result<MigrationSet> {
        MigrationSet::load(&self.migrations_dir)
    }

    /// Migrator settings from the file, with `lock_timeout` overridden if given.
    pub fn settings(&self, lock_timeout: Option<Duration>) -> Settings {
        Settings {
            history_table: self.history_table.clone(),
            lock_timeout: lock_timeout.unwrap_or(self.lock_timeout),
        }
    }

    /// The database URL: `override_url` if given, else the file's `url`
    /// (default `${DATABASE_URL}`) with `${VAR}` expanded.
    pub fn database_url(&self, override_url: Option<&str>) -> Result<DatabaseUrl> {
        let config_err = |p: Problem| Error::Config(Problems(vec![p]));
        let raw = match override_url {
            Some(u) => u.to_owned(),
            None => {
                let env = Env::load(&self.root).map_err(config_err)?;
                expand(&self.url_template, |name| env.get(name)).map_err(|var| {
                    let mut p = match self.url_line {
                        Some(line) => Problem::in_file(&self.file, format!("`${{{var}}}` in database.url is not set"))
                            .at_line(line),
                        None => Problem::general(format!(
                            "no database URL: {} has no database.url and {var} is not set",
                            self.file.display()
                        )),
                    };
                    p = p.help(format!(
                        "set {var} in the environment or in {}, or pass --database-url",
                        self.root.join(".env").display()
                    ));
                    config_err(p)
                })?
            }
        };
        DatabaseUrl::parse(&raw, &self.root).map_err(|mut p| {
            if override_url.is_none() {
                p.file = Some(self.file.clone());
                p.line = self.url_line;
            }
            config_err(p)
        })
    }
}

fn display_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() || dir == Path::new(".") {
        "the current folder".to_owned()
    } else {
        dir.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Project> {
        Project::parse(Path::new("/p"), Path::new("/p/ferry.toml"), text)
    }

    fn problems(e: Error) -> Vec<Problem> {
        match e {
            Error::Config(Problems(p)) => p,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn defaults() {
        let p = parse("").unwrap();
        assert_eq!(p.migrations_dir(), Path::new("/p/migrations"));
        assert_eq!(p.settings(None).history_table.name(), "ferry_history");
        assert_eq!(p.settings(None).lock_timeout, Duration::from_secs(60));
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let p = problems(parse("[database]\nurl = \"sqlite://a.db\"\nhistroy_table = \"x\"\n").unwrap_err());
        assert_eq!(p[0].line, Some(3));
        assert!(p[0].message.contains("histroy_table"), "{}", p[0]);
        assert!(p[0].to_string().starts_with("/p/ferry.toml:3: "));
    }

    #[test]
    fn bad_values_name_the_line_and_fix() {
        let p = problems(parse("[database]\nhistory_table = \"bad name\"\nlock_timeout = \"soon\"\n").unwrap_err());
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].line, p[1].line), (Some(2), Some(3)));
        assert!(p[1].help.as_deref().unwrap().contains("30s"));
    }

    #[test]
    fn url_expansion_and_override() {
        let p = parse("[database]\nurl = \"sqlite://${FERRY_TEST_UNSET_VAR_X:-data.db}\"\n").unwrap();
        let url = p.database_url(None).unwrap();
        assert_eq!(url.expose_secret(), "sqlite://data.db");
        let p = parse("[database]\nurl = \"${FERRY_TEST_UNSET_VAR_Y}\"\n").unwrap();
        let e = problems(p.database_url(None).unwrap_err());
        assert_eq!(e[0].line, Some(2));
        assert!(e[0].help.as_deref().unwrap().contains("--database-url"));
        assert_eq!(
            p.database_url(Some("sqlite::memory:")).unwrap().expose_secret(),
            "sqlite::memory:"
        );
    }
}
