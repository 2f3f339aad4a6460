//! `ferry check` and every list of check verdicts.

use ferry::CheckReport;
use ferry::check::{Severity, Status, Verdict};

use super::millis;

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
                millis(v.ms)
            )
        })
        .collect()
}

/// `ferry check`: the post checks of the installed release and the pre
/// checks of the next hop, as asked.
pub fn check_report(report: &CheckReport, post: bool, pre: bool) -> String {
    let mut out = String::new();
    if post {
        match &report.installed {
            Some(v) => out.push_str(&format!("after the upgrade to {v} (post-upgrade checks):\n")),
            None => out.push_str("post-upgrade checks (no release installed):\n"),
        }
        if report.post.is_empty() {
            out.push_str("  none apply\n");
        }
        out.push_str(&lines(&report.post));
    }
    if pre {
        match &report.next {
            Some((from, to)) => out.push_str(&format!(
                "before the upgrade from {} to {to} (pre-flight checks):\n",
                from.as_ref().map_or("nothing".to_owned(), ToString::to_string)
            )),
            None => out.push_str("pre-flight checks: no upgrade to check for\n"),
        }
        if report.next.is_some() && report.pre.is_empty() {
            out.push_str("  none apply\n");
        }
        out.push_str(&lines(&report.pre));
    }
    out
}
