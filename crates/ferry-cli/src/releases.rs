//! `ferry status`, `ferry plan`, `ferry adopt`, `ferry guide`: release-level
//! commands. Each asks the library, renders.

use std::path::PathBuf;

use anyhow::{Context, Result};
use ferry::migration::State;
use ferry::overview::Overview;
use ferry::plan::{self, Known, Start};
use ferry::version::Version;
use ferry::{Installation, Project};
use jiff::civil::Date;

use crate::app::{Outcome, access};
use crate::cli::{Format, Global};
use crate::output::Out;
use crate::render;

pub fn today(g: &Global) -> Date {
    g.today
        .unwrap_or_else(|| jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date())
}

fn name(p: &Project) -> String {
    p.name().unwrap_or("the application").to_owned()
}

pub fn status(g: &Global, json_out: bool, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let (mut migrator, url) = inst.connect(&access(g))?;
    let overview = Overview::gather(&inst, &mut migrator, &url, today(g))?;
    if json_out {
        out.json(&overview.json())?;
    } else {
        out.text(&render_status(&inst, &overview))?;
    }
    Ok(if overview.troubled() {
        Outcome::Problem
    } else {
        Outcome::Ok
    })
}

fn render_status(inst: &Installation, o: &Overview) -> String {
    let obs = &o.observed;
    let status = &obs.status;
    let indent = |s: &str| s.replace('\n', "\n           ");
    let mut s = String::new();
    s.push_str(&format!("project:   {}\n", name(&inst.project)));
    s.push_str(&format!("database:  {}\n", o.database));
    let installed = match &obs.start {
        Ok((Start::Installed(v), Known::Recorded)) => {
            let when = obs
                .recorded
                .as_ref()
                .map(|r| format!(" by {} at {}", r.source, r.recorded_at))
                .unwrap_or_default();
            format!("{v} (recorded{when})")
        }
        Ok((Start::Installed(v), _)) => format!("{v} (inferred from the schema; record it with `ferry adopt {v}`)"),
        Ok((Start::Fresh, _)) => "nothing yet: a fresh database".to_owned(),
        Err(e) => format!("unknown\n           {}", indent(e)),
    };
    s.push_str(&format!("installed: {installed}\n"));
    if let Some(r) = obs.installed().and_then(|v| inst.manifest.get(v))
        && (r.commit.is_some() || r.built.is_some())
    {
        s.push_str(&format!(
            "build:     {}{}\n",
            r.commit.as_deref().map(|c| format!("commit {c}")).unwrap_or_default(),
            r.built.map(|b| format!(", built {b}")).unwrap_or_default()
        ));
    }
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
    match &o.newest {
        Some(v) => s.push_str(&format!(
            "newest:    {v}{}\n",
            o.newest_date.map(|d| format!(" (released {d})")).unwrap_or_default()
        )),
        None => s.push_str("newest:    no releases yet (write releases/X.Y.Z.toml)\n"),
    }
    if let Some((series, state)) = &o.support {
        let dates = match (series.active_until, series.security_until) {
            (Some(a), Some(b)) => format!(": full support until {a}, security fixes until {b}"),
            (None, Some(b)) => format!(": supported until {b}"),
            (Some(a), None) => format!(": supported until {a}"),
            _ => String::new(),
        };
        s.push_str(&format!(
            "support:   series {} is {state} as of {}{dates}\n",
            series.name, o.today
        ));
    }
    if o.series_missing
        && let Some(v) = obs.installed()
    {
        s.push_str(&format!(
            "support:   ferry.toml lists no support dates for the {} series\n",
            v.series()
        ));
    }
    let config = match &o.config {
        Ok(Some(last)) if !last.is_applied() => {
            format!("the migration to {} did not finish: run `ferry config revert`", last.to)
        }
        Ok(Some(last)) => format!(
            "migrated to {} at {} (`ferry config revert` undoes it)",
            last.to, last.at
        ),
        Ok(None) if !o.config_declared => "the releases declare no config changes".to_owned(),
        Ok(None) => "no config migration recorded".to_owned(),
        Err(e) => format!("unreadable record: {e}"),
    };
    s.push_str(&format!("config:    {config}\n"));
    if let Some(at) = &o.config_behind {
        s.push_str(&format!(
            "           but the files look like {at}: they lack config changes of later releases; `ferry config diff` lists them, `ferry config migrate` makes them\n"
        ));
    }
    if let Some(u) = &o.upgrade {
        let at = u.position().map(|p| format!(" at {p}")).unwrap_or_default();
        let state = if u.live && u.is_unfinished() {
            "running now".to_owned()
        } else if u.is_unfinished() {
            format!("{} (interrupted)", u.state.as_str().replace('_', " "))
        } else {
            u.state.as_str().replace('_', " ")
        };
        s.push_str(&format!(
            "upgrade:   run {} ({} → {}): {state}{}\n",
            u.id,
            u.from.as_deref().unwrap_or("nothing"),
            u.to,
            if u.is_unfinished() { at } else { String::new() }
        ));
        if let Some(next) = &u.next {
            s.push_str(&format!("           {next}\n"));
        }
    }
    let next = match (&obs.start, &o.next) {
        (Err(_), _) if obs.unmanaged.is_some() => obs
            .unmanaged
            .as_ref()
            .and_then(|u| u.problem().help)
            .unwrap_or_default(),
        (Err(_), _) => "record the installed release first: `ferry adopt VERSION`".to_owned(),
        (_, Ok(p)) if !p.behind.is_empty() => {
            let head = p.behind.iter().map(|m| m.version).max().unwrap_or(0);
            format!(
                "the database is behind its release {}: it lacks {}; `ferry db migrate --to {head}` applies {}",
                p.from.as_ref().map(ToString::to_string).unwrap_or_default(),
                render::summarize(&p.behind.iter().map(|m| m.name.clone()).collect::<Vec<_>>(), 5),
                if p.behind.len() == 1 { "it" } else { "them" }
            )
        }
        (_, Ok(p)) if p.hops.is_empty() => "nothing to upgrade: already at the newest release".to_owned(),
        (_, Ok(p)) => format!("`ferry upgrade` → {}", render::plan_summary(p)),
        (_, Err(e)) => indent(e),
    };
    s.push_str(&format!("next:      {next}\n"));
    s
}

