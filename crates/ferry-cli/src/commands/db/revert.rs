//! `ferry db revert`: down migrations, newest first.

use anyhow::Result;
use ferry::RevertTarget;
use ferry::migration::Direction;
use ferry::ops::db::Session;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::progress::MigrationBar;
use crate::render;

pub fn run(
    g: &Global,
    to: Option<u64>,
    steps: Option<usize>,
    dry_run: bool,
    json: bool,
    out: &mut Out,
) -> Result<Outcome> {
    let mut s = Session::open(&g.project, &access(g))?;
    let target = match to {
        Some(v) => RevertTarget::To(v),
        None => RevertTarget::Steps(steps.unwrap_or(1)),
    };
    if dry_run {
        let dry = s.revert_dry_run(target)?;
        if json {
            out.json(&dry)?;
        } else {
            out.text(&render::dry_run(&dry))?;
        }
        return Ok(Outcome::Ok);
    }
    crate::output::database(&s.url);
    let reverted = s.revert(target, &mut MigrationBar::new())?;
    if json {
        out.json(&reverted)?;
    } else {
        out.text(&render::report(&reverted.report, Direction::Down))?;
    }
    Ok(Outcome::Ok)
}
