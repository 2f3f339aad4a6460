//! `ferry db verify` on each engine, on a history with a correct down, an
//! empty down, a down that restores the wrong column type, a down that
//! leaves an index, a pair that only inverts as a chain, and a down that
//! fails: each reported by name and object, in a scratch database, the live
//! one never touched.

use std::path::Path;

use ferry::verify::{StepResult, VerifyOptions, verify};
use ferry::{Access, Installation};
use ferry_testkit::{Kind, TestDb, per_engine};

per_engine!(each_kind_of_down_is_reported, a_correct_history_passes);

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `migrations/NAME.up.sql` and its down.
fn migration(dir: &Path, name: &str, up: &str, down: &str) {
    write(dir, &format!("migrations/{name}.up.sql"), up);
    write(dir, &format!("migrations/{name}.down.sql"), down);
}

/// A project whose ferry.toml names `live`, and nothing else yet.
fn empty_project(live: &TestDb) -> tempfile::TempDir {
    project_at(&live.url)
}

/// A project whose ferry.toml names the database at `url`.
fn project_at(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ferry.toml",
        &format!("[project]\nname = \"v\"\n\n[database]\nurl = \"{url}\"\n"),
    );
    dir
}

/// Users, then an index on their email whose down forgets it.
fn users_and_a_forgotten_index(p: &Path, index: &str) {
    migration(
        p,
        "0001_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n",
        "DROP TABLE users;\n",
    );
    migration(
        p,
        index,
        "CREATE INDEX users_email_idx ON users (email);\n",
        "SELECT 1;\n",
    );
}

/// The step left the index of [`users_and_a_forgotten_index`] behind.
fn leaves_the_email_index(result: &StepResult) {
    match result {
        StepResult::Differs { differences } => {
            let text: Vec<String> = differences.iter().map(ToString::to_string).collect();
            assert!(
                text.iter().any(|d| d.contains("index users_email_idx left behind")),
                "{text:?}"
            );
        }
        other => panic!("its down should leave users_email_idx behind: {other:?}"),
    }
}

/// A project whose ferry.toml names `live`, with releases 1.0.0 (schema 4),
/// 1.1.0 (6) and 1.2.0 (7).
fn project(live: &TestDb) -> tempfile::TempDir {
    let dir = empty_project(live);
    let p = dir.path();
    write(
        p,
        "releases/1.0.0.toml",
        "version = \"1.0.0\"\ndate = 2026-01-01\nschema = 4\n",
    );
    write(
        p,
        "releases/1.1.0.toml",
        "version = \"1.1.0\"\ndate = 2026-02-01\nschema = 6\n",
    );
    write(
        p,
        "releases/1.2.0.toml",
        "version = \"1.2.0\"\ndate = 2026-03-01\nschema = 7\n",
    );
    let m = |n: &str, up: &str, down: &str| migration(p, n, up, down);
    m(
        "0001_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL);\n",
        "DROP TABLE users;\n",
    );
    m(
        "0002_notes",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY);\n",
        "-- forgot it\n",
    );
    let (widen, narrow) = match live.kind {
        Kind::Postgres => (
            "ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(80);\n".to_owned(),
            "ALTER TABLE users ALTER COLUMN name TYPE CHAR(40);\n".to_owned(),
        ),
        Kind::MySql => (
            "ALTER TABLE users MODIFY name VARCHAR(80) NOT NULL;\n".to_owned(),
            "ALTER TABLE users MODIFY name CHAR(40) NOT NULL;\n".to_owned(),
        ),
        Kind::Sqlite => {
            let rebuild = |ty: &str| {
                format!(
                    "CREATE TABLE users_new (id INTEGER PRIMARY KEY, name {ty} NOT NULL);\nINSERT INTO users_new SELECT id, name FROM users;\nDROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n"
                )
            };
            (rebuild("VARCHAR(80)"), rebuild("CHAR(40)"))
        }
    };
    m("0003_widen_name", &widen, &narrow);
    m(
        "0004_name_index",
        "CREATE INDEX users_name_idx ON users (name);\n",
        "SELECT 1;\n",
    );
    // A pair whose downs only invert together: 5's down does nothing, 6's
    // drops what 5 made too.
    m("0005_a", "CREATE TABLE a5 (id INTEGER PRIMARY KEY);\n", "SELECT 1;\n");
    m(
        "0006_b",
        "CREATE TABLE b6 (id INTEGER PRIMARY KEY);\n",
        "DROP TABLE b6;\nDROP TABLE a5;\n",
    );
    m(
        "0007_audit",
        "CREATE TABLE audit (id INTEGER PRIMARY KEY);\n",
        "DROP TABLE audit_log_that_is_not_there;\n",
    );
    dir
}

