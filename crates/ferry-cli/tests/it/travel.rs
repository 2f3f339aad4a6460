//! Run state travels with the database: an upgrade killed in one copy of
//! the project is resumed from a fresh copy (no `.ferry/`), then rolled
//! back from a third, as a fresh pod of a Kubernetes Job would; a rollback
//! killed in the middle of the restore that drives it resumes from the same
//! journal. The project (ferry.toml, releases, migrations) is what each
//! copy has of its own, as an image has; the config files and backups are
//! on a shared folder, as on a volume; the database is the same.

use std::path::{Path, PathBuf};

use ferry_testkit::{Kind, per_engine};

use crate::support::{stderr, stdout};
use crate::upgrade::Fixture;

/// The shop fixture with its config files and backups on a shared folder,
/// and copies of its project folder.
struct Travel {
    f: Fixture,
    shared: tempfile::TempDir,
    copies: Vec<tempfile::TempDir>,
}

impl Travel {
    fn new(kind: Kind) -> Self {
        let f = Fixture::new(kind);
        let shared = tempfile::tempdir().unwrap();
        let etc = shared.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::rename(f.path().join("app.env"), etc.join("app.env")).unwrap();
        let toml = std::fs::read_to_string(f.path().join("ferry.toml"))
            .unwrap()
            .replace(
                "[config]\ndir = \".\"",
                &format!("[config]\ndir = \"{}\"", etc.display()),
            )
            .replace(
                "[backup]\n",
                &format!("[backup]\ndir = \"{}\"\n", shared.path().join("backups").display()),
            );
        f.write("ferry.toml", &toml);
        Travel {
            f,
            shared,
            copies: Vec::new(),
        }
    }

    /// A fresh copy of the project folder: ferry.toml, releases and
    /// migrations; nothing ferry wrote.
    fn copy(&mut self) -> PathBuf {
        let to = tempfile::tempdir().unwrap();
        for rel in ["ferry.toml", "releases", "migrations"] {
            copy(&self.f.path().join(rel), &to.path().join(rel));
        }
        let path = to.path().to_owned();
        self.copies.push(to);
        path
    }

    fn ferry(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = crate::support::ferry();
        cmd.current_dir(dir).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.ferry(dir, args, &[]);
        assert!(
            out.status.success(),
            "ferry {args:?} in {dir:?}:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// The database's tables (ferry's history and release by their stable
    /// columns) and the config file's bytes.
    fn state(&self) -> (Tables, String) {
        let db = &self.f.db;
        let tables = db
            .tables()
            .into_iter()
            .map(|t| {
                let sql = match t.as_str() {
                    "ferry_history" => "SELECT version, name, success FROM ferry_history ORDER BY version".to_owned(),
                    "ferry_release" => "SELECT seq, version, source FROM ferry_release ORDER BY seq".to_owned(),
                    other => format!("SELECT * FROM {other} ORDER BY 1"),
                };
                (t.clone(), db.rows(&sql))
            })
            .collect();
        let env = std::fs::read_to_string(self.shared.path().join("etc/app.env")).unwrap();
        (tables, env)
    }

    /// The last run's state, as `ferry runs last --json` says from `dir`.
    fn last_run(&self, dir: &Path) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&stdout(&self.ferry(dir, &["runs", "last", "--json"], &[]))).unwrap();
        v["state"].as_str().unwrap_or_default().to_owned()
    }
}

/// Each table's name and rows.
type Tables = Vec<(String, Vec<Vec<String>>)>;

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// The journal's sequence numbers of the records that start the migrate
/// step of each hop, and the config step of the second, read from an
/// unbroken run's journal.
fn kill_points(journal: &str) -> Vec<u64> {
    journal
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| {
            r["event"] == "step_started" && (r["step"] == "migrate" || (r["step"] == "config" && r["hop"] == 1))
        })
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

