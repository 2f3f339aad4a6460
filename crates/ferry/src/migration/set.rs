//! Loading and validating a set of migrations, from a folder or from files
//! embedded in a binary. Pure apart from reading the folder.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Problem, Problems};
use crate::migration::script::Script;

/// One versioned migration: an up script and, optionally, a down script.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The version: the number before the first underscore of the file name.
    pub version: u64,
    /// The name after the version, as written in the file name.
    pub name: String,
    /// The version as written in the file name (`0003`), for display.
    pub version_text: String,
    /// The up script.
    pub up: Script,
    /// The down script, if there is one.
    pub down: Option<Script>,
}

impl Migration {
    /// `0003_add_artifacts`.
    pub fn label(&self) -> String {
        format!("{}_{}", self.version_text, self.name)
    }
}

impl fmt::Display for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.version_text, self.name)
    }
}

/// A validated, version-ordered set of migrations.
#[derive(Debug, Clone, Default)]
pub struct MigrationSet {
    migrations: Vec<Migration>,
    origin: PathBuf,
}

/// Which half of a migration a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Up,
    Down,
}

/// A migration file name taken apart.
struct FileName<'a> {
    version: u64,
    version_text: &'a str,
    name: &'a str,
    half: Half,
}

fn parse_file_name(file_name: &str) -> Result<Option<FileName<'_>>, String> {
    let Some(stem) = file_name.strip_suffix(".sql") else {
        return Ok(None); // not SQL: README.md, .gitkeep... are not ours
    };
    let (stem, half) = if let Some(s) = stem.strip_suffix(".up") {
        (s, Half::Up)
    } else if let Some(s) = stem.strip_suffix(".down") {
        (s, Half::Down)
    } else {
        return Err(format!(
            "rename it to `{stem}.up.sql` (and its undo to `{stem}.down.sql`)"
        ));
    };
    let Some((version_text, name)) = stem.split_once('_') else {
        return Err("name it `<version>_<name>.up.sql`, for example `0001_create_users.up.sql`".into());
    };
    if version_text.is_empty() || !version_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the version `{version_text}` is not a whole number: start the name with digits, for example `0001_{name}` or `20260101120000_{name}`"
        ));
    }
    let version = version_text
        .parse::<u64>()
        .map_err(|_| format!("the version `{version_text}` is too large: use at most 19 digits"))?;
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(format!("the name `{name}` may hold only letters, digits, `_` and `-`"));
    }
    Ok(Some(FileName {
        version,
        version_text,
        name,
        half,
    }))
}

impl MigrationSet {
    /// Loads every migration in `dir`. A missing folder is an empty set.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let mut files = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(MigrationSet {
                    migrations: Vec::new(),
                    origin: dir.to_owned(),
                });
            }
            Err(e) => return Err(Error::io("cannot read folder", dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot read folder", dir, e))?;
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            if !name.ends_with(".sql") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            files.push((name, path, bytes));
        }
        Self::build(dir, files)
    }

    /// Builds a set from `(file name, contents)` pairs, as embedded by
    /// [`embed_migrations!`](crate::embed_migrations).
    pub fn from_embedded(files: &[(&str, &str)]) -> Result<Self, Error> {
        let files = files
            .iter()
            .map(|(name, text)| {
                (
                    (*name).to_owned(),
                    PathBuf::from(format!("embedded:{name}")),
                    text.as_bytes().to_vec(),
                )
            })
            .collect();
        Self::build(Path::new("embedded"), files)
    }

    fn build(origin: &Path, mut files: Vec<(String, PathBuf, Vec<u8>)>) -> Result<Self, Error> {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut problems = Vec::new();
        let mut ups: BTreeMap<u64, Migration> = BTreeMap::new();
        let mut downs: Vec<(FileName<'_>, &Path, Script)> = Vec::new();
        for (file_name, path, bytes) in &files {
            let parsed = match parse_file_name(file_name) {
                Ok(Some(p)) => p,
                Ok(None) => continue,
                Err(help) => {
                    problems.push(Problem::in_file(path, "the file name is not a migration name").help(help));
                    continue;
                }
            };
            let script = match Script::from_bytes(path, bytes) {
                Ok(s) => s,
                Err(p) => {
                    problems.extend(p);
                    continue;
                }
            };
            match parsed.half {
                Half::Down => downs.push((parsed, path, script)),
                Half::Up => {
                    if let Some(other) = ups.get(&parsed.version) {
                        problems.push(
                            Problem::in_file(
                                path,
                                format!(
                                    "version {} is used twice: here and in {}",
                                    parsed.version,
                                    other.up.path.display()
                                ),
                            )
                            .help("give one of them the next free version; versions must be unique"),
                        );
                        continue;
                    }
                    ups.insert(
                        parsed.version,
                        Migration {
                            version: parsed.version,
                            name: parsed.name.to_owned(),
                            version_text: parsed.version_text.to_owned(),
                            up: script,
                            down: None,
                        },
                    );
                }
            }
        }
        for (parsed, path, script) in downs {
            match ups.get_mut(&parsed.version) {
                Some(m) if m.name == parsed.name && m.down.is_none() => m.down = Some(script),
                Some(m) if m.name == parsed.name => problems.push(
                    Problem::in_file(path, format!("a second down file for version {}", m.version))
                        .help("keep one down file per migration"),
                ),
                Some(m) => problems.push(
                    Problem::in_file(
                        path,
                        format!(
                            "this down file has no up file `{}_{}.up.sql`; version {} belongs to {}",
                            parsed.version_text,
                            parsed.name,
                            m.version,
                            m.up.path.display()
                        ),
                    )
                    .help(format!("rename it to `{}.down.sql`", m.label())),
                ),
                None => problems.push(Problem::in_file(path, "a down file without an up file").help(format!(
                    "add `{}_{}.up.sql`, or delete this file",
                    parsed.version_text, parsed.name
                ))),
            }
        }
        if !problems.is_empty() {
            return Err(Error::Migrations(Problems(problems)));
        }
        Ok(MigrationSet {
            migrations: ups.into_values().collect(),
            origin: origin.to_owned(),
        })
    }

    /// The migrations, oldest first.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.migrations.iter()
    }

    /// The number of migrations.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// True when there are no migrations.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// The migration with `version`.
    pub fn get(&self, version: u64) -> Option<&Migration> {
        self.migrations
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| &self.migrations[i])
    }

    /// The newest migration.
    pub fn latest(&self) -> Option<&Migration> {
        self.migrations.last()
    }

    /// Where the set was loaded from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// The version and file stem `ferry new NAME` should use next: the
    /// current UTC time when existing versions are 14-digit timestamps (or
    /// `timestamp` is asked for), otherwise the next number, padded like the
    /// newest one (four digits by default).
    pub fn next_version(&self, timestamp: bool, now_utc: &str) -> String {
        match self.latest() {
            Some(last) if last.version_text.len() == 14 || timestamp => {
                let now: u64 = now_utc.parse().unwrap_or(0);
                now.max(last.version + 1).to_string()
            }
            None if timestamp => now_utc.to_owned(),
            Some(last) => format!("{:0width$}", last.version + 1, width = last.version_text.len()),
            None => "0001".to_owned(),
        }
    }
}

