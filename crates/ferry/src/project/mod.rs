//! What the project declares: ferry.toml (its database, folders, policy,
//! checks, hooks, watch window, backups) and the release files beside it
//! (schema heads, config changes, breaking changes, checks, components),
//! read and validated into plain data. An error in either names the file,
//! the line and the fix. Nothing here runs anything.

pub mod backup;
pub mod check;
pub mod config;
mod database;
pub mod expect;
mod file;
pub mod hook;
mod installation;
pub mod manifest;
mod migrations;
mod paths;
pub mod policy;
pub mod release;
pub mod watch;

pub use self::file::{PROJECT_FILE, Project, discover};
pub use self::installation::{Access, Installation};
pub use self::manifest::{Inference, Manifest};
pub use self::policy::{BackupRule, Downtime, KindPolicy, Policy, Risk, Series, StagingRule, SupportState, parse_date};
pub use self::release::{BreakingChange, Category, Component, Release};
