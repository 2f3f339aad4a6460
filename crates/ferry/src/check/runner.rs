//! Running checks: each gives a [`Verdict`] that the upgrade journal keeps
//! and the CLI prints; compare checks find their value from before the hop
//! in the verdicts of its pre-flight.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use super::probe;
use crate::migrator::Migrator;
use crate::project::Component;
use crate::project::check::{Check, Free, Kind, Phase, Probe, Severity};
use crate::records::check::{Skips, Status, Verdict};
use crate::url::{DatabaseUrl, EngineKind};
use crate::version::Version;

/// What checks run against.
pub struct Context<'a> {
    /// The live database.
    pub migrator: &'a mut Migrator,
    /// Its URL.
    pub url: &'a DatabaseUrl,
    /// The project folder (disk checks' paths are relative to it).
    pub root: &'a Path,
    /// Makes text safe to keep.
    pub redact: &'a dyn Fn(&str) -> String,
    /// How to ask components their versions.
    pub probes: &'a BTreeMap<String, Probe>,
    /// What to skip.
    pub skips: &'a Skips,
}

/// Every row of `sql`, a line each, cells apart by tabs (NULL as `NULL`).
fn rows(migrator: &mut Migrator, sql: &str) -> Result<String, String> {
    let rows = migrator.engine().query(sql).map_err(|e| e.message)?;
    Ok(rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.as_deref().unwrap_or("NULL"))
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

fn database_size(ctx: &mut Context<'_>) -> Result<u64, String> {
    let sql = ctx.migrator.engine().dialect().database_size();
    rows(ctx.migrator, sql)?
        .trim()
        .parse()
        .map_err(|_| "cannot read the database's size".to_owned())
}

/// `${VAR}` and `${VAR:-default}` in a check's URL, address or path: the
/// process environment, then `.env` beside ferry.toml.
pub(crate) fn expand(root: &Path, text: &str) -> Result<String, String> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let env = crate::env::Env::load(root).map_err(|p| p.to_string())?;
    crate::env::expand(text, |n| env.get(n))
        .map_err(|var| format!("`${{{var}}}` is not set: set it, or give a default (${{{var}:-...}})"))
}

