//! `ferry rollback`: take the installation back to what it was before the
//! last upgrade run.

use anyhow::Result;
use ferry::Installation;
use ferry::version::Version;

use crate::cli::Global;
use crate::context::{Outcome, access, confirm, finish_run, name_database, need_terminal_or_yes};
use crate::output::Out;
use crate::progress::RunProgress;

pub fn run(g: &Global, to: Option<&Version>, restore: bool, yes: bool, json: bool, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    need_terminal_or_yes(yes, "ferry rollback")?;
    name_database(&inst.project, g)?;
    let mut progress = RunProgress::new();
    let result = ferry::upgrade::rollback_last(
        &inst,
        &access(g),
        to,
        restore,
        |plan| {
            confirm(
                &format!(
                    "Roll back run {}: {} → {} (undoing {}); the database: {}",
                    plan.run,
                    plan.from,
                    plan.to,
                    plan.hops.join(", then "),
                    plan.database
                ),
                yes,
            )
        },
        &mut progress,
    );
    drop(progress);
    match result {
        Ok(None) => {
            out.line("not rolled back: nothing was changed")?;
            Ok(Outcome::Problem)
        }
        Ok(Some(report)) => finish_run(Ok(report), json, out),
        Err(e) => finish_run(Err(e), json, out),
    }
}
