//! The watch window after an upgrade: metrics read at an interval for a
//! duration, each against its limits (absolute, or relative to its value
//! before the upgrade), a rollback limit crossed `failure_limit` readings
//! in a row ending the watch with a failure. The upgrade run journals every
//! round and rolls back on a failure; `ferry watch` runs one on its own.
//!
//! `project::watch` is what ferry.toml says, `source` reads a value,
//! `judge` says what readings mean.

mod judge;
mod source;

use std::time::{Duration, Instant};

pub use self::judge::{level, verdict};
pub use crate::project::watch::{DEFAULT_FAILURE_LIMIT, Limits, Metric, NoData, Source, Watch, Worse};
pub use crate::records::watch::{Baseline, Level, Reading, Round, Verdict};

use crate::error::Result;
use crate::migrator::Migrator;

/// The project's folder (where ferry.toml and `.env` are).
fn root(watch: &Watch) -> &std::path::Path {
    match watch.source.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    }
}

/// Reads every metric that has a relative limit, for the baseline.
pub fn baseline(watch: &Watch, migrator: &mut Migrator, redact: &dyn Fn(&str) -> String) -> Vec<Baseline> {
    watch
        .metrics
        .iter()
        .filter(|m| m.needs_baseline())
        .map(
            |m| match source::read(m, watch.prometheus.as_deref(), root(watch), migrator) {
                Ok(v) => Baseline {
                    metric: m.name.clone(),
                    value: Some(v),
                    detail: String::new(),
                },
                Err(why) => Baseline {
                    metric: m.name.clone(),
                    value: None,
                    detail: redact(&why),
                },
            },
        )
        .collect()
}

/// Reads every metric once: round `n` of `of`.
pub fn round(
    watch: &Watch,
    n: u32,
    of: u32,
    baselines: &[Baseline],
    migrator: &mut Migrator,
    redact: &dyn Fn(&str) -> String,
) -> Round {
    let readings = watch
        .metrics
        .iter()
        .map(|m| {
            let value = source::read(m, watch.prometheus.as_deref(), root(watch), migrator);
            let base = baselines.iter().find(|b| b.metric == m.name).and_then(|b| b.value);
            let (value, why) = match value {
                Ok(v) => (Some(v), String::new()),
                Err(why) => (None, redact(&why)),
            };
            let (level, detail) = level(m, value, &why, base);
            Reading {
                metric: m.name.clone(),
                value,
                level,
                detail,
            }
        })
        .collect();
    Round {
        n,
        of,
        at: jiff::Timestamp::now().to_string(),
        readings,
    }
}

/// Watches for `duration`: the rounds not in `done` (the rounds of a watch
/// that was interrupted, read back from its journal: a resumed watch takes
/// only the rest), one every interval, the first at once. Each round goes
/// to `on_round` (which journals it) before it is judged. Ends early with
/// [`Verdict::Failed`] when a rollback limit is crossed long enough.
pub fn run(
    watch: &Watch,
    duration: Duration,
    done: &[Round],
    baselines: &[Baseline],
    migrator: &mut Migrator,
    redact: &dyn Fn(&str) -> String,
    on_round: &mut dyn FnMut(&Round) -> Result<()>,
) -> Result<Verdict> {
    let of = watch.rounds(duration);
    let mut rounds = done.to_vec();
    if let Some(v @ Verdict::Failed { .. }) = verdict(watch, &rounds, false) {
        return Ok(v);
    }
    let start = Instant::now();
    let first = rounds.len() as u32;
    for n in first..of {
        let due = start + watch.interval * (n - first);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let r = round(watch, n + 1, of, baselines, migrator, redact);
        on_round(&r)?;
        crate::crash::point("FERRY_TEST_CRASH_AFTER_ROUND", r.n);
        rounds.push(r);
        if let Some(v @ Verdict::Failed { .. }) = verdict(watch, &rounds, false) {
            return Ok(v);
        }
    }
    Ok(verdict(watch, &rounds, true).unwrap_or(Verdict::Passed))
}
