//! The pre-flight and post-upgrade checks: ferry's own (no migration
//! failed part-way, none edited, missing or out of order; the database has
//! the installed release's migrations; no config migration unfinished),
//! then the project's and its releases'. A check changes nothing, so a
//! rollback has nothing to undo.

use crate::check::{self, Check, Phase, Verdict};
use crate::config::migrate as config_migrate;
use crate::migration::State;
use crate::records::run::state::{Event, Outcome, StepKind, Undone};
use crate::upgrade::run::{Ctx, Failure, StepResult, skipped};

impl Ctx<'_> {
    /// The checks of hop `hop`: ferry.toml's, then each of its releases'.
    pub(crate) fn checks_for(&self, hop: usize) -> Vec<Check> {
        let mut out: Vec<Check> = self.inst.project.checks().to_vec();
        if let Some(h) = self.hops.get(hop) {
            for v in &h.releases {
                if let Some(r) = self.inst.manifest.get(v) {
                    out.extend(r.checks.iter().cloned());
                }
            }
        }
        // On a rehearsal's copy without hooks, no service runs the new code:
        // only what looks at the database says something of the copy.
        if self.inst.project.rehearsal() == Some(false) {
            out.retain(|c| matches!(c.kind, crate::check::Kind::Sql { .. }));
        }
        out
    }

    /// Runs `checks` (with `requires` in the pre phase) and turns the
    /// verdicts into the step's outcome: a failure when any blocks.
    pub(crate) fn run_checks(&mut self, hop: usize, phase: Phase, extra: Vec<Verdict>) -> StepResult {
        let checks = self.checks_for(hop);
        let h = &self.hops[hop];
        let (version, requires) = match phase {
            Phase::Pre => (h.from.clone(), h.requires.clone()),
            Phase::Post => (Some(h.to.clone()), Vec::new()),
        };
        // The values the pre-flight of this hop measured, for compare checks.
        let before: Vec<Verdict> = self
            .records
            .iter()
            .filter_map(|r| match &r.event {
                Event::StepDone {
                    hop: h,
                    step: StepKind::Preflight,
                    outcome,
                } if *h == hop => Some(outcome.checks.clone()),
                _ => None,
            })
            .next_back()
            .unwrap_or_default();
        let redactor = self.redactor.clone();
        let redact = move |s: &str| redactor.text(s);
        let skips = self.info.options.skips.clone();
        let probes = self.inst.project.probes().clone();
        let root = self.inst.project.root().to_owned();
        let mut ctx = check::Context {
            migrator: &mut self.migrator,
            url: &self.url,
            root: &root,
            redact: &redact,
            probes: &probes,
            skips: &skips,
        };
        let mut verdicts = extra;
        verdicts.extend(check::requirements(&requires, &mut ctx));
        verdicts.extend(check::run(&checks, phase, version.as_ref(), &mut ctx, &before));
        let failed: Vec<&Verdict> = verdicts.iter().filter(|v| v.blocks()).collect();
        let warned = verdicts
            .iter()
            .filter(|v| v.status == check::Status::Failed && !v.blocks())
            .count();
        let skipped = verdicts.iter().filter(|v| v.status == check::Status::Skipped).count();
        let mut detail = format!(
            "{} of {} checks passed",
            verdicts.iter().filter(|v| v.status == check::Status::Passed).count(),
            verdicts.len()
        );
        if warned > 0 {
            detail.push_str(&format!(", {warned} warned"));
        }
        if skipped > 0 {
            detail.push_str(&format!(", {skipped} skipped"));
        }
        let error = failed
            .iter()
            .map(|c| format!("check `{}` failed: {}", c.name, c.detail))
            .collect::<Vec<_>>()
            .join("\n");
        let outcome = Outcome {
            detail,
            checks: verdicts,
            ..Outcome::default()
        };
        if error.is_empty() {
            Ok(outcome)
        } else {
            Err(Box::new(Failure { error, outcome }))
        }
    }

    pub(crate) fn preflight(&mut self, hop: usize) -> StepResult {
        let status = self.migrator.status(&self.inst.set)?;
        let named = |s: State| -> Vec<String> {
            status
                .migrations
                .iter()
                .filter(|m| m.state == s)
                .map(|m| m.name.clone())
                .collect()
        };
        let mut builtin = vec![
            Verdict::builtin(
                "no migration failed part-way",
                &named(State::Failed),
                "fix the database by hand, then `ferry db repair`",
            ),
            Verdict::builtin(
                "applied migrations are unchanged",
                &named(State::Modified),
                "restore the files as they were applied, or `ferry db repair`",
            ),
            Verdict::builtin(
                "applied migrations still have their files",
                &named(State::Missing),
                "restore the files, or `ferry db repair` to forget them",
            ),
            Verdict::builtin(
                "no pending migration is older than the applied ones",
                &named(State::OutOfOrder),
                "apply them by hand with `ferry db migrate --allow-out-of-order`",
            ),
        ];
        if hop == 0
            && let Some(from) = &self.hops[0].from
        {
            let head = self.inst.manifest.schema_at(from).unwrap_or(0);
            let behind: Vec<String> = status
                .migrations
                .iter()
                .filter(|m| m.version <= head && m.state == State::Pending)
                .map(|m| m.name.clone())
                .collect();
            builtin.push(Verdict::builtin(
                &format!("the database has every migration of {from}"),
                &behind,
                &format!("apply them with `ferry db migrate --to {head}` first"),
            ));
        }
        let writing: Vec<String> = config_migrate::records(&mut *self.store)?
            .last()
            .filter(|r| !r.is_applied())
            .map(|r| vec![format!("the config migration to {} did not finish", r.to)])
            .unwrap_or_default();
        builtin.push(Verdict::builtin(
            "no config migration is unfinished",
            &writing,
            "run `ferry config revert`",
        ));
        self.run_checks(hop, Phase::Pre, builtin)
    }

    pub(crate) fn verify_step(&mut self, hop: usize) -> StepResult {
        let outcome = self.run_checks(hop, Phase::Post, Vec::new())?;
        if outcome.checks.is_empty() {
            return Ok(skipped("no checks ([[checks]] in ferry.toml or the release files)"));
        }
        Ok(outcome)
    }

    /// Checks change nothing.
    pub(crate) fn undo_checks(&self) -> Undone {
        Undone::NothingToUndo
    }
}
