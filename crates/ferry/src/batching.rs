//! Runs a batched migration (`-- ferry:batch`): walks the table's key in
//! order, a page of keys at a time (`key > last ORDER BY key LIMIT size`,
//! never OFFSET), and runs the body once per page in a transaction of its
//! own that also records the page's last key in the batch table. A run that
//! is killed or fails between two batches leaves every batch before it
//! committed with its progress, and running it again starts at the next
//! one: every row is changed exactly once.
//!
//! A batch that cannot get its locks within `lock-timeout` gives up its
//! transaction (so the application is not queued behind it), waits and is
//! tried again, up to `retries` times in a row.
//!
//! A down script walks the same way. When it reverts an up that stopped
//! part-way, it walks only up to the key the up reached.

use std::time::{Duration, Instant};

use crate::engine::catalog::ident;
use crate::engine::history::change_sql;
use crate::engine::{Engine, HistoryChange, HistoryTable, Record, StatementError, in_transaction, progress};
use crate::engine::{KeyClass, dialect};
use crate::error::{Error, Result};
use crate::migration::batch::{BatchSpec, bind};
use crate::migration::{BatchProgress, Direction, Step, split};
use crate::problem::{Problem, Problems};
use crate::url::EngineKind;

/// How far a walk got, after each batch: for progress displays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tick {
    /// Rows in the batches done, counting those of an earlier run.
    pub rows: u64,
    /// Batches done, counting those of an earlier run.
    pub batches: u64,
    /// The rows the walk is expected to cover, from the table's statistics.
    pub estimate: Option<u64>,
    /// Rows per second in this run.
    pub rows_per_sec: f64,
    /// The time left at that rate, when an estimate is known.
    pub eta: Option<Duration>,
    /// How long the last batch's transaction took, from its start to its
    /// commit: the longest its row locks were held.
    pub batch_ms: u64,
    /// The longest such time in this run.
    pub longest_batch_ms: u64,
}

/// Why a walk stopped before its end.
pub(crate) enum Stop {
    /// A batch failed and was rolled back; those before it are committed.
    Batch {
        error: StatementError,
        /// The statement that failed, when known, as written in the file,
        /// and its line.
        statement: Option<(String, usize)>,
        batches: u64,
        rows: u64,
    },
    /// Before the first batch, or ferry's own bookkeeping.
    Other(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Other(e)
    }
}

#[derive(Debug, Clone)]
struct KeyColumn {
    quoted: String,
    class: KeyClass,
}

/// How far a down script walks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bound {
    /// The whole table.
    All,
    /// Up to this key: where the up it reverts stopped.
    UpTo(Vec<String>),
    /// Nowhere: the up it reverts stopped before its first batch.
    Nothing,
}

fn table_sql(kind: EngineKind, spec: &BatchSpec) -> String {
    match spec.table_parts() {
        (Some(schema), t) => format!("{}.{}", ident(kind, schema), ident(kind, t)),
        (None, t) => ident(kind, t),
    }
}

fn problem(step: &Step<'_>, spec: &BatchSpec, message: String, help: &str) -> Stop {
    Stop::Other(Error::Migrations(Problems(vec![
        Problem::in_file(&step.script().path, format!("ferry:batch: {message}"))
            .at_line(spec.line.max(1))
            .help(help),
    ])))
}

fn query_err(what: &str) -> impl Fn(StatementError) -> Stop + '_ {
    move |e| Stop::Other(Error::db(what, e.message))
}

