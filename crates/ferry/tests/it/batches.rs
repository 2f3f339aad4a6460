//! Batched migrations on each engine: every row changed exactly once, by a
//! change that is not idempotent (`priority * 2`), whether the walk runs
//! through, stops on a failing batch and is run again, waits for a lock
//! another session holds, or is reverted part-way by a batched down.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use ferry::migration::State;
use ferry::{Error, Event, FailureState, MigrateOptions, Observer, RevertTarget};
use ferry_testkit::{Kind, TestDb, per_engine};

use crate::support::{migrator, set};

per_engine!(
    every_row_changed_exactly_once_and_back,
    a_failing_batch_stops_and_the_next_run_continues,
    a_stopped_walk_is_reverted_over_the_rows_it_reached,
    composite_and_text_keys,
    a_missing_table_column_or_nullable_key_is_refused_before_anything,
    a_locked_row_makes_a_batch_wait_and_retry,
);

const ROWS: i64 = 100_000;

/// `tasks(id, priority, poison)` with ROWS rows, priority 1..5.
fn seed(db: &TestDb) {
    db.exec("CREATE TABLE tasks (id BIGINT NOT NULL PRIMARY KEY, priority INTEGER NOT NULL, poison INTEGER NOT NULL)");
    seed_again(db);
}

/// How many rows have a priority other than `factor` times the original.
fn wrong(db: &TestDb, factor_up_to: i64, factor_after: i64, split: i64) -> i64 {
    db.scalar(&format!(
        "SELECT count(*) FROM tasks WHERE priority <> (CASE WHEN id <= {split} THEN {factor_up_to} ELSE {factor_after} END) * ((id % 5) + 1)"
    ))
}

const DOUBLE: &str = "-- ferry:batch table=tasks key=id size=1000\n-- Rescales 1-5 to 2-10; a poisoned row fails its batch.\nUPDATE tasks SET priority = CASE WHEN poison = 1 THEN NULL ELSE priority * 2 END\nWHERE id BETWEEN :first AND :last;\n";
const HALVE: &str =
    "-- ferry:batch table=tasks key=id size=700\nUPDATE tasks SET priority = priority / 2 WHERE :in_batch;\n";

fn files() -> Vec<(&'static str, &'static str)> {
    vec![("0001_rescale.up.sql", DOUBLE), ("0001_rescale.down.sql", HALVE)]
}

struct Ticks(Vec<ferry::Tick>);

impl Observer for Ticks {
    fn event(&mut self, event: Event<'_>) {
        if let Event::Batch { tick, .. } = event {
            self.0.push(tick);
        }
    }
}

fn every_row_changed_exactly_once_and_back(kind: Kind) {
    let db = TestDb::new(kind);
    seed(&db);
    let set = set(&files());
    let mut m = migrator(&db);
    let mut ticks = Ticks(Vec::new());
    let report = m.migrate(&set, MigrateOptions::default(), &mut ticks).unwrap();
    assert_eq!(report.steps.len(), 1);
    assert_eq!(wrong(&db, 2, 2, 0), 0, "every row doubled exactly once");
    assert_eq!(ticks.0.len(), 100, "100 batches of 1000");
    let last = ticks.0.last().unwrap();
    assert_eq!((last.rows, last.batches), (ROWS as u64, 100));
    assert!(last.estimate.is_some_and(|e| e > 0), "{last:?}");
    let status = m.status(&set).unwrap();
    assert!(status.is_clean(), "{status:?}");
    assert_eq!(
        db.scalar("SELECT count(*) FROM ferry_history_batches"),
        0,
        "progress forgotten when done"
    );

    let report = m.revert(&set, RevertTarget::To(0), &mut ()).unwrap();
    assert_eq!(report.steps.len(), 1);
    assert_eq!(wrong(&db, 1, 1, 0), 0, "every row back exactly once");
    assert!(m.history().unwrap().is_empty());
    assert_eq!(db.scalar("SELECT count(*) FROM ferry_history_batches"), 0);
}

