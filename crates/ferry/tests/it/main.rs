//! Integration tests of the migration engine against real databases: a
//! temporary SQLite file, and a fresh PostgreSQL and MariaDB database per test.

mod backups;
mod engine_scenarios;
mod release_table;
mod support;
