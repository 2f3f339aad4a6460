//! A run at work: the context it holds (locks, connection, journal) and the
//! forward pass over hops and steps. What each step does, and how a
//! rollback undoes it, is in `steps/`, one file per step. Every step is
//! announced in the journal, synced, before it acts, and each is written so
//! that running it again after a kill finishes what it started instead of
//! doing it twice.

use std::time::Instant;

use super::{Notice, Progress};
use crate::error::{Error, Result};
use crate::hooks::{self, HookRun};
use crate::migration::Phases;
use crate::migrator::{Event as MigrationEvent, Migrator, Observer};
use crate::plan::Hop;
use crate::project::Installation;
use crate::project::hook::{Hook, When};
use crate::records::run::journal::{Journal, RunInfo};
use crate::records::run::state::{Before, Event, Outcome, Record, StepKind, steps_of_hop};
use crate::redact::Redactor;
use crate::state::Store;
use crate::url::DatabaseUrl;

/// A step that did not succeed: why, and what it did before that.
pub(crate) struct Failure {
    pub error: String,
    pub outcome: Outcome,
}

impl From<Error> for Box<Failure> {
    fn from(e: Error) -> Self {
        Box::new(Failure {
            error: e.to_string(),
            outcome: Outcome::default(),
        })
    }
}

pub(crate) type StepResult = std::result::Result<Outcome, Box<Failure>>;

/// Everything a run holds while it works. Dropping it releases the locks.
pub(crate) struct Ctx<'a> {
    pub inst: &'a Installation,
    pub url: DatabaseUrl,
    pub migrator: Migrator,
    pub journal: Journal,
    pub info: RunInfo,
    pub hops: Vec<Hop>,
    pub records: Vec<Record>,
    pub progress: &'a mut dyn Progress,
    /// The run state: the journal, config records.
    pub store: Box<dyn Store>,
    pub redactor: Redactor,
}

/// Forwards the migrator's progress to the run's.
pub(crate) struct Forward<'p>(pub &'p mut dyn Progress);

impl Observer for Forward<'_> {
    fn event(&mut self, event: MigrationEvent<'_>) {
        self.0.migration(event);
    }
}

