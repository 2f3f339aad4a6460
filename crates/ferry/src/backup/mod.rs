//! Backups that can be trusted: create, list, verify, restore, prune, drill.

mod archive;
mod create;
mod drill;
mod dump;
mod files;
mod mysql_restore;
mod pg_restore;
mod prune;
mod required;
mod restore;
mod retention;
mod sqlite_file;
mod store;
mod verify;
mod work;

pub use self::archive::{BackupManifest, Contents, Damage, DumpFormat, Member};
pub use self::create::{Context, create};
pub use self::drill::drill;
pub use self::files::{Files, config_files};
pub use self::prune::{Pruned, prune};
pub use self::required::unmet_backup;
#[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) use self::restore::restore_dump;
pub use self::restore::{RestoreOptions, RestorePlan, restore};
pub use self::retention::{Candidate, Retention, keep};
pub use self::store::{Entry, Sidecar, Store};
#[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) use self::verify::extracted;
pub use self::verify::{Verification, verify};
#[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) use self::work::Work;
pub use crate::project::backup::BackupSettings;

/// Where config files live inside an archive.
const FILES_PREFIX: &str = "files/";

fn now_text() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
