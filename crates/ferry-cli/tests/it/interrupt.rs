//! `kill -9` in the middle of a migration. A transactional migration is
//! either wholly applied with its history row or not at all; a
//! non-transactional one leaves the database marked dirty, every later run
//! refuses until `ferry db repair`, and the lock is never left behind.

use std::time::{Duration, Instant};

use ferry_testkit::{Kind, TestDb};
use predicates::prelude::*;

use crate::support::Proj;

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True while a statement containing `needle` runs in this test's database
/// (the server's activity views are shared by every test running at once).
fn running(db: &TestDb, needle: &str) -> bool {
    let sql = match db.kind {
        Kind::Postgres => format!(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname = current_database() AND query LIKE '%{needle}%' AND query NOT LIKE '%pg_stat_activity%'"
        ),
        Kind::MySql => format!(
            "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE '%{needle}%' AND info NOT LIKE '%processlist%'"
        ),
        Kind::Sqlite => unreachable!(),
    };
    db.scalar(&sql) > 0
}

fn kill_during(p: &Proj, needle: &str) {
    let mut child = p.process(&["db", "migrate"]).spawn().expect("spawn");
    wait_for("the slow statement to start", Duration::from_secs(20), || {
        running(&p.db, needle)
    });
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    // The server finishes the statement it was running; wait for it.
    wait_for("the server to finish", Duration::from_secs(20), || {
        !running(&p.db, needle)
    });
}

#[test]
fn postgres_transactional_migration_is_all_or_nothing() {
    let p = Proj::new(Kind::Postgres);
    p.tables(1);
    p.write(
        "migrations/0002_slow.up.sql",
        "CREATE TABLE slow (id INTEGER);\nSELECT pg_sleep(1.5);\n",
    );
    p.write("migrations/0002_slow.down.sql", "DROP TABLE slow;\n");
    kill_during(&p, "pg_sleep(1.5)");
    let tables = p.db.tables();
    let recorded = p.db.scalar("SELECT count(*) FROM ferry_history WHERE version = 2");
    assert_eq!(
        tables.contains(&"slow".to_owned()),
        recorded == 1,
        "table and history row agree: {tables:?}"
    );
    // The lock died with the process: the next run proceeds at once.
    p.ferry()
        .args(["db", "migrate", "--lock-timeout", "5s"])
        .assert()
        .success();
    p.ferry().args(["db", "status"]).assert().success();
    assert!(p.db.tables().contains(&"slow".to_owned()));
}

#[test]
fn postgres_no_transaction_migration_killed_is_dirty_until_repaired() {
    interrupted_without_transaction(
        Kind::Postgres,
        "-- ferry:no-transaction\nCREATE TABLE slow (id INTEGER);\nSELECT pg_sleep(1.5);\nCREATE TABLE after_sleep (id INTEGER);\n",
        "pg_sleep(1.5)",
    );
}

#[test]
fn mariadb_migration_killed_is_dirty_until_repaired() {
    interrupted_without_transaction(
        Kind::MySql,
        "CREATE TABLE slow (id INTEGER);\nSELECT SLEEP(1.5);\nCREATE TABLE after_sleep (id INTEGER);\n",
        "SLEEP(1.5)",
    );
}

fn interrupted_without_transaction(kind: Kind, up: &str, needle: &str) {
    let p = Proj::new(kind);
    p.tables(1);
    p.write("migrations/0002_slow.up.sql", up);
    p.write(
        "migrations/0002_slow.down.sql",
        "DROP TABLE after_sleep;\nDROP TABLE slow;\n",
    );
    kill_during(&p, needle);
    assert!(p.db.tables().contains(&"slow".to_owned()));
    assert!(!p.db.tables().contains(&"after_sleep".to_owned()));
    p.ferry()
        .args(["db", "status"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("failed").and(predicate::str::contains("interrupted")));
    p.ferry()
        .args(["db", "migrate", "--lock-timeout", "5s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("0002_slow").and(predicate::str::contains("ferry db repair")));
    // The operator undoes the partial work, repairs, and migrates again.
    p.db.exec("DROP TABLE slow");
    p.ferry()
        .args(["db", "repair"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pending again"));
    p.ferry().args(["db", "migrate"]).assert().success();
    p.ferry().args(["db", "revert", "--to", "0"]).assert().success();
    assert_eq!(p.db.tables(), vec!["ferry_history"]);
}

#[test]
fn sqlite_migration_killed_is_rolled_back() {
    let p = Proj::new(Kind::Sqlite);
    // A statement that keeps SQLite busy for a while.
    p.write(
        "migrations/0001_slow.up.sql",
        "CREATE TABLE slow (id INTEGER);\nINSERT INTO slow WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) SELECT max(x) FROM c;\n",
    );
    p.write("migrations/0001_slow.down.sql", "DROP TABLE slow;\n");
    let mut child = p.process(&["db", "migrate"]).spawn().expect("spawn");
    // The journal beside the database appears once the transaction writes.
    let db_path = p.db.url.strip_prefix("sqlite://").unwrap().to_owned();
    wait_for("the transaction to start", Duration::from_secs(20), || {
        std::path::Path::new(&format!("{db_path}-journal")).exists()
    });
    // Past the history table's own short transaction, into the slow one.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    // SQLite rolls the hot journal back on the next open.
    assert!(!p.db.tables().contains(&"slow".to_owned()), "{:?}", p.db.tables());
    assert_eq!(p.db.scalar("SELECT count(*) FROM ferry_history"), 0);
    p.write("migrations/0001_slow.up.sql", "CREATE TABLE slow (id INTEGER);\n");
    p.ferry()
        .args(["db", "migrate", "--lock-timeout", "5s"])
        .assert()
        .success();
}

/// A regression test: PostgreSQL goes on executing a migration whose ferry
/// was killed, and a run started right after took the (freed) lock, read the
/// history before the orphan committed, and applied the migration again,
/// failing on "already exists" (or, in a rollback, undoing nothing while the
/// orphan committed after it). The lock holder now ends such sessions first.
#[test]
fn postgres_a_run_right_after_a_kill_does_not_race_the_killed_one() {
    let p = Proj::new(Kind::Postgres);
    p.tables(1);
    p.write(
        "migrations/0002_slow.up.sql",
        "CREATE TABLE slow (id INTEGER);\nINSERT INTO slow VALUES (1);\nSELECT pg_sleep(3);\n",
    );
    p.write("migrations/0002_slow.down.sql", "DROP TABLE slow;\n");
    let mut child = p.process(&["db", "migrate"]).spawn().expect("spawn");
    wait_for("the slow statement to start", Duration::from_secs(20), || {
        running(&p.db, "pg_sleep(3)")
    });
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    // At once, while the server still runs the killed one's batch.
    assert!(running(&p.db, "pg_sleep(3)"));
    p.ferry()
        .args(["db", "migrate", "--lock-timeout", "10s"])
        .assert()
        .success();
    assert_eq!(p.db.scalar("SELECT count(*) FROM slow"), 1, "applied once");
    assert_eq!(p.db.scalar("SELECT count(*) FROM ferry_history WHERE version = 2"), 1);
}
