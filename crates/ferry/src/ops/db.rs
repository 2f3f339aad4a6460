//! `ferry db ...`: the database's migrations, one use case per command,
//! each returning a report whose `Serialize` is the command's JSON.

use std::path::Path;

use serde::{Serialize, Serializer};

use crate::adopt::{AdoptOptions, AdoptReport};
use crate::error::{Error, Result};
use crate::foreign::Tool;
use crate::import::ImportMap;
use crate::migration::{
    AppliedMigration, Direction, MigrateOptions, MigrationSet, Phase, Phases, RevertTarget, State, Status, Step,
};
use crate::migrator::{Migrator, Observer, RepairAction, Report};
use crate::problem::Problem;
use crate::project::{Access, Project};
use crate::url::{DatabaseUrl, EngineKind};

/// A project's database, connected, with its migrations read.
pub struct Session {
    /// ferry.toml.
    pub project: Project,
    /// The migrations, for the database's engine.
    pub set: MigrationSet,
    /// The connection.
    pub migrator: Migrator,
    /// The database.
    pub url: DatabaseUrl,
    access: Access,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("url", &self.url).finish()
    }
}

impl Session {
    /// Loads the project, then reads the migrations folder while connecting
    /// to a server: the two are independent, and with many migrations each
    /// takes a few milliseconds. A problem in the folder is reported before
    /// a connection problem, being the user's to fix either way.
    pub fn open(root: &Path, access: &Access) -> Result<Self> {
        let project = Project::load(root)?;
        let over = access.database_url.as_deref();
        let url = project.database_url(over)?;
        let connect = || Migrator::connect(&url, project.settings_for(access));
        let (set, migrator) = if url.sqlite_location().is_some() {
            // Opening a SQLite file is too quick for a thread to pay off.
            (project.migrations_for(over), connect())
        } else {
            std::thread::scope(|s| {
                let loading = s.spawn(|| project.migrations_for(over));
                let migrator = connect();
                let set = loading.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                (set, migrator)
            })
        };
        Ok(Session {
            set: set?,
            migrator: migrator?,
            project,
            url,
            access: access.clone(),
        })
    }

    /// Refuses a write while an upgrade run is unfinished: until it is
    /// resumed or rolled back, its journal must keep describing what is
    /// there.
    fn refuse_writes_during_a_run(&self) -> Result<()> {
        // Run state in the database: the migrator refuses itself, under
        // its lock. In a folder, the migrator cannot see it.
        match self.project.state_folder() {
            Some(_) => crate::records::run::refuse_if_unfinished(&mut *self.project.state(&self.access)?),
            None => Ok(()),
        }
    }

    /// `ferry db status`: each migration and its state. Changes nothing.
    pub fn status(&mut self) -> Result<DbStatus> {
        let status = self.migrator.status(&self.set)?;
        Ok(DbStatus {
            database: self.url.safe().to_string(),
            engine: self.url.kind(),
            server_version: self.migrator.engine().server_version().unwrap_or_default(),
            history_table: self.project.settings(None).history_table.to_string(),
            status,
        })
    }

    /// What `ferry db migrate` would run, with its SQL exactly as sent.
    pub fn migrate_dry_run(&mut self, opts: MigrateOptions) -> Result<DryRun> {
        let steps = self.migrator.plan_migrate(&self.set, opts)?;
        DryRun::of(&self.migrator, &steps)
    }

    /// `ferry db migrate`: applies pending migrations under the lock.
    /// `warn` hears, before anything runs, of a release this run crosses
    /// whose policy requires a backup when none was taken since the last
    /// migration (`ferry upgrade` takes it itself; a bare run can only say
    /// so).
    pub fn migrate(
        &mut self,
        opts: MigrateOptions,
        observer: &mut dyn Observer,
        warn: &mut dyn FnMut(&str),
    ) -> Result<Migrated> {
        self.refuse_writes_during_a_run()?;
        // One read of the history serves the advice and the run's first look.
        let read = self.migrator.status(&self.set)?;
        if let Some(release) = crate::backup::unmet_backup(&self.project, &self.set, &read, opts.to) {
            warn(&format!(
                "this crosses release {release}, whose policy requires a backup, and no backup was taken since the last migration; `ferry backup create` first, or use `ferry upgrade`, which takes it and can roll back"
            ));
        }
        let report = self.migrator.migrate_from(&self.set, opts, read, observer)?;
        // Post-deploy migrations this run left for later (read only when
        // the folder has any).
        let any_post_deploy = self.set.iter().any(|m| m.up.directives.phase == Phase::PostDeploy);
        let waiting = if any_post_deploy {
            self.migrator.status(&self.set)?.post_deploy_waiting(opts.to)
        } else {
            Vec::new()
        };
        Ok(Migrated {
            report,
            post_deploy_waiting: waiting,
            phases: opts.phases,
        })
    }

