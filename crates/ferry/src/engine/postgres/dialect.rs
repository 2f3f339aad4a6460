//! PostgreSQL's SQL.

use crate::engine::dialect::{Dialect, KeyClass};
use crate::url::EngineKind;

/// PostgreSQL's dialect.
pub struct Postgres;

impl Dialect for Postgres {
    fn kind(&self) -> EngineKind {
        EngineKind::Postgres
    }

    fn ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    fn now(&self) -> &'static str {
        "now()"
    }

    fn boolean(&self, b: bool) -> &'static str {
        if b { "TRUE" } else { "FALSE" }
    }

    fn boolean_as_int(&self, column: &str) -> String {
        format!("CASE WHEN {column} THEN 1 ELSE 0 END")
    }

    fn timestamp_text(&self, column: &str) -> String {
        format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
    }

    fn as_text(&self, column: &str) -> String {
        format!("({column})::text")
    }

    fn hex_text(&self, column: &str) -> String {
        format!("encode({column}, 'hex')")
    }

    fn begin(&self) -> &'static str {
        "BEGIN"
    }

    fn table_exists(&self, _schema: Option<&str>, _name: &str, quoted: &str) -> String {
        format!(
            "SELECT CASE WHEN to_regclass({}) IS NULL THEN 0 ELSE 1 END",
            self.literal(quoted)
        )
    }

    fn tables(&self) -> &'static str {
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = ANY (current_schemas(false)) AND table_type = 'BASE TABLE' ORDER BY 1"
    }

    fn columns(&self, table: &str) -> String {
        format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = ANY (current_schemas(false)) AND table_name = {} ORDER BY ordinal_position",
            self.literal(table)
        )
    }

    fn create_history(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n  version BIGINT PRIMARY KEY,\n  name TEXT NOT NULL,\n  kind TEXT NOT NULL DEFAULT 'migration',\n  checksum TEXT NOT NULL,\n  applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n  execution_ms BIGINT NOT NULL DEFAULT 0,\n  success BOOLEAN NOT NULL,\n  error TEXT\n)"
        )
    }

    fn create_batches(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n  version BIGINT NOT NULL,\n  direction TEXT NOT NULL,\n  last_key TEXT NOT NULL,\n  rows_done BIGINT NOT NULL,\n  batches BIGINT NOT NULL,\n  updated_at TIMESTAMPTZ NOT NULL,\n  PRIMARY KEY (version, direction)\n)"
        )
    }

    fn create_releases(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (seq BIGINT PRIMARY KEY, version TEXT NOT NULL, source TEXT NOT NULL, recorded_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    }

    fn upsert(&self, t: &str, columns: &[&str], key: &[&str], values: &str) -> String {
        crate::engine::sqlite::dialect::on_conflict(t, columns, key, values)
    }

    fn state_schema(&self) -> Option<&'static str> {
        Some("ferry_state")
    }

    fn create_state_docs(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (name TEXT PRIMARY KEY, body BYTEA NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    }

    fn create_state_runs(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (run TEXT PRIMARY KEY, info TEXT NOT NULL, state TEXT NOT NULL, finished BOOLEAN NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    }

    fn create_state_journal(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (run TEXT NOT NULL, seq BIGINT NOT NULL, line TEXT NOT NULL, PRIMARY KEY (run, seq))"
        )
    }

    fn bytes_literal(&self, bytes: &[u8]) -> String {
        format!("decode('{}', 'hex')", hex::encode(bytes))
    }

    fn database_size(&self) -> &'static str {
        "SELECT pg_database_size(current_database())"
    }

    fn invalid_indexes(&self, name: &str) -> Option<String> {
        Some(format!(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND c.relname = {} AND n.nspname = ANY (current_schemas(false))",
            self.literal(name)
        ))
    }

    fn key_columns(&self, _schema: Option<&str>, _name: &str, quoted: &str) -> String {
        format!(
            "SELECT a.attname, t.typname, CASE WHEN a.attnotnull THEN 1 ELSE 0 END FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = to_regclass({}) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            self.literal(quoted)
        )
    }

    fn key_class(&self, type_name: &str) -> KeyClass {
        if matches!(type_name, "int2" | "int4" | "int8") {
            KeyClass::Number
        } else {
            KeyClass::Quoted
        }
    }

    fn key_literal(&self, column: &str, class: KeyClass) -> String {
        match class {
            KeyClass::Number => format!("{column}::text"),
            _ => format!("quote_literal({column})"),
        }
    }

    fn row_estimate(&self, _schema: Option<&str>, _name: &str, quoted: &str) -> Option<String> {
        // Never analysed: -1 (or 0 before PostgreSQL 14); the caller counts then.
        Some(format!(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass({})",
            self.literal(quoted)
        ))
    }

    fn begin_batch(&self, lock_timeout_ms: u128) -> String {
        // SET LOCAL: safe behind a transaction pooler.
        format!("BEGIN; SET LOCAL lock_timeout = '{lock_timeout_ms}ms'; SET LOCAL synchronous_commit = off")
    }

    fn batch_in_one_round_trip(&self) -> bool {
        true
    }

    fn replica_lag(&self) -> Option<&'static str> {
        Some("SELECT coalesce(max(extract(epoch FROM replay_lag)), 0)::float8 FROM pg_stat_replication")
    }
}
