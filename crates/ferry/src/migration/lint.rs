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
        for st in statements.iter().filter(|s| is_transaction_control(&s.text)) {
            problems.push(
                Problem::in_file(&script.path, format!("`{}` inside a migration that ferry runs in a transaction", st.text))
                    .at_line(st.line)
                    .help("remove it: ferry wraps each migration in a transaction with its history row; if the script must manage transactions itself, add `-- ferry:no-transaction` at the top"),
            );
        }
    }
    problems
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
}
