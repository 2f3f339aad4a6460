//! The executor: takes the lock, reads the history, plans, and runs each
//! step through the engine, telling an [`Observer`] before and after each
//! one (progress bars today, the upgrade journal later).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::{self, ConnectOptions, Engine, HistoryChange, HistoryTable, Record, StatementError};
use crate::error::{Error, FailureState, MigrationFailure, Progress, Result};
use crate::migration::{
    self, AppliedMigration, Direction, MigrateOptions, MigrationSet, RevertTarget, State, Status, Step,
};
use crate::problem::{Problem, Problems};
use crate::url::{DatabaseUrl, EngineKind};

/// How the migrator behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The history table.
    pub history_table: HistoryTable,
    /// The table that records the installed release.
    pub release_table: HistoryTable,
    /// How long to wait for another ferry process's lock (and, on SQLite,
    /// for the application's writers).
    pub lock_timeout: Duration,
    /// SQLite: whether foreign keys are enforced while migrations run
    /// (`[database] sqlite_foreign_keys`, on by default).
    pub sqlite_foreign_keys: bool,
    /// Whether a run ends with its work made durable (PostgreSQL's WAL
    /// flushed). Off only for scratch databases nobody keeps.
    pub durable: bool,
    /// How long one attempt to connect to a server waits.
    pub connect_timeout: Duration,
    /// How long to keep trying to connect (with backoff) while the server
    /// cannot be reached: zero tries once.
    pub wait: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            history_table: HistoryTable::default(),
            release_table: HistoryTable::parse("ferry_release").unwrap_or_default(),
            lock_timeout: Duration::from_secs(60),
            sqlite_foreign_keys: true,
            durable: true,
            connect_timeout: Duration::from_secs(10),
            wait: Duration::ZERO,
        }
    }
}

impl Settings {
    /// How to connect, as these settings say.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            busy_timeout: self.lock_timeout,
            sqlite_foreign_keys: self.sqlite_foreign_keys,
            connect_timeout: self.connect_timeout,
            wait: self.wait,
        }
    }

    /// The names of ferry's own tables beside the application's: the
    /// history, the release table, the batch and adoption tables, and the
    /// run state (where it is not in a schema of its own).
    pub fn own_tables(&self) -> Vec<String> {
        let h = &self.history_table;
        [
            h.clone(),
            self.release_table.clone(),
            engine::progress::table(h),
            h.sibling("adopted"),
            h.sibling("state_docs"),
            h.sibling("state_runs"),
            h.sibling("state_journal"),
        ]
        .iter()
        .map(|t| t.name().to_owned())
        .collect()
    }
}

/// Something that happened during a run.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// About to take the migration lock (may wait for another process).
    Locking,
    /// The lock is held; `total` steps will run.
    Planned {
        /// Number of steps.
        total: usize,
    },
    /// A step is about to start.
    StepStarted {
        /// The step.
        step: &'a Step<'a>,
        /// Its 0-based position.
        index: usize,
        /// Number of steps.
        total: usize,
    },
    /// A batch of a batched step committed.
    Batch {
        /// The step.
        step: &'a Step<'a>,
        /// Its 0-based position.
        index: usize,
        /// How far its walk got.
        tick: crate::batching::Tick,
    },
    /// A step finished.
    StepFinished {
        /// The step.
        step: &'a Step<'a>,
        /// Its 0-based position.
        index: usize,
        /// Number of steps.
        total: usize,
        /// How long the script took.
        execution_ms: i64,
    },
}

/// Receives [`Event`]s. `()` ignores them.
pub trait Observer {
    /// Called for each event, in order.
    fn event(&mut self, event: Event<'_>);
}

impl Observer for () {
    fn event(&mut self, _: Event<'_>) {}
}

/// One step that ran.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Version.
    pub version: u64,
    /// `0003_add_artifacts`.
    pub name: String,
    /// Up or down.
    pub direction: Direction,
    /// How long the script took.
    pub execution_ms: i64,
    /// How long the step took in all: the script, its history row and its
    /// commit.
    pub ms: i64,
    /// Whether it ran outside a transaction.
    pub no_transaction: bool,
}

/// What a migrate or revert did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The steps, in the order they ran.
    pub steps: Vec<StepReport>,
    /// The run's wall time from the lock taken to everything durable: what
    /// an operator plans downtime from.
    pub total_ms: i64,
}

