//! A policy's required rehearsal: whether a passed rehearsal of this same
//! plan, on a copy young enough, is on record.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::migration::MigrationSet;
use crate::plan::UpgradePlan;
use crate::project::Installation;
use crate::records::rehearsal::{Rehearsal, copy_age, load};
use crate::state::Store;

/// What a plan is, for telling whether a rehearsal was of it: each hop's
/// ends, its migrations' files and its config changes.
pub fn fingerprint(plan: &UpgradePlan, set: &MigrationSet) -> String {
    let mut h = Sha256::new();
    for hop in &plan.hops {
        h.update(format!(
            "hop {:?} {}\n",
            hop.from.as_ref().map(ToString::to_string),
            hop.to
        ));
        for m in &hop.migrations {
            let up = set
                .get(m.version)
                .map(|x| x.up.checksum().to_string())
                .unwrap_or_default();
            h.update(format!("migration {} {up}\n", m.version));
        }
        for c in &hop.config {
            h.update(format!("config {} {} {}\n", c.version, c.file, c.change));
        }
    }
    format!("{:x}", h.finalize())
}

/// Refuses `plan` when its policy requires a rehearsal and none passed for
/// this same plan on a copy young enough.
pub fn require(inst: &Installation, store: &mut dyn Store, plan: &UpgradePlan) -> Result<()> {
    let required: Vec<&crate::plan::Hop> = plan
        .hops
        .iter()
        .filter(|h| h.rehearsal == crate::project::StagingRule::Required)
        .collect();
    let Some(max_age) = required.iter().map(|h| h.rehearsal_max_age).min() else {
        return Ok(());
    };
    let print = fingerprint(plan, &inst.set);
    let now = jiff::Timestamp::now();
    let all = load(store)?;
    let same: Vec<&Rehearsal> = all.iter().filter(|r| r.fingerprint == print).collect();
    if same
        .iter()
        .any(|r| r.passed && copy_age(r, now).is_some_and(|a| a <= max_age))
    {
        return Ok(());
    }
    let hops: Vec<String> = required
        .iter()
        .map(|h| {
            format!(
                "{} → {}",
                h.from.as_ref().map_or("nothing".into(), ToString::to_string),
                h.to
            )
        })
        .collect();
    let why = match same.last() {
        None => "no rehearsal of this plan has run".to_owned(),
        Some(r) if !r.passed => format!(
            "the last rehearsal of this plan, {}, failed{}",
            r.id,
            r.failure
                .as_ref()
                .map(|f| format!(" at {}: {}", f.step, f.error))
                .unwrap_or_default()
        ),
        Some(r) => format!(
            "the last passed rehearsal, {}, ran on a copy taken at {}, older than the {} the policy allows",
            r.id,
            r.copy.taken_at,
            humantime::format_duration(max_age)
        ),
    };
    Err(Error::refusal(
        format!(
            "the policy requires a passed rehearsal before {} ({}): {why}",
            hops.join(", "),
            "rehearsal = \"required\""
        ),
        format!(
            "run `ferry rehearse --to {}` (it works on a copy), then upgrade again",
            plan.to
        ),
    ))
}
