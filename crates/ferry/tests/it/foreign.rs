//! Taking over from other tools, on each engine: each tool's folder (in
//! tests/fixtures/foreign, written in that tool's layout) is imported and
//! applied by ferry, forward and back; and a database that tool migrated
//! part-way (its history table made with the tool's own DDL and rows) is
//! adopted: ferry's status then shows exactly what the tool applied, and
//! `migrate` applies only the rest.

use std::path::{Path, PathBuf};

use ferry::adopt::AdoptOptions;
use ferry::foreign::Tool;
use ferry::import;
use ferry::import::ImportMap;
use ferry::migration::{MigrationSet, State};
use ferry::{MigrateOptions, RevertTarget};
use ferry_testkit::{Kind, TestDb};

use crate::support::migrator;

fn fixture(tool: Tool) -> PathBuf {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/foreign");
    match tool {
        Tool::Alembic => base.join("alembic/versions"),
        t => base.join(t.name()),
    }
}

/// The fixture imported into a fresh folder: the set, its map, the folder.
fn imported(tool: Tool) -> (MigrationSet, ImportMap, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("migrations");
    import::import(tool, &fixture(tool), &into, false).unwrap();
    let set = MigrationSet::load(&into).unwrap();
    let map = ImportMap::load(&into).unwrap().expect("IMPORTED.toml");
    (set, map, dir)
}

fn tables(db: &TestDb) -> Vec<String> {
    let mut t = db.tables();
    t.retain(|t| t == "users" || t == "audit_log");
    t
}

/// The history table `tool` writes, with the DDL it uses on `kind`, saying
/// that the first two migrations of the fixture are applied (with the
/// tool's own extras: undone, repeated and marker rows).
fn write_history(db: &TestDb, tool: Tool, map: &ImportMap) {
    let k = db.kind;
    let v = |i: usize| map.migrations[i].tool_version.clone();
    let (ts, boolean, serial, blob) = match k {
        Kind::Postgres => ("TIMESTAMP", "BOOLEAN", "SERIAL", "BYTEA"),
        Kind::MySql => ("TIMESTAMP", "BOOLEAN", "SERIAL", "BLOB"),
        Kind::Sqlite => ("TIMESTAMP", "BOOLEAN", "INTEGER", "BLOB"),
    };
    let (t, f) = match k {
        Kind::Postgres => ("TRUE", "FALSE"),
        _ => ("1", "0"),
    };
    let sql = match tool {
        Tool::Alembic => format!(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
             INSERT INTO alembic_version (version_num) VALUES ('{}')",
            v(1)
        ),
        Tool::Flyway => format!(
            "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on {ts} NOT NULL DEFAULT CURRENT_TIMESTAMP, execution_time INT NOT NULL, success {boolean} NOT NULL, CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank));
             INSERT INTO flyway_schema_history VALUES (1, '{}', 'Create users', 'SQL', 'V1__Create_users.sql', -1138474125, 'app', '2024-01-05 10:00:00', 12, {t});
             INSERT INTO flyway_schema_history VALUES (2, '{}', 'Add email', 'SQL', 'V1_1__Add_email.sql', 218836612, 'app', '2024-01-05 10:00:01', 3, {t});
             INSERT INTO flyway_schema_history VALUES (3, '{}', 'Audit log', 'SQL', 'later/V2__Audit_log.sql', 55, 'app', '2024-01-05 10:00:02', 3, {t});
             INSERT INTO flyway_schema_history VALUES (4, '{}', 'Audit log', 'UNDO_SQL', 'U2__Audit_log.sql', 56, 'app', '2024-01-05 10:00:03', 2, {t});
             INSERT INTO flyway_schema_history VALUES (5, NULL, 'Users view', 'SQL', 'R__Users_view.sql', 77, 'app', '2024-01-05 10:00:04', 1, {t})",
            v(0),
            v(1),
            v(2),
            v(2)
        ),
        Tool::Sqlx => {
            let hex = |h: &str| match k {
                Kind::Postgres => format!("'\\x{h}'::bytea"),
                _ => format!("X'{h}'"),
            };
            let installed = if k == Kind::Postgres { "TIMESTAMPTZ" } else { ts };
            format!(
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on {installed} NOT NULL DEFAULT CURRENT_TIMESTAMP, success {boolean} NOT NULL, checksum {blob} NOT NULL, execution_time BIGINT NOT NULL);
                 INSERT INTO _sqlx_migrations VALUES ({}, 'create users', '2024-01-05 10:00:00', {t}, {}, 1000);
                 INSERT INTO _sqlx_migrations VALUES ({}, 'add email', '2024-01-05 10:00:01', {t}, {}, 1000)",
                v(0),
                hex("ab12"),
                v(1),
                hex("cd34")
            )
        }
        Tool::Diesel => format!(
            // Diesel's own initial setup migration, then the first of ours.
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on {ts} NOT NULL DEFAULT CURRENT_TIMESTAMP);
             INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('{}', '2024-01-05 10:00:00');
             INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('{}', '2024-01-05 10:00:01')",
            v(0),
            v(1)
        ),
        Tool::GolangMigrate => format!(
            "CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, dirty {boolean} NOT NULL);
             INSERT INTO schema_migrations (version, dirty) VALUES ({}, {f})",
            v(1)
        ),
        Tool::Goose => {
            let id = match k {
                Kind::Sqlite => "id INTEGER PRIMARY KEY AUTOINCREMENT".to_owned(),
                _ => format!("id {serial} NOT NULL PRIMARY KEY"),
            };
            format!(
                "CREATE TABLE goose_db_version ({id}, version_id BIGINT NOT NULL, is_applied {boolean} NOT NULL, tstamp {ts} NULL DEFAULT CURRENT_TIMESTAMP);
                 INSERT INTO goose_db_version (version_id, is_applied, tstamp) VALUES (0, {t}, '2024-01-05 09:59:59');
                 INSERT INTO goose_db_version (version_id, is_applied, tstamp) VALUES ({}, {t}, '2024-01-05 10:00:00');
                 INSERT INTO goose_db_version (version_id, is_applied, tstamp) VALUES ({}, {t}, '2024-01-05 10:00:01');
                 INSERT INTO goose_db_version (version_id, is_applied, tstamp) VALUES ({}, {t}, '2024-01-05 10:00:02');
                 INSERT INTO goose_db_version (version_id, is_applied, tstamp) VALUES ({}, {f}, '2024-01-05 10:00:03')",
                v(0),
                v(1),
                v(2),
                v(2)
            )
        }
        Tool::Dbmate => format!(
            "CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY);
             INSERT INTO schema_migrations (version) VALUES ('{}');
             INSERT INTO schema_migrations (version) VALUES ('{}')",
            v(0),
            v(1)
        ),
        Tool::Refinery => format!(
            "CREATE TABLE refinery_schema_history (version INT PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
             INSERT INTO refinery_schema_history VALUES ({}, 'create_users', '2024-01-05T10:00:00Z', '8713871');
             INSERT INTO refinery_schema_history VALUES ({}, 'add_email', '2024-01-05T10:00:01Z', '1235152')",
            v(0),
            v(1)
        ),
        Tool::Table => unreachable!(),
    };
    for st in sql.split(";\n") {
        db.exec(st.trim());
    }
}

