//! `ferry.toml`: reading and validating the project file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use std::collections::BTreeMap;

use crate::engine::HistoryTable;
use crate::env::{Env, expand};
use crate::error::{Error, Result};
use crate::migration::MigrationSet;
use crate::migrator::Settings;
use crate::problem::{Problem, Problems};
use crate::project::backup::{BackupSettings, Retention};
use crate::project::check::{Check, Probe};
use crate::project::hook::Hook;
use crate::project::{Manifest, Policy};
use crate::text::line_of;

/// The project file's name.
pub const PROJECT_FILE: &str = "ferry.toml";

/// The variable of `migrations.dir` that the database URL's engine fills in.
pub(super) const ENGINE_VAR: &str = "ENGINE";
pub(super) const ENGINE_PLACEHOLDER: &str = "${ENGINE}";

const DEFAULT_URL: &str = "${DATABASE_URL}";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    project: Option<RawProject>,
    database: Option<RawDatabase>,
    migrations: Option<RawMigrations>,
    releases: Option<RawReleases>,
    policy: Option<super::policy::RawPolicy>,
    support: Option<super::policy::RawSupport>,
    backup: Option<RawBackup>,
    config: Option<RawConfig>,
    state: Option<RawState>,
    adopt: Option<RawAdopt>,
    #[serde(default)]
    checks: Vec<Spanned<crate::project::check::RawCheck>>,
    #[serde(default)]
    hooks: Vec<Spanned<crate::project::hook::RawHook>>,
    #[serde(default)]
    components: BTreeMap<String, Spanned<crate::project::check::RawProbe>>,
    watch: Option<Spanned<crate::project::watch::RawWatch>>,
}

/// `[adopt]`: a hand-rolled history table `ferry db adopt --from table` reads.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAdopt {
    table: Option<String>,
    version: Option<String>,
    name: Option<String>,
    applied_at: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    dir: Option<Spanned<String>>,
}

/// `[state]`: where run state is kept (default: the database).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawState {
    dir: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    dir: Option<Spanned<String>>,
    #[serde(default)]
    files: Vec<Spanned<String>>,
    level: Option<Spanned<i32>>,
    retention: Option<RawRetention>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    keep_last: Option<usize>,
    keep_within: Option<Spanned<String>>,
    keep_daily: Option<usize>,
    keep_weekly: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReleases {
    dir: Option<Spanned<String>>,
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
    release_table: Option<Spanned<String>>,
    lock_timeout: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    wait: Option<Spanned<String>>,
    sqlite_foreign_keys: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMigrations {
    dir: Option<Spanned<String>>,
}

/// A loaded, validated project.
#[derive(Debug, Clone)]
pub struct Project {
    pub(super) root: PathBuf,
    pub(super) file: PathBuf,
    pub(super) name: Option<String>,
    pub(super) url_template: String,
    pub(super) url_line: Option<usize>,
    pub(super) history_table: HistoryTable,
    pub(super) release_table: HistoryTable,
    pub(super) lock_timeout: Duration,
    /// `[database] connect_timeout`: how long one attempt to connect waits.
    pub(super) connect_timeout: Duration,
    /// `[database] wait`: how long to keep trying to connect.
    pub(super) wait: Duration,
    pub(super) sqlite_foreign_keys: bool,
    pub(super) migrations_dir: PathBuf,
    pub(super) releases_dir: PathBuf,
    pub(super) policy: Policy,
    pub(super) backup: BackupSettings,
    pub(super) checks: Vec<Check>,
    pub(super) hooks: Vec<Hook>,
    pub(super) watch: Option<crate::project::watch::Watch>,
    pub(super) probes: BTreeMap<String, Probe>,
    pub(super) config_dir: Option<(String, usize)>,
    /// `[state] dir`: run state in this folder instead of the database.
    pub(super) state_folder: Option<PathBuf>,
    pub(super) adopt: Option<(Option<String>, crate::foreign::TableColumns)>,
    /// Set on the copy `ferry rehearse` works on: whether hooks run there.
    pub(super) rehearsal: Option<bool>,
}

/// The project folder for a command started in `from` without `--project`:
/// `from` or the nearest folder above it that holds ferry.toml, as cargo
/// and git find theirs. `from` itself when none does (its error then names
/// the folder the command started in).
pub fn discover(from: &Path) -> PathBuf {
    if from.join(PROJECT_FILE).is_file() {
        return from.to_owned();
    }
    let absolute = std::path::absolute(from).unwrap_or_else(|_| from.to_owned());
    absolute
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(PROJECT_FILE).is_file())
        .map_or_else(|| from.to_owned(), Path::to_owned)
}

