//! Batched and post-deploy migrations through the CLI, on each engine:
//! killed inside a batch, right after one, and by `kill -9` mid-walk, then
//! run again, every row changes exactly once; post-deploy migrations wait
//! for their phase, in `db migrate` and in `ferry upgrade`.

use std::time::{Duration, Instant};

use ferry_testkit::{Kind, per_engine};

use crate::support::{Proj, stderr, stdout};

const ROWS: i64 = 20_000;

fn seed_sql(kind: Kind) -> String {
    match kind {
        Kind::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {ROWS}) INSERT INTO tasks SELECT x, (x % 5) + 1 FROM c"
        ),
        Kind::Postgres => format!("INSERT INTO tasks SELECT x, (x % 5) + 1 FROM generate_series(1, {ROWS}) x"),
        Kind::MySql => format!("INSERT INTO tasks SELECT seq, (seq % 5) + 1 FROM seq_1_to_{ROWS}"),
    }
}

/// A project whose second migration doubles `tasks.priority` in batches
/// of 1000 (with `extra` settings), its table filled by the test.
fn project(kind: Kind, extra: &str) -> Proj {
    let p = Proj::new(kind);
    p.write(
        "migrations/0001_tasks.up.sql",
        "CREATE TABLE tasks (id BIGINT NOT NULL PRIMARY KEY, priority INTEGER NOT NULL);\n",
    );
    p.write("migrations/0001_tasks.down.sql", "DROP TABLE tasks;\n");
    p.write(
        "migrations/0002_rescale.up.sql",
        &format!(
            "-- ferry:batch table=tasks key=id size=1000{extra}\nUPDATE tasks SET priority = priority * 2 WHERE id BETWEEN :first AND :last;\n"
        ),
    );
    p.write(
        "migrations/0002_rescale.down.sql",
        "-- ferry:batch table=tasks key=id size=1000\nUPDATE tasks SET priority = priority / 2 WHERE id BETWEEN :first AND :last;\n",
    );
    p.ferry().args(["db", "migrate", "--to", "1"]).assert().success();
    p.db.exec(&seed_sql(kind));
    p
}

fn doubled_wrongly(p: &Proj) -> i64 {
    p.db.scalar("SELECT count(*) FROM tasks WHERE priority <> 2 * ((id % 5) + 1)")
}

