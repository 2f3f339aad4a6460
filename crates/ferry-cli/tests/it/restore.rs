//! Restores that fail or are interrupted never lose data: afterwards the
//! database is exactly as it was or exactly as the backup holds it, never
//! empty or half-loaded, and no child process or work folder outlives the
//! next command.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use ferry_testkit::{Kind, per_engine};

use crate::support::{Proj, stderr, stdout};

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A project with data, a backup of it, and then more data: (project,
/// backup id, the database as the backup holds it, the database now).
/// Each table with a summary of its rows.
type Summary = Vec<(String, Vec<Vec<String>>)>;

fn backed_up(kind: Kind, rows: usize) -> (Proj, String, Summary, Summary) {
    let p = Proj::new(kind);
    p.write(
        "migrations/0001_items.up.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL);\nCREATE VIEW item_names AS SELECT name FROM items;\n",
    );
    p.write(
        "migrations/0001_items.down.sql",
        "DROP VIEW item_names;\nDROP TABLE items;\n",
    );
    p.ferry().args(["db", "migrate"]).assert().success();
    let insert = match kind {
        Kind::Postgres => format!("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, {rows}) g"),
        Kind::MySql => format!(
            "INSERT INTO items WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) SELECT g, CONCAT('item ', g) FROM s"
        ),
        Kind::Sqlite => format!(
            "INSERT INTO items WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) SELECT g, 'item ' || g FROM s"
        ),
    };
    let insert = if kind == Kind::MySql {
        format!("SET SESSION max_recursive_iterations = 10000000; {insert}")
    } else {
        insert
    };
    p.db.exec(&insert);
    let out = p.ferry().args(["backup", "create", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let backup = summary(&p);
    p.db.exec("INSERT INTO items (id, name) VALUES (0, 'added after the backup')");
    p.db.exec("CREATE TABLE later (id INTEGER)");
    let now = summary(&p);
    assert_ne!(backup, now);
    (p, id, backup, now)
}

/// Each table with its row count and smallest and largest id.
fn summary(p: &Proj) -> Summary {
    p.db.tables()
        .into_iter()
        .map(|t| {
            let sql = if t == "items" {
                "SELECT count(*), min(id), max(id) FROM items".to_owned()
            } else {
                format!("SELECT count(*) FROM {t}")
            };
            (t.clone(), p.db.rows(&sql))
        })
        .collect()
}

fn work_dirs(p: &Proj) -> usize {
    std::fs::read_dir(p.path().join(".ferry/backups"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ferry-work-"))
        .count()
}

/// One work folder left by a killed run; `backup prune` removes it.
fn prune_removes_the_leftover(p: &Proj) {
    assert_eq!(work_dirs(p), 1);
    p.ferry()
        .args(["backup", "prune"])
        .assert()
        .success()
        .stdout(predicates::str::contains("removed 1 leftover"));
    assert_eq!(work_dirs(p), 0);
}

fn crash_restore(p: &Proj, id: &str, point: &str) {
    let out = p
        .ferry()
        .args(["backup", "restore", id, "--yes"])
        .env("FERRY_TEST_CRASH_RESTORE", point)
        .output()
        .unwrap();
    assert!(out.status.code().is_none(), "{point}: not killed: {}", stderr(&out));
}

fn interrupted_restore_leaves_the_database_as_it_was(kind: Kind) {
    let point = match kind {
        Kind::Postgres => "pg-before-commit",
        Kind::MySql => "mysql-loaded",
        Kind::Sqlite => "sqlite-before-rename",
    };
    let (p, id, backup, now) = backed_up(kind, 100);
    crash_restore(&p, &id, point);
    assert_eq!(summary(&p), now, "{point}: the database is as it was");
    p.ferry().args(["db", "status"]).assert().success();
    // The killed run's work folder goes with the next command that cleans.
    prune_removes_the_leftover(&p);
    // And a restore that runs through gives exactly the backup.
    p.ferry().args(["backup", "restore", &id, "--yes"]).assert().success();
    assert_eq!(summary(&p), backup);
}

per_engine!(interrupted_restore_leaves_the_database_as_it_was);

#[test]
fn mariadb_restore_stopped_while_swapping_blocks_commands_until_run_again() {
    for point in ["mysql-marked", "mysql-swapped", "mysql-objects"] {
        let (p, id, backup, now) = backed_up(Kind::MySql, 100);
        crash_restore(&p, &id, point);
        if point == "mysql-marked" {
            assert_eq!(
                summary(&p)
                    .into_iter()
                    .filter(|(t, _)| t != "ferry_restore")
                    .collect::<Vec<_>>(),
                now
            );
        }
        for args in [&["db", "status"][..], &["db", "migrate"], &["backup", "create"]] {
            let out = p.ferry().args(args).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{point}: {args:?}");
            assert!(
                stderr(&out).contains(&format!("ferry backup restore {id} --yes")),
                "{point}: {}",
                stderr(&out)
            );
        }
        p.ferry().args(["backup", "restore", &id, "--yes"]).assert().success();
        assert_eq!(summary(&p), backup, "{point}: finished, exactly the backup");
        assert_eq!(
            p.db.column("SELECT count(*) FROM item_names"),
            vec!["100"],
            "{point}: the view is back"
        );
        // The scratch database this restore used (named after its target) is gone.
        use sha2::Digest;
        let scratch = format!(
            "ferry_restore_{}",
            &hex::encode(sha2::Sha256::digest(p.db.name().as_bytes()))[..16]
        );
        assert!(
            p.db.column(&format!(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name = '{scratch}'"
            ))
            .is_empty(),
            "{point}: the scratch database is gone"
        );
    }
}

#[test]
fn postgres_restore_that_fails_on_a_missing_role_changes_nothing() {
    let (p, id, backup, _) = backed_up(Kind::Postgres, 10);
    let role = format!("ferry_r{}", std::process::id());
    // The backup grants to a role that is gone by the time of the restore.
    p.db.exec(&format!("CREATE ROLE {role}; GRANT SELECT ON items TO {role}"));
    let out = p.ferry().args(["backup", "create", "--json"]).output().unwrap();
    let id2 = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.db.exec(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
    p.db.exec("INSERT INTO items (id, name) VALUES (-1, 'after the second backup')");
    let before = summary(&p);
    let out = p.ferry().args(["backup", "restore", &id2, "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("role {role}")) && err.contains("--no-privileges"),
        "{err}"
    );
    assert!(err.contains("rolled back: the database is as it was"), "{err}");
    assert_eq!(summary(&p), before, "nothing changed, nothing dropped");
    p.ferry()
        .args(["backup", "restore", &id2, "--yes", "--no-privileges"])
        .assert()
        .success();
    assert!(summary(&p) != before);
    p.ferry().args(["backup", "restore", &id, "--yes"]).assert().success();
    assert_eq!(summary(&p), backup);
}

/// True while the restore loads rows: PostgreSQL's `COPY` into the
/// database, MariaDB's inserts into its scratch database (watched from the
/// server's own database: a session in this one would stop the restore).
fn loading(p: &Proj) -> bool {
    let sql = match p.db.kind {
        Kind::Postgres => format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'COPY %' AND state = 'active'",
            p.db.name()
        ),
        _ => {
            use sha2::Digest;
            let scratch = format!(
                "ferry_restore_{}",
                &hex::encode(sha2::Sha256::digest(p.db.name().as_bytes()))[..16]
            );
            format!(
                "SELECT count(*) FROM information_schema.processlist WHERE db = '{scratch}' AND info LIKE 'INSERT%'"
            )
        }
    };
    p.db.server_scalar(&sql) > 0
}

fn group_alive(pgid: u32) -> bool {
    std::process::Command::new("pgrep")
        .args(["-g", &pgid.to_string()])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn restore_interrupted_by_ctrl_c_or_kill_leaves_the_database_and_no_process(kind: Kind) {
    for how in ["SIGINT to the process group", "kill -9 of ferry alone"] {
        let (p, id, _, now) = backed_up(kind, 1_500_000);
        let mut cmd = p.process(&["backup", "restore", &id, "--yes"]);
        cmd.process_group(0);
        let mut child = cmd.spawn().unwrap();
        let pgid = child.id();
        wait_for("the restore to load rows", Duration::from_secs(60), || loading(&p));
        let signal = if how.starts_with("SIGINT") { "-INT" } else { "-KILL" };
        let target = if how.starts_with("SIGINT") {
            format!("-{pgid}")
        } else {
            pgid.to_string()
        };
        let killed = std::process::Command::new("kill")
            .args([signal, "--", &target])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert!(!status.success(), "{how}");
        wait_for("every process of the group to end", Duration::from_secs(10), || {
            !group_alive(pgid)
        });
        wait_for("the server to stop loading", Duration::from_secs(20), || !loading(&p));
        assert_eq!(summary(&p), now, "{how}: the database is as it was");
        // What a kill leaves goes with the next backup.
        p.ferry().args(["backup", "create"]).assert().success();
        assert_eq!(work_dirs(&p), 0, "{how}");
    }
}

mod signals {
    use super::*;

    #[test]
    fn postgres() {
        restore_interrupted_by_ctrl_c_or_kill_leaves_the_database_and_no_process(Kind::Postgres);
    }

    #[test]
    fn mariadb() {
        restore_interrupted_by_ctrl_c_or_kill_leaves_the_database_and_no_process(Kind::MySql);
    }
}

#[test]
fn sqlite_restore_keeps_the_database_file_owner_and_mode() {
    let (p, id, backup, _) = backed_up(Kind::Sqlite, 10);
    let db = p.db.url.strip_prefix("sqlite://").unwrap().to_owned();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    let owner = if nix_is_root() {
        // nobody:nogroup, as the report that found it had.
        std::process::Command::new("chown")
            .args(["65534:65534", &db])
            .status()
            .unwrap();
        Some((65534, 65534))
    } else {
        None
    };
    p.ferry().args(["backup", "restore", &id, "--yes"]).assert().success();
    assert_eq!(summary(&p), backup);
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&db).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o640);
    if let Some(o) = owner {
        assert_eq!((meta.uid(), meta.gid()), o);
    }
}

fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn restoring_into_another_database_leaves_the_project_files_alone() {
    let p = Proj::new(Kind::Postgres);
    p.write(
        "ferry.toml",
        &format!(
            "{}\n[backup]\nfiles = [\".env\"]\n",
            std::fs::read_to_string(p.path().join("ferry.toml")).unwrap()
        ),
    );
    p.write(".env", "MODE=original\n");
    p.tables(1);
    p.ferry().args(["db", "migrate"]).assert().success();
    let out = p.ferry().args(["backup", "create", "--json"]).output().unwrap();
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    p.write(".env", "MODE=edited locally\n");
    let staging = ferry_testkit::TestDb::new(Kind::Postgres);
    let out = p
        .ferry()
        .args(["--database-url", &staging.url, "backup", "restore", &id, "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not the project's config files"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(p.path().join(".env")).unwrap(),
        "MODE=edited locally\n"
    );
    assert_eq!(staging.tables(), vec!["ferry_history", "t1"]);
    // A database that does not exist is named, with the way to create it.
    let missing = staging.url.rsplit_once('/').unwrap().0.to_owned() + "/ferry_no_such_db_x";
    let out = p
        .ferry()
        .args(["--database-url", &missing, "backup", "restore", &id, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--create"), "{}", stderr(&out));
    p.ferry()
        .args([
            "--database-url",
            &missing,
            "backup",
            "restore",
            &id,
            "--yes",
            "--create",
        ])
        .assert()
        .success();
    let _ = p.db.column("SELECT 1");
    ferry_testkit::TestDb::drop_named(Kind::Postgres, "ferry_no_such_db_x");
    // --files-only puts the file back and leaves the database alone.
    p.ferry()
        .args(["backup", "restore", &id, "--yes", "--files-only"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(p.path().join(".env")).unwrap(),
        "MODE=original\n"
    );
    let _ = stdout(&out);
}

#[test]
fn sqlite_urls_say_what_they_mean() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(1);
    // A read-only command does not create the database.
    let db = p.db.url.strip_prefix("sqlite://").unwrap().to_owned();
    p.ferry().args(["db", "status"]).assert().success();
    let _ = p.ferry().args(["status"]).output().unwrap();
    assert!(!std::path::Path::new(&db).exists(), "status created the database");
    p.ferry().args(["db", "migrate"]).assert().success();
    let ro = format!("{}?mode=ro", p.db.url);
    p.tables(2);
    let out = p
        .ferry()
        .args(["--database-url", &ro, "db", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("read-only (mode=ro)"), "{}", stderr(&out));
    assert_eq!(p.db.tables(), vec!["ferry_history", "t1"]);
    p.ferry().args(["--database-url", &ro, "db", "status"]).assert().code(0);
    let out = p
        .ferry()
        .args(["--database-url", &format!("{}?cache=shared", p.db.url), "db", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`cache`"), "{}", stderr(&out));
}

/// A regression test: under umask 000, `backup create` made `.ferry` 0777.
#[test]
fn folders_under_dot_ferry_are_private_whatever_the_umask() {
    let p = Proj::new(Kind::Sqlite);
    p.tables(1);
    p.ferry().args(["db", "migrate"]).assert().success();
    let bin = assert_cmd::cargo::cargo_bin("ferry");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask 000 && '{}' backup create", bin.display()))
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .status()
        .unwrap();
    assert!(status.success());
    for dir in [".ferry", ".ferry/backups"] {
        let mode = std::fs::metadata(p.path().join(dir)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{dir}");
    }
    for e in std::fs::read_dir(p.path().join(".ferry/backups")).unwrap().flatten() {
        let mode = e.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{:?}", e.path());
    }
}

/// A dump larger than a part streams into the archive in parts (made small
/// here through the debug builds' knob), which verify reads back in full and
/// restore joins in order.
fn streamed_dump_in_parts_verifies_and_restores(kind: Kind) {
    let p = Proj::new(kind);
    p.write(
        "migrations/0001_items.up.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL);\n",
    );
    p.write("migrations/0001_items.down.sql", "DROP TABLE items;\n");
    p.ferry().args(["db", "migrate"]).assert().success();
    let insert = match kind {
        Kind::Postgres => "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 3000) g".to_owned(),
        _ => "SET SESSION max_recursive_iterations = 10000; INSERT INTO items WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 3000) SELECT g, CONCAT('item ', g) FROM s".to_owned(),
    };
    p.db.exec(&insert);
    let id = create_in_parts(&p);
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.path().join(format!(".ferry/backups/{id}.json"))).unwrap()).unwrap();
    assert_eq!(
        sidecar["manifest"]["format"], 2,
        "readers of format 1 would miss the parts"
    );
    let db = sidecar["manifest"]["database"].as_str().unwrap();
    let members = sidecar["manifest"]["members"].as_array().unwrap();
    let parts: Vec<&str> = members
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .filter(|m| m.starts_with(db))
        .collect();
    assert!(parts.len() >= 3, "{parts:?}");
    assert_eq!(parts[0], db);
    for (i, part) in parts.iter().enumerate().skip(1) {
        assert_eq!(*part, format!("{db}.{}", i + 1));
    }
    let backup = summary(&p);
    p.ferry().args(["backup", "verify", &id]).assert().success();
    p.db.exec("DELETE FROM items WHERE id > 10");
    assert_ne!(summary(&p), backup);
    p.ferry().args(["backup", "restore", &id, "--yes"]).assert().success();
    assert_eq!(summary(&p), backup);
    assert_eq!(
        p.db.rows("SELECT count(*), sum(id) FROM items"),
        vec![vec!["3000", "4501500"]]
    );
}

/// `ferry backup create`, its dump streamed in parts of 4 KiB; the new id.
fn create_in_parts(p: &Proj) -> String {
    let out = p
        .ferry()
        .args(["backup", "create", "--json"])
        .env("FERRY_TEST_ARCHIVE_PART", "4096")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A backup killed while its dump streams in (after its second part) is
/// no backup: nothing is listed, the database is untouched, the work
/// folder goes with the next prune, and the next backup is whole.
#[test]
fn a_backup_killed_between_parts_leaves_no_backup() {
    let (p, id, _, now) = backed_up(Kind::Postgres, 3000);
    let out = p
        .ferry()
        .args(["backup", "create"])
        .env("FERRY_TEST_ARCHIVE_PART", "4096")
        .env("FERRY_TEST_CRASH_RESTORE", "create-after-part-2")
        .output()
        .unwrap();
    assert!(out.status.code().is_none(), "not killed: {}", stderr(&out));
    let archives = || -> Vec<String> {
        std::fs::read_dir(p.path().join(".ferry/backups"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect()
    };
    let mut listed = archives();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            format!("{id}.json"),
            format!("{id}.tar.zst"),
            format!("{id}.tar.zst.sha256")
        ]
    );
    assert_eq!(summary(&p), now);
    prune_removes_the_leftover(&p);
    let next = create_in_parts(&p);
    p.ferry().args(["backup", "verify", &next]).assert().success();
    assert_eq!(archives().len(), 6);
}

#[test]
fn postgres_streamed_dump_in_parts_verifies_and_restores() {
    streamed_dump_in_parts_verifies_and_restores(Kind::Postgres);
}

#[test]
fn mariadb_streamed_dump_in_parts_verifies_and_restores() {
    streamed_dump_in_parts_verifies_and_restores(Kind::MySql);
}
