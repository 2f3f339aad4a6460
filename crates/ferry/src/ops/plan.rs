//! `ferry plan`: the path from the installed release (or `from`) to a
//! target, with what is known beyond the release files (each hop's way
//! back, its verified downs, its rehearsed time) and, with the database at
//! hand, what the hops require of its server.

use serde::{Serialize, Serializer};

use crate::check::{self, Skips, Status};
use crate::error::{Error, Result};
use crate::plan::{Start, UpgradePlan};
use crate::project::{Access, Component, Installation};
use crate::version::Version;

/// `ferry plan`.
#[derive(Debug, Clone)]
pub struct PlanReport {
    /// The plan.
    pub plan: UpgradePlan,
    /// What a hop requires that the database's server does not give
    /// (`2.0.0 needs PostgreSQL >= 15: ...`).
    pub warnings: Vec<String>,
}

impl Serialize for PlanReport {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.plan.serialize(s)
    }
}

/// Plans from `from` (no database needed) or from what the database says.
pub fn plan(inst: &Installation, access: &Access, to: Option<&Version>, from: Option<&Version>) -> Result<PlanReport> {
    let mut connection = None;
    let (start, status) = match from {
        Some(f) => (Start::Installed(f.clone()), None),
        None => {
            let (mut migrator, url) = inst.connect(access)?;
            let observed = inst.observe(&mut migrator)?;
            let (start, _) = observed
                .start
                .map_err(|e| Error::refusal(e, "record the installed release with `ferry adopt VERSION`"))?;
            connection = Some((migrator, url));
            (start, Some(observed.status))
        }
    };
    let mut plan = crate::plan::plan(&inst.manifest, &inst.set, &start, status.as_ref(), to)?;
    let mut warnings = Vec::new();
    match inst.state(access) {
        Ok(mut store) => inst.annotate(&mut *store, &mut plan)?,
        // `--from` plans without a database: the records kept there (what
        // verifications and rehearsals found) are then not shown.
        Err(e) if from.is_some() => {
            inst.annotate(&mut crate::state::DirStore::new(inst.project.state_dir()), &mut plan)?;
            warnings.push(format!(
                "the run state could not be read ({e}): what verifications and rehearsals found is not shown"
            ));
        }
        Err(e) => return Err(e),
    }
    // With a database at hand, what the hops require of it is known now.
    if let Some((migrator, url)) = &mut connection {
        let redact = |s: &str| crate::redact::redact_text(s);
        let skips = Skips::default();
        let mut ctx = check::Context {
            migrator,
            url,
            root: inst.project.root(),
            redact: &redact,
            probes: inst.project.probes(),
            skips: &skips,
        };
        for hop in &plan.hops {
            let builtin: Vec<Component> = hop
                .requires
                .iter()
                .filter(|c| {
                    ["postgresql", "postgres", "mysql", "mariadb", "sqlite"]
                        .contains(&c.name.to_ascii_lowercase().as_str())
                })
                .cloned()
                .collect();
            for v in check::requirements(&builtin, &mut ctx) {
                if v.status == Status::Failed {
                    warnings.push(format!("{} needs {}: {}", hop.to, v.name, v.detail));
                }
            }
        }
    }
    Ok(PlanReport { plan, warnings })
}

/// Each hop's config diff, for showing a plan: the diff, or why it cannot
/// be made.
pub fn config_previews(inst: &Installation, plan: &UpgradePlan) -> Vec<std::result::Result<String, String>> {
    match inst.project.config_dir() {
        Ok(dir) => crate::config::migrate::preview(&dir, &inst.manifest, &plan.hops)
            .into_iter()
            .map(|p| p.map(|p| p.diff()).map_err(|e| e.to_string()))
            .collect(),
        Err(e) => plan.hops.iter().map(|_| Err(e.to_string())).collect(),
    }
}