/// One change `ferry db repair` makes (or would make).
#[derive(Debug, Clone, Serialize)]
pub struct RepairAction {
    /// Version.
    pub version: u64,
    /// Migration name.
    pub name: String,
    /// What it does, in words.
    pub action: String,
}

/// Runs migrations against one database.
pub struct Migrator {
    engine: Box<dyn Engine>,
    settings: Settings,
    /// True while [`Migrator::hold_lock`] keeps the migration lock.
    held: bool,
    /// The history table is known to exist: made under the lock held since
    /// (`run_known` asks the database once, not once per step).
    history_ready: bool,
    /// Whether writes are refused while an upgrade run is unfinished (see
    /// [`Migrator::guard`]); off for the migrator of an upgrade run itself.
    guarded: bool,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("engine", &self.engine.kind())
            .field("settings", &self.settings)
            .finish()
    }
}

/// Releases the engine's lock when dropped, on every exit path.
struct LockGuard<'a>(&'a mut dyn Engine);

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.unlock() {
            tracing::warn!("could not release the migration lock: {e}");
        }
    }
}

impl Migrator {
    /// Connects to `url`.
    pub fn connect(url: &DatabaseUrl, settings: Settings) -> Result<Self> {
        let options = settings.connect_options();
        Ok(Migrator {
            engine: engine::connect(url, &options)?,
            settings,
            held: false,
            history_ready: false,
            guarded: true,
        })
    }

    /// Wraps an engine already connected.
    pub fn from_engine(engine: Box<dyn Engine>, settings: Settings) -> Self {
        Migrator {
            engine,
            settings,
            held: false,
            history_ready: false,
            guarded: true,
        }
    }

    /// Takes the migration lock and keeps it across calls, until
    /// [`Migrator::release_lock`] or until the migrator is dropped: how an
    /// upgrade run keeps every other ferry process out from its first step
    /// to its last. Operations that lock then use the lock already held.
    pub fn hold_lock(&mut self) -> Result<()> {
        if !self.held {
            self.engine.lock(self.settings.lock_timeout)?;
            self.held = true;
            if let Err(e) = self.guard() {
                self.release_lock();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Refuses to write while the database records an unfinished upgrade
    /// run: until it is resumed or rolled back (from any folder, container
    /// or pod with the project), its journal must keep describing what is
    /// there. An application that migrates at start-up meets the same rule
    /// as `ferry db migrate`. Run state kept in a folder (`[state] dir`) is
    /// not in the database, and not seen here.
    pub fn guard(&mut self) -> Result<()> {
        if !self.guarded {
            return Ok(());
        }
        match crate::state::unfinished_run(&mut *self.engine, &self.settings.history_table)? {
            Some((id, state)) => Err(unfinished_run(&id, &state)),
            None => Ok(()),
        }
    }

    /// The migrator of an upgrade run: its writes are the run's own, so an
    /// unfinished run (its own) does not stop them.
    pub(crate) fn for_upgrade_run(&mut self) {
        self.guarded = false;
    }

    /// Releases a lock taken by [`Migrator::hold_lock`].
    pub fn release_lock(&mut self) {
        self.history_ready = false;
        if std::mem::take(&mut self.held)
            && let Err(e) = self.engine.unlock()
        {
            tracing::warn!("could not release the migration lock: {e}");
        }
    }

    /// Reopens the database after its file was replaced under the
    /// connection (a SQLite restore). The lock, if held, stays held.
    pub fn reopen(&mut self) -> Result<()> {
        self.history_ready = false;
        self.engine.reopen()
    }

    /// The engine, for callers that need more than migrations.
    pub fn engine(&mut self) -> &mut dyn Engine {
        &mut *self.engine
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Reads the history without locking or creating anything.
    pub fn history(&mut self) -> Result<Vec<AppliedMigration>> {
        self.engine.read_history(&self.settings.history_table)
    }

    /// The status of `set` in this database, with the progress of batched
    /// migrations at work. Changes nothing.
    pub fn status(&mut self, set: &MigrationSet) -> Result<Status> {
        let mut status = Status::compute(set, &self.history()?);
        if status.migrations.iter().any(|m| m.running.is_some()) {
            let progress = engine::progress::read(&mut *self.engine, &self.settings.history_table)?;
            status.attach_progress(&progress);
        }
        Ok(status)
    }

    /// What `migrate` would run now. Changes nothing.
    pub fn plan_migrate<'s>(&mut self, set: &'s MigrationSet, opts: MigrateOptions) -> Result<Vec<Step<'s>>> {
        let status = self.status(set)?;
        let steps = migration::plan_up(set, &status, opts)?;
        self.preflight(&steps)?;
        Ok(steps)
    }

    /// What `revert` would run now. Changes nothing.
    pub fn plan_revert<'s>(&mut self, set: &'s MigrationSet, target: RevertTarget) -> Result<Vec<Step<'s>>> {
        let status = self.status(set)?;
        let steps = migration::plan_down(set, &status, target)?;
        self.preflight(&steps)?;
        Ok(steps)
    }

