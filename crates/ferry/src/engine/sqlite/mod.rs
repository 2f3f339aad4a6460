//! SQLite: the embedded engine, through rusqlite.

#[cfg(feature = "sqlite")]
mod connection;
pub(crate) mod dialect;
#[cfg(feature = "operator")]
pub(crate) mod schema;

#[cfg(feature = "sqlite")]
pub(crate) use self::connection::SqliteEngine;
