//! `ferry config diff`: what the config files lack or still use; exit 1
//! when something required is missing.

use std::path::Path;

use anyhow::Result;
use ferry::Installation;
use ferry::ops::config_files::DiffAgainst;
use ferry::version::Version;

use crate::cli::Global;
use crate::context::{Outcome, Usage, access};
use crate::output::Out;
use crate::render;

pub fn run(
    g: &Global,
    file: Option<&Path>,
    example: Option<&Path>,
    to: Option<&Version>,
    json: bool,
    out: &mut Out,
) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let against = match (example, file) {
        (Some(ex), Some(user)) => DiffAgainst::Example {
            user: user.to_owned(),
            example: ex.to_owned(),
        },
        (Some(ex), None) => DiffAgainst::Example {
            user: ferry::ops::config_files::user_file_for(&inst, ex)?.ok_or_else(|| {
                Usage(format!(
                    "cannot tell the user's file for {}: name it, as in `ferry config diff .env --example {}`",
                    inst.project
                        .config_dir()
                        .map_or(ex.to_owned(), |d| d.join(ex))
                        .display(),
                    inst.project
                        .config_dir()
                        .map_or(ex.to_owned(), |d| d.join(ex))
                        .display()
                ))
            })?,
            example: ex.to_owned(),
        },
        (None, Some(f)) => {
            return Err(Usage(format!(
                "{}: a file is compared with an example only\n  help: pass --example FILE (such as .env.example), or leave out the file to check every file the releases name",
                f.display()
            ))
            .into());
        }
        (None, None) => DiffAgainst::Releases,
    };
    let diff = ferry::ops::config_files::diff(&inst, &access(g), to, &against)?;
    if json {
        out.json(&diff)?;
    } else {
        out.text(&render::config_diff(&diff))?;
    }
    Ok(Outcome::problem_if(diff.missing_required()))
}
