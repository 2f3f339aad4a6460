//! A fresh database per test: a temporary SQLite file, or a uniquely named
//! PostgreSQL or MariaDB database created on this machine's servers and
//! dropped when the test ends. Tests never share one, so they run in parallel.
//!
//! The servers come from `FERRY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and `FERRY_TEST_MYSQL_URL`
//! (default `mysql://root@127.0.0.1:3306/mysql`). A server that cannot be
//! reached fails the test: nothing is skipped.
#![deny(missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};

use mysql::prelude::Queryable;

/// The engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MariaDB / MySQL.
    MySql,
}

/// Every engine, for tests that run on each.
pub const ALL: [Kind; 3] = [Kind::Sqlite, Kind::Postgres, Kind::MySql];

/// Generates one test per engine for each scenario function `fn(Kind)`, in
/// modules `sqlite`, `postgres` and `mariadb`, so engines run in parallel and
/// a failure names its engine.
#[macro_export]
macro_rules! per_engine {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $scenario() { super::$scenario($crate::Kind::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $scenario() { super::$scenario($crate::Kind::Postgres) })*
        }
        mod mariadb {
            $(#[test] fn $scenario() { super::$scenario($crate::Kind::MySql) })*
        }
    };
}

/// A database that exists for one test.
pub struct TestDb {
    /// Which engine.
    pub kind: Kind,
    /// Its URL, for ferry.
    pub url: String,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn postgres_admin_url() -> String {
    std::env::var("FERRY_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn mysql_admin_url() -> String {
    std::env::var("FERRY_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

fn with_database(admin: &str, db: &str) -> String {
    let base = admin.split('?').next().unwrap_or(admin);
    let (head, _) = base.rsplit_once('/').expect("test server URL has a path");
    format!("{head}/{db}")
}

fn pg_admin() -> postgres::Client {
    postgres::Client::connect(&postgres_admin_url(), postgres::NoTls).unwrap_or_else(|e| {
        panic!("PostgreSQL test server unreachable at FERRY_TEST_POSTGRES_URL (default 127.0.0.1:5432): {e}; start it (see .ci/run)")
    })
}

fn mysql_admin() -> mysql::Conn {
    mysql::Conn::new(mysql::Opts::from_url(&mysql_admin_url()).expect("valid FERRY_TEST_MYSQL_URL")).unwrap_or_else(|e| {
        panic!("MariaDB test server unreachable at FERRY_TEST_MYSQL_URL (default 127.0.0.1:3306): {e}; start it (see .ci/run)")
    })
}

impl TestDb {
    /// A fresh database of `kind`.
    pub fn new(kind: Kind) -> Self {
        let name = format!(
            "ferry_t{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDb {
                    kind,
                    url,
                    name,
                    _dir: Some(dir),
                }
            }
            Kind::Postgres => {
                pg_admin()
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .expect("create PostgreSQL test database");
                TestDb {
                    kind,
                    url: with_database(&postgres_admin_url(), &name),
                    name,
                    _dir: None,
                }
            }
            Kind::MySql => {
                mysql_admin()
                    .query_drop(format!("CREATE DATABASE `{name}`"))
                    .expect("create MariaDB test database");
                TestDb {
                    kind,
                    url: with_database(&mysql_admin_url(), &name),
                    name,
                    _dir: None,
                }
            }
        }
    }

    /// The database's name on its server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A single integer from `sql` run on the server's administrative
    /// database, so that watching this database does not connect to it.
    pub fn server_scalar(&self, sql: &str) -> i64 {
        let v: Option<String> = match self.kind {
            Kind::Sqlite => panic!("SQLite has no server"),
            Kind::Postgres => pg_admin()
                .simple_query(sql)
                .expect("query")
                .into_iter()
                .find_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                    _ => None,
                }),
            Kind::MySql => mysql_admin().query_first::<String, _>(sql).expect("query"),
        };
        v.and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no integer from {sql}"))
    }

    /// Runs `sql` on the server's administrative database (PostgreSQL, MariaDB).
    pub fn server_exec(&self, sql: &str) {
        match self.kind {
            Kind::Sqlite => panic!("SQLite has no server"),
            Kind::Postgres => pg_admin().batch_execute(sql).expect("statement"),
            Kind::MySql => mysql_admin().query_drop(sql).expect("statement"),
        }
    }

    /// Drops the database `name` on the test server of `kind`, for tests
    /// that had ferry create one.
    pub fn drop_named(kind: Kind, name: &str) {
        match kind {
            Kind::Sqlite => {}
            Kind::Postgres => {
                let _ = pg_admin().batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
            Kind::MySql => {
                let _ = mysql_admin().query_drop(format!("DROP DATABASE IF EXISTS `{name}`"));
            }
        }
    }

    /// Runs SQL (one or more statements) directly, outside ferry.
    pub fn exec(&self, sql: &str) {
        match self.kind {
            Kind::Sqlite => self.sqlite().execute_batch(sql).expect("exec"),
            Kind::Postgres => self.pg().batch_execute(sql).expect("exec"),
            Kind::MySql => self.mysql().query_drop(sql).expect("exec"),
        }
    }

    /// The first column of every row of `sql`, as text (NULL as "NULL").
    pub fn column(&self, sql: &str) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .map(|r| r.into_iter().next().unwrap_or_default())
            .collect()
    }

