//! Whether a plain `db migrate` skips a backup its releases' policy
//! requires: `ferry upgrade` takes that backup itself, a bare migration
//! run can only warn.

use crate::MigrationSet;
use crate::migration::Status;
use crate::project::BackupRule;
use crate::project::Project;
use crate::version::Version;

use super::Store;

/// The first release that migrating from `status` to `to` (default: the
/// newest migration) crosses whose policy requires a backup, when no
/// backup was taken since the last migration was applied. `None` when
/// there is nothing to warn about, or the releases cannot be read (the
/// run reports those itself where it needs them).
pub fn unmet_backup(project: &Project, set: &MigrationSet, status: &Status, to: Option<u64>) -> Option<Version> {
    let current = status.current.unwrap_or(0);
    let target = to.or_else(|| set.latest().map(|m| m.version))?;
    // Nothing to cross (a run with nothing to do, the common case): the
    // release files are not read.
    if target <= current || !project.releases_dir().is_dir() {
        return None;
    }
    // The set the caller loaded: loading it again costs as much.
    let manifest = project.manifest(set).ok()?;
    let last_applied = status
        .migrations
        .iter()
        .filter_map(|m| m.applied_at.as_deref())
        .max()
        .unwrap_or("");
    let releases = manifest.releases();
    let strict = releases
        .iter()
        .filter(|r| r.schema.is_some_and(|h| h > current && h <= target))
        .find(|r| {
            let previous = releases.iter().rev().find(|p| p.version < r.version);
            previous.is_some_and(|p| manifest.policy.for_kind(r.kind_from(&p.version)).backup == BackupRule::Required)
        })?;
    let newest_backup = Store::new(&project.backup().dir)
        .list()
        .ok()?
        .into_iter()
        .map(|e| e.sidecar.manifest.created_at)
        .max()
        .unwrap_or_default();
    (newest_backup.is_empty() || newest_backup.as_str() <= last_applied).then(|| strict.version.clone())
}
