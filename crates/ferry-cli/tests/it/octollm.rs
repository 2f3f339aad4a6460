//! The OctoLLM example (examples/octollm) on PostgreSQL with 200,000 tasks:
//! 0.1.0 → 1.0.0 in one run (indexes built concurrently, .env's cache keys
//! split, priorities rescaled in batches, the NOT NULL sequence with its
//! last step after the new code starts), back by `ferry rollback`, and
//! killed in the middle of the rescale then resumed or rolled back.

use ferry_testkit::Kind;

use crate::support::{Example as Octo, stderr, stdout};

const TASKS: i64 = 200_000;

/// OctoLLM's helpers, on a copy of the example.
impl Octo {
    /// 0.1.0 installed, with TASKS tasks on the 1-5 scale and their history.
    fn installed() -> Self {
        let o = Octo::copy("octollm", Kind::Postgres);
        o.ok(&["db", "migrate", "--to", "1"]);
        o.ok(&["adopt", "0.1.0"]);
        o.db.exec(&format!(
            "INSERT INTO tasks (description, status, priority) SELECT 'task ' || x, CASE WHEN x % 3 = 0 THEN 'done' ELSE 'queued' END, (x % 5) + 1 FROM generate_series(1, {TASKS}) x;
             INSERT INTO task_history (task_id, event) SELECT x, 'created' FROM generate_series(1, {TASKS}, 4) x;"
        ));
        o
    }

    /// A fingerprint of the application's rows (every column of tasks and
    /// task_history), short enough to compare in an assertion.
    fn data(&self) -> Vec<String> {
        ["tasks", "task_history"]
            .iter()
            .map(|t| {
                self.db
                    .column(&format!("SELECT md5(string_agg(x::text, ',' ORDER BY id)) FROM {t} x"))
                    .concat()
            })
            .collect()
    }

    fn env_file(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(".env")).unwrap()
    }

    /// Tasks whose priority is not `factor` times the original (x % 5 + 1).
    fn off_scale(&self, factor: i64) -> i64 {
        self.db.scalar(&format!(
            "SELECT count(*) FROM tasks WHERE priority <> {factor} * ((substr(description, 6)::bigint % 5) + 1)"
        ))
    }

    fn index_valid(&self, name: &str) -> i64 {
        self.db.scalar(&format!(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '{name}' AND i.indisvalid"
        ))
    }
}

#[test]
fn upgrade_rescales_every_task_once_and_rolls_back() {
    let o = Octo::installed();
    let env_before = o.env_file();
    let rows_before = o.data();
    let plan = o.ok(&["plan"]);
    assert!(
        plan.contains("0005_rescale_priority (in batches)")
            && plan.contains("0008_priority_scale_not_null (post-deploy)"),
        "{plan}"
    );
    let out = o.ok(&["upgrade", "--yes"]);
    assert!(out.contains("post-deploy migrations applied 1 migration"), "{out}");
    assert_eq!(o.off_scale(2), 0, "every task rescaled exactly once");
    assert_eq!(o.db.scalar("SELECT count(*) FROM tasks"), TASKS);
    assert_eq!(o.index_valid("idx_tasks_status_priority"), 1);
    assert_eq!(o.index_valid("idx_task_history_created_brin"), 1);
    assert_eq!(
        o.db.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'priority_scale' AND is_nullable = 'NO'"),
        1,
        "NOT NULL once the new code runs"
    );
    let env = o.env_file();
    for line in [
        "# CACHE_ENABLED=true",
        "# CACHE_TTL=3600",
        "CACHE_L1_ENABLED=true",
        "CACHE_L2_ENABLED=true",
        "CACHE_L1_SIZE=1000",
        "CACHE_L1_TTL=60",
        "CACHE_L2_TTL=3600",
        "WEBHOOK_URL=https://example.com/octollm/v1/webhook",
        "# OctoLLM settings",
    ] {
        assert!(env.lines().any(|l| l.starts_with(line)), "{line} in:\n{env}");
    }

    o.ok(&["rollback", "--yes"]);
    assert_eq!(o.data(), rows_before, "every row as it was");
    assert_eq!(o.env_file(), env_before, ".env byte for byte");
    assert_eq!(o.index_valid("idx_tasks_status_priority"), 0);
}

