//! `ferry backup ...`: backups of the database and the config files as use
//! cases, each returning a report whose `Serialize` is the command's JSON.
//! Backups work without release files too: those are read only when there.

use std::path::Path;

use serde::{Serialize, Serializer};

use crate::backup::{self, Entry, Pruned, RestoreOptions, RestorePlan, Store, Verification};
use crate::check::Verdict;
use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::project::{Access, Installation, Project};
use crate::version::Version;

/// A project's backups.
#[derive(Debug)]
pub struct Backups {
    /// ferry.toml.
    pub project: Project,
    /// The backup folder.
    pub store: Store,
    access: Access,
}

impl Backups {
    /// The backups of the project in `root`.
    pub fn open(root: &Path, access: &Access) -> Result<Self> {
        let project = Project::load(root)?;
        let store = Store::new(&project.backup().dir);
        Ok(Backups {
            project,
            store,
            access: access.clone(),
        })
    }

    /// `ferry backup list`.
    pub fn list(&self) -> Result<Listing> {
        Ok(Listing {
            backups: self.store.list()?,
        })
    }

    /// `ferry backup prune`: deletes what the retention rules do not keep.
    pub fn prune(&self, dry_run: bool) -> Result<Pruning> {
        Ok(Pruning {
            dry_run,
            pruned: backup::prune(
                &self.store,
                &self.project.backup().retention,
                dry_run,
                jiff::Timestamp::now(),
            )?,
        })
    }

    /// The backups `verify` would check: `id`, or every one.
    pub fn to_verify(&self, id: Option<&str>) -> Result<Vec<Entry>> {
        match id {
            None => self.store.list(),
            Some(id) => Ok(vec![self.store.get(id)?]),
        }
    }

    /// `ferry backup verify` of one backup.
    pub fn verify(&self, entry: &Entry) -> Result<Verification> {
        backup::verify(&self.store, entry)
    }

    /// `ferry backup create`: the database and the config files named in
    /// ferry.toml, with the installed release when it can be told.
    pub fn create(&self, label: Option<&str>) -> Result<Created> {
        let url = self.project.database_url(self.access.database_url.as_deref())?;
        let mut migrator = Migrator::connect(&url, self.project.settings_for(&self.access))?;
        let ctx = match Installation::load_for(self.project.root(), &self.access) {
            Ok(inst) => inst.backup_context(&mut migrator),
            Err(_) => backup::Context {
                project: self.project.name().map(str::to_owned),
                release: None,
            },
        };
        let entry = backup::create(
            &self.store,
            self.project.backup(),
            self.project.root(),
            &url,
            &mut migrator,
            &ctx,
            label,
        )?;
        Ok(Created { entry })
    }

    /// `ferry backup drill`: restores `id` into a scratch database, runs
    /// ferry.toml's checks and those of the release the backup holds there,
    /// and drops it.
    pub fn drill(&self, id: &str) -> Result<Drilled> {
        let entry = self.store.get(id)?;
        let url = self.project.database_url(self.access.database_url.as_deref())?;
        let mut checks = self.project.checks().to_vec();
        if let (Ok(inst), Some(release)) = (
            Installation::load_for(self.project.root(), &self.access),
            &entry.sidecar.manifest.release,
        ) && let Some(r) = Version::parse(release)
            .ok()
            .and_then(|v| inst.manifest.get(&v).cloned())
        {
            checks.extend(r.checks);
        }
        let results = backup::drill(&self.store, &entry, &url, &checks)?;
        Ok(Drilled {
            id: entry.id,
            checks: results,
        })
    }

    /// `ferry backup restore`: puts the database and the config files back
    /// as `id` holds them. Refused while an upgrade run is unfinished. Into
    /// another database than ferry.toml's, the project's own config files
    /// are left alone unless `request.with_files`. `confirm` sees what will
    /// be overwritten first, and whether the project's config files are
    /// left alone for that reason; `Ok(None)` when it said no.
    pub fn restore(
        &self,
        id: &str,
        request: &RestoreRequest,
        confirm: impl FnOnce(&RestorePlan, bool) -> bool,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Restored> {
        // Kept open to the end: its connection is this process's, not a
        // user of the database the restore would disturb.
        // A database that does not exist yet has no run state to refuse on.
        let mut state = match self.project.state(&self.access) {
            Ok(state) => Some(state),
            Err(e) if crate::engine::is_missing_database(&e) => None,
            Err(e) => return Err(e),
        };
        if let Some(state) = state.as_mut() {
            crate::records::run::refuse_if_unfinished(state.as_mut())?;
        }
        let entry = self.store.get(id)?;
        let url = self.project.database_url(self.access.database_url.as_deref())?;
        if request.transfer {
            return self.restore_by_transfer(&entry, &url, request, progress);
        }
        let elsewhere = self.access.database_url.is_some()
            && self
                .project
                .database_url(None)
                .map_or(true, |own| own.expose_secret() != url.expose_secret());
        let options = RestoreOptions {
            database: !request.files_only,
            files: !request.db_only && (!elsewhere || request.with_files || request.files_only),
            no_privileges: request.no_privileges,
            ours: state.as_mut().map(|s| s.own_sessions()).unwrap_or_default(),
        };
        if request.create {
            crate::engine::create_database(&url)?;
        }
        let mut migrator = match Migrator::connect(&url, self.project.settings_for(&self.access)) {
            Ok(m) => m,
            Err(e) if crate::engine::is_missing_database(&e) => {
                return Err(Error::refusal(
                    format!("{e}; nothing was restored"),
                    format!("pass --create to create it first: `ferry backup restore {id} --create`"),
                ));
            }
            Err(e) => return Err(e),
        };
        let files_left = elsewhere && !options.files;
        let plan = backup::restore(
            &self.store,
            &entry,
            self.project.root(),
            &url,
            &mut migrator,
            options,
            |plan| confirm(plan, files_left),
        )?;
        Ok(Restored::Restored { plan, files_left })
    }

    #[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    fn restore_by_transfer(
        &self,
        entry: &Entry,
        url: &crate::url::DatabaseUrl,
        request: &RestoreRequest,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Restored> {
        if request.create {
            crate::engine::create_database(url)?;
        }
        let inst = Installation::load_for(self.project.root(), &self.access)?;
        let report = crate::transfer::from_backup(
            &inst,
            &self.access,
            &self.store,
            entry,
            url.expose_secret(),
            &crate::transfer::TransferOptions::default(),
            &mut |step| progress(&step.to_string()),
        )?;
        Ok(Restored::Transferred(Box::new(report)))
    }

    #[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")))]
    fn restore_by_transfer(
        &self,
        _: &Entry,
        _: &crate::url::DatabaseUrl,
        _: &RestoreRequest,
        _: &mut dyn FnMut(&str),
    ) -> Result<Restored> {
        Err(Error::refusal(
            "this build of ferry cannot transfer between engines",
            "rebuild with the sqlite, postgres and mysql features",
        ))
    }
}

/// What `ferry backup restore` was asked.
#[derive(Debug, Clone, Default)]
pub struct RestoreRequest {
    /// Only the database.
    pub db_only: bool,
    /// Only the config files.
    pub files_only: bool,
    /// The config files too, into another database than ferry.toml's.
    pub with_files: bool,
    /// PostgreSQL: leave out the backup's GRANTs.
    pub no_privileges: bool,
    /// Create the database first when it does not exist.
    pub create: bool,
    /// Move a SQLite backup into another engine's empty database.
    pub transfer: bool,
}

/// `ferry backup list`.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Oldest first.
    pub backups: Vec<Entry>,
}

