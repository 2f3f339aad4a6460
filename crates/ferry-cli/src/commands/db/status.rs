//! `ferry db status`: each migration and its state.

use anyhow::Result;
use ferry::ops::db::Session;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::render;

pub fn run(g: &Global, json: bool, out: &mut Out) -> Result<Outcome> {
    let mut s = Session::open(&g.project, &access(g))?;
    let status = s.status()?;
    if json {
        out.json(&status)?;
    } else {
        out.line(format!(
            "database: {} ({} {})",
            status.database,
            status.engine.name(),
            status.server_version
        ))?;
        out.line(format!("history table: {}\n", status.history_table))?;
        out.text(&render::status(&status.status))?;
    }
    Ok(Outcome::problem_if(status.troubled()))
}
