//! `ferry backup verify`: every member's checksum, the dump read in full.

use anyhow::Result;
use ferry::ops::backups::{Backups, Verified};

use crate::cli::Global;
use crate::context::{Outcome, access};
use crate::output::Out;
use crate::progress::spinner;
use crate::render;

pub fn run(g: &Global, id: Option<&str>, all: bool, json: bool, out: &mut Out) -> Result<Outcome> {
    let backups = Backups::open(&g.project, &access(g))?;
    let entries = backups.to_verify(if all { None } else { Some(id.unwrap_or_default()) })?;
    let mut verified = Verified { backups: Vec::new() };
    for e in &entries {
        let bar = spinner(&format!("verifying {}", e.id));
        verified.backups.push(backups.verify(e)?);
        drop(bar);
    }
    if json {
        out.json(&verified)?;
    } else {
        out.text(&render::backup_verify(&verified))?;
    }
    Ok(Outcome::problem_if(!verified.ok()))
}
