//! `ferry check`: the checks that apply now; exit 1 when an error check
//! fails.

use anyhow::Result;
use ferry::version::Version;
use ferry::{CheckWhich, Installation};

use crate::cli::{Global, SkipArgs};
use crate::context::{Outcome, access, skips};
use crate::output::Out;
use crate::render;

pub fn run(
    g: &Global,
    pre: bool,
    post: bool,
    to: Option<&Version>,
    skip: &SkipArgs,
    json: bool,
    out: &mut Out,
) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let (mut migrator, url) = inst.connect(&access(g))?;
    let which = match (pre, post) {
        (true, _) => CheckWhich::Pre,
        (_, true) => CheckWhich::Post,
        _ => CheckWhich::Both,
    };
    let report = inst.check(&mut migrator, &url, which, to, &skips(skip))?;
    if json {
        out.json(&report)?;
    } else {
        out.text(&render::check_report(
            &report,
            which != CheckWhich::Pre,
            which != CheckWhich::Post,
        ))?;
    }
    Ok(Outcome::problem_if(report.blocks()))
}
