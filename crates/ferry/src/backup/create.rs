//! `ferry backup create`: the database dump, the config files and the
//! manifest in one archive, assembled in a work folder, synced, then renamed
//! into the backup folder.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::archive::{self, BackupManifest};
use super::work::{Work, clean_leftovers};
use super::{BackupSettings, Entry, FILES_PREFIX, Sidecar, Store, dump, files, now_text};
use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::url::{DatabaseUrl, EngineKind};

/// What a backup needs to know about the application.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The application's name.
    pub project: Option<String>,
    /// The installed release.
    pub release: Option<String>,
}

/// Creates a backup: database dump, config files and manifest, in one
/// archive written under a temporary name, synced, then renamed.
pub fn create(
    store: &Store,
    settings: &BackupSettings,
    root: &Path,
    url: &DatabaseUrl,
    migrator: &mut Migrator,
    context: &Context,
    label: Option<&str>,
) -> Result<Entry> {
    store.ensure()?;
    clean_leftovers(store);
    let id = store.new_id(jiff::Timestamp::now(), label);
    let work = Work::new(store)?;
    let schema = migrator
        .history()?
        .iter()
        .filter(|r| r.success)
        .map(|r| r.version)
        .max();
    let state = crate::state::StateTables::of(&migrator.settings().history_table, url.kind());
    let engine = migrator.engine();
    let server_version = engine.server_version()?;
    let db_name = match url.kind() {
        EngineKind::Sqlite => "database/sqlite.db",
        EngineKind::Postgres => "database/postgres.dump",
        EngineKind::MySql => "database/mariadb.sql",
    };
    let files = files::config_files(root, &settings.files)?;
    let dump = dump::dump(url, engine, &work.path().join("dump"), &state)?;
    let format = dump.format;
    let partial = work.path().join("archive.tar.zst");
    let mut w = archive::ArchiveWriter::create(&partial, settings.level)?;
    let parts = dump.archive_into(&mut w, db_name)?;
    for (rel, path) in &files.found {
        let mode = std::fs::metadata(path)
            .map_err(|e| Error::io("cannot read", path, e))?
            .permissions()
            .mode()
            & 0o777;
        w.add_file(&format!("{FILES_PREFIX}{rel}"), path, mode)?;
    }
    let (manifest, size, sha256) = w.finish(BackupManifest {
        // Readers older than parts would miss all but the first.
        format: if parts { archive::FORMAT } else { 1 },
        id: id.clone(),
        ferry_version: crate::VERSION.to_owned(),
        project: context.project.clone(),
        label: label.map(str::to_owned),
        created_at: now_text(),
        release: context.release.clone(),
        schema,
        engine: url.kind(),
        server_version,
        database: db_name.to_owned(),
        dump_format: format,
        members: Vec::new(),
        missing: files.unmatched.clone(),
    })?;
    let archive = store.archive(&id);
    std::fs::rename(&partial, &archive).map_err(|e| Error::io("cannot rename to", &archive, e))?;
    let sidecar = Sidecar {
        manifest,
        size,
        sha256,
        verified_at: None,
    };
    store.record(&sidecar)?;
    Ok(Entry {
        id,
        archive,
        sidecar,
        problems: Vec::new(),
    })
}

/// An installation's backups.
impl crate::project::Installation {
    /// The backup folder.
    pub fn backups(&self) -> super::Store {
        super::Store::new(&self.project.backup().dir)
    }

    /// What a backup records about the installation: its name and release.
    pub fn backup_context(&self, migrator: &mut Migrator) -> super::Context {
        let release = match self.observe(migrator) {
            Ok(o) => o.installed().map(ToString::to_string),
            Err(_) => None,
        };
        super::Context {
            project: self.project.name().map(str::to_owned),
            release,
        }
    }
}
