//! `ferry new NAME`: the next migration pair.

use anyhow::Result;

use crate::cli::Global;
use crate::context::Outcome;
use crate::output::Out;

pub fn run(g: &Global, name: &str, timestamp: bool, out: &mut Out) -> Result<Outcome> {
    for (up, down) in ferry::ops::new::new_migration(&g.project, name, timestamp)? {
        out.line(format!("created {}", up.display()))?;
        out.line(format!("created {}", down.display()))?;
    }
    Ok(Outcome::Ok)
}
