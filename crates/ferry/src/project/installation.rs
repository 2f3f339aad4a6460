//! An installation: the project (ferry.toml) loaded with its migrations and
//! releases, and how to reach its database. Every command starts here, so
//! the CLI, the upgrade run and an embedding application read the same
//! project the same way. What the installation's database and folders say
//! is asked in the layers above (`plan::Observed`, `config`, `backup`,
//! `check`).

use std::path::Path;
use std::time::Duration;

use super::{Manifest, Project};
use crate::error::Result;
use crate::migration::MigrationSet;
use crate::migrator::Migrator;
use crate::url::DatabaseUrl;

/// How to reach the database, as the operator gave it.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// A URL overriding ferry.toml's (`--database-url`).
    pub database_url: Option<String>,
    /// How long to wait for another ferry process's lock (`--lock-timeout`).
    pub lock_timeout: Option<Duration>,
    /// How long to keep trying to reach the database (`--wait`).
    pub wait: Option<Duration>,
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

impl Installation {
    /// Reads ferry.toml, the migrations and the releases in `root`.
    pub fn load(root: &Path) -> Result<Self> {
        Self::load_for(root, &Access::default())
    }

    /// [`Installation::load`] for the database `access` names: with
    /// `migrations/${ENGINE}`, its engine's folder.
    pub fn load_for(root: &Path, access: &Access) -> Result<Self> {
        let project = Project::load(root)?;
        let set = project.migrations_for(access.database_url.as_deref())?;
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
        let migrator = Migrator::connect(&url, self.project.settings_for(access))?;
        Ok((migrator, url))
    }
}
