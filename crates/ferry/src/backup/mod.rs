//! Backups that can be trusted: create, list, verify, restore, prune, drill.

mod archive;
mod dump;
mod retention;
mod sqlite_file;
mod store;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use self::archive::{BackupManifest, Damage, DumpFormat, Member};
pub use self::retention::{Candidate, Retention, keep};
pub use self::store::{Entry, Sidecar, Store};
use crate::engine::{DatabaseUrl, EngineKind};
use crate::error::{Error, Problem, Problems, Result};
use crate::migrator::{Migrator, Settings};

/// The `[backup]` settings of ferry.toml.
#[derive(Debug, Clone)]
pub struct BackupSettings {
    /// The backup folder.
    pub dir: PathBuf,
    /// Config files and folders to include, as globs relative to the project.
    pub files: Vec<String>,
    /// zstd level (1-19).
    pub level: i32,
    /// How long backups are kept.
    pub retention: Retention,
}

/// A SQL check run by `ferry backup drill` (and later by upgrades).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What it checks.
    pub name: String,
    /// The query.
    pub sql: String,
    /// When set, the first column of the first row must equal it.
    pub expect: Option<String>,
}

const FILES_PREFIX: &str = "files/";

fn now_text() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A private scratch folder inside the backup folder, removed on drop.
fn scratch(store: &Store) -> Result<tempfile::TempDir> {
    store.ensure()?;
    let dir = tempfile::Builder::new()
        .prefix(".ferry-work-")
        .tempdir_in(store.dir())
        .map_err(|e| Error::io("cannot create a work folder in", store.dir(), e))?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("cannot set permissions of", dir.path(), e))?;
    Ok(dir)
}

/// The config files named by `globs`, as (project-relative path, absolute path).
pub fn config_files(root: &Path, globs: &[String]) -> Result<Vec<(String, PathBuf)>> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    let mut add = |path: PathBuf| {
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        if !out.iter().any(|(r, _)| *r == rel) {
            out.push((rel, path));
        }
    };
    for g in globs {
        let pattern = root.join(g.trim_end_matches('/'));
        let matches = glob::glob(&pattern.to_string_lossy()).map_err(|e| {
            Error::Config(Problems(vec![
                Problem::general(format!("backup.files: `{g}` is not a valid pattern: {e}"))
                    .help("write paths relative to the project, for example \".env\", \"config/*.yaml\" or \"certs/\""),
            ]))
        })?;
        let mut any = false;
        for m in matches {
            let path = m.map_err(|e| Error::io("cannot read", e.path().to_owned(), e.into()))?;
            any = true;
            if path.is_dir() {
                let mut stack = vec![path];
                while let Some(dir) = stack.pop() {
                    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
                        .map_err(|e| Error::io("cannot read folder", &dir, e))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .collect();
                    entries.sort();
                    for p in entries {
                        if p.is_dir() {
                            stack.push(p);
                        } else if p.is_file() {
                            add(p);
                        }
                    }
                }
            } else if path.is_file() {
                add(path);
            }
        }
        if !any {
            tracing::warn!("backup.files: `{g}` matches nothing");
        }
    }
    out.sort();
    Ok(out)
}

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
    let id = store.new_id(jiff::Timestamp::now(), label);
    let work = scratch(store)?;
    let schema = migrator
        .history()?
        .iter()
        .filter(|r| r.success)
        .map(|r| r.version)
        .max();
    let engine = migrator.engine();
    let server_version = engine.server_version()?;
    let db_name = match url.kind() {
        EngineKind::Sqlite => "database/sqlite.db",
        EngineKind::Postgres => "database/postgres.dump",
        EngineKind::MySql => "database/mariadb.sql",
    };
    let dump = dump::dump(url, engine, &work.path().join("dump"))?;
    let format = dump.format;
    let files = config_files(root, &settings.files)?;
    let partial = store.dir().join(format!(".{id}.tar.zst.partial"));
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let mut w = archive::ArchiveWriter::create(&partial, settings.level)?;
        w.add_file(db_name, &dump.path, 0o600)?;
        for (rel, path) in &files {
            let mode = std::fs::metadata(path)
                .map_err(|e| Error::io("cannot read", path, e))?
                .permissions()
                .mode()
                & 0o7777;
            w.add_file(&format!("{FILES_PREFIX}{rel}"), path, mode)?;
        }
        w.finish(BackupManifest {
            format: 1,
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
        })
    })();
    drop(dump);
    let (manifest, size, sha256) = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let archive = store.archive(&id);
    std::fs::rename(&partial, &archive).map_err(|e| Error::io("cannot rename to", &archive, e))?;
    let sidecar = Sidecar {
        manifest,
        size,
        sha256,
        verified_at: None,
    };
    store.record(&sidecar)?;
    Ok(Entry { id, archive, sidecar })
}

