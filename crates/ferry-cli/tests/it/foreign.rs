//! Taking over through the CLI: AgentLab's database as its daemon left it
//! (its own `schema_migrations(version, name, applied_at)`, migrations 1
//! and 2 applied), and `ferry import` of another tool's folder.

use std::path::Path;

use crate::support::{copy_dir, ferry, stderr, stdout};

/// AgentLab as installed before ferry: the daemon applied migrations 1 and
/// 2 and recorded them its way.
fn agentlab_before_ferry() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/agentlab"),
        dir.path(),
    );
    let conn = rusqlite::Connection::open(dir.path().join("agentlab.db")).unwrap();
    for v in ["0001_init_core_tables", "0002_add_job_spec_fields"] {
        let sql = std::fs::read_to_string(dir.path().join(format!("migrations/{v}.up.sql"))).unwrap();
        conn.execute_batch(&sql).unwrap();
    }
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 'init_core_tables', '2025-01-15T10:00:00Z');
         INSERT INTO schema_migrations VALUES (2, 'add_job_spec_fields', '2025-01-20T15:30:00Z');
         INSERT INTO profiles (name, template_vm) VALUES ('default', 9000);",
    )
    .unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    ferry().current_dir(dir).args(args).output().unwrap()
}

#[test]
fn agentlab_daemon_history_is_taken_over() {
    let dir = agentlab_before_ferry();
    let p = dir.path();
    // Not a fresh database: ferry says whose it is and how to take it over.
    let out = run(p, &["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("no ferry history") && text.contains("ferry db adopt --from table --table schema_migrations"),
        "{text}"
    );
    let out = run(p, &["db", "migrate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--allow-unmanaged"), "{}", stderr(&out));

    let out = run(p, &["db", "adopt", "--from", "table", "--json"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["adopted"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["adopted"][0]["applied_at"], "2025-01-15T10:00:00Z");
    assert_eq!(report["pending"], serde_json::json!(["0003_add_artifacts"]));

    let history = stdout(&run(p, &["db", "history"]));
    assert!(history.contains("2025-01-15T10:00:00.000Z"), "{history}");
    // Only what is new runs; the daemon's data is still there.
    let out = run(p, &["db", "migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("applied 0003_add_artifacts"));
    let conn = rusqlite::Connection::open(p.join("agentlab.db")).unwrap();
    // 0001's own profile and the one the daemon's user added, each once.
    let n: i64 = conn
        .query_row("SELECT count(*) FROM profiles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 2, "the daemon's table is left as it was");
}

#[test]
fn import_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ferry.toml"),
        "[project]\nname = \"t\"\n\n[database]\nurl = \"sqlite://app.db\"\n",
    )
    .unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ferry/tests/fixtures/foreign/goose");
    let src = src.to_str().unwrap();
    let out = run(dir.path(), &["import", "--from", "goose", src, "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("would write 4 migrations from goose"),
        "{}",
        stdout(&out)
    );
    assert!(!dir.path().join("migrations").exists(), "a dry run writes nothing");
    let out = run(dir.path(), &["import", "--from", "goose", src]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("migrations/IMPORTED.toml").is_file());
    let out = run(dir.path(), &["db", "validate"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = run(dir.path(), &["db", "migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A bad tool name is a usage error.
    let out = run(dir.path(), &["import", "--from", "liquibase", src]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("one of: alembic, flyway"), "{}", stderr(&out));
}
