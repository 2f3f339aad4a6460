//! `ferry config ...`: the config files' migrations as use cases, each
//! returning a report whose `Serialize` is the command's JSON.

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use crate::config::compare::{self, Finding, Kind};
use crate::config::migrate::{self as config_migrate, Prepared, Record};
use crate::config::{Change, Format};
use crate::error::{Error, Result};
use crate::plan::{self, Observed, Start};
use crate::project::{Access, Installation};
use crate::records::run::refuse_if_unfinished;
use crate::state::Store;
use crate::version::Version;

/// The release a config command aims at: `to`, else the newest final
/// release, else the newest.
pub fn target(inst: &Installation, to: Option<&Version>) -> Result<Version> {
    match to {
        Some(t) => Ok(t.clone()),
        None => inst
            .manifest
            .newest_final()
            .or(inst.manifest.newest())
            .map(|r| r.version.clone())
            .ok_or_else(|| {
                Error::refusal(
                    "no releases yet",
                    "write releases/X.Y.Z.toml (`ferry status` shows how), or pass --to",
                )
            }),
    }
}

/// `ferry config migrate`: applies the config changes of the releases
/// between the release the files are at (`from`, else what the records
/// or the database say) and `to`. Under the config lock from before the
/// records and files are read, so that a concurrent migration or revert
/// cannot change them in between; refused while an upgrade run is
/// unfinished. With `dry_run`, only prepares the diff.
pub fn migrate(
    inst: &Installation,
    access: &Access,
    to: Option<&Version>,
    from: Option<&Version>,
    dry_run: bool,
) -> Result<ConfigMigration> {
    let target = target(inst, to)?;
    // The records are in the run state; without --from, so is where the
    // files start. A dry run with --from needs neither (nor the database).
    let mut store = if dry_run && from.is_some() {
        None
    } else {
        Some(inst.state(access)?)
    };
    if !dry_run && let Some(store) = &mut store {
        store.lock(inst.project.state_lock_timeout(access))?;
        refuse_if_unfinished(&mut **store)?;
    }
    let start = inst.config_start(
        store.as_mut().map(|s| s.as_mut() as &mut dyn Store),
        from.cloned(),
        || -> Result<Observed> {
            let (mut migrator, _) = inst.connect(access)?;
            inst.observe(&mut migrator)
        },
    )?;
    let Some(from) = start else {
        return Ok(ConfigMigration {
            from: None,
            to: target,
            dry_run,
            prepared: None,
            record: None,
        });
    };
    if target < from {
        return Err(Error::refusal(
            format!("the config files are at {from}, newer than {target}"),
            "`ferry config revert` undoes the last config migration",
        ));
    }
    let plan = plan::plan(
        &inst.manifest,
        &inst.set,
        &Start::Installed(from.clone()),
        None,
        Some(&target),
    )?;
    let steps: Vec<_> = config_migrate::steps_of(&inst.manifest, &plan.hops)
        .into_iter()
        .flatten()
        .collect();
    let dir = inst.project.config_dir()?;
    let prepared = config_migrate::prepare(&dir, &steps)?;
    let record = match (&mut store, dry_run) {
        (Some(store), false) => config_migrate::apply(&mut **store, &prepared, Some(&from), &target, None)?,
        _ => None,
    };
    Ok(ConfigMigration {
        from: Some(from),
        to: target,
        dry_run,
        prepared: Some(prepared),
        record,
    })
}

/// `ferry config revert`: undoes the last config migration, restoring each
/// file byte for byte (`force`: even files edited since). Refused while an
/// upgrade run is unfinished.
pub fn revert(inst: &Installation, access: &Access, force: bool) -> Result<ConfigRevert> {
    let mut store = inst.state(access)?;
    store.lock(inst.project.state_lock_timeout(access))?;
    refuse_if_unfinished(&mut *store)?;
    Ok(ConfigRevert {
        reverted: config_migrate::revert(&mut *store, force)?,
    })
}

/// What `ferry config diff` compares.
#[derive(Debug, Clone)]
pub enum DiffAgainst {
    /// Every file the releases name, against what the releases declare.
    Releases,
    /// One user's file against an example (such as `.env.example`).
    Example {
        /// The user's file (relative paths: to the config folder).
        user: PathBuf,
        /// The example.
        example: PathBuf,
    },
}

/// `ferry config diff`: keys missing from the config files, keys the
/// example no longer has, deprecated keys still in use, judged against the
/// releases up to `to` (default: the newest final release). Changes nothing.
pub fn diff(inst: &Installation, access: &Access, to: Option<&Version>, against: &DiffAgainst) -> Result<ConfigDiff> {
    let target = target(inst, to).ok();
    let dir = inst.project.config_dir()?;
    let releases: Vec<(&Version, &[Change])> = inst
        .manifest
        .releases()
        .iter()
        .filter(|r| target.as_ref().is_none_or(|t| r.version <= *t))
        // A pre-release's changes come with its final release, which a path
        // passes through: name that one (unless the target is the pre-release).
        .filter(|r| !r.version.is_prerelease() || target.as_ref() == Some(&r.version))
        .map(|r| (&r.version, r.config.as_slice()))
        .collect();
    let findings = match against {
        DiffAgainst::Example { user, example } => {
            compare::against_example(&dir, &in_dir(&dir, user), &in_dir(&dir, example), &releases)?
        }
        DiffAgainst::Releases => compare::against_releases(&dir, &releases)?,
    };
    // The record says one thing, the files another: say so.
    let recorded = inst
        .state(access)
        .ok()
        .and_then(|mut store| config_migrate::current(&mut *store).ok().flatten());
    let behind = match (recorded, inst.files_config_version()) {
        (Some(r), Some(f)) if f < r => Some((r, f)),
        _ => None,
    };
    Ok(ConfigDiff { findings, behind })
}

