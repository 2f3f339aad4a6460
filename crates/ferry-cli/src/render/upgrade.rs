//! `ferry upgrade` and `ferry rollback`: a run's report, and a dry run.

use ferry::upgrade::{DryRun, RunReport, StepStatus, Undone};

use super::{millis, plan, watch_round, watch_verdict};

pub fn run_report(r: &RunReport) -> String {
    let mut s = format!(
        "upgrade run {}: {} → {}, {}\n",
        r.id,
        r.from.as_deref().unwrap_or("nothing"),
        r.to,
        r.state.as_str().replace('_', " ")
    );
    for (i, hop) in r.hops.iter().enumerate() {
        if hop.steps.iter().all(|s| s.status == StepStatus::Pending) {
            s.push_str(&format!(
                "hop {} of {}: {} → {}: not started\n",
                i + 1,
                r.hops.len(),
                hop.from.as_deref().unwrap_or("nothing"),
                hop.to
            ));
            continue;
        }
        s.push_str(&format!(
            "hop {} of {}: {} → {}\n",
            i + 1,
            r.hops.len(),
            hop.from.as_deref().unwrap_or("nothing"),
            hop.to
        ));
        for st in &hop.steps {
            let mark = match st.status {
                StepStatus::Done => "ok  ",
                StepStatus::Skipped => "skip",
                StepStatus::Failed => "FAIL",
                StepStatus::Started => "....",
                StepStatus::Pending => continue,
            };
            let ms = st.outcome.as_ref().map(|o| o.ms).unwrap_or_default();
            s.push_str(&format!(
                "  {mark} {:<22} {}{}\n",
                st.step.describe(),
                st.detail.replace('\n', "\n                              "),
                if ms > 0 {
                    format!("  ({})", millis(ms))
                } else {
                    String::new()
                }
            ));
            // How the rollback undid the steps that changed something.
            if let Some(undone) = &st.undone
                && (st.status != StepStatus::Skipped || matches!(undone, Undone::Failed { .. }))
                && undone.worth_showing()
            {
                s.push_str(&format!("       undone: {undone}\n"));
            }
        }
    }
    for h in &r.hooks {
        s.push_str(&format!(
            "hook {} ({}): {}\n",
            h.name,
            h.when.as_str(),
            if h.ok { "ok".to_owned() } else { h.ended.clone() }
        ));
    }
    if let Some(w) = &r.watch {
        s.push_str(&format!(
            "watch: {} of {} rounds over {}{}\n",
            w.done.len(),
            w.rounds,
            millis(w.duration_ms),
            match &w.verdict {
                Some(v) => format!(", {}", watch_verdict(v, w.kept).trim_start_matches("watch: ")),
                None => ", not finished".to_owned(),
            }
        ));
        if let Some(last) = w.done.last() {
            s.push_str(&format!("  last {}\n", watch_round(last)));
        }
    }
    if let Some(reason) = &r.rollback {
        s.push_str(&format!("rollback: {reason}\n"));
    }
    s.push_str(&format!("journal: {}\n", r.journal.trim_start_matches("./")));
    if let Some(next) = &r.next {
        s.push_str(&format!("next: {next}\n"));
    }
    s
}

pub fn dry_upgrade(d: &DryRun, name: &str) -> String {
    let mut s = plan(&d.plan, name, &[]);
    for (i, hop) in d.hops.iter().enumerate() {
        s.push_str(&format!(
            "\nhop {} of {}: {} → {}, step by step\n",
            i + 1,
            d.hops.len(),
            hop.from.as_deref().unwrap_or("nothing"),
            hop.to
        ));
        for st in &hop.steps {
            s.push_str(&format!("  {:<22} {}\n", st.step.describe(), st.what));
            if let Some(detail) = &st.detail {
                for line in detail.lines() {
                    s.push_str(&format!("      {line}\n"));
                }
            }
        }
    }
    s.push_str("\ndry run: nothing was changed\n");
    s
}

/// `ferry runs`: one line per run, oldest first.
pub fn runs(all: &ferry::ops::runs::Runs) -> String {
    if all.runs.is_empty() {
        return format!("no upgrade runs in {}\n", all.place);
    }
    let rows: Vec<Vec<String>> = all
        .runs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.started_at.clone(),
                format!("{} → {}", r.from.as_deref().unwrap_or("nothing"), r.to),
                r.state.as_str().replace('_', " ") + if r.live { " (live)" } else { "" },
            ]
        })
        .collect();
    let mut s = format!("upgrade runs in {}\n", all.place);
    s.push_str(&super::table(&["RUN", "STARTED", "RELEASES", "STATE"], &rows));
    if let Some(next) = all.runs.last().and_then(|r| r.next.as_ref()) {
        s.push_str(&format!("the last run is unfinished: {next}\n"));
    }
    s
}
