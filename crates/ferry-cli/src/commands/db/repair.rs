//! `ferry db repair`: after a person fixed the database by hand.

use anyhow::Result;
use ferry::ops::db::Session;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, dry_run: bool, json: bool, out: &mut Out) -> Result<Outcome> {
    let mut s = Session::open(&g.project, &access(g))?;
    if !dry_run {
        crate::output::database(&s.url);
    }
    let repaired = s.repair(dry_run)?;
    if json {
        out.json(&repaired)?;
    } else {
        out.text(&render::repair(&repaired.changes, repaired.dry_run))?;
    }
    Ok(Outcome::Ok)
}
