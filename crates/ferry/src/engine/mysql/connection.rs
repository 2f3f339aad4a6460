//! MySQL and MariaDB.
//!
//! These servers commit DDL by themselves, so no migration is atomic here:
//! ferry writes the history row as not successful before a migration, runs
//! the statements one at a time, and marks the row successful after. A
//! failure leaves the row marked failed, with the statement, and later runs
//! refuse until `ferry db repair`. The lock is `GET_LOCK` named after the
//! database, held by this session and freed when it ends.

use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};
use sha2::{Digest, Sha256};

use crate::engine::history::{self, HistoryTable, Record};
use crate::engine::{ConnectOptions, DatabaseUrl, Engine, EngineKind, StatementError};
use crate::error::{Error, Result};
use crate::migration::{AppliedMigration, RowKind};

pub(crate) struct MySqlEngine {
    conn: Conn,
    database: String,
    lock_name: Option<String>,
}

/// Lock wait timeout (1205) or deadlock (1213): the same work may succeed
/// when tried again.
fn statement_error(e: &mysql::Error) -> StatementError {
    StatementError {
        transient: matches!(e, mysql::Error::MySqlError(se) if se.code == 1205 || se.code == 1213),
        ..StatementError::new(driver_message(e))
    }
}

fn driver_message(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(se) => format!("ERROR {} ({}): {}", se.code, se.state, se.message),
        other => other.to_string(),
    }
}

impl MySqlEngine {
    pub(crate) fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self> {
        let fail = |message: String| Error::Connect {
            url: url.safe().clone(),
            message,
        };
        let (plain, mode, ca) = super::tls::split(&url.for_driver()).map_err(&fail)?;
        let opts = Opts::from_url(&plain).map_err(|e| {
            fail(format!(
                "the URL is not valid: {}",
                crate::redact::redact_text(&e.to_string())
            ))
        })?;
        let opts = OptsBuilder::from_opts(opts).tcp_connect_timeout(Some(options.connect_timeout));
        // TLS is over TCP: the driver's switch to the server's Unix socket
        // (for a local server) would leave it out.
        let secured = match super::tls::options(mode, ca.as_deref()) {
            Some(tls) => opts.clone().prefer_socket(false).ssl_opts(tls),
            None => opts.clone(),
        };
        let mut conn = match Conn::new(secured) {
            Ok(conn) => conn,
            // PREFERRED: a server without TLS is spoken to in plain text.
            Err(_) if mode == super::tls::Mode::Preferred => Conn::new(opts).map_err(|e| fail(driver_message(&e)))?,
            Err(e) => return Err(fail(driver_message(&e))),
        };
        let database: Option<String> = conn
            .query_first("SELECT DATABASE()")
            .map_err(|e| fail(driver_message(&e)))?
            .flatten();
        let Some(database) = database else {
            return Err(fail(
                "the URL names no database; add it to the path, for example mysql://user@host/app".into(),
            ));
        };
        // The session's time zone is UTC so history timestamps read back as UTC.
        conn.query_drop("SET time_zone = '+00:00'")
            .map_err(|e| fail(driver_message(&e)))?;
        Ok(MySqlEngine {
            conn,
            database,
            lock_name: None,
        })
    }
}

