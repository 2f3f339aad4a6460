//! `ferry upgrade` and `ferry rollback` on every engine: a two-hop upgrade
//! with config changes, migrations, hooks, a required backup and a
//! post-upgrade check, taken forward, back, failed, and killed at every
//! step boundary and inside every step.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use ferry_testkit::{Kind, TestDb, per_engine};

use crate::support::{ferry, stderr, stdout};

/// A project at release 1.0.0 whose newest release, 1.2.0, is two hops
/// away (1.2.0 upgrades only from 1.1.0).
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
}

const ENV: &str = "# the app's settings\nA=1\nAPI_TOKEN=tok-9f8e7d6c5b4a\n";

impl Fixture {
    pub fn new(kind: Kind) -> Self {
        let db = TestDb::new(kind);
        let dir = tempfile::tempdir().unwrap();
        let f = Fixture { dir, db };
        f.write(
            "ferry.toml",
            &format!(
                r#"[project]
name = "shop"

[database]
url = "{}"

[config]
dir = "."

[backup]
files = ["app.env"]

[policy.minor]
backup = "required"

[[hooks]]
when = "before"
run = "echo before $FERRY_HOP_FROM $FERRY_HOP_TO >> hooks.log"

[[hooks]]
when = "after"
run = "echo after $FERRY_HOP_TO >> hooks.log"

[[hooks]]
when = "after_rollback"
run = "echo after_rollback >> hooks.log"

[[checks]]
name = "no item is lost"
sql = "SELECT count(*) FROM items"
expect = "3"
"#,
                f.db.url
            ),
        );
        f.write("app.env", ENV);
        std::fs::set_permissions(f.path().join("app.env"), std::fs::Permissions::from_mode(0o640)).unwrap();
        f.write("releases/1.0.0.toml", "version = \"1.0.0\"\nschema = 1\n");
        f.write(
            "releases/1.1.0.toml",
            "version = \"1.1.0\"\nschema = 2\n\n[[config]]\nfile = \"app.env\"\nadd = \"SIZE_UNIT\"\nvalue = \"cm\"\n",
        );
        f.write(
            "releases/1.2.0.toml",
            "version = \"1.2.0\"\nschema = 3\nupgrade_from = \">=1.1.0\"\n\n[[config]]\nfile = \"app.env\"\nrename = \"A\"\nto = \"ALPHA\"\n",
        );
        f.write(
            "migrations/0001_items.up.sql",
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);\nINSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c');\n",
        );
        f.write("migrations/0001_items.down.sql", "DROP TABLE items;\n");
        f.write(
            "migrations/0002_size.up.sql",
            "ALTER TABLE items ADD COLUMN size INTEGER;\nUPDATE items SET size = id * 10;\n",
        );
        f.write("migrations/0002_size.down.sql", "ALTER TABLE items DROP COLUMN size;\n");
        f.write(
            "migrations/0003_tags.up.sql",
            "CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL);\nINSERT INTO tags (id, item_id) VALUES (1, 1);\n",
        );
        f.write("migrations/0003_tags.down.sql", "DROP TABLE tags;\n");
        // Release 1.0.0 is installed.
        f.ok(&["db", "migrate", "--to", "1"]);
        f.ok(&["adopt", "1.0.0"]);
        f
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = ferry();
        cmd.current_dir(self.path()).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ferry {args:?} failed:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// Everything an upgrade changes, without times: each table's rows
    /// (ferry's own tables by their stable columns), the installed release,
    /// and the config file's bytes and mode.
    pub fn state(&self) -> State {
        let tables = self
            .db
            .tables()
            .into_iter()
            .map(|t| {
                let sql = match t.as_str() {
                    "ferry_history" => "SELECT version, name, success FROM ferry_history ORDER BY version".to_owned(),
                    "ferry_release" => "SELECT seq, version, source FROM ferry_release ORDER BY seq".to_owned(),
                    other => format!("SELECT * FROM {other} ORDER BY 1"),
                };
                (t.clone(), self.db.rows(&sql))
            })
            .collect();
        let env = self.path().join("app.env");
        State {
            tables,
            env: std::fs::read_to_string(&env).unwrap(),
            mode: std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        }
    }

