//! The manifest: every release file, validated against the migrations and
//! the policy. Reading the folder is the only I/O; checks are pure.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::migration::MigrationSet;
use crate::problem::{Problem, Problems};
use crate::project::policy::Policy;
use crate::project::release::Release;
use crate::version::Version;

/// Releases (oldest first) and the policy.
#[derive(Debug, Clone)]
pub struct Manifest {
    releases: Vec<Release>,
    /// The upgrade policy from ferry.toml.
    pub policy: Policy,
    /// ferry.toml's `[[checks]]`, which every hop runs.
    pub checks: Vec<crate::project::check::Check>,
    dir: PathBuf,
}

/// What the database's schema says about the installed release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inference {
    /// Nothing applied yet: a fresh database.
    Fresh,
    /// Exactly one release has this schema head.
    Release(Version),
    /// Several releases share this schema head.
    Ambiguous(Vec<Version>),
    /// The schema matches no release's head (partly migrated, or hand-made).
    NoMatch,
    /// The schema is newer than every release's head.
    Ahead {
        /// The database's newest migration.
        schema: u64,
        /// The newest schema head of any release.
        newest: u64,
    },
}

impl Manifest {
    /// Reads every `*.toml` in `dir` (a missing folder is no releases) and
    /// checks them against `migrations`.
    pub fn load(dir: &Path, policy: Policy, migrations: &MigrationSet) -> Result<Self, Error> {
        let mut releases = Vec::new();
        let mut problems = Vec::new();
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(|e| Error::io("cannot read folder", dir, e))?;
                    let path = entry.path();
                    if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                        continue;
                    }
                    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
                    match Release::parse(&path, &text) {
                        Ok(r) => releases.push(r),
                        Err(p) => problems.extend(p),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot read folder", dir, e)),
        }
        if !problems.is_empty() {
            return Err(Error::Config(Problems(problems)));
        }
        Self::build(dir, releases, policy, migrations).map_err(|p| Error::Config(Problems(p)))
    }

    /// Checks parsed releases: file names, duplicates, schema heads, and that
    /// every release can be reached from the oldest one.
    pub fn build(
        dir: &Path,
        mut releases: Vec<Release>,
        policy: Policy,
        migrations: &MigrationSet,
    ) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        releases.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.file.cmp(&b.file)));
        for r in &releases {
            let stem = r.file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            if Version::parse(stem).ok().as_ref() != Some(&r.version) {
                problems.push(
                    Problem::in_file(
                        &r.file,
                        format!("the file is named {stem} but says version = \"{}\"", r.version),
                    )
                    .at_line(r.lines.version)
                    .help(format!("name the file {}.toml, or fix the version", r.version)),
                );
            }
            if let Some(head) = r.schema
                && head != 0
                && migrations.get(head).is_none()
            {
                let newest = migrations.latest().map_or("none".to_owned(), |m| m.label());
                problems.push(
                    Problem::in_file(&r.file, format!("schema = {head}, but no migration has version {head}"))
                        .at_line(r.lines.schema.unwrap_or(r.lines.version))
                        .help(format!(
                            "set schema to the newest migration this release needs (the newest migration is {newest})"
                        )),
                );
            }
        }
        for pair in releases.windows(2) {
            if pair[0].version == pair[1].version {
                problems.push(
                    Problem::in_file(&pair[1].file, format!("version {} is also released by {}", pair[1].version, pair[0].file.display()))
                        .at_line(pair[1].lines.version)
                        .help("versions that differ only in build metadata (+...) are the same version; keep one file per version"),
                );
            }
        }
        // Schema heads never go back as versions go up.
        let mut last: Option<&Release> = None;
        for r in &releases {
            if let (Some(prev), Some(head)) = (last, r.schema)
                && prev.schema.is_some_and(|p| head < p)
            {
                problems.push(
                    Problem::in_file(
                        &r.file,
                        format!(
                            "schema = {head} is older than {}'s schema = {}",
                            prev.version,
                            prev.schema.unwrap_or(0)
                        ),
                    )
                    .at_line(r.lines.schema.unwrap_or(r.lines.version))
                    .help("a newer release needs at least the migrations of an older one"),
                );
            }
            if r.schema.is_some() {
                last = Some(r);
            }
        }
        // A release that states no upgrade_from keeps the previous one's.
        for i in 1..releases.len() {
            if releases[i].upgrade_from.is_none() {
                releases[i].upgrade_from = releases[i - 1].upgrade_from.clone();
                releases[i].upgrade_from_inherited = releases[i].upgrade_from.is_some();
            }
        }
        if problems.is_empty() {
            problems.extend(unreachable(&releases));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Manifest {
            releases,
            policy,
            checks: Vec::new(),
            dir: dir.to_owned(),
        })
    }

    /// The releases, oldest first.
    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// The release with `version`.
    pub fn get(&self, version: &Version) -> Option<&Release> {
        self.releases.iter().find(|r| &r.version == version)
    }

    /// The newest release.
    pub fn newest(&self) -> Option<&Release> {
        self.releases.last()
    }

    /// The newest final (not pre-release) release, the default plan target.
    pub fn newest_final(&self) -> Option<&Release> {
        self.releases
            .iter()
            .rev()
            .find(|r| !r.version.is_prerelease())
            .or(self.newest())
    }

    /// The folder the releases came from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The schema head in force at `version`: its own, or the newest older
    /// release's when it states none.
    pub fn schema_at(&self, version: &Version) -> Option<u64> {
        self.releases
            .iter()
            .filter(|r| &r.version <= version)
            .filter_map(|r| r.schema)
            .next_back()
    }

    /// Which release a database at migration `schema` holds.
    pub fn infer(&self, schema: Option<u64>) -> Inference {
        let Some(schema) = schema else {
            return Inference::Fresh;
        };
        let newest = self.releases.iter().filter_map(|r| r.schema).max().unwrap_or(0);
        if schema > newest {
            return Inference::Ahead { schema, newest };
        }
        let matching: Vec<Version> = self
            .releases
            .iter()
            .filter(|r| self.schema_at(&r.version) == Some(schema))
            .map(|r| r.version.clone())
            .collect();
        match matching.len() {
            0 => Inference::NoMatch,
            1 => Inference::Release(matching[0].clone()),
            _ => Inference::Ambiguous(matching),
        }
    }
}

