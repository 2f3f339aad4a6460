//! `ferry db verify`: the down scripts proved in a scratch database.

use std::io::IsTerminal;

use anyhow::Result;
use ferry::Installation;
use ferry::url::DatabaseUrl;
use ferry::verify::VerifyOptions;

use crate::cli::Global;
use crate::context::{Outcome, Usage, access};
use crate::output::Out;
use crate::progress::VerifyTicker;
use crate::render;

/// A migration given as a number, or a release given as its version (its schema head).
fn point(inst: &Installation, text: &str) -> Result<u64> {
    if let Ok(n) = text.parse::<u64>() {
        return Ok(n);
    }
    let v = ferry::version::Version::parse(text).map_err(|e| Usage(format!("{text}: {e}")))?;
    inst.manifest
        .get(&v)
        .and_then(|r| r.schema)
        .ok_or_else(|| Usage(format!("{text}: no release has that version, or it states no schema")).into())
}

pub fn run(
    g: &Global,
    from: Option<&str>,
    to: Option<&str>,
    scratch: Option<&str>,
    json: bool,
    out: &mut Out,
) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let scratch = scratch
        .map(|u| DatabaseUrl::parse(u, inst.project.root()))
        .transpose()
        .map_err(|p| ferry::Error::Config(ferry::Problems(vec![p])))?;
    let opts = VerifyOptions {
        from: from.map(|f| point(&inst, f)).transpose()?,
        to: to.map(|t| point(&inst, t)).transpose()?,
        scratch,
    };
    let mut ticker = VerifyTicker(std::io::stderr().is_terminal() && !json);
    let report = ferry::verify::verify(&inst, &access(g), &opts, &mut ticker);
    drop(ticker);
    let report = report?;
    if json {
        out.json(&report)?;
    } else {
        out.text(&render::verification(&report))?;
    }
    Ok(Outcome::problem_if(!report.ok))
}
