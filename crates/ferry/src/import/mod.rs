//! `ferry import`: converts another tool's migration folder into ferry's
//! layout (`<version>_<name>.up.sql` and `.down.sql`), keeping the tool's
//! order, and writes `IMPORTED.toml` with where each file came from.
//!
//! Versions stay as the tool wrote them when they are whole numbers that
//! fit ferry's history column and sort in the tool's order; otherwise every
//! migration is numbered again from 1 in that order, and the map says so.
//!
//! Other tools' scripts are split with PostgreSQL's lexer, the most
//! permissive of the three (dollar quotes, nested comments): they are read
//! to be converted, not run.

mod alembic;
mod annotated;
mod diesel;
mod map;
mod named;
mod python;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use self::map::{IMPORT_MAP, ImportMap, MappedMigration};
use crate::error::{Error, Result};
use crate::foreign::Tool;
use crate::migration::{is_transaction_control, split};
use crate::problem::{Problem, Problems};
use crate::url::EngineKind;

/// One migration read from the other tool's folder, in its order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Converted {
    /// The file or folder it came from, relative to the source folder.
    pub original: String,
    /// The version or revision the tool knows it by.
    pub tool_version: String,
    /// Its name (description), as the tool has it.
    pub name: String,
    /// The up SQL.
    pub up: String,
    /// The down SQL, when the tool has one.
    pub down: Option<String>,
    /// Runs outside a transaction.
    pub no_transaction: bool,
    /// Alembic: the revisions it follows.
    pub parents: Vec<String>,
    /// What was changed on the way, for the map.
    pub notes: Vec<String>,
    /// What ferry could not convert: the file is written so that it does not
    /// load until a person writes that SQL.
    pub todo: Vec<String>,
}

/// What an import did (or would do).
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The tool.
    pub tool: Tool,
    /// The folder written to.
    pub into: PathBuf,
    /// Nothing was written.
    pub dry_run: bool,
    /// Whether versions were numbered again.
    pub renumbered: bool,
    /// Each migration: the map's entry.
    pub migrations: Vec<MappedMigration>,
    /// Files of the source that were not imported, and why.
    pub skipped: Vec<String>,
    /// Migrations that need SQL written by hand.
    pub todo: Vec<String>,
}

/// A source file that is not a migration of the tool's, with why.
pub(crate) type Skipped = Vec<String>;

/// Reads `src` as `tool`'s folder and writes ferry's files into `into`
/// (unless `dry_run`), refusing a folder that already has migrations.
pub fn import(tool: Tool, src: &Path, into: &Path, dry_run: bool) -> Result<ImportReport> {
    if !src.is_dir() {
        return Err(Error::Config(Problems(vec![
            Problem::general(format!("{} is not a folder", src.display()))
                .help(format!("name the folder that holds {tool}'s migrations")),
        ])));
    }
    let mut skipped = Vec::new();
    let items = match tool {
        Tool::Diesel => diesel::read(src, &mut skipped)?,
        Tool::Sqlx => named::sqlx(src, &mut skipped)?,
        Tool::GolangMigrate => named::golang_migrate(src, &mut skipped)?,
        Tool::Flyway => named::flyway(src, &mut skipped)?,
        Tool::Refinery => named::refinery(src, &mut skipped)?,
        Tool::Goose => annotated::goose(src, &mut skipped)?,
        Tool::Dbmate => annotated::dbmate(src, &mut skipped)?,
        Tool::Alembic => alembic::read(src, &mut skipped)?,
        Tool::Table => {
            return Err(Error::Config(Problems(vec![
                Problem::general("`table` names a history table, not a folder layout")
                    .help("import from the tool that wrote the files: alembic, flyway, sqlx, diesel, golang-migrate, goose, dbmate or refinery"),
            ])));
        }
    };
    if items.is_empty() {
        return Err(Error::Config(Problems(vec![
            Problem::general(format!("{} holds no {tool} migration", src.display()))
                .help(format!("name the folder that holds {tool}'s migration files")),
        ])));
    }
    if !dry_run && into.is_dir() {
        let existing = files(into)?
            .into_iter()
            .filter(|(n, _)| n.ends_with(".sql") || n == IMPORT_MAP)
            .count();
        if existing > 0 {
            return Err(Error::refused(
                Problem::general(format!("{} already holds migration files ({existing})", into.display()))
                    .help("import into an empty folder (--into DIR), then move the files where you want them"),
            ));
        }
    }
    let (versions, renumbered) = numbering(tool, &items);
    let width = if renumbered {
        versions.len().to_string().len().max(4)
    } else {
        0
    };
    let mut migrations = Vec::new();
    let mut files = Vec::new();
    let mut todo = Vec::new();
    for (item, version) in items.iter().zip(&versions) {
        let version_text = if renumbered {
            format!("{version:0width$}")
        } else {
            version_text(tool, &item.tool_version)
        };
        let label = format!("{version_text}_{}", file_name(&item.name));
        let mut notes = item.notes.clone();
        let up = render(tool, item, &item.up, &mut notes);
        files.push((format!("{label}.up.sql"), up));
        // A down file with no statement (diesel's "cannot be reverted") is
        // no down at all: ferry must not pretend to revert it.
        let down = item
            .down
            .as_ref()
            .filter(|d| split(d, EngineKind::Postgres).is_ok_and(|s| !s.is_empty()));
        if item.down.is_some() && down.is_none() {
            notes.push("its down file has no statement: irreversible in ferry".into());
        }
        if let Some(down) = down {
            let mut ignored = Vec::new();
            files.push((format!("{label}.down.sql"), render(tool, item, down, &mut ignored)));
        }
        if !item.todo.is_empty() {
            todo.push(format!("{label}.up.sql: {}", item.todo.join("; ")));
        }
        migrations.push(MappedMigration {
            version: *version,
            name: label,
            original: item.original.clone(),
            tool_version: item.tool_version.clone(),
            parents: item.parents.clone(),
            notes,
        });
    }
    let map = ImportMap {
        tool: tool.name().to_owned(),
        source: src.display().to_string(),
        renumbered,
        migrations: migrations.clone(),
    };
    if !dry_run {
        std::fs::create_dir_all(into).map_err(|e| Error::io("cannot create", into, e))?;
        for (name, text) in &files {
            write_new(&into.join(name), text)?;
        }
        write_new(&into.join(IMPORT_MAP), &map.to_toml())?;
    }
    Ok(ImportReport {
        tool,
        into: into.to_owned(),
        dry_run,
        renumbered,
        migrations,
        skipped,
        todo,
    })
}

