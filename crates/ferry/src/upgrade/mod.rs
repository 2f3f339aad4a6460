//! `ferry upgrade`: the whole upgrade as one journaled run, and its
//! rollback. See `run` for the steps, `journal` for what is written where,
//! `undo` for how a run is taken back.

mod dry;
mod error;
mod run;
mod steps;
mod undo;
mod watching;

pub use self::dry::{DryHop, DryRun, DryStep, dry_run};
pub use self::error::{NothingToDo, RunError, RunResult};
pub use self::watching::{WatchOutcome, watch_now};
pub use crate::records::run::{
    Before, End, Event, HopInfo, HopReport, Outcome, Record, RunInfo, RunOptions, RunReport, RunState, STEPS, StepKind,
    StepReport, StepStatus, Undone, WatchReport, failure_message, last, report, steps_of_hop, unfinished,
    unfinished_error,
};

use self::run::Ctx;
use crate::config::migrate as config_migrate;
use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::plan::Observed;
use crate::plan::{self, Hop, Start, UpgradePlan};
use crate::project::{Access, Installation};
use crate::project::{BackupRule, Risk, StagingRule};
use crate::records::run::journal::Journal;
use crate::records::run::report::unfinished_while_locked;
use crate::state::Store;
use crate::url::DatabaseUrl;
use crate::version::Version;

/// Something a run tells as it goes, for progress on a terminal.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// A step starts.
    Step {
        /// The hop, from 0.
        hop: usize,
        /// How many hops.
        hops: usize,
        /// The hop's target.
        to: &'a str,
        /// The step.
        step: StepKind,
    },
    /// A step ended well.
    StepDone {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// What it did.
        outcome: &'a Outcome,
    },
    /// A step failed.
    StepFailed {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// Why.
        error: &'a str,
    },
    /// A rollback starts.
    Rollback {
        /// Why.
        reason: &'a str,
    },
    /// The watch window starts (or resumes).
    WatchStarted {
        /// How many rounds of readings it takes in all.
        rounds: u32,
        /// How many were taken before (a resumed watch).
        done: u32,
        /// Time between rounds.
        interval: std::time::Duration,
    },
    /// A round of readings was taken.
    WatchRound {
        /// The readings.
        round: &'a crate::watch::Round,
    },
    /// The watch window ended.
    WatchEnded {
        /// What its readings added up to.
        verdict: &'a crate::watch::Verdict,
        /// Whether the upgrade is kept.
        kept: bool,
    },
    /// A step was undone (or could not be: `Undone::Failed`).
    Undo {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// How.
        undone: &'a Undone,
    },
}

/// Receives a run's notices and its migrations' progress. `()` ignores them.
pub trait Progress {
    /// Called for each notice, in order.
    fn notice(&mut self, notice: Notice<'_>);
    /// Called for each event of the database migrations.
    fn migration(&mut self, _event: crate::migrator::Event<'_>) {}
    /// Asked when the watch window ended with warnings (and no `--strict`):
    /// true keeps the upgrade, false rolls it back. Keeps it by default.
    fn keep_after_warnings(&mut self, _reasons: &[String]) -> bool {
        true
    }
}

impl Progress for () {
    fn notice(&mut self, _: Notice<'_>) {}
}

/// The locks, connection and run state a run works with. In a state
/// folder, the folder's lock is taken first; then the database's migration
/// lock, held to the end (with state in the database, the lock that keeps
/// every other process off the run too).
struct Held {
    migrator: Migrator,
    url: DatabaseUrl,
    store: Box<dyn Store>,
}

fn hold(inst: &Installation, access: &Access) -> Result<Held> {
    let mut store = inst.state(access)?;
    if store.is_dir() {
        store.lock(inst.project.state_lock_timeout(access))?;
    }
    let (mut migrator, url) = inst.connect(access)?;
    // The run's own writes; another unfinished run is refused on its own terms.
    migrator.for_upgrade_run();
    migrator.hold_lock()?;
    Ok(Held { migrator, url, store })
}

/// An upgrade ready to start: its locks are held and its plan is made.
pub struct Prepared<'i> {
    inst: &'i Installation,
    held: Held,
    plan: UpgradePlan,
    observed: Observed,
}

impl std::fmt::Debug for Prepared<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

/// Takes the locks, reads where the installation stands and plans the
/// upgrade to `to` (default: the newest final release). Refuses while
/// another run is unfinished.
pub fn prepare<'i>(inst: &'i Installation, access: &Access, to: Option<&Version>) -> Result<Prepared<'i>> {
    let mut held = hold(inst, access)?;
    if let Some(run) = unfinished_while_locked(&mut *held.store)? {
        return Err(unfinished_error(&run));
    }
    let observed = inst.observe(&mut held.migrator)?;
    let start = match &observed.start {
        Ok((s, _)) => s.clone(),
        Err(e) => {
            return Err(Error::refusal(
                e.clone(),
                "record the installed release with `ferry adopt VERSION`",
            ));
        }
    };
    let mut plan = plan::plan(&inst.manifest, &inst.set, &start, Some(&observed.status), to)?;
    inst.annotate(&mut *held.store, &mut plan)?;
    // A rehearsal's own run is what such a policy asks for.
    if inst.project.rehearsal().is_none() {
        crate::plan::rehearsal::require(inst, &mut *held.store, &plan)?;
    }
    Ok(Prepared {
        inst,
        held,
        plan,
        observed,
    })
}

