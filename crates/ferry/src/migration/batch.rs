//! `-- ferry:batch`: a migration whose body runs once per range of a key,
//! each range in its own transaction. This file reads the directive and
//! checks the body; `crate::batch` runs it.
//!
//! ```sql
//! -- ferry:batch table=tasks key=id size=1000 pause=50ms
//! UPDATE tasks SET priority = priority * 2 WHERE id BETWEEN :first AND :last;
//! ```
//!
//! `:first` and `:last` are the batch's first and last key (a row value such
//! as `(7, 'x')` for a composite key); `:in_batch` is the whole condition
//! "the key is in this batch", written the way each engine can use an index
//! for it (MySQL and MariaDB cannot compare row values with BETWEEN).

use std::time::Duration;

use serde::Serialize;

use crate::migration::lexer::{placeholders, split};
use crate::text::is_identifier;
use crate::url::EngineKind;

/// The settings of a batched migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchSpec {
    /// The table walked, as written: `tasks` or `schema.tasks`.
    pub table: String,
    /// The key columns, walked in this order.
    pub key: Vec<String>,
    /// Rows per batch.
    pub size: u64,
    /// Pause between batches.
    #[serde(with = "millis")]
    pub pause: Duration,
    /// How long one batch waits for a lock before it gives up and is tried again.
    #[serde(with = "millis")]
    pub lock_timeout: Duration,
    /// How many times in a row a batch that could not get its locks is tried again.
    pub retries: u32,
    /// PostgreSQL: wait before a batch while a replica's replay lag is above this.
    #[serde(with = "opt_millis")]
    pub max_lag: Option<Duration>,
    /// The line of the directive in its file.
    #[serde(skip)]
    pub line: usize,
}

mod millis {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

mod opt_millis {
    pub fn serialize<S: serde::Serializer>(d: &Option<std::time::Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }
}

/// Rows per batch unless the directive says.
pub const DEFAULT_SIZE: u64 = 1000;
/// How long a batch waits for a lock unless the directive says.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// How many times a batch is tried again after lock timeouts unless the directive says.
pub const DEFAULT_RETRIES: u32 = 10;

/// The settings `-- ferry:batch` knows, for help texts.
pub const SETTINGS: &[&str] = &["table", "key", "size", "pause", "lock-timeout", "retries", "max-lag"];

/// The placeholder bound to the first key of a batch.
pub const FIRST: &str = "first";
/// The placeholder bound to the last key of a batch.
pub const LAST: &str = "last";
/// The placeholder bound to the condition that the key is in the batch.
pub const IN_BATCH: &str = "in_batch";

impl BatchSpec {
    /// Reads the words after `ferry:batch`: `name=value` pairs.
    pub fn parse(words: &str) -> Result<Self, String> {
        let mut table = None;
        let mut key = None;
        let mut spec = BatchSpec {
            table: String::new(),
            key: Vec::new(),
            size: DEFAULT_SIZE,
            pause: Duration::ZERO,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            retries: DEFAULT_RETRIES,
            max_lag: None,
            line: 0,
        };
        let duration = |name: &str, v: &str| {
            humantime::parse_duration(v)
                .map_err(|e| format!("{name}={v}: {e} (write a duration such as 50ms, 2s or 1m)"))
        };
        for word in words.split_whitespace() {
            let Some((name, value)) = word.split_once('=') else {
                return Err(format!(
                    "`{word}` is not a setting: write name=value, for example table=tasks key=id size=1000"
                ));
            };
            match name {
                "table" => {
                    let parts: Vec<&str> = value.split('.').collect();
                    if parts.len() > 2 || !parts.iter().all(|p| is_identifier(p)) {
                        return Err(format!(
                            "table={value}: write a plain table name (letters, digits and _), optionally schema.table"
                        ));
                    }
                    table = Some(value.to_owned());
                }
                "key" => {
                    let cols: Vec<String> = value.split(',').map(str::to_owned).collect();
                    if !cols.iter().all(|c| is_identifier(c)) {
                        return Err(format!(
                            "key={value}: write the key's column names, separated by commas without spaces (key=tenant_id,id)"
                        ));
                    }
                    key = Some(cols);
                }
                "size" => {
                    spec.size = value
                        .parse::<u64>()
                        .ok()
                        .filter(|n| (1..=10_000_000).contains(n))
                        .ok_or_else(|| format!("size={value}: write a number of rows from 1 to 10000000"))?;
                }
                "pause" => spec.pause = duration(name, value)?,
                "lock-timeout" => {
                    spec.lock_timeout = duration(name, value)?;
                    if spec.lock_timeout < Duration::from_millis(1) {
                        return Err(format!("lock-timeout={value}: it must be at least 1ms"));
                    }
                }
                "retries" => {
                    spec.retries = value
                        .parse()
                        .map_err(|_| format!("retries={value}: write a whole number (0 never tries again)"))?;
                }
                "max-lag" => spec.max_lag = Some(duration(name, value)?),
                other => {
                    return Err(format!(
                        "`{other}` is not a batch setting; the settings are {}",
                        SETTINGS.join(", ")
                    ));
                }
            }
        }
        spec.table = table.ok_or("name the table the batches walk: table=NAME")?;
        spec.key = key.ok_or("name the key the batches walk in order: key=COLUMN (or key=a,b for a composite key)")?;
        Ok(spec)
    }