/// The live database, with a row that must stay as it is.
fn live(kind: Kind) -> TestDb {
    let db = TestDb::new(kind);
    db.exec("CREATE TABLE precious (id INTEGER PRIMARY KEY, v VARCHAR(10))");
    db.exec("INSERT INTO precious VALUES (1, 'keep')");
    db
}

fn sessions(db: &TestDb) -> i64 {
    db.server_scalar(&format!(
        "SELECT sessions FROM pg_stat_database WHERE datname = '{}'",
        db.name()
    ))
}

/// Held by the tests here that make scratch databases: the cleanup test
/// below must not see another test's databases half set up, nor have
/// another test's verify clean up its own half-made ones.
static SCRATCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn scratch_lock() -> std::sync::MutexGuard<'static, ()> {
    SCRATCH.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn each_kind_of_down_is_reported(kind: Kind) {
    let _one_at_a_time = scratch_lock();
    let live = live(kind);
    let dir = project(&live);
    let inst = Installation::load(dir.path()).unwrap();
    let before = live.digest();
    let sessions_before = (kind == Kind::Postgres).then(|| sessions(&live));

    let to_six = VerifyOptions {
        to: Some(6),
        ..VerifyOptions::default()
    };
    let r = verify(&inst, &Access::default(), &to_six, &mut ()).unwrap();
    let said: Vec<(u64, String)> = r
        .steps
        .iter()
        .map(|s| {
            let detail = match &s.result {
                StepResult::Differs { differences } => differences
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.word().to_owned(),
            };
            (s.version, detail)
        })
        .collect();
    assert_eq!(said[0], (1, "inverts".to_owned()), "{said:#?}");
    assert_eq!(said[1], (2, "table notes left behind".to_owned()), "{said:#?}");
    // Its up cannot run again on what the empty down left, which is said
    // too; the check goes on from a database made again.
    assert!(
        r.steps[1].up_again_error.as_deref().unwrap().contains("notes"),
        "{:?}",
        r.steps[1]
    );
    let widened = &said[2].1;
    let expect_type = match kind {
        Kind::Postgres => "users.name is character(40) NOT NULL, was character varying(40) NOT NULL",
        Kind::MySql => "users.name is char(40) NOT NULL, was varchar(40) NOT NULL",
        Kind::Sqlite => "users.name is CHAR(40) NOT NULL, was VARCHAR(40) NOT NULL",
    };
    assert_eq!(widened, expect_type, "{said:#?}");
    assert!(said[3].1.starts_with("index users_name_idx left behind"), "{said:#?}");
    assert!(said[4].1.starts_with("table a5 left behind"), "{said:#?}");
    assert!(said[5].1.starts_with("table a5 is missing"), "{said:#?}");
    // As a chain, 6 then 5 go back to 1.0.0's schema exactly; down to the
    // start, 2's empty down leaves its table.
    assert_eq!(r.chain[0].to, 4);
    assert_eq!(r.chain[0].release.as_deref(), Some("1.0.0"));
    assert!(r.chain[0].ok(), "{:#?}", r.chain);
    assert_eq!(r.chain[1].to, 0);
    let chain: Vec<String> = r.chain[1].differences.iter().map(ToString::to_string).collect();
    assert_eq!(chain, vec!["table notes left behind"], "{:#?}", r.chain);
    assert!(!r.ok);
    // What the downs drop: data written after an upgrade would go with it.
    assert_eq!(r.steps[1].drops, Vec::<String>::new());
    assert_eq!(r.steps[5].drops, vec!["table a5", "table b6"]);

    // The whole history: 7's down fails.
    let r = verify(&inst, &Access::default(), &VerifyOptions::default(), &mut ()).unwrap();
    // Connected to the live database only to keep its record there, once
    // per verify (looked at from the server's administrative database,
    // before this test reads the live one again).
    if let Some(n) = sessions_before {
        assert_eq!(
            sessions(&live),
            n + 2,
            "each verify opens one session on the live database, to keep its record"
        );
    }
    let last = r.steps.last().unwrap();
    assert_eq!(last.version, 7);
    match &last.result {
        StepResult::DownFails { error } => assert!(error.contains("audit_log_that_is_not_there"), "{error}"),
        other => panic!("{other:?}"),
    }
    assert!(r.stopped.is_none(), "{:?}", r.stopped);
    // The record keeps it for plan, runbook and rollbacks.
    let rec = ferry::verify::Verified::load(&mut *inst.state(&Access::default()).unwrap()).unwrap();
    let v2 = rec.of(inst.set.get(2).unwrap()).unwrap();
    assert!(
        v2.down_is_bad() && v2.detail == vec!["table notes left behind"],
        "{v2:?}"
    );
    assert!(!rec.of(inst.set.get(1).unwrap()).unwrap().down_is_bad());

    // The live database: as it was.
    assert_eq!(live.digest(), before);
    // The count does move when something connects (reading it just did).
    if let Some(n) = sessions_before {
        assert!(sessions(&live) > n, "pg_stat_database.sessions counts connections");
    }
    // The scratch database it worked in is gone from the server (others'
    // may be there: tests run side by side).
    if kind != Kind::Sqlite {
        let ours = r
            .scratch
            .rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        assert!(ours.starts_with("ferry_verify_"), "{}", r.scratch);
        let left = live.server_scalar(&match kind {
            Kind::Postgres => format!("SELECT count(*) FROM pg_database WHERE datname LIKE '{ours}'"),
            _ => format!("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE '{ours}'"),
        });
        assert_eq!(left, 0);
    }
}