pub fn plan(
    g: &Global,
    to: Option<&Version>,
    from: Option<&Version>,
    format: Format,
    out: &mut Out,
) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let mut connection = None;
    let (start, status) = match from {
        Some(f) => (Start::Installed(f.clone()), None),
        None => {
            let (mut migrator, url) = inst.connect(&access(g))?;
            let observed = inst.observe(&mut migrator)?;
            let (start, _) = observed
                .start
                .map_err(|e| ferry::Error::refusal(e, "record the installed release with `ferry adopt VERSION`"))?;
            connection = Some((migrator, url));
            (start, Some(observed.status))
        }
    };
    let mut plan = plan::plan(&inst.manifest, &inst.set, &start, status.as_ref(), to)?;
    inst.annotate(&mut plan)?;
    // With a database at hand, what the hops require of it is known now.
    if let Some((migrator, url)) = &mut connection {
        let redact = |s: &str| ferry::redact::redact_text(s);
        let skips = ferry::check::Skips::default();
        let mut ctx = ferry::check::Context {
            migrator,
            url,
            root: inst.project.root(),
            redact: &redact,
            probes: inst.project.probes(),
            skips: &skips,
        };
        for hop in &plan.hops {
            let builtin: Vec<ferry::project::Component> = hop
                .requires
                .iter()
                .filter(|c| {
                    ["postgresql", "postgres", "mysql", "mariadb", "sqlite"]
                        .contains(&c.name.to_ascii_lowercase().as_str())
                })
                .cloned()
                .collect();
            for v in ferry::check::requirements(&builtin, &mut ctx) {
                if v.status == ferry::check::Status::Failed {
                    crate::output::warn(&format!("{} needs {}: {}", hop.to, v.name, v.detail));
                }
            }
        }
    }
    match format {
        Format::Json => out.json(&plan)?,
        Format::Markdown => out.text(&plan::runbook(&plan, &name(&inst.project)))?,
        Format::Text => {
            let previews: Vec<Result<String, String>> = match inst.project.config_dir() {
                Ok(dir) => ferry::config::migrate::preview(&dir, &inst.manifest, &plan.hops)
                    .into_iter()
                    .map(|p| p.map(|p| p.diff()).map_err(|e| e.to_string()))
                    .collect(),
                Err(e) => plan.hops.iter().map(|_| Err(e.to_string())).collect(),
            };
            out.text(&render::plan(&plan, &name(&inst.project), &previews))?
        }
    }
    Ok(Outcome::Ok)
}

pub fn adopt(g: &Global, v: &Version, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    inst.refuse_if_unfinished()?;
    let (mut migrator, _) = inst.connect(&access(g))?;
    let status = migrator.status(&inst.set)?;
    migrator.record_release(v, "adopt")?;
    out.line(format!("recorded {v} as the installed release"))?;
    if inst.manifest.get(v).is_none() {
        out.line(format!(
            "note: no release file describes {v}; plans start from it by version alone"
        ))?;
    }
    if let Some(head) = inst.manifest.schema_at(v) {
        let behind: Vec<String> = status
            .migrations
            .iter()
            .filter(|m| m.version <= head && matches!(m.state, State::Pending | State::OutOfOrder))
            .map(|m| m.name.clone())
            .collect();
        if !behind.is_empty() {
            out.line(format!(
                "note: {v} needs migrations the database lacks ({}); apply them with `ferry db migrate --to {head}`",
                render::summarize(&behind, 5)
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
    let inst = Installation::load_for(&g.project, &access(g))?;
    let text = plan::guide(&inst.manifest, &inst.set, &name(&inst.project), today(g));
    match output {
        Some(p) if p.as_os_str() == "-" => out.text(&text)?,
        _ => {
            let path = output
                .cloned()
                .unwrap_or_else(|| inst.project.root().join("UPGRADING.md"));
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            out.line(format!("wrote {}", path.display()))?;
        }
    }
    Ok(Outcome::Ok)
}
