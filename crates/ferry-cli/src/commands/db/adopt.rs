//! `ferry db adopt --from TOOL`: take over a database another tool migrated.

use anyhow::Result;
use ferry::foreign::Tool;
use ferry::ops::db::Session;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub struct Args {
    pub from: Tool,
    pub table: Option<String>,
    pub dry_run: bool,
    pub allow_gaps: bool,
    pub drop_foreign: bool,
    pub json: bool,
}

pub fn run(g: &Global, a: Args, out: &mut Out) -> Result<Outcome> {
    let mut s = Session::open(&g.project, &access(g))?;
    if !a.dry_run {
        crate::output::database(&s.url);
    }
    let report = s.adopt(a.from, a.table, a.dry_run, a.allow_gaps, a.drop_foreign)?;
    if a.json {
        out.json(&report)?;
    } else {
        out.text(&render::adopt(&report))?;
    }
    Ok(Outcome::Ok)
}