fn a_failing_batch_stops_and_the_next_run_continues(kind: Kind) {
    let db = TestDb::new(kind);
    seed(&db);
    db.exec("UPDATE tasks SET poison = 1 WHERE id = 55555");
    let set = set(&files());
    let mut m = migrator(&db);
    let err = m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("expected a migration failure, got {err}")
    };
    assert_eq!(
        f.state,
        FailureState::Stopped {
            batches: 55,
            rows: 55_000
        },
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("continues at the failing batch"), "{text}");
    assert_eq!(f.line, Some(3), "the statement's line in the file: {text}");
    // Batches 1-55 committed, the failing one rolled back, the rest untouched.
    assert_eq!(wrong(&db, 2, 1, 55_000), 0);
    let status = m.status(&set).unwrap();
    let mig = &status.migrations[0];
    assert_eq!(mig.state, State::Running);
    let p = mig.progress.as_ref().expect("progress shown");
    assert_eq!(
        (p.rows, p.batches, p.last_key.clone()),
        (55_000, 55, vec!["55000".to_owned()])
    );
    assert!(mig.error.as_deref().unwrap().contains("batch 56"), "{mig:?}");

    // Nothing is done twice when the cause is fixed and it runs again.
    db.exec("UPDATE tasks SET poison = 0 WHERE id = 55555");
    let mut ticks = Ticks(Vec::new());
    m.migrate(&set, MigrateOptions::default(), &mut ticks).unwrap();
    assert_eq!(wrong(&db, 2, 2, 0), 0, "every row doubled exactly once");
    assert_eq!(ticks.0.first().unwrap().batches, 56, "continued at batch 56");
    assert!(m.status(&set).unwrap().is_clean());
}

fn a_stopped_walk_is_reverted_over_the_rows_it_reached(kind: Kind) {
    let db = TestDb::new(kind);
    seed(&db);
    db.exec("UPDATE tasks SET poison = 1 WHERE id = 30001");
    let set = set(&files());
    let mut m = migrator(&db);
    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap_err();
    assert_eq!(wrong(&db, 2, 1, 30_000), 0);
    // The down walks only up to where the up stopped: nothing is halved twice.
    m.revert(&set, RevertTarget::To(0), &mut ()).unwrap();
    assert_eq!(wrong(&db, 1, 1, 0), 0);
    assert!(m.history().unwrap().is_empty());
    assert_eq!(db.scalar("SELECT count(*) FROM ferry_history_batches"), 0);
}

fn composite_and_text_keys(kind: Kind) {
    let db = TestDb::new(kind);
    let text = if kind == Kind::MySql { "VARCHAR(40)" } else { "TEXT" };
    db.exec(&format!(
        "CREATE TABLE events (tenant {text} NOT NULL, seq INTEGER NOT NULL, orig INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (tenant, seq))"
    ));
    db.exec(&format!(
        "CREATE TABLE notes (code {text} NOT NULL PRIMARY KEY, n INTEGER NOT NULL)"
    ));
    // Keys with quotes, backslashes, spaces and non-ASCII text.
    let tenants = ["a", "b'quote", "c\\back", "d space", "é", "zz"];
    let mut rows = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        for seq in 1..=40 {
            let quoted = t
                .replace('\'', "''")
                .replace('\\', if kind == Kind::MySql { "\\\\" } else { "\\" });
            rows.push(format!("('{quoted}', {seq}, {i}, {i})"));
        }
    }
    db.exec(&format!(
        "INSERT INTO events (tenant, seq, orig, n) VALUES {}",
        rows.join(", ")
    ));
    let notes: Vec<String> = (0..500)
        .map(|i| format!("('{:x}-{}', 1)", i * 7919, if i % 3 == 0 { "o''k" } else { "x" }))
        .collect();
    db.exec(&format!("INSERT INTO notes (code, n) VALUES {}", notes.join(", ")));
    let composite = if kind == Kind::MySql {
        "-- ferry:batch table=events key=tenant,seq size=7\nUPDATE events SET n = n * 10 + 1 WHERE :in_batch;\n"
    } else {
        "-- ferry:batch table=events key=tenant,seq size=7\nUPDATE events SET n = n * 10 + 1 WHERE (tenant, seq) BETWEEN :first AND :last;\n"
    };
    let set = set(&[
        ("0001_events.up.sql", composite),
        (
            "0002_notes.up.sql",
            "-- ferry:batch table=notes key=code size=13\nUPDATE notes SET n = n + 1 WHERE code BETWEEN :first AND :last;\n",
        ),
    ]);
    let mut m = migrator(&db);
    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(
        db.scalar("SELECT count(*) FROM events WHERE n <> orig * 10 + 1"),
        0,
        "each event once"
    );
    assert_eq!(db.scalar("SELECT count(*) FROM events"), 240);
    assert_eq!(
        db.scalar("SELECT count(*) FROM notes WHERE n <> 2"),
        0,
        "each note once"
    );
}

