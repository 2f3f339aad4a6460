//! The `[backup]` settings of ferry.toml.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

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

/// How long backups are kept. A backup is kept when any rule keeps it;
/// the newest backup that verified is always kept.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Retention {
    /// Keep the newest N.
    pub keep_last: Option<usize>,
    /// Keep everything newer than this.
    #[serde(with = "opt_duration")]
    pub keep_within: Option<Duration>,
    /// Keep the newest backup of each of the last N days that have one.
    pub keep_daily: Option<usize>,
    /// Keep the newest backup of each of the last N ISO weeks that have one.
    pub keep_weekly: Option<usize>,
}

mod opt_duration {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}

impl Retention {
    /// True when no rule is set: prune then deletes nothing.
    pub fn is_empty(&self) -> bool {
        self.keep_last.is_none()
            && self.keep_within.is_none()
            && self.keep_daily.is_none()
            && self.keep_weekly.is_none()
    }
}