/// ferry's versions for the items, and whether they were numbered again:
/// the tool's own when every one is a whole number that fits ferry's
/// history column and they rise in the tool's order.
fn numbering(tool: Tool, items: &[Converted]) -> (Vec<u64>, bool) {
    let own: Option<Vec<u64>> = items
        .iter()
        .map(|i| {
            let digits = digits(tool, &i.tool_version);
            digits.parse::<u64>().ok().filter(|v| (1..=i64::MAX as u64).contains(v))
        })
        .collect();
    match own {
        Some(v) if v.windows(2).all(|w| w[0] < w[1]) => (v, false),
        _ => ((1..=items.len() as u64).collect(), true),
    }
}

/// The tool's version as the digits of a ferry version.
fn digits(tool: Tool, tool_version: &str) -> String {
    match tool {
        Tool::Diesel => tool_version.replace('-', ""),
        _ => tool_version.to_owned(),
    }
}

fn version_text(tool: Tool, tool_version: &str) -> String {
    digits(tool, tool_version)
}

/// A name ferry accepts: letters, digits, `_` and `-`.
fn file_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() { "migration".to_owned() } else { out }
}

/// The text of a converted file: where it came from, its directives, the
/// SQL without the transaction control ferry does itself.
fn render(tool: Tool, item: &Converted, sql: &str, notes: &mut Vec<String>) -> String {
    let mut out = format!("-- Imported from {tool}: {}\n", item.original);
    if !item.todo.is_empty() {
        out.push_str(&format!(
            "-- ferry:todo {tool} migration {} needs SQL written by hand: {}\n",
            item.tool_version,
            item.todo.join("; ").replace('\n', " ")
        ));
    }
    if item.no_transaction {
        out.push_str("-- ferry:no-transaction\n");
    }
    let (body, removed) = without_transaction_control(sql);
    if removed && !item.no_transaction {
        notes.push("its BEGIN/COMMIT removed: ferry runs each migration in a transaction".into());
    }
    out.push_str(body.trim_start_matches('\n'));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `sql` without top-level `BEGIN`/`COMMIT` statements.
fn without_transaction_control(sql: &str) -> (String, bool) {
    let Ok(statements) = split(sql, EngineKind::Postgres) else {
        return (sql.to_owned(), false);
    };
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    let mut removed = false;
    for st in statements.iter().filter(|s| is_transaction_control(&s.text)) {
        out.push_str(&sql[at..st.span.start]);
        at = st.span.end;
        // The statement's semicolon goes with it.
        if sql[at..].starts_with(';') {
            at += 1;
        }
        removed = true;
    }
    out.push_str(&sql[at..]);
    (out, removed)
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("cannot create", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write", path, e))
}

/// The files of `dir` (not folders), sorted by name.
pub(crate) fn files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("cannot read", dir, e))? {
        let entry = entry.map_err(|e| Error::io("cannot read", dir, e))?;
        let path = entry.path();
        if path.is_file() {
            out.push((entry.file_name().to_string_lossy().into_owned(), path));
        }
    }
    out.sort();
    Ok(out)
}

/// A file's text, with line endings normalised.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::Migrations(Problems(vec![
            Problem::in_file(path, "the file is not UTF-8 text").help("save it as UTF-8, then import again"),
        ]))
    })?;
    Ok(crate::migration::normalise(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(v: &str) -> Converted {
        Converted {
            tool_version: v.into(),
            ..Converted::default()
        }
    }

    #[test]
    fn versions_kept_when_they_fit_and_rise() {
        let (v, renumbered) = numbering(Tool::Sqlx, &[item("20230101120000"), item("20230102000000")]);
        assert!(!renumbered);
        assert_eq!(v, vec![20230101120000, 20230102000000]);
        // 20 digits do not fit a signed 64-bit history column.
        let (v, renumbered) = numbering(Tool::Goose, &[item("1"), item("20230101120000123456")]);
        assert!(renumbered);
        assert_eq!(v, vec![1, 2]);
        // Diesel's string order is not numeric order across widths.
        let (_, renumbered) = numbering(Tool::Diesel, &[item("10"), item("9")]);
        assert!(renumbered);
        let (v, _) = numbering(Tool::Diesel, &[item("2023-01-01-120000")]);
        assert_eq!(v, vec![20230101120000]);
    }

    #[test]
    fn names_and_transaction_control() {
        assert_eq!(file_name("Create Users (v2)!"), "create_users_v2");
        assert_eq!(file_name("***"), "migration");
        let (sql, removed) = without_transaction_control("BEGIN;\nCREATE TABLE a (x int);\nCOMMIT;\n");
        assert!(removed);
        assert_eq!(sql.trim(), "CREATE TABLE a (x int);");
    }
}
