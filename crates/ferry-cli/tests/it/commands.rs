//! The commands as a user runs them, with their output.

use ferry_testkit::Kind;
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Proj, ferry, stdout};
use ferry_testkit::per_engine;

per_engine!(
    status_json_has_the_documented_shape,
    dry_run_prints_sql_and_changes_nothing,
    validate_and_repair_flow
);

/// Filters that make output stable: times, durations, temporary paths.
fn settings(p: &Proj) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", "[TIME]");
    s.add_filter(r"\(\d+ ms\)", "([N] ms)");
    s.add_filter(r"in \d+ ms", "in [N] ms");
    // A table column of durations: the width varies with the numbers.
    s.add_filter(r"\d+ ms +", "[N] ms  ");
    s.add_filter(r"SQLite \d+\.\d+\.\d+", "SQLite [VERSION]");
    s.add_filter(&regex_escape(&p.path().display().to_string()), "[PROJECT]");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

#[test]
fn init_new_migrate_status_revert() {
    let dir = tempfile::tempdir().unwrap();
    ferry()
        .current_dir(dir.path())
        .args(["init", "--name", "demo"])
        .assert()
        .success()
        .stdout(predicate::str::contains("created ./ferry.toml"));
    assert!(
        std::fs::read_to_string(dir.path().join(".gitattributes"))
            .unwrap()
            .contains("*.sql text eol=lf")
    );
    ferry()
        .current_dir(dir.path())
        .args(["init"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    ferry()
        .current_dir(dir.path())
        .args(["new", "create users"])
        .assert()
        .success();
    ferry()
        .current_dir(dir.path())
        .args(["new", "add_email"])
        .assert()
        .success();
    let m = dir.path().join("migrations");
    std::fs::write(
        m.join("0001_create_users.up.sql"),
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(m.join("0001_create_users.down.sql"), "DROP TABLE users;\n").unwrap();
    std::fs::write(
        m.join("0002_add_email.up.sql"),
        "ALTER TABLE users ADD COLUMN email TEXT;\n",
    )
    .unwrap();
    std::fs::write(
        m.join("0002_add_email.down.sql"),
        "ALTER TABLE users DROP COLUMN email;\n",
    )
    .unwrap();

    // The default URL of a new project is a SQLite file beside ferry.toml.
    let p = Proj {
        db: ferry_testkit::TestDb::new(Kind::Sqlite),
        dir,
    };
    let run = |args: &[&str]| stdout(&p.ferry().args(args).output().unwrap());
    settings(&p).bind(|| {
        insta::assert_snapshot!("status_fresh", run(&["db", "status"]));
        insta::assert_snapshot!("migrate", run(&["db", "migrate"]));
        insta::assert_snapshot!("status_applied", run(&["db", "status"]));
        insta::assert_snapshot!("history", run(&["db", "history"]));
        insta::assert_snapshot!("revert", run(&["db", "revert", "--steps", "2"]));
        insta::assert_snapshot!("migrate_to", run(&["db", "migrate", "--to", "1"]));
    });
    assert!(p.path().join("app.db").exists());
    // --project works from anywhere.
    ferry()
        .args(["--project", p.path().to_str().unwrap(), "db", "migrate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("applied 0002_add_email"));
}

fn status_json_has_the_documented_shape(kind: Kind) {
    let p = Proj::new(kind);
    p.tables(3);
    p.ferry().args(["db", "migrate", "--to", "2"]).assert().success();
    let out = p.ferry().args(["db", "status", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v["migrations"].as_array().unwrap();
    let states: Vec<(u64, &str, &str)> = items
        .iter()
        .map(|m| {
            (
                m["version"].as_u64().unwrap(),
                m["name"].as_str().unwrap(),
                m["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (1, "0001_t1", "applied"),
            (2, "0002_t2", "applied"),
            (3, "0003_t3", "pending")
        ]
    );
    assert_eq!(v["current"], 2);
    assert_eq!(v["pending"], 1);
    let history: Value =
        serde_json::from_slice(&p.ferry().args(["db", "history", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!(history["history"].as_array().unwrap().len(), 2);
    let applied: Value =
        serde_json::from_slice(&p.ferry().args(["db", "migrate", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!(applied["applied"][0]["name"], "0003_t3");
}

fn dry_run_prints_sql_and_changes_nothing(kind: Kind) {
    let p = Proj::new(kind);
    p.tables(2);
    let out = p.ferry().args(["db", "migrate", "--dry-run"]).output().unwrap();
    assert!(out.status.success());
    let sql = stdout(&out);
    assert!(
        sql.contains("CREATE TABLE t1 (id INTEGER PRIMARY KEY);") && sql.contains("INSERT INTO t2 (id) VALUES (2);"),
        "{sql}"
    );
    assert!(p.db.tables().is_empty(), "dry run created {:?}", p.db.tables());
    p.ferry().args(["db", "migrate"]).assert().success();
    let out = p
        .ferry()
        .args(["db", "revert", "--to", "0", "--dry-run"])
        .output()
        .unwrap();
    let sql = stdout(&out);
    assert!(
        sql.find("DROP TABLE t2").unwrap() < sql.find("DROP TABLE t1").unwrap(),
        "newest first: {sql}"
    );
    assert_eq!(p.db.tables(), vec!["ferry_history", "t1", "t2"]);
    p.ferry().args(["db", "revert", "--to", "0"]).assert().success();
    assert_eq!(p.db.tables(), vec!["ferry_history"]);
}

/// `db validate`, `db status` and `db migrate` all refuse the edited 0002_t2.
fn edit_of_t2_is_refused(p: &Proj) {
    p.ferry()
        .args(["db", "validate"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("0002_t2 was edited after it was applied"));
    p.ferry()
        .args(["db", "status"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("modified"));
    p.ferry()
        .args(["db", "migrate"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ferry db repair"));
}

fn validate_and_repair_flow(kind: Kind) {
    let p = Proj::new(kind);
    p.tables(2);
    p.ferry().args(["db", "migrate"]).assert().success();
    p.ferry()
        .args(["db", "validate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok:"));
    p.write(
        "migrations/0002_t2.up.sql",
        "CREATE TABLE t2 (id INTEGER PRIMARY KEY, x INTEGER);\n",
    );
    edit_of_t2_is_refused(&p);
    p.ferry()
        .args(["db", "repair", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("would repair 0002_t2"));
    p.ferry()
        .args(["db", "repair"])
        .assert()
        .success()
        .stdout(predicate::str::contains("repaired 0002_t2: checksum"));
    p.ferry()
        .args(["db", "validate", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"ok\": true"));
    // A folder problem is a finding for validate (exit 1), a configuration
    // error for every other command (exit 2).
    p.write("migrations/0003_orphan.down.sql", "SELECT 1;\n");
    p.ferry()
        .args(["db", "validate"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("0003_orphan.down.sql"));
    p.ferry()
        .args(["db", "migrate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a down file without an up file"));
}

/// The script cache (`.ferry/cache/`) answers for unchanged files only: an
/// applied migration edited in place, to the same size, is still seen as
/// edited, and a new one is run as written.
#[test]
fn an_edit_is_seen_past_the_script_cache() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(2);
    // Files changed in the last two seconds are not cached: let them age.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    p.ferry().args(["db", "migrate"]).assert().success();
    let cache: Vec<_> = std::fs::read_dir(p.path().join(".ferry/cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cache.len(), 1, "{cache:?}");
    let text = std::fs::read_to_string(&cache[0]).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    p.ferry().args(["db", "status"]).assert().success();

    p.write(
        "migrations/0002_t2.up.sql",
        "CREATE TABLE t2 (id INTEGER PRIMARY KEY);\nINSERT INTO t2 (id) VALUES (9);\n",
    );
    edit_of_t2_is_refused(&p);
    p.write(
        "migrations/0003_t3.up.sql",
        "CREATE TABLE t3 (id INTEGER PRIMARY KEY);\n",
    );
    p.write(
        "migrations/0002_t2.up.sql",
        "CREATE TABLE t2 (id INTEGER PRIMARY KEY);\nINSERT INTO t2 (id) VALUES (2);\n",
    );
    p.ferry().args(["db", "migrate"]).assert().success();
    assert_eq!(p.db.tables(), vec!["ferry_history", "t1", "t2", "t3"]);
}

/// `db migrate` across a release whose policy requires a backup warns
/// until a backup is taken after the last migration, and runs either way.
#[test]
fn migrate_across_a_release_that_requires_a_backup_advises_one() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(3);
    for (version, schema) in [("1.0.0", 1), ("1.1.0", 2), ("1.2.0", 3)] {
        p.write(
            &format!("releases/{version}.toml"),
            &format!("version = \"{version}\"\nschema = {schema}\n"),
        );
    }
    let advice = "this crosses release 1.1.0, whose policy requires a backup";
    p.ferry()
        .args(["db", "migrate", "--to", "1"])
        .assert()
        .success()
        .stderr(predicate::str::contains("policy requires a backup").not());
    p.ferry()
        .args(["db", "migrate", "--to", "2"])
        .assert()
        .success()
        .stderr(predicate::str::contains(advice));
    p.ferry().args(["backup", "create"]).assert().success();
    p.ferry()
        .args(["db", "migrate"])
        .assert()
        .success()
        .stderr(predicate::str::contains("policy requires a backup").not());
    assert_eq!(p.db.tables(), vec!["ferry_history", "t1", "t2", "t3"]);
}

/// A release that states its kind is judged by the stated kind: a minor
/// version step stated a patch falls under the patch policy, whose backup
/// is only recommended.
#[test]
fn migrate_across_a_release_stated_a_patch_does_not_ask_for_a_backup() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(2);
    p.write("releases/1.0.0.toml", "version = \"1.0.0\"\nschema = 1\n");
    p.write(
        "releases/1.1.0.toml",
        "version = \"1.1.0\"\nschema = 2\nkind = \"patch\"\n",
    );
    p.ferry().args(["db", "migrate", "--to", "1"]).assert().success();
    p.ferry()
        .args(["db", "migrate"])
        .assert()
        .success()
        .stderr(predicate::str::contains("policy requires a backup").not());
    assert_eq!(p.db.tables(), vec!["ferry_history", "t1", "t2"]);
}

#[test]
fn baseline_then_migrate() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(3);
    p.db.exec("CREATE TABLE t1 (id INTEGER PRIMARY KEY); CREATE TABLE t2 (id INTEGER PRIMARY KEY);");
    p.ferry()
        .args(["db", "baseline", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0002_t2"));
    p.ferry()
        .args(["db", "status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("applied (baseline)"));
    p.ferry()
        .args(["db", "migrate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("applied 1 migration "));
    p.ferry()
        .args(["db", "baseline", "3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already has rows"));
}

#[test]
fn passwords_never_reach_output() {
    // PostgreSQL here trusts local connections, so the password is accepted
    // and ignored: every path that prints the URL is exercised.
    let p = Proj::new(Kind::Postgres);
    let with_password = p.db.url.replacen("postgres@", "postgres:hunter2secret@", 1);
    p.write(".env", &format!("DATABASE_URL={with_password}\n"));
    p.write("ferry.toml", "[database]\nurl = \"${DATABASE_URL}\"\n");
    p.tables(1);
    p.write("migrations/0002_bad.up.sql", "SELECT no_such_function();\n");
    let runs = [
        p.ferry().args(["-vv", "db", "status"]).output().unwrap(),
        p.ferry().args(["db", "status", "--json"]).output().unwrap(),
        p.ferry().args(["-vv", "db", "migrate"]).output().unwrap(),
        p.ferry()
            .args([
                "--database-url",
                "postgres://u:hunter2secret@127.0.0.1:1/x",
                "db",
                "status",
            ])
            .output()
            .unwrap(),
        p.ferry()
            .args([
                "--database-url",
                "mysql://u:hunter2secret@127.0.0.1:1/x",
                "db",
                "status",
            ])
            .output()
            .unwrap(),
    ];
    for out in &runs {
        let all = format!("{}{}", stdout(out), String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains("hunter2secret"), "password leaked:\n{all}");
    }
    assert!(stdout(&runs[0]).contains("postgres:****@"), "{}", stdout(&runs[0]));
    assert!(String::from_utf8_lossy(&runs[3].stderr).contains("cannot connect to postgres://u:****@127.0.0.1:1/x"));
}

#[test]
fn closed_pipe_ends_quietly() {
    let p = Proj::new(Kind::Sqlite);
    // Enough output to fill the pipe after `head` has gone.
    p.tables(1500);
    let ferry = assert_cmd::cargo::cargo_bin("ferry");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' db status | head -1; echo \"exit=${{PIPESTATUS[0]}}\"",
            ferry.display()
        ))
        .current_dir(p.path())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.starts_with("database: sqlite://"), "{text}");
    assert!(text.contains("exit=0"), "{text}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "no panic, no error");
}