impl MySqlEngine {
    /// The driver's connection, for bulk data where the trait's text rows
    /// would not do.
    #[cfg_attr(
        not(all(feature = "sqlite", feature = "mysql", feature = "postgres")),
        allow(dead_code)
    )]
    pub(crate) fn conn_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Engine for MySqlEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::MySql
    }

    fn server_version(&mut self) -> Result<String> {
        let v: Option<String> = self
            .conn
            .query_first("SELECT VERSION()")
            .map_err(|e| Error::db("cannot read the server version", driver_message(&e)))?;
        Ok(v.unwrap_or_default())
    }

    fn lock(&mut self, timeout: Duration) -> Result<()> {
        // Lock names are limited to 64 characters: long database names are hashed.
        let mut name = format!("ferry:{}", self.database);
        if name.len() > 64 {
            name = format!("ferry:{}", &hex::encode(Sha256::digest(self.database.as_bytes()))[..40]);
        }
        let secs = timeout.as_secs_f64();
        let got: Option<Option<i64>> = self
            .conn
            .exec_first("SELECT GET_LOCK(?, ?)", (&name, secs))
            .map_err(|e| Error::db("cannot take the migration lock", driver_message(&e)))?;
        match got.flatten() {
            Some(1) => {
                self.lock_name = Some(name);
                Ok(())
            }
            Some(_) => Err(Error::LockTimeout { waited: timeout }),
            None => Err(Error::db("cannot take the migration lock", "GET_LOCK returned NULL")),
        }
    }

    fn unlock(&mut self) -> Result<()> {
        if let Some(name) = self.lock_name.take() {
            let _: Option<Option<i64>> = self.conn.exec_first("SELECT RELEASE_LOCK(?)", (&name,)).unwrap_or(None);
        }
        Ok(())
    }

    fn own_sessions(&mut self) -> Vec<i64> {
        let id: Option<i64> = self.conn.query_first("SELECT CONNECTION_ID()").unwrap_or(None);
        id.into_iter().collect()
    }

    fn ensure_history(&mut self, table: &HistoryTable) -> Result<()> {
        self.conn
            .query_drop(history::create_sql(EngineKind::MySql, table))
            .map_err(|e| Error::db(format!("cannot create history table {table}"), driver_message(&e)))
    }

    fn read_history(&mut self, table: &HistoryTable) -> Result<Vec<AppliedMigration>> {
        let schema = table.schema().unwrap_or(&self.database).to_owned();
        // One round trip finds the history table and an unfinished restore.
        let found: Vec<String> = self
            .conn
            .exec(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name IN (?, ?)",
                (&schema, table.name(), super::restore_marker::MARKER),
            )
            .map_err(|e| Error::db("cannot read the database schema", driver_message(&e)))?;
        if found.iter().any(|t| t == super::restore_marker::MARKER) {
            let id: Option<String> = self
                .conn
                .query_first(format!(
                    "SELECT name FROM `{}` WHERE seq = 0",
                    super::restore_marker::MARKER
                ))
                .unwrap_or(None);
            return Err(super::restore_marker::unfinished(id.as_deref()));
        }
        if !found.iter().any(|t| t == table.name()) {
            return Ok(Vec::new());
        }
        type Row = (u64, String, String, String, String, i64, i64, Option<String>);
        let rows: Vec<Row> = self
            .conn
            .query(history::select_sql(EngineKind::MySql, table))
            .map_err(|e| history::unreadable(table, driver_message(&e)))?;
        Ok(rows
            .into_iter()
            .map(
                |(version, name, kind, checksum, applied_at, execution_ms, success, error)| AppliedMigration {
                    version,
                    name,
                    kind: RowKind::parse(&kind),
                    checksum,
                    applied_at,
                    execution_ms,
                    success: success != 0,
                    error,
                },
            )
            .collect())
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    fn apply_in_transaction(
        &mut self,
        _table: &HistoryTable,
        _sql: &str,
        _record: &Record<'_>,
        _foreign_keys_off: bool,
    ) -> Result<i64, StatementError> {
        Err(StatementError::new(
            "MySQL and MariaDB commit DDL implicitly; ferry runs their migrations statement by statement",
        ))
    }

    fn execute(&mut self, sql: &str) -> Result<(), StatementError> {
        self.conn.query_drop(sql).map_err(|e| statement_error(&e))
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, StatementError> {
        let rows: Vec<mysql::Row> = self.conn.query(sql).map_err(|e| statement_error(&e))?;
        Ok(rows
            .into_iter()
            .map(|r| r.unwrap().into_iter().map(mysql_text).collect())
            .collect())
    }
}

fn mysql_text(v: mysql::Value) -> Option<String> {
    match v {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        mysql::Value::Int(n) => Some(n.to_string()),
        mysql::Value::UInt(n) => Some(n.to_string()),
        mysql::Value::Float(f) => Some(f.to_string()),
        mysql::Value::Double(f) => Some(f.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

impl Drop for MySqlEngine {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}
