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

pub mod adopt;
pub mod backup;
mod batching;
pub mod check;
pub mod config;
mod cores;
pub mod crash;
pub mod document;
mod durable;
mod embed;
pub mod engine;
pub mod env;
mod error;
pub mod foreign;
pub mod hooks;
pub mod import;
pub mod installed;
pub mod migration;
mod migrator;
pub mod ops;
pub mod overview;
pub mod plan;
pub mod problem;
pub mod process;
pub mod project;
pub mod records;
pub mod redact;
pub mod rehearse;
pub mod scaffold;
pub mod schema;
pub mod scratch;
pub mod text;
#[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod transfer;
pub mod upgrade;
pub mod url;
pub mod verify;
pub mod version;
pub mod watch;

pub use crate::batching::Tick;
pub use crate::check::{CheckReport, CheckWhich};
pub use crate::embed::migrate_embedded;
pub use crate::error::{Error, FailureState, MigrationFailure, Progress, Result};
pub use crate::migration::{MigrateOptions, MigrationSet, Phases, RevertTarget};
pub use crate::migrator::{Event, Migrator, Observer, RepairAction, Report, Settings, StepReport};
pub use crate::plan::Observed;
pub use crate::problem::{Problem, Problems};
pub use crate::project::Project;
pub use crate::project::{Access, Installation};
pub use crate::url::{DatabaseUrl, EngineKind, SafeUrl};

#[cfg(feature = "macros")]
pub use ferry_macros::embed_migrations;

/// ferry's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
