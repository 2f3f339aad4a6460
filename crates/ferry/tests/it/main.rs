//! Integration tests of the migration engine against real databases: a
//! temporary SQLite file, and a fresh PostgreSQL and MariaDB database per test.

mod backups;
mod batches;
mod config;
mod embed_guard;
mod engine_scenarios;
mod foreign;
mod layers;
mod mysql_tls;
mod pg_tls;
mod release_table;
mod support;
mod verify;