impl<'i> Prepared<'i> {
    /// The plan the run will follow.
    pub fn plan(&self) -> &UpgradePlan {
        &self.plan
    }

    /// Where the installation stood when the plan was made.
    pub fn observed(&self) -> &Observed {
        &self.observed
    }

    /// Runs the plan. A failed step rolls everything back (unless
    /// `options.no_rollback`) and returns [`RunError::Failed`] with the report.
    pub fn run(self, options: RunOptions, progress: &mut dyn Progress) -> RunResult<RunReport> {
        let inst = self.inst;
        let plan = self.plan;
        let started_at = jiff::Timestamp::now();
        let info = RunInfo {
            id: format!(
                "{}-{}-to-{}",
                started_at.strftime("%Y%m%dT%H%M%S%.3fZ"),
                plan.from.as_ref().map_or("fresh".to_owned(), ToString::to_string),
                plan.to
            ),
            started_at: started_at.to_string(),
            ferry_version: crate::VERSION.to_owned(),
            from: plan.from.as_ref().map(ToString::to_string),
            to: plan.to.to_string(),
            hops: plan
                .hops
                .iter()
                .map(|h| HopInfo {
                    from: h.from.as_ref().map(ToString::to_string),
                    to: h.to.to_string(),
                    schema_after: h.schema_after,
                    post_deploy: h.has_post_deploy(),
                })
                .collect(),
            database: self.held.url.safe().to_string(),
            options,
        };
        let mut held = self.held;
        let journal = Journal::create(&mut *held.store, &info)?;
        let mut ctx = context(inst, held, journal, info, plan.hops, Vec::new(), progress);
        ctx.append(Event::Started {
            pid: std::process::id(),
            resumed: false,
        })?;
        ctx.watch_baseline()?;
        drive(&mut ctx, (0, StepKind::Preflight))
    }
}

fn context<'a>(
    inst: &'a Installation,
    held: Held,
    journal: Journal,
    info: RunInfo,
    hops: Vec<Hop>,
    records: Vec<Record>,
    progress: &'a mut dyn Progress,
) -> Ctx<'a> {
    let mut redactor = match inst.project.config_dir() {
        Ok(dir) => config_migrate::redactor_for(&dir, &inst.manifest),
        Err(_) => crate::redact::Redactor::default(),
    };
    if let Some(pw) = url::Url::parse(held.url.expose_secret()).ok().and_then(|u| {
        u.password()
            .map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned())
    }) {
        redactor = redactor.hiding(&pw);
    }
    Ctx {
        inst,
        url: held.url,
        migrator: held.migrator,
        journal,
        info,
        hops,
        records,
        progress,
        store: held.store,
        redactor,
    }
}

