//! `ferry db history`: applied migrations with times and durations.

use anyhow::Result;
use ferry::ops::db::Session;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, json: bool, out: &mut Out) -> Result<Outcome> {
    let history = Session::open(&g.project, &access(g))?.history()?;
    if json {
        out.json(&history)?;
    } else {
        out.text(&render::history(&history.history))?;
    }
    Ok(Outcome::Ok)
}
