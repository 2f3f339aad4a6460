//! `ferry db transfer --to URL`: the database copied into an empty one of
//! another engine, checked row for row.

use anyhow::Result;
use ferry::Installation;
use ferry::transfer::TransferOptions;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::progress::line;
use crate::render;

pub fn run(g: &Global, to: &str, tables: &[String], dry_run: bool, json: bool, out: &mut Out) -> Result<Outcome> {
    let access = access(g);
    let inst = Installation::load_for(&g.project, &access)?;
    let options = TransferOptions {
        tables: tables.to_vec(),
        dry_run,
    };
    if !dry_run {
        let target = ferry::DatabaseUrl::parse(to, inst.project.root())
            .map_err(|p| ferry::Error::Config(ferry::Problems(vec![p])))?;
        crate::output::database(&target);
    }
    let report = ferry::transfer::transfer(&inst, &access, to, &options, &mut |step| line(&step.to_string()))?;
    if json {
        out.json(&report)?;
    } else {
        out.text(&render::transfer(&report))?;
    }
    Ok(Outcome::Ok)
}
