//! `ferry backup create`: the database and the config files.

use anyhow::Result;
use ferry::ops::backups::Backups;

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::{self, Out};
use crate::progress::spinner;
use crate::render;

pub fn run(g: &Global, label: Option<&str>, json: bool, out: &mut Out) -> Result<Outcome> {
    let backups = Backups::open(&g.project, &access(g))?;
    let bar = spinner("backing up");
    let created = backups.create(label);
    drop(bar);
    let created = created?;
    for m in &created.entry.sidecar.manifest.missing {
        output::warn(&format!(
            "[backup] files: `{m}` matches nothing in {}, so the backup does not hold it",
            backups.project.root().display()
        ));
    }
    if json {
        out.json(&created)?;
    } else {
        out.text(&render::backup_created(&created))?;
    }
    Ok(Outcome::Ok)
}
