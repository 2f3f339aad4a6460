//! Checks of scripts that need the engine's dialect: each script must lex,
//! and a script ferry wraps in a transaction must not manage transactions.

use crate::error::Problem;
use crate::migration::lexer::{Dialect, is_transaction_control, split};
use crate::migration::script::Script;
use crate::migration::set::MigrationSet;

/// Finds problems in every script of `set` for `dialect`, given whether the
/// engine runs migrations in transactions.
/// Reads every down script, which a run only reads when it reverts.
pub fn lint(set: &MigrationSet, dialect: Dialect, transactional: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut scripts = Vec::new();
    for m in set {
        scripts.push(&m.up);
        match m.down() {
            Ok(down) => scripts.extend(down),
            Err(crate::Error::Migrations(p)) => problems.extend(p.0),
            Err(other) => problems.push(Problem::general(other.to_string())),
        }
    }
    problems.extend(lint_scripts(scripts, dialect, transactional));
    problems
}

/// The same checks for some scripts only: those a run is about to execute.
pub fn lint_scripts<'a>(
    scripts: impl IntoIterator<Item = &'a Script>,
    dialect: Dialect,
    transactional: bool,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for script in scripts {
        let statements = match split(&script.sql, dialect) {
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
            for p in crate::migration::batch::check_body(&script.sql, spec, dialect) {
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
            } else if dialect == Dialect::Sqlite && sets_foreign_keys(&st.text) {
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

/// The words of a statement, upper-cased, up to `n`.
fn words(stmt: &str, n: usize) -> Vec<String> {
    stmt.split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

/// What in `stmt` the server refuses to run in a transaction, if anything.
fn outside_transactions_only(stmt: &str, dialect: Dialect) -> Option<&'static str> {
    let w = words(stmt, 5);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    match (dialect, w.as_slice()) {
        (Dialect::Postgres | Dialect::Sqlite, ["VACUUM", ..]) => Some("VACUUM"),
        (
            Dialect::Postgres,
            ["CREATE", "INDEX", "CONCURRENTLY", ..] | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..],
        ) => Some("CREATE INDEX CONCURRENTLY"),
        (Dialect::Postgres, ["DROP", "INDEX", "CONCURRENTLY", ..]) => Some("DROP INDEX CONCURRENTLY"),
        (Dialect::Postgres, ["REINDEX", ..]) if w.contains(&"CONCURRENTLY") => Some("REINDEX CONCURRENTLY"),
        (Dialect::Postgres, ["CREATE", "DATABASE", ..] | ["DROP", "DATABASE", ..]) => Some("CREATE/DROP DATABASE"),
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
        let p = lint(&set, Dialect::Postgres, true);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].line, Some(2));
        assert!(p[1].message.contains("never closed"));
        assert_eq!(lint(&set, Dialect::Postgres, false).len(), 1);
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
        let pg: Vec<String> = lint(&set, Dialect::Postgres, true)
            .iter()
            .map(|p| p.message.clone())
            .collect();
        assert_eq!(pg.len(), 2, "{pg:?}");
        assert!(pg[0].starts_with("CREATE INDEX CONCURRENTLY cannot run") && pg[1].starts_with("VACUUM"));
        let lite: Vec<String> = lint(&set, Dialect::Sqlite, true)
            .iter()
            .map(|p| p.message.clone())
            .collect();
        assert_eq!(lite.len(), 2, "{lite:?}");
        assert!(lite[1].contains("PRAGMA foreign_keys"), "{lite:?}");
    }
}
