//! PostgreSQL.
//!
//! A transactional migration is sent as one simple-protocol query
//! (`BEGIN; <script>; <history row>; COMMIT`): one round trip per migration.
//!
//! Each migration commits with `synchronous_commit = off`, and the run ends
//! with one synchronous commit ([`Engine::flush`]), which flushes the WAL of
//! every migration before it. Each migration stays atomic with its history
//! row; a server crash during the run can only lose a suffix of whole
//! migrations together with their rows (the server comes back as if they had
//! been rolled back, never half-applied), the same state as ferry stopping
//! earlier; and nothing is reported done before it is on disk. This removes
//! one WAL flush per migration, which dominates the time of small migrations.
//! The migration lock is a transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`) taken in a transaction that a connection of its
//! own keeps open for the whole run. It waits on the lock itself, up to
//! `lock_timeout`, instead of polling. Being tied to a transaction, it works
//! behind a transaction-pooling PgBouncer (an open transaction keeps its
//! server connection) and can never be left behind on a pooled connection:
//! it ends with the transaction, when ferry commits it, or when the
//! connection closes because ferry died. The transaction holds no snapshot
//! and no table lock, so `CREATE INDEX CONCURRENTLY` does not wait for it.
//! Every statement goes through the simple query protocol: no prepared
//! statements, which a transaction pooler would mix up between clients.

use std::str::FromStr;
use std::time::{Duration, Instant};

use postgres::error::ErrorPosition;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls, SimpleQueryMessage};
use sha2::{Digest, Sha256};

use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls;
use crate::engine::history::{self, HistoryTable, Record};
use crate::engine::{ConnectOptions, DatabaseUrl, Engine, EngineKind, StatementError};
use crate::error::{Error, Result};
use crate::migration::{AppliedMigration, RowKind};

pub(crate) struct PostgresEngine {
    client: Client,
    config: Config,
    tls: Option<MakeRustlsConnect>,
    url: DatabaseUrl,
    lock_client: Option<Client>,
    /// Backend pids of this engine's connections, once known.
    pids: Vec<i64>,
}

fn driver_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                s.push_str(&format!("\n  detail: {detail}"));
            }
            if let Some(hint) = db.hint() {
                s.push_str(&format!("\n  hint: {hint}"));
            }
            if let Some(context) = db.where_() {
                s.push_str(&format!("\n  where: {context}"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                s.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            s
        }
    }
}

/// A lock not granted in time, a deadlock or a serialization failure: the
/// same work may succeed when tried again.
fn is_transient(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        [
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::T_R_SERIALIZATION_FAILURE,
        ]
        .contains(c)
    })
}

/// Connects with TLS when the URL asked for it.
fn open(config: &Config, tls: Option<&MakeRustlsConnect>) -> Result<Client, postgres::Error> {
    match tls {
        Some(tls) => config.connect(tls.clone()),
        None => config.connect(NoTls),
    }
}

impl PostgresEngine {
    pub(crate) fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self> {
        let fail = |message: String| Error::Connect {
            url: url.safe().clone(),
            message,
        };
        let (clean, mode, root) = tls::split(&url.for_driver()).map_err(&fail)?;
        let mut config =
            Config::from_str(&clean).map_err(|e| fail(format!("the URL is not valid: {}", driver_message(&e))))?;
        config.ssl_mode(tls::driver_mode(mode));
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        config.application_name("ferry");
        let tls = tls::connector(mode, root.as_deref()).map_err(&fail)?;
        let client = open(&config, tls.as_ref()).map_err(|e| {
            let mut message = driver_message(&e);
            if message.contains("certificate") || message.contains("Certificate") {
                message.push_str(
                    "\n  help: name the CA that signed the server's certificate with sslrootcert=/path/to/ca.pem, or use sslmode=require to encrypt without checking the certificate",
                );
            }
            fail(message)
        })?;
        Ok(PostgresEngine {
            client,
            config,
            tls,
            url: url.clone(),
            lock_client: None,
            pids: Vec::new(),
        })
    }

    /// The driver's client, for bulk data (`COPY`) where the trait's text
    /// rows would not do.
    #[cfg_attr(
        not(all(feature = "sqlite", feature = "mysql", feature = "postgres")),
        allow(dead_code)
    )]
    pub(crate) fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The first column of the first row of `sql`, run with the simple protocol.
    fn scalar(client: &mut Client, sql: &str) -> Result<Option<String>, postgres::Error> {
        Ok(client
            .simple_query(sql)?
            .into_iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_owned)),
                _ => None,
            })
            .flatten())
    }

    fn lock_key(&mut self) -> Result<i64> {
        let db = Self::scalar(&mut self.client, "SELECT current_database()::text")
            .map_err(|e| Error::db("cannot read the database name", driver_message(&e)))?
            .unwrap_or_default();
        let digest = Sha256::digest(format!("ferry:{db}").as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        Ok(i64::from_be_bytes(bytes))
    }
}

