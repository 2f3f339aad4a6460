//! A run at work: the context it holds (locks, connection, journal), the
//! forward pass over hops and steps, and what each step does. Every step is
//! announced in the journal, synced, before it acts, and each is written so
//! that running it again after a kill finishes what it started instead of
//! doing it twice.

use std::time::Instant;

use super::journal::{Journal, RunInfo, RunLock};
use super::{Notice, Progress};
use crate::backup;
use crate::check::{self, Check, Phase, Verdict};
use crate::config::migrate as config_migrate;
use crate::error::{Error, Result};
use crate::hooks::{self, HookRun};
use crate::migration::{MigrateOptions, Phases, State};
use crate::migrator::{Event as MigrationEvent, Migrator, Observer};
use crate::plan::Hop;
use crate::project::BackupRule;
use crate::project::Installation;
use crate::project::hook::{Hook, When};
use crate::records::run::state::{Before, Event, Outcome, Record, StepKind, steps_of_hop};
use crate::redact::Redactor;
use crate::url::DatabaseUrl;
use crate::version::Version;

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

type StepResult = std::result::Result<Outcome, Box<Failure>>;

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
    pub config: config_migrate::Lock,
    pub redactor: Redactor,
    pub _run: RunLock,
}

/// Forwards the migrator's progress to the run's.
struct Forward<'p>(&'p mut dyn Progress);

impl Observer for Forward<'_> {
    fn event(&mut self, event: MigrationEvent<'_>) {
        self.0.migration(event);
    }
}

