//! Each engine's side of a transfer, through its own driver: the tables
//! and columns its catalogue lists, the order foreign keys impose, rows
//! read as typed values (SQLite), `COPY ... TO STDOUT` text (PostgreSQL) or
//! the protocol's values (MariaDB), and rows written with `COPY ... FROM
//! STDIN` (PostgreSQL) or multi-row `INSERT`s (MariaDB).
//!
//! One of the few places outside `engine/` that names engines: rows move
//! between engines as typed values through each driver's own API
//! (PostgreSQL's binary COPY, MySQL's prepared inserts, SQLite's bound
//! parameters), which no SQL text abstracts.

use std::io::Write;

use super::value::{Category, Value};
use crate::engine::ConnectOptions;
use crate::engine::catalog::ident as quote;
use crate::error::{Error, Result};
use crate::url::{DatabaseUrl, EngineKind, SqliteLocation};

/// A column of a table.
#[derive(Debug, Clone)]
pub(crate) struct Col {
    pub name: String,
    /// `information_schema.columns.data_type` (SQLite: the declared type).
    pub data_type: String,
    /// MariaDB's `column_type` (`tinyint(1)`), else the data type.
    pub column_type: String,
}

/// A table with its columns in order.
#[derive(Debug, Clone)]
pub(crate) struct TableDef {
    pub name: String,
    pub columns: Vec<Col>,
    /// Its primary key's columns (none: its first column names a row).
    pub key: Vec<String>,
}

/// A connection to one side.
pub(crate) enum Db {
    Sqlite(rusqlite::Connection),
    Pg(Box<crate::engine::postgres::PostgresEngine>),
    My(crate::engine::mysql::MySqlEngine),
}

fn db_err(what: &str) -> impl Fn(String) -> Error + '_ {
    move |m| Error::db(what.to_owned(), crate::redact::redact_text(&m))
}

impl Db {
    /// Opens `url`; a SQLite source read-only.
    pub(crate) fn open(url: &DatabaseUrl) -> Result<Db> {
        let opts = ConnectOptions::default();
        Ok(match url.kind() {
            EngineKind::Sqlite => {
                let Some(SqliteLocation::File(path)) = url.sqlite_location() else {
                    return Err(Error::refusal(
                        "an in-memory SQLite database cannot take part in a transfer",
                        "point the URL at a file",
                    ));
                };
                let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(|e| Error::db(format!("cannot open {}", path.display()), e))?;
                conn.busy_timeout(opts.busy_timeout)
                    .map_err(|e| Error::db("sqlite", e))?;
                Db::Sqlite(conn)
            }
            EngineKind::Postgres => Db::Pg(Box::new(crate::engine::postgres::PostgresEngine::connect(url, &opts)?)),
            EngineKind::MySql => Db::My(crate::engine::mysql::MySqlEngine::connect(url, &opts)?),
        })
    }

    pub(crate) fn kind(&self) -> EngineKind {
        match self {
            Db::Sqlite(_) => EngineKind::Sqlite,
            Db::Pg(_) => EngineKind::Postgres,
            Db::My(_) => EngineKind::MySql,
        }
    }

    /// Runs statements, one after the other.
    pub(crate) fn exec(&mut self, sql: &str) -> Result<()> {
        let fail = db_err("cannot run a statement of the transfer");
        match self {
            Db::Sqlite(c) => c.execute_batch(sql).map_err(|e| fail(e.to_string())),
            Db::Pg(e) => e.client_mut().batch_execute(sql).map_err(|e| fail(pg_message(&e))),
            Db::My(e) => {
                use mysql::prelude::Queryable;
                e.conn_mut().query_drop(sql).map_err(|e| fail(e.to_string()))
            }
        }
    }