    /// Applies pending migrations, under the lock.
    pub fn migrate(&mut self, set: &MigrationSet, opts: MigrateOptions, observer: &mut dyn Observer) -> Result<Report> {
        // One read of the history serves both the unmanaged check and the
        // run's first look (with 10,000 rows, each read is ~15 ms).
        let read = self.status(set)?;
        self.migrate_from(set, opts, read, observer)
    }

    /// [`Migrator::migrate`], starting from a status the caller read
    /// without the lock (and may have shown or used): it is read again
    /// under the lock before anything runs.
    pub fn migrate_from(
        &mut self,
        set: &MigrationSet,
        opts: MigrateOptions,
        read: Status,
        observer: &mut dyn Observer,
    ) -> Result<Report> {
        if opts.refuse_unmanaged
            && read.migrations.iter().all(|m| m.applied_at.is_none())
            && self.unmanaged()?.is_some()
            && let Some(u) = self.unmanaged_under_lock()?
        {
            let mut p = u.problem();
            p.help = Some(format!(
                "{}; or pass --allow-unmanaged to run every migration on top of what is there",
                p.help.unwrap_or_default()
            ));
            return Err(Error::refused(p));
        }
        self.run(set, Some(read), observer, |status| {
            migration::plan_up(set, status, opts)
        })
    }

    /// [`Migrator::unmanaged`] asked again under the migration lock: another
    /// process may be in the middle of the first migrations, its tables
    /// there and its history rows not yet when the first answer was read.
    fn unmanaged_under_lock(&mut self) -> Result<Option<crate::foreign::Unmanaged>> {
        if self.held {
            return self.unmanaged();
        }
        self.hold_lock()?;
        let answer = self.unmanaged();
        self.release_lock();
        answer
    }

    /// The database's state when ferry has no history yet and the database
    /// has tables anyway: another tool's history, or tables made by hand.
    /// `None` when ferry has a history, or the database is empty.
    pub fn unmanaged(&mut self) -> Result<Option<crate::foreign::Unmanaged>> {
        if !self.history()?.is_empty() {
            return Ok(None);
        }
        let ours = self.settings.own_tables();
        crate::foreign::unmanaged(&mut *self.engine, &ours)
    }

    /// Reverts applied migrations, newest first, under the lock.
    pub fn revert(&mut self, set: &MigrationSet, target: RevertTarget, observer: &mut dyn Observer) -> Result<Report> {
        self.run(set, None, observer, |status| migration::plan_down(set, status, target))
    }

