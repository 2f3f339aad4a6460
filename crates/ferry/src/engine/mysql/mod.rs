//! MySQL and MariaDB, through the `mysql` crate.

#[cfg(feature = "mysql")]
mod connection;
pub(crate) mod dialect;
pub(crate) mod restore_marker;
#[cfg(feature = "operator")]
pub(crate) mod schema;
pub(crate) mod tls;

#[cfg(feature = "mysql")]
pub(crate) use self::connection::MySqlEngine;
