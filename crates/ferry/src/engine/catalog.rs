//! What tables a database has, and their columns: for telling a database
//! that another tool manages from a fresh one, and for reading that tool's
//! history. Plain catalog queries through [`Engine::query`].

use super::dialect::dialect;
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
    let sql = engine.dialect().tables();
    Ok(texts(engine.query(sql).map_err(fail)?))
}

/// The columns of `table` (lower-cased), in order; none when it does not exist.
pub fn columns(engine: &mut dyn Engine, table: &str) -> Result<Vec<String>> {
    let sql = engine.dialect().columns(table);
    Ok(texts(engine.query(&sql).map_err(fail)?)
        .into_iter()
        .map(|c| c.to_ascii_lowercase())
        .collect())
}

/// `column` read as text, whatever its type.
pub fn as_text(kind: EngineKind, column: &str) -> String {
    dialect(kind).as_text(column)
}

/// A plain name quoted as an identifier.
pub fn ident(kind: EngineKind, name: &str) -> String {
    dialect(kind).ident(name)
}