    /// The SQL a plan runs, exactly as sent, for `--dry-run`.
    pub fn render_sql(&self, steps: &[Step<'_>]) -> Result<String> {
        let transactional = self.engine.transactional_ddl();
        let mut out = String::new();
        for step in steps {
            let script = step.script();
            let in_tx = transactional && !step.no_transaction() && !step.batched();
            let how = match &script.directives.batch {
                Some(b) => format!(
                    ", once per batch of {} rows of {} in order of {} (:first, :last and :in_batch bound to each batch's keys), each batch in its own transaction with its progress",
                    b.size,
                    b.table,
                    b.key.join(", ")
                ),
                None if in_tx => ", in one transaction".to_owned(),
                None => ", statement by statement, no transaction".to_owned(),
            };
            let phase = match script.directives.phase {
                migration::Phase::PostDeploy => ", post-deploy",
                migration::Phase::PreDeploy => "",
            };
            out.push_str(&format!(
                "-- [ferry] {}{phase} from {}{how}\n",
                step.describe(),
                script.path.display(),
            ));
            if in_tx {
                out.push_str("BEGIN;\n");
            }
            out.push_str(script.sql()?.trim_end());
            out.push('\n');
            if in_tx {
                out.push_str("COMMIT;\n");
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// Problems between the files and the database: scripts that do not
    /// parse, edited, missing, failed and out-of-order migrations. Changes nothing.
    pub fn validate(&mut self, set: &MigrationSet) -> Result<Vec<Problem>> {
        let mut problems = migration::lint(set, self.engine.kind(), self.engine.transactional_ddl());
        let status = self.status(set)?;
        for m in &status.migrations {
            let p = match m.state {
                State::Modified => Problem::general(format!(
                    "{} was edited after it was applied: the file's checksum {} differs from the recorded {}",
                    m.name,
                    short(m.checksum.as_deref()),
                    short(m.recorded_checksum.as_deref())
                ))
                .help("restore the file, or run `ferry db repair` to accept the edit"),
                State::Missing => Problem::general(format!("{} is applied but its file is missing", m.name))
                    .help("restore the file, or run `ferry db repair` to forget it"),
                State::Failed => Problem::general(format!(
                    "{} failed and left the database dirty: {}",
                    m.name,
                    m.error.as_deref().unwrap_or("no detail")
                ))
                .help("fix the database by hand, then run `ferry db repair`"),
                State::OutOfOrder => Problem::general(format!(
                    "{} is pending but older than the newest applied migration",
                    m.name
                ))
                .help("give it a newer version, or migrate with --allow-out-of-order"),
                State::Applied | State::Pending | State::Running => continue,
            };
            problems.push(p);
        }
        Ok(problems)
    }

    /// Records the database as being at `version` without running anything.
    pub fn baseline(&mut self, set: &MigrationSet, version: u64) -> Result<String> {
        let table = self.settings.history_table.clone();
        let name = set
            .get(version)
            .map_or_else(|| format!("{version}_baseline"), |m| m.label());
        self.locked(|engine| {
            engine.ensure_history(&table)?;
            let history = engine.read_history(&table)?;
            if let Some(row) = history.first() {
                return Err(Error::refused(
                    Problem::general(format!(
                        "the history table {table} already has rows (the first is {}): the database is managed by ferry already",
                        row.name
                    ))
                    .help("baseline is for a database that ferry has never migrated; use `ferry db status` to see where it is"),
                ));
            }
            engine.record(&table, &HistoryChange::Baseline { version, name: &name })?;
            Ok(name.clone())
        })
    }

    /// Clears failed rows, accepts edited checksums and forgets missing
    /// migrations, after a person fixed the database by hand. With `dry_run`
    /// only says what it would change.
    pub fn repair(&mut self, set: &MigrationSet, dry_run: bool) -> Result<Vec<RepairAction>> {
        let table = self.settings.history_table.clone();
        self.locked(|engine| {
            let history = engine.read_history(&table)?;
            let status = Status::compute(set, &history);
            let mut actions = Vec::new();
            for m in &status.migrations {
                let (change, action) = match m.state {
                    State::Failed if m.error.as_deref().is_some_and(|e| e.starts_with("down:")) => (
                        HistoryChange::Restore { version: m.version },
                        "a revert failed part-way: marked applied again (its down script must be run again to revert it)".to_owned(),
                    ),
                    State::Failed => (
                        HistoryChange::Delete { version: m.version },
                        "failed part-way: its history row is removed, so it is pending again".to_owned(),
                    ),
                    State::Modified => (
                        HistoryChange::Checksum {
                            version: m.version,
                            checksum: m.checksum.as_deref().unwrap_or_default(),
                        },
                        format!(
                            "checksum {} accepted in place of {}",
                            short(m.checksum.as_deref()),
                            short(m.recorded_checksum.as_deref())
                        ),
                    ),
                    State::Missing => (
                        HistoryChange::Delete { version: m.version },
                        "file missing: its history row is removed".to_owned(),
                    ),
                    _ => continue,
                };
                // A failed CREATE INDEX CONCURRENTLY leaves its index behind.
                if m.state == State::Failed
                    && !m.error.as_deref().is_some_and(|e| e.starts_with("down:"))
                    && let Some(mig) = set.get(m.version)
                {
                    let statements = migration::split(mig.up.sql()?, engine.kind()).unwrap_or_default();
                    for index in invalid_indexes(engine, statements.iter().map(|s| s.text.as_str())) {
                        if !dry_run {
                            engine.execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}")).map_err(|e| {
                                Error::db(format!("cannot drop the INVALID index {index}"), e.message)
                            })?;
                        }
                        actions.push(RepairAction {
                            version: m.version,
                            name: m.name.clone(),
                            action: format!(
                                "the INVALID index {index} its failed CREATE INDEX CONCURRENTLY left is dropped"
                            ),
                        });
                    }
                }
                if !dry_run {
                    engine.record(&table, &change)?;
                }
                actions.push(RepairAction {
                    version: m.version,
                    name: m.name.clone(),
                    action,
                });
            }
            Ok(actions)
        })
    }

    /// Refuses scripts that cannot run on this engine before anything runs.
    fn preflight(&self, steps: &[Step<'_>]) -> Result<()> {
        preflight(&*self.engine, steps)
    }

    /// Runs `steps` as the caller planned them, without reading the history
    /// first: for a database that only this process changes and whose state
    /// the caller knows (`ferry db verify`'s scratch database, one step at a
    /// time, where reading a history of N rows per step would make the
    /// whole check quadratic).
    pub(crate) fn run_known(&mut self, steps: &[Step<'_>]) -> Result<Report> {
        preflight(&*self.engine, steps)?;
        let table = self.settings.history_table.clone();
        let durable = self.settings.durable;
        // Under a lock held throughout, the table made once is still there.
        let mut ready = self.history_ready;
        let result = self.locked(|engine| {
            if !ready {
                engine.ensure_history(&table)?;
                ready = true;
            }
            run_steps(engine, &table, steps, &mut (), durable)
        });
        self.history_ready = ready && self.held;
        result
    }

    /// Runs `f` under the migration lock: the lock held already, or taken
    /// for `f` and released by a guard on every path.
    pub(crate) fn locked<T>(&mut self, f: impl FnOnce(&mut dyn Engine) -> Result<T>) -> Result<T> {
        if self.held {
            return f(&mut *self.engine);
        }
        let guarded = self.guarded;
        let history = self.settings.history_table.clone();
        self.engine.lock(self.settings.lock_timeout)?;
        let guard = LockGuard(&mut *self.engine);
        if guarded && let Some((id, state)) = crate::state::unfinished_run(&mut *guard.0, &history)? {
            drop(guard);
            return Err(unfinished_run(&id, &state));
        }
        f(&mut *guard.0)
    }

    fn run<'s>(
        &mut self,
        set: &'s MigrationSet,
        read: Option<Status>,
        observer: &mut dyn Observer,
        plan: impl Fn(&Status) -> Result<Vec<Step<'s>>>,
    ) -> Result<Report> {
        // Fast path: when a read without the lock finds nothing to do and
        // nothing wrong, waiting for the lock cannot change that answer. A
        // refusal is not trusted here: another process's no-transaction step
        // in progress looks like a failed one until it finishes.
        let mut linted = Vec::new();
        let read = match read {
            Some(r) => r,
            None => self.status(set)?,
        };
        if let Ok(steps) = plan(&read) {
            if steps.is_empty() {
                // Nothing to write; still, nothing runs beside an unfinished
                // upgrade (an application starting up waits for it).
                if !self.held {
                    self.guard()?;
                }
                observer.event(Event::Planned { total: 0 });
                return Ok(Report::default());
            }
            // A script that cannot run is refused before anything changes,
            // not even the history table's creation.
            preflight(&*self.engine, &steps)?;
            linted = steps.iter().map(|s| (s.migration.version, s.direction)).collect();
        }
        let table = self.settings.history_table.clone();
        let durable = self.settings.durable;
        observer.event(Event::Locking);
        // Holding the lock since before that read, nobody can have changed it.
        let held = self.held.then_some(read);
        self.locked(|engine| {
            engine.ensure_history(&table)?;
            // Read again under the lock: another process may have just finished.
            let status = match held {
                Some(status) => status,
                None => Status::compute(set, &engine.read_history(&table)?),
            };
            let steps = plan(&status)?;
            // Usually the same steps as before the lock: lint only new ones.
            let unlinted: Vec<Step<'_>> = steps
                .iter()
                .filter(|s| !linted.contains(&(s.migration.version, s.direction)))
                .copied()
                .collect();
            preflight(engine, &unlinted)?;
            observer.event(Event::Planned { total: steps.len() });
            run_steps(engine, &table, &steps, observer, durable)
        })
    }
}

impl Drop for Migrator {
    fn drop(&mut self) {
        self.release_lock();
    }
}

/// The refusal of a write while an upgrade run is unfinished.
fn unfinished_run(id: &str, state: &str) -> Error {
    Error::refusal(
        format!(
            "the upgrade run {id} did not finish (it is {}): ferry changes nothing in this database until it is finished or undone",
            state.replace('_', " ")
        ),
        "`ferry upgrade --resume` finishes it, `ferry upgrade --rollback` undoes it (run either where the project is, in any folder, container or pod pointed at this database)",
    )
}

/// Lints the scripts `steps` will run, so a script that cannot run on this
/// engine is refused before the first step starts.
fn preflight(engine: &dyn Engine, steps: &[Step<'_>]) -> Result<()> {
    let problems = migration::lint_scripts(
        steps.iter().map(Step::script),
        engine.kind(),
        engine.transactional_ddl(),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Migrations(Problems(problems)))
    }
}

/// The INVALID indexes that failed `CREATE INDEX CONCURRENTLY` statements
/// among `statements` left behind (PostgreSQL only).
fn invalid_indexes<'s>(engine: &mut dyn Engine, statements: impl IntoIterator<Item = &'s str>) -> Vec<String> {
    let mut out = Vec::new();
    for name in statements.into_iter().filter_map(migration::concurrent_index) {
        let Some(sql) = engine.dialect().invalid_indexes(&name) else {
            return Vec::new();
        };
        if let Ok(rows) = engine.query(&sql) {
            out.extend(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()));
        }
    }
    out
}

