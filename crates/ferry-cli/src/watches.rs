//! `ferry watch`: call the library's watch, show each round as it comes,
//! and, with --rollback-on-fail, roll the last upgrade back when it fails.

use std::io::Write;

use anyhow::Result;
use ferry::Installation;
use ferry::watch::Verdict;

use crate::app::{Outcome, access};
use crate::cli::{Global, WatchArgs};
use crate::output::Out;
use crate::render;
use crate::upgrades::{RunProgress, render_report};

pub fn watch(g: &Global, w: &WatchArgs, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let access = access(g);
    let watched = ferry::upgrade::watch_now(&inst, &access, w.duration, &mut |round| {
        let _ = writeln!(std::io::stderr(), "{}", render::watch_round(round));
    })?;
    let failed = match &watched.verdict {
        Verdict::Passed => false,
        Verdict::Warned { .. } => w.strict,
        Verdict::Failed { .. } => true,
    };
    let rolled_back = if failed && w.rollback_on_fail {
        let mut progress = RunProgress::new();
        let why = match &watched.verdict {
            Verdict::Failed { reason } => format!("ferry watch --rollback-on-fail: {reason}"),
            Verdict::Warned { reasons } => format!("ferry watch --rollback-on-fail --strict: {}", reasons.join("; ")),
            Verdict::Passed => "ferry watch --rollback-on-fail".to_owned(),
        };
        let result =
            ferry::upgrade::rollback_last_because(&inst, &access, None, false, Some(&why), |_| true, &mut progress);
        drop(progress);
        Some(result)
    } else {
        None
    };
    if w.json.json {
        let rollback = match &rolled_back {
            Some(Ok(Some(report))) => serde_json::to_value(report)?,
            Some(Err(ferry::upgrade::RunError::Failed(report))) => serde_json::to_value(report)?,
            Some(Err(e)) => serde_json::json!({ "error": e.to_string() }),
            Some(Ok(None)) | None => serde_json::Value::Null,
        };
        out.json(&serde_json::json!({ "watch": watched, "rollback": rollback }))?;
    } else {
        let mut text = format!(
            "{} ({} rounds)\n",
            render::watch_verdict(&watched.verdict, !failed),
            watched.rounds.len()
        );
        match &rolled_back {
            Some(Ok(Some(report))) => text.push_str(&render_report(report)),
            Some(Err(ferry::upgrade::RunError::Failed(report))) => text.push_str(&render_report(report)),
            _ => {}
        }
        if failed && !w.rollback_on_fail {
            text.push_str("nothing was rolled back: `ferry rollback` undoes the last upgrade (or watch with --rollback-on-fail)\n");
        }
        out.text(&text)?;
    }
    match rolled_back {
        Some(Err(e)) if !matches!(e, ferry::upgrade::RunError::Failed(_)) => Err(e.into()),
        _ if failed => Ok(Outcome::Problem),
        _ => Ok(Outcome::Ok),
    }
}
