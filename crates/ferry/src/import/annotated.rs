//! Tools that keep up and down in one file, marked by comments: goose
//! (`-- +goose Up`) and dbmate (`-- migrate:up`).

use std::collections::BTreeMap;
use std::path::Path;

use super::{Converted, Skipped, files, read_text};
use crate::error::Result;

/// `<version>_<name>.<ext>` as (version, name), when the version is a number.
fn versioned(stem: &str) -> Option<(u64, &str)> {
    let (v, name) = stem.split_once('_')?;
    Some((v.parse().ok()?, name))
}

/// goose: `-- +goose Up`, `-- +goose Down`, `StatementBegin`/`End` (dropped:
/// ferry's lexer keeps routine bodies whole), `NO TRANSACTION`; Go
/// migrations need SQL written by hand.
pub fn goose(src: &Path, skipped: &mut Skipped) -> Result<Vec<Converted>> {
    let mut by_version: BTreeMap<u64, Converted> = BTreeMap::new();
    for (name, path) in files(src)? {
        let (stem, go) = match (name.strip_suffix(".sql"), name.strip_suffix(".go")) {
            (Some(s), _) => (s, false),
            (_, Some(s)) if !s.ends_with("_test") => (s, true),
            _ => {
                skipped.push(format!("{name}: not a goose migration"));
                continue;
            }
        };
        let Some((v, desc)) = versioned(stem) else {
            skipped.push(format!("{name}: no `<version>_<name>`"));
            continue;
        };
        let mut c = Converted {
            original: name.clone(),
            tool_version: v.to_string(),
            name: desc.to_owned(),
            ..Converted::default()
        };
        if go {
            c.todo
                .push("a Go migration: write what its Up function does in SQL".into());
            by_version.insert(v, c);
            continue;
        }
        let text = read_text(&path)?;
        let (mut up, mut down) = (String::new(), String::new());
        let mut section = 0; // 0 before Up, 1 in Up, 2 in Down
        let mut has_down = false;
        for line in text.lines() {
            let annotation = line
                .strip_prefix("--")
                .map(str::trim_start)
                .and_then(|l| l.strip_prefix("+goose"))
                .map(|a| a.trim().to_ascii_lowercase());
            match annotation.as_deref() {
                Some("up") => section = 1,
                Some("down") => {
                    section = 2;
                    has_down = true;
                }
                Some("statementbegin" | "statementend") => {}
                Some("no transaction") => c.no_transaction = true,
                Some("envsub on") => c
                    .todo
                    .push("it substitutes environment variables (+goose ENVSUB ON), which ferry does not: write their values in".into()),
                Some(_) => {}
                None => {
                    let target = match section {
                        1 => &mut up,
                        2 => &mut down,
                        _ => continue,
                    };
                    target.push_str(line);
                    target.push('\n');
                }
            }
        }
        c.up = up;
        c.down = (has_down && !down.trim().is_empty()).then_some(down);
        by_version.insert(v, c);
    }
    Ok(by_version.into_values().collect())
}

/// dbmate: `-- migrate:up [transaction:false]`, `-- migrate:down`.
pub fn dbmate(src: &Path, skipped: &mut Skipped) -> Result<Vec<Converted>> {
    let mut by_version: BTreeMap<u64, Converted> = BTreeMap::new();
    for (name, path) in files(src)? {
        let Some(stem) = name.strip_suffix(".sql") else {
            skipped.push(format!("{name}: not a .sql file"));
            continue;
        };
        let Some((v, desc)) = versioned(stem) else {
            skipped.push(format!("{name}: no `<version>_<name>`"));
            continue;
        };
        let text = read_text(&path)?;
        let mut c = Converted {
            original: name.clone(),
            tool_version: v.to_string(),
            name: desc.to_owned(),
            ..Converted::default()
        };
        let (mut up, mut down) = (String::new(), String::new());
        let mut section = 0;
        for line in text.lines() {
            let marker = line.trim_start().strip_prefix("-- migrate:");
            match marker {
                Some(m) if m.starts_with("up") => {
                    section = 1;
                    if m.contains("transaction:false") {
                        c.no_transaction = true;
                    }
                }
                Some(m) if m.starts_with("down") => section = 2,
                _ => {
                    let target = match section {
                        1 => &mut up,
                        2 => &mut down,
                        _ => continue,
                    };
                    target.push_str(line);
                    target.push('\n');
                }
            }
        }
        c.up = up;
        c.down = (!down.trim().is_empty()).then_some(down);
        by_version.insert(v, c);
    }
    Ok(by_version.into_values().collect())
}
