//! Bad input gets an error that names the file, the line and the fix, with
//! exit status 2, and nothing is changed.

use ferry_testkit::Kind;
use predicates::prelude::*;

use crate::support::{Proj, ferry};

#[test]
fn no_project_file() {
    let dir = tempfile::tempdir().unwrap();
    ferry()
        .current_dir(dir.path())
        .args(["db", "status"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no ferry.toml in the current folder").and(predicate::str::contains("ferry init")),
        );
}

#[test]
fn unknown_key_and_bad_values_name_file_and_line() {
    let p = Proj::new(Kind::Sqlite);
    p.write(
        "ferry.toml",
        "[database]\nurl = \"sqlite://x.db\"\nhistroy_table = \"h\"\n",
    );
    ferry()
        .current_dir(p.path())
        .args(["db", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ferry.toml:3:").and(predicate::str::contains("histroy_table")));
    p.write(
        "ferry.toml",
        "[database]\nurl = \"sqlite://x.db\"\nlock_timeout = \"forever\"\n",
    );
    ferry()
        .current_dir(p.path())
        .args(["db", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ferry.toml:3: lock_timeout").and(predicate::str::contains("\"30s\"")));
    p.write("ferry.toml", "[database]\nurl = \"${FERRY_SURELY_UNSET_VARIABLE}\"\n");
    ferry()
        .current_dir(p.path())
        .args(["db", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ferry.toml:2:").and(predicate::str::contains("--database-url")));
    assert!(!p.path().join("x.db").exists(), "nothing was created");
}

#[test]
fn bad_migration_files_are_all_reported() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(1);
    p.write("migrations/0001_dup.up.sql", "SELECT 1;\n");
    p.write("migrations/0002_x.sql", "SELECT 1;\n");
    p.write("migrations/0003_late.up.sql", "SELECT 1;\n-- ferry:no-transaction\n");
    let out = ferry().current_dir(p.path()).args(["db", "migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("version 1 is used twice"), "{err}");
    assert!(err.contains("0002_x.sql") && err.contains("0002_x.up.sql"), "{err}");
    assert!(err.contains("0003_late.up.sql:2:"), "{err}");
    assert!(p.db.tables().is_empty(), "nothing ran");
}

#[test]
fn transaction_control_in_a_wrapped_migration_is_refused_before_anything_runs() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(1);
    p.write(
        "migrations/0002_commit.up.sql",
        "CREATE TABLE c (id INTEGER);\nCOMMIT;\n",
    );
    ferry()
        .current_dir(p.path())
        .args(["db", "migrate"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("0002_commit.up.sql:2:").and(predicate::str::contains("-- ferry:no-transaction")),
        );
    assert!(p.db.tables().is_empty());
}

#[test]
fn usage_errors_exit_2() {
    ferry()
        .args(["db", "revert", "--to", "1", "--steps", "2"])
        .assert()
        .code(2);
    ferry().args(["db", "frobnicate"]).assert().code(2);
    ferry()
        .args(["--version"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ferry"));
}

#[test]
fn unreachable_database_exits_1() {
    let p = Proj::new(Kind::Sqlite);
    ferry()
        .current_dir(p.path())
        .args(["--database-url", "postgres://nobody@127.0.0.1:1/none", "db", "status"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot connect to postgres://nobody@127.0.0.1:1/none",
        ));
    ferry()
        .current_dir(p.path())
        .args(["--database-url", "sqlite://no/such/folder/x.db", "db", "status"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not exist"));
}
