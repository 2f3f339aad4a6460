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

/// An application developed on SQLite, with each engine's dialect in its
/// folder: booleans, timestamps, blobs, NULLs, Unicode, foreign keys (one
/// to itself) and auto-increment keys; release 1.0.0 installed, rows in.
fn shop_on_sqlite() -> (Proj, TestDb) {
    let lite = TestDb::new(Kind::Sqlite);
    let p = Proj::new(Kind::Sqlite);
    p.write(
        "ferry.toml",
        &format!("[project]\nname = \"shop\"\n\n[database]\nurl = \"{}\"\n\n[migrations]\ndir = \"migrations/${{ENGINE}}\"\n", lite.url),
    );
    let schemas = [
        (
            "sqlite",
            "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, admin BOOLEAN NOT NULL DEFAULT 0, created_at TIMESTAMP NOT NULL, avatar BLOB, note TEXT);\nCREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users (id), parent_id INTEGER REFERENCES posts (id), title TEXT NOT NULL, score REAL, published_at TIMESTAMP);\n",
        ),
        (
            "postgres",
            "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, admin BOOLEAN NOT NULL DEFAULT false, created_at TIMESTAMPTZ NOT NULL, avatar BYTEA, note TEXT);\nCREATE TABLE posts (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id), parent_id BIGINT REFERENCES posts (id), title TEXT NOT NULL, score DOUBLE PRECISION, published_at TIMESTAMP);\n",
        ),
        (
            "mysql",
            "CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, admin BOOLEAN NOT NULL DEFAULT false, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), avatar BLOB, note TEXT) CHARACTER SET utf8mb4;\nCREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT NOT NULL, parent_id BIGINT, title VARCHAR(200) NOT NULL, score DOUBLE, published_at DATETIME(6), FOREIGN KEY (user_id) REFERENCES users (id), FOREIGN KEY (parent_id) REFERENCES posts (id)) CHARACTER SET utf8mb4;\n",
        ),
    ];
    for (engine, up) in schemas {
        p.write(&format!("migrations/{engine}/0001_shop.up.sql"), up);
        p.write(
            &format!("migrations/{engine}/0001_shop.down.sql"),
            "DROP TABLE posts;\nDROP TABLE users;\n",
        );
        // A batched migration: ferry's batch table exists on both sides,
        // each with its own rows, never copied.
        p.write(
            &format!("migrations/{engine}/0002_touch.up.sql"),
            "-- ferry:batch table=users key=id size=2\nUPDATE users SET note = note WHERE id BETWEEN :first AND :last;\n",
        );
        p.write(&format!("migrations/{engine}/0002_touch.down.sql"), "SELECT 1;\n");
    }
    p.write("releases/1.0.0.toml", "version = \"1.0.0\"\nschema = 2\n");
    p.ferry().args(["db", "migrate", "--to", "1"]).assert().success();
    lite.exec(
        "INSERT INTO users (id, name, admin, created_at, avatar, note) VALUES
           (1, 'Zoë Ångström', 1, '2026-11-30T10:00:00.250Z', X'00FF10', NULL),
           (2, 'bob ''the'' builder\tand\\friends', 0, '2026-11-30 11:30:00', NULL, 'line one
line two'),
           (5, '日本語のテキスト 🚢', 0, 1764500000, X'', 'five')",
    );
    lite.exec(
        "INSERT INTO posts (id, user_id, parent_id, title, score, published_at) VALUES
           (1, 1, NULL, 'first', 0.1, '2026-12-01 09:00:00'),
           (3, 5, 1, 'a reply', -2.5e10, NULL),
           (2, 2, 3, 'a reply to the reply, stored before it', NULL, '2026-12-01T10:00:00')",
    );
    // The batched migration runs over the rows; ferry's batch table stays
    // (empty once it finished), one of ferry's own that is never copied.
    p.ferry().args(["db", "migrate"]).assert().success();
    p.ferry().args(["adopt", "1.0.0"]).assert().success();
    assert_eq!(lite.rows("SELECT count(*) FROM ferry_history_batches"), vec![vec!["0"]]);
    (p, lite)
}

/// `ferry db transfer --to URL` and `extra`, from the project, with what
/// it printed.
fn transfer(p: &Proj, url: &str, extra: &[&str]) -> std::process::Output {
    p.ferry()
        .args(["db", "transfer", "--to", url])
        .args(extra)
        .output()
        .unwrap()
}

/// A second transfer into a target that holds something is refused.
fn refused_as_filled(p: &Proj, url: &str) -> String {
    let out = transfer(p, url, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("the target database is not empty"), "{err}");
    err
}

fn transfers_every_row(kind: Kind) {
    let (p, _lite) = shop_on_sqlite();
    let target = TestDb::new(kind);
    let out = transfer(&p, &target.url, &["--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["release"], "1.0.0");
    assert_eq!(r["schema"], 2);
    let tables: Vec<(String, u64)> = r["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap().to_owned(), t["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        tables,
        [("users".to_owned(), 3), ("posts".to_owned(), 3)],
        "users before posts"
    );
    // Row for row, as the target's own engine shows it.
    let (users, posts) = match kind {
        Kind::Postgres => (
            "SELECT id, name, admin::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), encode(avatar, 'hex'), note FROM users ORDER BY id",
            "SELECT id, user_id, parent_id, title, score, published_at::text FROM posts ORDER BY id",
        ),
        _ => (
            "SELECT id, name, CAST(admin AS CHAR), DATE_FORMAT(CONVERT_TZ(created_at, @@session.time_zone, '+00:00'), '%Y-%m-%d %H:%i:%s.%f'), HEX(avatar), note FROM users ORDER BY id",
            "SELECT id, user_id, parent_id, title, score, CAST(published_at AS CHAR) FROM posts ORDER BY id",
        ),
    };
    let got = target.rows(users);
    let t = |s: &str| s.to_owned();
    let ts = |s: &str| {
        if kind == Kind::Postgres {
            s[..23].to_owned()
        } else {
            format!("{s}000")
        }
    };
    let (yes, no) = if kind == Kind::Postgres {
        ("true", "false")
    } else {
        ("1", "0")
    };
    assert_eq!(
        got[0],
        [
            t("1"),
            t("Zoë Ångström"),
            t(yes),
            ts("2026-11-30 10:00:00.250"),
            t(if kind == Kind::Postgres { "00ff10" } else { "00FF10" }),
            t("NULL")
        ]
    );
    assert_eq!(
        got[1],
        [
            t("2"),
            t("bob 'the' builder\tand\\friends"),
            t(no),
            ts("2026-11-30 11:30:00.000"),
            t("NULL"),
            t("line one\nline two")
        ]
    );
    assert_eq!(got[2][1], "日本語のテキスト 🚢");
    assert_eq!(
        got[2][3],
        ts("2025-11-30 10:53:20.000"),
        "Unix seconds become a timestamp"
    );
    assert_eq!(got[2][4], "", "an empty blob stays empty, not NULL");
    let posts = target.rows(posts);
    assert_eq!(posts.len(), 3);
    assert_eq!(posts[1][2], "3", "a row that references a later one");
    assert_eq!(posts[2][4], "-25000000000");
    // The next key follows the copied ones.
    target.exec("INSERT INTO users (name, admin, created_at) VALUES ('next', false, '2026-12-02 00:00:00')");
    assert_eq!(target.rows("SELECT max(id) FROM users"), vec![vec!["6"]]);
    // The target's history is its own engine's, and the release came along.
    let status = stdout(
        &p.ferry()
            .args(["--database-url", &target.url, "status", "--json"])
            .output()
            .unwrap(),
    );
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["installed"]["version"], "1.0.0", "{status}");
    assert_eq!(status["schema"]["current"], 2);
}

#[test]
fn sqlite_to_postgres_transfers_every_row() {
    transfers_every_row(Kind::Postgres);
}

#[test]
fn sqlite_to_mariadb_transfers_every_row() {
    transfers_every_row(Kind::MySql);
}

#[test]
fn a_value_that_does_not_fit_fails_with_its_place_and_leaves_the_target_empty() {
    let (p, lite) = shop_on_sqlite();
    lite.exec("INSERT INTO users (id, name, admin, created_at) VALUES (7, 'seven', 7, '2026-11-30 10:00:00')");
    let before = lite.rows("SELECT count(*) FROM users");
    for kind in [Kind::Postgres, Kind::MySql] {
        let target = TestDb::new(kind);
        let out = transfer(&p, &target.url, &[]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("table users, row id=7, column admin: 7 is not a boolean, which its bool column cannot hold"),
            "{err}"
        );
        assert!(err.contains("the target was emptied again"), "{err}");
        assert!(target.tables().is_empty(), "{:?}", target.tables());
    }
    assert_eq!(
        lite.rows("SELECT count(*) FROM users"),
        before,
        "the source is only read"
    );
}

#[test]
fn postgres_to_another_postgres_database_and_refusals() {
    let p = Proj::new(Kind::Postgres);
    p.write(
        "migrations/0001_items.up.sql",
        "CREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE TABLE items (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT, price NUMERIC(10, 2), feel mood, tags JSONB, at TIMESTAMPTZ DEFAULT now());\n",
    );
    p.write("migrations/0001_items.down.sql", "DROP TABLE items;\nDROP TYPE mood;\n");
    p.ferry().args(["db", "migrate"]).assert().success();
    p.db.exec("INSERT INTO items (name, price, feel, tags) SELECT 'item ' || g, g * 1.5, CASE WHEN g % 2 = 0 THEN 'ok' ELSE 'sad' END::mood, jsonb_build_object('n', g) FROM generate_series(1, 2500) g");
    p.db.exec("INSERT INTO items (name) VALUES (NULL)");
    let target = TestDb::new(Kind::Postgres);
    let dry = transfer(&p, &target.url, &["--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("items"), "{}", stdout(&dry));
    assert!(target.tables().is_empty(), "a dry run changes nothing");
    let out = transfer(&p, &target.url, &[]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let same = "SELECT count(*), sum(price), count(name), string_agg(feel::text, '' ORDER BY id), sum((tags->>'n')::int) FROM items";
    assert_eq!(target.rows(same), p.db.rows(same));
    target.exec("INSERT INTO items (name) VALUES ('next')");
    assert_eq!(target.rows("SELECT max(id) FROM items"), vec![vec!["2502"]]);
    // Not into a database that holds something, nor into the project's own.
    refused_as_filled(&p, &target.url);
    let out = transfer(&p, &p.db.url, &[]);
    assert!(stderr(&out).contains("the project's own database"), "{}", stderr(&out));
}

#[test]
fn a_sqlite_backup_restores_into_postgres_with_transfer() {
    let (p, lite) = shop_on_sqlite();
    let out = p.ferry().args(["backup", "create", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Rows written after the backup are not in it.
    lite.exec("INSERT INTO users (id, name, admin, created_at) VALUES (9, 'later', 0, '2026-12-01 00:00:00')");
    let target = TestDb::new(Kind::Postgres);
    // Without --transfer, the engines' mismatch names the way.
    let out = p
        .ferry()
        .args(["--database-url", &target.url, "backup", "restore", &id, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("move it into this one with --transfer"),
        "{}",
        stderr(&out)
    );
    let out = p
        .ferry()
        .args([
            "--database-url",
            &target.url,
            "backup",
            "restore",
            &id,
            "--yes",
            "--transfer",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["from"], format!("backup {id}"));
    assert_eq!(r["release"], "1.0.0");
    assert_eq!(target.rows("SELECT count(*), max(id) FROM users"), vec![vec!["3", "5"]]);
    assert_eq!(
        target.rows("SELECT title FROM posts WHERE id = 3"),
        vec![vec!["a reply"]]
    );
}

#[test]
fn a_postgres_backup_moves_into_mariadb_through_a_scratch_copy() {
    let (p, _lite) = shop_on_sqlite();
    let pg = TestDb::new(Kind::Postgres);
    p.ferry().args(["db", "transfer", "--to", &pg.url]).assert().success();
    // Production now runs on PostgreSQL: its backup is a pg_dump.
    let toml = std::fs::read_to_string(p.path().join("ferry.toml")).unwrap();
    let sqlite_url = toml.lines().find(|l| l.starts_with("url = ")).unwrap().to_owned();
    p.write(
        "ferry.toml",
        &toml.replace(&sqlite_url, &format!("url = \"{}\"", pg.url)),
    );
    let out = p.ferry().args(["backup", "create", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let maria = TestDb::new(Kind::MySql);
    let out = p
        .ferry()
        .args([
            "--database-url",
            &maria.url,
            "backup",
            "restore",
            &id,
            "--yes",
            "--transfer",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(&format!("transferred backup {id} →")),
        "{}",
        stdout(&out)
    );
    assert_eq!(maria.rows("SELECT count(*), sum(id) FROM users"), vec![vec!["3", "8"]]);
    assert_eq!(
        maria.rows("SELECT count(*) FROM posts WHERE parent_id IS NOT NULL"),
        vec![vec!["2"]]
    );
    // The scratch copy is gone; the project's database was only read.
    let left = pg.rows("SELECT count(*) FROM pg_database WHERE datname LIKE 'ferry_transfer_%'");
    assert_eq!(left, vec![vec!["0"]]);
    assert_eq!(pg.rows("SELECT count(*) FROM users"), vec![vec!["3"]]);
}

/// A transfer killed part-way (`kill -9` after its first table) cannot
/// empty its target: what is left is the target engine's schema with at most
/// the tables loaded before the kill (none on PostgreSQL, whose load is one
/// transaction), the source is as it was, and a new transfer into that
/// target refuses and says how to start again.
#[test]
fn a_transfer_killed_part_way_leaves_the_source_and_says_how_to_start_again() {
    let (p, lite) = shop_on_sqlite();
    let source = lite.rows("SELECT count(*) FROM users");
    for kind in [Kind::Postgres, Kind::MySql] {
        let target = TestDb::new(kind);
        let out = p
            .ferry()
            .args(["db", "transfer", "--to", &target.url])
            .env("FERRY_TEST_CRASH_TRANSFER", "users")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), None, "killed: {}", stderr(&out));
        let loaded = target.rows("SELECT count(*) FROM users");
        let expected = if kind == Kind::Postgres { "0" } else { "3" };
        assert_eq!(loaded, vec![vec![expected]], "{kind:?}");
        assert_eq!(target.rows("SELECT count(*) FROM posts"), vec![vec!["0"]], "{kind:?}");
        let err = refused_as_filled(&p, &target.url);
        assert!(err.contains("killed part-way"), "{err}");
    }
    assert_eq!(
        lite.rows("SELECT count(*) FROM users"),
        source,
        "the source is only read"
    );
}
