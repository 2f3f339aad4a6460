//! `ferry db verify` from the command line, and what its record changes:
//! the plan says how each hop is taken back and whether that was proven,
//! and a rollback restores the backup rather than run a down found wrong.

use ferry_testkit::{Kind, per_engine};

use crate::support::{Proj, items_project, stderr, stdout};

/// At 1.0.0, with 1.1.0 bringing an index whose down leaves it behind, and
/// a post-upgrade check that fails.
fn project(kind: Kind) -> Proj {
    let p = items_project(
        kind,
        "[[checks]]\nname = \"ninety-nine items\"\nwhen = \"post\"\nsince = \"1.1.0\"\nsql = \"SELECT count(*) FROM items\"\nexpect = 99\n",
    );
    p.write(
        "migrations/0002_priority_idx.up.sql",
        "CREATE INDEX items_priority_idx ON items (priority);\n",
    );
    p.write("migrations/0002_priority_idx.down.sql", "SELECT 1;\n");
    p.write("releases/1.1.0.toml", "version = \"1.1.0\"\nschema = 2\n");
    p
}

fn a_down_found_wrong_is_not_a_way_back(kind: Kind) {
    let p = project(kind);
    let plan = p.ferry().arg("plan").output().unwrap();
    assert!(
        stdout(&plan).contains("way back: down scripts; not verified: 0002_priority_idx"),
        "{}",
        stdout(&plan)
    );

    let before = p.db.digest();
    let out = p.ferry().args(["db", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("index items_priority_idx left behind"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.db.digest(), before, "verify changes nothing in the live database");
    assert_eq!(
        p.db.state_docs(),
        vec!["verified.json"],
        "the verdict is kept in the database"
    );

    let plan = p.ferry().arg("plan").output().unwrap();
    let text = stdout(&plan);
    assert!(
        text.contains("way back: the backup taken before it (`ferry db verify` found wrong downs: 0002_priority_idx: index items_priority_idx left behind"),
        "{text}"
    );
    let json = p.ferry().args(["plan", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["hops"][0]["way_back"]["by"], "backup", "{v}");
    let md = p.ferry().args(["plan", "--format", "markdown"]).output().unwrap();
    assert!(
        stdout(&md).contains("`ferry rollback` uses the backup taken before it"),
        "{}",
        stdout(&md)
    );

    // The check fails after the migration: the run rolls back, and since
    // the down is known wrong, from the backup, which drops the index.
    let out = p.ferry().args(["upgrade", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("check `ninety-nine items` failed"), "{err}");
    assert_eq!(p.db.digest(), before, "rolled back from the backup: {err}");
    let index = match kind {
        Kind::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'items_priority_idx'",
        Kind::Postgres => "SELECT indexname::text FROM pg_indexes WHERE indexname = 'items_priority_idx'",
        Kind::MySql => {
            "SELECT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = 'items_priority_idx'"
        }
    };
    assert!(
        p.db.column(index).is_empty(),
        "the down would have left the index; the backup does not"
    );
}

/// A down that inverts is verified, dated, and its drop named as data lost.
fn a_verified_down_is_dated_and_its_loss_named(kind: Kind) {
    let p = project(kind);
    p.write(
        "migrations/0002_priority_idx.up.sql",
        "ALTER TABLE items ADD COLUMN note VARCHAR(40);\n",
    );
    p.write(
        "migrations/0002_priority_idx.down.sql",
        "ALTER TABLE items DROP COLUMN note;\n",
    );
    let out = p.ferry().args(["db", "verify", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    let plan = stdout(&p.ferry().arg("plan").output().unwrap());
    let engine = match kind {
        Kind::Sqlite => "SQLite",
        Kind::Postgres => "PostgreSQL",
        Kind::MySql => "MySQL/MariaDB",
    };
    let today = &jiff::Timestamp::now().to_string()[..10];
    assert!(
        plan.contains(&format!(
            "way back: down scripts; downs verified on {engine} on {today}"
        )),
        "{plan}"
    );
    assert!(
        plan.contains("rollback loses data: 0002_priority_idx drops column items.note"),
        "{plan}"
    );
}

per_engine!(
    a_down_found_wrong_is_not_a_way_back,
    a_verified_down_is_dated_and_its_loss_named,
);
