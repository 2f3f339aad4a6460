//! What a run did, read from its journal: a report per hop and step for
//! output and JSON, and a one-line summary for `ferry status`.

use serde::Serialize;

use super::journal::{self, HopInfo, RunInfo};
use super::state::{Event, Outcome, Record, RunState, StepKind, Undone, steps_of_hop};
use crate::error::Result;
use crate::records::hook::HookRun;
use crate::state::Store;

/// How a step of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not reached.
    Pending,
    /// Started; no end recorded (interrupted).
    Started,
    /// Done.
    Done,
    /// Nothing to do.
    Skipped,
    /// Failed.
    Failed,
}

/// One step of a hop.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The step.
    pub step: StepKind,
    /// How it ended.
    pub status: StepStatus,
    /// What it did, or why it failed.
    pub detail: String,
    /// What it did, in full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// How a rollback undid it, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undone: Option<Undone>,
}

/// One hop of a run.
#[derive(Debug, Clone, Serialize)]
pub struct HopReport {
    /// Before.
    pub from: Option<String>,
    /// After.
    pub to: String,
    /// Its steps, in order.
    pub steps: Vec<StepReport>,
}

/// The watch window of a run.
#[derive(Debug, Clone, Serialize)]
pub struct WatchReport {
    /// How long it watches, in milliseconds.
    pub duration_ms: u64,
    /// How many rounds of readings it takes.
    pub rounds: u32,
    /// The rounds taken, in order.
    pub done: Vec<crate::records::watch::Round>,
    /// What they added up to, once it ended.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::records::watch::Verdict>,
    /// For a warning: the upgrade was kept.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub kept: bool,
}