fn killed_in_one_folder_resumed_in_another_rolled_back_from_a_third(kind: Kind) {
    // What an unbroken run ends with, and where to kill one.
    let mut unbroken = Travel::new(kind);
    let before = unbroken.state();
    let a = unbroken.copy();
    unbroken.ok(&a, &["upgrade", "--yes"]);
    let done = unbroken.state();
    assert_ne!(done, before);
    let points = kill_points(&unbroken.ok(&a, &["runs", "last", "--journal"]));
    assert_eq!(points.len(), 3, "{points:?}");

    for at in points {
        let mut t = Travel::new(kind);
        assert_eq!(t.state(), before);
        let (a, b, c) = (t.copy(), t.copy(), t.copy());
        let out = t.ferry(
            &a,
            &["upgrade", "--yes"],
            &[("FERRY_TEST_CRASH_INSIDE", &at.to_string())],
        );
        assert_eq!(out.status.code(), None, "killed inside record {at}: {}", stderr(&out));
        assert!(!b.join(".ferry").exists());

        // The fresh copy sees the run, and refuses to start another.
        let status = t.ferry(&b, &["status"], &[]);
        assert_eq!(status.status.code(), Some(1));
        assert!(stdout(&status).contains("--resume"), "{}", stdout(&status));
        let again = t.ferry(&b, &["db", "migrate"], &[]);
        assert_eq!(again.status.code(), Some(1));
        assert!(stderr(&again).contains("--resume"), "{}", stderr(&again));

        let out = t.ok(&b, &["upgrade", "--resume"]);
        assert!(out.contains("done"), "{out}");
        assert_eq!(t.state(), done, "killed at {at}, resumed elsewhere: as an unbroken run");
        assert_eq!(t.last_run(&c), "done");

        t.ok(&c, &["rollback", "--yes"]);
        assert_eq!(t.state(), before, "killed at {at}: rolled back from a third copy");
        assert_eq!(t.last_run(&a), "rolled_back");
        for dir in [&b, &c] {
            assert!(!dir.join(".ferry/runs").exists(), "no run state in {dir:?}");
        }
    }
}

/// The engine's last point inside a restore, before it is done.
fn restore_point(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Sqlite => &["sqlite-before-rename"],
        Kind::Postgres => &["pg-before-feed", "pg-before-commit"],
        Kind::MySql => &["mysql-loaded", "mysql-marked", "mysql-swapped"],
    }
}

fn a_rollback_killed_inside_its_restore_resumes_from_its_journal(kind: Kind) {
    for point in restore_point(kind) {
        let mut t = Travel::new(kind);
        // Without a down script, the way back is the run's backup.
        std::fs::remove_file(t.f.path().join("migrations/0002_size.down.sql")).unwrap();
        let before = t.state();
        let a = t.copy();
        t.ok(&a, &["upgrade", "--yes"]);
        let out = t.ferry(&a, &["rollback", "--yes"], &[("FERRY_TEST_CRASH_RESTORE", point)]);
        assert_eq!(out.status.code(), None, "killed at {point}: {}", stderr(&out));
        // The journal driving the rollback survived the restore.
        let b = t.copy();
        assert_eq!(t.last_run(&b), "rolling_back", "killed at {point}");
        let out = t.ok(&b, &["upgrade", "--rollback"]);
        assert!(out.contains("restored from backup"), "{out}");
        assert_eq!(t.state(), before, "killed at {point}, then resumed");
        assert_eq!(t.last_run(&a), "rolled_back");
    }
}

per_engine!(
    killed_in_one_folder_resumed_in_another_rolled_back_from_a_third,
    a_rollback_killed_inside_its_restore_resumes_from_its_journal,
);

