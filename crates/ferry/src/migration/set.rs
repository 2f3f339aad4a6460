//! Loading and validating a set of migrations, from a folder or from files
//! embedded in a binary. Pure apart from reading the folder.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::cores::map_on_cores;
use crate::error::Error;
use crate::migration::Directives;
use crate::migration::cache::{MARGIN, ScriptCache, Stamp};
use crate::migration::script::Script;
use crate::problem::{Problem, Problems};

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
    down: Option<Down>,
}

/// A down script, read from disk the first time a revert or a validation
/// needs it: most runs only go up, and reading every down file would double
/// the start-up cost of a large project.
#[derive(Debug, Clone)]
struct Down {
    path: PathBuf,
    bytes: Option<Vec<u8>>,
    script: OnceLock<Result<Script, Vec<Problem>>>,
}

impl Migration {
    /// `0003_add_artifacts`.
    pub fn label(&self) -> String {
        format!("{}_{}", self.version_text, self.name)
    }

    /// Whether a down file exists.
    pub fn has_down(&self) -> bool {
        self.down.is_some()
    }

    /// The down file's path, if there is one.
    pub fn down_path(&self) -> Option<&Path> {
        self.down.as_ref().map(|d| d.path.as_path())
    }

    /// The down script, read and checked on first use.
    pub fn down(&self) -> Result<Option<&Script>, Error> {
        let Some(down) = &self.down else { return Ok(None) };
        let loaded = down.script.get_or_init(|| {
            let bytes = match &down.bytes {
                Some(b) => std::borrow::Cow::Borrowed(b.as_slice()),
                None => match std::fs::read(&down.path) {
                    Ok(b) => std::borrow::Cow::Owned(b),
                    Err(e) => return Err(vec![Problem::in_file(&down.path, format!("cannot read: {e}"))]),
                },
            };
            Script::from_bytes(&down.path, &bytes)
        });
        match loaded {
            Ok(script) => Ok(Some(script)),
            Err(problems) => Err(Error::Migrations(Problems(problems.clone()))),
        }
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

/// The same, owning the file name it was taken from (one allocation per
/// file, not three: at ten thousand migrations they showed).
struct OwnedName {
    version: u64,
    file: String,
    version_text: std::ops::Range<usize>,
    name: std::ops::Range<usize>,
}

impl OwnedName {
    /// `file` taken apart, and which half it is; `None` for a file that is
    /// not a migration's, and the help for one that is misnamed.
    fn parse(file: String) -> Result<Option<(Self, Half)>, (String, String)> {
        let (version, version_text, name, half) = match parse_file_name(&file) {
            Ok(Some(p)) => {
                let range = |part: &str| {
                    let start = part.as_ptr() as usize - file.as_ptr() as usize;
                    start..start + part.len()
                };
                (p.version, range(p.version_text), range(p.name), p.half)
            }
            Ok(None) => return Ok(None),
            Err(help) => return Err((file, help)),
        };
        Ok(Some((
            OwnedName {
                version,
                file,
                version_text,
                name,
            },
            half,
        )))
    }

    fn version_text(&self) -> &str {
        &self.file[self.version_text.clone()]
    }

    fn name(&self) -> &str {
        &self.file[self.name.clone()]
    }
}

/// A value another thread is making.
type Pending<'s, T> = std::thread::ScopedJoinHandle<'s, T>;

/// One file of a set being built: its name, path, contents when already in
/// memory, and its stamp when the script cache is in use.
type File = (String, PathBuf, Option<Vec<u8>>, Option<Stamp>);

/// The same, its name taken apart.
type Named = (OwnedName, PathBuf, Option<Vec<u8>>, Option<Stamp>);

/// Reads and parses scripts, spread over the machine's cores: with many
/// migrations, start-up time is mostly these reads. Scripts the cache
/// answers for are not read.
///
/// A script the cache answers for takes its path from `files`, which is
/// left empty there.
fn read_scripts(files: &mut [Named], mut cache: Option<&mut ScriptCache>) -> Vec<Result<Script, Vec<Problem>>> {
    let known: Vec<Option<Script>> = files
        .iter_mut()
        .map(|(_, path, _, stamp)| {
            let checksum = cache.as_deref_mut()?.get(file_name(path)?, (*stamp)?)?;
            Some(Script::known(std::mem::take(path), checksum, Directives::default()))
        })
        .collect();
    let read = |((_, path, bytes, _), known): (&Named, Option<Script>)| {
        if let Some(script) = known {
            return Ok(script);
        }
        match bytes {
            Some(b) => Script::from_bytes(path, b),
            None => match std::fs::read(path) {
                Ok(b) => Script::from_bytes(path, &b),
                Err(e) => Err(vec![Problem::in_file(path, format!("cannot read: {e}"))]),
            },
        }
    };
    let read_now: Vec<bool> = known.iter().map(Option::is_none).collect();
    let misses = read_now.iter().filter(|r| **r).count();
    let pairs: Vec<_> = files.iter().zip(known).collect();
    let scripts = map_on_cores(pairs, if misses < 64 { usize::MAX } else { 0 }, read);
    if let Some(cache) = cache {
        for (((_, path, _, stamp), script), _) in files.iter().zip(&scripts).zip(read_now).filter(|(_, r)| *r) {
            if let (Some(name), Some(stamp), Ok(script)) = (file_name(path), stamp, script)
                && script.directives == Directives::default()
            {
                cache.put(name, *stamp, script.checksum());
            }
        }
    }
    scripts
}

/// The paths and stamps of listed files, spread over the machine's cores
/// (one `statx` each, a few microseconds apiece).
fn stamps(entries: Vec<(usize, std::fs::DirEntry)>) -> Vec<(usize, PathBuf, Option<Stamp>)> {
    let stamp = |(i, entry): &(usize, std::fs::DirEntry)| {
        let path = entry.path();
        let meta = match entry.file_type() {
            Ok(t) if t.is_symlink() => std::fs::metadata(&path),
            _ => entry.metadata(),
        };
        (*i, meta.ok().and_then(|m| Stamp::of(&m)), path)
    };
    let stamped = map_on_cores(entries, 256, |e| stamp(&e));
    stamped.into_iter().map(|(i, s, p)| (i, p, s)).collect()
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name()?.to_str()
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
        // Only names ferry accepts are suggested.
        let has_version = stem
            .split_once('_')
            .is_some_and(|(v, n)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty());
        let example = |s: &str| if has_version { s.to_owned() } else { format!("0001_{s}") };
        return Err(match (stem.strip_suffix("_down"), stem.strip_suffix("_up")) {
            (Some(base), _) => format!(
                "rename it to `{}.down.sql`: it is the down half of its pair",
                example(base)
            ),
            (_, Some(base)) => format!("rename it to `{}.up.sql`", example(base)),
            _ if has_version => format!("rename it to `{stem}.up.sql` (and its undo to `{stem}.down.sql`)"),
            _ => format!(
                "start its name with a version: for example `{}.up.sql` (and its undo `{}.down.sql`)",
                example(stem),
                example(stem)
            ),
        });
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
    /// Loads every migration in `dir`. A folder that does not exist is an
    /// error naming it (a misspelt folder must not look like "no
    /// migrations", or like every applied migration having lost its file).
    /// Up scripts are read at once (in parallel); down scripts on first use.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        Self::load_with(dir, None)
    }

    /// [`MigrationSet::load`], answering for unchanged up scripts from the
    /// script cache in `cache` (and updating it) instead of reading them.
    pub fn load_cached(dir: &Path, cache: &Path) -> Result<Self, Error> {
        Self::load_cached_with(dir, cache, MARGIN)
    }

    /// [`MigrationSet::load_cached`], trusting files to the cache `margin`
    /// after their last change (tests use none).
    pub(crate) fn load_cached_with(dir: &Path, cache: &Path, margin: Duration) -> Result<Self, Error> {
        // The cache is read while the folder is listed.
        std::thread::scope(|s| {
            let cache = s.spawn(move || ScriptCache::open_with(cache, margin));
            Self::load_with(dir, Some(cache))
        })
    }

    fn load_with(dir: &Path, cache: Option<Pending<'_, ScriptCache>>) -> Result<Self, Error> {
        match Self::list(dir, cache)? {
            Some(set) => Ok(set),
            None => Err(Error::Config(Problems(vec![
                Problem::general(format!("the migrations folder {} does not exist", dir.display())).help(
                    "create it (`ferry new NAME` writes the first migration there), or fix `dir` under [migrations] in ferry.toml",
                ),
            ]))),
        }
    }

    /// [`MigrationSet::load`], with `None` for a folder that does not exist.
    pub fn load_or_empty(dir: &Path) -> Result<Option<Self>, Error> {
        Self::list(dir, None)
    }

    fn list(dir: &Path, cache: Option<Pending<'_, ScriptCache>>) -> Result<Option<Self>, Error> {
        let mut files: Vec<File> = Vec::new();
        let mut to_stamp = Vec::new();
        let mut subfolders = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                // A folder that cannot be read (a loop of symbolic links, no
                // permission) is a problem with the project's files.
                return Err(Error::Config(Problems(vec![
                    Problem::general(format!(
                        "cannot read the migrations folder {}: {}",
                        dir.display(),
                        crate::text::io_reason(&e)
                    ))
                    .help("point `dir` under [migrations] in ferry.toml at a readable folder"),
                ])));
            }
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot read folder", dir, e))?;
            // The entry's type comes with the listing: no stat per file.
            let (is_file, is_dir) = match entry.file_type() {
                Ok(t) if t.is_symlink() => (entry.path().is_file(), entry.path().is_dir()),
                Ok(t) => (t.is_file(), t.is_dir()),
                Err(_) => (false, false),
            };
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_file && name.ends_with(".sql") {
                // Only up scripts are read at once, so only theirs count.
                if cache.is_some() && name.ends_with(".up.sql") {
                    to_stamp.push((files.len(), entry));
                    files.push((name, PathBuf::new(), None, None));
                } else {
                    files.push((name, entry.path(), None, None));
                }
            } else if is_dir && entry.path().join("up.sql").is_file() {
                subfolders.push(name);
            }
        }
        if files.is_empty() && !subfolders.is_empty() {
            subfolders.sort();
            return Err(Error::Config(Problems(vec![
                Problem::general(format!(
                    "{} holds one folder per migration ({}/up.sql...), as diesel lays them out; ferry reads files named <version>_<name>.up.sql",
                    dir.display(),
                    subfolders[0]
                ))
                .help("rename each `V_NAME/up.sql` to `V_NAME.up.sql` (and its down.sql to `V_NAME.down.sql`), with V a whole number"),
            ])));
        }
        let mut cache = cache.map(|c| c.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        for (i, path, stamp) in stamps(to_stamp) {
            files[i].1 = path;
            files[i].3 = stamp;
        }
        let set = Self::build(dir, files, cache.as_mut()).map(Some);
        if let (Some(cache), Ok(_)) = (cache, &set) {
            cache.save();
        }
        set
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
                    Some(text.as_bytes().to_vec()),
                    None,
                )
            })
            .collect();
        Self::build(Path::new("embedded"), files, None)
    }

    /// `files`: name, path, and contents when already in memory.
    ///
    /// At ten thousand migrations the work here showed: the files are taken
    /// apart in one pass and ordered by version (a number) rather than by
    /// name (a string), through their positions, and the set is built in
    /// order instead of through a map.
    fn build(origin: &Path, files: Vec<File>, cache: Option<&mut ScriptCache>) -> Result<Self, Error> {
        // Problems in file-name order within each kind, as a reader expects.
        let mut name_problems: Vec<(String, Problem)> = Vec::new();
        let mut ups: Vec<Named> = Vec::with_capacity(files.len() / 2 + 1);
        let mut downs: Vec<Named> = Vec::with_capacity(files.len() / 2 + 1);
        for (file_name, path, bytes, stamp) in files {
            match OwnedName::parse(file_name) {
                Ok(Some((named, Half::Up))) => ups.push((named, path, bytes, stamp)),
                Ok(Some((named, Half::Down))) => downs.push((named, path, bytes, stamp)),
                Ok(None) => {}
                Err((file_name, help)) => {
                    let problem = Problem::in_file(&path, "the file name is not a migration name").help(help);
                    name_problems.push((file_name, problem));
                }
            }
        }
        // By version, then file name: among files of one version, the first
        // by name is the one kept.
        let by_version = |named: &mut Vec<Named>| {
            let mut order: Vec<usize> = (0..named.len()).collect();
            order.sort_unstable_by(|&a, &b| {
                let (a, b) = (&named[a].0, &named[b].0);
                a.version.cmp(&b.version).then_with(|| a.file.cmp(&b.file))
            });
            let mut slots: Vec<Option<Named>> = named.drain(..).map(Some).collect();
            named.extend(order.into_iter().filter_map(|i| slots[i].take()));
        };
        by_version(&mut ups);
        name_problems.sort_by(|a, b| a.0.cmp(&b.0));
        let mut problems: Vec<Problem> = name_problems.into_iter().map(|(_, p)| p).collect();
        let scripts = read_scripts(&mut ups, cache);
        let mut migrations: Vec<Migration> = Vec::with_capacity(ups.len());
        for ((parsed, ..), script) in ups.into_iter().zip(scripts) {
            let script = match script {
                Ok(s) => s,
                Err(p) => {
                    problems.extend(p);
                    continue;
                }
            };
            if let Some(other) = migrations.last().filter(|m| m.version == parsed.version) {
                problems.push(
                    Problem::in_file(
                        &script.path,
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
            migrations.push(Migration {
                version: parsed.version,
                name: parsed.name().to_owned(),
                version_text: parsed.version_text().to_owned(),
                up: script,
                down: None,
            });
        }
        let mut down_problems: Vec<(PathBuf, Problem)> = Vec::new();
        for (parsed, path, bytes, _) in downs {
            let found = migrations
                .binary_search_by_key(&parsed.version, |m| m.version)
                .ok()
                .map(|i| &mut migrations[i]);
            let problem = match found {
                Some(m) if m.name == parsed.name() && m.down.is_none() => {
                    m.down = Some(Down {
                        path,
                        bytes,
                        script: OnceLock::new(),
                    });
                    continue;
                }
                Some(m) if m.name == parsed.name() => {
                    Problem::in_file(&path, format!("a second down file for version {}", m.version))
                        .help("keep one down file per migration")
                }
                Some(m) => Problem::in_file(
                    &path,
                    format!(
                        "this down file has no up file `{}_{}.up.sql`; version {} belongs to {}",
                        parsed.version_text(),
                        parsed.name(),
                        m.version,
                        m.up.path.display()
                    ),
                )
                .help(format!("rename it to `{}.down.sql`", m.label())),
                None => Problem::in_file(&path, "a down file without an up file").help(format!(
                    "add `{}_{}.up.sql`, or delete this file",
                    parsed.version_text(),
                    parsed.name()
                )),
            };
            down_problems.push((path, problem));
        }
        down_problems.sort_by(|a, b| a.0.cmp(&b.0));
        problems.extend(down_problems.into_iter().map(|(_, p)| p));
        if !problems.is_empty() {
            return Err(Error::Migrations(Problems(problems)));
        }
        Ok(MigrationSet {
            migrations,
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

    /// The migrations after `after` up to and including `upto`, in order.
    pub fn between(&self, after: u64, upto: u64) -> &[Migration] {
        let start = self.migrations.partition_point(|m| m.version <= after);
        let end = self.migrations.partition_point(|m| m.version <= upto).max(start);
        &self.migrations[start..end]
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
    use crate::migration::Checksum;

    fn set(files: &[(&str, &str)]) -> Result<MigrationSet, Error> {
        MigrationSet::from_embedded(files)
    }

    /// A folder of migrations and where its script cache goes.
    fn folder(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("m")).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join("m").join(name), text).unwrap();
        }
        let cache = dir.path().join("cache").join("scripts");
        (dir, cache)
    }

    fn cached(dir: &tempfile::TempDir, cache: &Path) -> MigrationSet {
        MigrationSet::load_cached_with(&dir.path().join("m"), cache, Duration::ZERO).unwrap()
    }

    fn summary(set: &MigrationSet) -> Vec<(u64, String, Directives, String)> {
        set.iter()
            .map(|m| {
                let sql = m.up.sql().unwrap().to_owned();
                (m.version, m.up.checksum().to_string(), m.up.directives.clone(), sql)
            })
            .collect()
    }

    #[test]
    fn the_script_cache_answers_as_the_files_do_and_sees_edits() {
        let files = [
            ("0001_a.up.sql", "CREATE TABLE a (x int);\n"),
            ("0001_a.down.sql", "DROP TABLE a;\n"),
            (
                "0002_b.up.sql",
                "-- ferry:no-transaction\nCREATE INDEX CONCURRENTLY b ON a (x);\n",
            ),
            ("0003_c.up.sql", "CREATE TABLE c (x int);\n"),
        ];
        let (dir, cache) = folder(&files);
        let fresh = summary(&MigrationSet::load(&dir.path().join("m")).unwrap());
        let first = cached(&dir, &cache);
        assert_eq!(summary(&first), fresh);
        // Scripts with a directive are not cached; the others are.
        let text = std::fs::read_to_string(&cache).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.contains(" 0001_a.up.sql\n") && text.contains(" 0003_c.up.sql\n"),
            "{text}"
        );
        // Known from the cache: the text is not read until asked for.
        let second = cached(&dir, &cache);
        assert!(second.get(1).unwrap().up.sql_in_memory().is_none());
        assert!(second.get(2).unwrap().up.sql_in_memory().is_some());
        assert_eq!(summary(&second), fresh);

        // Edited in place, same size: the change time moves, the file is read.
        std::thread::sleep(Duration::from_millis(30));
        std::fs::write(dir.path().join("m/0003_c.up.sql"), "CREATE TABLE d (x int);\n").unwrap();
        let third = cached(&dir, &cache);
        assert_eq!(
            third.get(3).unwrap().up.checksum(),
            &Checksum::of("CREATE TABLE d (x int);\n")
        );
        // A removed file leaves the cache.
        std::fs::remove_file(dir.path().join("m/0003_c.up.sql")).unwrap();
        cached(&dir, &cache);
        assert!(!std::fs::read_to_string(&cache).unwrap().contains("0003_c"));
    }

    #[test]
    fn a_cached_checksum_that_is_no_longer_true_is_refused_when_the_text_is_read() {
        let (dir, cache) = folder(&[("0001_a.up.sql", "CREATE TABLE a (x int);\n")]);
        cached(&dir, &cache);
        // What a second write in the same tick, after the cache was written,
        // would leave: the stamp as cached, other text.
        let text = std::fs::read_to_string(&cache).unwrap();
        let lie = Checksum::of("CREATE TABLE b (x int);\n");
        std::fs::write(
            &cache,
            text.replace(Checksum::of("CREATE TABLE a (x int);\n").as_str(), lie.as_str()),
        )
        .unwrap();
        let set = cached(&dir, &cache);
        let up = &set.get(1).unwrap().up;
        assert_eq!(up.checksum(), &lie);
        let err = up.sql().unwrap_err().to_string();
        assert!(
            err.contains("0001_a.up.sql") && err.contains("changed while ferry was running"),
            "{err}"
        );
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
        assert!(s.get(9).unwrap().down().unwrap().is_some());
        assert!(!s.get(10).unwrap().has_down());
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
    fn of_one_version_the_first_by_file_name_is_kept_whatever_the_listing_order() {
        let files = [
            ("1_a.up.sql", ""),
            ("0001_b.up.sql", ""),
            ("zz.up.sql", ""),
            ("0002_c.down.sql", ""),
            ("aa.up.sql", ""),
            ("0003_d.down.sql", ""),
        ];
        let mut reversed = files;
        reversed.reverse();
        for listing in [&files[..], &reversed[..]] {
            let text: Vec<String> = problems(set(listing).unwrap_err())
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(text.len(), 5, "{text:#?}");
            // Misnamed files first, by name; then the second of version 1;
            // then down files without an up, by name.
            assert!(
                text[0].contains("aa.up.sql") && text[1].contains("zz.up.sql"),
                "{text:#?}"
            );
            assert!(
                text[2].contains("1_a.up.sql") && text[2].contains("used twice") && text[2].contains("0001_b.up.sql"),
                "{text:#?}"
            );
            assert!(
                text[3].contains("0002_c.down.sql") && text[4].contains("0003_d.down.sql"),
                "{text:#?}"
            );
        }
    }

    #[test]
    fn down_scripts_are_read_when_first_needed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("0001_a.up.sql"), "CREATE TABLE a (x int);").unwrap();
        std::fs::write(
            dir.path().join("0001_a.down.sql"),
            b"DROP TABLE a;\n-- ferry:no-transaction\n",
        )
        .unwrap();
        // A broken down file does not stop loading (or migrating up)...
        let set = MigrationSet::load(dir.path()).unwrap();
        let m = set.get(1).unwrap();
        assert!(m.has_down());
        // ...but is reported, with its file and line, when it is needed.
        let err = problems(m.down().unwrap_err());
        assert_eq!(err[0].line, Some(2));
        assert!(err[0].file.as_ref().unwrap().ends_with("0001_a.down.sql"));
        let lint = crate::migration::lint(&set, crate::EngineKind::Sqlite, true);
        assert_eq!(lint.len(), 1, "{lint:?}");
    }

    #[test]
    fn many_files_load_in_parallel_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for i in 1..=300 {
            std::fs::write(dir.path().join(format!("{i:04}_m{i}.up.sql")), format!("SELECT {i};")).unwrap();
        }
        let set = MigrationSet::load(dir.path()).unwrap();
        assert_eq!(set.len(), 300);
        assert!(
            set.iter()
                .enumerate()
                .all(|(i, m)| m.version == i as u64 + 1 && m.up.sql().unwrap() == format!("SELECT {};", i + 1))
        );
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
