//! The TwisterLab example (examples/twisterlab), end to end: developed on
//! SQLite, moved to PostgreSQL with `ferry db transfer`, upgraded to the
//! multi-tenant 2.0.0 (compatibility matrix checked, maintenance mode on
//! during the migrations and off after, batched tenant backfill, NOT NULL
//! the safe way, post-upgrade checks), watched, and rolled back by the
//! watch window when the bundled service reports a 9% error rate.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use ferry_testkit::{Kind, TestDb};

use crate::support::{copy_dir, ferry, stderr, stdout};

struct Lab {
    dir: tempfile::TempDir,
    pg: TestDb,
    service: Child,
    url: String,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.service.kill();
        let _ = self.service.wait();
    }
}

impl Lab {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/twisterlab"),
            dir.path(),
        );
        // A short watch for the test: 1 s, a round every 200 ms.
        let toml = std::fs::read_to_string(dir.path().join("ferry.toml")).unwrap();
        let toml = toml
            .replace("duration = \"10m\"", "duration = \"1s\"")
            .replace("interval = \"30s\"", "interval = \"200ms\"");
        std::fs::write(dir.path().join("ferry.toml"), toml).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let service = Command::new("python3")
            .arg(dir.path().join("service.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .spawn()
            .expect("python3 runs the example's service (Debian package python3)");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Lab {
            dir,
            pg: TestDb::new(Kind::Postgres),
            service,
            url,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// ferry in the example's folder, on `database` (none: its own SQLite file).
    fn run(&self, database: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut c = ferry();
        c.current_dir(self.dir.path())
            .env("TWISTERLAB_URL", &self.url)
            .args(args);
        if let Some(db) = database {
            c.env("DATABASE_URL", db);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    fn ok(&self, database: Option<&str>, args: &[&str]) -> String {
        let out = self.run(database, args, &[]);
        assert!(
            out.status.success(),
            "ferry {args:?}:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    fn flag(&self) -> bool {
        self.path().join("maintenance.flag").exists()
    }
}

fn sqlite3(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn twisterlab_from_sqlite_to_multi_tenant_postgres_and_back() {
    let lab = Lab::new();
    // Development on SQLite: 1.0.0, some data, then 1.1.0.
    lab.ok(None, &["db", "migrate", "--to", "1"]);
    lab.ok(None, &["adopt", "1.0.0"]);
    sqlite3(
        &lab.path().join("twisterlab.db"),
        "INSERT INTO agents (name, kind) VALUES ('alpha', 'worker'), ('beta', 'planner'), ('gamma', 'worker');
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000)
         INSERT INTO tasks (agent_id, ok, latency_ms, payload) SELECT 1 + x % 3, x % 50 <> 0, 100 + x % 300, X'CAFE' FROM c;",
    );
    let text = lab.ok(None, &["upgrade", "--to", "1.1.0", "--yes", "--no-watch"]);
    assert!(text.contains("1.0.0 → 1.1.0, done"), "{text}");

    // Production: the SQLite database moved to PostgreSQL, its history
    // rebuilt from the postgres folder's migrations.
    let pg = lab.pg.url.clone();
    let text = lab.ok(None, &["db", "transfer", "--to", &pg]);
    assert!(text.contains("schema 2, release 1.1.0"), "{text}");
    assert_eq!(
        lab.pg.rows("SELECT count(*), sum(latency_ms) FROM tasks"),
        vec![vec!["3000", "748500"]]
    );

    // The plan checks the compatibility matrix and shows the watch.
    let plan = lab.ok(Some(&pg), &["plan"]);
    assert!(plan.contains("requires: postgresql >= 13 (16 recommended)"), "{plan}");
    assert!(plan.contains("then watch for 1s, every 200ms"), "{plan}");

    // The upgrade, killed right after its migrations: maintenance mode is
    // on (the service answers 503), the tenants are filled in.
    let out = lab.run(
        Some(&pg),
        &["upgrade", "--yes", "--watch", "1s"],
        &[("FERRY_TEST_CRASH_INSIDE", "11")],
    );
    assert_eq!(
        out.status.code(),
        None,
        "killed inside the migrate step: {}",
        stderr(&out)
    );
    // The journal is PostgreSQL's now: the run state lives with the database.
    let journal = lab.ok(Some(&pg), &["runs", "last", "--journal"]);
    let line11 = journal.lines().nth(11).unwrap();
    assert!(
        line11.contains("\"step\":\"migrate\"") && line11.contains("step_started"),
        "{line11}"
    );
    assert!(lab.flag(), "maintenance mode is on while the schema changes");
    assert_eq!(
        lab.pg.rows("SELECT count(*) FROM tasks WHERE tenant_id = 'default'"),
        vec![vec!["3000"]]
    );

    // Resumed: maintenance off, NOT NULL in place, checks and watch passed.
    let out = lab.run(Some(&pg), &["upgrade", "--resume", "--json"], &[]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["state"], "done");
    assert_eq!(report["watch"]["verdict"], "passed", "{report}");
    assert!(!lab.flag(), "maintenance mode is off after the upgrade");
    assert_eq!(
        lab.pg.rows("SELECT is_nullable FROM information_schema.columns WHERE table_name IN ('agents', 'tasks') AND column_name = 'tenant_id'"),
        vec![vec!["NO"], vec!["NO"]]
    );

    // Back to 1.1.0 by hand, then again with the service in trouble: the
    // watch window sees 9% errors twice and rolls the upgrade back itself.
    lab.ok(Some(&pg), &["rollback", "--yes"]);
    std::fs::write(
        lab.path().join("metrics.json"),
        r#"{"error_rate": 0.09, "p95_ms": 240}"#,
    )
    .unwrap();
    let out = lab.run(Some(&pg), &["upgrade", "--yes", "--json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["state"], "rolled_back");
    assert_eq!(
        report["watch"]["reason"],
        "error rate: 0.09 above rollback_above 0.05, 2 readings in a row"
    );
    assert!(!lab.flag(), "maintenance mode is off after the rollback");
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&lab.run(Some(&pg), &["status", "--json"], &[]))).unwrap();
    assert_eq!(status["installed"]["version"], "1.1.0");
    assert_eq!(
        lab.pg
            .rows("SELECT count(*) FROM information_schema.columns WHERE column_name = 'tenant_id'"),
        vec![vec!["0"]]
    );
    assert_eq!(
        lab.pg.rows("SELECT count(*) FROM tasks"),
        vec![vec!["3000"]],
        "no task lost"
    );
}
