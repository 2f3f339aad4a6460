//! Checks of scripts that need the engine's dialect: each script must lex,
//! and a script ferry wraps in a transaction must not manage transactions.
//!
//! One of the few places outside `engine/` that names engines: what each
//! engine cannot run in a transaction, or at all, is this lint's subject,
//! and it stays pure (below the engines) so that it runs without one.

use crate::migration::lexer::{is_transaction_control, split};
use crate::migration::script::Script;
use crate::migration::set::MigrationSet;
use crate::problem::Problem;
use crate::url::EngineKind;

/// Finds problems in every script of `set` for `dialect`, given whether the
/// engine runs migrations in transactions.
/// Reads every down script, which a run only reads when it reverts.
pub fn lint(set: &MigrationSet, dialect: EngineKind, transactional: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut scripts = Vec::new();
    for m in set {
        scripts.push(&m.up);
        match m.down() {
            Ok(down) => {
                if let Some(d) = down {
                    problems.extend(lint_down(&m.up, d, dialect));
                }
                scripts.extend(down);
            }
            Err(crate::Error::Migrations(p)) => problems.extend(p.0),
            Err(other) => problems.push(Problem::general(other.to_string())),
        }
    }
    // Another dialect's SQL: for `db validate` only, as a warning worth
    // reading before a run fails on it.
    for script in &scripts {
        let Ok(sql) = script.text() else { continue };
        for st in split(sql, dialect).unwrap_or_default() {
            if let Some(what) = foreign_dialect(&st.text, dialect) {
                problems.push(
                    Problem::in_file(
                        &script.path,
                        format!("{what}, and this database is {}", dialect_name(dialect)),
                    )
                    .at_line(st.line)
                    .help("write it in this database's SQL"),
                );
            }
        }
    }
    problems.extend(lint_scripts(scripts, dialect, transactional));
    problems
}

/// The same checks for some scripts only: those a run is about to execute.
pub fn lint_scripts<'a>(
    scripts: impl IntoIterator<Item = &'a Script>,
    dialect: EngineKind,
    transactional: bool,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for script in scripts {
        let sql = match script.text() {
            Ok(sql) => sql,
            Err(p) => {
                problems.push(p.clone());
                continue;
            }
        };
        let statements = match split(sql, dialect) {
            Ok(s) => s,
            Err(e) => {
                problems.push(
                    Problem::in_file(&script.path, e.message)
                        .at_line(e.line)
                        .help("close it; the rest of the file is read as part of it"),
                );
                continue;
            }
        };
        if let Some(spec) = &script.directives.batch {
            for p in crate::migration::batch::check_body(sql, spec, dialect) {
                let mut problem = Problem::in_file(&script.path, p.message).help(p.help);
                if let Some(line) = p.line {
                    problem = problem.at_line(line);
                }
                problems.push(problem);
            }
            continue;
        }
        if !transactional || script.directives.no_transaction {
            continue;
        }
        for st in &statements {
            if is_transaction_control(&st.text) {
                problems.push(
                    Problem::in_file(&script.path, format!("`{}` inside a migration that ferry runs in a transaction", st.text))
                        .at_line(st.line)
                        .help("remove it: ferry wraps each migration in a transaction with its history row; if the script must manage transactions itself, add `-- ferry:no-transaction` at the top"),
                );
            } else if let Some(what) = outside_transactions_only(&st.text, dialect) {
                problems.push(
                    Problem::in_file(&script.path, format!("{what} cannot run inside a transaction, and ferry runs this migration in one"))
                        .at_line(st.line)
                        .help("add `-- ferry:no-transaction` at the top (and keep the statement alone in its migration, so that a failure leaves nothing half done)"),
                );
            } else if dialect == EngineKind::Sqlite && sets_foreign_keys(&st.text) {
                problems.push(
                    Problem::in_file(&script.path, "`PRAGMA foreign_keys` has no effect inside the transaction ferry runs this migration in")
                        .at_line(st.line)
                        .help("remove it and add `-- ferry:foreign-keys-off` at the top: ferry turns foreign keys off before the transaction and checks them all (`PRAGMA foreign_key_check`) before it commits"),
                );
            }
        }
    }
    problems
}

/// A down that cannot be right, seen without running it: empty for an up
/// that does something, or the up itself.
fn lint_down(up: &Script, down: &Script, dialect: EngineKind) -> Vec<Problem> {
    let (Ok(up), Ok(down_sql)) = (up.text(), down.text()) else {
        return Vec::new();
    };
    let (Ok(up_st), Ok(down_st)) = (split(up, dialect), split(down_sql, dialect)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if down_st.is_empty() && !up_st.is_empty() {
        out.push(
            Problem::in_file(&down.path, "the down script is empty, and its up is not: reverting does nothing")
                .help("write the statements that undo the up, or delete the down file if the migration cannot be undone (a rollback then restores a backup)"),
        );
    } else if !up_st.is_empty() && up_st.iter().map(|s| &s.text).eq(down_st.iter().map(|s| &s.text)) {
        out.push(
            Problem::in_file(&down.path, "the down script is a copy of its up")
                .help("write the statements that undo the up"),
        );
    }
    out
}

/// A statement of another dialect than the database's: what it is.
fn foreign_dialect(stmt: &str, dialect: EngineKind) -> Option<&'static str> {
    let w = words(stmt, 6);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    match dialect {
        EngineKind::Postgres | EngineKind::Sqlite => {
            if w.first() == Some(&"DROP") && w.get(1) == Some(&"INDEX") && w.contains(&"ON") {
                return Some("`DROP INDEX ... ON table` is MySQL's: here it is `DROP INDEX name`");
            }
            if w.first() == Some(&"ALTER") && w.contains(&"MODIFY") {
                return Some("`ALTER TABLE ... MODIFY` is MySQL's");
            }
            if outside_strings(stmt).contains('`') {
                return Some("back-quoted names are MySQL's: quote names with \"double quotes\"");
            }
            None
        }
        EngineKind::MySql => None,
    }
}