impl Project {
    /// Reads `root/ferry.toml`.
    pub fn load(root: &Path) -> Result<Self> {
        let file = root.join(PROJECT_FILE);
        let text = match std::fs::read(&file) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
                Error::Config(Problems(vec![
                    Problem::in_file(&file, "the file is not UTF-8 text")
                        .at_line(line)
                        .help("save it as UTF-8"),
                ]))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Config(Problems(vec![
                    Problem::general(format!("no {PROJECT_FILE} in {}", display_dir(root)))
                        .help("run `ferry init` there to create one, or pass --project DIR (without it, ferry looks in the current folder and the folders above it, or in FERRY_PROJECT)"),
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
        let release_table = match &db.release_table {
            Some(t) => HistoryTable::parse(t.get_ref()).unwrap_or_else(|msg| {
                problems.push(problem(
                    t.span(),
                    format!("release_table: {msg}"),
                    "for example release_table = \"ferry_release\"",
                ));
                HistoryTable::default()
            }),
            None => HistoryTable::parse("ferry_release").unwrap_or_default(),
        };
        let policy = super::policy::parse_policy(
            raw.policy.unwrap_or_default(),
            raw.support.unwrap_or_default(),
            &mut |span, msg, help| problems.push(problem(span, msg, help)),
        );
        let raw_backup = raw.backup.unwrap_or_default();
        let mut retention = Retention::default();
        if let Some(r) = raw_backup.retention {
            retention.keep_last = r.keep_last;
            retention.keep_daily = r.keep_daily;
            retention.keep_weekly = r.keep_weekly;
            if let Some(w) = r.keep_within {
                match humantime::parse_duration(w.get_ref()) {
                    Ok(d) => retention.keep_within = Some(d),
                    Err(e) => problems.push(problem(
                        w.span(),
                        format!("keep_within: `{}` is not a duration ({e})", w.get_ref()),
                        "for example keep_within = \"7d\"",
                    )),
                }
            }
        }
        let level = match raw_backup.level {
            Some(l) if !(1..=19).contains(l.get_ref()) => {
                problems.push(problem(
                    l.span(),
                    format!("level = {} is out of range", l.get_ref()),
                    "zstd levels go from 1 (fastest) to 19 (smallest); 3 is the default",
                ));
                3
            }
            Some(l) => *l.get_ref(),
            None => 3,
        };
        let mut files = Vec::new();
        for f in raw_backup.files {
            let path = Path::new(f.get_ref());
            if path.is_absolute() || path.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                problems.push(problem(
                    f.span(),
                    format!("backup.files: `{}` is outside the project", f.get_ref()),
                    "backups hold files inside the project folder only, so that a restore can never write elsewhere; name paths relative to ferry.toml's folder, and back up other files with the tool that owns them",
                ));
            } else {
                files.push(f.into_inner());
            }
        }
        let backup_dir = match raw_backup.dir {
            Some(d) => expand_path(root, file, text, &d, "backup.dir", &mut problems),
            None => root.join(".ferry/backups"),
        };
        let backup = BackupSettings {
            dir: backup_dir,
            files,
            level,
            retention,
        };
        let mut checks = Vec::new();
        for c in raw.checks {
            match crate::project::check::parse(file, text, c) {
                Ok(c) => checks.push(c),
                Err(p) => problems.push(p),
            }
        }
        let mut probes = BTreeMap::new();
        for (name, raw_probe) in raw.components {
            let line = line_of(text, raw_probe.span().start);
            match crate::project::check::parse_probe(file, line, &name, raw_probe.into_inner()) {
                Ok(p) => {
                    probes.insert(name, p);
                }
                Err(p) => problems.push(p),
            }
        }
        let mut duration = |key: &str, value: &Option<Spanned<String>>, default: Duration| match value {
            Some(t) => humantime::parse_duration(t.get_ref()).unwrap_or_else(|e| {
                problems.push(problem(
                    t.span(),
                    format!("{key}: `{}` is not a duration ({e})", t.get_ref()),
                    "write a number with a unit, for example \"30s\" or \"5m\"",
                ));
                default
            }),
            None => default,
        };
        let lock_timeout = duration("lock_timeout", &db.lock_timeout, Duration::from_secs(60));
        let connect_timeout = duration("connect_timeout", &db.connect_timeout, Duration::from_secs(10));
        let wait = duration("wait", &db.wait, Duration::ZERO);
        let migrations_dir = match raw.migrations.and_then(|m| m.dir) {
            Some(d) if d.get_ref().trim().is_empty() => {
                problems.push(problem(
                    d.span(),
                    "migrations.dir is empty".into(),
                    "for example dir = \"migrations\"",
                ));
                root.join("migrations")
            }
            Some(d) => expand_path(root, file, text, &d, "migrations.dir", &mut problems),
            None => root.join("migrations"),
        };
        let releases_dir = match raw.releases.and_then(|r| r.dir) {
            Some(d) => expand_path(root, file, text, &d, "releases.dir", &mut problems),
            None => root.join("releases"),
        };
        let watch = match raw.watch {
            Some(w) => match crate::project::watch::parse(file, text, w) {
                Ok(w) => Some(w),
                Err(p) => {
                    problems.extend(p);
                    None
                }
            },
            None => None,
        };
        let state_folder = match raw.state.and_then(|s| s.dir) {
            Some(d) if d.get_ref().trim().is_empty() => {
                problems.push(problem(
                    d.span(),
                    "state.dir is empty".into(),
                    "name a folder, for example dir = \".ferry\", or leave [state] out to keep run state in the database",
                ));
                None
            }
            Some(d) => Some(expand_path(root, file, text, &d, "state.dir", &mut problems)),
            None => None,
        };
        let mut hooks = Vec::new();
        for h in raw.hooks {
            match crate::project::hook::parse(file, text, h) {
                Ok(h) => hooks.push(h),
                Err(p) => problems.push(p),
            }
        }
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
            release_table,
            lock_timeout,
            connect_timeout,
            wait,
            sqlite_foreign_keys: db.sqlite_foreign_keys.unwrap_or(true),
            migrations_dir,
            releases_dir,
            policy,
            backup,
            checks,
            hooks,
            probes,
            watch,
            adopt: raw.adopt.map(|a| {
                (
                    a.table,
                    crate::foreign::TableColumns {
                        version: a.version.unwrap_or_else(|| "version".into()),
                        name: a.name,
                        applied_at: a.applied_at,
                    },
                )
            }),
            config_dir: raw
                .config
                .and_then(|c| c.dir)
                .map(|d| (d.get_ref().clone(), line_of(text, d.span().start))),
            state_folder,
            rehearsal: None,
        })
    }