/// The result of verifying one backup.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The backup.
    pub id: String,
    /// True when nothing is wrong.
    pub ok: bool,
    /// What is wrong, member by member.
    pub damage: Vec<Damage>,
}

/// Reads the archive in full, extracting into `work`: the database dump to
/// `work/dump`, files under `work/files/`. Checks every checksum and reads
/// the dump back in full.
fn unpack(entry: &Entry, work: &Path) -> Result<(Option<BackupManifest>, Vec<Damage>)> {
    let db_member = entry.sidecar.manifest.database.clone();
    let (manifest, mut damage) = archive::read(&entry.archive, |member, reader| {
        let dest = if member.path == db_member {
            work.join("dump")
        } else if let Some(rel) = member.path.strip_prefix(FILES_PREFIX) {
            let dest = work.join("files").join(rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
            }
            dest
        } else {
            return Ok(());
        };
        archive::extract_to(reader, &dest)
    })?;
    if let Some(m) = &manifest {
        if m.id != entry.id {
            damage.push(Damage {
                member: archive::MANIFEST.to_owned(),
                problem: format!("the archive says it is backup {}, not {}", m.id, entry.id),
            });
        }
        if damage.is_empty()
            && let Some(problem) = dump::read_back(m.dump_format, &work.join("dump"))?
        {
            damage.push(Damage {
                member: m.database.clone(),
                problem,
            });
        }
    }
    Ok((manifest, damage))
}

/// Verifies a backup: every member's checksum, and a full read of the dump.
pub fn verify(store: &Store, entry: &Entry) -> Result<Verification> {
    let work = scratch(store)?;
    let (_, damage) = unpack(entry, work.path())?;
    let ok = damage.is_empty();
    if ok {
        store.mark_verified(entry, &now_text())?;
    }
    Ok(Verification {
        id: entry.id.clone(),
        ok,
        damage,
    })
}

/// What a restore will overwrite.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePlan {
    /// The backup.
    pub id: String,
    /// The database whose contents are replaced (redacted).
    pub database: String,
    /// Config files written back: (project-relative path, whether it exists now).
    pub files: Vec<(String, bool)>,
    /// The release the backup holds.
    pub release: Option<String>,
}

/// Unpacks `entry` into `work` and returns its manifest, refusing a damaged
/// backup or one of another engine; `done` says what did not happen.
fn usable(entry: &Entry, work: &Path, url: &DatabaseUrl, done: &str) -> Result<BackupManifest> {
    let (manifest, damage) = unpack(entry, work)?;
    let manifest = match manifest {
        Some(m) if damage.is_empty() => m,
        _ => {
            let list: Vec<String> = damage.iter().map(|d| format!("{}: {}", d.member, d.problem)).collect();
            return Err(Error::refusal(
                format!(
                    "backup {} is damaged; nothing was {done}:\n  {}",
                    entry.id,
                    list.join("\n  ")
                ),
                "use another backup (`ferry backup list`)",
            ));
        }
    };
    if manifest.engine != url.kind() {
        return Err(Error::refusal(
            format!(
                "backup {} holds a {} database, but the project's database is {}; nothing was {done}",
                entry.id,
                manifest.engine.name(),
                url.kind().name()
            ),
            "use it with a project of the same engine",
        ));
    }
    Ok(manifest)
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
    confirm: impl FnOnce(&RestorePlan) -> bool,
) -> Result<Option<RestorePlan>> {
    let work = scratch(store)?;
    let manifest = usable(entry, work.path(), url, "restored")?;
    let root_real = std::fs::canonicalize(root).map_err(|e| Error::io("cannot read", root, e))?;
    let mut files = Vec::new();
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
    let plan = RestorePlan {
        id: entry.id.clone(),
        database: url.safe().to_string(),
        files,
        release: manifest.release.clone(),
    };
    if let Some(who) = dump::users(url, migrator.engine())? {
        return Err(Error::refusal(
            format!("the database is in use: {who}; nothing was restored"),
            "stop the application (and anything else connected), then restore again",
        ));
    }
    if !confirm(&plan) {
        return Ok(None);
    }
    dump::restore(url, migrator.engine(), manifest.dump_format, &work.path().join("dump"))?;
    for m in manifest.members.iter().filter(|m| m.path.starts_with(FILES_PREFIX)) {
        let rel = &m.path[FILES_PREFIX.len()..];
        let target = root.join(rel);
        let parent = target.parent().unwrap_or(root);
        std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        let tmp = parent.join(format!(".ferry-restore-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::fs::copy(work.path().join("files").join(rel), &tmp).map_err(|e| Error::io("cannot write", &tmp, e))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(m.mode))
            .map_err(|e| Error::io("cannot set permissions of", &tmp, e))?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, &target).map_err(|e| Error::io("cannot replace", &target, e))?;
    }
    Ok(Some(plan))
}

/// What `prune` did or would do.
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    /// Kept, with the rule that keeps each.
    pub kept: Vec<(String, &'static str)>,
    /// Deleted (or to delete, on a dry run).
    pub deleted: Vec<String>,
}

/// Deletes the backups the retention policy does not keep.
pub fn prune(store: &Store, retention: &Retention, dry_run: bool, now: jiff::Timestamp) -> Result<Pruned> {
    let entries = store.list()?;
    let candidates: Vec<Candidate> = entries
        .iter()
        .filter_map(|e| {
            let created = e.sidecar.manifest.created_at.parse::<jiff::Timestamp>().ok()?;
            Some(Candidate {
                id: e.id.clone(),
                created_at: created,
                verified: e.sidecar.verified_at.is_some(),
            })
        })
        .collect();
    let kept = keep(&candidates, retention, now);
    let deleted: Vec<String> = entries
        .iter()
        .map(|e| e.id.clone())
        .filter(|id| !kept.iter().any(|(k, _)| k == id))
        .collect();
    if !dry_run {
        for id in &deleted {
            store.delete(id)?;
        }
    }
    Ok(Pruned { kept, deleted })
}

/// The outcome of one check in a drill.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What it found.
    pub detail: String,
}

