//! `ferry watch`: the metrics now, each round as it comes; with
//! --rollback-on-fail, the last upgrade rolled back when they fail.

use anyhow::Result;
use ferry::Installation;
use ferry::ops::watch::{Rollback, WatchRequest};

use crate::cli::{Global, WatchArgs};
use crate::context::{Outcome, access, name_database};
use crate::output::Out;
use crate::progress::{RunProgress, line};
use crate::render;

pub fn run(g: &Global, w: &WatchArgs, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let request = WatchRequest {
        duration: w.duration,
        strict: w.strict,
        rollback_on_fail: w.rollback_on_fail,
    };
    if w.rollback_on_fail {
        name_database(&inst.project, g)?;
    }
    let mut progress = RunProgress::new();
    let watched = ferry::ops::watch::watch(
        &inst,
        &access(g),
        request,
        &mut |round| line(&render::watch_round(round)),
        &mut progress,
    );
    drop(progress);
    let watched = watched?;
    if w.json.json {
        out.json(&watched)?;
    } else {
        out.text(&render::watched(&watched, w.rollback_on_fail))?;
    }
    match watched.rollback {
        Rollback::Error(e) => Err(e.into()),
        _ => Ok(Outcome::problem_if(watched.failed)),
    }
}
