//! `ferry man`: the man page, from the arguments' own definitions.

use anyhow::Result;

use crate::cli::Cli;
use crate::context::Outcome;
use crate::output::Out;

pub fn run(out: &mut Out) -> Result<Outcome> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf)?;
    out.text(&String::from_utf8_lossy(&buf))?;
    Ok(Outcome::Ok)
}