/// Runs forward from `start`; on a failure, runs the on_failure hooks and
/// rolls back unless the run said not to.
fn drive(ctx: &mut Ctx<'_>, start: (usize, StepKind)) -> RunResult<RunReport> {
    let _safe = crate::process::SafePoints::enter();
    let (hop, reason) = match ctx.forward(start)? {
        Ok(()) => match ctx.watch()? {
            Ok(()) => {
                ctx.append(Event::Finished { end: End::Done })?;
                return Ok(current_report(ctx));
            }
            Err(reason) => (ctx.hops.len().saturating_sub(1), reason),
        },
        Err((hop, step)) => (
            hop,
            format!("hop {} ({}) failed at {}", hop + 1, ctx.hops[hop].to, step.describe()),
        ),
    };
    // A step that failed while a stop was asked for may have failed of it
    // (a terminal's Ctrl-C reaches pg_dump too): stopped, not rolled back.
    ctx.stop_if_asked(|| format!("after hop {} failed", hop + 1))?;
    let hooks = ctx.hooks_for(0..=hop, crate::project::hook::When::OnFailure);
    if !hooks.is_empty() {
        let (runs, _) = ctx.run_hooks(hop, &hooks);
        ctx.append(Event::Hooks { hooks: runs })?;
    }
    if !ctx.info.options.no_rollback {
        ctx.rollback(&reason, 0, false, false)?;
    }
    Err(RunError::Failed(Box::new(current_report(ctx))))
}

fn current_report(ctx: &Ctx<'_>) -> RunReport {
    RunReport::build(&ctx.info, &ctx.records, false, ctx.store.run_place(ctx.journal.id()))
}

/// The hops of a journaled run, planned again from the releases: they must
/// be the hops the run started with.
fn hops_of(inst: &Installation, info: &RunInfo) -> Result<Vec<Hop>> {
    let parse = |v: &str| Version::parse(v).map_err(|m| Error::refusal(m, "the run's journal is damaged"));
    let start = match &info.from {
        Some(f) => Start::Installed(parse(f)?),
        None => Start::Fresh,
    };
    let to = parse(&info.to)?;
    let planned = plan::plan(&inst.manifest, &inst.set, &start, None, Some(&to)).ok();
    let same = planned.as_ref().is_some_and(|p| {
        p.hops.len() == info.hops.len()
            && p.hops.iter().zip(&info.hops).all(|(a, b)| {
                a.from.as_ref().map(ToString::to_string) == b.from
                    && a.to.to_string() == b.to
                    && a.schema_after == b.schema_after
            })
    });
    match planned {
        Some(p) if same => Ok(p.hops),
        _ => Err(Error::refusal(
            format!(
                "the releases changed since run {} started: its hops ({}) are not what ferry plans now",
                info.id,
                info.hops
                    .iter()
                    .map(|h| format!("{} → {}", h.from.as_deref().unwrap_or("nothing"), h.to))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "put the release files back as they were when the run started, then resume or roll back",
        )),
    }
}

/// Hops that carry only what a rollback needs when the releases no longer
/// plan the run's hops: versions, and no release hooks.
fn bare_hops(info: &RunInfo) -> Vec<Hop> {
    info.hops
        .iter()
        .filter_map(|h| {
            Some(Hop {
                from: h.from.as_deref().and_then(|v| Version::parse(v).ok()),
                to: Version::parse(&h.to).ok()?,
                kind: None,
                risk: Risk::Low,
                downtime: None,
                backup: BackupRule::None,
                staging: StagingRule::None,
                rehearsal: StagingRule::None,
                rehearsal_max_age: crate::project::policy::DEFAULT_REHEARSAL_MAX_AGE,
                required_stop: None,
                releases: Vec::new(),
                schema_before: 0,
                schema_after: h.schema_after,
                migrations: Vec::new(),
                requires: Vec::new(),
                breaking: Vec::new(),
                config: Vec::new(),
                notes: Vec::new(),
                checks: Vec::new(),
                commit: None,
                built: None,
                way_back: None,
                measured: None,
            })
        })
        .collect()
}

/// Opens the unfinished run for a process that continues it.
fn reopen<'a>(
    inst: &'a Installation,
    access: &Access,
    progress: &'a mut dyn Progress,
    strict_hops: bool,
) -> Result<Ctx<'a>> {
    let mut held = hold(inst, access)?;
    let Some(run) = unfinished_while_locked(&mut *held.store)? else {
        return Err(Error::refusal(
            "there is no unfinished upgrade run",
            "`ferry status` shows the last run; `ferry upgrade` starts a new one, `ferry rollback` undoes the last",
        ));
    };
    let (journal, info, records) = Journal::open(&mut *held.store, &run.id)?;
    let hops = match hops_of(inst, &info) {
        Ok(h) => h,
        Err(e) if strict_hops => return Err(e),
        Err(_) => bare_hops(&info),
    };
    Ok(context(inst, held, journal, info, hops, records, progress))
}

