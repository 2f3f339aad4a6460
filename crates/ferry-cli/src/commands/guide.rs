//! `ferry guide`: the application's UPGRADING.md.

use std::path::PathBuf;

use anyhow::Result;
use ferry::Installation;

use crate::cli::Global;
use crate::context::{Outcome, access, today};
use crate::output::Out;

pub fn run(g: &Global, output: Option<&PathBuf>, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    match output {
        Some(p) if p.as_os_str() == "-" => out.text(&ferry::ops::release::guide(&inst, today(g)))?,
        _ => {
            let path = ferry::ops::release::write_guide(&inst, output.map(PathBuf::as_path), today(g))?;
            out.line(format!("wrote {}", path.display()))?;
        }
    }
    Ok(Outcome::Ok)
}
