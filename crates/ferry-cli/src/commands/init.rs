//! `ferry init`: ferry.toml, a migrations folder, .gitattributes and
//! .gitignore lines.

use anyhow::Result;

use crate::cli::Global;
use crate::context::Outcome;
use crate::output::Out;

pub fn run(g: &Global, name: Option<&str>, out: &mut Out) -> Result<Outcome> {
    let created = ferry::scaffold::init(&g.project, name, g.database_url.as_deref())?;
    for p in &created.paths {
        out.line(format!("created {}", p.display()))?;
    }
    for note in &created.notes {
        out.line(format!("note: {note}"))?;
    }
    out.line("")?;
    out.line("next: write a migration with `ferry new create_first_table`, then run `ferry db migrate`")?;
    Ok(Outcome::Ok)
}
