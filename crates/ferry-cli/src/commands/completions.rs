//! `ferry completions SHELL`: a completion script from the arguments' own
//! definitions.

use anyhow::Result;

use crate::cli::Cli;
use crate::context::Outcome;
use crate::output::Out;

pub fn run(shell: clap_complete::Shell, out: &mut Out) -> Result<Outcome> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "ferry", &mut buf);
    out.text(&String::from_utf8_lossy(&buf))?;
    Ok(Outcome::Ok)
}
