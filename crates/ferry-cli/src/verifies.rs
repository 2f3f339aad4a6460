//! `ferry db verify`: parse, run in the library, render.

use std::io::IsTerminal;

use anyhow::Result;
use ferry::project::Installation;
use ferry::url::DatabaseUrl;
use ferry::verify::{StepCheck, StepResult, VerifyOptions, VerifyProgress, VerifyReport};

use crate::app::{Outcome, access};
use crate::cli::Global;
use crate::output::Out;

/// A migration given as a number, or a release given as its version (its schema head).
fn point(inst: &Installation, text: &str) -> Result<u64> {
    if let Ok(n) = text.parse::<u64>() {
        return Ok(n);
    }
    let v = ferry::version::Version::parse(text).map_err(|e| crate::app::Usage(format!("{text}: {e}")))?;
    inst.manifest
        .get(&v)
        .and_then(|r| r.schema)
        .ok_or_else(|| crate::app::Usage(format!("{text}: no release has that version, or it states no schema")).into())
}

struct Ticker(bool);

impl VerifyProgress for Ticker {
    fn step(&mut self, check: &StepCheck, index: usize, total: usize) {
        if self.0 {
            eprint!("\rverified {}/{total}: {}\x1b[K", index + 1, check.name);
        }
    }
}

pub fn verify(
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
    let mut ticker = Ticker(std::io::stderr().is_terminal() && !json);
    let report = ferry::verify::verify(&inst, &access(g), &opts, &mut ticker)?;
    if ticker.0 {
        eprint!("\r\x1b[K");
    }
    if json {
        out.json(&report)?;
    } else {
        out.text(&render(&report))?;
    }
    Ok(if report.ok { Outcome::Ok } else { Outcome::Problem })
}

fn render(r: &VerifyReport) -> String {
    let mut s = format!(
        "verified {} migration{} on {} (a scratch database, dropped), in {}\n",
        r.steps.len(),
        if r.steps.len() == 1 { "" } else { "s" },
        r.engine.name(),
        crate::render::millis(r.ms)
    );
    for c in &r.steps {
        let line = match &c.result {
            StepResult::Inverts => format!("  ok    {}: its down takes the schema back", c.name),
            StepResult::NoDown => format!("  -     {}: no down script (a rollback restores a backup)", c.name),
            StepResult::DownFails { error } => format!("  FAIL  {}: its down fails: {}", c.name, first_line(error)),
            StepResult::Differs { differences } => {
                let mut l = format!("  FAIL  {}: its down leaves the schema different:", c.name);
                for d in differences {
                    l.push_str(&format!("\n          {d}"));
                }
                l
            }
            StepResult::UpAgainFails { error } => {
                format!(
                    "  FAIL  {}: its up fails again after its down: {}",
                    c.name,
                    first_line(error)
                )
            }
            StepResult::UpFails { error } => format!("  FAIL  {}: its up fails: {}", c.name, first_line(error)),
        };
        s.push_str(&line);
        s.push('\n');
        if let Some(e) = &c.up_again_error {
            s.push_str(&format!("          and its up then fails again: {}\n", first_line(e)));
        }
        if !c.drops.is_empty() {
            s.push_str(&format!(
                "          its down drops {}: data written after the upgrade is lost by a rollback\n",
                crate::render::summarize(&c.drops, 4)
            ));
        }
    }
    for c in &r.chain {
        let to = match &c.release {
            Some(v) => format!("{v}'s schema (migration {})", c.to),
            None if c.to == 0 => "an empty database".to_owned(),
            None => format!("migration {}", c.to),
        };
        match (&c.error, c.differences.is_empty()) {
            (Some(e), _) => s.push_str(&format!(
                "  FAIL  the downs, in a chain down to {to}: {}\n",
                first_line(e)
            )),
            (None, true) => s.push_str(&format!("  ok    the downs, in a chain down to {to}\n")),
            (None, false) => {
                s.push_str(&format!("  FAIL  the downs, in a chain down to {to}, leave:\n"));
                for d in &c.differences {
                    s.push_str(&format!("          {d}\n"));
                }
            }
        }
    }
    if let Some(why) = &r.stopped {
        s.push_str(&format!("stopped: {why}\n"));
    }
    s.push_str(if r.ok {
        "every down verified\n"
    } else {
        "some downs do not take the schema back: rollbacks restore the backup for them (`ferry plan` says which)\n"
    });
    s
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