    /// What `ferry db revert` would run, with its SQL exactly as sent.
    pub fn revert_dry_run(&mut self, target: RevertTarget) -> Result<DryRun> {
        let steps = self.migrator.plan_revert(&self.set, target)?;
        DryRun::of(&self.migrator, &steps)
    }

    /// `ferry db revert`: runs down scripts, newest first, under the lock.
    pub fn revert(&mut self, target: RevertTarget, observer: &mut dyn Observer) -> Result<Reverted> {
        self.refuse_writes_during_a_run()?;
        Ok(Reverted {
            report: self.migrator.revert(&self.set, target, observer)?,
        })
    }

    /// `ferry db history`: the history table's rows.
    pub fn history(&mut self) -> Result<History> {
        Ok(History {
            history: self.migrator.history()?,
        })
    }

    /// `ferry db baseline`: records the database as being at `version`.
    pub fn baseline(&mut self, version: u64) -> Result<Baselined> {
        self.refuse_writes_during_a_run()?;
        let name = self.migrator.baseline(&self.set, version)?;
        Ok(Baselined {
            baseline: version,
            name,
        })
    }

    /// `ferry db repair`: clears failed rows, accepts edited checksums and
    /// forgets missing migrations (with `dry_run`, only says so).
    pub fn repair(&mut self, dry_run: bool) -> Result<Repaired> {
        if !dry_run {
            self.refuse_writes_during_a_run()?;
        }
        Ok(Repaired {
            dry_run,
            changes: self.migrator.repair(&self.set, dry_run)?,
        })
    }

    /// `ferry db adopt`: records what another tool's history says it
    /// applied, running nothing. `table` overrides the tool's table (for
    /// `--from table`, ferry.toml's `[adopt] table` is the default).
    pub fn adopt(
        &mut self,
        tool: Tool,
        table: Option<String>,
        dry_run: bool,
        allow_gaps: bool,
        drop_foreign: bool,
    ) -> Result<AdoptReport> {
        if !dry_run {
            self.refuse_writes_during_a_run()?;
        }
        let (config_table, columns) = match self.project.adopt_table() {
            Some((t, c)) => (t.map(str::to_owned), Some(c.clone())),
            None => (None, None),
        };
        let opts = AdoptOptions {
            tool,
            table: table.or(if tool == Tool::Table { config_table } else { None }),
            columns,
            dry_run,
            allow_gaps,
            drop_foreign,
        };
        let map = ImportMap::load(&self.project.migrations_dir())?;
        crate::adopt::adopt(&mut self.migrator, &self.set, map.as_ref(), &opts)
    }
}

/// `ferry db validate`: what keeps the migrations folder and the database
/// from agreeing. Problems in the folder are findings here, not
/// configuration errors. Changes nothing.
pub fn validate(root: &Path, access: &Access) -> Result<Validation> {
    let project = Project::load(root)?;
    let over = access.database_url.as_deref();
    let mut problems = match project.migrations_for(over) {
        Ok(set) => {
            let url = project.database_url(over)?;
            let mut migrator = Migrator::connect(&url, project.settings_for(access)).map_err(|e| {
                Error::refusal(
                    format!("validate needs the database: {e}"),
                    "check the database URL and that the server runs; `ferry db status` says the same",
                )
            })?;
            migrator.validate(&set)?
        }
        Err(Error::Migrations(p)) => p.0,
        Err(e) => return Err(e),
    };
    match project.engine_folder_problems() {
        Ok(p) => problems.extend(p),
        Err(Error::Migrations(p)) => problems.extend(p.0),
        Err(e) => return Err(e),
    }
    Ok(Validation { problems })
}

/// `ferry db status`.
#[derive(Debug, Clone)]
pub struct DbStatus {
    /// The database, password redacted.
    pub database: String,
    /// Its engine.
    pub engine: EngineKind,
    /// The server's version (for SQLite, the library's).
    pub server_version: String,
    /// The history table.
    pub history_table: String,
    /// Each migration's state.
    pub status: Status,
}