impl<'a> IntoIterator for &'a MigrationSet {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;
    fn into_iter(self) -> Self::IntoIter {
        self.migrations.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> Result<MigrationSet, Error> {
        MigrationSet::from_embedded(files)
    }

    fn problems(e: Error) -> Vec<Problem> {
        match e {
            Error::Migrations(Problems(p)) => p,
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn orders_by_number_not_text() {
        let s = set(&[
            ("10_b.up.sql", "x"),
            ("9_a.up.sql", "y"),
            ("9_a.down.sql", "z"),
            ("README.md", ""),
        ])
        .unwrap();
        let v: Vec<u64> = s.iter().map(|m| m.version).collect();
        assert_eq!(v, vec![9, 10]);
        assert!(s.get(9).unwrap().down.is_some());
        assert!(s.get(10).unwrap().down.is_none());
    }

    #[test]
    fn reports_every_problem_with_a_fix() {
        let p = problems(
            set(&[
                ("0001_a.up.sql", ""),
                ("001_b.up.sql", ""),
                ("0002_c.down.sql", ""),
                ("0001_x.down.sql", ""),
                ("abc_d.up.sql", ""),
                ("0003_e.sql", ""),
                ("0004 bad name.up.sql", ""),
            ])
            .unwrap_err(),
        );
        let text: Vec<String> = p.iter().map(ToString::to_string).collect();
        assert_eq!(p.len(), 6, "{text:#?}");
        assert!(text.iter().any(|t| t.contains("used twice")));
        assert!(
            text.iter()
                .any(|t| t.contains("0002_c.down.sql") && t.contains("without an up"))
        );
        assert!(text.iter().any(|t| t.contains("rename it to `0001_a.down.sql`")));
        assert!(text.iter().any(|t| t.contains("not a whole number")));
        assert!(text.iter().any(|t| t.contains("0003_e.up.sql")));
        assert!(text.iter().all(|t| t.contains("help:")));
    }

    #[test]
    fn next_version_follows_the_existing_style() {
        assert_eq!(MigrationSet::default().next_version(false, "20260101000000"), "0001");
        let s = set(&[("0009_a.up.sql", "")]).unwrap();
        assert_eq!(s.next_version(false, "20260101000000"), "0010");
        let s = set(&[("20250101000000_a.up.sql", "")]).unwrap();
        assert_eq!(s.next_version(false, "20260101000000"), "20260101000000");
        let s = set(&[("20990101000000_a.up.sql", "")]).unwrap();
        assert_eq!(s.next_version(false, "20260101000000"), "20990101000001");
    }
}
