//! `ferry status`: where an installation stands.

use ferry::Installation;
use ferry::overview::Overview;
use ferry::plan::{Known, Start};

use super::{plan_summary, summarize};

fn name(p: &ferry::Project) -> String {
    p.name().unwrap_or("the application").to_owned()
}

/// `ferry status`.
pub fn overview(inst: &Installation, o: &Overview) -> String {
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
                summarize(&p.behind.iter().map(|m| m.name.clone()).collect::<Vec<_>>(), 5),
                if p.behind.len() == 1 { "it" } else { "them" }
            )
        }
        (_, Ok(p)) if p.hops.is_empty() => "nothing to upgrade: already at the newest release".to_owned(),
        (_, Ok(p)) => format!("`ferry upgrade` → {}", plan_summary(p)),
        (_, Err(e)) => indent(e),
    };
    s.push_str(&format!("next:      {next}\n"));
    s
}