/// May `to` be installed directly over `from`? Its `upgrade_from` must
/// match, and no required stop may lie strictly between them.
pub(crate) fn direct(releases: &[Release], from: &Version, to: &Release) -> bool {
    to.upgrade_from.as_ref().is_none_or(|req| req.matches(from))
        && !releases
            .iter()
            .any(|r| r.required_stop.is_some() && &r.version > from && r.version < to.version)
}

/// Releases no path from the oldest one can reach.
fn unreachable(releases: &[Release]) -> Vec<Problem> {
    let mut reached = vec![false; releases.len()];
    if let Some(first) = reached.first_mut() {
        *first = true;
    }
    for j in 1..releases.len() {
        reached[j] = (0..j).any(|i| reached[i] && direct(releases, &releases[i].version, &releases[j]));
    }
    releases
        .iter()
        .zip(reached)
        .filter(|(_, ok)| !ok)
        .map(|(r, _)| {
            let mut req = r.upgrade_from.as_ref().map_or("any version".to_owned(), |q| q.to_string());
            if r.upgrade_from_inherited {
                req.push_str(" (inherited from the previous release; state upgrade_from to change it)");
            }
            Problem::in_file(&r.file, format!("no upgrade path reaches {}: it upgrades only from {req}, and no earlier release that can be reached matches", r.version))
                .at_line(r.lines.upgrade_from.unwrap_or(r.lines.version))
                .help("widen upgrade_from, or check the required stops before it")
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A release from a few fields, for tests.
    pub(crate) fn rel(version: &str, schema: Option<u64>, from: Option<&str>, stop: Option<&str>) -> Release {
        let mut text = format!("version = \"{version}\"\n");
        if let Some(s) = schema {
            text.push_str(&format!("schema = {s}\n"));
        }
        if let Some(f) = from {
            text.push_str(&format!("upgrade_from = \"{f}\"\n"));
        }
        if let Some(s) = stop {
            text.push_str(&format!("required_stop = \"{s}\"\n"));
        }
        Release::parse(Path::new(&format!("releases/{version}.toml")), &text).unwrap()
    }

    pub(crate) fn migrations(n: u64) -> MigrationSet {
        let files: Vec<(String, String)> = (1..=n)
            .map(|i| (format!("{i:04}_m{i}.up.sql"), format!("SELECT {i};")))
            .collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        MigrationSet::from_embedded(&refs).unwrap()
    }

    fn build(releases: Vec<Release>) -> Result<Manifest, Vec<Problem>> {
        Manifest::build(Path::new("releases"), releases, Policy::default(), &migrations(5))
    }

    #[test]
    fn duplicates_missing_heads_and_names() {
        let mut odd = rel("2.0.0", Some(3), None, None);
        odd.file = "releases/2.0.1.toml".into();
        let p = build(vec![rel("1.0.0", Some(9), None, None), odd]).unwrap_err();
        assert!(p.iter().any(|p| p.message.contains("no migration has version 9")));
        assert!(p.iter().any(|p| p.message.contains("named 2.0.1")));
        let mut dup = rel("1.0.0+build.2", Some(1), None, None);
        dup.file = "releases/1.0.0+build.2.toml".into();
        let p = build(vec![rel("1.0.0", Some(1), None, None), dup]).unwrap_err();
        assert!(p[0].message.contains("also released"), "{p:?}");
    }

    #[test]
    fn unreachable_release_is_an_error() {
        let p = build(vec![
            rel("1.0.0", Some(1), None, None),
            rel("1.5.0", Some(2), None, Some("converts data")),
            rel("2.0.0", Some(3), Some(">=1.0.0, <1.5.0"), None),
        ])
        .unwrap_err();
        assert!(p[0].message.contains("no upgrade path reaches 2.0.0"), "{p:?}");
        assert_eq!(p[0].line, Some(3));
    }

    #[test]
    fn schema_heads_do_not_go_back() {
        let p = build(vec![
            rel("1.0.0", Some(3), None, None),
            rel("1.1.0", Some(2), None, None),
        ])
        .unwrap_err();
        assert!(p[0].message.contains("older than 1.0.0"));
    }

    #[test]
    fn inference() {
        let m = build(vec![
            rel("1.0.0", Some(2), None, None),
            rel("1.5.0", None, None, None),
            rel("2.0.0", Some(4), None, None),
            rel("2.1.0", Some(5), None, None),
        ])
        .unwrap();
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(m.infer(None), Inference::Fresh);
        assert_eq!(m.infer(Some(5)), Inference::Release(v("2.1.0")));
        assert_eq!(m.infer(Some(2)), Inference::Ambiguous(vec![v("1.0.0"), v("1.5.0")]));
        assert_eq!(m.infer(Some(3)), Inference::NoMatch);
        assert_eq!(m.infer(Some(7)), Inference::Ahead { schema: 7, newest: 5 });
        assert_eq!(m.schema_at(&v("1.5.0")), Some(2));
    }
}
