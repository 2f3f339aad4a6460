//! What tables a database has, and their columns: for telling a database
//! that another tool manages from a fresh one, and for reading that tool's
//! history. Plain catalog queries through [`Engine::query`].

use super::history::literal;
use super::{Engine, EngineKind, StatementError};
use crate::error::{Error, Result};

fn fail(e: StatementError) -> Error {
    Error::db("cannot read the database's tables", e.message)
}

fn texts(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    rows.into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
}

/// The base tables of the schemas the connection works in, sorted.
pub fn tables(engine: &mut dyn Engine) -> Result<Vec<String>> {
    let sql = match engine.kind() {
        EngineKind::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        }
        EngineKind::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = ANY (current_schemas(false)) AND table_type = 'BASE TABLE' ORDER BY 1"
        }
        EngineKind::MySql => {
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    Ok(texts(engine.query(sql).map_err(fail)?))
}

/// The columns of `table` (lower-cased), in order; none when it does not exist.
pub fn columns(engine: &mut dyn Engine, table: &str) -> Result<Vec<String>> {
    let kind = engine.kind();
    let sql = match kind {
        EngineKind::Sqlite => format!("SELECT name FROM pragma_table_info({})", literal(kind, table)),
        EngineKind::Postgres => format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = ANY (current_schemas(false)) AND table_name = {} ORDER BY ordinal_position",
            literal(kind, table)
        ),
        EngineKind::MySql => format!(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = {} ORDER BY ordinal_position",
            literal(kind, table)
        ),
    };
    Ok(texts(engine.query(&sql).map_err(fail)?)
        .into_iter()
        .map(|c| c.to_ascii_lowercase())
        .collect())
}

/// `column` read as text, whatever its type.
pub fn as_text(kind: EngineKind, column: &str) -> String {
    match kind {
        EngineKind::Sqlite => format!("CAST({column} AS TEXT)"),
        EngineKind::Postgres => format!("({column})::text"),
        EngineKind::MySql => format!("CAST({column} AS CHAR)"),
    }
}

/// A plain name quoted as an identifier.
pub fn ident(kind: EngineKind, name: &str) -> String {
    match kind {
        EngineKind::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}
