//! A run's records and the state they add up to: a typed state machine,
//! folded from the journal, never a string.
//!
//! ```text
//! Planned → Running{hop, step} → … → Done
//!              │
//!              └→ Failed{hop, step} → RollingBack{hop, step} → RolledBack
//!                                              └→ RollbackFailed{hop, step}
//! ```
//!
//! A run whose journal says `Planned`, `Running`, `Failed` (without an end)
//! or `RollingBack` while no process holds the run lock was interrupted.

use serde::{Deserialize, Serialize};

use crate::records::hook::HookRun;

/// How a rollback undid a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Undone {
    /// The step (a check, a backup not taken) has nothing to undo.
    NothingToUndo,
    /// Nothing was there to undo, though the step ran.
    Nothing {
        /// Why, in words.
        why: String,
    },
    /// The step is not undone (hooks: the after_rollback hooks run at the end).
    NotUndone {
        /// Why, in words.
        why: String,
    },
    /// The backup the step took is kept.
    BackupKept {
        /// The backup.
        backup: String,
    },
    /// Migrations reverted with their down scripts.
    Reverted {
        /// How many.
        migrations: usize,
        /// They were post-deploy migrations.
        post_deploy: bool,
    },
    /// The database restored from a backup.
    Restored {
        /// The backup.
        backup: String,
    },
    /// Undone by the restore of a backup, at another step.
    ByRestore {
        /// The backup.
        backup: String,
    },
    /// Config files restored byte for byte.
    ConfigRestored {
        /// How many.
        files: usize,
    },
    /// The release table taken back to what it said before.
    ReleaseRestored {
        /// The release recorded again; none when nothing was.
        release: Option<String>,
    },
    /// The restore of a backup brings the recorded release back.
    ReleaseByRestore,
    /// It could not be undone.
    Failed {
        /// Why.
        error: String,
    },
    /// Written by an earlier ferry, in words only.
    Described {
        /// How, in words.
        how: String,
    },
}

impl Undone {
    /// False for a step with nothing to undo and for hooks: a report need
    /// not say so for each.
    pub fn worth_showing(&self) -> bool {
        !matches!(self, Undone::NothingToUndo | Undone::NotUndone { .. })
    }
}

impl std::fmt::Display for Undone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match self {
            Undone::NothingToUndo => f.write_str("nothing to undo"),
            Undone::Nothing { why } | Undone::NotUndone { why } => f.write_str(why),
            Undone::BackupKept { backup } => write!(f, "backup {backup} is kept"),
            Undone::Reverted {
                migrations: n,
                post_deploy: true,
            } => write!(
                f,
                "reverted {n} post-deploy migration{} with {} down script{}",
                plural(*n),
                if *n == 1 { "its" } else { "their" },
                plural(*n)
            ),
            Undone::Reverted { migrations: 1, .. } => f.write_str("reverted 1 migration with its down script"),
            Undone::Reverted { migrations: n, .. } => write!(f, "reverted {n} migrations with their down scripts"),
            Undone::Restored { backup } => write!(f, "the database restored from backup {backup}"),
            Undone::ByRestore { backup } => write!(f, "undone by the restore of backup {backup}"),
            Undone::ConfigRestored { files } => {
                write!(f, "{files} config file{} restored byte for byte", plural(*files))
            }
            Undone::ReleaseRestored { release: Some(v) } => write!(f, "{v} is the recorded release again"),
            Undone::ReleaseRestored { release: None } => {
                f.write_str("the release table is as it was (nothing recorded)")
            }
            Undone::ReleaseByRestore => f.write_str("the restore brings the recorded release back"),
            Undone::Failed { error } => write!(f, "FAILED: {error}"),
            Undone::Described { how } => f.write_str(how),
        }
    }
}

/// The steps of one hop, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Checks that must hold before anything changes.
    Preflight,
    /// The `before` hooks (stop the service, maintenance mode on).
    HooksBefore,
    /// The backup the policy asks for, verified.
    Backup,
    /// The hop's config-file changes.
    Config,
    /// The database migrations up to the hop's schema head.
    Migrate,
    /// The hop's release recorded as installed.
    Record,
    /// The `after` hooks (start the service, maintenance mode off).
    HooksAfter,
    /// The post-upgrade checks.
    Verify,
    /// The hop's post-deploy migrations, once the new code runs and its
    /// checks pass (only in hops that have some).
    PostDeploy,
}

/// Every step, in order.
pub const STEPS: [StepKind; 9] = [
    StepKind::Preflight,
    StepKind::HooksBefore,
    StepKind::Backup,
    StepKind::Config,
    StepKind::Migrate,
    StepKind::Record,
    StepKind::HooksAfter,
    StepKind::Verify,
    StepKind::PostDeploy,
];

/// The steps of a hop, in order: post-deploy migrations only in a hop that has some.
pub fn steps_of_hop(post_deploy: bool) -> impl Iterator<Item = StepKind> {
    STEPS
        .into_iter()
        .filter(move |s| post_deploy || *s != StepKind::PostDeploy)
}

