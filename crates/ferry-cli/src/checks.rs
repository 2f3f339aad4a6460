//! `ferry check`: runs the checks that apply now, prints each with its
//! result and time; exit 1 when an error check fails.

use anyhow::Result;
use ferry::check::{Severity, Skips, Status, Verdict};
use ferry::version::Version;
use ferry::{CheckWhich, Installation};

use crate::app::{Outcome, access};
use crate::cli::{Global, SkipArgs};
use crate::output::Out;

pub fn skips(args: &SkipArgs) -> Skips {
    Skips {
        warnings: args.warnings.clone(),
        errors: args.errors.clone(),
    }
}

/// `ok`, `FAIL`, `warn` or `skip`, four wide.
pub fn mark(v: &Verdict) -> &'static str {
    match (v.status, v.severity) {
        (Status::Passed, _) => "ok  ",
        (Status::Failed, Severity::Error) => "FAIL",
        (Status::Failed, Severity::Warning) => "warn",
        (Status::Skipped, _) => "skip",
    }
}

/// The verdicts as lines: mark, name, what was found, time.
pub fn lines(verdicts: &[Verdict]) -> String {
    let width = verdicts
        .iter()
        .map(|v| v.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    verdicts
        .iter()
        .map(|v| {
            format!(
                "  {} {:<width$}  {}  ({})\n",
                mark(v),
                v.name,
                v.detail.replace('\n', "\n        "),
                crate::render::millis(v.ms)
            )
        })
        .collect()
}

pub fn check(
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
        out.json(&serde_json::json!({
            "ok": !report.blocks(),
            "installed": report.installed,
            "post": report.post,
            "next": report.next.as_ref().map(|(f, t)| serde_json::json!({ "from": f, "to": t })),
            "pre": report.pre,
        }))?;
    } else {
        if which != CheckWhich::Pre {
            match &report.installed {
                Some(v) => out.line(format!("after the upgrade to {v} (post-upgrade checks):"))?,
                None => out.line("post-upgrade checks (no release installed):")?,
            }
            if report.post.is_empty() {
                out.line("  none apply")?;
            }
            out.text(&lines(&report.post))?;
        }
        if which != CheckWhich::Post {
            match &report.next {
                Some((from, to)) => out.line(format!(
                    "before the upgrade from {} to {to} (pre-flight checks):",
                    from.as_ref().map_or("nothing".to_owned(), ToString::to_string)
                ))?,
                None => out.line("pre-flight checks: no upgrade to check for")?,
            }
            if report.next.is_some() && report.pre.is_empty() {
                out.line("  none apply")?;
            }
            out.text(&lines(&report.pre))?;
        }
    }
    Ok(if report.blocks() { Outcome::Problem } else { Outcome::Ok })
}
