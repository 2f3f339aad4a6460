//! The safety rule an embedding application meets: an upgrade started
//! through the library and killed part-way (a debug-build crash point
//! aborts the process) leaves its run unfinished in the database, and
//! `ferry::migrate_embedded` (an application starting up) then refuses,
//! naming the run and the commands that finish or undo it.

use std::path::Path;

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_a.up.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"),
    ("0001_a.down.sql", "DROP TABLE a;\n"),
    ("0002_b.up.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);\n"),
    ("0002_b.down.sql", "DROP TABLE b;\n"),
];

/// The upgrade, run in a child process (this test binary again) that the
/// crash point kills: only when the parent test asks for it.
#[test]
#[ignore = "run by the test below, in a process of its own"]
fn child_upgrade() {
    let Ok(dir) = std::env::var("FERRY_EMBED_CHILD_PROJECT") else {
        return;
    };
    let inst = ferry::Installation::load(Path::new(&dir)).unwrap();
    let prepared = ferry::upgrade::prepare(&inst, &ferry::Access::default(), None).unwrap();
    let _ = prepared.run(ferry::upgrade::RunOptions::default(), &mut ());
}

#[test]
fn an_upgrade_killed_through_the_library_stops_migrate_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let url = format!("sqlite://{}", db.display());
    std::fs::write(
        dir.path().join("ferry.toml"),
        format!("[project]\nname = \"embedded\"\n\n[database]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("releases")).unwrap();
    std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("releases/1.0.0.toml"),
        "version = \"1.0.0\"\nschema = 2\n",
    )
    .unwrap();
    for (name, sql) in MIGRATIONS {
        std::fs::write(dir.path().join("migrations").join(name), sql).unwrap();
    }
    // Killed inside the migrate step (record 10 starts it on a fresh install).
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["embed_guard::child_upgrade", "--exact", "--ignored", "--nocapture"])
        .env("FERRY_EMBED_CHILD_PROJECT", dir.path())
        .env("FERRY_TEST_CRASH_INSIDE", "10")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        !status.success() && status.code().is_none(),
        "the crash point killed it: {status}"
    );

    let err = ferry::migrate_embedded(&url, MIGRATIONS, ferry::Settings::default(), &mut ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("-fresh-to-1.0.0") || err.contains("-to-1.0.0"),
        "names the run: {err}"
    );
    assert!(
        err.contains("ferry upgrade --resume") && err.contains("ferry upgrade --rollback"),
        "{err}"
    );

    // Resumed through the library, the run ends and start-up migrates (nothing left to do).
    let inst = ferry::Installation::load(dir.path()).unwrap();
    ferry::upgrade::resume(&inst, &ferry::Access::default(), &mut ()).unwrap();
    let report = ferry::migrate_embedded(&url, MIGRATIONS, ferry::Settings::default(), &mut ()).unwrap();
    assert!(report.steps.is_empty());
}
