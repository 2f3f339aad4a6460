//! `ferry init` and `ferry new`: writing a project's first files.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::migration::MigrationSet;
use crate::problem::Problem;
use crate::project::PROJECT_FILE;

const GITATTRIBUTES_LINE: &str = "*.sql text eol=lf";
const GITIGNORE_LINE: &str = "/.ferry/";

/// The commented `ferry.toml` that `ferry init` writes.
pub fn project_template(name: &str, url: Option<&str>) -> String {
    let url_line = match url {
        Some(u) => format!("url = {}", toml_string(u)),
        None => "url = \"${DATABASE_URL:-sqlite://app.db}\"".to_owned(),
    };
    format!(
        r#"# ferry.toml: how ferry upgrades this application.
# Every command reads it from the folder given by --project (default: here).

[project]
# The application's name, shown in plans and backups.
name = {name}

[database]
# The database ferry migrates:
#   sqlite://PATH (relative to this folder), sqlite:///ABSOLUTE/PATH,
#   postgres://USER:PASSWORD@HOST:5432/DB, mysql://USER:PASSWORD@HOST:3306/DB.
# ${{VAR}} is read from the environment, then from .env beside this file;
# ${{VAR:-default}} gives a default. --database-url overrides this line.
{url_line}

# The table that records applied migrations, created on first use.
history_table = "ferry_history"

# How long to wait for another ferry process migrating the same database.
lock_timeout = "60s"

# SQLite: enforce foreign keys while migrating. A migration that rebuilds a
# table says `-- ferry:foreign-keys-off` instead of turning this off.
sqlite_foreign_keys = true

[migrations]
# Folder of NNNN_name.up.sql / NNNN_name.down.sql files (`ferry new NAME`).
dir = "migrations"

[releases]
# Folder of X.Y.Z.toml release files: schema head, breaking changes, and the
# [[config]] changes `ferry config migrate` applies.
dir = "releases"

# [config]
# Where the config files named in [[config]] changes live (default: this
# folder); ${{VAR}} and ${{VAR:-default}} work here too.
# dir = "${{APP_CONFIG_DIR:-/etc/app}}"
"#,
        name = toml_string(name),
    )
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// What `init` created.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    /// Files and folders created or changed, in order.
    pub paths: Vec<PathBuf>,
    /// What the user should know about them.
    pub notes: Vec<String>,
}

/// Writes `ferry.toml`, `migrations/`, a `.gitattributes` line and a
/// `.gitignore` line (`/.ferry/`) in `dir`.
/// Refuses to overwrite an existing `ferry.toml`.
pub fn init(dir: &Path, name: Option<&str>, url: Option<&str>) -> Result<Created> {
    let file = dir.join(PROJECT_FILE);
    if file.exists() {
        return Err(Error::refused(
            Problem::in_file(&file, "already exists; nothing was written")
                .help("edit it, or delete it and run `ferry init` again"),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let name = name.map(str::to_owned).unwrap_or_else(|| {
        std::fs::canonicalize(dir)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "app".to_owned())
    });
    let mut paths = Vec::new();
    let mut notes = Vec::new();
    // A URL given on the command line goes into .env, not into ferry.toml:
    // ferry.toml is meant to be committed, and the URL holds a password.
    let dotenv = dir.join(".env");
    if let Some(url) = url {
        let quoted = if url.contains('\'') {
            format!("\"{}\"", url.replace('\\', "\\\\").replace('"', "\\\""))
        } else {
            format!("'{url}'")
        };
        let line = format!("DATABASE_URL={quoted}");
        let existing = std::fs::read_to_string(&dotenv).unwrap_or_default();
        // The same line (an init stopped before ferry.toml was written) is
        // no conflict; another DATABASE_URL is.
        if existing.lines().any(|l| {
            l.trim() != line
                && l.trim_start()
                    .trim_start_matches("export ")
                    .starts_with("DATABASE_URL=")
        }) {
            return Err(Error::refused(
                Problem::in_file(&dotenv, "already sets DATABASE_URL; nothing was written")
                    .help("run `ferry init` without --database-url: ferry.toml reads DATABASE_URL from .env"),
            ));
        }
        // Readable by its owner only, from its first byte: it holds a password.
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&dotenv)
            .and_then(|_| std::fs::set_permissions(&dotenv, std::fs::Permissions::from_mode(0o600)))
            .map_err(|e| Error::io("cannot write", &dotenv, e))?;
        // .env first: ferry.toml's ${DATABASE_URL} is never left unset.
        add_line(
            &dotenv,
            "The database ferry migrates (ferry.toml reads it as ${DATABASE_URL}).",
            &line,
        )?;
        notes.push(
            "the database URL is in .env as DATABASE_URL (password included, mode 0600); ferry.toml reads it as ${DATABASE_URL}, so ferry.toml can be committed and .env is kept out of git by .gitignore".to_owned(),
        );
    }
    std::fs::write(&file, project_template(&name, url.map(|_| "${DATABASE_URL}")))
        .map_err(|e| Error::io("cannot write", &file, e))?;
    paths.push(file);
    if url.is_some() {
        paths.push(dotenv);
    }
    let migrations = dir.join("migrations");
    if !migrations.is_dir() {
        std::fs::create_dir_all(&migrations).map_err(|e| Error::io("cannot create", &migrations, e))?;
        paths.push(migrations);
    }
    let attributes = dir.join(".gitattributes");
    if add_line(
        &attributes,
        "Keep migrations at LF line endings on every checkout.",
        GITATTRIBUTES_LINE,
    )? {
        paths.push(attributes);
    }
    let ignore = dir.join(".gitignore");
    let mut ignored = add_line(
        &ignore,
        "ferry's local files: backups (the database's contents), caches.",
        GITIGNORE_LINE,
    )?;
    if url.is_some() {
        ignored |= add_line(&ignore, "Secrets: the database URL and its password.", "/.env")?;
    }
    if ignored {
        paths.push(ignore);
    }
    Ok(Created { paths, notes })
}

/// Appends `line`, after a `# comment` line, to the file at `path` (made if
/// missing) unless it already holds that line. Whether it wrote. Appended,
/// not rewritten: the user's own lines are never in flight, so an
/// interrupted `ferry init` cannot cut them off.
fn add_line(path: &Path, comment: &str, line: &str) -> Result<bool> {
    use std::io::Write;
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    if existing.lines().any(|l| l.trim() == line) {
        return Ok(false);
    }
    let gap = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(format!("{gap}# {comment}\n{line}\n").as_bytes()))
        .map_err(|e| Error::io("cannot write", path, e))?;
    Ok(true)
}

