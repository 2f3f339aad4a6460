//! Tests of the `ferry` binary, run for real against each engine.

mod batches;
mod checks;
mod commands;
mod concurrency;
mod config;
mod defects;
mod engines;
mod errors;
mod foreign;
mod interrupt;
mod octollm;
mod openwatch;
mod rehearse;
mod releases;
mod restore;
mod support;
mod tls;
mod travel;
mod twisterlab;
mod unattended;
mod upgrade;
mod verify;
mod watch;
