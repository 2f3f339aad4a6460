//! `ferry db baseline VERSION`: record an existing database as being at a
//! version, running nothing.

use anyhow::Result;
use ferry::ops::db::Session;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;

pub fn run(g: &Global, version: u64, json: bool, out: &mut Out) -> Result<Outcome> {
    let mut s = Session::open(&g.project, &access(g))?;
    crate::output::database(&s.url);
    let done = s.baseline(version)?;
    if json {
        out.json(&done)?;
    } else {
        out.line(format!(
            "recorded the database as being at {}: migrations up to version {} count as applied",
            done.name, done.baseline
        ))?;
    }
    Ok(Outcome::Ok)
}
