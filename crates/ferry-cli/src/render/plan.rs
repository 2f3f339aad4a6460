//! `ferry plan`: an upgrade plan for people.

use super::summarize;

/// One line: hops, kinds, risk, downtime, backup.
pub fn plan_summary(plan: &ferry::plan::UpgradePlan) -> String {
    let kinds: Vec<&str> = plan
        .hops
        .iter()
        .map(|h| h.kind.map_or("fresh install", |k| k.as_str()))
        .collect();
    format!(
        "{} hop{} to {} ({}): risk {}, downtime {}, backup {}",
        plan.hops.len(),
        if plan.hops.len() == 1 { "" } else { "s" },
        plan.to,
        kinds.join(", then "),
        plan.risk.map_or("low".into(), |r| r.to_string()),
        plan.downtime.map_or("not stated".into(), |d| d.to_string()),
        plan.backup.map_or("none".into(), |b| b.to_string()),
    )
}

/// The plan for people.
/// The plan as text. `previews` holds, per hop, the diff its config
/// changes would make to the files as they are now (secrets as ****).
pub fn plan(plan: &ferry::plan::UpgradePlan, name: &str, previews: &[Result<String, String>]) -> String {
    let from = plan
        .from
        .as_ref()
        .map_or("a fresh database".to_owned(), ToString::to_string);
    let mut out = format!("Upgrade plan for {name}: {from} → {}\n", plan.to);
    if plan.hops.is_empty() {
        if plan.behind.is_empty() {
            out.push_str(&format!("already at {}: nothing to do\n", plan.to));
        } else {
            let head = plan.behind.iter().map(|m| m.version).max().unwrap_or(0);
            let names: Vec<String> = plan.behind.iter().map(|m| m.name.clone()).collect();
            out.push_str(&format!(
                "the database is behind its release {}: it lacks {}\n`ferry db migrate --to {head}` applies {}\n",
                plan.to,
                summarize(&names, 5),
                if names.len() == 1 { "it" } else { "them" }
            ));
        }
        return out;
    }
    out.push_str(&format!("{}\n", plan_summary(plan)));
    if !plan.behind.is_empty() {
        let names: Vec<&str> = plan.behind.iter().map(|m| m.name.as_str()).collect();
        out.push_str(&format!(
            "note: the database lacks migrations of the installed release ({}); the first hop applies them\n",
            names.join(", ")
        ));
    }
    for (i, hop) in plan.hops.iter().enumerate() {
        let title = match (&hop.from, hop.kind) {
            (Some(f), Some(k)) => format!("{f} → {}  {} upgrade", hop.to, k.as_str()),
            _ => format!("fresh install of {}", hop.to),
        };
        out.push_str(&format!("\n{}. {title}\n", i + 1));
        out.push_str(&format!(
            "   risk {} · downtime {} · backup {} · staging {}\n",
            hop.risk,
            hop.downtime.map_or("not stated".into(), |d| d.to_string()),
            hop.backup,
            hop.staging
        ));
        if let Some(m) = &hop.measured {
            out.push_str(&format!("   measured: {m} (`ferry rehearse` {})\n", m.rehearsal));
        }
        if hop.rehearsal != ferry::project::StagingRule::None {
            out.push_str(&format!(
                "   rehearsal {}: `ferry rehearse --to {}` runs it on a copy first\n",
                hop.rehearsal, hop.to
            ));
        }
        if let Some(reason) = &hop.required_stop {
            out.push_str(&format!("   required stop: {reason}\n"));
        }
        if hop.commit.is_some() || hop.built.is_some() {
            out.push_str(&format!(
                "   build: {}{}\n",
                hop.commit.as_deref().map(|c| format!("commit {c}")).unwrap_or_default(),
                hop.built.map(|b| format!(", built {b}")).unwrap_or_default()
            ));
        }
        if hop.releases.len() > 1 {
            let rs: Vec<String> = hop.releases.iter().map(ToString::to_string).collect();
            out.push_str(&format!("   brings releases: {}\n", rs.join(", ")));
        }
        if hop.migrations.is_empty() {
            out.push_str("   migrations: none\n");
        } else {
            let names: Vec<String> = hop
                .migrations
                .iter()
                .map(|m| {
                    let mut notes = Vec::new();
                    if m.batched {
                        notes.push("in batches");
                    }
                    if m.phase == ferry::migration::Phase::PostDeploy {
                        notes.push("post-deploy");
                    }
                    if notes.is_empty() {
                        m.name.clone()
                    } else {
                        format!("{} ({})", m.name, notes.join(", "))
                    }
                })
                .collect();
            out.push_str(&format!("   migrations: {}\n", names.join(", ")));
        }
        if let Some(w) = hop.way_back.as_ref().filter(|w| w.by != ferry::plan::By::Nothing) {
            out.push_str(&format!("   way back: {}\n", w.describe()));
            for loss in &w.data_loss {
                out.push_str(&format!(
                    "   rollback loses data: {loss}: what is written there after the upgrade is lost\n"
                ));
            }
        }
        for c in &hop.requires {
            let mut line = format!("   requires: {} >= {}", c.name, c.min.as_deref().unwrap_or("any"));
            if let Some(r) = &c.recommended {
                line.push_str(&format!(" ({r} recommended)"));
            }
            out.push_str(&line);
            out.push('\n');
        }
        if !hop.breaking.is_empty() {
            out.push_str("   breaking changes:\n");
            for b in &hop.breaking {
                out.push_str(&format!(
                    "     {} {}: {}\n",
                    b.version,
                    b.change.category.as_str(),
                    b.change.change
                ));
                for s in &b.change.steps {
                    out.push_str(&format!("       - {s}\n"));
                }
            }
        }
        if !hop.config.is_empty() {
            out.push_str("   config changes:\n");
            for c in &hop.config {
                out.push_str(&format!("     {} {}\n", c.version, c.change));
            }
            match previews.get(i) {
                Some(Ok(diff)) if diff.is_empty() => {
                    out.push_str("   config preview: the files as they are now need no change\n")
                }
                Some(Ok(diff)) => {
                    out.push_str(&format!(
                        "   config preview (`ferry config migrate --to {} --dry-run` shows it again):\n",
                        hop.to
                    ));
                    for line in diff.lines() {
                        out.push_str(&format!("     {line}\n"));
                    }
                }
                Some(Err(e)) => out.push_str(&format!(
                    "   config preview: unavailable: {}\n",
                    e.replace('\n', "\n     ")
                )),
                None => {}
            }
        }
        for c in &hop.checks {
            let when: Vec<&str> = c
                .when
                .iter()
                .map(|p| match p {
                    ferry::check::Phase::Pre => "before",
                    ferry::check::Phase::Post => "after",
                })
                .collect();
            out.push_str(&format!(
                "   check ({}{}): {}: {}\n",
                when.join(" and "),
                if c.severity == ferry::check::Severity::Warning {
                    ", warning"
                } else {
                    ""
                },
                c.name,
                c.what
            ));
        }
        for n in &hop.notes {
            out.push_str(&format!("   release notes: {n}\n"));
        }
    }
    if let Some(w) = &plan.watch {
        out.push_str(&watch_plan(w));
    }
    out
}

/// The watch window after the last hop, for the plan.
pub fn watch_plan(w: &ferry::watch::Watch) -> String {
    let mut out = format!(
        "
then watch for {}, every {} (rolls back by itself on a rollback threshold; `--watch`, `--no-watch`):\n",
        humantime::format_duration(w.duration),
        humantime::format_duration(w.interval)
    );
    let limits = |l: &ferry::watch::Limits, key: &str| {
        let mut v = Vec::new();
        if let Some(a) = l.above {
            v.push(format!("{key} above {a}"));
        }
        if let Some(b) = l.below {
            v.push(format!("{key} below {b}"));
        }
        if let Some(f) = l.worse_than {
            v.push(format!("{key} {:.0}% worse than before", f * 100.0));
        }
        v
    };
    for m in &w.metrics {
        let mut all = limits(&m.rollback, "roll back");
        all.extend(limits(&m.warn, "warn"));
        out.push_str(&format!(
            "   {}: {} · {} ({} in a row)\n",
            m.name,
            m.source.describe(),
            all.join(", "),
            m.failure_limit
        ));
    }
    out
}