    /// Text rows of a catalogue query.
    pub(crate) fn rows(&mut self, sql: &str) -> Result<Vec<Vec<String>>> {
        let fail = db_err("cannot read the catalogue");
        match self {
            Db::Sqlite(c) => {
                let mut st = c.prepare(sql).map_err(|e| fail(e.to_string()))?;
                let n = st.column_count();
                let rows = st
                    .query_map([], |r| {
                        (0..n)
                            .map(|i| {
                                r.get::<_, Option<rusqlite::types::Value>>(i).map(|v| match v {
                                    Some(rusqlite::types::Value::Text(t)) => t,
                                    Some(rusqlite::types::Value::Integer(i)) => i.to_string(),
                                    _ => String::new(),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<String>>>()
                    })
                    .map_err(|e| fail(e.to_string()))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(|e| fail(e.to_string()))
            }
            Db::Pg(e) => {
                let msgs = e.client_mut().simple_query(sql).map_err(|e| fail(pg_message(&e)))?;
                Ok(msgs
                    .into_iter()
                    .filter_map(|m| match m {
                        postgres::SimpleQueryMessage::Row(r) => {
                            Some((0..r.len()).map(|i| r.get(i).unwrap_or_default().to_owned()).collect())
                        }
                        _ => None,
                    })
                    .collect())
            }
            Db::My(e) => {
                use mysql::prelude::Queryable;
                let rows: Vec<mysql::Row> = e.conn_mut().query(sql).map_err(|e| fail(e.to_string()))?;
                Ok(rows
                    .into_iter()
                    .map(|r| {
                        r.unwrap()
                            .into_iter()
                            .map(|v| match v {
                                mysql::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                                mysql::Value::Int(i) => i.to_string(),
                                mysql::Value::UInt(u) => u.to_string(),
                                _ => String::new(),
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }

    /// The user tables (not those in `skip`, ferry's own), with their
    /// columns in order and their primary keys.
    pub(crate) fn tables(&mut self, skip: &[String]) -> Result<Vec<TableDef>> {
        let mut out = Vec::new();
        match self {
            Db::Sqlite(_) => {
                let names = self.rows(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?;
                for n in names {
                    let name = n[0].clone();
                    let cols = self.rows(&format!(
                        "SELECT name, type, pk FROM pragma_table_info('{}') ORDER BY cid",
                        name.replace('\'', "''")
                    ))?;
                    let mut key: Vec<(i64, String)> = cols
                        .iter()
                        .filter(|c| c[2] != "0")
                        .map(|c| (c[2].parse().unwrap_or(0), c[0].clone()))
                        .collect();
                    key.sort();
                    out.push(TableDef {
                        name,
                        columns: cols
                            .iter()
                            .map(|c| Col {
                                name: c[0].clone(),
                                data_type: c[1].to_ascii_lowercase(),
                                column_type: c[1].to_ascii_lowercase(),
                            })
                            .collect(),
                        key: key.into_iter().map(|(_, n)| n).collect(),
                    });
                }
            }
            Db::Pg(_) | Db::My(_) => {
                let mysql = matches!(self, Db::My(_));
                let (cols_sql, keys_sql) = if mysql {
                    (
                        "SELECT c.table_name, c.column_name, c.data_type, c.column_type FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name WHERE c.table_schema = DATABASE() AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position",
                        "SELECT table_name, column_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND constraint_name = 'PRIMARY' ORDER BY table_name, ordinal_position",
                    )
                } else {
                    (
                        "SELECT c.table_name, c.column_name, c.data_type, c.data_type FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position",
                        "SELECT k.table_name, k.column_name FROM information_schema.table_constraints t JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema AND k.table_name = t.table_name WHERE t.table_schema = current_schema() AND t.constraint_type = 'PRIMARY KEY' ORDER BY k.table_name, k.ordinal_position",
                    )
                };
                for r in self.rows(cols_sql)? {
                    if out.last().is_none_or(|t: &TableDef| t.name != r[0]) {
                        out.push(TableDef {
                            name: r[0].clone(),
                            columns: Vec::new(),
                            key: Vec::new(),
                        });
                    }
                    let t = out.last_mut().expect("pushed");
                    t.columns.push(Col {
                        name: r[1].clone(),
                        data_type: r[2].to_ascii_lowercase(),
                        column_type: r[3].to_ascii_lowercase(),
                    });
                }
                for r in self.rows(keys_sql)? {
                    if let Some(t) = out.iter_mut().find(|t| t.name == r[0]) {
                        t.key.push(r[1].clone());
                    }
                }
            }
        }
        out.retain(|t| !skip.iter().any(|s| s.eq_ignore_ascii_case(&t.name)));
        Ok(out)
    }

    /// Foreign keys between tables: (the referencing table, the referenced one).
    pub(crate) fn references(&mut self) -> Result<Vec<(String, String)>> {
        let sql = match self {
            Db::Sqlite(_) => {
                "SELECT m.name, f.\"table\" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
            }
            Db::Pg(_) => {
                "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()"
            }
            Db::My(_) => {
                "SELECT table_name, referenced_table_name FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE()"
            }
        };
        Ok(self
            .rows(sql)?
            .into_iter()
            .map(|r| (r[0].trim_matches('"').to_owned(), r[1].trim_matches('"').to_owned()))
            .collect())
    }

    /// How many objects of its own the database holds (tables, views).
    pub(crate) fn objects(&mut self) -> Result<Vec<String>> {
        let sql = match self {
            Db::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
            }
            Db::Pg(_) => "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
            Db::My(_) => "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
        };
        Ok(self.rows(sql)?.into_iter().map(|r| r[0].clone()).collect())
    }

    /// Drops everything in the database's schema: how a failed transfer
    /// leaves the target as empty as it found it.
    pub(crate) fn empty(&mut self) -> Result<()> {
        match self {
            Db::Sqlite(_) => Err(Error::refusal(
                "ferry does not transfer into SQLite",
                "transfer into PostgreSQL or MariaDB",
            )),
            Db::Pg(_) => {
                self.exec("SET lock_timeout = '30s'")?;
                let drops = self.rows(
                    "SELECT format('DROP %s IF EXISTS %I.%I CASCADE', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
                     UNION ALL SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
                     UNION ALL SELECT format('DROP TYPE IF EXISTS %I.%I CASCADE', n.nspname, t.typname) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')",
                )?;
                for d in drops {
                    self.exec(&d[0])?;
                }
                Ok(())
            }
            Db::My(_) => {
                let objects = self.rows(
                    "SELECT CONCAT(IF(table_type = 'VIEW', 'DROP VIEW IF EXISTS `', 'DROP TABLE IF EXISTS `'), REPLACE(table_name, '`', '``'), '`') FROM information_schema.tables WHERE table_schema = DATABASE()
                     UNION ALL SELECT CONCAT('DROP ', routine_type, ' IF EXISTS `', REPLACE(routine_name, '`', '``'), '`') FROM information_schema.routines WHERE routine_schema = DATABASE()",
                )?;
                self.exec("SET FOREIGN_KEY_CHECKS = 0")?;
                for d in objects {
                    self.exec(&d[0])?;
                }
                self.exec("SET FOREIGN_KEY_CHECKS = 1")
            }
        }
    }

    /// Reads every row of `table` (its `cols`, whose target categories are
    /// `cats`), handing each to `each`.
    pub(crate) fn read(
        &mut self,
        table: &str,
        cols: &[String],
        cats: &[Category],
        each: &mut dyn FnMut(Vec<Value>) -> Result<()>,
    ) -> Result<()> {
        let kind = self.kind();
        let list: Vec<String> = cols.iter().map(|c| quote(kind, c)).collect();
        let select = format!("SELECT {} FROM {}", list.join(", "), quote(kind, table));
        let fail = db_err("cannot read the rows of a table");
        match self {
            Db::Sqlite(c) => {
                let mut st = c.prepare(&select).map_err(|e| fail(e.to_string()))?;
                let mut rows = st.query([]).map_err(|e| fail(e.to_string()))?;
                while let Some(r) = rows.next().map_err(|e| fail(e.to_string()))? {
                    let mut row = Vec::with_capacity(cols.len());
                    for i in 0..cols.len() {
                        row.push(match r.get_ref(i).map_err(|e| fail(e.to_string()))? {
                            rusqlite::types::ValueRef::Null => Value::Null,
                            rusqlite::types::ValueRef::Integer(i) => Value::Int(i),
                            rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                            rusqlite::types::ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                            rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                        });
                    }
                    each(row)?;
                }
                Ok(())
            }
            Db::Pg(e) => {
                let client = e.client_mut();
                client
                    .batch_execute("SET TimeZone = 'UTC'")
                    .map_err(|e| fail(pg_message(&e)))?;
                let mut reader = client
                    .copy_out(&format!("COPY ({select}) TO STDOUT"))
                    .map_err(|e| fail(pg_message(&e)))?;
                let mut buf = std::io::BufReader::with_capacity(1 << 20, &mut reader);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    let n =
                        std::io::BufRead::read_until(&mut buf, b'\n', &mut line).map_err(|e| fail(e.to_string()))?;
                    if n == 0 {
                        break;
                    }
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    let row = line
                        .split(|b| *b == b'\t')
                        .zip(cats)
                        .map(|(field, cat)| copy_field(field, *cat))
                        .collect::<Vec<Value>>();
                    each(row)?;
                }
                Ok(())
            }
            Db::My(e) => {
                use mysql::prelude::Queryable;
                let mut result = e.conn_mut().query_iter(&select).map_err(|e| fail(e.to_string()))?;
                while let Some(set) = result.iter() {
                    for r in set {
                        let r = r.map_err(|e| fail(e.to_string()))?;
                        let row = r
                            .unwrap()
                            .into_iter()
                            .zip(cats)
                            .map(|(v, cat)| my_value(v, *cat))
                            .collect::<Vec<Value>>();
                        each(row)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// A writer of rows into `table`'s `cols` (of categories `cats`).
    pub(crate) fn writer<'a>(&'a mut self, table: &str, cols: &[String], cats: &[Category]) -> Result<Writer<'a>> {
        let kind = self.kind();
        let list: Vec<String> = cols.iter().map(|c| quote(kind, c)).collect();
        match self {
            Db::Sqlite(_) => Err(Error::refusal(
                "ferry does not transfer into SQLite",
                "transfer into PostgreSQL or MariaDB",
            )),
            Db::Pg(e) => {
                let copy = e
                    .client_mut()
                    .copy_in(&format!("COPY {} ({}) FROM STDIN", quote(kind, table), list.join(", ")))
                    .map_err(|e| db_err("cannot start loading a table")(pg_message(&e)))?;
                Ok(Writer::Pg {
                    out: std::io::BufWriter::with_capacity(1 << 20, copy),
                    cats: cats.to_vec(),
                    line: Vec::new(),
                })
            }
            Db::My(e) => Ok(Writer::My {
                conn: e.conn_mut(),
                head: format!("INSERT INTO {} ({}) VALUES ", quote(kind, table), list.join(", ")),
                cats: cats.to_vec(),
                buf: String::new(),
            }),
        }
    }
}

/// Rows on their way into a target table.
pub(crate) enum Writer<'a> {
    Pg {
        out: std::io::BufWriter<postgres::CopyInWriter<'a>>,
        cats: Vec<Category>,
        line: Vec<u8>,
    },
    My {
        conn: &'a mut mysql::Conn,
        head: String,
        cats: Vec<Category>,
        buf: String,
    },
}

/// A MariaDB statement this long is sent before more rows join it.
const MY_STATEMENT: usize = 1 << 20;

impl Writer<'_> {
    /// Writes one row of converted values.
    pub(crate) fn row(&mut self, row: &[Value]) -> Result<()> {
        match self {
            Writer::Pg { out, cats, line } => {
                line.clear();
                for (i, (v, cat)) in row.iter().zip(cats.iter()).enumerate() {
                    if i > 0 {
                        line.push(b'\t');
                    }
                    copy_text(line, v, *cat);
                }
                line.push(b'\n');
                out.write_all(line)
                    .map_err(|e| db_err("cannot load a table")(e.to_string()))
            }
            Writer::My { conn, head, cats, buf } => {
                buf.push_str(if buf.is_empty() { head.as_str() } else { "," });
                buf.push('(');
                for (i, (v, cat)) in row.iter().zip(cats.iter()).enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    my_literal(buf, v, *cat);
                }
                buf.push(')');
                if buf.len() >= MY_STATEMENT {
                    use mysql::prelude::Queryable;
                    conn.query_drop(buf.as_str())
                        .map_err(|e| db_err("cannot load a table")(e.to_string()))?;
                    buf.clear();
                }
                Ok(())
            }
        }
    }

    /// Sends what is left and ends the load.
    pub(crate) fn finish(self) -> Result<()> {
        match self {
            Writer::Pg { out, .. } => {
                let copy = out
                    .into_inner()
                    .map_err(|e| db_err("cannot load a table")(e.error().to_string()))?;
                copy.finish()
                    .map(|_| ())
                    .map_err(|e| db_err("cannot load a table")(pg_message(&e)))
            }
            Writer::My { conn, buf, .. } => {
                if !buf.is_empty() {
                    use mysql::prelude::Queryable;
                    conn.query_drop(buf.as_str())
                        .map_err(|e| db_err("cannot load a table")(e.to_string()))?;
                }
                Ok(())
            }
        }
    }
}

fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = db.message().to_owned();
            if let Some(w) = db.where_() {
                s.push_str(&format!(" ({w})"));
            }
            s
        }
        None => e.to_string(),
    }
}

/// A field of `COPY ... TO STDOUT` text, unescaped.
fn copy_field(field: &[u8], cat: Category) -> Value {
    if field == b"\\N" {
        return Value::Null;
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && i + 1 < field.len() {
            i += 1;
            out.push(match field[i] {
                b't' => b'\t',
                b'n' => b'\n',
                b'r' => b'\r',
                b'b' => 8,
                b'f' => 12,
                b'v' => 11,
                other => other,
            });
        } else {
            out.push(field[i]);
        }
        i += 1;
    }
    if cat == Category::Bytes
        && let Some(h) = out.strip_prefix(b"\\x")
        && let Ok(b) = hex::decode(h)
    {
        return Value::Blob(b);
    }
    Value::Text(String::from_utf8_lossy(&out).into_owned())
}

/// A value in `COPY ... FROM STDIN` text.
fn copy_text(line: &mut Vec<u8>, v: &Value, cat: Category) {
    let escaped = |line: &mut Vec<u8>, s: &[u8]| {
        for b in s {
            match b {
                b'\\' => line.extend_from_slice(b"\\\\"),
                b'\t' => line.extend_from_slice(b"\\t"),
                b'\n' => line.extend_from_slice(b"\\n"),
                b'\r' => line.extend_from_slice(b"\\r"),
                other => line.push(*other),
            }
        }
    };
    match v {
        Value::Null => line.extend_from_slice(b"\\N"),
        Value::Int(i) if cat == Category::Bool => line.push(if *i != 0 { b't' } else { b'f' }),
        Value::Int(i) => line.extend_from_slice(i.to_string().as_bytes()),
        Value::Real(r) => line.extend_from_slice(format!("{r}").as_bytes()),
        Value::Text(t) => escaped(line, t.as_bytes()),
        Value::Blob(b) => {
            line.extend_from_slice(b"\\\\x");
            line.extend_from_slice(hex::encode(b).as_bytes());
        }
    }
}

/// A value as a MariaDB literal.
fn my_literal(buf: &mut String, v: &Value, _cat: Category) {
    match v {
        Value::Null => buf.push_str("NULL"),
        Value::Int(i) => buf.push_str(&i.to_string()),
        Value::Real(r) => buf.push_str(&format!("{r:e}")),
        Value::Text(t) => {
            buf.push('\'');
            for c in t.chars() {
                match c {
                    '\\' => buf.push_str("\\\\"),
                    '\'' => buf.push_str("\\'"),
                    '\0' => buf.push_str("\\0"),
                    '\n' => buf.push_str("\\n"),
                    '\r' => buf.push_str("\\r"),
                    '\u{1a}' => buf.push_str("\\Z"),
                    c => buf.push(c),
                }
            }
            buf.push('\'');
        }
        Value::Blob(b) if b.is_empty() => buf.push_str("''"),
        Value::Blob(b) => {
            buf.push_str("X'");
            buf.push_str(&hex::encode(b));
            buf.push('\'');
        }
    }
}

/// A MariaDB protocol value as a transfer value.
fn my_value(v: mysql::Value, cat: Category) -> Value {
    match v {
        mysql::Value::NULL => Value::Null,
        mysql::Value::Int(i) => Value::Int(i),
        mysql::Value::UInt(u) => Value::Int(u as i64),
        mysql::Value::Float(f) => Value::Real(f64::from(f)),
        mysql::Value::Double(d) => Value::Real(d),
        mysql::Value::Bytes(b) if cat == Category::Bytes => Value::Blob(b),
        mysql::Value::Bytes(b) => Value::Text(String::from_utf8_lossy(&b).into_owned()),
        mysql::Value::Date(y, mo, d, h, mi, s, us) => {
            Value::Text(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"))
        }
        mysql::Value::Time(neg, d, h, mi, s, us) => Value::Text(format!(
            "{}{}:{mi:02}:{s:02}.{us:06}",
            if neg { "-" } else { "" },
            u32::from(h) + d * 24
        )),
    }
}