    /// The table's schema and name.
    pub fn table_parts(&self) -> (Option<&str>, &str) {
        match self.table.split_once('.') {
            Some((s, t)) => (Some(s), t),
            None => (None, self.table.as_str()),
        }
    }
}

/// A problem with a batched script's body: what, and at which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyProblem {
    /// 1-based line, when it is about one statement.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// Checks a batched script's body for `dialect`: it binds both placeholders,
/// and holds only statements that can run many times, each batch in one
/// transaction (no DDL, no transaction control).
pub fn check_body(sql: &str, spec: &BatchSpec, dialect: EngineKind) -> Vec<BodyProblem> {
    let mut problems = Vec::new();
    let (Ok(statements), Ok(found)) = (split(sql, dialect), placeholders(sql, dialect)) else {
        return problems; // the lexer's own error is reported by the lint
    };
    if statements.is_empty() {
        problems.push(BodyProblem {
            line: None,
            message: "the batched migration has no statement to run".into(),
            help: "write the statement each batch runs, for example UPDATE ... WHERE id BETWEEN :first AND :last"
                .into(),
        });
    }
    let uses = |name: &str| found.iter().any(|p| p.name == name);
    if !uses(IN_BATCH) {
        for name in [FIRST, LAST].into_iter().filter(|n| !uses(n)) {
            problems.push(BodyProblem {
                line: None,
                message: format!("the batched migration never uses :{name}, so each batch would change every row"),
                help: format!(
                    "limit each statement to the batch's keys: WHERE {} BETWEEN :first AND :last, or WHERE :in_batch",
                    key_expr(&spec.key)
                ),
            });
        }
    }
    if spec.key.len() > 1 && dialect == EngineKind::MySql && (uses(FIRST) || uses(LAST)) {
        problems.push(BodyProblem {
            line: None,
            message: "with a composite key, :first and :last are row values, which MySQL and MariaDB cannot compare with BETWEEN or through an index".into(),
            help: "write WHERE :in_batch: ferry binds the condition in a form the index serves".into(),
        });
    }
    for st in &statements {
        let first = st
            .text
            .split(|c: char| c.is_whitespace() || c == '(')
            .find(|w| !w.is_empty())
            .unwrap_or_default()
            .to_ascii_uppercase();
        if crate::migration::is_transaction_control(&st.text) {
            problems.push(BodyProblem {
                line: Some(st.line),
                message: format!("`{}` in a batched migration", first_line(&st.text)),
                help: "remove it: ferry runs each batch in a transaction of its own with its progress".into(),
            });
        } else if matches!(
            first.as_str(),
            "CREATE" | "ALTER" | "DROP" | "TRUNCATE" | "RENAME" | "GRANT" | "REVOKE"
        ) {
            problems.push(BodyProblem {
                line: Some(st.line),
                message: format!("`{}` runs once per batch", first_line(&st.text)),
                help: "a batched migration changes rows; put schema changes in a migration of their own before or after it"
                    .into(),
            });
        }
    }
    if spec.max_lag.is_some() && dialect != EngineKind::Postgres {
        problems.push(BodyProblem {
            line: None,
            message: "max-lag reads PostgreSQL's pg_stat_replication; this database is not PostgreSQL".into(),
            help: "remove max-lag from the directive".into(),
        });
    }
    problems
}

fn key_expr(key: &[String]) -> String {
    if key.len() == 1 {
        key[0].clone()
    } else {
        format!("({})", key.join(", "))
    }
}

fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or_default();
    &line[..line.char_indices().nth(60).map_or(line.len(), |(i, _)| i)]
}