/// Runs one check; `before` is its value from before the hop (compare checks).
fn one(check: &Check, phase: Phase, ctx: &mut Context<'_>, before: Option<&str>) -> (Status, String, Option<String>) {
    let outcome = |r: Result<String, String>| match r {
        Ok(d) => (Status::Passed, d, None),
        Err(d) => (Status::Failed, d, None),
    };
    match &check.kind {
        Kind::Sql { sql, expect } => match rows(ctx.migrator, sql) {
            Err(e) => (Status::Failed, e, None),
            Ok(all) => {
                let first = all.lines().next().and_then(|l| l.split('\t').next()).map(str::to_owned);
                match expect {
                    Some(want) if !want.holds(first.as_deref()) => (
                        Status::Failed,
                        format!("expected {want}, got {}", first.as_deref().unwrap_or("no row")),
                        first,
                    ),
                    _ => (
                        Status::Passed,
                        first.as_ref().map_or("ran".to_owned(), |v| format!("returned {v}")),
                        first,
                    ),
                }
            }
        },
        Kind::Compare { sql, how, map } => match (phase, rows(ctx.migrator, sql)) {
            (_, Err(e)) => (Status::Failed, e, None),
            (Phase::Pre, Ok(now)) => (
                Status::Passed,
                format!("measured before: {}", first_line(&now)),
                Some(now),
            ),
            (Phase::Post, Ok(now)) => match before {
                None => (
                    Status::Skipped,
                    "nothing measured before to compare with (it compares inside `ferry upgrade`)".to_owned(),
                    Some(now),
                ),
                Some(b) => match how.holds(b, &now, map) {
                    Ok(()) => (Status::Passed, format!("{how:?} as before").to_lowercase(), Some(now)),
                    Err(e) => (Status::Failed, e, Some(now)),
                },
            },
        },
        Kind::Http {
            url,
            head,
            status,
            contains,
            json,
            retries,
            delay,
            timeout,
        } => {
            let want = probe::HttpWant {
                head: *head,
                status: *status,
                contains: contains.as_deref(),
                json: json.as_ref().map(|(p, v)| (p.as_str(), v.as_str())),
            };
            outcome(expand(ctx.root, url).and_then(|url| probe::http(&url, &want, *retries, *delay, *timeout)))
        }
        Kind::Tcp { address, timeout } => outcome(expand(ctx.root, address).and_then(|a| probe::tcp(&a, *timeout))),
        Kind::Command { run, contains, timeout } => {
            let mut cmd = run.command();
            cmd.current_dir(ctx.root);
            match crate::process::run_timed(cmd, &check.name, *timeout) {
                Err(e) => (Status::Failed, e.to_string(), None),
                Ok(ran) => {
                    let tail: String = ran
                        .output
                        .lines()
                        .rev()
                        .take(3)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join(" / ");
                    match ran.status {
                        None => (
                            Status::Failed,
                            format!(
                                "did not finish within {}, and was killed",
                                crate::text::seconds(*timeout)
                            ),
                            None,
                        ),
                        Some(s) if !s.success() => {
                            (Status::Failed, format!("{}: {tail}", crate::process::describe(s)), None)
                        }
                        Some(_) => match contains {
                            Some(t) if !ran.output.contains(t.as_str()) => {
                                (Status::Failed, format!("its output lacks {t:?}: {tail}"), None)
                            }
                            _ => (
                                Status::Passed,
                                format!(
                                    "exit status 0{}",
                                    if tail.is_empty() {
                                        String::new()
                                    } else {
                                        format!(": {tail}")
                                    }
                                ),
                                None,
                            ),
                        },
                    }
                }
            }
        }
        Kind::Disk { path, free } => {
            let full = match expand(ctx.root, &path.to_string_lossy()) {
                Ok(p) => ctx.root.join(p),
                Err(e) => return (Status::Failed, e, None),
            };
            let want = match free {
                Free::Bytes(b) => Ok(*b),
                Free::TimesDatabase(x) => database_size(ctx).map(|s| (s as f64 * x) as u64),
            };
            match (want, probe::free_bytes(&full)) {
                (Err(e), _) | (_, Err(e)) => (Status::Failed, e, None),
                (Ok(want), Ok(have)) if have >= want => (
                    Status::Passed,
                    format!(
                        "{} free on the volume of {}, {} wanted",
                        crate::text::bytes(have),
                        path.display(),
                        crate::text::bytes(want)
                    ),
                    Some(have.to_string()),
                ),
                (Ok(want), Ok(have)) => (
                    Status::Failed,
                    format!(
                        "{} free on the volume of {}, {} wanted",
                        crate::text::bytes(have),
                        path.display(),
                        crate::text::bytes(want)
                    ),
                    Some(have.to_string()),
                ),
            }
        }
    }
}

fn first_line(s: &str) -> String {
    let n = s.lines().count();
    match n {
        0 => "no row".to_owned(),
        1 => s.to_owned(),
        _ => format!("{} (and {} more rows)", s.lines().next().unwrap_or_default(), n - 1),
    }
}

/// Runs the `checks` that apply in `phase` with the database at `version`.
/// Compare checks in the post phase find their value from before in `before`.
pub fn run(
    checks: &[Check],
    phase: Phase,
    version: Option<&Version>,
    ctx: &mut Context<'_>,
    before: &[Verdict],
) -> Vec<Verdict> {
    let mut out = Vec::new();
    for c in checks.iter().filter(|c| c.applies(phase, version)) {
        let skip = match c.severity {
            Severity::Warning => ctx.skips.warnings.contains(&c.name) || ctx.skips.errors.contains(&c.name),
            Severity::Error => ctx.skips.errors.contains(&c.name),
        };
        let start = Instant::now();
        let (status, detail, value) = if skip {
            (
                Status::Skipped,
                format!(
                    "skipped with {}",
                    if c.severity == Severity::Error {
                        "--skip-errors"
                    } else {
                        "--skip"
                    }
                ),
                None,
            )
        } else {
            let prior = before
                .iter()
                .rev()
                .find(|v| v.name == c.name && v.kind == "compare")
                .and_then(|v| v.value.as_deref());
            one(c, phase, ctx, prior)
        };
        out.push(Verdict {
            name: c.name.clone(),
            kind: c.kind.name().to_owned(),
            severity: c.severity,
            status,
            detail: (ctx.redact)(&detail),
            value,
            ms: start.elapsed().as_millis() as u64,
        });
    }
    out
}

