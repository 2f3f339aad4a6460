//! `ferry db validate`: do the migrations folder and the database agree?

use anyhow::Result;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, json: bool, out: &mut Out) -> Result<Outcome> {
    let validation = ferry::ops::db::validate(&g.project, &access(g))?;
    if json {
        out.json(&validation)?;
    } else {
        out.text(&render::validation(&validation))?;
    }
    Ok(Outcome::problem_if(!validation.ok()))
}
