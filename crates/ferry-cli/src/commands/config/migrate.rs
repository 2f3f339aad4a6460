//! `ferry config migrate`: the releases' config changes applied, comments
//! and layout kept.

use anyhow::Result;
use ferry::Installation;
use ferry::version::Version;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub fn run(
    g: &Global,
    to: Option<&Version>,
    from: Option<&Version>,
    dry_run: bool,
    json: bool,
    out: &mut Out,
) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let migration = ferry::ops::config_files::migrate(&inst, &access(g), to, from, dry_run)?;
    if json {
        out.json(&migration)?;
    } else {
        out.text(&render::config_migration(&migration))?;
    }
    Ok(Outcome::Ok)
}
