//! Each scenario runs on SQLite, PostgreSQL and MariaDB, forward and back,
//! and checks that nothing is left behind.

use ferry::migration::{AppliedMigration, State};
use ferry::{Error, FailureState, MigrateOptions, RevertTarget};
use ferry_testkit::{Kind, TestDb};

use crate::support::{basic, history_versions, migrator, set, states};
use ferry_testkit::per_engine;

per_engine!(
    round_trip_up_down_up,
    to_and_steps,
    dry_run_changes_nothing,
    failing_statement_mid_migration,
    crlf_bom_and_edited_migrations,
    out_of_order_needs_permission,
    missing_file_blocks_until_repaired,
    revert_refuses_without_down_file,
    baseline_existing_database,
    routines_with_bodies,
    interrupted_no_transaction_step_blocks,
    concurrent_migrators_apply_each_once,
    history_table_name_is_configurable,
);

fn round_trip_up_down_up(kind: Kind) {
    let db = TestDb::new(kind);
    let files = basic();
    let set = set(&files);
    let mut m = migrator(&db);

    let report = m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(report.steps.len(), 3);
    assert_eq!(db.tables(), vec!["a", "b", "ferry_history"]);
    assert_eq!(db.column("SELECT name FROM a ORDER BY id"), vec!["one", "two;semi"]);
    assert_eq!(db.indexes(), vec!["b_a_id"]);
    assert!(m.status(&set).unwrap().is_clean());

    let report = m.revert(&set, RevertTarget::To(0), &mut ()).unwrap();
    let reverted: Vec<u64> = report.steps.iter().map(|s| s.version).collect();
    assert_eq!(reverted, vec![3, 2, 1]);
    // Nothing left behind but ferry's own, now empty, history table.
    assert_eq!(db.tables(), vec!["ferry_history"]);
    assert!(db.indexes().is_empty());
    assert!(history_versions(&mut m).is_empty());

    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(db.tables(), vec!["a", "b", "ferry_history"]);
    assert_eq!(db.scalar("SELECT count(*) FROM a"), 2);
    // Nothing pending: a second run does nothing.
    assert!(
        m.migrate(&set, MigrateOptions::default(), &mut ())
            .unwrap()
            .steps
            .is_empty()
    );
}

fn to_and_steps(kind: Kind) {
    let db = TestDb::new(kind);
    let files = basic();
    let set = set(&files);
    let mut m = migrator(&db);
    let to2 = MigrateOptions {
        to: Some(2),
        ..Default::default()
    };
    m.migrate(&set, to2, &mut ()).unwrap();
    assert_eq!(history_versions(&mut m), vec![1, 2]);
    assert_eq!(db.tables(), vec!["a", "ferry_history"]);

    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    m.revert(&set, RevertTarget::Steps(2), &mut ()).unwrap();
    assert_eq!(history_versions(&mut m), vec![1]);
    assert_eq!(db.scalar("SELECT count(*) FROM a"), 0);

    // --to below the database points to revert.
    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    let err = m
        .migrate(
            &set,
            MigrateOptions {
                to: Some(1),
                ..Default::default()
            },
            &mut (),
        )
        .unwrap_err();
    assert!(err.to_string().contains("ferry db revert --to 1"), "{err}");
    m.revert(&set, RevertTarget::To(1), &mut ()).unwrap();
    assert_eq!(history_versions(&mut m), vec![1]);
}

fn dry_run_changes_nothing(kind: Kind) {
    let db = TestDb::new(kind);
    let files = basic();
    let set = set(&files);
    let mut m = migrator(&db);
    let steps = m.plan_migrate(&set, MigrateOptions::default()).unwrap();
    assert_eq!(steps.len(), 3);
    let sql = m.render_sql(&steps).unwrap();
    assert!(
        sql.contains("INSERT INTO a (id, name) VALUES (2, 'two;semi');"),
        "{sql}"
    );
    assert!(
        db.tables().is_empty(),
        "a dry run must not even create the history table"
    );

    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    let steps = m.plan_revert(&set, RevertTarget::To(0)).unwrap();
    assert_eq!(steps.len(), 3);
    assert!(m.render_sql(&steps).unwrap().contains("DROP TABLE a;"));
    assert_eq!(db.tables(), vec!["a", "b", "ferry_history"]);
    assert_eq!(history_versions(&mut m), vec![1, 2, 3]);
}