/// `ferry upgrade --resume`: finishes the unfinished run from where it
/// stopped, running the step it was in again (each step finishes what it
/// started instead of doing it twice).
pub fn resume(inst: &Installation, access: &Access, progress: &mut dyn Progress) -> RunResult<RunReport> {
    let mut ctx = reopen(inst, access, progress, true)?;
    let state = RunState::of(&ctx.records);
    let start = match &state {
        RunState::Planned => (0, StepKind::Preflight),
        // Every hop is done: only the rest of the watch is left.
        RunState::Watching { .. } => (ctx.hops.len(), StepKind::Preflight),
        RunState::Running { hop, step, open: true } | RunState::Failed { hop, step, .. } => (*hop, *step),
        RunState::Running { hop, step, open: false } => {
            let post_deploy = ctx.hops.get(*hop).is_some_and(Hop::has_post_deploy);
            match steps_of_hop(post_deploy).find(|s| s > step) {
                Some(next) => (*hop, next),
                None => (hop + 1, StepKind::Preflight),
            }
        }
        RunState::RollingBack { .. } | RunState::RollbackFailed { .. } => {
            return Err(Error::refusal(
                format!("run {} was being rolled back; it cannot go forward again", ctx.info.id),
                "`ferry upgrade --rollback` finishes the rollback",
            )
            .into());
        }
        RunState::Done | RunState::RolledBack => unreachable!("unfinished runs only"),
    };
    ctx.append(Event::Started {
        pid: std::process::id(),
        resumed: true,
    })?;
    drive(&mut ctx, start)
}

/// `ferry upgrade --rollback`: undoes the unfinished run (or continues its
/// rollback).
pub fn rollback(inst: &Installation, access: &Access, progress: &mut dyn Progress) -> RunResult<RunReport> {
    let mut ctx = reopen(inst, access, progress, false)?;
    let to_hop = ctx
        .records
        .iter()
        .rev()
        .find_map(|r| match r.event {
            Event::RollbackStarted { to_hop, .. } => Some(to_hop),
            _ => None,
        })
        .unwrap_or(0);
    ctx.append(Event::Started {
        pid: std::process::id(),
        resumed: true,
    })?;
    if ctx.rollback("asked for with --rollback", to_hop, false, false)? {
        Ok(current_report(&ctx))
    } else {
        Err(RunError::Failed(Box::new(current_report(&ctx))))
    }
}

/// What `ferry rollback` will undo.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RollbackPlan {
    /// The run it undoes.
    pub run: String,
    /// The release installed now.
    pub from: String,
    /// The release it goes back to.
    pub to: String,
    /// The hops it undoes, newest first.
    pub hops: Vec<String>,
    /// How the database goes back, in words.
    pub database: String,
}

/// `ferry rollback`: takes the installation back to what it was before the
/// last finished run (or to `to`, a release that run passed through),
/// choosing down scripts where they restore the schema exactly, the run's
/// backup otherwise (`restore` forces the backup). `confirm` sees the plan
/// first; `Ok(None)` when it said no.
pub fn rollback_last(
    inst: &Installation,
    access: &Access,
    to: Option<&Version>,
    restore: bool,
    confirm: impl FnOnce(&RollbackPlan) -> bool,
    progress: &mut dyn Progress,
) -> RunResult<Option<RunReport>> {
    rollback_last_because(inst, access, to, restore, None, confirm, progress)
}