fn a_missing_table_column_or_nullable_key_is_refused_before_anything(kind: Kind) {
    let db = TestDb::new(kind);
    db.exec("CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY, maybe INTEGER, n INTEGER NOT NULL)");
    db.exec("INSERT INTO t VALUES (1, 1, 0)");
    for (body, says) in [
        (
            "-- ferry:batch table=nothere key=id\nUPDATE t SET n = 1 WHERE :in_batch;\n",
            "does not exist",
        ),
        (
            "-- ferry:batch table=t key=idd\nUPDATE t SET n = 1 WHERE :in_batch;\n",
            "has no column idd (its columns: id, maybe, n)",
        ),
        (
            "-- ferry:batch table=t key=maybe\nUPDATE t SET n = 1 WHERE :in_batch;\n",
            "allows NULL",
        ),
    ] {
        let set = set(&[("0001_walk.up.sql", body)]);
        let mut m = migrator(&db);
        let err = m
            .migrate(&set, MigrateOptions::default(), &mut ())
            .unwrap_err()
            .to_string();
        assert!(err.contains(says) && err.contains("0001_walk.up.sql:1"), "{err}");
        assert!(m.history().unwrap().is_empty(), "nothing recorded");
        assert_eq!(db.scalar("SELECT n FROM t"), 0);
    }
}

/// Holds a lock on one row of `tasks` (on SQLite, the write lock) from
/// another session for `hold`, signalling once it holds it.
fn hold_lock(db: &TestDb, hold: Duration) -> std::thread::JoinHandle<()> {
    let (tx, rx) = mpsc::channel();
    let url = db.url.clone();
    let kind = db.kind;
    let handle = std::thread::spawn(move || match kind {
        Kind::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE; UPDATE tasks SET poison = 0 WHERE id = 2500")
                .unwrap();
            tx.send(()).unwrap();
            std::thread::sleep(hold);
            conn.execute_batch("COMMIT").unwrap();
        }
        Kind::Postgres => {
            let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
            c.batch_execute("BEGIN; SELECT * FROM tasks WHERE id = 2500 FOR UPDATE")
                .unwrap();
            tx.send(()).unwrap();
            std::thread::sleep(hold);
            c.batch_execute("COMMIT").unwrap();
        }
        Kind::MySql => {
            use mysql::prelude::Queryable;
            let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
            c.query_drop("START TRANSACTION").unwrap();
            c.query_drop("SELECT * FROM tasks WHERE id = 2500 FOR UPDATE").unwrap();
            tx.send(()).unwrap();
            std::thread::sleep(hold);
            c.query_drop("COMMIT").unwrap();
        }
    });
    rx.recv().unwrap();
    handle
}

/// Takes the lock of `hold_lock` once the first batch has committed.
struct LockAfterFirstBatch<'a> {
    db: &'a TestDb,
    hold: Duration,
    holder: Option<std::thread::JoinHandle<()>>,
}

impl Observer for LockAfterFirstBatch<'_> {
    fn event(&mut self, event: Event<'_>) {
        if let Event::Batch { .. } = event
            && self.holder.is_none()
        {
            self.holder = Some(hold_lock(self.db, self.hold));
        }
    }
}