    /// This project as a copy in `root` for a rehearsal: its config files
    /// in `config_dir`, backups in the copy's `.ferry/backups`, hooks run
    /// only when `hooks`.
    pub(crate) fn rehearsal_copy(&self, root: &Path, config_dir: &Path, hooks: bool) -> Self {
        let mut copy = self.clone();
        copy.root = root.to_owned();
        copy.file = root.join(PROJECT_FILE);
        copy.backup.dir = root.join(".ferry").join("backups");
        // The copy's run state stays with the copy, whatever the project's.
        copy.state_folder = Some(root.join(".ferry"));
        // `$` is the only character a config.dir template treats specially.
        copy.config_dir = Some((config_dir.display().to_string().replace('$', "$$"), 0));
        if !hooks {
            copy.hooks.clear();
        }
        copy.rehearsal = Some(hooks);
        copy
    }

    /// `Some(hooks run)` on a rehearsal's copy.
    pub fn rehearsal(&self) -> Option<bool> {
        self.rehearsal
    }

    /// `[adopt]`: the table and columns of a hand-rolled history table.
    pub fn adopt_table(&self) -> Option<(Option<&str>, &crate::foreign::TableColumns)> {
        self.adopt.as_ref().map(|(t, c)| (t.as_deref(), c))
    }

