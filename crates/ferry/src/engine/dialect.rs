//! What differs between engines as SQL text, behind one trait: quoting,
//! literals, timestamps, ferry's own tables, catalogue queries, and what a
//! batched migration needs. Each engine's implementation lives in its
//! folder (`engine/<engine>/dialect.rs`); code outside the engine folders
//! asks [`dialect`] (or [`Engine::dialect`](super::Engine::dialect))
//! instead of matching on the engine's kind.

use crate::url::EngineKind;

/// How a batched migration's key column is written back as a SQL literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClass {
    /// Integers and decimals: as they are, unquoted (MySQL compares a
    /// number column with a quoted string as floating point).
    Number,
    /// Binary strings: as hex literals.
    Binary,
    /// Everything else: quoted by the database itself.
    Quoted,
}

/// A session setting a batched walk changes and puts back.
#[derive(Debug, Clone)]
pub struct SessionSetting {
    /// Reads the current values (one row).
    pub read: &'static str,
    /// Sets the walk's values.
    pub set: String,
    /// The statement that puts the values `read` returned back.
    pub restore: fn(&[Option<String>]) -> Option<String>,
}

/// An engine's SQL.
pub trait Dialect: Sync {
    /// Which engine.
    fn kind(&self) -> EngineKind;

    /// A plain name quoted as an identifier.
    fn ident(&self, name: &str) -> String;

    /// Text as a string literal.
    fn literal(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        for c in s.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\0' => {}
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    }

    /// The current time, as ferry's timestamp columns take it.
    fn now(&self) -> &'static str;

    /// A boolean literal.
    fn boolean(&self, b: bool) -> &'static str {
        if b { "1" } else { "0" }
    }

    /// A boolean column read as `1` or `0`.
    fn boolean_as_int(&self, column: &str) -> String {
        column.to_owned()
    }

    /// `column` (a timestamp) as ISO 8601 UTC text, to the millisecond.
    fn timestamp_text(&self, column: &str) -> String;

    /// A UTC time as a literal that ferry's timestamp columns take.
    fn timestamp_literal(&self, utc: jiff::Timestamp) -> String {
        format!("'{}'", utc.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }

    /// `column` read as text, whatever its type.
    fn as_text(&self, column: &str) -> String;

    /// `column` (bytes, or text already) as lowercase hex text.
    fn hex_text(&self, column: &str) -> String {
        column.to_owned()
    }

    /// What follows a `CREATE TABLE`'s columns for ferry's own tables.
    fn table_options(&self) -> &'static str {
        ""
    }

    /// Starts a transaction that will write.
    fn begin(&self) -> &'static str;

    /// Whether the names of columns compare without regard to case.
    fn folds_identifier_case(&self) -> bool {
        false
    }

    /// One row, one column: how many tables named `name` (in `schema`, or
    /// the connection's own) exist; `quoted` is the table's quoted name.
    fn table_exists(&self, schema: Option<&str>, name: &str, quoted: &str) -> String;

    /// The base tables of the schemas the connection works in, sorted.
    fn tables(&self) -> &'static str;

    /// The columns of `table`, in order.
    fn columns(&self, table: &str) -> String;

    /// The history table's DDL.
    fn create_history(&self, quoted: &str) -> String;

    /// The batch table's DDL.
    fn create_batches(&self, quoted: &str) -> String;

    /// The release table's DDL.
    fn create_releases(&self, quoted: &str) -> String;

    /// `INSERT ... VALUES values` that replaces the row with the same
    /// `key` columns.
    fn upsert(&self, quoted: &str, columns: &[&str], key: &[&str], values: &str) -> String;

    /// Settings for a scratch database nobody keeps, which need not survive
    /// a crash (commits not synced), where the engine has them.
    fn unsynced(&self) -> Option<&'static str> {
        None
    }

    /// The schema ferry's run state lives in, apart from the application's
    /// (which a restore replaces); `None`: beside the history table.
    fn state_schema(&self) -> Option<&'static str> {
        None
    }

    /// DDL of the run state's documents table.
    fn create_state_docs(&self, quoted: &str) -> String;

    /// DDL of the run state's runs table.
    fn create_state_runs(&self, quoted: &str) -> String;

    /// DDL of the run state's journal table.
    fn create_state_journal(&self, quoted: &str) -> String;

    /// Bytes as a literal of the documents' body column.
    fn bytes_literal(&self, bytes: &[u8]) -> String {
        format!("X'{}'", hex::encode(bytes))
    }

    /// The database's size in bytes (one row, one column).
    fn database_size(&self) -> &'static str;

    /// The INVALID indexes named `name` in the connection's schemas (one
    /// column), where the engine has them (PostgreSQL's failed
    /// `CREATE INDEX CONCURRENTLY`).
    fn invalid_indexes(&self, _name: &str) -> Option<String> {
        None
    }

    /// The columns of a batched migration's table as rows of (name, type,
    /// 1 when NOT NULL); `schema`/`name` as written, `quoted` the quoted
    /// table.
    fn key_columns(&self, schema: Option<&str>, name: &str, quoted: &str) -> String;

    /// How values of a column of `type_name` (lowercase) are written back.
    fn key_class(&self, _type_name: &str) -> KeyClass {
        KeyClass::Quoted
    }

    /// `column`'s value as a SQL literal, computed by the database.
    fn key_literal(&self, column: &str, class: KeyClass) -> String;

    /// Whether a composite key is compared as a row value (which the
    /// engine's index serves); MySQL and MariaDB scan for row values, so
    /// the comparison is expanded there.
    fn compares_row_values(&self) -> bool {
        true
    }

    /// The table's estimated row count from its statistics (one row, one
    /// column), where the engine keeps them; `None`: count the rows.
    fn row_estimate(&self, _schema: Option<&str>, _name: &str, _quoted: &str) -> Option<String> {
        None
    }

    /// Statements that start one batch's transaction with its lock timeout.
    fn begin_batch(&self, _lock_timeout_ms: u128) -> String {
        self.begin().to_owned()
    }

    /// Whether a batch's opening, its page query and its body go to the
    /// server in one round trip (multi-statement text).
    fn batch_in_one_round_trip(&self) -> bool {
        false
    }

    /// Whether a batch's body runs statement by statement.
    fn batch_statement_by_statement(&self) -> bool {
        false
    }

    /// The session setting a batched walk changes for its lock timeout;
    /// `None` where each batch sets its own.
    fn walk_lock_timeout(&self, _lock_timeout_ms: u128) -> Option<SessionSetting> {
        None
    }

    /// The replicas' replay lag in seconds (one row, one column), where
    /// the engine reports it.
    fn replica_lag(&self) -> Option<&'static str> {
        None
    }
}

/// The dialect of `kind`.
pub fn dialect(kind: EngineKind) -> &'static dyn Dialect {
    match kind {
        EngineKind::Sqlite => &super::sqlite::dialect::Sqlite,
        EngineKind::Postgres => &super::postgres::dialect::Postgres,
        EngineKind::MySql => &super::mysql::dialect::MySql,
    }
}