/// A run, from its journal.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Its id.
    pub id: String,
    /// Where it stands.
    #[serde(flatten)]
    pub state: RunState,
    /// True while a process works on it.
    pub live: bool,
    /// The release before it.
    pub from: Option<String>,
    /// Its target.
    pub to: String,
    /// When it started.
    pub started_at: String,
    /// Its hops.
    pub hops: Vec<HopReport>,
    /// The on_failure and after_rollback hooks that ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRun>,
    /// The watch window after the last hop, when one started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<WatchReport>,
    /// Why a rollback started, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<String>,
    /// The journal's folder.
    pub journal: String,
    /// The signal that stopped the run at a safe point, when the last
    /// process working on it was stopped so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<i32>,
    /// What to run next, when the run is unfinished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl RunReport {
    /// Builds the report of a run from its info and records.
    pub fn build(info: &RunInfo, records: &[Record], live: bool, journal: String) -> Self {
        let state = RunState::of(records);
        let mut hops: Vec<HopReport> = info
            .hops
            .iter()
            .map(|h: &HopInfo| HopReport {
                from: h.from.clone(),
                to: h.to.clone(),
                steps: steps_of_hop(h.post_deploy)
                    .map(|s| StepReport {
                        step: s,
                        status: StepStatus::Pending,
                        detail: String::new(),
                        outcome: None,
                        undone: None,
                    })
                    .collect(),
            })
            .collect();
        let mut hooks = Vec::new();
        let mut rollback = None;
        let mut watch: Option<WatchReport> = None;
        let mut stopped = None;
        for r in records {
            match &r.event {
                Event::StepStarted { hop, step, .. } => {
                    if let Some(s) = step_mut(&mut hops, *hop, *step) {
                        s.status = StepStatus::Started;
                        s.detail = "started; no end recorded".into();
                    }
                }
                Event::StepDone { hop, step, outcome } => {
                    if let Some(s) = step_mut(&mut hops, *hop, *step) {
                        s.status = if outcome.skipped {
                            StepStatus::Skipped
                        } else {
                            StepStatus::Done
                        };
                        s.detail = outcome.detail.clone();
                        s.outcome = Some(outcome.clone());
                    }
                }
                Event::StepFailed {
                    hop,
                    step,
                    error,
                    outcome,
                } => {
                    if let Some(s) = step_mut(&mut hops, *hop, *step) {
                        s.status = StepStatus::Failed;
                        s.detail = error.clone();
                        s.outcome = Some(outcome.clone());
                    }
                }
                Event::Hooks { hooks: h } => hooks.extend(h.iter().cloned()),
                Event::RollbackStarted { reason, .. } => rollback = Some(reason.clone()),
                Event::UndoDone { hop, step, how, undone } => {
                    if let Some(s) = step_mut(&mut hops, *hop, *step) {
                        s.undone = Some(undone.clone().unwrap_or_else(|| Undone::Described { how: how.clone() }));
                    }
                }
                Event::UndoFailed { hop, step, error } => {
                    if let Some(s) = step_mut(&mut hops, *hop, *step) {
                        s.undone = Some(Undone::Failed { error: error.clone() });
                    }
                }
                Event::WatchStarted { rounds, duration_ms } => {
                    watch = Some(WatchReport {
                        duration_ms: *duration_ms,
                        rounds: *rounds,
                        done: Vec::new(),
                        verdict: None,
                        kept: false,
                    });
                }
                Event::WatchRound { round } => {
                    if let Some(w) = &mut watch {
                        w.done.push(round.clone());
                    }
                }
                Event::WatchEnded { verdict, kept } => {
                    if let Some(w) = &mut watch {
                        w.verdict = Some(verdict.clone());
                        w.kept = *kept;
                    }
                }
                Event::Stopped { signal, .. } => stopped = Some(*signal),
                Event::Started { .. } => stopped = None,
                Event::UndoStarted { .. } | Event::Finished { .. } | Event::WatchBaseline { .. } => {}
            }
        }
        let next = next_command(&state, live);
        RunReport {
            id: info.id.clone(),
            state,
            live,
            from: info.from.clone(),
            to: info.to.clone(),
            started_at: info.started_at.clone(),
            hops,
            hooks,
            watch,
            rollback,
            journal,
            stopped,
            next,
        }
    }

    /// The hop and step the run is at, in words: `hop 2 of 3 (1.5.0 → 2.0.0), migrate`.
    pub fn position(&self) -> Option<String> {
        let (hop, step) = self.state.position()?;
        let h = self.hops.get(hop)?;
        Some(format!(
            "hop {} of {} ({} → {}), {}",
            hop + 1,
            self.hops.len(),
            h.from.as_deref().unwrap_or("nothing"),
            h.to,
            step.describe()
        ))
    }

    /// True when the run is neither done nor rolled back.
    pub fn is_unfinished(&self) -> bool {
        !self.state.is_finished()
    }
}

fn step_mut(hops: &mut [HopReport], hop: usize, step: StepKind) -> Option<&mut StepReport> {
    hops.get_mut(hop)?.steps.iter_mut().find(|s| s.step == step)
}

fn next_command(state: &RunState, live: bool) -> Option<String> {
    if live {
        return None;
    }
    match state {
        RunState::Planned | RunState::Running { .. } | RunState::Watching { .. } | RunState::Failed { .. } => {
            Some("`ferry upgrade --resume` finishes it, `ferry upgrade --rollback` undoes it".into())
        }
        RunState::RollingBack { .. } | RunState::RollbackFailed { .. } => {
            Some("`ferry upgrade --rollback` continues the rollback".into())
        }
        RunState::Done | RunState::RolledBack => None,
    }
}

/// The report of the run `id`.
pub fn report(store: &mut dyn Store, id: &str) -> Result<RunReport> {
    let (info, records) = journal::read(store, id)?;
    let live = store.locked_elsewhere();
    Ok(RunReport::build(&info, &records, live, store.run_place(id)))
}

/// The newest run, if any.
pub fn last(store: &mut dyn Store) -> Result<Option<RunReport>> {
    match journal::ids(store)?.last() {
        Some(id) => report(store, id).map(Some),
        None => Ok(None),
    }
}

