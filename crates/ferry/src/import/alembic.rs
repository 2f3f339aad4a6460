//! Alembic: `versions/*.py`, each a revision with `revision` and
//! `down_revision` (None for the first, a tuple for a merge), and
//! `upgrade()`/`downgrade()` functions. The graph is put in one line (a
//! branch is reported with the revisions involved); `op.execute("...")` with
//! plain SQL is converted, and every other statement is listed as needing
//! SQL written by hand (ferry does not run Python).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::python::{Value, assignment, call_args, function_body, statements, string_literal};
use super::{Converted, Skipped, files, read_text};
use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};

struct Revision {
    file: String,
    id: String,
    parents: Vec<String>,
    created: String,
    up: Converted,
}

/// Reads an Alembic `versions/` folder.
pub fn read(src: &Path, skipped: &mut Skipped) -> Result<Vec<Converted>> {
    let mut revisions: BTreeMap<String, Revision> = BTreeMap::new();
    for (name, path) in files(src)? {
        let Some(stem) = name.strip_suffix(".py") else {
            skipped.push(format!("{name}: not a .py file"));
            continue;
        };
        if stem == "__init__" {
            continue;
        }
        let source = read_text(&path)?;
        let Some(Value::Strings(id)) = assignment(&source, "revision") else {
            skipped.push(format!("{name}: no `revision = \"...\"`"));
            continue;
        };
        let Some(id) = id.into_iter().next() else { continue };
        let parents = match assignment(&source, "down_revision") {
            Some(Value::Strings(p)) => p,
            _ => Vec::new(),
        };
        let created = source
            .lines()
            .find_map(|l| l.trim().strip_prefix("Create Date:").map(|d| d.trim().to_owned()))
            .unwrap_or_default();
        // `<revision>_<slug>.py` is Alembic's file name; the slug is the name.
        let slug = stem.strip_prefix(&format!("{id}_")).unwrap_or(stem);
        let mut c = Converted {
            original: name.clone(),
            tool_version: id.clone(),
            name: slug.to_owned(),
            parents: parents.clone(),
            ..Converted::default()
        };
        let (up, up_todo) = convert(&source, "upgrade");
        let (down, down_todo) = convert(&source, "downgrade");
        c.up = up;
        c.todo = up_todo;
        if down_todo.is_empty() {
            c.down = (!down.trim().is_empty()).then_some(down);
        } else {
            c.notes.push(format!(
                "no down file: downgrade() has what ferry cannot convert ({})",
                down_todo.join("; ")
            ));
        }
        if parents.len() > 1 {
            c.notes.push(format!("a merge of {}", parents.join(" and ")));
        }
        revisions.insert(
            id.clone(),
            Revision {
                file: name,
                id,
                parents,
                created,
                up: c,
            },
        );
    }
    linearise(revisions)
}

/// The SQL of function `name` and what in it cannot be converted.
fn convert(source: &str, name: &str) -> (String, Vec<String>) {
    let Some(body) = function_body(source, name) else {
        return (String::new(), vec![format!("no {name}() function")]);
    };
    let mut sql = String::new();
    let mut todo = Vec::new();
    for stmt in statements(&body, 0) {
        let s = stmt.trim();
        if s == "pass" || string_literal(s).is_some() {
            continue; // nothing, or a docstring
        }
        let arg = call_args(s, "op.execute");
        let text = arg.and_then(|a| {
            string_literal(a).or_else(|| {
                ["sa.text", "text", "sqlalchemy.text"]
                    .iter()
                    .find_map(|f| call_args(a, f).and_then(string_literal))
            })
        });
        match text {
            Some(t) => {
                let t = dedent(&t);
                sql.push_str(t.trim_end());
                if !t.trim_end().ends_with(';') {
                    sql.push(';');
                }
                sql.push('\n');
            }
            None => {
                let first = s.lines().next().unwrap_or_default();
                todo.push(if s.lines().count() > 1 {
                    format!("{first} …")
                } else {
                    first.to_owned()
                });
            }
        }
    }
    (sql, todo)
}

/// Text with its common leading indentation and leading blank lines removed.
fn dedent(text: &str) -> String {
    super::python::dedent(text).trim_start_matches('\n').to_owned()
}

/// Orders the revisions so that each comes after its parents; among those
/// ready at once, the older (by `Create Date`, then file name) first.
fn linearise(mut revisions: BTreeMap<String, Revision>) -> Result<Vec<Converted>> {
    let known: BTreeSet<String> = revisions.keys().cloned().collect();
    let mut problems = Vec::new();
    for r in revisions.values() {
        for p in r.parents.iter().filter(|p| !known.contains(*p)) {
            problems.push(
                Problem::general(format!("{} follows revision {p}, which is not in the folder", r.file))
                    .help("import the whole versions/ folder"),
            );
        }
    }
    if !problems.is_empty() {
        return Err(Error::Migrations(Problems(problems)));
    }
    // Branch points: a revision two or more others follow.
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in revisions.values() {
        for p in &r.parents {
            children.entry(p.clone()).or_default().push(r.id.clone());
        }
    }
    for (parent, kids) in &children {
        if kids.len() > 1 {
            for k in kids {
                if let Some(r) = revisions.get_mut(k) {
                    r.up.notes.push(format!(
                        "a branch: {} all follow {parent}; ferry applies them one after the other",
                        kids.join(", ")
                    ));
                }
            }
        }
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while !revisions.is_empty() {
        let next = revisions
            .values()
            .filter(|r| r.parents.iter().all(|p| done.contains(p)))
            .min_by(|a, b| (&a.created, &a.file).cmp(&(&b.created, &b.file)))
            .map(|r| r.id.clone());
        let Some(id) = next else {
            let left: Vec<String> = revisions.keys().cloned().collect();
            return Err(Error::Migrations(Problems(vec![
                Problem::general(format!(
                    "the revisions {} follow each other in a circle",
                    left.join(", ")
                ))
                .help("fix their down_revision"),
            ])));
        };
        let r = revisions.remove(&id).expect("chosen from the map");
        done.insert(id);
        out.push(r.up);
    }
    Ok(out)
}
