//! MySQL's and MariaDB's SQL.

use crate::engine::dialect::{Dialect, KeyClass, SessionSetting};
use crate::url::EngineKind;

/// MySQL's and MariaDB's dialect.
pub struct MySql;

impl MySql {
    fn in_schema(&self, schema: Option<&str>) -> String {
        schema.map_or_else(|| "DATABASE()".to_owned(), |s| self.literal(s))
    }
}

impl Dialect for MySql {
    fn kind(&self) -> EngineKind {
        EngineKind::MySql
    }

    fn ident(&self, name: &str) -> String {
        format!("`{}`", name.replace('`', "``"))
    }

    fn literal(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        for c in s.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' => out.push_str("\\\\"),
                '\0' => {}
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    }

    fn now(&self) -> &'static str {
        "UTC_TIMESTAMP(3)"
    }

    fn timestamp_text(&self, column: &str) -> String {
        // %f is microseconds: cut to milliseconds, as the others give.
        format!("CONCAT(LEFT(DATE_FORMAT({column}, '%Y-%m-%dT%H:%i:%s.%f'), 23), 'Z')")
    }

    fn timestamp_literal(&self, utc: jiff::Timestamp) -> String {
        format!("'{}'", utc.strftime("%Y-%m-%d %H:%M:%S%.3f"))
    }

    fn as_text(&self, column: &str) -> String {
        format!("CAST({column} AS CHAR)")
    }

    fn hex_text(&self, column: &str) -> String {
        format!("hex({column})")
    }

    fn begin(&self) -> &'static str {
        "START TRANSACTION"
    }

    fn table_options(&self) -> &'static str {
        " ENGINE=InnoDB"
    }

    fn folds_identifier_case(&self) -> bool {
        true
    }

    fn table_exists(&self, schema: Option<&str>, name: &str, _quoted: &str) -> String {
        format!(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = {} AND table_name = {}",
            self.in_schema(schema),
            self.literal(name)
        )
    }

    fn tables(&self) -> &'static str {
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1"
    }

    fn columns(&self, table: &str) -> String {
        format!(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = {} ORDER BY ordinal_position",
            self.literal(table)
        )
    }

    fn create_history(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n  version BIGINT UNSIGNED NOT NULL PRIMARY KEY,\n  name VARCHAR(255) NOT NULL,\n  kind VARCHAR(16) NOT NULL DEFAULT 'migration',\n  checksum VARCHAR(64) NOT NULL,\n  applied_at DATETIME(3) NOT NULL,\n  execution_ms BIGINT NOT NULL DEFAULT 0,\n  success BOOLEAN NOT NULL,\n  error TEXT\n) ENGINE=InnoDB"
        )
    }

    fn create_batches(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n  version BIGINT UNSIGNED NOT NULL,\n  direction VARCHAR(4) NOT NULL,\n  last_key TEXT NOT NULL,\n  rows_done BIGINT NOT NULL,\n  batches BIGINT NOT NULL,\n  updated_at DATETIME(3) NOT NULL,\n  PRIMARY KEY (version, direction)\n) ENGINE=InnoDB"
        )
    }

    fn create_releases(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (seq BIGINT NOT NULL PRIMARY KEY, version VARCHAR(255) NOT NULL, source VARCHAR(32) NOT NULL, recorded_at DATETIME(3) NOT NULL) ENGINE=InnoDB"
        )
    }

    fn upsert(&self, t: &str, columns: &[&str], key: &[&str], values: &str) -> String {
        let set: Vec<String> = columns
            .iter()
            .filter(|c| !key.contains(c))
            .map(|c| format!("{c} = VALUES({c})"))
            .collect();
        format!(
            "INSERT INTO {t} ({}) VALUES {values} ON DUPLICATE KEY UPDATE {}",
            columns.join(", "),
            set.join(", ")
        )
    }

    fn create_state_docs(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (name VARCHAR(255) NOT NULL PRIMARY KEY, body LONGBLOB NOT NULL, updated_at DATETIME(3) NOT NULL) ENGINE=InnoDB"
        )
    }

    fn create_state_runs(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (run VARCHAR(255) NOT NULL PRIMARY KEY, info LONGTEXT NOT NULL, state VARCHAR(32) NOT NULL, finished BOOLEAN NOT NULL, updated_at DATETIME(3) NOT NULL) ENGINE=InnoDB"
        )
    }

    fn create_state_journal(&self, t: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (run VARCHAR(255) NOT NULL, seq BIGINT NOT NULL, line LONGTEXT NOT NULL, PRIMARY KEY (run, seq)) ENGINE=InnoDB"
        )
    }

    fn database_size(&self) -> &'static str {
        "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE()"
    }

    fn key_columns(&self, schema: Option<&str>, name: &str, _quoted: &str) -> String {
        format!(
            "SELECT column_name, data_type, CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END FROM information_schema.columns WHERE table_schema = {} AND table_name = {} ORDER BY ordinal_position",
            self.in_schema(schema),
            self.literal(name)
        )
    }

    fn key_class(&self, type_name: &str) -> KeyClass {
        if matches!(
            type_name,
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "decimal"
        ) {
            KeyClass::Number
        } else if type_name.contains("binary") || type_name.contains("blob") {
            KeyClass::Binary
        } else {
            KeyClass::Quoted
        }
    }

    fn key_literal(&self, column: &str, class: KeyClass) -> String {
        match class {
            KeyClass::Number => format!("CAST({column} AS CHAR)"),
            KeyClass::Binary => format!("CONCAT('X''', HEX({column}), '''')"),
            KeyClass::Quoted => format!("QUOTE({column})"),
        }
    }

    fn compares_row_values(&self) -> bool {
        false
    }

    fn row_estimate(&self, schema: Option<&str>, name: &str, _quoted: &str) -> Option<String> {
        Some(format!(
            "SELECT table_rows FROM information_schema.tables WHERE table_schema = {} AND table_name = {}",
            self.in_schema(schema),
            self.literal(name)
        ))
    }

    fn batch_statement_by_statement(&self) -> bool {
        true
    }

    fn walk_lock_timeout(&self, lock_timeout_ms: u128) -> Option<SessionSetting> {
        // Whole seconds, at least one.
        let secs = lock_timeout_ms.div_ceil(1000).max(1);
        Some(SessionSetting {
            read: "SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.lock_wait_timeout",
            set: format!("SET SESSION innodb_lock_wait_timeout = {secs}, lock_wait_timeout = {secs}"),
            restore: |old| match (old.first().cloned().flatten(), old.get(1).cloned().flatten()) {
                (Some(a), Some(b)) => Some(format!(
                    "SET SESSION innodb_lock_wait_timeout = {a}, lock_wait_timeout = {b}"
                )),
                _ => None,
            },
        })
    }
}
