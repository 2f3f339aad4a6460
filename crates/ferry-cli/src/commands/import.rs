//! `ferry import --from TOOL SRC`: another tool's migrations folder in
//! ferry's layout.

use std::path::{Path, PathBuf};

use anyhow::Result;
use ferry::Project;
use ferry::foreign::Tool;

use crate::cli::Global;
use crate::context::Outcome;
use crate::output::Out;
use crate::render;

pub fn run(
    g: &Global,
    from: Tool,
    src: &Path,
    into: Option<&PathBuf>,
    dry_run: bool,
    json: bool,
    out: &mut Out,
) -> Result<Outcome> {
    let into = match into {
        Some(d) => d.clone(),
        None => Project::load(&g.project)?.migrations_dir(),
    };
    let report = ferry::import::import(from, src, &into, dry_run)?;
    if json {
        out.json(&report)?;
    } else {
        out.text(&render::import(&report))?;
    }
    Ok(Outcome::Ok)
}