/// `sql` with `:first`, `:last` and `:in_batch` replaced by the SQL given.
pub fn bind(sql: &str, dialect: EngineKind, first: &str, last: &str, in_batch: &str) -> String {
    let Ok(found) = placeholders(sql, dialect) else {
        return sql.to_owned();
    };
    let mut out = String::with_capacity(sql.len() + first.len() + last.len());
    let mut at = 0;
    for p in found {
        let value = match p.name.as_str() {
            FIRST => first,
            LAST => last,
            IN_BATCH => in_batch,
            _ => continue,
        };
        out.push_str(&sql[at..p.span.start]);
        out.push_str(value);
        at = p.span.end;
    }
    out.push_str(&sql[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_settings_with_defaults() {
        let s = BatchSpec::parse("table=tasks key=id").unwrap();
        assert_eq!(
            (s.table.as_str(), s.key.clone(), s.size),
            ("tasks", vec!["id".to_owned()], 1000)
        );
        assert_eq!(s.lock_timeout, DEFAULT_LOCK_TIMEOUT);
        let s = BatchSpec::parse(
            "table=app.events key=tenant_id,id size=500 pause=50ms lock-timeout=300ms retries=3 max-lag=5s",
        )
        .unwrap();
        assert_eq!(s.table_parts(), (Some("app"), "events"));
        assert_eq!(s.key, vec!["tenant_id", "id"]);
        assert_eq!(s.pause, Duration::from_millis(50));
        assert_eq!((s.retries, s.max_lag), (3, Some(Duration::from_secs(5))));
    }

    #[test]
    fn bad_settings_say_what_to_write() {
        for (words, says) in [
            ("key=id", "table=NAME"),
            ("table=tasks", "key=COLUMN"),
            ("table=tasks key=id size=0", "from 1"),
            ("table=tasks key=id pause=soon", "duration"),
            ("table=tasks key=id sise=10", "settings are"),
            ("table=t;drop key=id", "plain table name"),
            ("table=tasks key=a, b", "without spaces"),
            ("table=tasks key=id soon", "not a setting"),
            ("table=tasks key=id lock-timeout=0s", "at least"),
        ] {
            let e = BatchSpec::parse(words).unwrap_err();
            assert!(e.contains(says), "{words}: {e}");
        }
    }

    #[test]
    fn body_must_bind_both_ends_and_change_rows_only() {
        let spec = BatchSpec::parse("table=tasks key=id").unwrap();
        let ok = "UPDATE tasks SET p = p * 2 WHERE id BETWEEN :first AND :last;";
        assert!(check_body(ok, &spec, EngineKind::Postgres).is_empty());
        let p = check_body(
            "UPDATE tasks SET p = p * 2 WHERE id > :first;",
            &spec,
            EngineKind::Sqlite,
        );
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains(":last"), "{p:?}");
        assert!(check_body("UPDATE tasks SET p = 1 WHERE :in_batch;", &spec, EngineKind::MySql).is_empty());
        let composite = BatchSpec::parse("table=tasks key=a,b").unwrap();
        let p = check_body(ok, &composite, EngineKind::MySql);
        assert!(p[0].help.contains(":in_batch"), "{p:?}");
        assert!(check_body(ok, &composite, EngineKind::Postgres).is_empty());
        let p = check_body(
            "UPDATE t SET a = ':first :last';\nALTER TABLE t ADD b int;\nCOMMIT;",
            &spec,
            EngineKind::MySql,
        );
        assert_eq!(p.len(), 4, "{p:?}");
        assert_eq!(p[3].line, Some(3));
        let lag = BatchSpec::parse("table=tasks key=id max-lag=1s").unwrap();
        assert_eq!(check_body(ok, &lag, EngineKind::MySql).len(), 1);
    }

    #[test]
    fn binds_placeholders_in_code_only() {
        let sql = "UPDATE t SET n = ':first' WHERE id::int BETWEEN :first AND :last -- :last\n";
        assert_eq!(
            bind(sql, EngineKind::Postgres, "1", "'x''y'", "unused"),
            "UPDATE t SET n = ':first' WHERE id::int BETWEEN 1 AND 'x''y' -- :last\n"
        );
    }
}