/// Finds the key's columns, refusing a table or column that is not there
/// and a key that allows NULL (those rows would never be walked).
fn describe(engine: &mut dyn Engine, step: &Step<'_>, spec: &BatchSpec) -> Result<Vec<KeyColumn>, Stop> {
    let kind = engine.kind();
    let (schema, name) = spec.table_parts();
    // (name, type, not null) for every column of the table.
    let sql = engine.dialect().key_columns(schema, name, &table_sql(kind, spec));
    let columns = engine
        .query(&sql)
        .map_err(query_err("cannot read the columns of the batched table"))?;
    if columns.is_empty() {
        return Err(problem(
            step,
            spec,
            format!("the table {} does not exist", spec.table),
            "name the table the batches walk, as the database spells it (table=NAME, or table=schema.NAME)",
        ));
    }
    let text = |r: &Vec<Option<String>>, i: usize| r.get(i).cloned().flatten().unwrap_or_default();
    let d = engine.dialect();
    let engine_folds = d.folds_identifier_case();
    let mut out = Vec::new();
    for col in &spec.key {
        let found = columns.iter().find(|r| {
            let n = text(r, 0);
            if engine_folds {
                n.eq_ignore_ascii_case(col)
            } else {
                n == *col
            }
        });
        let Some(row) = found else {
            let names: Vec<String> = columns.iter().map(|r| text(r, 0)).collect();
            return Err(problem(
                step,
                spec,
                format!(
                    "the table {} has no column {col} (its columns: {})",
                    spec.table,
                    names.join(", ")
                ),
                "name the key's columns as the table spells them (key=id, or key=a,b)",
            ));
        };
        if text(row, 2) != "1" {
            return Err(problem(
                step,
                spec,
                format!("the key column {col} allows NULL: rows whose key is NULL would never be changed"),
                "walk a key that is NOT NULL, such as the primary key",
            ));
        }
        let class = d.key_class(&text(row, 1).to_ascii_lowercase());
        out.push(KeyColumn {
            quoted: ident(kind, &text(row, 0)),
            class,
        });
    }
    Ok(out)
}

/// A column's value as a SQL literal, computed by the database.
fn literal_expr(kind: EngineKind, col: &KeyColumn, alias: &str) -> String {
    dialect(kind).key_literal(&format!("{alias}.{}", col.quoted), col.class)
}

/// `key op value` for a key of one or more columns, in a form the
/// engine's index serves: row values on PostgreSQL and SQLite, the
/// expanded comparison on MySQL and MariaDB (which scan for row values).
/// `op` is `>` or `<=` or `>=`.
fn compare(kind: EngineKind, key: &[KeyColumn], values: &[String], op: &str) -> String {
    if key.len() == 1 {
        return format!("{} {op} {}", key[0].quoted, values[0]);
    }
    if dialect(kind).compares_row_values() {
        let cols: Vec<&str> = key.iter().map(|k| k.quoted.as_str()).collect();
        return format!("({}) {op} ({})", cols.join(", "), values.join(", "));
    }
    let strict = if op.starts_with('<') { "<" } else { ">" };
    // c1 > v1 OR (c1 = v1 AND (c2 > v2 OR (c2 = v2 AND c3 op v3)))
    let last = key.len() - 1;
    let mut expr = format!("{} {op} {}", key[last].quoted, values[last]);
    for i in (0..last).rev() {
        expr = format!(
            "({c} {strict} {v} OR ({c} = {v} AND {expr}))",
            c = key[i].quoted,
            v = values[i]
        );
    }
    expr
}

fn row_value(values: &[String]) -> String {
    if values.len() == 1 {
        values[0].clone()
    } else {
        format!("({})", values.join(", "))
    }
}

