//! `ferry status`, `ferry plan`, `ferry adopt`, `ferry guide`: release-level
//! commands. Each loads the project, asks the library, renders.

use std::path::PathBuf;

use anyhow::{Context, Result};
use ferry::migration::{MigrationSet, State, Status};
use ferry::release::{self, InstalledRecord, Known, Manifest, Start, UpgradePlan, Version};
use ferry::{DatabaseUrl, Migrator, Project};
use jiff::civil::Date;
use serde_json::json;

use crate::app::Outcome;
use crate::cli::{Format, Global};
use crate::output::Out;
use crate::render;

pub(crate) struct Loaded {
    pub(crate) project: Project,
    pub(crate) set: MigrationSet,
    pub(crate) manifest: Manifest,
}

pub(crate) fn load(g: &Global) -> Result<Loaded> {
    let project = Project::load(&g.project)?;
    let set = project.migrations()?;
    let manifest = project.manifest(&set)?;
    Ok(Loaded { project, set, manifest })
}

pub(crate) fn connect(g: &Global, project: &Project) -> Result<(Migrator, DatabaseUrl)> {
    let url = project.database_url(g.database_url.as_deref())?;
    let migrator = Migrator::connect(&url, project.settings(g.lock_timeout))?;
    Ok((migrator, url))
}

pub fn today(g: &Global) -> Result<Date> {
    match &g.today {
        Some(t) => t
            .parse::<Date>()
            .with_context(|| format!("--today {t}: write YYYY-MM-DD")),
        None => Ok(jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date()),
    }
}

pub(crate) fn parse_version(s: &str, what: &str) -> Result<Version> {
    Version::parse(s).map_err(|m| {
        ferry::Error::Config(ferry::Problems(vec![ferry::Problem::general(format!("{what}: {m}"))])).into()
    })
}

fn name(p: &Project) -> String {
    p.name().unwrap_or("the application").to_owned()
}

pub fn status(g: &Global, json_out: bool, out: &mut Out) -> Result<Outcome> {
    let l = load(g)?;
    let (mut migrator, url) = connect(g, &l.project)?;
    let status = migrator.status(&l.set)?;
    let recorded = migrator.installed()?;
    let start = release::starting_point(&l.manifest, recorded.as_ref(), &status);
    let today = today(g)?;
    let installed = match &start {
        Ok((Start::Installed(v), _)) => Some(v.clone()),
        _ => None,
    };
    let series = installed.as_ref().and_then(|v| l.manifest.policy.series_of(v)).cloned();
    let next = start
        .as_ref()
        .map_err(|e| e.to_string())
        .and_then(|(s, _)| release::plan(&l.manifest, &l.set, s, Some(&status), None).map_err(|e| e.to_string()));
    let troubled = status
        .migrations
        .iter()
        .any(|m| matches!(m.state, State::Modified | State::Missing | State::Failed));
    if json_out {
        out.json(&json!({
            "project": l.project.name(),
            "database": url.safe(),
            "engine": url.kind(),
            "installed": match &start {
                Ok((Start::Installed(v), known)) => json!({ "version": v, "known": known, "recorded": recorded }),
                Ok((Start::Fresh, _)) => json!({ "version": null, "known": Known::Fresh }),
                Err(e) => json!({ "version": null, "error": e.to_string() }),
            },
            "schema": { "current": status.current, "pending": status.pending_count() },
            "newest": l.manifest.newest().map(|r| &r.version),
            "support": series.as_ref().map(|s| json!({
                "series": s.name, "state": s.state(today), "active_until": s.active_until, "security_until": s.security_until,
            })),
            "config": ferry::config::migrate::records(&crate::configs::config_state(&l))?
                .last()
                .map(|r| json!({ "migrated_to": r.to, "at": r.at })),
            "next": match &next {
                Ok(p) => json!({ "to": p.to, "hops": p.hops.len(), "risk": p.risk, "downtime": p.downtime, "backup": p.backup }),
                Err(e) => json!({ "error": e }),
            },
        }))?;
    } else {
        out.text(&render_status(
            &l,
            &url,
            &status,
            recorded.as_ref(),
            &start,
            series.as_ref(),
            today,
            &next,
        ))?;
    }
    Ok(if troubled { Outcome::Problem } else { Outcome::Ok })
}