fn status_json(p: &Proj) -> serde_json::Value {
    let out = p.ferry().args(["db", "status", "--json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

fn killed(p: &Proj, var: &str, k: u64) {
    let out = p.process(&["db", "migrate"]).env(var, k.to_string()).output().unwrap();
    assert!(
        out.status.code().is_none(),
        "{var}={k}: should have been killed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

fn killed_in_and_after_a_batch_then_run_again(kind: Kind) {
    for (var, k, committed) in [
        ("FERRY_TEST_CRASH_AFTER_BATCH", 3, 3),
        ("FERRY_TEST_CRASH_IN_BATCH", 5, 4),
        ("FERRY_TEST_CRASH_AFTER_BATCH", 20, 20),
    ] {
        let p = project(kind, "");
        killed(&p, var, k);
        let st = status_json(&p);
        let m = &st["migrations"][1];
        assert_eq!(m["state"], "running", "{var}={k}: {st}");
        assert_eq!(m["progress"]["batches"], committed, "{var}={k}: {st}");
        assert_eq!(m["progress"]["rows"], committed * 1000, "{var}={k}: {st}");
        assert_eq!(
            p.db.scalar("SELECT count(*) FROM tasks WHERE priority <> (CASE WHEN id <= 1000 * (SELECT batches FROM ferry_history_batches) THEN 2 ELSE 1 END) * ((id % 5) + 1)"),
            0,
            "{var}={k}: exactly the committed batches are done"
        );
        let text = p.ferry().args(["db", "status"]).output().unwrap();
        let text = stdout(&text);
        assert!(
            text.contains(&format!("running (up, {} rows in {committed} batch", committed * 1000))
                && text.contains("`ferry db migrate --to 2` continues it"),
            "{text}"
        );
        // Run again, it continues at the next batch.
        p.ferry().args(["db", "migrate"]).assert().success();
        assert_eq!(doubled_wrongly(&p), 0, "{var}={k}: every row doubled exactly once");
        assert_eq!(status_json(&p)["migrations"][1]["state"], "applied");
    }
}

fn kill_9_mid_walk_then_run_again(kind: Kind) {
    let p = project(kind, " pause=40ms");
    let mut child = p.process(&["db", "migrate"]).spawn().unwrap();
    // Kill it once some batches are committed.
    let started = Instant::now();
    loop {
        let done = if p.db.tables().iter().any(|t| t == "ferry_history_batches") {
            p.db.column("SELECT batches FROM ferry_history_batches")
                .first()
                .and_then(|b| b.parse::<i64>().ok())
                .unwrap_or(0)
        } else {
            0
        };
        if done >= 4 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no batch committed");
        assert!(child.try_wait().unwrap().is_none(), "finished before it was killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status_json(&p)["migrations"][1]["state"], "running");
    let out = p.ferry().args(["db", "migrate"]).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(doubled_wrongly(&p), 0, "every row doubled exactly once");
    // And back, exactly once.
    p.ferry().args(["db", "revert"]).assert().success();
    assert_eq!(
        p.db.scalar("SELECT count(*) FROM tasks WHERE priority <> (id % 5) + 1"),
        0
    );
}

fn table_exists_sql(kind: Kind, table: &str) -> String {
    match kind {
        Kind::Sqlite => format!("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
        Kind::Postgres => format!("SELECT count(*) FROM pg_tables WHERE tablename = '{table}'"),
        Kind::MySql => {
            format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
            )
        }
    }
}

fn post_deploy_migrations_wait_for_their_phase(kind: Kind) {
    let p = Proj::new(kind);
    p.write("migrations/0001_a.up.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n");
    p.write("migrations/0001_a.down.sql", "DROP TABLE a;\n");
    p.write(
        "migrations/0002_cleanup.up.sql",
        "-- ferry:phase post-deploy\nCREATE TABLE cleanup (id INTEGER PRIMARY KEY);\n",
    );
    p.write("migrations/0002_cleanup.down.sql", "DROP TABLE cleanup;\n");
    p.write("migrations/0003_b.up.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);\n");
    p.write("migrations/0003_b.down.sql", "DROP TABLE b;\n");
    p.write(
        "releases/1.0.0.toml",
        "version = \"1.0.0\"\ndate = 2026-01-01\nschema = 1\n",
    );
    p.write(
        "releases/1.1.0.toml",
        "version = \"1.1.0\"\ndate = 2026-02-01\nschema = 3\n",
    );
    p.write(
        "ferry.toml",
        &format!(
            "[project]\nname = \"t\"\n\n[database]\nurl = \"{}\"\n\n[policy.minor]\nbackup = \"none\"\n\n[[checks]]\nname = \"the clean-up waits for the new code\"\nwhen = [\"post\"]\nsince = \"1.1.0\"\nsql = \"{}\"\nexpect = \"0\"\n",
            p.db.url,
            table_exists_sql(kind, "cleanup")
        ),
    );

    // By hand: db migrate runs the pre-deploy ones and says what waits.
    let out = p.ferry().args(["db", "migrate"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("1 post-deploy migration waits for the new code: 0002_cleanup")
            && text.contains("ferry db migrate --phase post-deploy"),
        "{text}"
    );
    assert_eq!(p.db.scalar(&table_exists_sql(kind, "cleanup")), 0);
    assert_eq!(p.db.scalar(&table_exists_sql(kind, "b")), 1);
    let st = status_json(&p);
    assert_eq!(st["migrations"][1]["state"], "pending", "not out of order: {st}");
    assert_eq!(st["migrations"][1]["phase"], "post-deploy");
    let text = stdout(&p.ferry().args(["db", "status"]).output().unwrap());
    assert!(text.contains("pending, post-deploy"), "{text}");
    p.ferry()
        .args(["db", "migrate", "--phase", "post-deploy"])
        .assert()
        .success();
    assert_eq!(p.db.scalar(&table_exists_sql(kind, "cleanup")), 1);

    // In an upgrade: after the post-upgrade checks, and taken back first.
    p.ferry().args(["db", "revert", "--to", "0"]).assert().success();
    p.ferry().args(["db", "migrate", "--to", "1"]).assert().success();
    p.ferry().args(["adopt", "1.0.0"]).assert().success();
    let plan = stdout(&p.ferry().args(["plan"]).output().unwrap());
    assert!(plan.contains("0002_cleanup (post-deploy)"), "{plan}");
    let out = p.ferry().args(["upgrade", "--yes", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<(String, String)> = report["hops"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let names: Vec<&str> = steps.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names[names.len() - 2..], ["verify", "post_deploy"], "{report}");
    assert!(steps.iter().all(|(_, st)| st != "failed"), "{report}");
    assert_eq!(p.db.scalar(&table_exists_sql(kind, "cleanup")), 1);
    p.ferry().args(["rollback", "--yes"]).assert().success();
    for t in ["cleanup", "b"] {
        assert_eq!(p.db.scalar(&table_exists_sql(kind, t)), 0, "{t} reverted");
    }
    assert_eq!(p.db.scalar(&table_exists_sql(kind, "a")), 1);
}

per_engine!(
    killed_in_and_after_a_batch_then_run_again,
    kill_9_mid_walk_then_run_again,
    post_deploy_migrations_wait_for_their_phase,
);