fn a_locked_row_makes_a_batch_wait_and_retry(kind: Kind) {
    let db = TestDb::new(kind);
    seed(&db);
    // MariaDB's lock wait timeout counts whole seconds.
    let (timeout, hold) = match kind {
        Kind::MySql => ("1s", Duration::from_millis(3500)),
        _ => ("200ms", Duration::from_millis(1500)),
    };
    let body = format!(
        "-- ferry:batch table=tasks key=id size=1000 lock-timeout={timeout} retries=0\nUPDATE tasks SET priority = priority * 2 WHERE id BETWEEN :first AND :last;\n"
    );
    let set_once = set(&[("0001_rescale.up.sql", body.as_str())]);
    let mut m = migrator(&db);
    // Without retries the batch that meets the lock gives up: the walk
    // stops, consistent, with the batches before it kept.
    let mut lock = LockAfterFirstBatch {
        db: &db,
        hold,
        holder: None,
    };
    let err = m.migrate(&set_once, MigrateOptions::default(), &mut lock).unwrap_err();
    lock.holder.take().unwrap().join().unwrap();
    assert!(err.to_string().contains("could not get its locks"), "{err}");
    let Error::MigrationFailed(f) = &err else {
        panic!("{err}")
    };
    // SQLite locks the whole database: batch 2 waits; elsewhere batch 3,
    // which holds row 2500.
    let expected: i64 = if kind == Kind::Sqlite { 1000 } else { 2000 };
    assert_eq!(
        f.state,
        FailureState::Stopped {
            batches: expected as u64 / 1000,
            rows: expected as u64
        }
    );
    assert_eq!(wrong(&db, 2, 1, expected), 0);

    // With retries the same lock only delays it (a new history, since the
    // setting is part of the file and so of its checksum).
    db.exec("DELETE FROM tasks");
    db.exec("DELETE FROM ferry_history");
    db.exec("DELETE FROM ferry_history_batches");
    seed_again(&db);
    let retrying = body.replace("retries=0", "retries=30");
    let set_retry = set(&[("0001_rescale.up.sql", retrying.as_str())]);
    let mut lock = LockAfterFirstBatch {
        db: &db,
        hold,
        holder: None,
    };
    let started = Instant::now();
    m.migrate(&set_retry, MigrateOptions::default(), &mut lock).unwrap();
    lock.holder.take().unwrap().join().unwrap();
    assert!(started.elapsed() >= hold, "it waited for the lock");
    assert_eq!(wrong(&db, 2, 2, 0), 0, "every row doubled exactly once");
}

fn seed_again(db: &TestDb) {
    let fill = match db.kind {
        Kind::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {ROWS}) INSERT INTO tasks SELECT x, (x % 5) + 1, 0 FROM c"
        ),
        Kind::Postgres => {
            format!("INSERT INTO tasks SELECT x, (x % 5) + 1, 0 FROM generate_series(1, {ROWS}) x")
        }
        Kind::MySql => format!("INSERT INTO tasks SELECT seq, (seq % 5) + 1, 0 FROM seq_1_to_{ROWS}"),
    };
    db.exec(&fill);
}

/// `max-lag` reads `pg_stat_replication` before each batch (this server has
/// no replica, so no batch waits).
#[test]
fn postgres_max_lag_reads_the_replicas() {
    let db = TestDb::new(Kind::Postgres);
    seed(&db);
    let set = set(&[(
        "0001_rescale.up.sql",
        "-- ferry:batch table=tasks key=id size=25000 max-lag=1s\nUPDATE tasks SET priority = priority * 2 WHERE :in_batch;\n",
    )]);
    let mut ticks = Ticks(Vec::new());
    migrator(&db)
        .migrate(&set, MigrateOptions::default(), &mut ticks)
        .unwrap();
    assert_eq!(ticks.0.len(), 4);
    assert_eq!(wrong(&db, 2, 2, 0), 0);
}