/// [`rollback_last`] with the reason the journal records (default: the
/// command, `ferry rollback [--to VERSION]`): `ferry watch
/// --rollback-on-fail` says which metric crossed which limit.
pub fn rollback_last_because(
    inst: &Installation,
    access: &Access,
    to: Option<&Version>,
    restore: bool,
    because: Option<&str>,
    confirm: impl FnOnce(&RollbackPlan) -> bool,
    progress: &mut dyn Progress,
) -> RunResult<Option<RunReport>> {
    let mut held = hold(inst, access)?;
    if let Some(run) = unfinished_while_locked(&mut *held.store)? {
        return Err(unfinished_error(&run).into());
    }
    let last = crate::records::run::journal::ids(&mut *held.store)?.pop();
    let Some(last) = last else {
        return Err(Error::refusal(
            "no upgrade run to roll back: ferry rollback undoes what `ferry upgrade` did",
            "to go back by hand: `ferry db revert --to VERSION`, `ferry config revert`, or `ferry backup restore ID`",
        )
        .into());
    };
    let (journal, info, records) = Journal::open(&mut *held.store, &last)?;
    // The hops still in place: after a partial rollback, those before it.
    let done_to = records
        .iter()
        .rev()
        .find_map(|r| match r.event {
            Event::RollbackStarted { to_hop, .. } => Some(to_hop),
            _ => None,
        })
        .unwrap_or(info.hops.len());
    if done_to == 0 {
        return Err(Error::refusal(
            format!("the last upgrade run, {last}, was rolled back already"),
            "nothing to roll back; `ferry status` shows where the installation is",
        )
        .into());
    }
    let to_hop = match to {
        None => 0,
        Some(v) => {
            let s = v.to_string();
            match info.hops[..done_to]
                .iter()
                .position(|h| h.from.as_deref() == Some(s.as_str()))
            {
                Some(i) => i,
                None => {
                    let known: Vec<&str> = info.hops[..done_to].iter().filter_map(|h| h.from.as_deref()).collect();
                    return Err(Error::refusal(
                        format!("the last upgrade run did not pass through {v}"),
                        format!("roll back to one of: {}", known.join(", ")),
                    )
                    .into());
                }
            }
        }
    };
    // The installation must still be where the run left it.
    let observed = inst.observe(&mut held.migrator)?;
    let now = observed.installed().map(ToString::to_string);
    let there = info.hops[done_to - 1].to.clone();
    if now.as_deref() != Some(there.as_str()) {
        return Err(Error::refusal(
            format!(
                "the installed release is {}, not {there} where run {} left it: it changed since",
                now.as_deref().unwrap_or("unknown"),
                info.id
            ),
            "roll back by hand (`ferry db revert`, `ferry config revert`, `ferry backup restore`)",
        )
        .into());
    }
    let hops = hops_of(inst, &info).unwrap_or_else(|_| bare_hops(&info));
    let mut ctx = context(inst, held, journal, info, hops, records, progress);
    let plan = RollbackPlan {
        run: ctx.info.id.clone(),
        from: there,
        to: ctx.info.hops[to_hop]
            .from
            .clone()
            .unwrap_or_else(|| "nothing installed".into()),
        hops: ctx.info.hops[to_hop..done_to]
            .iter()
            .rev()
            .map(|h| format!("{} → {}", h.from.as_deref().unwrap_or("nothing"), h.to))
            .collect(),
        database: ctx.describe_way(to_hop, restore)?,
    };
    if !confirm(&plan) {
        return Ok(None);
    }
    ctx.append(Event::Started {
        pid: std::process::id(),
        resumed: true,
    })?;
    let reason = match (because, to) {
        (Some(why), _) => why.to_owned(),
        (None, Some(v)) => format!("ferry rollback --to {v}"),
        (None, None) => "ferry rollback".to_owned(),
    };
    if ctx.rollback(&reason, to_hop, restore, true)? {
        Ok(Some(current_report(&ctx)))
    } else {
        Err(RunError::Failed(Box::new(current_report(&ctx))))
    }
}
