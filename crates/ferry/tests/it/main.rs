//! Integration tests of the migration engine against real databases: a
//! temporary SQLite file, and a fresh PostgreSQL and MariaDB database per test.

mod engine_scenarios;
mod support;

/// Generates one test per engine for each scenario function `fn(Kind)`, so
/// engines run in parallel and a failure names its engine.
#[macro_export]
macro_rules! per_engine {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $scenario() { super::$scenario(ferry_testkit::Kind::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $scenario() { super::$scenario(ferry_testkit::Kind::Postgres) })*
        }
        mod mariadb {
            $(#[test] fn $scenario() { super::$scenario(ferry_testkit::Kind::MySql) })*
        }
    };
}