impl PostgresEngine {
    /// Finds which statement of a script that failed in one round trip
    /// fails, by running its statements one at a time in a transaction that
    /// is then rolled back. Only after a failure: a run that succeeds keeps
    /// its one round trip. The offset of the failing statement in `sql`
    /// (plus the server's position in it, when it gives one).
    fn locate_failure(&mut self, sql: &str) -> Option<usize> {
        let statements = crate::migration::split(sql, crate::EngineKind::Postgres).ok()?;
        self.client.batch_execute("BEGIN").ok()?;
        let mut found = None;
        for st in &statements {
            if let Err(e) = self.client.batch_execute(&st.text) {
                let inner = e.as_db_error().and_then(|db| match db.position() {
                    Some(ErrorPosition::Original(chars)) => st
                        .text
                        .char_indices()
                        .nth((*chars as usize).saturating_sub(1))
                        .map(|(b, _)| b),
                    _ => None,
                });
                found = Some(st.span.start + inner.unwrap_or(0));
                break;
            }
        }
        let _ = self.client.batch_execute("ROLLBACK");
        found
    }
}

/// The application name of a ferry session that holds the migration lock:
/// one that still runs when the lock is free again was left by a ferry that
/// died (PostgreSQL finishes a statement whose client is gone).
const MIGRATING: &str = "ferry: migrating";
/// The application name of every other ferry session.
const IDLE: &str = "ferry";