impl Ctx<'_> {
    /// Appends to the journal (synced) and keeps the record.
    pub fn append(&mut self, event: Event) -> Result<()> {
        let r = self.journal.append(event)?;
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

    /// Runs the hops from `start` on. `Ok(Err(..))` is a step that failed
    /// (already journaled); `Err` is the journal itself failing.
    pub fn forward(&mut self, start: (usize, StepKind)) -> Result<std::result::Result<(), (usize, StepKind)>> {
        for hop in start.0..self.hops.len() {
            let post_deploy = self.hops[hop].has_post_deploy();
            for step in steps_of_hop(post_deploy) {
                if hop == start.0 && step < start.1 {
                    continue;
                }
                self.progress.notice(Notice::Step {
                    hop,
                    hops: self.hops.len(),
                    to: &self.hops[hop].to.to_string(),
                    step,
                });
                let before = self.before(step)?;
                let started = self.journal.started(hop, step, before)?;
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
                        let done = self.journal.done(seq, hop, step, outcome)?;
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

    /// The checks of hop `hop`: ferry.toml's, then each of its releases'.
    fn checks_for(&self, hop: usize) -> Vec<Check> {
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
    fn run_checks(&mut self, hop: usize, phase: Phase, extra: Vec<Verdict>) -> StepResult {
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

    fn preflight(&mut self, hop: usize) -> StepResult {
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
        let writing: Vec<String> = config_migrate::records(self.config.state())?
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

    fn hooks_step(&mut self, hop: usize, when: When) -> StepResult {
        let hooks = self.hooks_for(hop..=hop, when);
        if hooks.is_empty() {
            return Ok(skipped("no hooks"));
        }
        let (runs, ok) = self.run_hooks(hop, &hooks);
        let detail = runs
            .iter()
            .map(|r| format!("{} ({})", r.name, r.ended))
            .collect::<Vec<_>>()
            .join(", ");
        let outcome = Outcome {
            detail,
            hooks: runs.clone(),
            ..Outcome::default()
        };
        if ok {
            Ok(outcome)
        } else {
            let last = runs.last().expect("a hook failed");
            Err(Box::new(Failure {
                error: format!(
                    "hook `{}` {}{}",
                    last.name,
                    last.ended,
                    if last.output.trim().is_empty() {
                        String::new()
                    } else {
                        format!("; its output ends with:\n{}", tail(&last.output, 10))
                    },
                ),
                outcome,
            }))
        }
    }

    fn backup_step(&mut self, hop: usize) -> StepResult {
        let rule = self.hops[hop].backup;
        if let Some((id, _)) = self.backup() {
            return Ok(skipped(&format!("the run's backup {id} covers this hop")));
        }
        match rule {
            BackupRule::None => return Ok(skipped("the policy asks for none")),
            BackupRule::Recommended if self.info.options.no_backup => {
                return Ok(skipped("recommended by the policy, skipped with --no-backup"));
            }
            _ => {}
        }
        let store = self.inst.backups();
        let context = self.inst.backup_context(&mut self.migrator);
        let label = format!("before {}", self.hops[hop].to);
        let entry = backup::create(
            &store,
            self.inst.project.backup(),
            self.inst.project.root(),
            &self.url,
            &mut self.migrator,
            &context,
            Some(&label),
        )?;
        let verified = backup::verify(&store, &entry)?;
        if !verified.ok {
            let damage: Vec<String> = verified
                .damage
                .iter()
                .map(|d| format!("{}: {}", d.member, d.problem))
                .collect();
            return Err(Box::new(Failure {
                error: format!("backup {} does not verify: {}", entry.id, damage.join("; ")),
                outcome: Outcome::default(),
            }));
        }
        Ok(Outcome {
            detail: format!(
                "backup {} taken and verified ({} {})",
                entry.id,
                rule.as_str(),
                "by the policy"
            ),
            backup: Some(entry.id),
            ..Outcome::default()
        })
    }

    fn config_tag(&self, hop: usize) -> String {
        format!("{}#{hop}", self.info.id)
    }

    fn config_step(&mut self, hop: usize) -> StepResult {
        let tag = self.config_tag(hop);
        let records = config_migrate::records(self.config.state())?;
        if let Some(last) = records.last()
            && last.run.as_deref() == Some(tag.as_str())
        {
            if last.is_applied() {
                // Done before the kill, not yet journaled.
                return Ok(Outcome {
                    detail: format!("migrated to {} (record {})", last.to, last.id),
                    config_record: Some(last.id.clone()),
                    ..Outcome::default()
                });
            }
            // Stopped while writing: put the files back, then do it again.
            config_migrate::revert_locked(&self.config, false)?;
        }
        let h = &self.hops[hop];
        let Some(hop_from) = h.from.clone() else {
            return Ok(skipped("a fresh install ships its config files in the new shape"));
        };
        // Where the files are: the hop's start, or further if migrated by hand.
        let at = config_migrate::current(self.config.state())?.filter(|v| *v > hop_from);
        let from = at.clone().unwrap_or(hop_from);
        if from >= h.to {
            return Ok(skipped(&format!("the config files are already at {from}")));
        }
        let steps: Vec<config_migrate::Step<'_>> =
            config_migrate::steps_of(&self.inst.manifest, std::slice::from_ref(h))
                .into_iter()
                .flatten()
                .filter(|s| *s.version > from)
                .collect();
        if steps.iter().all(|s| s.changes.is_empty()) {
            return Ok(skipped("no config changes in this hop"));
        }
        let dir = self.inst.project.config_dir()?;
        let prepared = config_migrate::prepare(&dir, &steps)?;
        let to = h.to.clone();
        let record = config_migrate::apply_locked(&self.config, &prepared, Some(&from), &to, Some(&tag))?;
        let files: Vec<String> = prepared.changed().map(|f| f.shown.clone()).collect();
        Ok(match record {
            Some(r) => Outcome {
                detail: format!(
                    "{} file{} migrated to {to}: {}",
                    files.len(),
                    plural(files.len()),
                    files.join(", ")
                ),
                config_record: Some(r.id),
                ..Outcome::default()
            },
            None => skipped("the config files need no change"),
        })
    }

    fn migrate_step(&mut self, hop: usize, phases: Phases) -> StepResult {
        let head = self.hops[hop].schema_after;
        if head == 0 || self.inst.set.get(head).is_none() {
            return Ok(skipped("the release needs no migration"));
        }
        let opts = MigrateOptions {
            to: Some(head),
            allow_out_of_order: false,
            phases,
            refuse_unmanaged: true,
        };
        if self.migrator.plan_migrate(&self.inst.set, opts)?.is_empty() {
            let current = self.migrator.status(&self.inst.set)?.current.unwrap_or(0);
            return Ok(skipped(&match phases {
                Phases::PostDeploy => "no post-deploy migration in this hop".to_owned(),
                _ => format!("the database is at migration {current} already"),
            }));
        }
        let report = self
            .migrator
            .migrate(&self.inst.set, opts, &mut Forward(&mut *self.progress))?;
        let applied: Vec<String> = report.steps.iter().map(|s| s.name.clone()).collect();
        Ok(Outcome {
            detail: format!("applied {} migration{}", applied.len(), plural(applied.len())),
            applied,
            ..Outcome::default()
        })
    }

    fn record_step(&mut self, hop: usize) -> StepResult {
        let to = self.hops[hop].to.clone();
        if self
            .migrator
            .installed()?
            .is_some_and(|r| Version::parse(&r.version).ok().as_ref() == Some(&to) && r.source == "upgrade")
        {
            return Ok(skipped(&format!("{to} is recorded already")));
        }
        self.migrator.record_release(&to, "upgrade")?;
        Ok(Outcome {
            detail: format!("{to} recorded as installed"),
            ..Outcome::default()
        })
    }

    fn verify_step(&mut self, hop: usize) -> StepResult {
        let outcome = self.run_checks(hop, Phase::Post, Vec::new())?;
        if outcome.checks.is_empty() {
            return Ok(skipped("no checks ([[checks]] in ferry.toml or the release files)"));
        }
        Ok(outcome)
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

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