/// The first and last key of the next page, and the page's size: at most
/// two rows, each the key's literals then the count.
fn page_sql(
    kind: EngineKind,
    table: &str,
    key: &[KeyColumn],
    after: Option<&[String]>,
    bound: &Bound,
    size: u64,
) -> String {
    let cols: Vec<&str> = key.iter().map(|k| k.quoted.as_str()).collect();
    let cols = cols.join(", ");
    let mut conditions = Vec::new();
    if let Some(after) = after {
        conditions.push(compare(kind, key, after, ">"));
    }
    if let Bound::UpTo(upto) = bound {
        conditions.push(compare(kind, key, upto, "<="));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let literals: Vec<String> = key.iter().map(|k| literal_expr(kind, k, "ferry_ends")).collect();
    format!(
        "SELECT {lits}, ferry_ends.ferry_c FROM (SELECT {cols}, row_number() OVER (ORDER BY {cols}) AS ferry_n, count(*) OVER () AS ferry_c FROM (SELECT {cols} FROM {table}{filter} ORDER BY {cols} LIMIT {size}) ferry_page) ferry_ends WHERE ferry_ends.ferry_n = 1 OR ferry_ends.ferry_n = ferry_ends.ferry_c ORDER BY ferry_ends.ferry_n",
        lits = literals.join(", ")
    )
}

fn estimate(engine: &mut dyn Engine, spec: &BatchSpec) -> Option<u64> {
    let kind = engine.kind();
    let table = table_sql(kind, spec);
    let count = format!("SELECT count(*) FROM {table}");
    let first = |rows: Vec<Vec<Option<String>>>| -> Option<i64> {
        rows.first()?.first()?.as_deref()?.parse::<f64>().ok().map(|f| f as i64)
    };
    let (schema, name) = spec.table_parts();
    let stats = dialect(kind).row_estimate(schema, name, &table);
    let n = match stats.and_then(|sql| engine.query(&sql).ok()).and_then(first) {
        // No statistics yet (PostgreSQL: -1, or 0 before 14): count instead.
        Some(n) if n > 0 => Some(n),
        _ => engine.query(&count).ok().and_then(first),
    };
    n.map(|n| n.max(0) as u64)
}

/// Session settings changed for the walk, put back after it.
struct Limits {
    restore: Option<String>,
}

impl Limits {
    fn set(engine: &mut dyn Engine, spec: &BatchSpec) -> Result<Self, Stop> {
        let ms = spec.lock_timeout.as_millis().max(1);
        // None: each batch sets its own (PostgreSQL's SET LOCAL, safe behind
        // a transaction pooler).
        let Some(setting) = engine.dialect().walk_lock_timeout(ms) else {
            return Ok(Limits { restore: None });
        };
        let now = engine
            .query(setting.read)
            .map_err(query_err("cannot read the session's lock timeout"))?;
        engine
            .execute(&setting.set)
            .map_err(query_err("cannot set the session's lock timeout"))?;
        let old = now.into_iter().next().unwrap_or_default();
        Ok(Limits {
            restore: (setting.restore)(&old),
        })
    }

    fn reset(self, engine: &mut dyn Engine) {
        if let Some(sql) = self.restore
            && let Err(e) = engine.execute(&sql)
        {
            tracing::warn!("could not put the session's lock timeout back: {}", e.message);
        }
    }
}

/// Waits while a replica replays more than `max` behind (PostgreSQL; on
/// engines that do not report the lag, does not wait).
fn wait_for_replicas(engine: &mut dyn Engine, max: Duration) -> Result<(), Stop> {
    loop {
        let Some(sql) = engine.dialect().replica_lag() else {
            return Ok(());
        };
        let rows = engine.query(sql).map_err(query_err("cannot read the replicas' lag"))?;
        let lag = rows
            .first()
            .and_then(|r| r.first())
            .cloned()
            .flatten()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if lag <= max.as_secs_f64() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

struct Walk<'a> {
    kind: EngineKind,
    spec: &'a BatchSpec,
    table: String,
    key: Vec<KeyColumn>,
    /// The body, as written.
    sql: &'a str,
    /// The body, split for engines that run one statement at a time.
    statements: Vec<(String, usize)>,
    progress_table: HistoryTable,
    version: u64,
    direction: Direction,
}

/// A batch that did not commit: it may succeed when tried again, or not.
enum Failed {
    Transient(StatementError, Option<(String, usize)>),
    Fatal(StatementError, Option<(String, usize)>),
}

impl Walk<'_> {
    /// Runs one batch after `after`. `None` when no key is left.
    fn batch(
        &self,
        engine: &mut dyn Engine,
        after: Option<&[String]>,
        bound: &Bound,
        done: (u64, u64),
    ) -> Result<Option<(Vec<String>, u64)>, Failed> {
        let began = Instant::now();
        let page = page_sql(self.kind, &self.table, &self.key, after, bound, self.spec.size);
        let fail = |e: StatementError, st: Option<(String, usize)>| {
            if e.transient {
                Failed::Transient(e, st)
            } else {
                Failed::Fatal(e, st)
            }
        };
        let d = dialect(self.kind);
        let begin = d.begin_batch(self.spec.lock_timeout.as_millis().max(1));
        let rows = if d.batch_in_one_round_trip() {
            engine.query(&format!("{begin}; {page}"))
        } else {
            engine.execute(&begin).and_then(|()| engine.query(&page))
        };
        let result = rows.map_err(|e| fail(e, None)).and_then(|rows| {
            let n = self.key.len();
            let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                return Ok(None);
            };
            let values = |r: &Vec<Option<String>>| -> Vec<String> {
                r[..n]
                    .iter()
                    .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
                    .collect()
            };
            let (first_key, last_key) = (values(first), values(last));
            let count: u64 = first
                .get(n)
                .cloned()
                .flatten()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let in_batch = format!(
                "({} AND {})",
                compare(self.kind, &self.key, &first_key, ">="),
                compare(self.kind, &self.key, &last_key, "<=")
            );
            let (first_sql, last_sql) = (row_value(&first_key), row_value(&last_key));
            let dialect = self.kind;
            let upsert = progress::upsert_sql(
                self.kind,
                &self.progress_table,
                &BatchProgress {
                    version: self.version,
                    direction: self.direction,
                    last_key: last_key.clone(),
                    rows: done.0 + count,
                    batches: done.1 + 1,
                    updated_at: String::new(),
                },
            );
            if d.batch_statement_by_statement() {
                for (text, line) in &self.statements {
                    let bound_text = bind(text, dialect, &first_sql, &last_sql, &in_batch);
                    engine
                        .execute(&bound_text)
                        .map_err(|e| fail(e, Some((text.clone(), *line))))?;
                }
                engine.execute(&upsert).map_err(|e| fail(e, None))?;
            } else {
                let body = bind(self.sql, dialect, &first_sql, &last_sql, &in_batch);
                let one = match self.statements.as_slice() {
                    [only] => Some(only.clone()),
                    _ => None,
                };
                if d.batch_in_one_round_trip() {
                    // One round trip: the body and its progress.
                    engine
                        .execute(&format!("{body}\n;\n{upsert}"))
                        .map_err(|e| fail(e, one))?;
                } else {
                    engine.execute(&body).map_err(|e| fail(e, one))?;
                    engine.execute(&upsert).map_err(|e| fail(e, None))?;
                }
            }
            crate::crash::point("FERRY_TEST_CRASH_IN_BATCH", done.1 + 1);
            engine.execute("COMMIT").map_err(|e| fail(e, None))?;
            tracing::debug!(
                batch = done.1 + 1,
                rows = count,
                ms = began.elapsed().as_secs_f64() * 1000.0,
                "batch committed"
            );
            crate::crash::point("FERRY_TEST_CRASH_AFTER_BATCH", done.1 + 1);
            Ok(Some((last_key, count)))
        });
        match &result {
            Ok(Some(_)) => {}
            // Nothing left, or a failure: end the transaction.
            _ => {
                let _ = engine.execute("ROLLBACK");
            }
        }
        result
    }
}