/// One backup as `list` and `create` show it in JSON.
#[derive(Serialize)]
struct EntryView<'a> {
    id: &'a str,
    created_at: &'a str,
    label: &'a Option<String>,
    release: &'a Option<String>,
    schema: &'a Option<u64>,
    engine: crate::url::EngineKind,
    size: u64,
    sha256: &'a str,
    verified_at: &'a Option<String>,
    archive: &'a Path,
    missing: &'a [String],
    problems: &'a [String],
}

fn view(e: &Entry) -> EntryView<'_> {
    let m = &e.sidecar.manifest;
    EntryView {
        id: &e.id,
        created_at: &m.created_at,
        label: &m.label,
        release: &m.release,
        schema: &m.schema,
        engine: m.engine,
        size: e.sidecar.size,
        sha256: &e.sidecar.sha256,
        verified_at: &e.sidecar.verified_at,
        archive: &e.archive,
        missing: &m.missing,
        problems: &e.problems,
    }
}

impl Serialize for Listing {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            backups: Vec<EntryView<'a>>,
        }
        View {
            backups: self.backups.iter().map(view).collect(),
        }
        .serialize(s)
    }
}

/// `ferry backup create`.
#[derive(Debug, Clone)]
pub struct Created {
    /// The new backup.
    pub entry: Entry,
}

impl Serialize for Created {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        view(&self.entry).serialize(s)
    }
}

/// `ferry backup prune`.
#[derive(Debug, Clone)]
pub struct Pruning {
    /// Nothing was deleted.
    pub dry_run: bool,
    /// What was kept and deleted.
    pub pruned: Pruned,
}

impl Serialize for Pruning {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            dry_run: bool,
            kept: &'a [(String, &'static str)],
            deleted: &'a [String],
        }
        View {
            dry_run: self.dry_run,
            kept: &self.pruned.kept,
            deleted: &self.pruned.deleted,
        }
        .serialize(s)
    }
}

/// `ferry backup verify`.
#[derive(Debug, Clone)]
pub struct Verified {
    /// One per backup.
    pub backups: Vec<Verification>,
}

impl Verified {
    /// Every backup verified.
    pub fn ok(&self) -> bool {
        self.backups.iter().all(|r| r.ok)
    }
}

impl Serialize for Verified {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            ok: bool,
            backups: &'a [Verification],
        }
        View {
            ok: self.ok(),
            backups: &self.backups,
        }
        .serialize(s)
    }
}

/// `ferry backup drill`.
#[derive(Debug, Clone)]
pub struct Drilled {
    /// The backup.
    pub id: String,
    /// The checks run on its scratch copy.
    pub checks: Vec<Verdict>,
}

impl Drilled {
    /// No error check failed.
    pub fn ok(&self) -> bool {
        !self.checks.iter().any(Verdict::blocks)
    }
}

impl Serialize for Drilled {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            id: &'a str,
            ok: bool,
            checks: &'a [Verdict],
        }
        View {
            id: &self.id,
            ok: self.ok(),
            checks: &self.checks,
        }
        .serialize(s)
    }
}

/// `ferry backup restore`.
#[derive(Debug, Clone)]
pub enum Restored {
    /// Restored in place (`plan: None`: the confirmation said no).
    Restored {
        /// What was put back.
        plan: Option<RestorePlan>,
        /// The project's config files were left alone: the target is not
        /// ferry.toml's database.
        files_left: bool,
    },
    /// Moved into another engine's database.
    #[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    Transferred(Box<crate::transfer::TransferReport>),
}

impl Serialize for Restored {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            restored: &'a Option<RestorePlan>,
        }
        match self {
            Restored::Restored { plan, .. } => View { restored: plan }.serialize(s),
            #[cfg(all(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Restored::Transferred(report) => report.serialize(s),
        }
    }
}
