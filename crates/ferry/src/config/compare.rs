//! `ferry config diff`: what a user's config files lack, what they hold that
//! is gone, and which deprecated keys they still use, either against an
//! example file the application ships (`.env.example`) or against what the
//! releases declare.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::document::{Document, Format, KeyPath};
use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};
use crate::project::config::{Action, Change};
use crate::version::Version;

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A key the file should have and does not.
    Missing,
    /// A key the example no longer has.
    Extra,
    /// A deprecated key still in use.
    Deprecated,
}

/// One difference.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The user's file, relative to the config folder.
    pub file: String,
    /// The key.
    pub key: String,
    /// Missing, extra or deprecated.
    pub kind: Kind,
    /// Whether it stops an upgrade (a required key that is missing).
    pub required: bool,
    /// Why, in words.
    pub detail: String,
}

fn load(path: &Path, format: Option<Format>) -> Result<Document> {
    let format = format.or_else(|| Format::of(path)).ok_or_else(|| {
        Error::Config(Problems(vec![
            Problem::in_file(path, "cannot tell the file's format from its name")
                .help("name it .env, *.yaml, *.toml or *.json"),
        ]))
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    Document::parse(path, format, &text).map_err(|p| Error::Config(Problems(vec![p])))
}

/// The user's file for an example: `.env.example` → `.env`,
/// `config.example.yaml` → `config.yaml`, `settings.json.dist` → `settings.json`.
pub fn user_file_for(example: &Path) -> Option<PathBuf> {
    let name = example.file_name()?.to_str()?;
    let parts: Vec<&str> = name.split('.').collect();
    let kept: Vec<&str> = parts
        .iter()
        .enumerate()
        .filter(|(i, p)| *i == 0 || !matches!(**p, "example" | "sample" | "dist" | "template"))
        .map(|(_, p)| *p)
        .collect();
    (kept.len() < parts.len()).then(|| example.with_file_name(kept.join(".")))
}

/// Compares `user` with `example`: keys of the example the user's file
/// lacks (missing, required), keys the example no longer has (extra), and
/// deprecated keys still in use.
pub fn against_example(
    dir: &Path,
    user: &Path,
    example: &Path,
    releases: &[(&Version, &[Change])],
) -> Result<Vec<Finding>> {
    let ex = load(example, None)?;
    let doc = load(user, Format::of(user).or(Some(ex.format())))?;
    let shown = user.strip_prefix(dir).unwrap_or(user).display().to_string();
    let have = doc.leaf_keys();
    let want = ex.leaf_keys();
    let mut out = Vec::new();
    for k in want.iter().filter(|k| doc.get(k).is_none()) {
        out.push(Finding {
            file: shown.clone(),
            key: k.to_string(),
            kind: Kind::Missing,
            required: true,
            detail: format!(
                "in {}, not in {shown}",
                example.file_name().unwrap_or_default().to_string_lossy()
            ),
        });
    }
    for k in have.iter().filter(|k| ex.get(k).is_none()) {
        out.push(Finding {
            file: shown.clone(),
            key: k.to_string(),
            kind: Kind::Extra,
            required: false,
            detail: format!("not in {}", example.file_name().unwrap_or_default().to_string_lossy()),
        });
    }
    out.extend(deprecated_in(&shown, &doc, releases, |c| {
        Path::new(&c.file).file_name() == user.file_name() || glob_matches(dir, &c.file, user)
    }));
    Ok(out)
}

fn glob_matches(dir: &Path, pattern: &str, file: &Path) -> bool {
    let rel = file.strip_prefix(dir).unwrap_or(file);
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches_path(rel))
}

fn deprecated_in(
    shown: &str,
    doc: &Document,
    releases: &[(&Version, &[Change])],
    applies: impl Fn(&Change) -> bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (version, changes) in releases {
        for c in changes.iter().filter(|c| applies(c)) {
            let (key, detail) = match &c.action {
                Action::Deprecate { key, note } => (
                    key,
                    match note {
                        Some(n) => format!("deprecated in {version}: {n}"),
                        None => format!("deprecated in {version}"),
                    },
                ),
                Action::Rename { from, to } => (from, format!("renamed to {to} in {version}")),
                Action::Remove { key } => (key, format!("removed in {version}")),
                Action::Split { key, into, .. } => (
                    key,
                    format!(
                        "split into {} in {version}",
                        into.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ),
                _ => continue,
            };
            let Ok(path) = KeyPath::parse(key, doc.format()) else {
                continue;
            };
            if doc.get(&path).is_some() && !out.iter().any(|f: &Finding| f.key == *key) {
                out.push(Finding {
                    file: shown.to_owned(),
                    key: key.clone(),
                    kind: Kind::Deprecated,
                    required: false,
                    detail: format!("{detail}; `ferry config migrate` updates it"),
                });
            }
        }
    }
    out
}

/// Compares every file the releases' changes name with what those releases
/// declare: required keys that are missing, keys they add that the file
/// lacks, and deprecated keys still in use.
pub fn against_releases(dir: &Path, releases: &[(&Version, &[Change])]) -> Result<Vec<Finding>> {
    // Each file once, with every pattern (path or glob) that names it.
    let mut files: Vec<(PathBuf, Option<Format>, Vec<&str>)> = Vec::new();
    for (_, changes) in releases {
        for c in changes.iter() {
            for file in super::migrate::files_of(dir, &c.file)? {
                match files.iter_mut().find(|(f, _, _)| *f == file) {
                    Some((_, _, patterns)) if !patterns.contains(&c.file.as_str()) => patterns.push(&c.file),
                    Some(_) => {}
                    None => files.push((file, c.format, vec![&c.file])),
                }
            }
        }
    }
    let mut out = Vec::new();
    for (file, format, patterns) in files {
        let doc = load(&file, format)?;
        let shown = file.strip_prefix(dir).unwrap_or(&file).display().to_string();
        let applies = |c: &Change| patterns.contains(&c.file.as_str());
        for (version, changes) in releases {
            for c in changes.iter().filter(|c| applies(c)) {
                let (key, required, detail) = match &c.action {
                    Action::Require { key, message } => (
                        key,
                        true,
                        match message {
                            Some(m) => format!("required since {version}: {m}"),
                            None => format!("required since {version}"),
                        },
                    ),
                    Action::Add { key, .. } => (
                        key,
                        false,
                        format!("added in {version}; `ferry config migrate` adds its default"),
                    ),
                    _ => continue,
                };
                let Ok(path) = KeyPath::parse(key, doc.format()) else {
                    continue;
                };
                if doc.get(&path).is_none() && !out.iter().any(|f: &Finding| f.file == shown && f.key == *key) {
                    out.push(Finding {
                        file: shown.clone(),
                        key: key.clone(),
                        kind: Kind::Missing,
                        required,
                        detail,
                    });
                }
            }
        }
        out.extend(deprecated_in(&shown, &doc, releases, applies));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_files_for_examples() {
        let f = |s: &str| user_file_for(Path::new(s)).map(|p| p.display().to_string());
        assert_eq!(f(".env.example").as_deref(), Some(".env"));
        assert_eq!(f("conf/config.example.yaml").as_deref(), Some("conf/config.yaml"));
        assert_eq!(f("settings.json.dist").as_deref(), Some("settings.json"));
        assert_eq!(f("config.yaml"), None);
    }
}
