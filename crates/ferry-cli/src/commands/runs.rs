//! `ferry runs`: the upgrade runs ferry keeps, one run's report, or
//! journals as stored.

use anyhow::Result;
use ferry::Installation;
use ferry::ops::runs;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, id: Option<&str>, journal: bool, json: bool, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    if journal {
        let journals = runs::journals(&inst, &access(g), id)?;
        if json {
            out.json(&journals)?;
        } else {
            for line in journals.iter().flat_map(|j| &j.lines) {
                out.line(line)?;
            }
        }
        return Ok(Outcome::Ok);
    }
    if id.is_none() {
        let all = runs::list(&inst, &access(g))?;
        if json {
            out.json(&all)?;
        } else {
            out.text(&render::runs(&all))?;
        }
        return Ok(Outcome::Ok);
    }
    let report = runs::show(&inst, &access(g), id)?;
    if json {
        out.json(&report)?;
    } else {
        out.text(&render::run_report(&report))?;
    }
    Ok(Outcome::problem_if(report.is_unfinished()))
}
