//! `ferry backup list`.

use anyhow::Result;
use ferry::ops::backups::Backups;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, json: bool, out: &mut Out) -> Result<Outcome> {
    let backups = Backups::open(&g.project, &access(g))?;
    let listing = backups.list()?;
    if json {
        out.json(&listing)?;
    } else {
        out.text(&render::backup_list(&listing, backups.store.dir()))?;
    }
    Ok(Outcome::Ok)
}
