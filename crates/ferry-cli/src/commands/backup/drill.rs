//! `ferry backup drill`: a backup restored into a scratch database, the
//! checks run there, the scratch dropped.

use anyhow::Result;
use ferry::ops::backups::Backups;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::progress::spinner;
use crate::render;

pub fn run(g: &Global, id: &str, json: bool, out: &mut Out) -> Result<Outcome> {
    let backups = Backups::open(&g.project, &access(g))?;
    let bar = spinner(&format!("drilling {id}"));
    let drilled = backups.drill(id);
    drop(bar);
    let drilled = drilled?;
    if json {
        out.json(&drilled)?;
    } else {
        out.text(&render::drilled(&drilled))?;
    }
    Ok(Outcome::problem_if(!drilled.ok()))
}
