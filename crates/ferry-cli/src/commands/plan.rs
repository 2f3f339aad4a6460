//! `ferry plan`: the path to a target, hop by hop.

use anyhow::Result;
use ferry::Installation;
use ferry::version::Version;

use crate::cli::{Format, Global};
use crate::context::{Outcome, access};
use crate::output::{self, Out};
use crate::render;

pub fn run(g: &Global, to: Option<&Version>, from: Option<&Version>, format: Format, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let report = ferry::ops::plan::plan(&inst, &access(g), to, from)?;
    for w in &report.warnings {
        output::warn(w);
    }
    let name = inst.project.name().unwrap_or("the application");
    match format {
        Format::Json => out.json(&report)?,
        Format::Markdown => out.text(&ferry::plan::runbook(&report.plan, name))?,
        Format::Text => {
            let previews = ferry::ops::plan::config_previews(&inst, &report.plan);
            out.text(&render::plan(&report.plan, name, &previews))?
        }
    }
    Ok(Outcome::Ok)
}
