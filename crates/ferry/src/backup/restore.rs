//! `ferry backup restore`: verify, refuse what is unsafe, confirm, then put
//! the database and (or) the config files back as the backup holds them.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

use super::verify::usable;
use super::work::Work;
use super::{Entry, FILES_PREFIX, Store, dump};
use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::url::DatabaseUrl;

/// What a restore puts back.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The database.
    pub database: bool,
    /// The config files.
    pub files: bool,
    /// PostgreSQL: leave out the backup's GRANTs (for a server that lacks
    /// the roles they name).
    pub no_privileges: bool,
    /// The server's ids of this process's other sessions (the run state's
    /// connection), which are not users a restore would disturb.
    pub ours: Vec<i64>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            database: true,
            files: true,
            no_privileges: false,
            ours: Vec::new(),
        }
    }
}

/// What a restore will overwrite.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePlan {
    /// The backup.
    pub id: String,
    /// The database whose contents are replaced (redacted), when it is.
    pub database: Option<String>,
    /// Config files written back: (project-relative path, whether it exists now).
    pub files: Vec<(String, bool)>,
    /// The release the backup holds.
    pub release: Option<String>,
}

/// Restores a backup: verifies it, refuses members that would land outside
/// the project, refuses a database others are using, asks `confirm`, then
/// puts the database and the config files back as they were, with their modes.
pub fn restore(
    store: &Store,
    entry: &Entry,
    root: &Path,
    url: &DatabaseUrl,
    migrator: &mut Migrator,
    options: RestoreOptions,
    confirm: impl FnOnce(&RestorePlan) -> bool,
) -> Result<Option<RestorePlan>> {
    let work = Work::new(store)?;
    let manifest = usable(store, entry, work.path(), url, "restored")?;
    let root_real = std::fs::canonicalize(root).map_err(|e| Error::io("cannot read", root, e))?;
    let mut files = Vec::new();
    if options.files {
        for m in manifest.members.iter().filter(|m| m.path.starts_with(FILES_PREFIX)) {
            let rel = &m.path[FILES_PREFIX.len()..];
            let target = root.join(rel);
            // A symbolic link on the way could lead outside the project.
            let mut p = root_real.clone();
            for c in Path::new(rel).components() {
                p.push(c);
                if p.symlink_metadata().is_ok_and(|md| md.file_type().is_symlink()) {
                    return Err(Error::refusal(
                        format!(
                            "{} passes through a symbolic link; nothing was restored",
                            target.display()
                        ),
                        "replace the link with a folder or file, or restore by hand",
                    ));
                }
            }
            files.push((rel.to_owned(), target.exists()));
        }
    }
    let plan = RestorePlan {
        id: entry.id.clone(),
        database: options.database.then(|| url.safe().to_string()),
        files,
        release: manifest.release.clone(),
    };
    if options.database
        && let Some(who) = dump::users(url, migrator.engine(), &options.ours)?
    {
        return Err(Error::refusal(
            format!("the database is in use: {who}; nothing was restored"),
            "stop the application (and anything else connected), then restore again",
        ));
    }
    if !confirm(&plan) {
        return Ok(None);
    }
    if options.database {
        let state = crate::state::StateTables::of(&migrator.settings().history_table, url.kind());
        dump::restore(
            url,
            migrator.engine(),
            manifest.dump_format,
            &work.path().join("dump"),
            &entry.id,
            dump::RestoreOptions {
                no_privileges: options.no_privileges,
                keep: Some(state),
            },
        )?;
    }
    if options.files {
        // Every file is staged beside its target first, then all are renamed.
        let mut staged = Vec::new();
        for m in manifest.members.iter().filter(|m| m.path.starts_with(FILES_PREFIX)) {
            let rel = &m.path[FILES_PREFIX.len()..];
            let target = root.join(rel);
            let parent = crate::durable::parent(&target);
            std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
            let bytes = std::fs::read(work.path().join("files").join(rel))
                .map_err(|e| Error::io("cannot read", work.path().join("files").join(rel), e))?;
            // The owner of the file it replaces stays; the mode is the backup's.
            let owner = std::fs::metadata(&target).ok().map(|md| (md.uid(), md.gid()));
            staged.push((
                target.clone(),
                crate::durable::stage_replacement(&target, &bytes, m.mode & 0o777, owner)?,
            ));
        }
        for (target, tmp) in staged {
            tmp.persist(&target)
                .map_err(|e| Error::io("cannot replace", &target, e.error))?;
            crate::durable::sync_dir(crate::durable::parent(&target))?;
        }
    }
    Ok(Some(plan))
}

/// Restores the dump extracted at `work/dump` into the (scratch) database
/// `url`, of the backup's engine: how a backup of a server's database
/// reaches another engine, through a scratch copy and `ferry db transfer`.
#[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn restore_dump(url: &DatabaseUrl, manifest: &super::BackupManifest, work: &Path, id: &str) -> Result<()> {
    let mut m = Migrator::connect(url, crate::migrator::Settings::default())?;
    dump::restore(
        url,
        m.engine(),
        manifest.dump_format,
        &work.join("dump"),
        id,
        dump::RestoreOptions::default(),
    )
}
