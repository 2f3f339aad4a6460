//! `ferry upgrade --dry-run`: every step the run would take, with the SQL
//! it would send and the diff it would make to the config files. Takes no
//! lock and changes nothing.

use serde::Serialize;

use crate::check::Phase;
use crate::error::{Error, Result};
use crate::migration::Step;
use crate::plan::{self, UpgradePlan};
use crate::project::BackupRule;
use crate::project::hook::When;
use crate::project::{Access, Installation};
use crate::records::run::journal::RunOptions;
use crate::records::run::state::{StepKind, steps_of_hop};
use crate::version::Version;

/// One step as the run would take it.
#[derive(Debug, Clone, Serialize)]
pub struct DryStep {
    /// The step.
    pub step: StepKind,
    /// What it would do, in a line.
    pub what: String,
    /// The SQL, the diff or the commands, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One hop as the run would take it.
#[derive(Debug, Clone, Serialize)]
pub struct DryHop {
    /// Before.
    pub from: Option<String>,
    /// After.
    pub to: String,
    /// Its steps.
    pub steps: Vec<DryStep>,
}

/// What `ferry upgrade` would do.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    /// The plan.
    pub plan: UpgradePlan,
    /// Each hop's steps.
    pub hops: Vec<DryHop>,
}

/// The checks of a hop: ferry.toml's, then its releases'.
pub(crate) fn checks_of(inst: &Installation, hop: &plan::Hop) -> Vec<crate::check::Check> {
    let mut out = inst.project.checks().to_vec();
    for v in &hop.releases {
        if let Some(r) = inst.manifest.get(v) {
            out.extend(r.checks.iter().cloned());
        }
    }
    out
}

/// Plans the upgrade to `to` and says what each step would do.
pub fn dry_run(inst: &Installation, access: &Access, to: Option<&Version>, options: RunOptions) -> Result<DryRun> {
    let mut store = inst.state(access)?;
    if let Some(run) = super::unfinished(&mut *store)? {
        return Err(super::unfinished_error(&run));
    }
    let (mut migrator, _) = inst.connect(access)?;
    let observed = inst.observe(&mut migrator)?;
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
    inst.annotate(&mut *store, &mut plan)?;
    // The watch as this run would keep it.
    if options.no_watch {
        plan.watch = None;
    } else if let (Some(w), Some(ms)) = (plan.watch.as_mut(), options.watch_ms) {
        w.duration = std::time::Duration::from_millis(ms);
    }
    let previews = match inst.project.config_dir() {
        Ok(dir) => crate::config::migrate::preview(&dir, &inst.manifest, &plan.hops)
            .into_iter()
            .map(|p| p.map_err(|e| e.to_string()))
            .collect(),
        Err(e) => plan.hops.iter().map(|_| Err(e.to_string())).collect::<Vec<_>>(),
    };
    let hook_lines = |hop: &plan::Hop, when: When| -> Vec<String> {
        let mut hooks: Vec<&crate::project::hook::Hook> =
            inst.project.hooks().iter().filter(|h| h.when == when).collect();
        for v in &hop.releases {
            if let Some(r) = inst.manifest.get(v) {
                hooks.extend(r.hooks.iter().filter(|h| h.when == when));
            }
        }
        hooks.iter().map(|h| format!("$ {}", h.run.display())).collect()
    };
    let mut backup_taken = false;
    let mut hops = Vec::new();
    for (i, hop) in plan.hops.iter().enumerate() {
        let mut steps = Vec::new();
        for step in steps_of_hop(hop.has_post_deploy()) {
            let (what, detail) = match step {
                StepKind::Preflight => {
                    let mut lines: Vec<String> = hop
                        .requires
                        .iter()
                        .map(|c| format!("{} >= {}", c.name, c.min.as_deref().unwrap_or("any")))
                        .collect();
                    lines.extend(
                        checks_of(inst, hop)
                            .iter()
                            .filter(|c| c.applies(Phase::Pre, hop.from.as_ref()))
                            .map(|c| format!("{}: {}", c.name, c.describe())),
                    );
                    (
                        "check the database is clean (no failed, edited, missing or out-of-order migrations), no config migration is unfinished, and the hop's requirements and checks".to_owned(),
                        (!lines.is_empty()).then(|| lines.join("\n")),
                    )
                }
                StepKind::HooksBefore | StepKind::HooksAfter => {
                    let when = if step == StepKind::HooksBefore {
                        When::Before
                    } else {
                        When::After
                    };
                    let lines = hook_lines(hop, when);
                    if lines.is_empty() {
                        ("no hooks".to_owned(), None)
                    } else {
                        (
                            format!("run {} hook{}", lines.len(), super::run::plural(lines.len())),
                            Some(lines.join("\n")),
                        )
                    }
                }
                StepKind::Backup => {
                    let take = !backup_taken
                        && match hop.backup {
                            BackupRule::Required => true,
                            BackupRule::Recommended => !options.no_backup,
                            BackupRule::None => false,
                        };
                    backup_taken |= take;
                    let what = if take {
                        format!("take and verify a backup (the policy: backup {})", hop.backup.as_str())
                    } else if backup_taken {
                        "none: the run's backup covers this hop".to_owned()
                    } else {
                        format!("none (the policy: backup {})", hop.backup.as_str())
                    };
                    (what, None)
                }
                StepKind::Config => match &previews[i] {
                    Ok(p) if p.is_noop() => ("no config file changes".to_owned(), None),
                    Ok(p) => (
                        format!(
                            "migrate {} config file{}",
                            p.changed().count(),
                            super::run::plural(p.changed().count())
                        ),
                        Some(p.diff()),
                    ),
                    Err(e) => (format!("cannot migrate the config files: {e}"), None),
                },
                StepKind::Migrate | StepKind::PostDeploy => {
                    let phase = if step == StepKind::Migrate {
                        crate::migration::Phase::PreDeploy
                    } else {
                        crate::migration::Phase::PostDeploy
                    };
                    let steps: Vec<Step<'_>> = hop
                        .migrations
                        .iter()
                        .filter(|m| m.phase == phase)
                        .filter_map(|m| inst.set.get(m.version))
                        .map(Step::up)
                        .collect();
                    if steps.is_empty() {
                        ("no migrations".to_owned(), None)
                    } else {
                        (
                            format!(
                                "apply {} migration{} up to {}",
                                steps.len(),
                                super::run::plural(steps.len()),
                                hop.schema_after
                            ),
                            Some(migrator.render_sql(&steps)?),
                        )
                    }
                }
                StepKind::Record => (format!("record {} as the installed release", hop.to), None),
                StepKind::Verify => {
                    let checks: Vec<String> = checks_of(inst, hop)
                        .iter()
                        .filter(|c| c.applies(Phase::Post, Some(&hop.to)))
                        .map(|c| format!("{}: {}", c.name, c.describe()))
                        .collect();
                    if checks.is_empty() {
                        ("no checks".to_owned(), None)
                    } else {
                        (
                            format!("run {} check{}", checks.len(), super::run::plural(checks.len())),
                            Some(checks.join("\n")),
                        )
                    }
                }
            };
            steps.push(DryStep { step, what, detail });
        }
        hops.push(DryHop {
            from: hop.from.as_ref().map(ToString::to_string),
            to: hop.to.to_string(),
            steps,
        });
    }
    Ok(DryRun { plan, hops })
}