fn a_correct_history_passes(kind: Kind) {
    let _one_at_a_time = scratch_lock();
    let live = live(kind);
    let dir = empty_project(&live);
    let p = dir.path();
    write(
        p,
        "migrations/0001_a.up.sql",
        "CREATE TABLE a (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0, CONSTRAINT a_n_positive CHECK (n >= 0));\nCREATE INDEX a_n ON a (n);\nCREATE VIEW a_view AS SELECT id FROM a;\n",
    );
    write(p, "migrations/0001_a.down.sql", "DROP VIEW a_view;\nDROP TABLE a;\n");
    write(
        p,
        "migrations/0002_b.up.sql",
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id));\n",
    );
    write(p, "migrations/0002_b.down.sql", "DROP TABLE b;\n");
    write(
        p,
        "migrations/0003_c.up.sql",
        "ALTER TABLE a ADD COLUMN c VARCHAR(10);\n",
    );
    write(p, "migrations/0003_c.down.sql", "ALTER TABLE a DROP COLUMN c;\n");
    let inst = Installation::load(p).unwrap();
    let r = verify(&inst, &Access::default(), &VerifyOptions::default(), &mut ()).unwrap();
    assert!(r.ok, "{r:#?}");
    assert_eq!(r.steps.len(), 3);
    assert_eq!(
        r.steps[2].drops,
        vec!["column a.c"],
        "a down that drops a column loses its data"
    );
}

