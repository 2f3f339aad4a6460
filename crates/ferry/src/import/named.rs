//! Tools whose file names carry the version and the direction: sqlx,
//! golang-migrate, Flyway, refinery.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Converted, Skipped, files, read_text};
use crate::error::Result;

/// `<version>_<desc>.sql` (irreversible) or `<version>_<desc>.up.sql` and
/// `.down.sql`; `-- no-transaction` on the first line.
pub fn sqlx(src: &Path, skipped: &mut Skipped) -> Result<Vec<Converted>> {
    let mut by_version: BTreeMap<u64, Converted> = BTreeMap::new();
    for (name, path) in files(src)? {
        let Some(stem) = name.strip_suffix(".sql") else {
            skipped.push(format!("{name}: not a .sql file"));
            continue;
        };
        let (stem, down) = match (stem.strip_suffix(".up"), stem.strip_suffix(".down")) {
            (Some(s), _) => (s, false),
            (_, Some(s)) => (s, true),
            _ => (stem, false),
        };
        let Some((version, desc)) = stem.split_once('_') else {
            skipped.push(format!("{name}: no `<version>_<description>`"));
            continue;
        };
        let Ok(v) = version.parse::<u64>() else {
            skipped.push(format!("{name}: `{version}` is not a version"));
            continue;
        };
        let text = read_text(&path)?;
        let no_transaction = !down && text.lines().next().is_some_and(|l| l.trim() == "-- no-transaction");
        put_half(&mut by_version, v, desc, &name, text, down).no_transaction |= no_transaction;
    }
    Ok(finish(by_version, skipped))
}

/// Puts one half of migration `v` (named `title`, from file `name`) in
/// `by_version`: the down, or the up with its file's name.
fn put_half<'a>(
    by_version: &'a mut BTreeMap<u64, Converted>,
    v: u64,
    title: &str,
    name: &str,
    text: String,
    down: bool,
) -> &'a mut Converted {
    let entry = by_version.entry(v).or_insert_with(|| Converted {
        tool_version: v.to_string(),
        name: title.to_owned(),
        ..Converted::default()
    });
    if down {
        entry.down = Some(text);
    } else {
        entry.original = name.to_owned();
        entry.up = text;
    }
    entry
}

/// `<version>_<title>.up.sql` and `.down.sql`.
pub fn golang_migrate(src: &Path, skipped: &mut Skipped) -> Result<Vec<Converted>> {
    let mut by_version: BTreeMap<u64, Converted> = BTreeMap::new();
    for (name, path) in files(src)? {
        let (stem, down) = match (name.strip_suffix(".up.sql"), name.strip_suffix(".down.sql")) {
            (Some(s), _) => (s, false),
            (_, Some(s)) => (s, true),
            _ => {
                skipped.push(format!("{name}: not a .up.sql or .down.sql file"));
                continue;
            }
        };
        let (version, title) = stem.split_once('_').unwrap_or((stem, ""));
        let Ok(v) = version.parse::<u64>() else {
            skipped.push(format!("{name}: `{version}` is not a version"));
            continue;
        };
        let text = read_text(&path)?;
        put_half(&mut by_version, v, title, &name, text, down);
    }
    Ok(finish(by_version, skipped))
}

/// Up files without a down are kept; down files without an up are reported.
fn finish(by_version: BTreeMap<u64, Converted>, skipped: &mut Skipped) -> Vec<Converted> {
    let mut out = Vec::new();
    for (_, c) in by_version {
        if c.original.is_empty() {
            skipped.push(format!("version {}: a down file without its up file", c.tool_version));
        } else {
            out.push(c);
        }
    }
    out
}

/// A Flyway version (`1`, `1.1`, `2_0_1`) as dotted text and numeric parts.
fn flyway_version(text: &str) -> Option<(String, Vec<u64>)> {
    let dotted = text.replace('_', ".");
    let parts: Option<Vec<u64>> = dotted.split('.').map(|p| p.parse().ok()).collect();
    parts.map(|p| (dotted, p))
}

