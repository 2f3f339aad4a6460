//! The watch window: a round, a verdict, a `ferry watch`.

use ferry::ops::watch::{Rollback, Watched};

/// One round of a watch, in a line: `round 3/21  error rate 0.004 ok · p95 0.62 WARN (…)`.
pub fn watch_round(round: &ferry::watch::Round) -> String {
    use ferry::watch::Level;
    let cells: Vec<String> = round
        .readings
        .iter()
        .map(|r| {
            let value = r.value.map_or("-".to_owned(), |v| {
                let s = format!("{v:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_owned()
            });
            match r.level {
                Level::Ok => format!("{} {value} ok", r.metric),
                Level::Warn => format!("{} {value} WARN ({})", r.metric, r.detail),
                Level::Critical => format!("{} {value} CRITICAL ({})", r.metric, r.detail),
                Level::NoData => format!("{} - ({})", r.metric, r.detail),
            }
        })
        .collect();
    format!("round {}/{}  {}", round.n, round.of, cells.join(" · "))
}

/// How a watch ended, in a line.
pub fn watch_verdict(verdict: &ferry::watch::Verdict, kept: bool) -> String {
    use ferry::watch::Verdict;
    match verdict {
        Verdict::Passed => "watch: passed".to_owned(),
        Verdict::Warned { reasons } => format!(
            "watch: warned ({}); {}",
            reasons.join("; "),
            if kept { "the upgrade is kept" } else { "rolling back" }
        ),
        Verdict::Failed { reason } => format!("watch: FAILED: {reason}"),
    }
}

/// `ferry watch`: how it ended, and what the rollback did.
pub fn watched(w: &Watched, rollback_on_fail: bool) -> String {
    let mut text = format!(
        "{} ({} rounds)\n",
        watch_verdict(&w.watch.verdict, !w.failed),
        w.watch.rounds.len()
    );
    match &w.rollback {
        Rollback::Done(report) | Rollback::Failed(report) => text.push_str(&super::run_report(report)),
        Rollback::None | Rollback::Error(_) => {}
    }
    if w.failed && !rollback_on_fail {
        text.push_str(
            "nothing was rolled back: `ferry rollback` undoes the last upgrade (or watch with --rollback-on-fail)\n",
        );
    }
    text
}