/// A scratch database that a killed ferry left on PostgreSQL (its process
/// gone, made over an hour ago, nobody connected) is dropped by the next
/// job; one kept on purpose, or one still in use, stays.
#[test]
fn scratch_databases_a_killed_ferry_left_are_dropped() {
    let _one_at_a_time = scratch_lock();
    let live = live(Kind::Postgres);
    // Above Linux's largest process id: no such process can run here.
    let abandoned = "ferry_verify_4194400_1000000000_1";
    let kept = "ferry_rehearse_4194401_1000000000_1";
    let in_use = "ferry_verify_4194402_1000000000_1";
    for db in [abandoned, kept, in_use, "ferry_test_kept_setup"] {
        TestDb::drop_named(Kind::Postgres, db);
    }
    live.server_exec(&format!("CREATE DATABASE {abandoned}"));
    // Marked before it gets its name, so that no ferry at work elsewhere
    // ever sees it unmarked.
    live.server_exec("CREATE DATABASE ferry_test_kept_setup");
    live.server_exec("COMMENT ON DATABASE ferry_test_kept_setup IS 'ferry: kept'");
    live.server_exec(&format!("ALTER DATABASE ferry_test_kept_setup RENAME TO {kept}"));
    live.server_exec(&format!("CREATE DATABASE {in_use}"));
    let holder_url = format!("{}/{in_use}", live.url.rsplit_once('/').unwrap().0);
    let holder = ferry::DatabaseUrl::parse(&holder_url, Path::new(".")).unwrap();
    let holding = ferry::Migrator::connect(&holder, ferry::Settings::default()).unwrap();

    let dir = project(&live);
    let inst = Installation::load(dir.path()).unwrap();
    let to_one = VerifyOptions {
        to: Some(1),
        ..VerifyOptions::default()
    };
    verify(&inst, &Access::default(), &to_one, &mut ()).unwrap();
    let exists = |db: &str| live.server_scalar(&format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"));
    assert_eq!(exists(abandoned), 0, "abandoned");
    assert_eq!(exists(kept), 1, "kept on purpose");
    assert_eq!(exists(in_use), 1, "in use");
    drop(holding);
    for db in [kept, in_use] {
        TestDb::drop_named(Kind::Postgres, db);
    }
}

/// On PostgreSQL a snapshot with a cache reads again only the tables and
/// views whose catalogue rows, or those of what they name, changed. After
/// each change that alters another object's definition text without
/// touching its own rows (a renamed column that an index, a view or another
/// table's foreign key names; a renamed table, type, function or sequence),
/// the cached read must equal a read from scratch.
#[test]
fn a_cached_snapshot_is_the_same_as_a_fresh_one() {
    cached_reads_match_fresh_ones(false);
}

/// The same changes, with the cache following them through event triggers
/// instead of catalogue scans; and more that only event triggers could
/// miss: DDL run by a function, under `session_replication_role = replica`,
/// a sequence a serial column makes, a domain's constraint, a table moved
/// off the search path and back.
#[test]
fn a_tracked_snapshot_is_the_same_as_a_fresh_one() {
    cached_reads_match_fresh_ones(true);
}

fn cached_reads_match_fresh_ones(tracked: bool) {
    use ferry::engine::SnapshotCache as Cache;
    let db = TestDb::new(Kind::Postgres);
    let url = ferry::DatabaseUrl::parse(&db.url, Path::new(".")).unwrap();
    let mut m = ferry::Migrator::connect(&url, ferry::Settings::default()).unwrap();
    let mut cache = Cache::default();
    if tracked {
        assert!(cache.track(m.engine()).unwrap(), "the tests connect as a superuser");
    }
    let mut changes = vec![
        "CREATE TYPE mood AS ENUM ('ok', 'sad');
         CREATE SEQUENCE counter;
         CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT UNIQUE, m mood, seq BIGINT DEFAULT nextval('counter'));
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_code TEXT REFERENCES parent (code), n INTEGER CHECK (n > 0));
         CREATE INDEX child_n_idx ON child (n) WHERE n > 1;
         CREATE VIEW happy AS SELECT p.code, c.n FROM parent p JOIN child c ON c.parent_code = p.code;
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TRIGGER child_touch BEFORE UPDATE ON child FOR EACH ROW EXECUTE FUNCTION touch();",
        "ALTER TABLE parent RENAME COLUMN code TO key",
        "ALTER TABLE child RENAME COLUMN n TO amount",
        "ALTER TABLE parent RENAME TO mother",
        "ALTER TYPE mood RENAME TO feeling",
        "ALTER TYPE feeling ADD VALUE 'glad'",
        "ALTER FUNCTION touch() RENAME TO poke",
        "ALTER SEQUENCE counter RENAME TO tally",
        "DROP VIEW happy; CREATE VIEW happy AS SELECT key FROM mother",
        "ALTER TABLE child ALTER COLUMN amount TYPE BIGINT",
        "ALTER TABLE child ALTER COLUMN amount SET DEFAULT 7",
        "ALTER INDEX child_n_idx RENAME TO child_amount_idx",
        "ALTER TABLE child RENAME CONSTRAINT child_n_check TO child_amount_check",
        "BEGIN; ALTER TABLE child ADD COLUMN gone INTEGER; ROLLBACK",
        "ALTER TABLE child DROP CONSTRAINT child_amount_check",
        "DROP TABLE child",
        "CREATE TABLE child (id INTEGER PRIMARY KEY)",
    ];
    if tracked {
        changes.extend([
            "DO $$ BEGIN EXECUTE 'ALTER TABLE child ADD COLUMN made_by_a_function INTEGER'; END $$",
            "SET session_replication_role = replica; ALTER TABLE child ADD COLUMN quiet INTEGER; SET session_replication_role = origin",
            "CREATE TABLE counted (id SERIAL PRIMARY KEY)",
            "DROP TABLE counted",
            "CREATE DOMAIN positive AS INTEGER; ALTER TABLE child ADD COLUMN p positive",
            "ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0)",
            "CREATE SCHEMA aside; ALTER TABLE child SET SCHEMA aside",
            "ALTER TABLE aside.child SET SCHEMA public; DROP SCHEMA aside",
            "CREATE INDEX child_p_idx ON child (p) WHERE p > 1",
            "DROP INDEX child_p_idx",
            "ALTER TABLE child DROP COLUMN quiet",
            "DROP FUNCTION poke() CASCADE",
            "DROP TYPE feeling CASCADE",
        ]);
    }
    cached_reads_follow(&mut m, &mut cache, &changes);
}

