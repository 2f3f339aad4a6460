//! ferry: safe, boring application upgrades.
//!
//! This crate owns ferry's behaviour; the `ferry` binary only parses
//! arguments, calls it and renders the result. Today it holds the migration
//! engine: versioned SQL migrations, checksummed and locked, on SQLite,
//! PostgreSQL and MySQL/MariaDB.
//!
//! An application embeds its migrations and applies them at start-up:
//!
//! ```no_run
//! static MIGRATIONS: &[(&str, &str)] = ferry::embed_migrations!("tests/fixtures/basic");
//!
//! let report = ferry::migrate_embedded("sqlite://app.db", MIGRATIONS, ferry::Settings::default(), &mut ())?;
//! println!("applied {} migrations", report.steps.len());
//! # Ok::<(), ferry::Error>(())
//! ```
//!
//! Everything is synchronous. An async application calls ferry from
//! `spawn_blocking`: the PostgreSQL driver runs a small runtime of its own
//! and must not be called from inside another one.
#![deny(missing_docs)]
// A build with no engine at all (the fuzz targets) leaves engine helpers unused.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_variables)
)]
// The core alone (an application that only migrates) leaves helpers that
// only the operator's layers call unused.
#![cfg_attr(not(feature = "operator"), allow(dead_code, unused_imports))]

// ferry relies on Unix: file modes and owners kept through config
// migrations and restores, process groups and signals for hooks and dump
// tools, advisory file locks. Elsewhere it stops here, saying so, rather
// than at the first Unix call it meets.
#[cfg(not(unix))]
compile_error!(
    "ferry supports Linux (tested) and other Unix systems such as macOS and the BSDs (built, not tested in CI); it does not support Windows: run it in WSL or a Linux container"
);

// The layers, bottom up: a module names only modules of its own layer or
// below (ARCHITECTURE.md; `tests/layers.rs` checks it).

// 0. Foundation: errors and problems, text, redaction, URLs and the engine
//    kind, versions, durable writes, crash points, spreading work.
mod cores;
pub mod crash;
mod durable;
mod error;
pub mod problem;
pub mod redact;
pub mod text;
pub mod url;
pub mod version;

// 1. Migrations and engines: what an application embeds.
mod batching;
mod embed;
pub mod engine;
pub mod foreign;
pub mod installed;
pub mod migration;
mod migrator;
pub mod state;

// Everything an operator runs beyond migrations (the `operator` feature).
// 0. Foundation, continued: processes and the environment.
#[cfg(feature = "operator")]
pub mod env;
#[cfg(feature = "operator")]
pub mod process;
// 1. Engines, continued: schema snapshots as values.
#[cfg(feature = "operator")]
pub mod schema;
// 2. What the project declares, and the config files' formats.
#[cfg(feature = "operator")]
pub mod document;
#[cfg(feature = "operator")]
pub mod project;
// 3. Records of what happened.
#[cfg(feature = "operator")]
pub mod records;
// 4. Planning, pure.
#[cfg(feature = "operator")]
pub mod plan;
// 5. Actions.
#[cfg(feature = "operator")]
pub mod adopt;
#[cfg(feature = "operator")]
pub mod backup;
#[cfg(feature = "operator")]
pub mod check;
#[cfg(feature = "operator")]
pub mod config;
#[cfg(feature = "operator")]
pub mod hooks;
#[cfg(feature = "operator")]
pub mod import;
#[cfg(feature = "operator")]
pub mod scaffold;
#[cfg(all(feature = "operator", feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod transfer;
#[cfg(feature = "operator")]
pub mod verify;
#[cfg(feature = "operator")]
pub mod watch;
// 6. Operations.
#[cfg(feature = "operator")]
pub mod ops;
#[cfg(feature = "operator")]
pub mod overview;
#[cfg(feature = "operator")]
pub mod rehearse;
#[cfg(feature = "operator")]
pub mod upgrade;

pub use crate::batching::Tick;
pub use crate::embed::migrate_embedded;
pub use crate::error::{Error, FailureState, MigrationFailure, Progress, Result};
pub use crate::migration::{MigrateOptions, MigrationSet, Phases, RevertTarget};
pub use crate::migrator::{Event, Migrator, Observer, RepairAction, Report, Settings, StepReport};
pub use crate::problem::{Problem, Problems};
pub use crate::url::{DatabaseUrl, EngineKind, SafeUrl};
#[cfg(feature = "operator")]
pub use crate::{
    check::{CheckReport, CheckWhich},
    plan::Observed,
    project::{Access, Installation, Project},
};

#[cfg(feature = "macros")]
pub use ferry_macros::embed_migrations;

/// ferry's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