/// Runs the first `n` migrations' up files straight on the database, as
/// the other tool did.
fn apply_by_hand(db: &TestDb, set: &MigrationSet, n: usize) {
    for m in set.iter().take(n) {
        for st in ferry::migration::split(m.up.sql().unwrap(), ferry::EngineKind::Postgres).unwrap() {
            db.exec(&st.text);
        }
    }
}

fn scenario(tool: Tool, kind: Kind) {
    let (set, map, _dir) = imported(tool);
    // Forward and back on a fresh database.
    let fresh = TestDb::new(kind);
    let mut m = migrator(&fresh);
    m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(tables(&fresh), vec!["audit_log", "users"]);
    assert_eq!(fresh.scalar("SELECT count(*) FROM users"), 1);
    let reversible = set.iter().rev().take_while(|m| m.has_down()).count();
    if reversible == set.len() {
        m.revert(&set, RevertTarget::To(0), &mut ()).unwrap();
        assert!(tables(&fresh).is_empty());
    }

    // A database the tool migrated part-way.
    let db = TestDb::new(kind);
    // Every history above says the first two are applied.
    let n = 2;
    apply_by_hand(&db, &set, n);
    write_history(&db, tool, &map);
    let mut m = migrator(&db);
    let unmanaged = m.unmanaged().unwrap().expect("tables and no ferry history");
    assert_eq!(unmanaged.history.as_ref().map(|h| h.0), Some(tool), "{unmanaged:?}");
    let refused = m
        .migrate(
            &set,
            MigrateOptions {
                refuse_unmanaged: true,
                ..MigrateOptions::default()
            },
            &mut (),
        )
        .unwrap_err()
        .to_string();
    assert!(refused.contains(&format!("ferry db adopt --from {tool}")), "{refused}");
    let opts = AdoptOptions {
        tool,
        table: None,
        columns: None,
        dry_run: false,
        allow_gaps: false,
        drop_foreign: false,
    };
    let report = ferry::adopt::adopt(&mut m, &set, Some(&map), &opts).unwrap();
    assert_eq!(report.adopted.len(), n, "{report:#?}");
    let status = m.status(&set).unwrap();
    let states: Vec<State> = status.migrations.iter().map(|x| x.state).collect();
    let mut want = vec![State::Applied; n];
    want.resize(set.len(), State::Pending);
    assert_eq!(states, want, "{status:#?}");
    // Recorded times come from the tool, where it kept them.
    if matches!(tool, Tool::Flyway | Tool::Sqlx | Tool::Goose | Tool::Refinery) {
        assert!(
            status.migrations[0]
                .applied_at
                .as_deref()
                .unwrap()
                .starts_with("2024-01-05"),
            "{:?}",
            status.migrations[0].applied_at
        );
    }
    // Only what is new runs: nothing is applied twice.
    let report = m.migrate(&set, MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(report.steps.len(), set.len() - n);
    assert!(m.status(&set).unwrap().is_clean());
    assert_eq!(db.scalar("SELECT count(*) FROM users"), 1);
    // The tool's table is left as it was.
    assert!(db.tables().iter().any(|t| Some(t.as_str()) == tool.default_table()));
}

macro_rules! tools {
    ($($name:ident => $tool:expr),* $(,)?) => {
        $(
            mod $name {
                use super::*;
                #[test]
                fn sqlite() { scenario($tool, Kind::Sqlite) }
                #[test]
                fn postgres() { scenario($tool, Kind::Postgres) }
                #[test]
                fn mariadb() { scenario($tool, Kind::MySql) }
            }
        )*
    };
}

tools!(
    alembic => Tool::Alembic,
    flyway => Tool::Flyway,
    sqlx => Tool::Sqlx,
    diesel => Tool::Diesel,
    golang_migrate => Tool::GolangMigrate,
    goose => Tool::Goose,
    dbmate => Tool::Dbmate,
    refinery => Tool::Refinery,
);

fn options(tool: Tool) -> AdoptOptions {
    AdoptOptions {
        tool,
        table: None,
        columns: None,
        dry_run: false,
        allow_gaps: false,
        drop_foreign: false,
    }
}

/// A dirty golang-migrate version and a failed sqlx row become failed rows
/// that block until repaired; a dry run writes nothing.
#[test]
fn dirty_and_failed_rows_are_failed_in_ferry() {
    for kind in [Kind::Postgres, Kind::Sqlite] {
        let (set, map, _dir) = imported(Tool::GolangMigrate);
        let db = TestDb::new(kind);
        apply_by_hand(&db, &set, 1);
        let t = if kind == Kind::Postgres { "TRUE" } else { "1" };
        db.exec("CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, dirty BOOLEAN NOT NULL)");
        db.exec(&format!("INSERT INTO schema_migrations VALUES (2, {t})"));
        let mut m = migrator(&db);
        let dry = ferry::adopt::adopt(
            &mut m,
            &set,
            Some(&map),
            &AdoptOptions {
                dry_run: true,
                ..options(Tool::GolangMigrate)
            },
        )
        .unwrap();
        assert_eq!(dry.adopted.len(), 2);
        assert!(m.history().unwrap().is_empty(), "a dry run writes nothing");
        ferry::adopt::adopt(&mut m, &set, Some(&map), &options(Tool::GolangMigrate)).unwrap();
        let st = m.status(&set).unwrap();
        assert_eq!(st.migrations[1].state, State::Failed);
        assert!(st.migrations[1].error.as_deref().unwrap().contains("dirty"), "{st:?}");
        let err = m
            .migrate(&set, MigrateOptions::default(), &mut ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("ferry db repair"), "{err}");
    }

    let (set, map, _dir) = imported(Tool::Sqlx);
    let db = TestDb::new(Kind::Sqlite);
    apply_by_hand(&db, &set, 1);
    db.exec("CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)");
    db.exec("INSERT INTO _sqlx_migrations VALUES (20240101000001, 'create users', '2024-01-05 10:00:00', 1, X'00', 1)");
    db.exec("INSERT INTO _sqlx_migrations VALUES (20240101000002, 'add email', '2024-01-05 10:00:01', 0, X'01', 1)");
    let mut m = migrator(&db);
    ferry::adopt::adopt(&mut m, &set, Some(&map), &options(Tool::Sqlx)).unwrap();
    assert_eq!(m.status(&set).unwrap().migrations[1].state, State::Failed);
    // Where the tool's checksums went.
    assert_eq!(
        db.column("SELECT tool_checksum FROM ferry_history_adopted ORDER BY version"),
        vec!["00", "01"]
    );
}

/// The history and the folder disagree: each difference is named and
/// nothing is written, unless `allow_gaps`; `drop_foreign` removes the table.
#[test]
fn gaps_are_named_and_refused_unless_allowed() {
    let (set, _map, _dir) = imported(Tool::Dbmate);
    let db = TestDb::new(Kind::Sqlite);
    apply_by_hand(&db, &set, 1);
    db.exec("CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY)");
    // 20240101000002 never ran; 20231231000000 is not in the folder.
    db.exec("INSERT INTO schema_migrations VALUES ('20231231000000'), ('20240101000001'), ('20240101000003')");
    let mut m = migrator(&db);
    // Without its map, dbmate's versions are ferry's own.
    let err = ferry::adopt::adopt(&mut m, &set, None, &options(Tool::Dbmate))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("20231231000000, which no migration in the folder matches"),
        "{err}"
    );
    assert!(err.contains("the folder has 20240101000002_add_email"), "{err}");
    assert!(m.history().unwrap().is_empty());
    let opts = AdoptOptions {
        allow_gaps: true,
        drop_foreign: true,
        ..options(Tool::Dbmate)
    };
    let report = ferry::adopt::adopt(&mut m, &set, None, &opts).unwrap();
    assert_eq!(report.adopted.len(), 2);
    assert_eq!(report.gaps.len(), 2);
    assert!(!db.tables().contains(&"schema_migrations".to_owned()), "dropped");
    let st = m.status(&set).unwrap();
    assert_eq!(st.migrations[1].state, State::OutOfOrder);
    // A second adopt refuses: ferry has a history now.
    let again = ferry::adopt::adopt(&mut m, &set, None, &options(Tool::Dbmate)).unwrap_err();
    assert!(again.to_string().contains("ferry already has a history"), "{again}");
}

