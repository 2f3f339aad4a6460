//! SQLite: the embedded engine, through rusqlite.

#[cfg(feature = "sqlite")]
mod connection;

#[cfg(feature = "sqlite")]
pub(crate) use self::connection::SqliteEngine;
