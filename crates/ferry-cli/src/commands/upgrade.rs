//! `ferry upgrade`: ask, run the library's journaled upgrade (or resume or
//! roll back the unfinished one), render its report.

use anyhow::Result;
use ferry::Installation;
use ferry::upgrade::{self, RunOptions};

use crate::cli::{Global, Upgrade};
use crate::context::{Outcome, access, confirm, finish_run as finish, name_database, need_terminal_or_yes, skips};
use crate::output::Out;
use crate::progress::RunProgress;
use crate::render;

pub fn run(g: &Global, u: &Upgrade, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let access = access(g);
    let options = RunOptions {
        no_backup: u.no_backup,
        no_rollback: u.no_rollback,
        skips: skips(&u.skips),
        watch_ms: u.watch.map(|d| d.as_millis() as u64),
        no_watch: u.no_watch,
        strict: u.strict,
    };
    let json = u.json.json;
    let name = inst.project.name().unwrap_or("the application");
    if u.dry_run {
        let dry = upgrade::dry_run(&inst, &access, u.to.as_ref(), options.clone())?;
        if json {
            out.json(&dry)?;
        } else {
            out.text(&render::dry_upgrade(&dry, name))?;
        }
        return Ok(Outcome::Ok);
    }
    name_database(&inst.project, g)?;
    let mut progress = RunProgress::new();
    progress.yes |= u.yes;
    if u.resume {
        let result = upgrade::resume(&inst, &access, &mut progress);
        drop(progress);
        return finish(result, json, out);
    }
    if u.rollback {
        let result = upgrade::rollback(&inst, &access, &mut progress);
        drop(progress);
        return finish(result, json, out);
    }
    need_terminal_or_yes(u.yes, "ferry upgrade")?;
    let prepared = upgrade::prepare(&inst, &access, u.to.as_ref())?;
    let plan = prepared.plan();
    if plan.hops.is_empty() {
        if json {
            out.json(&upgrade::NothingToDo::of(plan))?;
        } else {
            out.text(&render::plan(plan, name, &[]))?;
        }
        return Ok(Outcome::problem_if(!plan.behind.is_empty()));
    }
    let question = format!(
        "Upgrade {name} from {} to {}: {}",
        plan.from
            .as_ref()
            .map_or("a fresh database".to_owned(), ToString::to_string),
        plan.to,
        render::plan_summary(plan)
    );
    if !confirm(&question, u.yes) {
        out.line("not upgraded: nothing was changed")?;
        return Ok(Outcome::Problem);
    }
    let result = prepared.run(options, &mut progress);
    drop(progress);
    finish(result, json, out)
}