impl Ctx<'_> {
    /// Appends to the journal (synced) and keeps the record.
    pub fn append(&mut self, event: Event) -> Result<()> {
        let r = self.journal.append(&mut *self.store, &self.records, event)?;
        self.records.push(r);
        Ok(())
    }

    /// Text that may quote secrets, made safe to keep.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.text(text)
    }

    /// The run's backup, if a step took one: (id, hop).
    pub fn backup(&self) -> Option<(String, usize)> {
        self.records.iter().find_map(|r| match &r.event {
            Event::StepDone {
                hop,
                step: StepKind::Backup,
                outcome,
            } => outcome.backup.clone().map(|b| (b, *hop)),
            _ => None,
        })
    }

    /// The hooks of `when` for hop `hop`: ferry.toml's, then those of each
    /// release the hop brings, oldest first.
    pub fn hooks_for(&self, hops: std::ops::RangeInclusive<usize>, when: When) -> Vec<Hook> {
        let mut out: Vec<Hook> = self
            .inst
            .project
            .hooks()
            .iter()
            .filter(|h| h.when == when)
            .cloned()
            .collect();
        // A rehearsal's copy runs no hook unless asked to.
        let release_hooks = self.inst.project.rehearsal() != Some(false);
        for i in hops.filter(|_| release_hooks) {
            let Some(hop) = self.hops.get(i) else { continue };
            for v in &hop.releases {
                if let Some(r) = self.inst.manifest.get(v) {
                    out.extend(r.hooks.iter().filter(|h| h.when == when).cloned());
                }
            }
        }
        out
    }

    /// Runs `hooks` in order, stopping at the first that fails.
    pub fn run_hooks(&mut self, hop: usize, hooks: &[Hook]) -> (Vec<HookRun>, bool) {
        let h = self.hops.get(hop.min(self.hops.len().saturating_sub(1)));
        let mut env = vec![
            ("FERRY_FROM".to_owned(), self.info.from.clone().unwrap_or_default()),
            ("FERRY_TO".to_owned(), self.info.to.clone()),
            (
                "FERRY_HOP_FROM".to_owned(),
                h.and_then(|h| h.from.as_ref())
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            (
                "FERRY_HOP_TO".to_owned(),
                h.map(|h| h.to.to_string()).unwrap_or_default(),
            ),
            ("FERRY_DATABASE_URL".to_owned(), self.url.expose_secret().to_owned()),
            (
                "FERRY_PROJECT".to_owned(),
                std::fs::canonicalize(self.inst.project.root())
                    .unwrap_or_else(|_| self.inst.project.root().to_owned())
                    .display()
                    .to_string(),
            ),
            ("FERRY_RUN".to_owned(), self.info.id.clone()),
        ];
        let mut runs = Vec::new();
        for hook in hooks {
            env.retain(|(k, _)| k != "FERRY_HOOK");
            env.push(("FERRY_HOOK".to_owned(), hook.when.as_str().to_owned()));
            let redactor = self.redactor.clone();
            // Hooks run in the project's folder (on a rehearsal, the copy's),
            // wherever ferry was started from: `./scripts/stop.sh` and what a
            // hook writes with a relative path mean the same with `--project`.
            let dir = Some(self.inst.project.root());
            let ran = hooks::run(hook, &env, dir, &move |s: &str| redactor.text(s));
            let ok = ran.ok;
            runs.push(ran);
            if !ok {
                return (runs, false);
            }
        }
        (runs, true)
    }

    /// What undoing `step` will need to know, read before it starts.
    fn before(&mut self, step: StepKind) -> Result<Before> {
        Ok(match step {
            StepKind::Migrate | StepKind::PostDeploy => Before {
                schema: Some(self.migrator.status(&self.inst.set)?.current.unwrap_or(0)),
                ..Before::default()
            },
            StepKind::Record => Before {
                release: self.migrator.installed()?.map(|r| r.version),
                release_seq: Some(self.migrator.installed_seq()?),
                ..Before::default()
            },
            _ => Before::default(),
        })
    }

    /// Stops the run here when a signal asked for it: journaled, then
    /// [`Error::Stopped`].
    pub(crate) fn stop_if_asked(&mut self, at: impl FnOnce() -> String) -> Result<()> {
        let Some(signal) = crate::process::stop_asked() else {
            return Ok(());
        };
        self.append(Event::Stopped {
            pid: std::process::id(),
            signal,
        })?;
        Err(Error::Stopped { signal, at: at() })
    }

    /// Runs the hops from `start` on. `Ok(Err(..))` is a step that failed
    /// (already journaled); `Err` is the journal itself failing.
    pub fn forward(&mut self, start: (usize, StepKind)) -> Result<std::result::Result<(), (usize, StepKind)>> {
        for hop in start.0..self.hops.len() {
            let post_deploy = self.hops[hop].has_post_deploy();
            for step in steps_of_hop(post_deploy) {
                if hop == start.0 && step < start.1 {
                    continue;
                }
                // A safe point: the step before is journaled as done.
                let hops = self.hops.len();
                self.stop_if_asked(|| format!("before hop {} of {hops}, {}", hop + 1, step.describe()))?;
                self.progress.notice(Notice::Step {
                    hop,
                    hops: self.hops.len(),
                    to: &self.hops[hop].to.to_string(),
                    step,
                });
                let before = self.before(step)?;
                let started = self
                    .journal
                    .started(&mut *self.store, &self.records, hop, step, before)?;
                let seq = started.seq;
                self.records.push(started);
                let began = Instant::now();
                match self.act(hop, step) {
                    Ok(mut outcome) => {
                        outcome.ms = began.elapsed().as_millis() as u64;
                        self.progress.notice(Notice::StepDone {
                            hop,
                            step,
                            outcome: &outcome,
                        });
                        let done = self
                            .journal
                            .done(&mut *self.store, &self.records, seq, (hop, step), outcome)?;
                        self.records.push(done);
                    }
                    Err(mut f) => {
                        f.outcome.ms = began.elapsed().as_millis() as u64;
                        let error = self.redact(&f.error);
                        self.progress.notice(Notice::StepFailed {
                            hop,
                            step,
                            error: &error,
                        });
                        self.append(Event::StepFailed {
                            hop,
                            step,
                            error,
                            outcome: f.outcome,
                        })?;
                        return Ok(Err((hop, step)));
                    }
                }
            }
        }
        Ok(Ok(()))
    }

    fn act(&mut self, hop: usize, step: StepKind) -> StepResult {
        match step {
            StepKind::Preflight => self.preflight(hop),
            StepKind::HooksBefore => self.hooks_step(hop, When::Before),
            StepKind::Backup => self.backup_step(hop),
            StepKind::Config => self.config_step(hop),
            StepKind::Migrate => self.migrate_step(hop, Phases::PreDeploy),
            StepKind::Record => self.record_step(hop),
            StepKind::HooksAfter => self.hooks_step(hop, When::After),
            StepKind::Verify => self.verify_step(hop),
            StepKind::PostDeploy => self.migrate_step(hop, Phases::PostDeploy),
        }
    }
}

pub(crate) fn skipped(why: &str) -> Outcome {
    Outcome {
        detail: why.to_owned(),
        skipped: true,
        ..Outcome::default()
    }
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
