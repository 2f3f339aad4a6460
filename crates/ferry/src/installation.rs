//! An installation: the project (ferry.toml), its migrations and releases,
//! and the database and folders that say where it stands. Every command
//! that asks "what is installed, where are the config files, what does a
//! backup record" asks here, so the CLI, the upgrade run and an embedding
//! application get the same answers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backup;
use crate::config::migrate as config_migrate;
use crate::engine::DatabaseUrl;
use crate::error::{Error, Result};
use crate::migration::{MigrationSet, Status};
use crate::migrator::Migrator;
use crate::project::Project;
use crate::release::{self, InstalledRecord, Known, Manifest, Start, Version};

/// How to reach the database, as the operator gave it.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// A URL overriding ferry.toml's (`--database-url`).
    pub database_url: Option<String>,
    /// How long to wait for another ferry process's lock (`--lock-timeout`).
    pub lock_timeout: Option<Duration>,
}

/// A loaded project with its migrations and releases.
#[derive(Debug, Clone)]
pub struct Installation {
    /// ferry.toml.
    pub project: Project,
    /// The migrations.
    pub set: MigrationSet,
    /// The releases and the policy.
    pub manifest: Manifest,
}

/// What the database says about where the installation stands.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Each migration's state.
    pub status: Status,
    /// The release recorded as installed, if any.
    pub recorded: Option<InstalledRecord>,
    /// Where a plan starts, or why that cannot be told.
    pub start: std::result::Result<(Start, Known), String>,
}

impl Observed {
    /// The installed release, when it is known.
    pub fn installed(&self) -> Option<&Version> {
        match &self.start {
            Ok((Start::Installed(v), _)) => Some(v),
            _ => None,
        }
    }
}

impl Installation {
    /// Reads ferry.toml, the migrations and the releases in `root`.
    pub fn load(root: &Path) -> Result<Self> {
        let project = Project::load(root)?;
        let set = project.migrations()?;
        let manifest = project.manifest(&set)?;
        Ok(Installation { project, set, manifest })
    }

    /// The database URL.
    pub fn url(&self, access: &Access) -> Result<DatabaseUrl> {
        self.project.database_url(access.database_url.as_deref())
    }

    /// Connects to the database.
    pub fn connect(&self, access: &Access) -> Result<(Migrator, DatabaseUrl)> {
        let url = self.url(access)?;
        let migrator = Migrator::connect(&url, self.project.settings(access.lock_timeout))?;
        Ok((migrator, url))
    }

    /// Reads the database's migration status and installed release.
    pub fn observe(&self, migrator: &mut Migrator) -> Result<Observed> {
        let status = migrator.status(&self.set)?;
        let recorded = migrator.installed()?;
        let start = release::starting_point(&self.manifest, recorded.as_ref(), &status).map_err(|e| e.to_string());
        Ok(Observed {
            status,
            recorded,
            start,
        })
    }

    /// Where config migrations keep their records.
    pub fn config_state(&self) -> PathBuf {
        self.project.state_dir().join("config")
    }

    /// Where upgrade runs keep their journals.
    pub fn runs_dir(&self) -> PathBuf {
        self.project.runs_dir()
    }

    /// The backup folder.
    pub fn backups(&self) -> backup::Store {
        backup::Store::new(&self.project.backup().dir)
    }

    /// The release the config files are at: `from` when given, else the
    /// last config migration's target, else the installed release that
    /// `observe` reads from the database (called only when needed, so that
    /// `--from` works without a database); but never later than the files
    /// themselves show (a release whose changes would still change them is
    /// not in them, whatever the record says: after `ferry adopt`, or a
    /// restore of older files). `None` for a fresh database.
    pub fn config_start(
        &self,
        from: Option<Version>,
        observe: impl FnOnce() -> Result<Observed>,
    ) -> Result<Option<Version>> {
        if let Some(f) = from {
            return Ok(Some(f));
        }
        let claimed = self.claimed_config_version(observe)?;
        Ok(match (claimed, self.files_config_version()) {
            (Some(c), Some(f)) if f < c => Some(f),
            (c, _) => c,
        })
    }

    /// The release the config files show they are at (see
    /// [`config_migrate::files_version`]), when they can be read.
    pub fn files_config_version(&self) -> Option<Version> {
        let dir = self.project.config_dir().ok()?;
        config_migrate::files_version(&dir, &self.manifest)
    }

    fn claimed_config_version(&self, observe: impl FnOnce() -> Result<Observed>) -> Result<Option<Version>> {
        if let Some(v) = config_migrate::current(&self.config_state())? {
            return Ok(Some(v));
        }
        let observed = observe().map_err(|e| {
            if e.is_configuration() {
                // A mistake in the user's files stays one (exit 2).
                return e;
            }
            Error::refusal(
                e.to_string(),
                "pass --from VERSION, the release the config files are at, to work without the database",
            )
        })?;
        match observed.start {
            Ok((Start::Installed(v), _)) => Ok(Some(v)),
            Ok((Start::Fresh, _)) => Ok(None),
            Err(e) => Err(Error::refusal(
                e,
                "or pass --from VERSION, the release the config files are at",
            )),
        }
    }

    /// What a backup records about the installation: its name and release.
    pub fn backup_context(&self, migrator: &mut Migrator) -> backup::Context {
        let release = match self.observe(migrator) {
            Ok(o) => o.installed().map(ToString::to_string),
            Err(_) => None,
        };
        backup::Context {
            project: self.project.name().map(str::to_owned),
            release,
        }
    }

    /// Refuses when an upgrade run did not finish: until it is resumed or
    /// rolled back, changing the database or the config files by hand would
    /// leave the run's journal describing something that is no longer there.
    pub fn refuse_if_unfinished(&self) -> Result<()> {
        match crate::upgrade::unfinished(&self.runs_dir())? {
            Some(run) => Err(crate::upgrade::unfinished_error(&run)),
            None => Ok(()),
        }
    }
}