#[allow(clippy::too_many_arguments)]
fn render_status(
    l: &Loaded,
    url: &DatabaseUrl,
    status: &Status,
    recorded: Option<&InstalledRecord>,
    start: &Result<(Start, Known), ferry::Error>,
    series: Option<&release::Series>,
    today: Date,
    next: &Result<UpgradePlan, String>,
) -> String {
    let mut s = String::new();
    s.push_str(&format!("project:   {}\n", name(&l.project)));
    s.push_str(&format!("database:  {}\n", url.safe()));
    let installed = match start {
        Ok((Start::Installed(v), Known::Recorded)) => {
            let when = recorded
                .map(|r| format!(" by {} at {}", r.source, r.recorded_at))
                .unwrap_or_default();
            format!("{v} (recorded{when})")
        }
        Ok((Start::Installed(v), _)) => format!("{v} (inferred from the schema; record it with `ferry adopt {v}`)"),
        Ok((Start::Fresh, _)) => "nothing yet: a fresh database".to_owned(),
        Err(e) => format!("unknown\n           {}", e.to_string().replace('\n', "\n           ")),
    };
    s.push_str(&format!("installed: {installed}\n"));
    let schema = match status.current {
        Some(c) => {
            let name = status
                .migrations
                .iter()
                .find(|m| m.version == c)
                .map_or(c.to_string(), |m| m.name.clone());
            format!("migration {name}")
        }
        None => "no migration applied".to_owned(),
    };
    let pending = status.pending_count();
    s.push_str(&format!(
        "schema:    {schema}{}\n",
        if pending > 0 {
            format!(", {pending} pending")
        } else {
            String::new()
        }
    ));
    match l.manifest.newest() {
        Some(r) => s.push_str(&format!(
            "newest:    {}{}\n",
            r.version,
            r.date.map(|d| format!(" (released {d})")).unwrap_or_default()
        )),
        None => s.push_str("newest:    no releases yet (write releases/X.Y.Z.toml)\n"),
    }
    if let Some(series) = series {
        let state = series.state(today);
        let dates = match (series.active_until, series.security_until) {
            (Some(a), Some(b)) => format!(": full support until {a}, security fixes until {b}"),
            (None, Some(b)) => format!(": supported until {b}"),
            (Some(a), None) => format!(": supported until {a}"),
            _ => String::new(),
        };
        s.push_str(&format!(
            "support:   series {} is {state} as of {today}{dates}\n",
            series.name
        ));
    }
    if series.is_none()
        && !l.manifest.policy.series.is_empty()
        && let Ok((Start::Installed(v), _)) = start
    {
        s.push_str(&format!(
            "support:   ferry.toml lists no support dates for the {} series\n",
            v.series()
        ));
    }
    let next = match (start, next) {
        (Err(_), _) => "record the installed release first: `ferry adopt VERSION`".to_owned(),
        (_, Ok(p)) if p.hops.is_empty() => "nothing to upgrade: already at the newest release".to_owned(),
        (_, Ok(p)) => format!("`ferry plan` → {}", render::plan_summary(p)),
        (_, Err(e)) => e.replace('\n', "\n           "),
    };
    let config = match ferry::config::migrate::records(&crate::configs::config_state(l)) {
        Ok(r) => match r.last() {
            Some(last) if last.state != "applied" => {
                format!("the migration to {} did not finish: run `ferry config revert`", last.to)
            }
            Some(last) => format!(
                "migrated to {} at {} (`ferry config revert` undoes it)",
                last.to, last.at
            ),
            None if l.manifest.releases().iter().all(|r| r.config.is_empty()) => {
                "the releases declare no config changes".to_owned()
            }
            None => "no config migration recorded".to_owned(),
        },
        Err(e) => format!("unreadable record: {e}"),
    };
    s.push_str(&format!("config:    {config}\n"));
    s.push_str(&format!("next:      {next}\n"));
    s
}

pub fn plan(g: &Global, to: Option<&str>, from: Option<&str>, format: Format, out: &mut Out) -> Result<Outcome> {
    let l = load(g)?;
    let target = to.map(|t| parse_version(t, "--to")).transpose()?;
    let (start, status) = match from {
        Some(f) => (Start::Installed(parse_version(f, "--from")?), None),
        None => {
            let (mut migrator, _) = connect(g, &l.project)?;
            let status = migrator.status(&l.set)?;
            let recorded = migrator.installed()?;
            let (start, _) = release::starting_point(&l.manifest, recorded.as_ref(), &status)?;
            (start, Some(status))
        }
    };
    let plan = release::plan(&l.manifest, &l.set, &start, status.as_ref(), target.as_ref())?;
    match format {
        Format::Json => out.json(&plan)?,
        Format::Markdown => out.text(&release::runbook(&plan, &name(&l.project)))?,
        Format::Text => {
            let previews: Vec<Result<String, String>> = match l.project.config_dir() {
                Ok(dir) => ferry::config::migrate::preview(&dir, &l.manifest, &plan.hops)
                    .into_iter()
                    .map(|p| p.map(|p| p.diff()).map_err(|e| e.to_string()))
                    .collect(),
                Err(e) => plan.hops.iter().map(|_| Err(e.to_string())).collect(),
            };
            out.text(&render::plan(&plan, &name(&l.project), &previews))?
        }
    }
    Ok(Outcome::Ok)
}

pub fn adopt(g: &Global, version: &str, out: &mut Out) -> Result<Outcome> {
    let l = load(g)?;
    let v = parse_version(version, "adopt")?;
    let (mut migrator, _) = connect(g, &l.project)?;
    let status = migrator.status(&l.set)?;
    migrator.record_release(&v, "adopt")?;
    out.line(format!("recorded {v} as the installed release"))?;
    if l.manifest.get(&v).is_none() {
        out.line(format!(
            "note: no release file describes {v}; plans start from it by version alone"
        ))?;
    }
    if let Some(head) = l.manifest.schema_at(&v) {
        let behind: Vec<&str> = status
            .migrations
            .iter()
            .filter(|m| m.version <= head && matches!(m.state, State::Pending | State::OutOfOrder))
            .map(|m| m.name.as_str())
            .collect();
        if !behind.is_empty() {
            out.line(format!(
                "note: {v} needs migrations the database lacks ({}); apply them with `ferry db migrate --to {head}`",
                behind.join(", ")
            ))?;
        }
        if status.current.is_some_and(|c| c > head) {
            out.line(format!(
                "note: the database has migrations newer than {v}'s schema ({head}); check that {v} is really what runs"
            ))?;
        }
    }
    Ok(Outcome::Ok)
}

pub fn guide(g: &Global, output: Option<&PathBuf>, out: &mut Out) -> Result<Outcome> {
    let l = load(g)?;
    let text = release::guide(&l.manifest, &l.set, &name(&l.project), today(g)?);
    match output {
        Some(p) if p.as_os_str() == "-" => out.text(&text)?,
        _ => {
            let path = output.cloned().unwrap_or_else(|| l.project.root().join("UPGRADING.md"));
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            out.line(format!("wrote {}", path.display()))?;
        }
    }
    Ok(Outcome::Ok)
}
