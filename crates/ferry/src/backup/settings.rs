//! The `[backup]` settings of ferry.toml.

use std::path::PathBuf;

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
