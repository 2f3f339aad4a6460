//! The watch window of a run: its baseline before the first hop, then,
//! after the last, rounds of readings journaled one by one, and the verdict
//! that keeps the upgrade or rolls it back. A watch killed part-way resumes
//! with the rounds it had left.

use std::time::Duration;

use super::Notice;
use super::run::Ctx;
use crate::error::Result;
use crate::records::run::journal;
use crate::records::run::state::Event;
use crate::watch::{self, Round, Verdict, Watch};

impl Ctx<'_> {
    /// The watch this run keeps, if any: none with `--no-watch`, on a
    /// rehearsal's copy (its metrics would be the live service's), or when
    /// ferry.toml has no `[watch]`.
    fn watch_spec(&self) -> Option<Watch> {
        if self.info.options.no_watch || self.inst.project.rehearsal().is_some() {
            return None;
        }
        self.inst.project.watch().cloned()
    }

    /// Measures, before the first hop, the metrics whose limits are
    /// relative to their value before the upgrade.
    pub(crate) fn watch_baseline(&mut self) -> Result<()> {
        let Some(spec) = self.watch_spec() else { return Ok(()) };
        if !spec.metrics.iter().any(watch::Metric::needs_baseline) {
            return Ok(());
        }
        let redactor = self.redactor.clone();
        let baselines = watch::baseline(&spec, &mut self.migrator, &move |s: &str| redactor.text(s));
        self.append(Event::WatchBaseline { baselines })
    }

    /// Watches after the last hop: `Ok(Ok(()))` keeps the upgrade,
    /// `Ok(Err(why))` rolls it back.
    pub(crate) fn watch(&mut self) -> Result<std::result::Result<(), String>> {
        let Some(spec) = self.watch_spec() else {
            return Ok(Ok(()));
        };
        // Ended already (killed between the verdict and the run's end).
        if let Some((verdict, kept)) = self.records.iter().rev().find_map(|r| match &r.event {
            Event::WatchEnded { verdict, kept } => Some((verdict.clone(), *kept)),
            _ => None,
        }) {
            return Ok(decision(&verdict, kept, self.info.options.strict));
        }
        let duration = self.info.options.watch_ms.map_or(spec.duration, Duration::from_millis);
        let rounds = spec.rounds(duration);
        let done: Vec<Round> = self
            .records
            .iter()
            .filter_map(|r| match &r.event {
                Event::WatchRound { round } => Some(round.clone()),
                _ => None,
            })
            .collect();
        if !self
            .records
            .iter()
            .any(|r| matches!(r.event, Event::WatchStarted { .. }))
        {
            self.append(Event::WatchStarted {
                duration_ms: duration.as_millis() as u64,
                rounds,
            })?;
        }
        self.progress.notice(Notice::WatchStarted {
            rounds,
            done: done.len() as u32,
            interval: spec.interval,
        });
        let baselines = self
            .records
            .iter()
            .find_map(|r| match &r.event {
                Event::WatchBaseline { baselines } => Some(baselines.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let redactor = self.redactor.clone();
        let redact = move |s: &str| redactor.text(s);
        let journal = &mut self.journal;
        let store = &mut *self.store;
        let records = &mut self.records;
        let progress = &mut *self.progress;
        let verdict = watch::run(
            &spec,
            duration,
            &done,
            &baselines,
            &mut self.migrator,
            &redact,
            &mut |round: &Round| {
                let r = journal.append(store, records, Event::WatchRound { round: round.clone() })?;
                records.push(r);
                progress.notice(Notice::WatchRound { round });
                Ok(())
            },
        )?;
        let kept = match &verdict {
            Verdict::Passed => true,
            Verdict::Warned { reasons } => !self.info.options.strict && self.progress.keep_after_warnings(reasons),
            Verdict::Failed { .. } => false,
        };
        self.progress.notice(Notice::WatchEnded {
            verdict: &verdict,
            kept,
        });
        self.append(Event::WatchEnded {
            verdict: verdict.clone(),
            kept,
        })?;
        Ok(decision(&verdict, kept, self.info.options.strict))
    }
}

/// What a verdict decides: keep the upgrade, or roll back and why.
fn decision(verdict: &Verdict, kept: bool, strict: bool) -> std::result::Result<(), String> {
    match verdict {
        Verdict::Passed => Ok(()),
        Verdict::Warned { .. } if kept => Ok(()),
        Verdict::Warned { reasons } => Err(format!(
            "the watch window warned ({}){}",
            reasons.join("; "),
            if strict {
                ", and --strict fails on warnings"
            } else {
                ", and the operator chose to roll back"
            }
        )),
        Verdict::Failed { reason } => Err(format!("the watch window: {reason}")),
    }
}

/// What `ferry watch` saw.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WatchOutcome {
    /// What the readings added up to.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Every round, in order.
    pub rounds: Vec<Round>,
    /// The run whose baseline the relative limits compared with, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_from: Option<String>,
}

/// `ferry watch`: watches `[watch]`'s metrics now, for `duration` (default:
/// its own), outside any run: after a manual upgrade, or to try the
/// thresholds. Relative limits compare with the baseline the last upgrade
/// run measured. `on_round` sees each round as it is taken.
pub fn watch_now(
    inst: &crate::project::Installation,
    access: &crate::project::Access,
    duration: Option<Duration>,
    on_round: &mut dyn FnMut(&Round),
) -> Result<WatchOutcome> {
    let Some(spec) = inst.project.watch() else {
        return Err(crate::error::Error::refusal(
            format!(
                "{} has no [watch]: there is nothing to watch",
                inst.project.file().display()
            ),
            "add a [watch] table with [[watch.metrics]] (see the README's watch window section)",
        ));
    };
    let (mut migrator, url) = inst.connect(access)?;
    let mut redactor = crate::redact::Redactor::default();
    if let Some(pw) = url::Url::parse(url.expose_secret())
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    {
        redactor = redactor.hiding(&percent_encoding::percent_decode_str(&pw).decode_utf8_lossy());
    }
    let mut store = inst.state(access)?;
    let mut baseline_from = None;
    let mut baselines = Vec::new();
    if let Some(id) = journal::ids(&mut *store)?.pop()
        && let Ok((_, records)) = journal::read(&mut *store, &id)
        && let Some(b) = records.iter().find_map(|r| match &r.event {
            Event::WatchBaseline { baselines } => Some(baselines.clone()),
            _ => None,
        })
    {
        baselines = b;
        baseline_from = Some(id);
    }
    let mut rounds = Vec::new();
    let redact = move |s: &str| redactor.text(s);
    let verdict = watch::run(
        spec,
        duration.unwrap_or(spec.duration),
        &[],
        &baselines,
        &mut migrator,
        &redact,
        &mut |round: &Round| {
            on_round(round);
            rounds.push(round.clone());
            Ok(())
        },
    )?;
    Ok(WatchOutcome {
        verdict,
        rounds,
        baseline_from,
    })
}
