//! One project, several engines: `migrations/${ENGINE}` picks the folder of
//! the database URL's engine, `ferry db validate` checks that the folders
//! describe the same history, and `ferry new` writes into each.

use ferry_testkit::{Kind, TestDb};

use crate::support::{Proj, stderr, stdout};

/// A project developed on SQLite and deployed on PostgreSQL: each engine's
/// dialect in its own folder, release 1.0.0 at schema 2.
fn two_engines() -> (Proj, TestDb) {
    let p = Proj::new(Kind::Postgres);
    let toml = std::fs::read_to_string(p.path().join("ferry.toml")).unwrap();
    p.write(
        "ferry.toml",
        &format!("{toml}\n[migrations]\ndir = \"migrations/${{ENGINE}}\"\n"),
    );
    p.write(
        "migrations/sqlite/0001_users.up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, admin INTEGER NOT NULL DEFAULT 0);\n",
    );
    p.write("migrations/sqlite/0001_users.down.sql", "DROP TABLE users;\n");
    p.write(
        "migrations/sqlite/0002_seen.up.sql",
        "ALTER TABLE users ADD COLUMN seen_at TEXT;\n",
    );
    p.write(
        "migrations/sqlite/0002_seen.down.sql",
        "ALTER TABLE users DROP COLUMN seen_at;\n",
    );
    p.write(
        "migrations/postgres/0001_users.up.sql",
        "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, admin BOOLEAN NOT NULL DEFAULT false);\n",
    );
    p.write("migrations/postgres/0001_users.down.sql", "DROP TABLE users;\n");
    p.write(
        "migrations/postgres/0002_seen.up.sql",
        "ALTER TABLE users ADD COLUMN seen_at TIMESTAMPTZ;\n",
    );
    p.write(
        "migrations/postgres/0002_seen.down.sql",
        "ALTER TABLE users DROP COLUMN seen_at;\n",
    );
    p.write("releases/1.0.0.toml", "version = \"1.0.0\"\nschema = 2\n");
    let lite = TestDb::new(Kind::Sqlite);
    (p, lite)
}

#[test]
fn each_engine_runs_its_own_folder() {
    let (p, lite) = two_engines();
    p.ferry().args(["db", "migrate"]).assert().success();
    assert_eq!(
        p.db.rows(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'admin'"
        ),
        vec![vec!["boolean"]]
    );
    let out = p
        .ferry()
        .args(["--database-url", &lite.url, "db", "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(lite.tables().contains(&"users".to_owned()), "{:?}", lite.tables());
    // Each database's history is its own engine's files.
    let pg = stdout(&p.ferry().args(["db", "status", "--json"]).output().unwrap());
    let sq = stdout(
        &p.ferry()
            .args(["--database-url", &lite.url, "db", "status", "--json"])
            .output()
            .unwrap(),
    );
    let v = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["current"].clone();
    assert_eq!(v(&pg), 2);
    assert_eq!(v(&sq), 2);
    p.ferry().args(["db", "validate"]).assert().success();
}

#[test]
fn validate_finds_folders_that_disagree_and_new_writes_into_each() {
    let (p, _lite) = two_engines();
    p.ferry().args(["db", "migrate"]).assert().success();
    p.write(
        "migrations/postgres/0003_email.up.sql",
        "ALTER TABLE users ADD COLUMN email TEXT;\n",
    );
    p.write(
        "migrations/postgres/0003_email.down.sql",
        "ALTER TABLE users DROP COLUMN email;\n",
    );
    p.write("releases/1.1.0.toml", "version = \"1.1.0\"\nschema = 3\n");
    let out = p.ferry().args(["db", "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("the postgres migrations has 3 that sqlite lacks"),
        "{text}"
    );
    assert!(
        text.contains("release 1.1.0 has schema 3, which the sqlite migrations lack"),
        "{text}"
    );
    // The sqlite twin makes them agree again.
    p.write(
        "migrations/sqlite/0003_email.up.sql",
        "ALTER TABLE users ADD COLUMN email TEXT;\n",
    );
    p.write(
        "migrations/sqlite/0003_email.down.sql",
        "ALTER TABLE users DROP COLUMN email;\n",
    );
    p.ferry().args(["db", "validate"]).assert().success();
    // ferry new: the same version in both folders.
    let out = p.ferry().args(["new", "add_phone"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for engine in ["sqlite", "postgres"] {
        assert!(
            p.path()
                .join(format!("migrations/{engine}/0004_add_phone.up.sql"))
                .exists(),
            "{}",
            stdout(&out)
        );
    }
    assert!(!p.path().join("migrations/mysql").exists());
}
