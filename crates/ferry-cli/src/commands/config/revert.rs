//! `ferry config revert`: the last config migration undone, byte for byte.

use anyhow::Result;
use ferry::Installation;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, force: bool, json: bool, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let reverted = ferry::ops::config_files::revert(&inst, &access(g), force)?;
    if json {
        out.json(&reverted)?;
    } else {
        out.text(&render::config_revert(&reverted))?;
    }
    Ok(Outcome::Ok)
}
