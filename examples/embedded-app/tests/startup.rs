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

/// While an upgrade run that `ferry upgrade` started on this database is
/// unfinished (killed, say, with its pod), the application's start-up
/// refuses to migrate, naming the run and the commands that end it; once
/// the run is finished, start-up migrates again.
#[test]
fn an_unfinished_upgrade_run_stops_startup_until_it_is_finished() {
    use ferry::state::{DbStore, RunMark, Store};

    let db = TestDb::new(Kind::Sqlite);
    let url = ferry::DatabaseUrl::parse(&db.url, std::path::Path::new(".")).unwrap();
    let history = ferry::engine::HistoryTable::parse("schema_migrations").unwrap();
    let mut store = DbStore::connect(&url, &history, &ferry::engine::ConnectOptions::default()).unwrap();
    let mut mark = RunMark {
        id: "20261208T000000.000Z-1.0.0-to-2.0.0".into(),
        state: "running".into(),
        finished: false,
    };
    store.create_run(&mark, b"{}").unwrap();
    store.append(&mark, 1, b"{}").unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_embedded-app"))
        .arg(&db.url)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        err.contains("20261208T000000.000Z-1.0.0-to-2.0.0") && err.contains("ferry upgrade --resume"),
        "{err}"
    );
    assert!(!db.tables().contains(&"artifacts".to_owned()), "nothing was migrated");

    mark.state = "done".into();
    mark.finished = true;
    store.append(&mark, 2, b"{}").unwrap();
    let started = start(&db.url);
    assert!(started.contains("3 migration(s) applied"), "{started}");
}