/// Runs each of `changes`, and after each, reads the schema through `cache`
/// and from scratch: the two must be equal.
fn cached_reads_follow(m: &mut ferry::Migrator, cache: &mut ferry::engine::SnapshotCache, changes: &[&str]) {
    use ferry::schema::Snapshot;
    let first = Snapshot::read_cached(m.engine(), &[], cache).unwrap();
    assert_eq!(first, Snapshot::read(m.engine(), &[]).unwrap());
    for sql in changes {
        m.engine().execute(sql).unwrap();
        let cached = Snapshot::read_cached(m.engine(), &[], cache).unwrap();
        let fresh = Snapshot::read(m.engine(), &[]).unwrap();
        assert_eq!(cached, fresh, "after {sql}: {:?}", cached.diff(&fresh));
    }
}

/// When the event triggers stop reporting (here a migration drops them),
/// the schema verify followed and the catalogue part at the end of the
/// steps: the check is made again by reading the catalogue, and reports
/// what the triggers did not see (an index the down leaves behind).
#[test]
fn a_verify_whose_event_triggers_miss_a_change_checks_again() {
    let _one = scratch_lock();
    let live = live(Kind::Postgres);
    let dir = empty_project(&live);
    let p = dir.path();
    users_and_a_forgotten_index(p, "0003_email_idx");
    migration(
        p,
        "0002_quiet",
        "DROP EVENT TRIGGER IF EXISTS ferry_schema_track_ended;\nDROP EVENT TRIGGER IF EXISTS ferry_schema_track_dropped;\n",
        "SELECT 1;\n",
    );
    let inst = Installation::load(p).unwrap();
    let report = verify(&inst, &Access::default(), &VerifyOptions::default(), &mut ()).unwrap();
    let by = |v: u64| &report.steps.iter().find(|s| s.version == v).unwrap().result;
    assert_eq!(by(1), &StepResult::Inverts);
    assert_eq!(by(2), &StepResult::Inverts);
    leaves_the_email_index(by(3));
    assert!(!report.ok);
}