impl PostgresEngine {
    /// Ends the sessions a dead lock holder left running (a migration batch
    /// the server goes on executing after ferry was killed), waiting until
    /// they are gone, then marks this session as the one migrating. Without
    /// this a resumed or rolled-back run could read the history before the
    /// orphan commits, and the two would disagree.
    fn end_orphans(&mut self, timeout: Duration) -> Result<()> {
        let fail = |e: postgres::Error| Error::db("cannot end the sessions of an earlier ferry", driver_message(&e));
        // One round trip when there is none (behind a pooler each round trip
        // may wait for a pooled connection). Only sessions at work count: an
        // idle pooled connection may still carry the name of its last client.
        let orphans = format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = '{MIGRATING}' AND state <> 'idle' AND pid <> pg_backend_pid()"
        );
        let first = format!("SET application_name = '{MIGRATING}'; {orphans}");
        let start = Instant::now();
        let mut found = Self::scalar(&mut self.client, &first).map_err(fail)?;
        while found.as_deref().is_some_and(|n| n != "0") {
            if start.elapsed() > timeout.max(Duration::from_secs(5)) {
                return Err(Error::LockTimeout {
                    waited: start.elapsed(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
            found = Self::scalar(&mut self.client, &orphans).map_err(fail)?;
        }
        Ok(())
    }
}

impl Engine for PostgresEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Postgres
    }

    fn server_version(&mut self) -> Result<String> {
        Ok(Self::scalar(&mut self.client, "SHOW server_version")
            .map_err(|e| Error::db("cannot read the server version", driver_message(&e)))?
            .unwrap_or_default())
    }

    fn lock(&mut self, timeout: Duration) -> Result<()> {
        let key = self.lock_key()?;
        let mut lock_client = open(&self.config, self.tls.as_ref()).map_err(|e| Error::Connect {
            url: self.url.safe().clone(),
            message: driver_message(&e),
        })?;
        let start = Instant::now();
        // Wait on the lock itself, in slices of 50 ms: between them the transaction
        // ends, so that behind a transaction pooler a waiting ferry does not
        // keep a pooled server connection from the process that holds the
        // lock. Each slice wakes as soon as the lock is free.
        let mut attempt: u64 = 0;
        let pid = loop {
            let left = timeout.saturating_sub(start.elapsed());
            let slice = left.min(Duration::from_millis(50)).as_millis().max(1);
            let sql = format!(
                "BEGIN; SET LOCAL lock_timeout = '{slice}ms'; SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL statement_timeout = 0; SELECT pg_backend_pid(), pg_advisory_xact_lock({key})"
            );
            match Self::scalar(&mut lock_client, &sql) {
                Ok(pid) => break pid,
                Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                    let _ = lock_client.batch_execute("ROLLBACK");
                    if start.elapsed() >= timeout {
                        return Err(Error::LockTimeout {
                            waited: start.elapsed(),
                        });
                    }
                    // A little jitter so that waiters do not knock together.
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(
                        (attempt * 7 + u64::from(std::process::id())) % 13,
                    ));
                }
                Err(e) => return Err(Error::db("cannot take the migration lock", driver_message(&e))),
            }
        };
        if let Some(pid) = pid.and_then(|p| p.parse().ok()) {
            self.pids.push(pid);
        }
        self.lock_client = Some(lock_client);
        if let Err(e) = self.end_orphans(timeout.saturating_sub(start.elapsed())) {
            let _ = self.unlock();
            return Err(e);
        }
        Ok(())
    }

    fn unlock(&mut self) -> Result<()> {
        if let Some(mut client) = self.lock_client.take() {
            let _ = self.client.batch_execute(&format!("SET application_name = '{IDLE}'"));
            // Ending the transaction frees the lock; closing the connection
            // would too, and does if the commit cannot be sent.
            let _ = client.batch_execute("COMMIT");
            let _ = client.close();
        }
        Ok(())
    }

    fn own_sessions(&mut self) -> Vec<i64> {
        if self.pids.is_empty()
            && let Ok(Some(pid)) = Self::scalar(&mut self.client, "SELECT pg_backend_pid()")
            && let Ok(pid) = pid.parse()
        {
            self.pids.insert(0, pid);
        }
        self.pids.clone()
    }

    fn ensure_history(&mut self, table: &HistoryTable) -> Result<()> {
        if let Some(schema) = table.schema() {
            self.client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .map_err(|e| Error::db(format!("cannot create schema {schema}"), driver_message(&e)))?;
        }
        self.client
            .batch_execute(&history::create_sql(EngineKind::Postgres, table))
            .map_err(|e| Error::db(format!("cannot create history table {table}"), driver_message(&e)))
    }

    fn read_history(&mut self, table: &HistoryTable) -> Result<Vec<AppliedMigration>> {
        // One round trip: the simple protocol, and an absent table read as
        // an empty history rather than checked for first.
        let messages = match self
            .client
            .simple_query(&history::select_sql(EngineKind::Postgres, table))
        {
            Ok(m) => m,
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => return Ok(Vec::new()),
            Err(e) => return Err(history::unreadable(table, driver_message(&e))),
        };
        let bad = |what: &str| {
            Error::db(
                format!("cannot read history table {table}"),
                format!("unexpected {what}"),
            )
        };
        let mut rows = Vec::new();
        for message in messages {
            let SimpleQueryMessage::Row(r) = message else { continue };
            let text = |i: usize| r.get(i).map(str::to_owned);
            let number = |i: usize| r.get(i).and_then(|v| v.parse::<i64>().ok()).ok_or_else(|| bad("value"));
            rows.push(AppliedMigration {
                version: number(0)? as u64,
                name: text(1).unwrap_or_default(),
                kind: RowKind::parse(r.get(2).unwrap_or_default()),
                checksum: text(3).unwrap_or_default(),
                applied_at: text(4).unwrap_or_default(),
                execution_ms: number(5)?,
                success: number(6)? != 0,
                error: text(7),
            });
        }
        Ok(rows)
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    fn apply_in_transaction(
        &mut self,
        table: &HistoryTable,
        sql: &str,
        record: &Record<'_>,
        _foreign_keys_off: bool,
    ) -> Result<i64, StatementError> {
        let prefix = "BEGIN;\nSET LOCAL synchronous_commit = off;\n";
        let record_sql = history::in_transaction_sql(EngineKind::Postgres, table, record, None);
        // The newline ends a trailing `--` comment in the script.
        let batch = format!("{prefix}{sql}\n;\n{record_sql};\nCOMMIT;");
        let start = Instant::now();
        match self.client.batch_execute(&batch) {
            Ok(()) => Ok(start.elapsed().as_millis() as i64),
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK");
                let position = e.as_db_error().and_then(|db| match db.position() {
                    Some(ErrorPosition::Original(chars)) => {
                        let byte = batch
                            .char_indices()
                            .nth((*chars as usize).saturating_sub(1))
                            .map(|(b, _)| b)?;
                        byte.checked_sub(prefix.len()).filter(|b| *b < sql.len())
                    }
                    _ => None,
                });
                let position = position.or_else(|| self.locate_failure(sql));
                Err(StatementError {
                    message: driver_message(&e),
                    position,
                    transient: is_transient(&e),
                })
            }
        }
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, StatementError> {
        let messages = self.client.simple_query(sql).map_err(|e| StatementError {
            transient: is_transient(&e),
            ..StatementError::new(driver_message(&e))
        })?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect()),
                _ => None,
            })
            .collect())
    }

    fn flush(&mut self) -> Result<()> {
        // Taking a transaction id makes the commit write a WAL record, and a
        // synchronous commit waits until the WAL up to it, including every
        // earlier asynchronous commit, is flushed (and, where configured,
        // replicated).
        self.client
            .batch_execute("BEGIN; SET LOCAL synchronous_commit = on; SELECT txid_current(); COMMIT;")
            .map_err(|e| Error::db("cannot make the applied migrations durable", driver_message(&e)))
    }

    fn execute(&mut self, sql: &str) -> Result<(), StatementError> {
        self.client.batch_execute(sql).map_err(|e| StatementError {
            message: driver_message(&e),
            transient: is_transient(&e),
            position: e.as_db_error().and_then(|db| match db.position() {
                Some(ErrorPosition::Original(chars)) => sql
                    .char_indices()
                    .nth((*chars as usize).saturating_sub(1))
                    .map(|(b, _)| b),
                _ => None,
            }),
        })
    }
}

impl Drop for PostgresEngine {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}
