//! The `[backup]` settings of ferry.toml, and the SQL checks a drill runs.

use std::path::PathBuf;

use serde::Serialize;

use super::Retention;

/// The `[backup]` settings of ferry.toml.
#[derive(Debug, Clone)]
pub struct BackupSettings {
    /// The backup folder.
    pub dir: PathBuf,
    /// Config files and folders to include, as globs relative to the
    /// project (checked when ferry.toml is read: never absolute, never `..`).
    pub files: Vec<String>,
    /// zstd level (1-19).
    pub level: i32,
    /// How long backups are kept.
    pub retention: Retention,
}

/// A SQL check run by `ferry backup drill` (and by upgrades).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What it checks.
    pub name: String,
    /// The query.
    pub sql: String,
    /// When set, the first column of the first row must equal it.
    pub expect: Option<String>,
}