/// Runs a batched step, continuing where an earlier run stopped. Returns
/// the time its batches took in this run, in milliseconds.
pub(crate) fn run(
    engine: &mut dyn Engine,
    history: &HistoryTable,
    step: &Step<'_>,
    record: &Record<'_>,
    tick: &mut dyn FnMut(Tick),
) -> Result<i64, Stop> {
    let spec = step.script().directives.batch.as_ref().ok_or_else(|| {
        Stop::Other(Error::db(
            "batched migration",
            "the script has no ferry:batch directive",
        ))
    })?;
    let kind = engine.kind();
    let key = describe(engine, step, spec)?;
    let progress_table = progress::table(history);
    engine
        .execute(&progress::create_sql(kind, &progress_table))
        .map_err(|e| {
            Stop::Other(Error::db(
                format!("cannot create the batch table {progress_table}"),
                e.message,
            ))
        })?;
    let row = engine
        .read_history(history)?
        .into_iter()
        .find(|r| r.version == record.version);
    let saved = progress::read(engine, history)?;
    let saved_for = |d: Direction| {
        saved
            .iter()
            .find(|p| p.version == record.version && p.direction == d)
            .cloned()
    };
    let running = row.as_ref().filter(|r| !r.success);
    let running_down = running.is_some_and(|r| r.error.as_deref().is_some_and(|e| e.starts_with("down:")));
    let tx = |engine: &mut dyn Engine, statements: Vec<String>| {
        in_transaction(engine, &statements)
            .map_err(|e| Stop::Other(Error::db(format!("cannot write to history table {history}"), e.message)))
    };
    let (bound, resume) = match record.direction {
        Direction::Up => {
            if running.is_none() {
                tx(
                    engine,
                    vec![
                        progress::delete_sql(kind, &progress_table, record.version, Some(Direction::Up)),
                        change_sql(kind, history, &HistoryChange::Started(*record)),
                    ],
                )?;
            }
            (Bound::All, running.and(saved_for(Direction::Up)))
        }
        Direction::Down => {
            // The up's progress is there only while the up is unfinished.
            let bound = match (saved_for(Direction::Up), running.is_some() && !running_down) {
                (Some(up), _) => Bound::UpTo(up.last_key),
                (None, true) => Bound::Nothing,
                (None, false) => Bound::All,
            };
            if bound == Bound::Nothing {
                // The up changed nothing: forget it at once.
                tx(
                    engine,
                    vec![
                        change_sql(kind, history, &HistoryChange::Finished(*record, 0)),
                        progress::delete_sql(kind, &progress_table, record.version, None),
                    ],
                )?;
                return Ok(0);
            }
            if !running_down {
                tx(
                    engine,
                    vec![
                        progress::delete_sql(kind, &progress_table, record.version, Some(Direction::Down)),
                        change_sql(kind, history, &HistoryChange::Started(*record)),
                    ],
                )?;
            }
            (bound, running_down.then(|| saved_for(Direction::Down)).flatten())
        }
    };
    let expected = match &bound {
        Bound::UpTo(_) => saved_for(Direction::Up).map(|p| p.rows),
        _ => estimate(engine, spec),
    };
    let sql = step.script().sql()?;
    let statements = split(sql, kind)
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.text, s.line))
        .collect();
    let walk = Walk {
        kind,
        spec,
        sql,
        table: table_sql(kind, spec),
        key,
        statements,
        progress_table: progress_table.clone(),
        version: record.version,
        direction: record.direction,
    };
    let limits = Limits::set(engine, spec)?;
    let result = walk_all(engine, &walk, bound, resume, expected, tick);
    limits.reset(engine);
    let ms = match result {
        Ok(ms) => ms,
        Err(Stop::Batch {
            error,
            statement,
            batches,
            rows,
        }) => {
            let detail = format!("batch {}: {}", batches + 1, error.message);
            if let Err(e) = engine.record(history, &HistoryChange::Failed(*record, &detail)) {
                tracing::warn!("could not record the failure: {e}");
            }
            return Err(Stop::Batch {
                error,
                statement,
                batches,
                rows,
            });
        }
        Err(other) => return Err(other),
    };
    tx(
        engine,
        vec![
            change_sql(kind, history, &HistoryChange::Finished(*record, ms)),
            progress::delete_sql(kind, &progress_table, record.version, None),
        ],
    )?;
    Ok(ms)
}

