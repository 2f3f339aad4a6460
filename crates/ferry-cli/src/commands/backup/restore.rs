//! `ferry backup restore ID`: the database and the config files put back.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use ferry::ops::backups::{Backups, RestoreRequest, Restored};

use crate::cli::Global;
use crate::context::{Outcome, access, name_database};
use crate::output::Out;
use crate::progress::line;
use crate::render;

pub fn run(g: &Global, id: &str, request: &RestoreRequest, yes: bool, json: bool, out: &mut Out) -> Result<Outcome> {
    let backups = Backups::open(&g.project, &access(g))?;
    if !request.transfer && !yes && !std::io::stdin().is_terminal() {
        bail!("restoring overwrites the database and config files: pass --yes to confirm without a terminal");
    }
    if !request.files_only {
        name_database(&ferry::Project::load(&g.project)?, g)?;
    }
    let restored = backups.restore(
        id,
        request,
        |plan, files_left| {
            let mut err = std::io::stderr();
            let _ = writeln!(err, "Restoring backup {} will overwrite:", plan.id);
            if let Some(db) = &plan.database {
                let _ = writeln!(err, "  the database {db} (its whole contents)");
            }
            for (f, exists) in &plan.files {
                let _ = writeln!(err, "  {f}{}", if *exists { "" } else { " (new)" });
            }
            if files_left {
                let _ = writeln!(
                    err,
                    "  (not the project's config files: the target is not ferry.toml's database; --with-files restores them too)"
                );
            }
            if yes {
                return true;
            }
            let _ = write!(err, "Type yes to restore: ");
            let _ = err.flush();
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            answer.trim() == "yes"
        },
        &mut line,
    )?;
    let declined = matches!(restored, Restored::Restored { plan: None, .. });
    if json {
        out.json(&restored)?;
    } else {
        out.text(&render::restored(&restored))?;
    }
    Ok(Outcome::problem_if(declined))
}
