//! `ferry status`: where the application stands.

use anyhow::Result;
use ferry::Installation;
use ferry::overview::Overview;

use crate::cli::Global;
use crate::context::{Outcome, access, today};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, json: bool, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let (mut migrator, url) = inst.connect(&access(g))?;
    let overview = Overview::gather(&inst, &access(g), &mut migrator, &url, today(g))?;
    if json {
        out.json(&overview)?;
    } else {
        out.text(&render::overview(&inst, &overview))?;
    }
    Ok(Outcome::problem_if(overview.troubled()))
}
