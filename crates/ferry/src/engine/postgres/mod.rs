//! PostgreSQL, through the `postgres` crate, with rustls for TLS.

#[cfg(feature = "postgres")]
mod connection;
pub(crate) mod dialect;
#[cfg(feature = "operator")]
pub(crate) mod schema;
#[cfg(feature = "postgres")]
mod tls;

#[cfg(feature = "postgres")]
pub(crate) use self::connection::PostgresEngine;