/// Killed right after batch 57 of the rescale: resumed, every task is
/// doubled once; rolled back, every task is as it was (the batched down
/// walks only the 57 batches done).
#[test]
fn killed_in_the_rescale_then_resumed_or_rolled_back() {
    for resume in [true, false] {
        let o = Octo::installed();
        let rows_before = o.data();
        let out = o
            .cmd(&["upgrade", "--yes"])
            .env("FERRY_TEST_CRASH_AFTER_BATCH", "57")
            .output()
            .unwrap();
        assert!(out.status.code().is_none(), "killed: {}{}", stdout(&out), stderr(&out));
        let status = o.ok(&["db", "status"]);
        assert!(
            status.contains("0005_rescale_priority") && status.contains("running (up, 57000 rows in 57 batches)"),
            "{status}"
        );
        if resume {
            o.ok(&["upgrade", "--resume"]);
            assert_eq!(o.off_scale(2), 0, "every task doubled exactly once");
            let st = o.ok(&["status"]);
            assert!(st.contains("installed: 1.0.0"), "{st}");
        } else {
            o.ok(&["upgrade", "--rollback"]);
            assert_eq!(o.data(), rows_before, "every task as it was");
        }
    }
}

/// The NOT NULL sequence: the NOT VALID checks take a moment's lock, the
/// validation only a lock that lets writes through, and SET NOT NULL finds
/// the validated check and skips its scan (PostgreSQL says so at DEBUG1).
/// Each script is run as ferry runs it, in a transaction, from another
/// session that then looks at its locks; rolled back, ferry runs them for real.
#[test]
fn not_null_sequence_scans_under_no_exclusive_lock() {
    let o = Octo::installed();
    o.ok(&["db", "migrate", "--to", "5"]);
    let mig = |name: &str| std::fs::read_to_string(o.dir.path().join("migrations").join(name)).unwrap();
    let notices = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = notices.clone();
    let mut config: ::postgres::Config = o.db.url.parse().unwrap();
    config.notice_callback(move |n| seen.lock().unwrap().push(n.message().to_owned()));
    let mut c = config.connect(::postgres::NoTls).unwrap();
    let locks = |c: &mut ::postgres::Client| -> Vec<String> {
        c.query(
            "SELECT mode FROM pg_locks WHERE relation = 'tasks'::regclass AND pid = pg_backend_pid() ORDER BY mode",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    // 0006 and 0007 together, as ferry applies them, one transaction each.
    c.batch_execute(&format!("BEGIN; {}", mig("0006_priority_checks.up.sql")))
        .unwrap();
    assert!(
        locks(&mut c).contains(&"AccessExclusiveLock".to_owned()),
        "a moment's lock, no scan"
    );
    c.batch_execute("COMMIT").unwrap();
    c.batch_execute(&format!("BEGIN; {}", mig("0007_validate_priority_checks.up.sql")))
        .unwrap();
    let held = locks(&mut c);
    assert!(
        held.contains(&"ShareUpdateExclusiveLock".to_owned()) && !held.contains(&"AccessExclusiveLock".to_owned()),
        "the validating scan lets writes through: {held:?}"
    );
    c.batch_execute("COMMIT").unwrap();
    c.batch_execute(&format!(
        "BEGIN; SET LOCAL client_min_messages = debug1; {}",
        mig("0008_priority_scale_not_null.up.sql").replace("-- ferry:phase post-deploy", "")
    ))
    .unwrap();
    let said = notices.lock().unwrap().join("\n");
    assert!(
        said.contains("sufficient to prove that it does not contain nulls"),
        "SET NOT NULL skips its scan: {said}"
    );
    c.batch_execute("ROLLBACK").unwrap();
    // Undo 0006 and 0007 by hand, then let ferry run the sequence.
    c.batch_execute(&mig("0006_priority_checks.down.sql")).unwrap();
    o.ok(&["db", "migrate", "--phase", "all"]);
    assert_eq!(
        o.db.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'tasks_priority_range' AND convalidated"),
        1
    );
    assert_eq!(
        o.db.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'priority_scale' AND is_nullable = 'NO'"),
        1
    );
}