/// Alembic records only heads: through the imported map's graph, the head
/// of one branch means that branch and its ancestors; without the map
/// ferry cannot tell, and says how to get it.
#[test]
fn alembic_heads_through_the_graph() {
    let (set, map, _dir) = imported(Tool::Alembic);
    let db = TestDb::new(Kind::Sqlite);
    apply_by_hand(&db, &set, 1);
    db.exec("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)");
    // The audit-log branch only: its head's ancestors skip the email branch.
    db.exec("INSERT INTO alembic_version VALUES ('3c4d5e6f7a8b')");
    let mut m = migrator(&db);
    let err = ferry::adopt::adopt(&mut m, &set, None, &options(Tool::Alembic))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ferry import --from alembic"), "{err}");
    let err = ferry::adopt::adopt(&mut m, &set, Some(&map), &options(Tool::Alembic))
        .unwrap_err()
        .to_string();
    assert!(err.contains("the folder has 0002_add_email"), "{err}");
    // Both heads (an unmerged branch each) are both applied.
    db.exec("INSERT INTO alembic_version VALUES ('2b3c4d5e6f7a')");
    let report = ferry::adopt::adopt(&mut m, &set, Some(&map), &options(Tool::Alembic)).unwrap();
    let versions: Vec<u64> = report.adopted.iter().map(|r| r.version).collect();
    assert_eq!(versions, vec![1, 2, 3]);
}

/// What ferry cannot convert is written so that the folder does not load
/// until a person writes the SQL; an import never writes over migrations.
#[test]
fn unconvertible_alembic_operations_block_until_written() {
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("aaa111_add_col.py"),
        "revision = 'aaa111'\ndown_revision = None\n\ndef upgrade():\n    op.add_column('users', sa.Column('age', sa.Integer()))\n    op.execute('UPDATE users SET age = 0')\n\ndef downgrade():\n    op.drop_column('users', 'age')\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let into = out.path().join("migrations");
    let report = import::import(Tool::Alembic, src.path(), &into, false).unwrap();
    assert_eq!(report.todo.len(), 1);
    assert!(report.todo[0].contains("op.add_column('users'"), "{:?}", report.todo);
    assert!(report.migrations[0].notes.iter().any(|n| n.contains("no down file")));
    let err = MigrationSet::load(&into).unwrap_err().to_string();
    assert!(
        err.contains("0001_add_col.up.sql:2")
            && err.contains("needs SQL written by hand")
            && err.contains("remove this"),
        "{err}"
    );
    let again = import::import(Tool::Alembic, src.path(), &into, false)
        .unwrap_err()
        .to_string();
    assert!(again.contains("already holds"), "{again}");
}