/// `stmt` with the contents of its single-quoted strings left out.
fn outside_strings(stmt: &str) -> String {
    let mut out = String::with_capacity(stmt.len());
    let mut quoted = false;
    for c in stmt.chars() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

fn dialect_name(d: EngineKind) -> &'static str {
    match d {
        EngineKind::Sqlite => "SQLite",
        EngineKind::Postgres => "PostgreSQL",
        EngineKind::MySql => "MySQL/MariaDB",
    }
}

/// The words of a statement, upper-cased, up to `n`.
fn words(stmt: &str, n: usize) -> Vec<String> {
    stmt.split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

/// What in `stmt` the server refuses to run in a transaction, if anything.
fn outside_transactions_only(stmt: &str, dialect: EngineKind) -> Option<&'static str> {
    let w = words(stmt, 5);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    match (dialect, w.as_slice()) {
        (EngineKind::Postgres | EngineKind::Sqlite, ["VACUUM", ..]) => Some("VACUUM"),
        (
            EngineKind::Postgres,
            ["CREATE", "INDEX", "CONCURRENTLY", ..] | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..],
        ) => Some("CREATE INDEX CONCURRENTLY"),
        (EngineKind::Postgres, ["DROP", "INDEX", "CONCURRENTLY", ..]) => Some("DROP INDEX CONCURRENTLY"),
        (EngineKind::Postgres, ["REINDEX", ..]) if w.contains(&"CONCURRENTLY") => Some("REINDEX CONCURRENTLY"),
        (EngineKind::Postgres, ["CREATE", "DATABASE", ..] | ["DROP", "DATABASE", ..]) => Some("CREATE/DROP DATABASE"),
        _ => None,
    }
}

/// `PRAGMA foreign_keys = ...` (not `foreign_key_check`).
fn sets_foreign_keys(stmt: &str) -> bool {
    let w = words(stmt, 2);
    w.first().is_some_and(|f| f == "PRAGMA")
        && w.get(1)
            .is_some_and(|p| p.trim_start_matches("MAIN.").starts_with("FOREIGN_KEYS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_commit_in_transactional_scripts_only() {
        let set = MigrationSet::from_embedded(&[
            ("0001_a.up.sql", "CREATE TABLE a (x int);\nCOMMIT;"),
            (
                "0002_b.up.sql",
                "-- ferry:no-transaction\nBEGIN;\nCREATE TABLE b (x int);\nCOMMIT;",
            ),
            ("0003_c.up.sql", "SELECT 'oops;"),
        ])
        .unwrap();
        let p = lint(&set, EngineKind::Postgres, true);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].line, Some(2));
        assert!(p[1].message.contains("never closed"));
        assert_eq!(lint(&set, EngineKind::Postgres, false).len(), 1);
    }

    #[test]
    fn downs_that_cannot_be_right_and_other_dialects() {
        let set = MigrationSet::from_embedded(&[
            ("0001_a.up.sql", "CREATE TABLE a (x int);"),
            ("0001_a.down.sql", "-- nothing\n"),
            ("0002_b.up.sql", "CREATE TABLE b (x int);"),
            ("0002_b.down.sql", "CREATE TABLE b (x int);"),
            ("0003_c.up.sql", "CREATE INDEX c_x ON b (x);"),
            ("0003_c.down.sql", "DROP INDEX c_x ON b;"),
        ])
        .unwrap();
        let p: Vec<String> = lint(&set, EngineKind::Postgres, true)
            .iter()
            .map(|p| p.message.clone())
            .collect();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("down script is empty"));
        assert!(p[1].contains("a copy of its up"));
        assert!(p[2].contains("MySQL's") && p[2].contains("PostgreSQL"), "{p:?}");
        let my: Vec<String> = lint(&set, EngineKind::MySql, false)
            .iter()
            .map(|p| p.message.clone())
            .collect();
        assert_eq!(my.len(), 2, "MySQL's own syntax is fine there: {my:?}");
    }

    #[test]
    fn flags_what_cannot_run_in_the_transaction() {
        let set = MigrationSet::from_embedded(&[
            ("0001_a.up.sql", "CREATE INDEX CONCURRENTLY i ON t (x);\nVACUUM t;"),
            ("0002_b.up.sql", "PRAGMA foreign_keys = OFF;\nPRAGMA foreign_key_check;"),
            (
                "0003_c.up.sql",
                "-- ferry:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);",
            ),
        ])
        .unwrap();
        let pg: Vec<String> = lint(&set, EngineKind::Postgres, true)
            .iter()
            .map(|p| p.message.clone())
            .collect();
        assert_eq!(pg.len(), 2, "{pg:?}");
        assert!(pg[0].starts_with("CREATE INDEX CONCURRENTLY cannot run") && pg[1].starts_with("VACUUM"));
        let lite: Vec<String> = lint(&set, EngineKind::Sqlite, true)
            .iter()
            .map(|p| p.message.clone())
            .collect();
        assert_eq!(lite.len(), 2, "{lite:?}");
        assert!(lite[1].contains("PRAGMA foreign_keys"), "{lite:?}");
    }
}
