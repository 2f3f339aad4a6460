//! `ferry rehearse`: what a rehearsal measured and found.

use ferry::rehearse::{Rehearsal, count_text, ms_text};

pub fn rehearsal(r: &Rehearsal) -> String {
    let mut s = format!(
        "Rehearsal {} of {} → {} on a copy of backup {} ({}{}, {} row{}, {})\n",
        r.id,
        r.from.as_deref().unwrap_or("nothing"),
        r.to,
        r.copy.backup,
        r.copy.taken_at,
        if r.copy.from_live { ", taken now" } else { "" },
        count_text(r.copy.rows),
        if r.copy.rows == 1 { "" } else { "s" },
        r.engine
    );
    for (i, h) in r.hops.iter().enumerate() {
        s.push_str(&format!(
            "\n{}. {} → {}: {} ({} with the application stopped; policy: {})\n",
            i + 1,
            h.from.as_deref().unwrap_or("nothing"),
            h.to,
            ms_text(h.ms),
            ms_text(h.downtime_ms),
            h.expected.as_deref().unwrap_or("not stated")
        ));
        for st in r.steps.iter().filter(|st| st.hop == i) {
            s.push_str(&format!("   {:<13} {:>8}  {}\n", st.step, ms_text(st.ms), st.status));
        }
    }
    s.push_str(&format!(
        "\nupgrade {} · downtime {}{}\n",
        ms_text(r.upgrade_ms),
        ms_text(r.downtime_ms),
        r.rollback_ms
            .map(|ms| format!(" · rollback {}", ms_text(ms)))
            .unwrap_or_default()
    ));
    if let Some((folder, db)) = &r.kept {
        s.push_str(&format!("kept: the copy's folder {folder}, its database {db}\n"));
    }
    match &r.failure {
        None => s.push_str(
            "passed: the upgrade ran, the rollback took the copy back to exactly what it was (schema, rows, config files)\n",
        ),
        Some(f) => {
            s.push_str(&format!(
                "FAILED at {}{}: {}\n",
                f.hop.map(|h| format!("hop {}, ", h + 1)).unwrap_or_default(),
                f.step,
                f.error.replace('\n', "\n  ")
            ));
            for d in &r.differences {
                s.push_str(&format!("  after the rollback: {d}\n"));
            }
        }
    }
    s
}
