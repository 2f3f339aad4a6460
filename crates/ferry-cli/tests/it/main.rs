//! Tests of the `ferry` binary, run for real against each engine.

mod commands;
mod concurrency;
mod errors;
mod interrupt;
mod support;

/// One test per engine for each scenario `fn(Kind)`.
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