impl StepKind {
    /// The word used in output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Preflight => "preflight",
            StepKind::HooksBefore => "hooks_before",
            StepKind::Backup => "backup",
            StepKind::Config => "config",
            StepKind::Migrate => "migrate",
            StepKind::Record => "record",
            StepKind::HooksAfter => "hooks_after",
            StepKind::Verify => "verify",
            StepKind::PostDeploy => "post_deploy",
        }
    }

    /// What the step does, for people.
    pub fn describe(self) -> &'static str {
        match self {
            StepKind::Preflight => "pre-flight checks",
            StepKind::HooksBefore => "before hooks",
            StepKind::Backup => "backup",
            StepKind::Config => "config files",
            StepKind::Migrate => "database migrations",
            StepKind::Record => "record the release",
            StepKind::HooksAfter => "after hooks",
            StepKind::Verify => "post-upgrade checks",
            StepKind::PostDeploy => "post-deploy migrations",
        }
    }
}

/// What was there before a step, for undoing it. Written with the step's
/// start record, so a step killed before it said it was done can still be
/// undone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Before {
    /// The database's newest applied migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<u64>,
    /// The release recorded as installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The newest row of the release table (0: none), which undoing the
    /// step takes the table back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_seq: Option<i64>,
}

/// What a step did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outcome {
    /// In words.
    pub detail: String,
    /// How long it took.
    pub ms: u64,
    /// Skipped: there was nothing for it to do.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// The backup it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// The config migration it recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_record: Option<String>,
    /// The migrations it applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<String>,
    /// The hooks it ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRun>,
    /// The checks it ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::records::check::Verdict>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Every hop done.
    Done,
    /// Undone: the installation is as before the run (or the rollback's target).
    RolledBack,
}

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Its position, from 1.
    pub seq: u64,
    /// When, UTC.
    pub at: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// How a rollback takes the database back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum WayBack {
    /// Down scripts, hop by hop.
    Downs,
    /// The run's backup, restored when the undo reaches hop `hop`.
    Restore {
        /// The backup.
        backup: String,
        /// The hop it was taken before.
        hop: usize,
    },
    /// Nothing changed the database.
    Nothing,
    /// No way back.
    None {
        /// Why.
        why: String,
    },
}

/// What a journal records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A process started (or resumed) the run.
    Started {
        /// Its process id.
        pid: u32,
        /// True when it resumes an interrupted run.
        #[serde(default)]
        resumed: bool,
    },
    /// A step starts; nothing of it has happened yet.
    StepStarted {
        /// The hop, from 0.
        hop: usize,
        /// The step.
        step: StepKind,
        /// What to undo it to.
        before: Before,
    },
    /// A step ended well.
    StepDone {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// What it did.
        outcome: Outcome,
    },
    /// A step failed.
    StepFailed {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// Why, secrets redacted.
        error: String,
        /// What it did before failing (hooks that ran, checks).
        outcome: Outcome,
    },
    /// `on_failure` or `after_rollback` hooks ran.
    Hooks {
        /// What ran.
        hooks: Vec<HookRun>,
    },
    /// The process stopped the run at a safe point, asked to by a signal
    /// (SIGTERM, as Kubernetes sends a pod it stops): nothing is half done;
    /// `--resume` goes on (or `--rollback` goes on with a rollback).
    Stopped {
        /// Its process id.
        pid: u32,
        /// The signal.
        signal: i32,
    },
    /// A rollback starts (after a failure, on `--rollback`, or `ferry rollback`).
    RollbackStarted {
        /// Its process id.
        pid: u32,
        /// Why.
        reason: String,
        /// Undo down to the start of this hop (0: the whole run).
        #[serde(default)]
        to_hop: usize,
        /// Restore the database from the backup even where down scripts exist.
        #[serde(default)]
        restore: bool,
        /// How the database goes back, as chosen when the rollback started:
        /// a rollback continued after a kill goes on the same way (a restore
        /// stopped part-way is finished, not second-guessed from a database
        /// it left half-swapped).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        way: Option<WayBack>,
    },
    /// A step is being undone.
    UndoStarted {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
    },
    /// A step was undone.
    UndoDone {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// How, in words (what journals of earlier versions hold alone).
        how: String,
        /// How.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undone: Option<Undone>,
    },
    /// A step could not be undone.
    UndoFailed {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// Why.
        error: String,
    },
    /// The watched metrics' values before the first hop, for their limits
    /// relative to them.
    WatchBaseline {
        /// One per metric with a relative limit.
        baselines: Vec<crate::records::watch::Baseline>,
    },
    /// The watch window starts, after the last hop.
    WatchStarted {
        /// How long it watches, in milliseconds.
        duration_ms: u64,
        /// How many rounds of readings that is.
        rounds: u32,
    },
    /// One round of readings.
    WatchRound {
        /// The readings.
        round: crate::records::watch::Round,
    },
    /// The watch ended.
    WatchEnded {
        /// What the readings add up to.
        #[serde(flatten)]
        verdict: crate::records::watch::Verdict,
        /// For a warning: whether the upgrade is kept.
        #[serde(default)]
        kept: bool,
    },
    /// The run ended.
    Finished {
        /// How.
        end: End,
    },
}