/// The newest run when it is unfinished.
pub fn unfinished(store: &mut dyn Store) -> Result<Option<RunReport>> {
    let Some(id) = journal::ids(store)?.pop() else {
        return Ok(None);
    };
    let (info, records) = journal::read(store, &id)?;
    if RunState::of(&records).is_finished() {
        return Ok(None);
    }
    let live = store.locked_elsewhere();
    Ok(Some(RunReport::build(&info, &records, live, store.run_place(&id))))
}

/// [`unfinished`], for a process that holds the store's lock itself: no
/// other process can be working on the run, so it is not live.
pub(crate) fn unfinished_while_locked(store: &mut dyn Store) -> Result<Option<RunReport>> {
    let Some(id) = journal::ids(store)?.pop() else {
        return Ok(None);
    };
    let (info, records) = journal::read(store, &id)?;
    Ok(Some(RunReport::build(&info, &records, false, store.run_place(&id))).filter(RunReport::is_unfinished))
}

/// The refusal a command gives while a run is unfinished.
pub fn unfinished_error(run: &RunReport) -> crate::Error {
    let at = run.position().map(|p| format!(", at {p}")).unwrap_or_default();
    if run.live {
        crate::Error::refusal(
            format!(
                "an upgrade is running now (run {}, {} → {}{at})",
                run.id,
                run.from.as_deref().unwrap_or("nothing"),
                run.to
            ),
            "wait for it to finish; `ferry status` shows where it is",
        )
    } else {
        crate::Error::refusal(
            format!(
                "the upgrade run {} ({} → {}) did not finish: it is {}{at}",
                run.id,
                run.from.as_deref().unwrap_or("nothing"),
                run.to,
                run.state.as_str().replace('_', " ")
            ),
            run.next.clone().unwrap_or_default(),
        )
    }
}

/// The message of a run that failed: where, why, and what state it left.
pub fn failure_message(run: &RunReport) -> String {
    let mut s = format!(
        "upgrade run {} ({} → {})",
        run.id,
        run.from.as_deref().unwrap_or("nothing"),
        run.to
    );
    let failed = run.hops.iter().enumerate().find_map(|(i, h)| {
        h.steps
            .iter()
            .find(|st| st.status == StepStatus::Failed)
            .map(|st| (i, h, st))
    });
    match failed {
        Some((i, h, st)) => s.push_str(&format!(
            " failed at hop {} of {} ({} → {}), {}:\n  {}",
            i + 1,
            run.hops.len(),
            h.from.as_deref().unwrap_or("nothing"),
            h.to,
            st.step.describe(),
            st.detail.replace('\n', "\n  ")
        )),
        None => s.push_str(" did not finish"),
    }
    match &run.state {
        RunState::RolledBack => s.push_str(&format!(
            "\n  rolled back: every step it had taken was undone; the installation is back at {}",
            run.from.as_deref().unwrap_or("a fresh database")
        )),
        RunState::RollbackFailed { hop, step, error } => s.push_str(&format!(
            "\n  the rollback stopped at hop {}, {}: {}\n  help: fix that, then `ferry upgrade --rollback` continues the rollback",
            hop + 1,
            step.describe(),
            error.replace('\n', "\n  ")
        )),
        RunState::Failed { .. } => s.push_str(
            "\n  left as it is for inspection (--no-rollback)\n  help: `ferry upgrade --rollback` undoes it; `ferry upgrade --resume` runs the failed step again",
        ),
        _ => {}
    }
    s
}

/// Refuses when an upgrade run did not finish: until it is resumed or
/// rolled back, changing the database or the config files by hand would
/// leave the run's journal describing something that is no longer there.
pub fn refuse_if_unfinished(store: &mut dyn Store) -> Result<()> {
    match unfinished(store)? {
        Some(run) => Err(unfinished_error(&run)),
        None => Ok(()),
    }
}