    /// Every row of `sql`, every column as text (NULL as "NULL").
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self.kind {
            Kind::Sqlite => {
                let conn = self.sqlite();
                let mut stmt = conn.prepare(sql).expect("prepare");
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            let v: rusqlite::types::Value = r.get(i)?;
                            Ok(match v {
                                rusqlite::types::Value::Null => "NULL".to_owned(),
                                rusqlite::types::Value::Integer(i) => i.to_string(),
                                rusqlite::types::Value::Real(f) => f.to_string(),
                                rusqlite::types::Value::Text(t) => t,
                                rusqlite::types::Value::Blob(b) => format!("{b:?}"),
                            })
                        })
                        .collect()
                })
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
            }
            Kind::Postgres => self
                .pg()
                .simple_query(sql)
                .expect("query")
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_owned()).collect())
                    }
                    _ => None,
                })
                .collect(),
            Kind::MySql => self
                .mysql()
                .query_map(sql, |row: mysql::Row| {
                    row.unwrap()
                        .into_iter()
                        .map(|v| match v {
                            mysql::Value::NULL => "NULL".to_owned(),
                            mysql::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                            other => other.as_sql(true),
                        })
                        .collect()
                })
                .expect("query"),
        }
    }

    /// A digest of every user table's rows (ordered by the first column),
    /// to compare a database before and after.
    pub fn digest(&self) -> Vec<(String, Vec<Vec<String>>)> {
        self.tables()
            .into_iter()
            .map(|t| {
                let q = if self.kind == Kind::MySql {
                    format!("`{t}`")
                } else {
                    format!("\"{t}\"")
                };
                let rows = self.rows(&format!("SELECT * FROM {q} ORDER BY 1"));
                (t, rows)
            })
            .collect()
    }

    /// The user tables, sorted: the application's and ferry's history,
    /// without ferry's run state (on PostgreSQL in a schema of its own; on
    /// the others beside the history as `<history>_state_*`), which tells
    /// what ferry did rather than what the database holds.
    pub fn tables(&self) -> Vec<String> {
        let mut tables = self.all_tables();
        tables.retain(|t| {
            !["_state_docs", "_state_runs", "_state_journal"]
                .iter()
                .any(|s| t.ends_with(s))
        });
        tables
    }

    /// The table of ferry's run state named `part` (`docs`, `runs`,
    /// `journal`), for a history table `ferry_history`, quoted for SQL.
    pub fn state_table(&self, part: &str) -> String {
        match self.kind {
            Kind::Postgres => format!("ferry_state.ferry_history_{part}"),
            _ => format!("ferry_history_state_{part}"),
        }
    }

    /// The names of the documents in ferry's run state (`verified.json`,
    /// `config/<id>/record.json`...), sorted; none before it has any.
    pub fn state_docs(&self) -> Vec<String> {
        let table = self.state_table("docs");
        if !self.all_tables().iter().any(|t| table.ends_with(t.as_str())) && self.kind != Kind::Postgres {
            return Vec::new();
        }
        if self.kind == Kind::Postgres
            && self
                .column("SELECT 1 FROM information_schema.tables WHERE table_schema = 'ferry_state' AND table_name = 'ferry_history_docs'")
                .is_empty()
        {
            return Vec::new();
        }
        self.column(&format!("SELECT name FROM {table} ORDER BY name"))
    }

    /// Every table, ferry's run state included, sorted.
    pub fn all_tables(&self) -> Vec<String> {
        let sql = match self.kind {
            Kind::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Kind::Postgres => {
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
            }
            Kind::MySql => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1"
            }
        };
        self.column(sql)
    }

    /// The indexes on user tables, sorted by name.
    pub fn indexes(&self) -> Vec<String> {
        let sql = match self.kind {
            Kind::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Kind::Postgres => {
                "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' ORDER BY 1"
            }
            Kind::MySql => {
                "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name <> 'PRIMARY' ORDER BY 1"
            }
        };
        self.column(sql)
    }

    /// A single integer.
    pub fn scalar(&self, sql: &str) -> i64 {
        self.column(sql)
            .first()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no integer from {sql}"))
    }

    fn sqlite(&self) -> rusqlite::Connection {
        let path = self.url.strip_prefix("sqlite://").expect("sqlite url");
        rusqlite::Connection::open(path).expect("open sqlite")
    }

    fn pg(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect postgres")
    }

    fn mysql(&self) -> mysql::Conn {
        mysql::Conn::new(mysql::Opts::from_url(&self.url).expect("url")).expect("connect mysql")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self.kind {
            Kind::Sqlite => {}
            Kind::Postgres => {
                let _ = pg_admin().batch_execute(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name));
            }
            Kind::MySql => {
                let _ = mysql_admin().query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
            }
        }
    }
}
