//! `ferry adopt VERSION`: record the installed release.

use anyhow::Result;
use ferry::Installation;
use ferry::version::Version;

use crate::cli::Global;
use crate::context::{Outcome, access, name_database};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, version: &Version, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    name_database(&inst.project, g)?;
    let adopted = ferry::ops::release::adopt(&inst, &access(g), version)?;
    out.text(&render::adopted(&adopted))?;
    Ok(Outcome::Ok)
}
