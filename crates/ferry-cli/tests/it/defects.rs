//! Regression tests for defects found by users: each is named after what it
//! guards, and failed before its fix.

use std::path::PathBuf;

use ferry_testkit::{Kind, TestDb};
use predicates::prelude::*;

use crate::support::{Proj, ferry, stderr, stdout};

fn migrate_err(p: &Proj) -> String {
    let out = p.ferry().args(["db", "migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    stderr(&out)
}

/// SQLite errors were placed at line 1, at the first identical statement,
/// or nowhere.
#[test]
fn sqlite_errors_name_the_line_of_the_failing_statement() {
    let p = Proj::new(Kind::Sqlite);
    p.write(
        "migrations/0001_a.up.sql",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE b (id INTEGER);\n",
    );
    p.ferry().args(["db", "migrate"]).assert().success();
    p.write(
        "migrations/0002_exists.up.sql",
        "-- line 1\n-- line 2\nINSERT INTO a VALUES (10);\n\n/* line 5 */\nCREATE TABLE b (\n  id INTEGER\n);\n",
    );
    assert!(migrate_err(&p).contains("failed at line 6"), "{}", migrate_err(&p));
    p.write(
        "migrations/0002_exists.up.sql",
        "INSERT INTO a VALUES (1);\n\nINSERT INTO a VALUES (2);\n\nINSERT INTO a VALUES (1);\n",
    );
    let err = migrate_err(&p);
    assert!(
        err.contains("failed at line 5"),
        "the second identical text, not the first: {err}"
    );
    p.write(
        "migrations/0002_exists.up.sql",
        "CREATE TABLE e (id INTEGER);\nINSERT INTO e SELECT * FROM nosuch;\n",
    );
    let err = migrate_err(&p);
    assert!(err.contains("failed at line 2") && err.contains("nosuch"), "{err}");
}

/// PostgreSQL execution errors in a transactional migration had no line
/// and no statement (the script goes in one round trip).
#[test]
fn postgres_execution_errors_name_the_line_and_statement() {
    let p = Proj::new(Kind::Postgres);
    p.write(
        "migrations/0001_a.up.sql",
        "CREATE TABLE a (id INTEGER);\n-- the next one fails\nINSERT INTO a VALUES (1);\nINSERT INTO a\n  SELECT * FROM nosuch; -- no such relation\n",
    );
    let err = migrate_err(&p);
    // The statement starts on line 4; the server places the error at `nosuch`.
    assert!(err.contains("failed at line 5"), "{err}");
    assert!(err.contains("relation \"nosuch\" does not exist"), "{err}");
    // The statement as it is in the file, a line per line.
    assert!(
        err.contains("statement:\n    INSERT INTO a\n      SELECT * FROM nosuch"),
        "{err}"
    );
    assert_eq!(p.db.tables(), vec!["ferry_history"], "still rolled back");
}

/// A statement was flattened onto one line with its `--` comments, so that
/// everything after a comment read as commented out.
#[test]
fn failing_statements_are_shown_as_written() {
    let p = Proj::new(Kind::MySql);
    p.write(
        "migrations/0001_a.up.sql",
        "CREATE TABLE a (\n  id INTEGER, -- the key\n  x INTEGER\n);\nINSERT INTO nosuch VALUES (1);\n",
    );
    let err = migrate_err(&p);
    assert!(err.contains("    INSERT INTO nosuch VALUES (1)"), "{err}");
    assert!(
        err.contains("the 1 statement before the failing one remains applied"),
        "{err}"
    );
}

/// A no-transaction migration that failed at its first statement said
/// "statements before the failing one remain applied".
#[test]
fn a_no_transaction_migration_failing_at_its_first_statement_says_so() {
    let p = Proj::new(Kind::Postgres);
    p.write(
        "migrations/0001_a.up.sql",
        "-- ferry:no-transaction\nCREATE INDEX CONCURRENTLY nosuch_idx ON nosuch (id);\nCREATE TABLE never (id INTEGER);\n",
    );
    let err = migrate_err(&p);
    assert!(err.contains("failed at its first statement"), "{err}");
    assert!(!err.contains("before the failing one remain"), "{err}");
}

/// A missing migrations folder succeeded silently ("nothing to migrate"),
/// `${VAR}` was not expanded in it, and another tool's layout got no hint.
#[test]
fn a_missing_migrations_folder_is_an_error_naming_it() {
    let p = Proj::new(Kind::Sqlite);
    let toml = std::fs::read_to_string(p.path().join("ferry.toml")).unwrap();
    p.write(
        "ferry.toml",
        &format!("{toml}\n[migrations]\ndir = \"${{MIGRATIONS_DIR:-nosuchdir}}\"\n"),
    );
    for args in [&["db", "migrate"][..], &["db", "status"], &["status"]] {
        let out = p.ferry().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("nosuchdir does not exist"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // The variable is expanded.
    p.tables(1);
    p.ferry()
        .env("MIGRATIONS_DIR", "migrations")
        .args(["db", "migrate"])
        .assert()
        .success();
    // diesel's layout is recognised.
    p.write(
        "diesel/2024-01-01-000000_create_users/up.sql",
        "CREATE TABLE users (id INTEGER);\n",
    );
    let out = p
        .ferry()
        .env("MIGRATIONS_DIR", "diesel")
        .args(["db", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("as diesel lays them out"), "{}", stderr(&out));
    // `ferry new` creates the folder.
    p.ferry()
        .env("MIGRATIONS_DIR", "fresh")
        .args(["new", "first"])
        .assert()
        .success();
    assert!(p.path().join("fresh/0001_first.up.sql").exists());
}

/// The printed total left out commits and syncs.
#[test]
fn the_reported_time_is_the_runs_wall_time() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(30);
    let out = p.ferry().args(["db", "migrate", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = v["applied"].as_array().unwrap();
    let each: i64 = steps.iter().map(|s| s["ms"].as_i64().unwrap()).sum();
    let scripts: i64 = steps.iter().map(|s| s["execution_ms"].as_i64().unwrap()).sum();
    assert!(each >= scripts, "each step's time includes its commit");
    p.ferry().args(["db", "revert", "--to", "0"]).assert().success();
    let text = p.ferry().args(["db", "migrate"]).output().unwrap();
    assert!(stdout(&text).contains("applied 30 migrations in "), "{}", stdout(&text));
}

/// `ferry adopt` without a config migration left `config migrate` saying
/// "nothing to change" while `config diff` listed changes.
#[test]
fn config_migrate_starts_where_the_files_are() {
    let db = TestDb::new(Kind::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let osmen = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/osmen");
    std::process::Command::new("cp")
        .args([
            "-R",
            &format!("{}/.", osmen.display()),
            &dir.path().display().to_string(),
        ])
        .status()
        .unwrap();
    let run = |args: &[&str]| {
        ferry()
            .current_dir(dir.path())
            .env("DATABASE_URL", &db.url)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["db", "migrate"]).status.success());
    assert!(run(&["adopt", "2.1.0"]).status.success());
    let status = stdout(&run(&["status"]));
    assert!(status.contains("but the files look like 1.5.0"), "{status}");
    let dry = stdout(&run(&["config", "migrate", "--dry-run"]));
    assert!(dry.contains("+QDRANT_HOST=") && dry.contains("-AGENT_MEMORY="), "{dry}");
    assert!(!dry.contains("nothing to change"), "{dry}");
    assert!(run(&["config", "migrate"]).status.success());
    let diff = stdout(&run(&["config", "diff"]));
    assert_eq!(diff, "config files: nothing missing, nothing deprecated\n");
}

/// A revert refused for missing down files printed two lines per migration.
#[test]
fn a_revert_refused_for_many_missing_downs_is_one_summary() {
    let p = Proj::new(Kind::Sqlite);
    for i in 1..=40 {
        p.write(
            &format!("migrations/{i:04}_t{i}.up.sql"),
            &format!("CREATE TABLE t{i} (id INTEGER);\n"),
        );
    }
    p.ferry().args(["db", "migrate"]).assert().success();
    let out = p.ferry().args(["db", "revert", "--to", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.lines().count() <= 4, "{err}");
    assert!(
        err.contains("40 migrations in range have no down file") && err.contains("and 35 more"),
        "{err}"
    );
}

/// Rename suggestions named files that ferry itself then rejected.
#[test]
fn rename_suggestions_are_names_ferry_accepts() {
    let p = Proj::new(Kind::Sqlite);
    p.write("migrations/0021_x_down.sql", "DROP TABLE x;\n");
    p.write("migrations/data_oauth_github.sql", "SELECT 1;\n");
    let out = p.ferry().args(["db", "status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("`0021_x.down.sql`: it is the down half"), "{err}");
    assert!(err.contains("`0001_data_oauth_github.up.sql`"), "{err}");
    assert!(
        !err.contains("0021_x_down.up.sql") && !err.contains("`data_oauth_github.up.sql`"),
        "{err}"
    );
}

/// Usage errors exited 1, and one error exited 2 or 1 depending on the command.
#[test]
fn usage_and_configuration_errors_exit_2() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(1);
    p.write("releases/1.0.0.toml", "version = \"1.0.0\"\nschema = 1\n");
    for args in [
        &["plan", "--to", "1.2"][..],
        &["plan", "--from", "x.y.z"],
        &["upgrade", "--to", "one", "--yes"],
        &["rollback", "--to", "1", "--yes"],
        &["config", "migrate", "--to", "2"],
        &["adopt", "next"],
        &["--today", "2020-13-01", "status"],
        &["config", "diff", "somefile"],
        &["--database-url", "postgres://u@localhost:99999/x", "db", "status"],
    ] {
        let out = p.ferry().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    // An unset variable in the URL is a configuration error from every command.
    p.write("ferry.toml", "[database]\nurl = \"${FERRY_TEST_NOT_SET_X}\"\n");
    for args in [
        &["db", "status"][..],
        &["config", "migrate"],
        &["status"],
        &["upgrade", "--yes"],
    ] {
        let out = p.ferry().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    // A ferry.toml that is not UTF-8 names its line.
    std::fs::write(p.path().join("ferry.toml"), b"[project]\nname = \"caf\xe9\"\n").unwrap();
    p.ferry()
        .args(["status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ferry.toml:2: the file is not UTF-8 text"));
}

/// OS errors were printed twice, and a symbolic-link loop exited 1.
#[test]
fn os_errors_are_said_once_and_a_link_loop_is_a_configuration_error() {
    let p = Proj::new(Kind::Sqlite);
    std::fs::remove_dir(p.path().join("migrations")).unwrap();
    std::os::unix::fs::symlink(p.path().join("migrations"), p.path().join("migrations")).unwrap();
    let out = p.ferry().args(["db", "status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.matches("Too many levels of symbolic links").count(), 1, "{err}");
    assert!(!err.contains("os error"), "{err}");
}

/// A `[backup] files` pattern that matched nothing was only a log line,
/// with colour codes even off a terminal; a passed drill did not count as a
/// verification.
#[test]
fn unmatched_backup_files_warn_plainly_and_a_drill_verifies() {
    let p = Proj::new(Kind::Sqlite);
    let toml = std::fs::read_to_string(p.path().join("ferry.toml")).unwrap();
    p.write(
        "ferry.toml",
        &format!("{toml}\n[backup]\nfiles = [\".env\", \"certs/*.pem\"]\n"),
    );
    p.write(".env", "A=1\n");
    p.tables(1);
    p.ferry().args(["db", "migrate"]).assert().success();
    // Colour would be allowed here, but stderr is not a terminal.
    let out = p
        .ferry()
        .env_remove("NO_COLOR")
        .args(["backup", "create", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("warning: [backup] files: `certs/*.pem` matches nothing"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "no escape codes off a terminal: {err:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["missing"], serde_json::json!(["certs/*.pem"]));
    let id = v["id"].as_str().unwrap().to_owned();
    p.ferry().args(["backup", "drill", &id]).assert().success();
    let list: serde_json::Value =
        serde_json::from_slice(&p.ferry().args(["backup", "list", "--json"]).output().unwrap().stdout).unwrap();
    assert!(list["backups"][0]["verified_at"].is_string(), "{list}");
}

/// Shell completions and a man page come from the same definitions as the
/// arguments.
#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = ferry().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(stdout(&out).contains("upgrade"), "{shell}");
    }
    let man = ferry().arg("man").output().unwrap();
    assert!(stdout(&man).contains(".TH ferry 1"));
    ferry().args(["completions", "tcsh"]).assert().code(2);
}