/// A fresh install on SQLite starts before the database's file exists: the
/// journal goes into the file the run makes, not into a connection's
/// memory, so a run killed part-way is there to resume.
#[test]
fn a_fresh_sqlite_install_killed_part_way_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "ferry.toml",
        "[project]\nname = \"fresh\"\n\n[database]\nurl = \"sqlite://data/app.db\"\n",
    );
    write("releases/1.0.0.toml", "version = \"1.0.0\"\nschema = 2\n");
    write("migrations/0001_a.up.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n");
    write("migrations/0001_a.down.sql", "DROP TABLE a;\n");
    write("migrations/0002_b.up.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);\n");
    write("migrations/0002_b.down.sql", "DROP TABLE b;\n");
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let ferry = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = crate::support::ferry();
        cmd.current_dir(dir.path()).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let plan = ferry(&["upgrade", "--yes", "--dry-run"], &[]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    assert!(!dir.path().join("data/app.db").exists(), "a dry run makes no file");
    // Killed once the migrate step (record 10: started, preflight, hooks,
    // backup and config before it) has done its work.
    let out = ferry(&["upgrade", "--yes"], &[("FERRY_TEST_CRASH_INSIDE", "10")]);
    assert_eq!(out.status.code(), None, "{}", stderr(&out));
    let journal = stdout(&ferry(&["runs", "last", "--journal"], &[]));
    let last = journal.lines().last().unwrap_or_default();
    assert!(
        last.contains("\"step_started\"") && last.contains("\"step\":\"migrate\""),
        "{journal}"
    );
    let status = ferry(&["status"], &[]);
    assert!(stdout(&status).contains("--resume"), "{}", stdout(&status));
    let out = ferry(&["upgrade", "--resume"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs: serde_json::Value = serde_json::from_str(&stdout(&ferry(&["runs", "--json"], &[]))).unwrap();
    let last = runs["runs"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["state"], "done", "{runs}");
    assert_eq!(last["to"], "1.0.0");
}

/// The shop fixture, its URL's user swapped for `user` (with `password`).
fn as_user(f: &Fixture, user: &str, password: &str) {
    let (scheme, rest) = f.db.url.split_once("://").unwrap();
    let host = rest.split_once('@').unwrap().1;
    let url = format!("{scheme}://{user}:{password}@{host}");
    let toml = std::fs::read_to_string(f.path().join("ferry.toml"))
        .unwrap()
        .replace(&f.db.url, &url);
    f.write("ferry.toml", &toml);
}

/// A PostgreSQL user that may create tables in `public` but not a schema
/// is told which grant ferry's run state needs, and nothing is changed.
#[test]
fn a_postgres_user_without_create_rights_is_told_the_grant() {
    let f = Fixture::new(Kind::Postgres);
    let role = format!("ferry_nocreate_{}", std::process::id());
    f.db.exec(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'pw-nocreate';
         GRANT USAGE, CREATE ON SCHEMA public TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};"
    ));
    let before = f.state();
    as_user(&f, &role, "pw-nocreate");
    let out = f.run(&["upgrade", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("GRANT CREATE ON DATABASE \"{}\" TO \"{role}\"", f.db.name()))
            && err.contains("CREATE SCHEMA ferry_state")
            && err.contains("[state] dir"),
        "{err}"
    );
    assert!(!err.contains("pw-nocreate"), "{err}");
    assert_eq!(f.state(), before, "nothing changed");
    f.db.exec(&format!("DROP OWNED BY {role}; DROP ROLE {role};"));
}

/// The same on MariaDB: a user without CREATE on the database.
#[test]
fn a_mariadb_user_without_create_rights_is_told_the_grant() {
    let f = Fixture::new(Kind::MySql);
    let user = format!("ferry_nc_{}", std::process::id());
    let db = f.db.name().to_owned();
    f.db.exec(&format!(
        "DROP USER IF EXISTS '{user}'@'%'; DROP USER IF EXISTS '{user}'@'localhost';
         CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-nocreate';
         CREATE USER '{user}'@'localhost' IDENTIFIED BY 'pw-nocreate';
         GRANT SELECT, INSERT, UPDATE, DELETE, ALTER, DROP, INDEX ON `{db}`.* TO '{user}'@'%';
         GRANT SELECT, INSERT, UPDATE, DELETE, ALTER, DROP, INDEX ON `{db}`.* TO '{user}'@'localhost';"
    ));
    let before = f.state();
    as_user(&f, &user, "pw-nocreate");
    let out = f.run(&["upgrade", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("GRANT CREATE ON `{db}`.* TO '{user}'@")) && err.contains("[state] dir"),
        "{err}"
    );
    assert!(!err.contains("pw-nocreate"), "{err}");
    assert_eq!(f.state(), before, "nothing changed");
    f.db.exec(&format!("DROP USER '{user}'@'%'; DROP USER '{user}'@'localhost';"));
}