/// Where a run stands, folded from its journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunState {
    /// Started; no step yet.
    Planned,
    /// Between or inside steps: the last step touched, and whether it is
    /// still open (started, not done).
    Running {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// True when the step started and did not finish.
        open: bool,
    },
    /// Every hop done; watching the metrics (the last step touched).
    Watching {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
    },
    /// A step failed and no rollback started yet.
    Failed {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// Why.
        error: String,
    },
    /// Being undone.
    RollingBack {
        /// The last step touched by the rollback.
        hop: usize,
        /// The step.
        step: StepKind,
    },
    /// A step could not be undone.
    RollbackFailed {
        /// The hop.
        hop: usize,
        /// The step.
        step: StepKind,
        /// Why.
        error: String,
    },
    /// Every hop done.
    Done,
    /// Undone.
    RolledBack,
}

impl RunState {
    /// The state a journal's records add up to.
    pub fn of(records: &[Record]) -> RunState {
        let mut state = RunState::Planned;
        for r in records {
            state = match (&r.event, &state) {
                (Event::Started { .. }, s) => s.clone(),
                (Event::StepStarted { hop, step, .. }, _) => RunState::Running {
                    hop: *hop,
                    step: *step,
                    open: true,
                },
                (Event::StepDone { hop, step, .. }, _) => RunState::Running {
                    hop: *hop,
                    step: *step,
                    open: false,
                },
                (Event::StepFailed { hop, step, error, .. }, _) => RunState::Failed {
                    hop: *hop,
                    step: *step,
                    error: error.clone(),
                },
                (Event::Hooks { .. } | Event::WatchBaseline { .. } | Event::Stopped { .. }, s) => s.clone(),
                (Event::WatchStarted { .. } | Event::WatchRound { .. } | Event::WatchEnded { .. }, s) => {
                    match s.position() {
                        Some((hop, step)) => RunState::Watching { hop, step },
                        None => s.clone(),
                    }
                }
                (Event::RollbackStarted { .. }, s) => {
                    let (hop, step) = s.position().unwrap_or((0, StepKind::Preflight));
                    RunState::RollingBack { hop, step }
                }
                (Event::UndoStarted { hop, step } | Event::UndoDone { hop, step, .. }, _) => {
                    RunState::RollingBack { hop: *hop, step: *step }
                }
                (Event::UndoFailed { hop, step, error }, _) => RunState::RollbackFailed {
                    hop: *hop,
                    step: *step,
                    error: error.clone(),
                },
                (Event::Finished { end: End::Done }, _) => RunState::Done,
                (Event::Finished { end: End::RolledBack }, _) => RunState::RolledBack,
            };
        }
        state
    }

    /// True once the run has ended, well or undone.
    pub fn is_finished(&self) -> bool {
        matches!(self, RunState::Done | RunState::RolledBack)
    }

    /// The hop and step the state is at, when it is at one.
    pub fn position(&self) -> Option<(usize, StepKind)> {
        match self {
            RunState::Running { hop, step, .. }
            | RunState::Watching { hop, step }
            | RunState::Failed { hop, step, .. }
            | RunState::RollingBack { hop, step }
            | RunState::RollbackFailed { hop, step, .. } => Some((*hop, *step)),
            _ => None,
        }
    }

    /// The word used in output and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunState::Planned => "planned",
            RunState::Running { .. } => "running",
            RunState::Watching { .. } => "watching",
            RunState::Failed { .. } => "failed",
            RunState::RollingBack { .. } => "rolling_back",
            RunState::RollbackFailed { .. } => "rollback_failed",
            RunState::Done => "done",
            RunState::RolledBack => "rolled_back",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            at: String::new(),
            event,
        }
    }

    #[test]
    fn the_journal_folds_into_a_state() {
        let mut r = vec![rec(1, Event::Started { pid: 1, resumed: false })];
        assert_eq!(RunState::of(&r), RunState::Planned);
        r.push(rec(
            2,
            Event::StepStarted {
                hop: 0,
                step: StepKind::Migrate,
                before: Before::default(),
            },
        ));
        assert_eq!(
            RunState::of(&r),
            RunState::Running {
                hop: 0,
                step: StepKind::Migrate,
                open: true
            }
        );
        r.push(rec(
            3,
            Event::StepFailed {
                hop: 0,
                step: StepKind::Migrate,
                error: "boom".into(),
                outcome: Outcome::default(),
            },
        ));
        assert!(matches!(RunState::of(&r), RunState::Failed { .. }));
        r.push(rec(
            4,
            Event::RollbackStarted {
                pid: 1,
                reason: "failed".into(),
                to_hop: 0,
                restore: false,
                way: None,
            },
        ));
        assert_eq!(
            RunState::of(&r),
            RunState::RollingBack {
                hop: 0,
                step: StepKind::Migrate
            }
        );
        r.push(rec(5, Event::Finished { end: End::RolledBack }));
        assert!(RunState::of(&r).is_finished());
        // Records read back from JSON are the same records.
        let line = serde_json::to_string(&r[1]).unwrap();
        assert!(line.contains("\"event\":\"step_started\""), "{line}");
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r[1]);
    }
}