fn walk_all(
    engine: &mut dyn Engine,
    walk: &Walk<'_>,
    bound: Bound,
    resume: Option<BatchProgress>,
    expected: Option<u64>,
    tick: &mut dyn FnMut(Tick),
) -> Result<i64, Stop> {
    let spec = walk.spec;
    let mut after = resume.as_ref().map(|p| p.last_key.clone());
    let (mut rows, mut batches) = resume.map_or((0, 0), |p| (p.rows, p.batches));
    let (start, rows_before) = (Instant::now(), rows);
    let mut longest = 0;
    loop {
        if let Some(max) = spec.max_lag {
            wait_for_replicas(engine, max)?;
        }
        let mut tries = 0u32;
        let mut began = Instant::now();
        let done = loop {
            match walk.batch(engine, after.as_deref(), &bound, (rows, batches)) {
                Ok(done) => break done,
                Err(Failed::Transient(e, _)) if tries < spec.retries => {
                    tries += 1;
                    tracing::info!(
                        "batch {} could not get its locks ({}); trying again",
                        batches + 1,
                        e.message
                    );
                    // Back off, doubling up to five seconds.
                    let wait = spec.pause.max(Duration::from_millis(100)) * 2u32.saturating_pow(tries.min(6) - 1);
                    std::thread::sleep(wait.min(Duration::from_secs(5)));
                    began = Instant::now();
                }
                Err(Failed::Transient(mut e, statement)) => {
                    e.message = format!(
                        "could not get its locks in {} tr{} of {} each ({}); the batches before it are kept",
                        tries + 1,
                        if tries == 0 { "y" } else { "ies" },
                        humantime::format_duration(spec.lock_timeout),
                        e.message
                    );
                    return Err(Stop::Batch {
                        error: e,
                        statement,
                        batches,
                        rows,
                    });
                }
                Err(Failed::Fatal(e, statement)) => {
                    return Err(Stop::Batch {
                        error: e,
                        statement,
                        batches,
                        rows,
                    });
                }
            }
        };
        let Some((last, count)) = done else { break };
        let batch_ms = began.elapsed().as_millis() as u64;
        longest = longest.max(batch_ms);
        after = Some(last);
        rows += count;
        batches += 1;
        let secs = start.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            (rows - rows_before) as f64 / secs
        } else {
            0.0
        };
        let eta = expected
            .filter(|e| *e > rows && rate > 0.0)
            .map(|e| Duration::from_secs_f64((e - rows) as f64 / rate));
        tick(Tick {
            rows,
            batches,
            estimate: expected,
            rows_per_sec: rate,
            eta,
            batch_ms,
            longest_batch_ms: longest,
        });
        if !spec.pause.is_zero() {
            std::thread::sleep(spec.pause);
        }
    }
    Ok(start.elapsed().as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(names: &[&str], kind: EngineKind) -> Vec<KeyColumn> {
        names
            .iter()
            .map(|n| KeyColumn {
                quoted: ident(kind, n),
                class: KeyClass::Number,
            })
            .collect()
    }

    #[test]
    fn composite_keys_compare_in_a_form_the_index_serves() {
        let v = vec!["1".to_owned(), "'x'".to_owned()];
        assert_eq!(
            compare(EngineKind::Postgres, &key(&["a", "b"], EngineKind::Postgres), &v, ">"),
            "(\"a\", \"b\") > (1, 'x')"
        );
        assert_eq!(
            compare(EngineKind::MySql, &key(&["a", "b"], EngineKind::MySql), &v, "<="),
            "(`a` < 1 OR (`a` = 1 AND `b` <= 'x'))"
        );
        let three = vec!["1".to_owned(), "2".to_owned(), "3".to_owned()];
        assert_eq!(
            compare(
                EngineKind::MySql,
                &key(&["a", "b", "c"], EngineKind::MySql),
                &three,
                ">"
            ),
            "(`a` > 1 OR (`a` = 1 AND (`b` > 2 OR (`b` = 2 AND `c` > 3))))"
        );
        assert_eq!(
            compare(EngineKind::Sqlite, &key(&["id"], EngineKind::Sqlite), &v[..1], ">="),
            "\"id\" >= 1"
        );
    }

    #[test]
    fn pages_walk_by_key_never_by_offset() {
        let k = key(&["id"], EngineKind::Postgres);
        let sql = page_sql(
            EngineKind::Postgres,
            "\"tasks\"",
            &k,
            Some(&["41".to_owned()]),
            &Bound::UpTo(vec!["90".into()]),
            500,
        );
        assert!(
            sql.contains("WHERE \"id\" > 41 AND \"id\" <= 90 ORDER BY \"id\" LIMIT 500"),
            "{sql}"
        );
        assert!(!sql.contains("OFFSET"));
    }
}
