//! The embedded example migrates a fresh database at start-up, and a second
//! start finds nothing to do.

use std::process::Command;

use ferry_testkit::{Kind, TestDb};

fn start(url: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_embedded-app"))
        .arg(url)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn migrates_at_startup_then_does_nothing() {
    // AgentLab's migrations are written for SQLite, its only engine.
    let db = TestDb::new(Kind::Sqlite);
    let first = start(&db.url);
    assert!(first.contains("3 migration(s) applied"), "{first}");
    assert!(db.tables().contains(&"artifacts".to_owned()));
    assert_eq!(db.scalar("SELECT count(*) FROM schema_migrations"), 3);
    let second = start(&db.url);
    assert!(second.contains("0 migration(s) applied"), "{second}");
}
