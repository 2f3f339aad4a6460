//! `rehearsals/<id>.json` in the run state: what each rehearsal measured and found,
//! read back by `ferry plan` (measured times) and by `ferry upgrade` (a
//! policy that requires a passed rehearsal of the same plan: see
//! `plan::rehearsal`).
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state::Store;
use crate::version::Version;

/// One step's measured time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTime {
    /// The hop, from 0.
    pub hop: usize,
    /// The step's word (`migrate`, `backup`…).
    pub step: String,
    /// How long it took.
    pub ms: u64,
    /// `done`, `skipped` or `failed`.
    pub status: String,
}

/// One hop's measured times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopTime {
    /// Before.
    pub from: Option<String>,
    /// After.
    pub to: String,
    /// Every step.
    pub ms: u64,
    /// From the before hooks to the after hooks: while the application is stopped.
    pub downtime_ms: u64,
    /// The policy's expected downtime, when it states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

/// Where the copy came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyOf {
    /// The backup restored (for `--from-live`, the one taken for it).
    pub backup: String,
    /// When that backup was taken (UTC): the age a policy limits.
    pub taken_at: String,
    /// Whether it was taken from the live database for this rehearsal.
    pub from_live: bool,
    /// Rows in every table of the copy before the upgrade.
    pub rows: u64,
}

/// The first failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The hop, from 0, when in a step.
    pub hop: Option<usize>,
    /// The step's word, or `rollback`/`compare`.
    pub step: String,
    /// What failed.
    pub error: String,
}

/// A rehearsal's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rehearsal {
    /// Its id (a UTC time).
    pub id: String,
    /// When it ran (UTC).
    pub at: String,
    /// The engine.
    pub engine: String,
    /// The release the copy was at.
    pub from: Option<String>,
    /// The target.
    pub to: String,
    /// What the plan was: its hops, migrations and config changes.
    pub fingerprint: String,
    /// The copy.
    pub copy: CopyOf,
    /// Each hop.
    pub hops: Vec<HopTime>,
    /// Each step, in order.
    pub steps: Vec<StepTime>,
    /// The whole upgrade.
    pub upgrade_ms: u64,
    /// The whole downtime (every hop's).
    pub downtime_ms: u64,
    /// The rollback after it, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_ms: Option<u64>,
    /// How the copy differs after the rollback from before the upgrade.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
    /// The first failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Everything passed: upgrade, rollback, comparison.
    pub passed: bool,
    /// The copy's folder and database, when kept (`--keep`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<(String, String)>,
}

const PREFIX: &str = "rehearsals/";

/// Writes `r` into the record.
pub(crate) fn save(store: &mut dyn Store, r: &Rehearsal) -> Result<()> {
    let text = serde_json::to_vec_pretty(r).map_err(|e| Error::db("cannot write the rehearsal record", e))?;
    store.write(&format!("{PREFIX}{}.json", r.id), &text)
}

/// Every rehearsal of the project, oldest first. A record that cannot be
/// read is left out (it is ferry's own, and says nothing it can trust).
pub fn load(store: &mut dyn Store) -> Result<Vec<Rehearsal>> {
    let mut out = Vec::new();
    for name in store.list(PREFIX)? {
        if !name.ends_with(".json") {
            continue;
        }
        match store
            .read(&name)?
            .and_then(|b| serde_json::from_slice::<Rehearsal>(&b).ok())
        {
            Some(r) => out.push(r),
            None => tracing::warn!("cannot read the rehearsal record {name}; it is ignored"),
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The age of `r`'s copy at `now`.
pub fn copy_age(r: &Rehearsal, now: jiff::Timestamp) -> Option<Duration> {
    let taken: jiff::Timestamp = r.copy.taken_at.parse().ok()?;
    Duration::try_from(now.duration_since(taken)).ok()
}

/// What `ferry plan` shows of the newest passed rehearsal of a hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measured {
    /// The rehearsal.
    pub rehearsal: String,
    /// The hop's steps.
    pub ms: u64,
    /// While the application was stopped.
    pub downtime_ms: u64,
    /// The date of the copy (`2026-11-30`).
    pub copy_of: String,
    /// Rows in the copy.
    pub rows: u64,
}

impl Measured {
    /// The newest passed rehearsal's times for the hop `from` → `to`.
    pub fn of(rehearsals: &[Rehearsal], from: Option<&Version>, to: &Version) -> Option<Measured> {
        let from = from.map(ToString::to_string);
        let to = to.to_string();
        rehearsals.iter().rev().filter(|r| r.passed).find_map(|r| {
            r.hops.iter().find(|h| h.from == from && h.to == to).map(|h| Measured {
                rehearsal: r.id.clone(),
                ms: h.ms,
                downtime_ms: h.downtime_ms,
                copy_of: r.copy.taken_at.get(..10).unwrap_or(&r.copy.taken_at).to_owned(),
                rows: r.copy.rows,
            })
        })
    }
}