/// Writes the next migration pair named `name` into `dir`; returns the two paths.
pub fn new_migration(dir: &Path, set: &MigrationSet, name: &str, timestamp: bool) -> Result<(PathBuf, PathBuf)> {
    let slug: String = name
        .trim()
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c.to_ascii_lowercase() })
        .collect();
    if slug.is_empty()
        || !slug
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::Config(crate::problem::Problems(vec![
            Problem::general(format!("`{name}` cannot be a migration name"))
                .help("use letters, digits, `_` and `-`, for example `add_users_table`"),
        ])));
    }
    let now = jiff::Timestamp::now().strftime("%Y%m%d%H%M%S").to_string();
    let version = set.next_version(timestamp, &now);
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let up = dir.join(format!("{version}_{slug}.up.sql"));
    let down = dir.join(format!("{version}_{slug}.down.sql"));
    for (path, text) in [
        (&up, format!("-- {version}_{slug}: write the change here.\n")),
        (
            &down,
            format!("-- {version}_{slug}: write what undoes the up script here.\n"),
        ),
    ] {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("cannot create", path, e))?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| Error::io("cannot write", path, e))?;
    }
    Ok((up, down))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Project;

    #[test]
    fn init_adds_to_an_existing_gitignore_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "target/").unwrap();
        init(dir.path(), None, None).unwrap();
        let ignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert!(
            ignore.starts_with("target/\n# ") && ignore.ends_with("\n/.ferry/\n"),
            "{ignore}"
        );
        std::fs::remove_file(dir.path().join("ferry.toml")).unwrap();
        let again = init(dir.path(), None, None).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(), ignore);
        assert!(!again.paths.iter().any(|p| p.ends_with(".gitignore")));
    }

    #[test]
    fn init_writes_a_project_that_loads() {
        let dir = tempfile::tempdir().unwrap();
        let created = init(dir.path(), Some("demo \"x\""), None).unwrap();
        assert_eq!(created.paths.len(), 4);
        let p = Project::load(dir.path()).unwrap();
        assert_eq!(p.name(), Some("demo \"x\""));
        let attrs = std::fs::read_to_string(dir.path().join(".gitattributes")).unwrap();
        assert!(attrs.contains("*.sql text eol=lf"));
        let ignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "/.ferry/"), "{ignore}");
        assert!(init(dir.path(), None, None).is_err(), "must not overwrite");
        assert_eq!(p.config_dir().unwrap(), dir.path());
        // The commented [config] section works once uncommented.
        let text = project_template("demo", None)
            .replace("# [config]", "[config]")
            .replace("# dir = ", "dir = ");
        let p = Project::parse(dir.path(), &dir.path().join("ferry.toml"), &text).unwrap();
        assert_eq!(p.config_dir().unwrap(), Path::new("/etc/app"));
    }

    #[test]
    fn new_writes_the_next_pair() {
        let dir = tempfile::tempdir().unwrap();
        let (up, _) = new_migration(dir.path(), &MigrationSet::default(), "Add users", false).unwrap();
        assert!(up.ends_with("0001_add_users.up.sql"));
        let set = MigrationSet::load(dir.path()).unwrap();
        let (up, down) = new_migration(dir.path(), &set, "more", false).unwrap();
        assert!(up.ends_with("0002_more.up.sql") && down.exists());
        assert!(new_migration(dir.path(), &set, "bad/name", false).is_err());
    }
}
