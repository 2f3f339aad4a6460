//! `ferry rehearse`: the upgrade on a copy, timed, rolled back, compared.

use anyhow::Result;
use ferry::Installation;
use ferry::rehearse::{RehearseOptions, Source};

use crate::cli::{Global, Rehearse};
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::progress::RunProgress;
use crate::render;

pub fn run(g: &Global, r: &Rehearse, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let opts = RehearseOptions {
        to: r.to.clone(),
        source: match (&r.backup, r.from_live) {
            (Some(id), _) => Source::Backup(id.clone()),
            (None, true) => Source::Live,
            (None, false) => Source::NewestVerified,
        },
        keep: r.keep,
        hooks: r.hooks,
    };
    let mut progress = RunProgress::new();
    let result = ferry::rehearse::rehearse(&inst, &access(g), &opts, &mut progress);
    drop(progress);
    let report = result?;
    if r.json.json {
        out.json(&report)?;
    } else {
        out.text(&render::rehearsal(&report))?;
    }
    Ok(Outcome::problem_if(!report.passed))
}