fn short(c: Option<&str>) -> &str {
    c.map_or("none", |c| &c[..c.len().min(12)])
}

fn run_steps(
    engine: &mut dyn Engine,
    table: &HistoryTable,
    steps: &[Step<'_>],
    observer: &mut dyn Observer,
    durable: bool,
) -> Result<Report> {
    let start = Instant::now();
    let result = run_each(engine, table, steps, observer);
    // Nothing is reported done, or kept after a failure, before it is durable.
    let flushed = if durable { engine.flush() } else { Ok(()) };
    match (result, flushed) {
        (Ok(mut report), Ok(())) => {
            report.total_ms = start.elapsed().as_millis() as i64;
            Ok(report)
        }
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(flush)) => {
            tracing::warn!("after the failure, could not flush the migrations applied before it: {flush}");
            Err(e)
        }
    }
}

fn run_each(
    engine: &mut dyn Engine,
    table: &HistoryTable,
    steps: &[Step<'_>],
    observer: &mut dyn Observer,
) -> Result<Report> {
    let mut report = Report::default();
    let total = steps.len();
    let dialect = engine.kind();
    for (index, step) in steps.iter().enumerate() {
        observer.event(Event::StepStarted { step, index, total });
        let began = Instant::now();
        let label = step.migration.label();
        let record = Record {
            version: step.migration.version,
            name: &label,
            checksum: step.migration.up.checksum().as_str(),
            direction: step.direction,
        };
        let progress = || Progress {
            completed: report.steps.iter().map(|s| s.name.clone()).collect(),
        };
        let execution_ms = if step.batched() {
            let mut tick = |tick| observer.event(Event::Batch { step, index, tick });
            crate::batching::run(engine, table, step, &record, &mut tick).map_err(|stop| match stop {
                crate::batching::Stop::Batch {
                    error,
                    statement,
                    batches,
                    rows,
                } => {
                    let (statement, line) = statement.unzip();
                    Error::MigrationFailed(Box::new(MigrationFailure {
                        migration: step.describe(),
                        file: step.script().path.clone(),
                        statement,
                        line,
                        message: error.message,
                        state: FailureState::Stopped { batches, rows },
                        progress: progress(),
                        invalid_indexes: Vec::new(),
                    }))
                }
                crate::batching::Stop::Other(e) => e,
            })?
        } else if engine.transactional_ddl() && !step.no_transaction() {
            engine
                .apply_in_transaction(
                    table,
                    step.script().sql()?,
                    &record,
                    step.script().directives.foreign_keys_off,
                )
                .map_err(|e| failure(step, &e, dialect, FailureState::RolledBack, progress()))?
        } else {
            run_without_transaction(engine, table, step, &record).map_err(|f| match f {
                NoTxFailure::Statement(e, applied) => {
                    let mut err = failure(step, &e, dialect, FailureState::Dirty { applied }, progress());
                    if let Error::MigrationFailed(f) = &mut err
                        && let Some(st) = &f.statement
                    {
                        f.invalid_indexes = invalid_indexes(engine, [st.as_str()]);
                    }
                    err
                }
                NoTxFailure::Other(e) => e,
            })?
        };
        observer.event(Event::StepFinished {
            step,
            index,
            total,
            execution_ms,
        });
        report.steps.push(StepReport {
            version: step.migration.version,
            name: label,
            direction: step.direction,
            execution_ms,
            ms: began.elapsed().as_millis() as i64,
            no_transaction: step.no_transaction() || step.batched() || !engine.transactional_ddl(),
        });
    }
    Ok(report)
}

enum NoTxFailure {
    /// A statement failed, after `usize` statements succeeded; its position
    /// is a byte offset in the script.
    Statement(StatementError, usize),
    Other(Error),
}

fn run_without_transaction(
    engine: &mut dyn Engine,
    table: &HistoryTable,
    step: &Step<'_>,
    record: &Record<'_>,
) -> Result<i64, NoTxFailure> {
    let sql = step.script().sql().map_err(NoTxFailure::Other)?;
    let statements = migration::split(sql, engine.kind()).map_err(|e| {
        NoTxFailure::Other(Error::Migrations(Problems(vec![
            Problem::in_file(&step.script().path, e.message).at_line(e.line),
        ])))
    })?;
    engine
        .record(table, &HistoryChange::Started(*record))
        .map_err(NoTxFailure::Other)?;
    let start = Instant::now();
    for (done, st) in statements.iter().enumerate() {
        if let Err(mut e) = engine.execute(&st.text) {
            let line = migration::line_of(sql, st.span.start + e.position.unwrap_or(0));
            let detail = format!("statement at line {line}: {}", e.message);
            if let Err(record_err) = engine.record(table, &HistoryChange::Failed(*record, &detail)) {
                tracing::warn!("could not record the failure: {record_err}");
            }
            // Report the statement itself, not a position inside it.
            e.position = Some(st.span.start + e.position.unwrap_or(0));
            return Err(NoTxFailure::Statement(e, done));
        }
    }
    let ms = start.elapsed().as_millis() as i64;
    engine
        .record(table, &HistoryChange::Finished(*record, ms))
        .map_err(NoTxFailure::Other)?;
    Ok(ms)
}

fn failure(step: &Step<'_>, e: &StatementError, dialect: EngineKind, state: FailureState, progress: Progress) -> Error {
    let script = step.script();
    let (statement, line) = match e.position {
        Some(pos) => {
            // It ran, so its text is in memory.
            let sql = script.sql().unwrap_or_default();
            let statements = migration::split(sql, dialect).unwrap_or_default();
            let st = statements.iter().rev().find(|s| s.span.start <= pos);
            (st.map(|s| s.text.clone()), Some(migration::line_of(sql, pos)))
        }
        None => (None, None),
    };
    Error::MigrationFailed(Box::new(MigrationFailure {
        migration: step.describe(),
        file: script.path.clone(),
        statement,
        line,
        message: e.message.clone(),
        state,
        progress,
        invalid_indexes: Vec::new(),
    }))
}