    /// The `[backup]` settings.
    pub fn backup(&self) -> &BackupSettings {
        &self.backup
    }

    /// The `[[checks]]`.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The `[watch]` window, when there is one.
    pub fn watch(&self) -> Option<&crate::project::watch::Watch> {
        self.watch.as_ref()
    }

    /// `[components]`: how to ask each component its version.
    pub fn probes(&self) -> &BTreeMap<String, Probe> {
        &self.probes
    }

    /// The `[[hooks]]`, which run for every hop of an upgrade.
    pub fn hooks(&self) -> &[Hook] {
        &self.hooks
    }

    /// The releases folder.
    pub fn releases_dir(&self) -> &Path {
        &self.releases_dir
    }

    /// The upgrade policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The table that records the installed release.
    pub fn release_table(&self) -> &HistoryTable {
        &self.release_table
    }

    /// Reads the releases and checks them against `migrations`.
    pub fn manifest(&self, migrations: &MigrationSet) -> Result<Manifest> {
        let mut m = Manifest::load(&self.releases_dir, self.policy.clone(), migrations)?;
        m.checks = self.checks.clone();
        Ok(m)
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

    /// Migrator settings from the file, with `lock_timeout` overridden if given.
    pub fn settings(&self, lock_timeout: Option<Duration>) -> Settings {
        Settings {
            history_table: self.history_table.clone(),
            release_table: self.release_table.clone(),
            lock_timeout: lock_timeout.unwrap_or(self.lock_timeout),
            sqlite_foreign_keys: self.sqlite_foreign_keys,
            durable: true,
            connect_timeout: self.connect_timeout,
            wait: self.wait,
        }
    }

    /// Migrator settings from the file, with what the command line says
    /// (`--lock-timeout`, `--wait`) over it.
    pub fn settings_for(&self, access: &super::Access) -> Settings {
        Settings {
            wait: access.wait.unwrap_or(self.wait),
            ..self.settings(access.lock_timeout)
        }
    }
}

/// A folder setting, `${VAR}` expanded (the process environment, then a
/// `.env` beside ferry.toml, read only when the setting names a variable),
/// relative to the project.
fn expand_path(
    root: &Path,
    file: &Path,
    text: &str,
    value: &Spanned<String>,
    key: &str,
    problems: &mut Vec<Problem>,
) -> PathBuf {
    let raw = value.get_ref();
    if !raw.contains('$') {
        return root.join(raw);
    }
    let line = line_of(text, value.span().start);
    // `${ENGINE}` stays as it is: the database URL's engine fills it in
    // when the folder is used (see `Project::migrations_dir_for`).
    let expanded = match Env::load(root) {
        Ok(env) => expand(raw, |name| {
            if name == ENGINE_VAR {
                Some(format!("${{{ENGINE_VAR}}}"))
            } else {
                env.get(name)
            }
        }),
        Err(p) => {
            problems.push(p);
            return root.join(raw);
        }
    };
    match expanded {
        Ok(p) => root.join(p),
        Err(var) => {
            problems.push(
                Problem::in_file(file, format!("`${{{var}}}` in {key} is not set"))
                    .at_line(line)
                    .help(format!("set {var}, or give a default: ${{{var}:-path}}")),
            );
            root.join(raw)
        }
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

    /// `${VAR:-default}` looks in the environment, then in `.env` beside
    /// ferry.toml, then takes the default: in every place ferry expands a
    /// variable (each place with a variable of its own, set only in `.env`;
    /// checks' and probes' URLs are tested with the checks).
    #[test]
    fn variables_with_defaults_read_dotenv_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join(".env"),
            "FERRY_T_URL=sqlite://from-dotenv.db\nFERRY_T_MIG=mig-dotenv\nFERRY_T_REL=rel-dotenv\nFERRY_T_BAK=bak-dotenv\nFERRY_T_STATE=state-dotenv\nFERRY_T_CONF=conf-dotenv\n",
        )
        .unwrap();
        let text = "[database]\nurl = \"${FERRY_T_URL:-sqlite://default.db}\"\n\n[migrations]\ndir = \"${FERRY_T_MIG:-m}\"\n\n[releases]\ndir = \"${FERRY_T_REL:-r}\"\n\n[backup]\ndir = \"${FERRY_T_BAK:-b}\"\n\n[state]\ndir = \"${FERRY_T_STATE:-s}\"\n\n[config]\ndir = \"${FERRY_T_CONF:-c}\"\n";
        std::fs::write(root.join("ferry.toml"), text).unwrap();
        let p = Project::load(root).unwrap();
        assert_eq!(p.database_url(None).unwrap().expose_secret(), "sqlite://from-dotenv.db");
        assert_eq!(p.migrations_dir(), root.join("mig-dotenv"));
        assert_eq!(p.releases_dir(), root.join("rel-dotenv"));
        assert_eq!(p.backup().dir, root.join("bak-dotenv"));
        assert_eq!(p.state_folder(), Some(root.join("state-dotenv").as_path()));
        assert_eq!(p.config_dir().unwrap(), root.join("conf-dotenv"));
        // Without the variable anywhere, the default.
        std::fs::write(root.join(".env"), "OTHER=1\n").unwrap();
        let p = Project::load(root).unwrap();
        assert_eq!(p.database_url(None).unwrap().expose_secret(), "sqlite://default.db");
        assert_eq!(p.migrations_dir(), root.join("m"));
        assert_eq!(p.config_dir().unwrap(), root.join("c"));
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
    fn policy_and_support() {
        let p = parse(
            "[policy.minor]\nrisk = \"medium\"\ndowntime = \"5m-15m\"\nbackup = \"required\"\n\n[support]\noldest = \"1.0.0\"\n\n[[support.series]]\nname = \"2.0\"\nlts = true\nreleased = 2024-11-01\nsecurity_until = 2025-11-01\n",
        )
        .unwrap();
        assert_eq!(p.policy().minor.downtime.unwrap().to_string(), "5-15 min");
        assert_eq!(p.policy().oldest.as_ref().unwrap().to_string(), "1.0.0");
        assert!(p.policy().series[0].lts);
        let e = problems(parse("[policy.major]\nrisk = \"extreme\"\n").unwrap_err());
        assert_eq!(e[0].line, Some(2));
        let e = problems(
            parse("[support]\noldest = \"1.0\"\n\n[[support.series]]\nname = \"1.0\"\nreleased = \"June\"\n")
                .unwrap_err(),
        );
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].line, e[1].line), (Some(2), Some(6)));
    }

    /// A regression test: an absolute path in backup.files made archives
    /// that could not be restored.
    #[test]
    fn backup_files_outside_the_project_name_the_line() {
        let e = problems(
            parse("[backup]\nfiles = [\n  \".env\",\n  \"/var/lib/redis/dump.rdb\",\n  \"../shared.env\",\n]\n")
                .unwrap_err(),
        );
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].line, e[1].line), (Some(4), Some(5)));
        assert!(e[0].message.contains("outside the project"), "{}", e[0]);
    }
}