    pub fn hooks_log(&self) -> String {
        std::fs::read_to_string(self.path().join("hooks.log")).unwrap_or_default()
    }

    /// Every run's journal, as `ferry runs --journal` prints it.
    pub fn journals(&self) -> String {
        stdout(&self.run(&["runs", "--journal"]))
    }

    /// `ferry status --json` (which exits 1 while a run is unfinished).
    pub fn status_json(&self) -> serde_json::Value {
        serde_json::from_str(&stdout(&self.run(&["status", "--json"]))).unwrap()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    tables: Vec<(String, Vec<Vec<String>>)>,
    env: String,
    mode: u32,
}

fn two_hops_forward_and_back(kind: Kind) {
    let f = Fixture::new(kind);
    let before = f.state();
    // Started from another folder: hooks still run in the project's.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = ferry()
        .current_dir(elsewhere.path())
        .arg("--project")
        .arg(f.path())
        .args(["upgrade", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        !elsewhere.path().join("hooks.log").exists(),
        "a hook ran where ferry was started"
    );
    let text = stdout(&out);
    assert!(text.contains("1.0.0 → 1.2.0, done"), "{text}");
    assert!(text.contains("hop 2 of 2: 1.1.0 → 1.2.0"), "{text}");
    assert!(text.contains("taken and verified"), "{text}");

    // At the target: schema, config, release, hooks in order.
    let after = f.state();
    assert_ne!(after, before);
    let status = f.status_json();
    assert_eq!(status["installed"]["version"], "1.2.0");
    assert_eq!(status["schema"]["current"], 3);
    assert_eq!(status["upgrade"]["state"], "done");
    assert_eq!(
        std::fs::read_to_string(f.path().join("app.env")).unwrap(),
        "# the app's settings\nALPHA=1\nAPI_TOKEN=tok-9f8e7d6c5b4a\nSIZE_UNIT=cm\n"
    );
    assert_eq!(
        f.hooks_log(),
        "before 1.0.0 1.1.0\nafter 1.1.0\nbefore 1.1.0 1.2.0\nafter 1.2.0\n"
    );
    assert_eq!(
        f.db.rows("SELECT size FROM items ORDER BY id"),
        vec![vec!["10"], vec!["20"], vec!["30"]]
    );
    let backups: serde_json::Value = serde_json::from_str(&f.ok(&["backup", "list", "--json"])).unwrap();
    assert_eq!(
        backups["backups"].as_array().unwrap().len(),
        1,
        "one backup for the run"
    );
    assert!(backups["backups"][0]["verified_at"].is_string());

    // Back: the same rows, config bytes and mode, installed release.
    let out = f.ok(&["rollback", "--yes"]);
    assert!(out.contains("rolled back"), "{out}");
    assert!(
        out.contains("down scripts") || out.contains("with its down script"),
        "{out}"
    );
    assert_eq!(f.state(), before);
    assert_eq!(f.status_json()["installed"]["version"], "1.0.0");
    assert!(f.hooks_log().ends_with("after_rollback\n"), "{}", f.hooks_log());
    // Nothing more to roll back.
    let out = f.run(&["rollback", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("rolled back already"), "{}", stderr(&out));
}

fn a_failing_migration_in_the_second_hop_rolls_back_both(kind: Kind) {
    let f = Fixture::new(kind);
    f.write(
        "migrations/0003_tags.up.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL);\nINSERT INTO no_such_table VALUES (1);\n",
    );
    let before = f.state();
    let out = f.run(&["upgrade", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("failed at hop 2 of 2 (1.1.0 → 1.2.0), database migrations"),
        "{err}"
    );
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(f.state(), before, "both hops undone");
    assert_eq!(f.status_json()["upgrade"]["state"], "rolled_back");
    if kind == Kind::MySql {
        // MariaDB leaves a failed migration half-done: only the backup can undo it.
        assert!(stdout(&out).contains("restored from backup"), "{}", stdout(&out));
    }
}

fn no_rollback_stops_and_rollback_later_undoes(kind: Kind) {
    let f = Fixture::new(kind);
    f.write(
        "migrations/0003_tags.up.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\nSELECT * FROM no_such_table;\n",
    );
    let before = f.state();
    let out = f.run(&["upgrade", "--yes", "--no-rollback"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("left as it is for inspection"),
        "{}",
        stderr(&out)
    );
    assert_eq!(f.status_json()["installed"]["version"], "1.1.0", "the first hop stays");
    let status = f.run(&["status"]);
    assert_eq!(status.status.code(), Some(1), "an unfinished run needs a person");
    assert!(stdout(&status).contains("failed (interrupted)"), "{}", stdout(&status));
    // Nothing else may change the installation meanwhile.
    let out = f.run(&["db", "migrate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ferry upgrade --rollback"), "{}", stderr(&out));
    let out = f.run(&["upgrade", "--yes"]);
    assert!(stderr(&out).contains("did not finish"), "{}", stderr(&out));
    f.ok(&["upgrade", "--rollback"]);
    assert_eq!(f.state(), before);
}

fn a_failing_hook_rolls_back(kind: Kind) {
    let f = Fixture::new(kind);
    f.write(
        "releases/1.2.0.toml",
        "version = \"1.2.0\"\nschema = 3\nupgrade_from = \">=1.1.0\"\n\n[[hooks]]\nwhen = \"after\"\nrun = \"echo the service did not start; exit 3\"\n",
    );
    let before = f.state();
    let out = f.run(&["upgrade", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("after hooks") && err.contains("exit status 3"), "{err}");
    assert!(err.contains("the service did not start"), "{err}");
    assert_eq!(f.state(), before);
}

fn a_failing_check_rolls_back(kind: Kind) {
    let f = Fixture::new(kind);
    // The last migration loses an item: the post-upgrade check sees it.
    f.write(
        "migrations/0003_tags.up.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL);\nDELETE FROM items WHERE id = 3;\n",
    );
    f.write(
        "migrations/0003_tags.down.sql",
        "INSERT INTO items (id, name, size) VALUES (3, 'c', 30);\nDROP TABLE tags;\n",
    );
    let before = f.state();
    let out = f.run(&["upgrade", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("check `no item is lost` failed: expected 3, got 2"),
        "{err}"
    );
    assert_eq!(f.state(), before);
}

fn a_missing_down_script_rolls_back_from_the_backup(kind: Kind) {
    let f = Fixture::new(kind);
    std::fs::remove_file(f.path().join("migrations/0002_size.down.sql")).unwrap();
    let before = f.state();
    f.ok(&["upgrade", "--yes"]);
    let out = f.ok(&["rollback", "--yes"]);
    assert!(out.contains("restored from backup"), "{out}");
    assert_eq!(f.state(), before);
    // --restore forces the backup even where down scripts exist.
    let g = Fixture::new(kind);
    let before = g.state();
    g.ok(&["upgrade", "--yes"]);
    let out = g.ok(&["rollback", "--yes", "--restore"]);
    assert!(out.contains("restored from backup"), "{out}");
    assert_eq!(g.state(), before);
}

fn rollback_to_a_release_the_run_passed_through(kind: Kind) {
    let f = Fixture::new(kind);
    f.ok(&["upgrade", "--yes"]);
    let out = f.run(&["rollback", "--yes", "--to", "0.9.0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("roll back to one of: 1.0.0, 1.1.0"),
        "{}",
        stderr(&out)
    );
    f.ok(&["rollback", "--yes", "--to", "1.1.0"]);
    let status = f.status_json();
    assert_eq!(status["installed"]["version"], "1.1.0");
    assert_eq!(status["schema"]["current"], 2);
    assert!(
        std::fs::read_to_string(f.path().join("app.env"))
            .unwrap()
            .contains("\nA=1\n")
    );
    // And the rest of the way.
    f.ok(&["rollback", "--yes"]);
    assert_eq!(f.status_json()["installed"]["version"], "1.0.0");
}

per_engine!(
    two_hops_forward_and_back,
    a_failing_migration_in_the_second_hop_rolls_back_both,
    no_rollback_stops_and_rollback_later_undoes,
    a_failing_hook_rolls_back,
    a_failing_check_rolls_back,
    a_missing_down_script_rolls_back_from_the_backup,
    rollback_to_a_release_the_run_passed_through,
);

#[test]
fn dry_run_shows_every_step_and_changes_nothing() {
    let f = Fixture::new(Kind::Sqlite);
    let before = f.state();
    let out = f.ok(&["upgrade", "--dry-run"]);
    for want in [
        "hop 1 of 2: 1.0.0 → 1.1.0, step by step",
        "take and verify a backup",
        "none: the run's backup covers this hop",
        "$ echo before $FERRY_HOP_FROM $FERRY_HOP_TO >> hooks.log",
        "ALTER TABLE items ADD COLUMN size INTEGER;",
        "+SIZE_UNIT=cm",
        "-A=1",
        "API_TOKEN=****",
        "dry run: nothing was changed",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("tok-9f8e7d6c5b4a"), "{out}");
    assert_eq!(f.state(), before);
    assert!(!f.path().join(".ferry/runs").exists());
}

#[test]
fn without_a_terminal_upgrade_needs_yes() {
    let f = Fixture::new(Kind::Sqlite);
    let out = f.run(&["upgrade"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    let out = f.run(&["upgrade", "--yes", "--to", "1.2"]);
    assert_eq!(out.status.code(), Some(2), "a bad version is a usage error");
}

#[test]
fn secrets_stay_out_of_journals_hooks_and_output() {
    let f = Fixture::new(Kind::Postgres);
    // A password in the URL (the test server trusts local connections and ignores it).
    let url = f.db.url.replacen("postgres@", "postgres:pw-5e6f7a8b9c@", 1);
    let toml = std::fs::read_to_string(f.path().join("ferry.toml"))
        .unwrap()
        .replace(&f.db.url, &url);
    f.write("ferry.toml", &toml);
    f.write(
        "releases/1.1.0.toml",
        "version = \"1.1.0\"\nschema = 2\n\n[[hooks]]\nwhen = \"before\"\nrun = \"echo url=$FERRY_DATABASE_URL; cat app.env\"\n",
    );
    let out = f.run(&["upgrade", "--yes", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let everything = format!("{}{}{}", stdout(&out), stderr(&out), f.journals());
    assert!(
        everything.contains("url=postgres://postgres:****@"),
        "the hook ran and its output was kept"
    );
    for secret in ["pw-5e6f7a8b9c", "tok-9f8e7d6c5b4a"] {
        assert!(!everything.contains(secret), "{secret} leaked:\n{everything}");
    }
    // Nor in the state's tables, read directly.
    let tables = format!("{:?}", f.db.rows("SELECT * FROM ferry_state.ferry_history_journal"));
    assert!(tables.contains("url=postgres://postgres:****@"), "{tables}");
    assert!(!tables.contains("pw-5e6f7a8b9c"), "{tables}");
}

/// `[state] dir` keeps the run state in a folder: private to its owner,
/// each file too.
#[test]
fn a_state_folder_is_private() {
    let f = Fixture::new(Kind::Sqlite);
    let toml = std::fs::read_to_string(f.path().join("ferry.toml")).unwrap();
    f.write("ferry.toml", &format!("{toml}\n[state]\ndir = \"state\"\n"));
    f.ok(&["upgrade", "--yes"]);
    assert!(f.journals().contains("\"finished\""), "{}", f.journals());
    assert!(
        !f.db.all_tables().iter().any(|t| t.contains("state")),
        "{:?}",
        f.db.all_tables()
    );
    let mut files = 0;
    let mut todo = vec![f.path().join("state")];
    while let Some(path) = todo.pop() {
        let md = std::fs::metadata(&path).unwrap();
        let want = if md.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(md.permissions().mode() & 0o777, want, "{path:?}");
        if md.is_dir() {
            todo.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            files += 1;
        }
    }
    assert!(files >= 2, "a run's info and journal at least");
}

#[test]
fn two_upgrades_at_once_upgrade_once() {
    let f = Fixture::new(Kind::Postgres);
    // A slow hook keeps the first run busy while the second starts.
    f.write(
        "releases/1.1.0.toml",
        "version = \"1.1.0\"\nschema = 2\n\n[[hooks]]\nwhen = \"before\"\nrun = \"sleep 1\"\n",
    );
    let spawn = || {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"));
        cmd.args(["upgrade", "--yes", "--lock-timeout", "60s"])
            .current_dir(f.path())
            .env_remove("DATABASE_URL")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let a = spawn();
    let b = spawn();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        stderr(&a),
        stderr(&b)
    );
    let outs = format!("{}{}", stdout(&a), stdout(&b));
    assert_eq!(outs.matches(", done").count(), 1, "{outs}");
    assert!(outs.contains("already at 1.2.0: nothing to do"), "{outs}");
    assert_eq!(f.hooks_log().matches("before 1.0.0 1.1.0").count(), 1);
    let runs: serde_json::Value = serde_json::from_str(&f.ok(&["runs", "--json"])).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
}

/// Killed at every step boundary and inside every step (debug-build crash
/// points: `FERRY_TEST_CRASH_AT=N` right after journal record N is on disk,
/// `FERRY_TEST_CRASH_INSIDE=N` after the step record N started has done its
/// work, before the journal says so). `--resume` then reaches the state an
/// uninterrupted run reaches; `--rollback` the state before the run.
mod interrupted {
    use super::*;

    /// The journal of a clean run: how many records, and which start steps.
    fn clean_run(kind: Kind) -> (u64, Vec<u64>, State) {
        let f = Fixture::new(kind);
        f.ok(&["upgrade", "--yes"]);
        let journal = f.journals();
        let records: Vec<serde_json::Value> = journal
            .lines()
            .filter(|l| l.starts_with("{\"seq\""))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let starts = records
            .iter()
            .filter(|r| r["event"] == "step_started")
            .map(|r| r["seq"].as_u64().unwrap())
            .collect();
        (records.len() as u64, starts, f.state())
    }

    fn crash(f: &Fixture, var: &str, k: u64) {
        let out = f.run_env(&["upgrade", "--yes"], &[(var, &k.to_string())]);
        assert!(
            out.status.code().is_none(),
            "{var}={k}: the run should have been killed:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
    }

    fn finished(f: &Fixture) -> bool {
        f.status_json()["upgrade"]["state"] == "done"
    }

    fn matrix(kind: Kind, var: &str, resume: bool) {
        let (n, starts, target) = clean_run(kind);
        let points: Vec<u64> = if var == "FERRY_TEST_CRASH_AT" {
            (1..=n).collect()
        } else {
            starts
        };
        assert!(points.len() >= 16, "{points:?}");
        for k in points {
            let f = Fixture::new(kind);
            let before = f.state();
            crash(&f, var, k);
            if resume {
                if finished(&f) {
                    // Killed after its last record: there is nothing to finish.
                    assert_eq!(f.state(), target, "{var}={k}");
                    continue;
                }
                let out = f.run(&["upgrade", "--resume"]);
                assert!(out.status.success(), "{var}={k}: {}\n{}", stdout(&out), stderr(&out));
                assert_eq!(f.state(), target, "{var}={k}: resumed");
                assert_eq!(f.status_json()["upgrade"]["state"], "done", "{var}={k}");
            } else {
                let args: &[&str] = if finished(&f) {
                    &["rollback", "--yes"]
                } else {
                    &["upgrade", "--rollback"]
                };
                let out = f.run(args);
                assert!(out.status.success(), "{var}={k}: {}\n{}", stdout(&out), stderr(&out));
                assert_eq!(f.state(), before, "{var}={k}: rolled back");
            }
            // No temporary file is left in the config folder or the backups.
            for dir in [f.path().to_owned(), f.path().join(".ferry/backups")] {
                for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    assert!(!name.starts_with(".ferry-"), "{var}={k}: {name} left behind");
                }
            }
        }
    }

    fn at_every_boundary_then_resume(kind: Kind) {
        matrix(kind, "FERRY_TEST_CRASH_AT", true);
    }

    fn at_every_boundary_then_rollback(kind: Kind) {
        matrix(kind, "FERRY_TEST_CRASH_AT", false);
    }

    fn inside_every_step_then_resume(kind: Kind) {
        matrix(kind, "FERRY_TEST_CRASH_INSIDE", true);
    }

    fn inside_every_step_then_rollback(kind: Kind) {
        matrix(kind, "FERRY_TEST_CRASH_INSIDE", false);
    }

    per_engine!(
        at_every_boundary_then_resume,
        at_every_boundary_then_rollback,
        inside_every_step_then_resume,
        inside_every_step_then_rollback,
    );
}
