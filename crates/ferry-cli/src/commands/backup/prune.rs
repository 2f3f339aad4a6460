//! `ferry backup prune`: delete what the retention rules do not keep.

use anyhow::Result;
use ferry::ops::backups::Backups;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, dry_run: bool, json: bool, out: &mut Out) -> Result<Outcome> {
    let pruning = Backups::open(&g.project, &access(g))?.prune(dry_run)?;
    if json {
        out.json(&pruning)?;
    } else {
        out.text(&render::backup_prune(&pruning))?;
    }
    Ok(Outcome::Ok)
}