/// Restores a backup into a scratch database, runs the checks there, and
/// drops the scratch database. The project's database is not touched.
pub fn drill(
    store: &Store,
    entry: &Entry,
    url: &DatabaseUrl,
    migrator: &mut Migrator,
    checks: &[Check],
) -> Result<Vec<CheckResult>> {
    let work = scratch(store)?;
    let manifest = usable(entry, work.path(), url, "drilled")?;
    let scratch_name = format!("ferry_drill_{}", std::process::id());
    let scratch_url = match url.kind() {
        EngineKind::Sqlite => {
            let path = work.path().join("drill.db");
            DatabaseUrl::parse(&format!("sqlite://{}", path.display()), Path::new("."))
        }
        _ => {
            let mut u = url::Url::parse(url.expose_secret()).map_err(|e| Error::db("the database URL", e))?;
            u.set_path(&format!("/{scratch_name}"));
            DatabaseUrl::parse(u.as_str(), Path::new("."))
        }
    }
    .map_err(|p| Error::Config(Problems(vec![p])))?;
    let create = match url.kind() {
        EngineKind::Sqlite => None,
        EngineKind::Postgres => Some(format!("CREATE DATABASE \"{scratch_name}\"")),
        EngineKind::MySql => Some(format!("CREATE DATABASE `{scratch_name}`")),
    };
    if let Some(sql) = &create {
        migrator
            .engine()
            .execute(sql)
            .map_err(|e| Error::db("cannot create the scratch database", e.message))?;
    }
    let result = (|| {
        {
            let mut restorer = Migrator::connect(&scratch_url, Settings::default())?;
            dump::restore(
                &scratch_url,
                restorer.engine(),
                manifest.dump_format,
                &work.path().join("dump"),
            )?;
        }
        // A fresh connection: a SQLite restore swaps the file under the old one.
        let mut scratch_migrator = Migrator::connect(&scratch_url, Settings::default())?;
        let mut results = Vec::new();
        for check in checks {
            let (ok, detail) = match scratch_migrator.engine().query(&check.sql) {
                Ok(rows) => {
                    let first = rows.first().and_then(|r| r.first().cloned().flatten());
                    match (&check.expect, &first) {
                        (Some(want), got) if got.as_deref() != Some(want.as_str()) => (
                            false,
                            format!("expected {want}, got {}", got.as_deref().unwrap_or("no row")),
                        ),
                        _ => (true, first.map_or("ran".to_owned(), |v| format!("returned {v}"))),
                    }
                }
                Err(e) => (false, e.message),
            };
            results.push(CheckResult {
                name: check.name.clone(),
                ok,
                detail,
            });
        }
        Ok(results)
    })();
    if create.is_some() {
        let drop = match url.kind() {
            EngineKind::Postgres => format!("DROP DATABASE IF EXISTS \"{scratch_name}\" WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS `{scratch_name}`"),
        };
        if let Err(e) = migrator.engine().execute(&drop) {
            tracing::warn!("could not drop the scratch database {scratch_name}: {}", e.message);
        }
    }
    result
}
