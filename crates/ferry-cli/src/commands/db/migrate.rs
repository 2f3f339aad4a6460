//! `ferry db migrate`: pending migrations, in order, under the lock.

use anyhow::Result;
use ferry::MigrateOptions;
use ferry::migration::Direction;
use ferry::ops::db::Session;

use crate::cli::{Global, PhaseArg};
use crate::context::{Outcome, access};
use crate::output::{self, Out};
use crate::progress::MigrationBar;
use crate::render;

pub struct Args {
    pub to: Option<u64>,
    pub dry_run: bool,
    pub allow_out_of_order: bool,
    pub phase: PhaseArg,
    pub allow_unmanaged: bool,
    pub json: bool,
}

pub fn run(g: &Global, a: Args, out: &mut Out) -> Result<Outcome> {
    let mut s = Session::open(&g.project, &access(g))?;
    let opts = MigrateOptions {
        to: a.to,
        allow_out_of_order: a.allow_out_of_order,
        phases: a.phase.into(),
        refuse_unmanaged: !a.allow_unmanaged,
    };
    if a.dry_run {
        let dry = s.migrate_dry_run(opts)?;
        if a.json {
            out.json(&dry)?;
        } else {
            out.text(&render::dry_run(&dry))?;
        }
        return Ok(Outcome::Ok);
    }
    output::database(&s.url);
    let migrated = s.migrate(opts, &mut MigrationBar::new(), &mut |w| output::warn(w))?;
    if a.json {
        out.json(&migrated)?;
        return Ok(Outcome::Ok);
    }
    out.text(&render::report(&migrated.report, Direction::Up))?;
    let waiting = &migrated.post_deploy_waiting;
    if migrated.phases == ferry::Phases::PreDeploy && !waiting.is_empty() {
        out.line(format!(
            "{} post-deploy migration{} wait{} for the new code: {}\n  once it runs and its checks pass: ferry db migrate --phase post-deploy",
            waiting.len(),
            if waiting.len() == 1 { "" } else { "s" },
            if waiting.len() == 1 { "s" } else { "" },
            waiting.join(", ")
        ))?;
    }
    Ok(Outcome::Ok)
}