/// A copy of the project an earlier ferry ran (see below), its records'
/// absolute paths pointed at the copy.
fn legacy_project() -> tempfile::TempDir {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-state/project");
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture, dir.path());
    // The records name files by absolute path, of the folder they were made in.
    for entry in std::fs::read_dir(dir.path().join(".ferry/config")).unwrap().flatten() {
        let rec = entry.path().join("record.json");
        if let Ok(text) = std::fs::read_to_string(&rec) {
            let text = text.replace("/tmp/ferry-legacy-project", &dir.path().display().to_string());
            std::fs::write(&rec, text).unwrap();
        }
    }
    dir
}

/// A takeover killed after its first run is copied: the next command
/// finishes it, the journals whole and nothing copied twice.
#[test]
fn a_takeover_killed_part_way_is_finished_by_the_next_command() {
    let dir = legacy_project();
    let ferry = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = crate::support::ferry();
        cmd.current_dir(dir.path()).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = ferry(&["status"], &[("FERRY_TEST_CRASH_TAKEOVER", "1")]);
    assert_eq!(out.status.code(), None, "killed: {}", stderr(&out));
    assert!(!dir.path().join(".ferry/STATE-MOVED-TO-DATABASE").exists());
    assert!(dir.path().join(".ferry/runs").exists(), "nothing renamed yet");

    let out = ferry(&["runs", "--json"], &[]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let states: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["done", "running"], "{runs}");
    assert!(dir.path().join(".ferry/STATE-MOVED-TO-DATABASE").exists());
    // Each journal as the folder had it, line for line.
    for entry in std::fs::read_dir(dir.path().join(".ferry/runs.moved-to-database"))
        .unwrap()
        .flatten()
    {
        if !entry.path().is_dir() {
            continue;
        }
        let id = entry.file_name().to_string_lossy().into_owned();
        let file = std::fs::read_to_string(entry.path().join("journal.jsonl")).unwrap();
        let stored = stdout(&ferry(&["runs", &id, "--journal"], &[]));
        assert_eq!(
            stored.lines().count(),
            file.lines().count() + 1,
            "{id}: its info, then each record"
        );
    }
    let conn = rusqlite::Connection::open(dir.path().join("app.db")).unwrap();
    let docs: i64 = conn
        .query_row("SELECT count(*) FROM ferry_history_state_docs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        docs, 5,
        "the config records, their originals and the verdict; no marker left"
    );
}

/// A project an earlier ferry ran (its run state under `.ferry/`, made by
/// `tests/fixtures/legacy-state/make.sh` with the release before state
/// moved to the database): the first command takes the state over into
/// the database, and the run it left unfinished is resumed and rolled back
/// from there.
#[test]
fn state_an_earlier_ferry_left_in_the_folder_is_taken_over() {
    let dir = legacy_project();
    let ferry = |args: &[&str]| {
        let out = crate::support::ferry()
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), stdout(&out), stderr(&out))
    };
    let (code, out, _) = ferry(&["status"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("--resume"), "{out}");
    let ferry_dir = dir.path().join(".ferry");
    assert!(ferry_dir.join("STATE-MOVED-TO-DATABASE").exists());
    for moved in ["runs", "config", "verified.json"] {
        assert!(!ferry_dir.join(moved).exists(), "{moved} left in place");
        assert!(ferry_dir.join(format!("{moved}.moved-to-database")).exists(), "{moved}");
    }
    let conn = rusqlite::Connection::open(dir.path().join("app.db")).unwrap();
    let docs: Vec<String> = conn
        .prepare("SELECT name FROM ferry_history_state_docs ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        docs.len(),
        5,
        "two config records with an original each, and the verdict: {docs:?}"
    );
    assert!(docs.contains(&"verified.json".to_owned()), "{docs:?}");
    let (_, runs, _) = ferry(&["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    let states: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["done", "running"], "{runs}");

    // The run is resumed from the database, the config record of the
    // earlier ferry rolled back from it.
    let (code, out, err) = ferry(&["upgrade", "--resume"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        std::fs::read_to_string(dir.path().join("app.env"))
            .unwrap()
            .contains("ALPHA=1")
    );
    let (code, out, err) = ferry(&["rollback", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app.env")).unwrap(),
        "# the app settings\nA=1\nSIZE_UNIT=cm\n"
    );
    let (_, status, _) = ferry(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["installed"]["version"], "1.1.0", "{status}");
    // Taken over once: the note stops a second time.
    let (code, _, _) = ferry(&["status"]);
    assert_eq!(code, Some(0));
}