/// Flyway: `V<version>__<desc>.sql`, its undo `U<version>__<desc>.sql`,
/// `executeInTransaction=false` in `<file>.conf`; repeatables (`R__`) are not
/// supported yet. Flyway reads sub-folders too.
pub fn flyway(src: &Path, skipped: &mut Skipped) -> Result<Vec<Converted>> {
    let mut all = Vec::new();
    walk(src, src, &mut all)?;
    let mut by_version: BTreeMap<Vec<u64>, Converted> = BTreeMap::new();
    for (rel, path) in &all {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".sql.conf") {
            continue;
        }
        let Some(stem) = name.strip_suffix(".sql") else {
            skipped.push(format!(
                "{rel}: not a .sql file (Java and script migrations need SQL written by hand)"
            ));
            continue;
        };
        let Some((head, desc)) = stem.split_once("__") else {
            skipped.push(format!("{rel}: no `__` between the version and the description"));
            continue;
        };
        let (kind, version) = head.split_at(head.chars().next().map_or(0, char::len_utf8));
        if kind == "R" {
            skipped.push(format!("{rel}: repeatable migrations are not supported yet"));
            continue;
        }
        if !matches!(kind, "V" | "U") {
            skipped.push(format!("{rel}: `{kind}` migrations are not supported (only V and U)"));
            continue;
        }
        let Some((dotted, parts)) = flyway_version(version) else {
            skipped.push(format!("{rel}: `{version}` is not a Flyway version"));
            continue;
        };
        let text = read_text(path)?;
        let conf = std::fs::read_to_string(path.with_file_name(format!("{name}.conf"))).unwrap_or_default();
        let entry = by_version.entry(parts).or_insert_with(|| Converted {
            tool_version: dotted.clone(),
            name: desc.replace('_', " "),
            ..Converted::default()
        });
        if kind == "U" {
            entry.down = Some(text);
            continue;
        }
        if text.contains("${") {
            entry.todo.push(
                "it uses Flyway placeholders (${...}), which ferry does not replace: write their values in".into(),
            );
        }
        entry.no_transaction = conf
            .lines()
            .any(|l| l.replace(' ', "").eq_ignore_ascii_case("executeInTransaction=false"));
        entry.original = rel.clone();
        entry.up = text;
    }
    let mut out = Vec::new();
    for (_, c) in by_version {
        if c.original.is_empty() {
            skipped.push(format!("U{}: an undo file without its V file", c.tool_version));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, std::path::PathBuf)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| crate::Error::io("cannot read", dir, e))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path).display().to_string();
            out.push((rel, path));
        }
    }
    Ok(())
}

/// refinery: `V<n>__<name>.sql` (and `U<n>__` for unversioned ones),
/// irreversible.
pub fn refinery(src: &Path, skipped: &mut Skipped) -> Result<Vec<Converted>> {
    let mut by_version: BTreeMap<u64, Converted> = BTreeMap::new();
    for (name, path) in files(src)? {
        let Some(stem) = name.strip_suffix(".sql") else {
            skipped.push(format!(
                "{name}: not a .sql file{}",
                if name.ends_with(".rs") {
                    " (a Rust migration: write its SQL by hand)"
                } else {
                    ""
                }
            ));
            continue;
        };
        let Some((head, desc)) = stem.split_once("__") else {
            skipped.push(format!("{name}: no `__` between the version and the name"));
            continue;
        };
        let (kind, version) = head.split_at(head.chars().next().map_or(0, char::len_utf8));
        let Ok(v) = version.parse::<u64>() else {
            skipped.push(format!("{name}: `{version}` is not a version"));
            continue;
        };
        if !matches!(kind, "V" | "U") {
            skipped.push(format!("{name}: not a V or U migration"));
            continue;
        }
        let mut c = Converted {
            original: name.clone(),
            tool_version: v.to_string(),
            name: desc.to_owned(),
            up: read_text(&path)?,
            ..Converted::default()
        };
        if kind == "U" {
            c.notes
                .push("unversioned in refinery (U): ferry applies it in version order".into());
        }
        by_version.insert(v, c);
    }
    Ok(by_version.into_values().collect())
}
