//! An installation: the project (ferry.toml), its migrations and releases,
//! and the database and folders that say where it stands. Every command
//! that asks "what is installed, where are the config files, what does a
//! backup record" asks here, so the CLI, the upgrade run and an embedding
//! application get the same answers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backup;
use crate::check;
use crate::config::migrate as config_migrate;
use crate::error::{Error, Result};
use crate::migration::{MigrationSet, Status};
use crate::migrator::Migrator;
use crate::project::Project;
use crate::release::{self, InstalledRecord, Known, Manifest, Start};
use crate::url::DatabaseUrl;
use crate::version::Version;

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

/// Which checks `ferry check` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckWhich {
    /// Those of the next hop, before it.
    Pre,
    /// Those of the installed release, after its upgrade.
    Post,
    /// Both.
    Both,
}

/// What `ferry check` found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckReport {
    /// The installed release the post checks are for.
    pub installed: Option<Version>,
    /// The post checks of the installed release.
    pub post: Vec<check::Verdict>,
    /// The hop the pre checks are for: (from, to).
    pub next: Option<(Option<Version>, Version)>,
    /// The pre checks of the next hop.
    pub pre: Vec<check::Verdict>,
}

impl CheckReport {
    /// True when an error-severity check failed.
    pub fn blocks(&self) -> bool {
        self.pre.iter().chain(&self.post).any(check::Verdict::blocks)
    }
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
    /// Tables but no ferry history: another tool's database, or one made
    /// by hand (and so not a fresh install).
    pub unmanaged: Option<crate::foreign::Unmanaged>,
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
        let migrator = Migrator::connect(&url, self.project.settings(access.lock_timeout))?;
        Ok((migrator, url))
    }

    /// Reads the database's migration status and installed release.
    pub fn observe(&self, migrator: &mut Migrator) -> Result<Observed> {
        let status = migrator.status(&self.set)?;
        let recorded = migrator.installed()?;
        let mut start = release::starting_point(&self.manifest, recorded.as_ref(), &status).map_err(|e| e.to_string());
        // Nothing recorded, yet tables: not a fresh install.
        let mut unmanaged = None;
        if matches!(start, Ok((Start::Fresh, _)))
            && let Some(u) = migrator.unmanaged()?
        {
            start = Err(u.explain());
            unmanaged = Some(u);
        }
        Ok(Observed {
            status,
            recorded,
            start,
            unmanaged,
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

    /// Runs the checks that apply now: the post checks of the installed
    /// release (and its components), and the pre checks (and component
    /// requirements) of the first hop towards `to` (default: the newest
    /// release), as `which` asks. Changes nothing.
    pub fn check(
        &self,
        migrator: &mut Migrator,
        url: &DatabaseUrl,
        which: CheckWhich,
        to: Option<&Version>,
        skips: &check::Skips,
    ) -> Result<CheckReport> {
        let observed = self.observe(migrator)?;
        let installed = observed.installed().cloned();
        let mut report = CheckReport::default();
        let redact = |s: &str| crate::redact::redact_text(s);
        let probes = self.project.probes().clone();
        let root = self.project.root().to_owned();
        if which != CheckWhich::Pre {
            let mut checks: Vec<check::Check> = self.project.checks().to_vec();
            let mut requires = Vec::new();
            if let Some(r) = installed.as_ref().and_then(|v| self.manifest.get(v)) {
                checks.extend(r.checks.iter().cloned());
                requires = r.requires.clone();
            }
            let mut ctx = check::Context {
                migrator: &mut *migrator,
                url,
                root: &root,
                redact: &redact,
                probes: &probes,
                skips,
            };
            report.post.extend(check::requirements(&requires, &mut ctx));
            report.post.extend(check::run(
                &checks,
                check::Phase::Post,
                installed.as_ref(),
                &mut ctx,
                &[],
            ));
            report.installed = installed.clone();
        }
        if which != CheckWhich::Post
            && let Ok((start, _)) = &observed.start
            && let Ok(plan) = release::plan(&self.manifest, &self.set, start, Some(&observed.status), to)
            && let Some(hop) = plan.hops.first()
        {
            let mut checks: Vec<check::Check> = self.project.checks().to_vec();
            for v in &hop.releases {
                if let Some(r) = self.manifest.get(v) {
                    checks.extend(r.checks.iter().cloned());
                }
            }
            let mut ctx = check::Context {
                migrator: &mut *migrator,
                url,
                root: &root,
                redact: &redact,
                probes: &probes,
                skips,
            };
            report.pre.extend(check::requirements(&hop.requires, &mut ctx));
            report
                .pre
                .extend(check::run(&checks, check::Phase::Pre, hop.from.as_ref(), &mut ctx, &[]));
            report.next = Some((hop.from.clone(), hop.to.clone()));
        }
        Ok(report)
    }

    /// Adds to `plan` what is known beyond the release files: each hop's way
    /// back, the verification of its downs, and its rehearsed time.
    pub fn annotate(&self, plan: &mut crate::release::UpgradePlan) -> Result<()> {
        let verified = crate::verify::Verified::load(self)?;
        let rehearsals = crate::rehearse::load(self)?;
        crate::release::annotate(plan, &self.set, &verified, &rehearsals);
        if !plan.hops.is_empty() {
            plan.watch = self.project.watch().cloned();
        }
        Ok(())
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