/// On SQLite a snapshot with a cache reads again only the tables whose
/// text in `sqlite_master` (their CREATE TABLE, their indexes) changed:
/// after each change, the cached read equals a read from scratch.
#[test]
fn a_cached_sqlite_snapshot_is_the_same_as_a_fresh_one() {
    use ferry::engine::SnapshotCache as Cache;
    use ferry::schema::Snapshot;
    let db = TestDb::new(Kind::Sqlite);
    let url = ferry::DatabaseUrl::parse(&db.url, Path::new(".")).unwrap();
    let mut m = ferry::Migrator::connect(&url, ferry::Settings::default()).unwrap();
    let mut cache = Cache::default();
    let changes = [
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT UNIQUE, n INTEGER CHECK (n > 0));
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_code TEXT REFERENCES parent (code) ON DELETE CASCADE, amount INTEGER DEFAULT 3);
         CREATE INDEX child_amount_idx ON child (amount) WHERE amount > 1;
         CREATE VIEW happy AS SELECT p.code, c.amount FROM parent p JOIN child c ON c.parent_code = p.code;
         CREATE TRIGGER child_touch AFTER UPDATE ON child BEGIN SELECT 1; END;",
        "ALTER TABLE parent RENAME COLUMN code TO key",
        "ALTER TABLE child ADD COLUMN note TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE parent RENAME TO mother",
        "DROP INDEX child_amount_idx",
        "CREATE UNIQUE INDEX child_note_idx ON child (note)",
        "DROP VIEW happy; CREATE VIEW happy AS SELECT key FROM mother",
        "ALTER TABLE child DROP COLUMN amount",
        "DROP TRIGGER child_touch",
        "CREATE TABLE child_new (id INTEGER PRIMARY KEY, note TEXT);
         INSERT INTO child_new SELECT id, note FROM child; DROP TABLE child; ALTER TABLE child_new RENAME TO child",
        "DROP TABLE mother",
    ];
    cached_reads_follow(&mut m, &mut cache, &changes);
    let last = Snapshot::read_cached(m.engine(), &[], &mut cache).unwrap();
    let columns: Vec<&String> = last.tables["child"].columns.keys().collect();
    assert_eq!(columns, ["id", "note"]);
    assert!(!last.tables.contains_key("mother"));
}

/// A role that is no superuser may not create event triggers: verify reads
/// the catalogue by scans, and reports the same.
#[test]
fn a_role_that_is_no_superuser_verifies_by_scans() {
    let _one = scratch_lock();
    let live = live(Kind::Postgres);
    let role = format!("ferry_plain_{}", std::process::id());
    live.server_exec(&format!("DROP ROLE IF EXISTS {role}"));
    live.server_exec(&format!("CREATE ROLE {role} LOGIN CREATEDB NOSUPERUSER"));
    let url = live.url.replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(url, live.url, "the test URL names its user: {}", live.url);
    let dir = project_at(&url);
    let p = dir.path();
    users_and_a_forgotten_index(p, "0002_email_idx");
    let inst = Installation::load(p).unwrap();
    let report = verify(&inst, &Access::default(), &VerifyOptions::default(), &mut ());
    live.server_exec(&format!("DROP ROLE IF EXISTS {role}"));
    let report = report.unwrap();
    assert_eq!(report.steps[0].result, StepResult::Inverts);
    leaves_the_email_index(&report.steps[1].result);
}

/// With `--scratch`, one database does it all (no second one is made): the
/// steps, then the chain from the head to each release's schema head; the
/// database given is kept.
#[test]
fn a_given_scratch_database_runs_the_chain_after_the_steps_and_is_kept() {
    let _one = scratch_lock();
    let live = live(Kind::Postgres);
    let given = TestDb::new(Kind::Postgres);
    let dir = empty_project(&live);
    let p = dir.path();
    migration(
        p,
        "0001_a",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
        "DROP TABLE a;\n",
    );
    migration(
        p,
        "0002_b",
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\n",
        "DROP TABLE b;\n",
    );
    write(
        p,
        "releases/1.0.0.toml",
        "version = \"1.0.0\"\ndate = 2026-01-01\nschema = 1\n",
    );
    write(
        p,
        "releases/1.1.0.toml",
        "version = \"1.1.0\"\ndate = 2026-02-01\nschema = 2\n",
    );
    let inst = Installation::load(p).unwrap();
    let opts = VerifyOptions {
        scratch: Some(ferry::DatabaseUrl::parse(&given.url, p).unwrap()),
        ..VerifyOptions::default()
    };
    let r = verify(&inst, &Access::default(), &opts, &mut ()).unwrap();
    assert!(r.ok, "{r:#?}");
    assert_eq!(r.steps.len(), 2);
    let chain: Vec<(u64, Option<&str>)> = r.chain.iter().map(|c| (c.to, c.release.as_deref())).collect();
    assert_eq!(chain, vec![(1, Some("1.0.0")), (0, None)]);
    assert!(
        r.scratch.ends_with(given.name()),
        "checked in the database given: {}",
        r.scratch
    );
    assert_eq!(
        live.server_scalar(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{}'",
            given.name()
        )),
        1,
        "the database given is kept"
    );
    assert!(
        given.tables().iter().all(|t| t != "a" && t != "b"),
        "{:?}",
        given.tables()
    );
}