impl DbStatus {
    /// True when a migration was edited, lost or failed: a person must look.
    pub fn troubled(&self) -> bool {
        self.status
            .migrations
            .iter()
            .any(|m| matches!(m.state, State::Modified | State::Missing | State::Failed))
    }
}

impl Serialize for DbStatus {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            database: &'a str,
            engine: EngineKind,
            history_table: &'a str,
            current: Option<u64>,
            baseline: Option<u64>,
            pending: usize,
            migrations: &'a [crate::migration::MigrationStatus],
        }
        View {
            database: &self.database,
            engine: self.engine,
            history_table: &self.history_table,
            current: self.status.current,
            baseline: self.status.baseline,
            pending: self.status.pending_count(),
            migrations: &self.status.migrations,
        }
        .serialize(s)
    }
}

/// `ferry db migrate`.
#[derive(Debug, Clone)]
pub struct Migrated {
    /// What ran.
    pub report: Report,
    /// Post-deploy migrations the run left for later.
    pub post_deploy_waiting: Vec<String>,
    /// Which phases the run took.
    pub phases: Phases,
}

impl Serialize for Migrated {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            applied: &'a [crate::migrator::StepReport],
            post_deploy_waiting: &'a [String],
        }
        View {
            applied: &self.report.steps,
            post_deploy_waiting: &self.post_deploy_waiting,
        }
        .serialize(s)
    }
}

/// `ferry db revert`.
#[derive(Debug, Clone)]
pub struct Reverted {
    /// What ran.
    pub report: Report,
}

impl Serialize for Reverted {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            reverted: &'a [crate::migrator::StepReport],
        }
        View {
            reverted: &self.report.steps,
        }
        .serialize(s)
    }
}

/// `ferry db history`.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    /// The rows, oldest first.
    pub history: Vec<AppliedMigration>,
}

/// `ferry db baseline`.
#[derive(Debug, Clone, Serialize)]
pub struct Baselined {
    /// The version recorded.
    pub baseline: u64,
    /// Its name in the history.
    pub name: String,
}

/// `ferry db repair`.
#[derive(Debug, Clone, Serialize)]
pub struct Repaired {
    /// Nothing was changed.
    pub dry_run: bool,
    /// What was (or would be) changed.
    pub changes: Vec<RepairAction>,
}

/// `ferry db validate`.
#[derive(Debug, Clone)]
pub struct Validation {
    /// What is wrong; none when the folder and the database agree.
    pub problems: Vec<Problem>,
}

impl Validation {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Serialize for Validation {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            ok: bool,
            problems: &'a [Problem],
        }
        View {
            ok: self.ok(),
            problems: &self.problems,
        }
        .serialize(s)
    }
}

/// `--dry-run` of `ferry db migrate` or `ferry db revert`: each step and
/// the SQL, exactly as it would be sent.
#[derive(Debug, Clone)]
pub struct DryRun {
    /// The steps.
    pub steps: Vec<DryStep>,
    /// Every step's SQL with ferry's comments, as one script.
    pub sql: String,
}

/// One step of a dry run.
#[derive(Debug, Clone, Serialize)]
pub struct DryStep {
    /// Version.
    pub version: u64,
    /// `0003_add_artifacts`.
    pub name: String,
    /// Up or down.
    pub direction: Direction,
    /// Whether it runs outside a transaction.
    pub no_transaction: bool,
    /// Its batching, when batched.
    pub batch: Option<crate::migration::BatchSpec>,
    /// Its phase.
    pub phase: Phase,
    /// Its script.
    pub sql: String,
}

impl DryRun {
    fn of(migrator: &Migrator, steps: &[Step<'_>]) -> Result<Self> {
        let sql = migrator.render_sql(steps)?;
        let steps = steps
            .iter()
            .map(|st| {
                Ok(DryStep {
                    version: st.migration.version,
                    name: st.migration.label(),
                    direction: st.direction,
                    no_transaction: st.no_transaction(),
                    batch: st.script().directives.batch.clone(),
                    phase: st.script().directives.phase,
                    sql: st.script().sql()?.to_owned(),
                })
            })
            .collect::<Result<_>>()?;
        Ok(DryRun { steps, sql })
    }
}

impl Serialize for DryRun {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            dry_run: bool,
            steps: &'a [DryStep],
        }
        View {
            dry_run: true,
            steps: &self.steps,
        }
        .serialize(s)
    }
}