fn failing_statement_mid_migration(kind: Kind) {
    let db = TestDb::new(kind);
    let mut files = basic();
    files.push((
        "0004_broken.up.sql",
        "CREATE TABLE c (id INTEGER PRIMARY KEY);\nINSERT INTO c (id) VALUES (1);\nINSERT INTO no_such_table (id) VALUES (1);\nCREATE TABLE d (id INTEGER);\n",
    ));
    files.push(("0004_broken.down.sql", "DROP TABLE c;\n"));
    let set = set(&files);
    let mut m = migrator(&db);
    let err = m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap_err();
    let Error::MigrationFailed(failure) = &err else {
        panic!("expected a migration failure, got {err}");
    };
    let (migration, state, progress, line) = (&failure.migration, &failure.state, &failure.progress, &failure.line);
    assert_eq!(migration, "0004_broken (up)");
    assert_eq!(
        progress.completed,
        vec!["0001_create_a", "0002_seed_a", "0003_create_b"]
    );
    let status = m.status(&set).unwrap();
    match kind {
        Kind::Sqlite | Kind::Postgres => {
            assert_eq!(*state, FailureState::RolledBack);
            // Exactly as before the migration: no table c, no history row.
            assert_eq!(db.tables(), vec!["a", "b", "ferry_history"]);
            assert_eq!(history_versions(&mut m), vec![1, 2, 3]);
            assert_eq!(status.migrations[3].state, State::Pending);
            if kind == Kind::Postgres {
                assert_eq!(*line, Some(3), "PostgreSQL reports where: {err}");
            }
        }
        Kind::MySql => {
            assert_eq!(
                *state,
                FailureState::Dirty { applied: 2 },
                "CREATE TABLE c and the first INSERT"
            );
            assert_eq!(*line, Some(3), "{err}");
            assert!(err.to_string().contains("INSERT INTO no_such_table"), "{err}");
            // DDL committed itself: c exists, d was never reached.
            assert_eq!(db.tables(), vec!["a", "b", "c", "ferry_history"]);
            assert_eq!(status.migrations[3].state, State::Failed);
            // Every later run refuses, naming the migration and the fix.
            let refused = m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap_err();
            let text = refused.to_string();
            assert!(matches!(refused, Error::Refused(_)), "{text}");
            assert!(
                text.contains("0004_broken") && text.contains("no_such_table") && text.contains("ferry db repair"),
                "{text}"
            );
            assert!(matches!(
                m.revert(&set, RevertTarget::Steps(1), &mut ()),
                Err(Error::Refused(_))
            ));
            // The operator undoes the partial work and repairs.
            db.exec("DROP TABLE c");
            let actions = m.repair(&set, false).unwrap();
            assert_eq!(actions.len(), 1);
            assert_eq!(history_versions(&mut m), vec![1, 2, 3]);
        }
    }
    // With the script fixed, the migration applies and reverts cleanly.
    let mut fixed = files.clone();
    fixed.retain(|(n, _)| !n.starts_with("0004_broken.up"));
    fixed.push((
        "0004_broken.up.sql",
        "CREATE TABLE c (id INTEGER PRIMARY KEY);\nINSERT INTO c (id) VALUES (1);\n",
    ));
    let fixed = crate::support::set(&fixed);
    m.migrate(&fixed, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(db.scalar("SELECT count(*) FROM c"), 1);
    m.revert(&fixed, RevertTarget::Steps(1), &mut ()).unwrap();
    assert_eq!(db.tables(), vec!["a", "b", "ferry_history"]);
}

fn crlf_bom_and_edited_migrations(kind: Kind) {
    let db = TestDb::new(kind);
    let lf = [
        (
            "0001_t.up.sql",
            "-- ferry:no-transaction\nCREATE TABLE t (id INTEGER);\n",
        ),
        ("0001_t.down.sql", "DROP TABLE t;\n"),
    ];
    let crlf = [
        (
            "0001_t.up.sql",
            "\u{feff}-- ferry:no-transaction\r\nCREATE TABLE t (id INTEGER);\r\n",
        ),
        ("0001_t.down.sql", "DROP TABLE t;\r\n"),
    ];
    let mut m = migrator(&db);
    m.migrate(&set(&lf), MigrateOptions::default(), &mut ()).unwrap();
    // A CRLF + BOM checkout of the same file is not an edit.
    let crlf_set = set(&crlf);
    assert!(crlf_set.get(1).unwrap().up.directives.no_transaction);
    assert_eq!(states(&m.status(&crlf_set).unwrap()), vec![(1, State::Applied)]);
    // A real edit is.
    let edited = set(&[
        (
            "0001_t.up.sql",
            "-- ferry:no-transaction\nCREATE TABLE t (id BIGINT);\n",
        ),
        ("0001_t.down.sql", "DROP TABLE t;\n"),
    ]);
    assert_eq!(states(&m.status(&edited).unwrap()), vec![(1, State::Modified)]);
    let err = m.migrate(&edited, MigrateOptions::default(), &mut ()).unwrap_err();
    assert!(err.to_string().contains("edited after it was applied"), "{err}");
    assert_eq!(m.validate(&edited).unwrap().len(), 1);
    // Repair accepts the new checksum; afterwards all agree.
    assert_eq!(m.repair(&edited, true).unwrap().len(), 1);
    assert_eq!(
        states(&m.status(&edited).unwrap()),
        vec![(1, State::Modified)],
        "dry run changed nothing"
    );
    m.repair(&edited, false).unwrap();
    assert!(m.status(&edited).unwrap().is_clean());
    assert!(m.validate(&edited).unwrap().is_empty());
}

fn out_of_order_needs_permission(kind: Kind) {
    let db = TestDb::new(kind);
    let all = basic();
    let without_2: Vec<_> = all.iter().copied().filter(|(n, _)| !n.starts_with("0002")).collect();
    let mut m = migrator(&db);
    m.migrate(&set(&without_2), MigrateOptions::default(), &mut ()).unwrap();
    let full = set(&all);
    let status = m.status(&full).unwrap();
    assert_eq!(status.migrations[1].state, State::OutOfOrder);
    let err = m.migrate(&full, MigrateOptions::default(), &mut ()).unwrap_err();
    assert!(err.to_string().contains("--allow-out-of-order"), "{err}");
    assert_eq!(db.scalar("SELECT count(*) FROM a"), 0, "refused means nothing ran");
    let opts = MigrateOptions {
        allow_out_of_order: true,
        ..Default::default()
    };
    m.migrate(&full, opts, &mut ()).unwrap();
    assert_eq!(db.scalar("SELECT count(*) FROM a"), 2);
    assert!(m.status(&full).unwrap().is_clean());
}

fn missing_file_blocks_until_repaired(kind: Kind) {
    let db = TestDb::new(kind);
    let all = basic();
    let mut m = migrator(&db);
    m.migrate(
        &set(&all),
        MigrateOptions {
            to: Some(2),
            ..Default::default()
        },
        &mut (),
    )
    .unwrap();
    let only_1_and_3: Vec<_> = all.iter().copied().filter(|(n, _)| !n.starts_with("0002")).collect();
    let partial = set(&only_1_and_3);
    assert_eq!(
        states(&m.status(&partial).unwrap()),
        vec![(1, State::Applied), (2, State::Missing), (3, State::Pending)]
    );
    let err = m.migrate(&partial, MigrateOptions::default(), &mut ()).unwrap_err();
    assert!(err.to_string().contains("0002_seed_a has no file"), "{err}");
    m.repair(&partial, false).unwrap();
    m.migrate(&partial, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(history_versions(&mut m), vec![1, 3]);
}

fn revert_refuses_without_down_file(kind: Kind) {
    let db = TestDb::new(kind);
    let mut files = basic();
    files.retain(|(n, _)| *n != "0002_seed_a.down.sql");
    let set = set(&files);
    let mut m = migrator(&db);
    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    let err = m.revert(&set, RevertTarget::To(0), &mut ()).unwrap_err();
    assert!(err.to_string().contains("0002_seed_a has no down file"), "{err}");
    // Nothing ran: 0003 (which has a down file) is still applied.
    assert_eq!(db.tables(), vec!["a", "b", "ferry_history"]);
    assert_eq!(history_versions(&mut m), vec![1, 2, 3]);
    m.revert(&set, RevertTarget::Steps(1), &mut ()).unwrap();
    assert_eq!(history_versions(&mut m), vec![1, 2]);
}

fn baseline_existing_database(kind: Kind) {
    let db = TestDb::new(kind);
    // A database created by hand before ferry arrived.
    db.exec("CREATE TABLE a (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)");
    db.exec("INSERT INTO a (id, name) VALUES (1, 'one')");
    let files = basic();
    let set = set(&files);
    let mut m = migrator(&db);
    m.baseline(&set, 2).unwrap();
    assert_eq!(
        states(&m.status(&set).unwrap()),
        vec![(1, State::Applied), (2, State::Applied), (3, State::Pending)]
    );
    let report = m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(report.steps.len(), 1);
    assert_eq!(
        db.scalar("SELECT count(*) FROM a"),
        1,
        "baselined migrations did not run"
    );
    assert!(
        m.revert(&set, RevertTarget::To(1), &mut ()).is_err(),
        "cannot revert below the baseline"
    );
    m.revert(&set, RevertTarget::To(2), &mut ()).unwrap();
    assert_eq!(db.tables(), vec!["a", "ferry_history"]);
    assert!(
        m.baseline(&set, 3).is_err(),
        "baseline only on a database ferry does not manage"
    );
}

fn routines_with_bodies(kind: Kind) {
    let db = TestDb::new(kind);
    let (up, down): (&str, &str) = match kind {
        Kind::Sqlite => (
            "CREATE TABLE log (n INTEGER);\nCREATE TABLE item (id INTEGER);\nCREATE TRIGGER item_log AFTER INSERT ON item\nBEGIN\n  INSERT INTO log (n) VALUES (NEW.id);\n  INSERT INTO log (n) VALUES (CASE WHEN NEW.id > 1 THEN 100 ELSE 0 END);\nEND;\nINSERT INTO item (id) VALUES (2);\n",
            "DROP TRIGGER item_log;\nDROP TABLE item;\nDROP TABLE log;\n",
        ),
        Kind::Postgres => (
            "CREATE TABLE log (n INTEGER);\nCREATE TABLE item (id INTEGER);\nCREATE FUNCTION item_log() RETURNS trigger AS $body$\nBEGIN\n  INSERT INTO log (n) VALUES (NEW.id);\n  INSERT INTO log (n) VALUES (CASE WHEN NEW.id > 1 THEN 100 ELSE 0 END);\n  RETURN NEW; -- a comment; with a semicolon\nEND;\n$body$ LANGUAGE plpgsql;\nCREATE TRIGGER item_log AFTER INSERT ON item FOR EACH ROW EXECUTE FUNCTION item_log();\nINSERT INTO item (id) VALUES (2);\n",
            "DROP TABLE item;\nDROP FUNCTION item_log();\nDROP TABLE log;\n",
        ),
        Kind::MySql => (
            "CREATE TABLE log (n INTEGER);\nCREATE TABLE item (id INTEGER);\nCREATE TRIGGER item_log AFTER INSERT ON item FOR EACH ROW\nBEGIN\n  INSERT INTO log (n) VALUES (NEW.id);\n  IF NEW.id > 1 THEN\n    INSERT INTO log (n) VALUES (100);\n  END IF;\nEND;\nINSERT INTO item (id) VALUES (2);\n",
            "DROP TRIGGER item_log;\nDROP TABLE item;\nDROP TABLE log;\n",
        ),
    };
    // Once wrapped in a transaction, once statement by statement.
    for directive in ["", "-- ferry:no-transaction\n"] {
        let up = format!("{directive}{up}");
        let files = [("0001_routines.up.sql", up.as_str()), ("0001_routines.down.sql", down)];
        let set = set(&files);
        let mut m = migrator(&db);
        m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
        assert_eq!(
            db.column("SELECT n FROM log ORDER BY n"),
            vec!["2", "100"],
            "{directive}"
        );
        m.revert(&set, RevertTarget::To(0), &mut ()).unwrap();
        assert_eq!(db.tables(), vec!["ferry_history"]);
    }
    if kind == Kind::Postgres {
        // CREATE INDEX CONCURRENTLY cannot run in a transaction: it needs the
        // directive, and must not wait behind ferry's own lock.
        let files = [
            ("0001_t.up.sql", "CREATE TABLE t (id INTEGER, v TEXT);\n"),
            ("0001_t.down.sql", "DROP TABLE t;\n"),
            (
                "0002_idx.up.sql",
                "-- builds without blocking writes\n-- ferry:no-transaction\nCREATE INDEX CONCURRENTLY t_v ON t (v);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
            ),
            (
                "0002_idx.down.sql",
                "-- ferry:no-transaction\nDROP INDEX CONCURRENTLY t_v;\nDROP INDEX CONCURRENTLY t_id;\n",
            ),
        ];
        let set = set(&files);
        let mut m = migrator(&db);
        m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
        assert_eq!(db.indexes(), vec!["t_id", "t_v"]);
        m.revert(&set, RevertTarget::To(0), &mut ()).unwrap();
        assert!(db.indexes().is_empty());
        // Without the directive PostgreSQL refuses, and the transaction rolls back.
        let files = [(
            "0001_idx.up.sql",
            "CREATE TABLE u (v TEXT);\nCREATE INDEX CONCURRENTLY u_v ON u (v);\n",
        )];
        let err = m
            .migrate(&crate::support::set(&files), MigrateOptions::default(), &mut ())
            .unwrap_err();
        assert!(err.to_string().contains("CONCURRENTLY"), "{err}");
        assert_eq!(db.tables(), vec!["ferry_history"]);
    }
}

fn interrupted_no_transaction_step_blocks(kind: Kind) {
    // A process killed inside a no-transaction migration leaves its row
    // marked as started. Simulate that row, then check that every run
    // refuses until repair, and that repair makes it pending again.
    let db = TestDb::new(kind);
    let files = basic();
    let set = set(&files);
    let mut m = migrator(&db);
    m.migrate(
        &set,
        MigrateOptions {
            to: Some(1),
            ..Default::default()
        },
        &mut (),
    )
    .unwrap();
    let checksum = set.get(2).unwrap().up.checksum().as_str().to_owned();
    let success = if kind == Kind::Postgres { "FALSE" } else { "0" };
    db.exec(&format!(
        "INSERT INTO ferry_history (version, name, kind, checksum, applied_at, execution_ms, success, error) VALUES (2, '0002_seed_a', 'migration', '{checksum}', '2026-01-01 00:00:00', 0, {success}, 'up: started and did not finish (interrupted?)')"
    ));
    let status = m.status(&set).unwrap();
    assert_eq!(status.migrations[1].state, State::Failed);
    let err = m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap_err();
    assert!(err.to_string().contains("interrupted"), "{err}");
    let actions = m.repair(&set, false).unwrap();
    assert!(actions[0].action.contains("pending again"), "{:?}", actions);
    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    assert!(m.status(&set).unwrap().is_clean());
}

fn concurrent_migrators_apply_each_once(kind: Kind) {
    let db = TestDb::new(kind);
    let files: Vec<(String, String)> = (1..=12)
        .flat_map(|i| {
            [
                (
                    format!("{i:04}_t{i}.up.sql"),
                    format!("CREATE TABLE t{i} (id INTEGER);\nINSERT INTO t{i} (id) VALUES ({i});\n"),
                ),
                (format!("{i:04}_t{i}.down.sql"), format!("DROP TABLE t{i};\n")),
            ]
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let set = std::sync::Arc::new(set(&borrowed));
    let applied: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let set = set.clone();
                let db = &db;
                s.spawn(move || {
                    let mut m = migrator(db);
                    m.migrate(&set, MigrateOptions::default(), &mut ())
                        .expect("no migrator fails")
                        .steps
                        .len()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(applied, 12, "each migration applied by exactly one migrator");
    for i in 1..=12 {
        assert_eq!(db.scalar(&format!("SELECT count(*) FROM t{i}")), 1);
    }
}

fn history_table_name_is_configurable(kind: Kind) {
    let db = TestDb::new(kind);
    let files = basic();
    let set = set(&files);
    let url = ferry::DatabaseUrl::parse(&db.url, std::path::Path::new(".")).unwrap();
    let settings = ferry::Settings {
        history_table: ferry::engine::HistoryTable::parse("schema_migrations").unwrap(),
        ..Default::default()
    };
    let mut m = ferry::Migrator::connect(&url, settings).unwrap();
    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(db.tables(), vec!["a", "b", "schema_migrations"]);
    let rows: Vec<AppliedMigration> = m.history().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.success && r.checksum.len() == 64 && r.applied_at.ends_with('Z'))
    );
    // One shape on every engine: ISO 8601 in UTC, to the millisecond.
    for r in &rows {
        assert_eq!(r.applied_at.len(), "2026-01-01T00:00:00.000Z".len(), "{}", r.applied_at);
        assert!(r.applied_at.parse::<jiff::Timestamp>().is_ok(), "{}", r.applied_at);
    }
}

/// A failed `CREATE INDEX CONCURRENTLY` leaves an INVALID index: the
/// failure names it, and `repair` drops it and marks the migration pending.
#[test]
fn postgres_failed_concurrent_index_is_named_and_repair_drops_it() {
    let db = TestDb::new(Kind::Postgres);
    db.exec("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (1)");
    let files = [(
        "0001_unique.up.sql",
        "-- ferry:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_x_unique ON t (x);\n",
    )];
    let set = set(&files);
    let mut m = migrator(&db);
    let err = m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err}")
    };
    assert_eq!(f.invalid_indexes, vec!["public.t_x_unique".to_owned()]);
    assert!(
        err.to_string()
            .contains("left the index public.t_x_unique behind, INVALID"),
        "{err}"
    );
    let invalid = "SELECT count(*) FROM pg_index WHERE NOT indisvalid";
    assert_eq!(db.scalar(invalid), 1);

    let dry = m.repair(&set, true).unwrap();
    assert!(
        dry.iter().any(|a| a.action.contains("INVALID index public.t_x_unique")),
        "{dry:?}"
    );
    assert_eq!(db.scalar(invalid), 1, "a dry run drops nothing");
    m.repair(&set, false).unwrap();
    assert_eq!(db.scalar(invalid), 0);
    assert_eq!(m.status(&set).unwrap().migrations[0].state, State::Pending);
    // With the duplicate gone, the migration goes through.
    db.exec("DELETE FROM t");
    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(
        db.scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 't_x_unique'"),
        1
    );
}

/// SQLite's table rebuild needs foreign keys off, which only works outside a
/// transaction: `-- ferry:foreign-keys-off` does that and checks every key
/// before the commit; `sqlite_foreign_keys = false` turns them off for all.
#[test]
fn sqlite_table_rebuild_with_foreign_keys_off() {
    let db = TestDb::new(Kind::Sqlite);
    db.exec(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id));
         INSERT INTO parent VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (10, 1), (11, 2);",
    );
    let rebuild = "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\n\
                   INSERT INTO parent_new SELECT id, coalesce(name, '') FROM parent;\n\
                   DROP TABLE parent;\n\
                   ALTER TABLE parent_new RENAME TO parent;\n";
    // With foreign keys on (the default), dropping the parent fails.
    let set_on = set(&[("0001_rebuild.up.sql", rebuild)]);
    let mut m = migrator(&db);
    let err = m.migrate(&set_on, MigrateOptions::default(), &mut ()).unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY constraint failed"), "{err}");
    // With the directive it goes through, and the keys still hold.
    let with_off = format!("-- ferry:foreign-keys-off\n{rebuild}");
    let set_off = set(&[("0001_rebuild.up.sql", with_off.as_str())]);
    m.migrate(&set_off, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(
        db.scalar("SELECT count(*) FROM child JOIN parent ON parent.id = child.parent_id"),
        2
    );
    // A migration that breaks a key is rolled back, naming the row.
    let breaks = "-- ferry:foreign-keys-off\nDELETE FROM parent WHERE id = 2;\n";
    let set_bad = set(&[
        ("0001_rebuild.up.sql", with_off.as_str()),
        ("0002_breaks.up.sql", breaks),
    ]);
    let err = m
        .migrate(&set_bad, MigrateOptions::default(), &mut ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("child row 11 refers to a missing row of parent"), "{err}");
    assert_eq!(db.scalar("SELECT count(*) FROM parent"), 2, "rolled back");
    // Foreign keys are enforced again after it.
    let set_ok = set(&[
        ("0001_rebuild.up.sql", with_off.as_str()),
        ("0002_breaks.up.sql", "DELETE FROM parent WHERE id = 2;\n"),
    ]);
    let err = m.migrate(&set_ok, MigrateOptions::default(), &mut ()).unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY constraint failed"), "{err}");

    // The project setting turns them off for every migration.
    let db2 = TestDb::new(Kind::Sqlite);
    db2.exec(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id));
         INSERT INTO parent VALUES (1, 'a'); INSERT INTO child VALUES (10, 1);",
    );
    let url = ferry::DatabaseUrl::parse(&db2.url, std::path::Path::new(".")).unwrap();
    let settings = ferry::Settings {
        sqlite_foreign_keys: false,
        ..ferry::Settings::default()
    };
    let mut m2 = ferry::Migrator::connect(&url, settings).unwrap();
    m2.migrate(&set_on, MigrateOptions::default(), &mut ()).unwrap();
}
