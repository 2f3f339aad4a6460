//! Helpers shared by the scenarios.

use std::path::Path;

use ferry::migration::{State, Status};
use ferry::{DatabaseUrl, MigrationSet, Migrator, Settings};
use ferry_testkit::TestDb;

/// A migrator for `db` with default settings.
pub fn migrator(db: &TestDb) -> Migrator {
    let url = DatabaseUrl::parse(&db.url, Path::new(".")).expect("url");
    Migrator::connect(&url, Settings::default()).expect("connect")
}

/// A set from `(file name, text)` pairs.
pub fn set(files: &[(&str, &str)]) -> MigrationSet {
    MigrationSet::from_embedded(files).expect("valid set")
}

/// The three-migration set every engine understands.
pub fn basic() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "0001_create_a.up.sql",
            "CREATE TABLE a (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);\n",
        ),
        ("0001_create_a.down.sql", "DROP TABLE a;\n"),
        (
            "0002_seed_a.up.sql",
            "-- two rows; one name has a semicolon\nINSERT INTO a (id, name) VALUES (1, 'one');\nINSERT INTO a (id, name) VALUES (2, 'two;semi');\n",
        ),
        ("0002_seed_a.down.sql", "DELETE FROM a;\n"),
        (
            "0003_create_b.up.sql",
            "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL);\nCREATE INDEX b_a_id ON b (a_id);\n",
        ),
        ("0003_create_b.down.sql", "DROP TABLE b;\n"),
    ]
}

/// `(version, state)` of each migration.
pub fn states(status: &Status) -> Vec<(u64, State)> {
    status.migrations.iter().map(|m| (m.version, m.state)).collect()
}

/// The versions recorded in the history table, successful or not.
pub fn history_versions(m: &mut Migrator) -> Vec<u64> {
    m.history().expect("history").iter().map(|r| r.version).collect()
}
