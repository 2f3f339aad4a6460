//! Other migration tools: telling a database another tool manages from a
//! fresh one, and reading the history tables they keep (so that `ferry db
//! adopt`, in `adopt`, can take a database over without running anything
//! twice). Their migration folders are converted by `import`.

mod history;
pub(crate) mod time;

use std::fmt;

use serde::Serialize;

pub use self::history::{ForeignHistory, ForeignRow, ForeignState, TableColumns, read};
use crate::engine::{Engine, catalog};
use crate::error::Result;
use crate::problem::Problem;

/// A migration tool ferry takes over from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    /// Alembic (Python): `alembic_version`, `versions/*.py`.
    Alembic,
    /// Flyway: `flyway_schema_history`, `V1__name.sql`.
    Flyway,
    /// sqlx-cli: `_sqlx_migrations`, `<version>_<name>.sql`.
    Sqlx,
    /// Diesel: `__diesel_schema_migrations`, `<version>_<name>/up.sql`.
    Diesel,
    /// golang-migrate: `schema_migrations(version, dirty)`.
    GolangMigrate,
    /// goose: `goose_db_version`, `-- +goose Up` files.
    Goose,
    /// dbmate: `schema_migrations(version)`, `-- migrate:up` files.
    Dbmate,
    /// refinery: `refinery_schema_history`, `V1__name.sql`.
    Refinery,
    /// A hand-rolled table with a version column, described in ferry.toml.
    Table,
}

/// Every tool, in the order help texts list them.
pub const TOOLS: [Tool; 9] = [
    Tool::Alembic,
    Tool::Flyway,
    Tool::Sqlx,
    Tool::Diesel,
    Tool::GolangMigrate,
    Tool::Goose,
    Tool::Dbmate,
    Tool::Refinery,
    Tool::Table,
];

impl Tool {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Alembic => "alembic",
            Tool::Flyway => "flyway",
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Goose => "goose",
            Tool::Dbmate => "dbmate",
            Tool::Refinery => "refinery",
            Tool::Table => "table",
        }
    }

    /// Reads a name given on the command line.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        TOOLS
            .into_iter()
            .find(|t| t.name() == s || (s == "migrate" && *t == Tool::GolangMigrate))
            .ok_or_else(|| {
                let names: Vec<&str> = TOOLS.iter().map(|t| t.name()).collect();
                format!("`{s}` is not a tool ferry knows; one of: {}", names.join(", "))
            })
    }

    /// The history table the tool uses unless told otherwise.
    pub fn default_table(self) -> Option<&'static str> {
        match self {
            Tool::Alembic => Some("alembic_version"),
            Tool::Flyway => Some("flyway_schema_history"),
            Tool::Sqlx => Some("_sqlx_migrations"),
            Tool::Diesel => Some("__diesel_schema_migrations"),
            Tool::GolangMigrate | Tool::Dbmate => Some("schema_migrations"),
            Tool::Goose => Some("goose_db_version"),
            Tool::Refinery => Some("refinery_schema_history"),
            Tool::Table => None,
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A database with tables and no ferry history: another tool's, or
/// created by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmanaged {
    /// The application's tables (not ferry's, not the foreign history).
    pub tables: Vec<String>,
    /// Another tool's history table, when one is there: the tool and the table.
    pub history: Option<(Tool, String)>,
}

impl Unmanaged {
    /// What it is, and what to do.
    pub fn problem(&self) -> Problem {
        let n = self.tables.len();
        let what = format!(
            "the database has {n} table{}{} and no ferry history",
            if n == 1 { "" } else { "s" },
            if n == 0 {
                String::new()
            } else {
                format!(
                    " ({}{})",
                    self.tables.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                    if n > 3 { ", …" } else { "" }
                )
            }
        );
        match &self.history {
            Some((tool, table)) => Problem::general(format!("{what}: {tool} manages it (its history is in {table})")).help(format!(
                "`ferry db adopt --from {tool}{}` takes that history over without running anything (`--dry-run` shows what it would record)",
                if tool.default_table() == Some(table.as_str()) {
                    String::new()
                } else {
                    format!(" --table {table}")
                }
            )),
            None => Problem::general(format!(
                "{what}: it was made by hand or by a tool ferry does not recognise"
            ))
            .help("`ferry db baseline VERSION` records the migration it is at, or `ferry db adopt --from table` reads a history table of your own ([adopt] in ferry.toml names its columns)"),
        }
    }

    /// What it is and what to do, for people.
    pub fn explain(&self) -> String {
        self.problem().to_string()
    }
}

/// Which tool a table of this name and these columns belongs to.
fn recognise(table: &str, columns: &[String]) -> Option<Tool> {
    let has = |c: &str| columns.iter().any(|x| x == c);
    match table {
        "alembic_version" if has("version_num") => Some(Tool::Alembic),
        "flyway_schema_history" if has("installed_rank") => Some(Tool::Flyway),
        "_sqlx_migrations" if has("version") => Some(Tool::Sqlx),
        "__diesel_schema_migrations" if has("version") => Some(Tool::Diesel),
        "goose_db_version" if has("version_id") => Some(Tool::Goose),
        "refinery_schema_history" if has("version") => Some(Tool::Refinery),
        "schema_migrations" if has("dirty") => Some(Tool::GolangMigrate),
        "schema_migrations" if columns == ["version"] => Some(Tool::Dbmate),
        "schema_migrations" if has("version") => Some(Tool::Table),
        _ => None,
    }
}

/// The database's state when ferry's history is empty: `None` when it has
/// no table besides ferry's own (`ours`), a fresh database.
pub fn unmanaged(engine: &mut dyn Engine, ours: &[String]) -> Result<Option<Unmanaged>> {
    let mut tables = Vec::new();
    let mut history = None;
    for t in catalog::tables(engine)? {
        if ours.iter().any(|o| o.eq_ignore_ascii_case(&t)) || t.starts_with("ferry_restore") {
            continue;
        }
        if history.is_none() && recognise_name(&t) {
            let cols = catalog::columns(engine, &t)?;
            if let Some(tool) = recognise(&t, &cols) {
                history = Some((tool, t));
                continue;
            }
        }
        tables.push(t);
    }
    Ok((!tables.is_empty() || history.is_some()).then_some(Unmanaged { tables, history }))
}

fn recognise_name(t: &str) -> bool {
    TOOLS.iter().any(|tool| tool.default_table() == Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_by_table_and_columns() {
        let cols = |c: &[&str]| c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            recognise("schema_migrations", &cols(&["version", "dirty"])),
            Some(Tool::GolangMigrate)
        );
        assert_eq!(recognise("schema_migrations", &cols(&["version"])), Some(Tool::Dbmate));
        assert_eq!(
            recognise("schema_migrations", &cols(&["version", "name", "applied_at"])),
            Some(Tool::Table)
        );
        assert_eq!(
            recognise("alembic_version", &cols(&["version_num"])),
            Some(Tool::Alembic)
        );
        assert_eq!(recognise("users", &cols(&["id"])), None);
        assert_eq!(Tool::parse("golang-migrate"), Ok(Tool::GolangMigrate));
        assert!(Tool::parse("liquibase").unwrap_err().contains("alembic, flyway"));
    }
}