/// The user's file an example stands for (`.env.example` → `.env`), in the
/// config folder, when its name says so.
pub fn user_file_for(inst: &Installation, example: &Path) -> Result<Option<PathBuf>> {
    let dir = inst.project.config_dir()?;
    Ok(compare::user_file_for(&in_dir(&dir, example)))
}

fn in_dir(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_owned() } else { dir.join(p) }
}

/// `ferry config migrate`.
#[derive(Debug, Clone)]
pub struct ConfigMigration {
    /// The release the files were at; none for a fresh database (nothing
    /// to migrate: a fresh install ships its files in the new shape).
    pub from: Option<Version>,
    /// The target.
    pub to: Version,
    /// Nothing was written.
    pub dry_run: bool,
    /// The changes, each file's diff.
    pub prepared: Option<Prepared>,
    /// The record of what was written (none: nothing changed, or a dry run).
    pub record: Option<Record>,
}

impl ConfigMigration {
    /// The note for a fresh database.
    pub const FRESH: &'static str =
        "the database is fresh: a fresh install ships its config files in the new shape; nothing to migrate";
}

/// One changed file, as JSON shows it.
#[derive(Serialize)]
struct FileView<'a> {
    file: &'a str,
    format: Format,
    changes: Vec<ChangeView<'a>>,
}

#[derive(Serialize)]
struct ChangeView<'a> {
    version: &'a Version,
    change: &'a str,
}

fn files_of(p: &Prepared) -> Vec<FileView<'_>> {
    p.changed()
        .map(|f| FileView {
            file: &f.shown,
            format: f.format,
            changes: f
                .effects
                .iter()
                .map(|(v, what)| ChangeView {
                    version: v,
                    change: what,
                })
                .collect(),
        })
        .collect()
}

impl Serialize for ConfigMigration {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Fresh<'a> {
            from: Option<()>,
            to: &'a Version,
            changed: bool,
            note: &'a str,
        }
        #[derive(Serialize)]
        struct Dry<'a> {
            files: Vec<FileView<'a>>,
            notes: &'a [String],
            diff: String,
            from: &'a Version,
            to: &'a Version,
            dry_run: bool,
        }
        #[derive(Serialize)]
        struct Applied<'a> {
            files: Vec<FileView<'a>>,
            notes: &'a [String],
            diff: String,
            from: &'a Version,
            to: &'a Version,
            changed: bool,
            record: Option<&'a str>,
        }
        match (&self.from, &self.prepared) {
            (Some(from), Some(p)) if self.dry_run => Dry {
                files: files_of(p),
                notes: &p.notes,
                diff: p.diff(),
                from,
                to: &self.to,
                dry_run: true,
            }
            .serialize(s),
            (Some(from), Some(p)) => Applied {
                files: files_of(p),
                notes: &p.notes,
                diff: p.diff(),
                from,
                to: &self.to,
                changed: self.record.is_some(),
                record: self.record.as_ref().map(|r| r.id.as_str()),
            }
            .serialize(s),
            _ => Fresh {
                from: None,
                to: &self.to,
                changed: false,
                note: Self::FRESH,
            }
            .serialize(s),
        }
    }
}

/// `ferry config revert`.
#[derive(Debug, Clone)]
pub struct ConfigRevert {
    /// The migration undone; none when there was none to revert.
    pub reverted: Option<Record>,
}

impl Serialize for ConfigRevert {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Undone<'a> {
            from: &'a Option<String>,
            to: &'a str,
            at: &'a str,
        }
        #[derive(Serialize)]
        struct View<'a> {
            reverted: Option<Undone<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            files: Option<Vec<&'a str>>,
        }
        match &self.reverted {
            None => View {
                reverted: None,
                files: None,
            }
            .serialize(s),
            Some(r) => View {
                reverted: Some(Undone {
                    from: &r.from,
                    to: &r.to,
                    at: &r.at,
                }),
                files: Some(r.files.iter().map(|f| f.shown.as_str()).collect()),
            }
            .serialize(s),
        }
    }
}

/// `ferry config diff`.
#[derive(Debug, Clone)]
pub struct ConfigDiff {
    /// What is missing, extra or deprecated.
    pub findings: Vec<Finding>,
    /// When the last config migration says one release and the files look
    /// like an older one: (recorded, files).
    pub behind: Option<(Version, Version)>,
}

impl ConfigDiff {
    /// A required key is missing: an upgrade would stop on it.
    pub fn missing_required(&self) -> bool {
        self.findings.iter().any(|f| f.kind == Kind::Missing && f.required)
    }
}

impl Serialize for ConfigDiff {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            findings: &'a [Finding],
            missing_required: bool,
            files_at: Option<&'a Version>,
        }
        View {
            findings: &self.findings,
            missing_required: self.missing_required(),
            files_at: self.behind.as_ref().map(|(_, f)| f),
        }
        .serialize(s)
    }
}