/// The components a release needs, checked for real: the connected server
/// for postgresql, mysql, mariadb and sqlite; `[components]` for the rest.
/// Below `min` fails (an error), below `recommended` warns.
pub fn requirements(requires: &[Component], ctx: &mut Context<'_>) -> Vec<Verdict> {
    let mut out = Vec::new();
    for c in requires {
        let start = Instant::now();
        let name = c.name.to_ascii_lowercase();
        let label = format!("{} >= {}", c.name, c.min.as_deref().unwrap_or("any"));
        let found: Result<String, String> = match EngineKind::of_component(&name) {
            Some(kind) if kind == ctx.url.kind() => ctx.migrator.engine().server_version().map_err(|e| e.to_string()),
            Some(_) => Err(format!("not checked: the database is {}", ctx.url.kind().name())),
            None => match ctx
                .probes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&name))
                .map(|(_, p)| p)
            {
                Some(Probe::Redis(url)) => {
                    let url = crate::env::Env::load(ctx.root)
                        .ok()
                        .and_then(|env| crate::env::expand(url, |n| env.get(n)).ok())
                        .unwrap_or_else(|| url.clone());
                    probe::redis_version(&url, std::time::Duration::from_secs(5))
                }
                Some(Probe::Command(run)) => {
                    let mut cmd = run.command();
                    cmd.current_dir(ctx.root);
                    match crate::process::run_timed(cmd, &c.name, std::time::Duration::from_secs(10)) {
                        Ok(ran) if ran.status.is_some_and(|s| s.success()) => Ok(ran.output),
                        Ok(ran) => Err(format!("`{}` failed: {}", run.display(), ran.output.trim())),
                        Err(e) => Err(e.to_string()),
                    }
                }
                None => Err(format!(
                    "not checked: say how to ask its version in ferry.toml ([components.{name}] command = [...]{})",
                    if name == "redis" {
                        " or url = \"redis://...\""
                    } else {
                        ""
                    }
                )),
            },
        };
        let (status, severity, detail, value) = match found.map(|text| (probe::version_in(&text), text)) {
            Err(e) if e.starts_with("not checked") => (Status::Skipped, Severity::Warning, e, None),
            Err(e) => (
                Status::Failed,
                Severity::Error,
                format!("cannot tell its version: {e}"),
                None,
            ),
            Ok((None, text)) => (
                Status::Failed,
                Severity::Error,
                format!("no version in {:?}", text.trim()),
                None,
            ),
            Ok((Some(v), _)) => {
                let below = |want: &Option<String>| {
                    want.as_deref()
                        .and_then(probe::version_in)
                        .filter(|w| probe::version_cmp(&v, w).is_lt())
                };
                if let Some(min) = below(&c.min) {
                    (
                        Status::Failed,
                        Severity::Error,
                        format!("{v} is older than {min}, the minimum"),
                        Some(v),
                    )
                } else if let Some(rec) = below(&c.recommended) {
                    (
                        Status::Failed,
                        Severity::Warning,
                        format!("{v} works, but {rec} is recommended"),
                        Some(v),
                    )
                } else {
                    (Status::Passed, Severity::Error, v.clone(), Some(v))
                }
            }
        };
        let skipped =
            ctx.skips.errors.contains(&label) || (severity == Severity::Warning && ctx.skips.warnings.contains(&label));
        out.push(Verdict {
            name: label,
            kind: "component".into(),
            severity,
            status: if skipped && status == Status::Failed {
                Status::Skipped
            } else {
                status
            },
            detail: (ctx.redact)(&detail),
            value,
            ms: start.elapsed().as_millis() as u64,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    /// A check's URL, address or path (and a watch source's, which expand
    /// the same way): the environment, then `.env`, then the default.
    #[test]
    fn check_targets_read_dotenv_before_the_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "FERRY_T_CHECK_ADDR=127.0.0.1:9\n").unwrap();
        assert_eq!(
            super::expand(dir.path(), "${FERRY_T_CHECK_ADDR:-localhost:1}").unwrap(),
            "127.0.0.1:9"
        );
        assert_eq!(
            super::expand(dir.path(), "http://${FERRY_T_CHECK_UNSET:-localhost:1}/health").unwrap(),
            "http://localhost:1/health"
        );
    }
}
