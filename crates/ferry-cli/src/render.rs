//! Text rendering of library results for people. JSON output is serde's.

use ferry::migration::{AppliedMigration, Direction, State, Status};
use ferry::{Problem, RepairAction, Report};

/// Aligns rows under headers, two spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let last = cells.len() - 1;
        let mut line = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            line.push_str(cell);
            if i < last {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(headers.to_vec());
    for row in rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    out
}

pub fn status(status: &Status) -> String {
    if status.migrations.is_empty() {
        return "no migrations yet: write one with `ferry new NAME`\n".to_owned();
    }
    let rows: Vec<Vec<String>> = status
        .migrations
        .iter()
        .map(|m| {
            let mut state = m.state.as_str().to_owned();
            if m.baselined {
                state.push_str(" (baseline)");
            }
            if m.state == State::Running {
                let dir = match m.running {
                    Some(Direction::Down) => "down",
                    _ => "up",
                };
                match &m.progress {
                    Some(p) => state.push_str(&format!(
                        " ({dir}, {} row{} in {} batch{})",
                        p.rows,
                        if p.rows == 1 { "" } else { "s" },
                        p.batches,
                        if p.batches == 1 { "" } else { "es" }
                    )),
                    None => state.push_str(&format!(" ({dir}, no batch done)")),
                }
            }
            if m.phase == ferry::migration::Phase::PostDeploy {
                state.push_str(", post-deploy");
            }
            vec![m.name.clone(), state, m.applied_at.clone().unwrap_or_default()]
        })
        .collect();
    let mut out = table(&["MIGRATION", "STATE", "APPLIED AT"], &rows);
    let count = |s: State| status.in_state(s).count();
    let mut summary = vec![format!("{} applied", count(State::Applied))];
    for (state, n) in [
        (State::Running, count(State::Running)),
        (State::Pending, count(State::Pending)),
        (State::OutOfOrder, count(State::OutOfOrder)),
        (State::Modified, count(State::Modified)),
        (State::Missing, count(State::Missing)),
        (State::Failed, count(State::Failed)),
    ] {
        if n > 0 {
            summary.push(format!("{n} {}", state.as_str().replace('_', " ")));
        }
    }
    out.push_str(&format!("\n{}\n", summary.join(", ")));
    for m in status.in_state(State::Running) {
        let (verb, cmd) = match m.running {
            Some(Direction::Down) => (
                "reverting",
                format!("ferry db revert --to {}", m.version.saturating_sub(1)),
            ),
            _ => ("applying", format!("ferry db migrate --to {}", m.version)),
        };
        let at = m
            .progress
            .as_ref()
            .map(|p| format!(" (last key {}, at {})", p.last_key.join(", "), p.updated_at))
            .unwrap_or_default();
        let why = m
            .error
            .as_deref()
            .filter(|e| e.contains("batch "))
            .map(|e| {
                let e = e.trim_start_matches("up: ").trim_start_matches("down: ");
                format!("; it stopped at {e}")
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "\n{} is {verb} in batches, or stopped between two{at}{why}\n  `{cmd}` continues it at the next batch\n",
            m.name
        ));
    }
    for m in status.in_state(State::Failed) {
        out.push_str(&format!(
            "\n{} failed: {}\n  fix the database by hand, then run `ferry db repair`\n",
            m.name,
            m.error.as_deref().unwrap_or("no detail recorded")
        ));
    }
    out
}

pub fn history(rows: &[AppliedMigration]) -> String {
    if rows.is_empty() {
        return "no migrations applied yet\n".to_owned();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.applied_at.clone(),
                if r.kind.is_baseline() {
                    "-".to_owned()
                } else {
                    format!("{} ms", r.execution_ms)
                },
                match (r.kind.is_baseline(), r.success) {
                    (true, _) => "baseline".to_owned(),
                    (false, true) => "ok".to_owned(),
                    (false, false) => "FAILED".to_owned(),
                },
                r.checksum.get(..12).unwrap_or("").to_owned(),
            ]
        })
        .collect();
    table(&["MIGRATION", "APPLIED AT", "DURATION", "RESULT", "CHECKSUM"], &rows)
}

pub fn report(report: &Report, direction: Direction) -> String {
    let verb = match direction {
        Direction::Up => "applied",
        Direction::Down => "reverted",
    };
    if report.steps.is_empty() {
        return match direction {
            Direction::Up => "nothing to migrate: the database is up to date\n".to_owned(),
            Direction::Down => "nothing to revert\n".to_owned(),
        };
    }
    let mut out = String::new();
    for s in &report.steps {
        out.push_str(&format!("{verb} {} ({})\n", s.name, millis(s.ms.max(0) as u64)));
    }
    // The run's wall time, commits and syncs included: what downtime is planned from.
    out.push_str(&format!(
        "{verb} {} migration{} in {}\n",
        report.steps.len(),
        if report.steps.len() == 1 { "" } else { "s" },
        millis(report.total_ms.max(0) as u64)
    ));
    out
}

pub fn problems(problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    out
}

pub fn repair(actions: &[RepairAction], dry_run: bool) -> String {
    if actions.is_empty() {
        return "nothing to repair: the history matches the files\n".to_owned();
    }
    let mut out = String::new();
    for a in actions {
        out.push_str(&format!(
            "{}{}: {}\n",
            if dry_run { "would repair " } else { "repaired " },
            a.name,
            a.action
        ));
    }
    out
}

/// A duration for people: `850 ms`, `5.4 s`, `3m12s`.
pub fn millis(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// `a, b, c and 12 more`: the first `max` items and a count, so a long
/// history does not print a line per migration.
pub fn summarize(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}

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

pub fn adopt(r: &ferry::adopt::AdoptReport) -> String {
    let mut out = String::new();
    let verb = if r.dry_run { "would record" } else { "recorded" };
    out.push_str(&format!(
        "{}'s history in {}: {} migration{}\n",
        r.tool,
        r.table,
        r.adopted.len(),
        if r.adopted.len() == 1 { "" } else { "s" }
    ));
    for a in &r.adopted {
        let when = a
            .applied_at
            .as_deref()
            .map(|t| format!(", applied {t}"))
            .unwrap_or_default();
        match a.state {
            "failed" => out.push_str(&format!(
                "  {verb} {} as FAILED ({}){when}\n",
                a.name,
                a.error.as_deref().unwrap_or("")
            )),
            "baseline" => out.push_str(&format!("  {verb} {} as the baseline{when}\n", a.name)),
            _ => out.push_str(&format!(
                "  {verb} {} as applied ({} {}){when}\n",
                a.name, r.tool, a.tool_version
            )),
        }
    }
    for g in &r.gaps {
        out.push_str(&format!("  gap: {g}\n"));
    }
    if !r.pending.is_empty() {
        out.push_str(&format!("pending, for `ferry db migrate`: {}\n", r.pending.join(", ")));
    }
    if r.dry_run {
        out.push_str("dry run: nothing was written\n");
    } else if r.dropped {
        out.push_str(&format!("{} was dropped\n", r.table));
    } else {
        out.push_str(&format!(
            "{} is left as it was (`--drop-foreign` removes it once you no longer need {})\n",
            r.table, r.tool
        ));
    }
    out
}

pub fn import(r: &ferry::import::ImportReport) -> String {
    let mut out = String::new();
    let verb = if r.dry_run { "would write" } else { "wrote" };
    out.push_str(&format!(
        "{verb} {} migration{} from {} into {}{}\n",
        r.migrations.len(),
        if r.migrations.len() == 1 { "" } else { "s" },
        r.tool,
        r.into.display(),
        if r.renumbered {
            " (numbered again from 1 in the tool's order: its versions do not fit or do not sort as numbers; IMPORTED.toml keeps each original)"
        } else {
            ""
        }
    ));
    for m in &r.migrations {
        out.push_str(&format!("  {}  <- {}\n", m.name, m.original));
        for n in &m.notes {
            out.push_str(&format!("      note: {n}\n"));
        }
    }
    for s in &r.skipped {
        out.push_str(&format!("  skipped: {s}\n"));
    }
    if !r.todo.is_empty() {
        out.push_str("needs SQL written by hand (the files say where; they do not load until it is done):\n");
        for t in &r.todo {
            out.push_str(&format!("  {t}\n"));
        }
    }
    if !r.dry_run {
        out.push_str(&format!(
            "next: `ferry db validate`, then `ferry db adopt --from {}` on a database {} migrated\n",
            r.tool, r.tool
        ));
    }
    out
}

/// One round of a watch, in a line: `round 3/21  error rate 0.004 ok · p95 0.62 WARN (…)`.
pub fn watch_round(round: &ferry::watch::Round) -> String {
    use ferry::watch::Level;
    let cells: Vec<String> = round
        .readings
        .iter()
        .map(|r| {
            let value = r.value.map_or("-".to_owned(), |v| {
                let s = format!("{v:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_owned()
            });
            match r.level {
                Level::Ok => format!("{} {value} ok", r.metric),
                Level::Warn => format!("{} {value} WARN ({})", r.metric, r.detail),
                Level::Critical => format!("{} {value} CRITICAL ({})", r.metric, r.detail),
                Level::NoData => format!("{} - ({})", r.metric, r.detail),
            }
        })
        .collect();
    format!("round {}/{}  {}", round.n, round.of, cells.join(" · "))
}

/// How a watch ended, in a line.
pub fn watch_verdict(verdict: &ferry::watch::Verdict, kept: bool) -> String {
    use ferry::watch::Verdict;
    match verdict {
        Verdict::Passed => "watch: passed".to_owned(),
        Verdict::Warned { reasons } => format!(
            "watch: warned ({}); {}",
            reasons.join("; "),
            if kept { "the upgrade is kept" } else { "rolling back" }
        ),
        Verdict::Failed { reason } => format!("watch: FAILED: {reason}"),
    }
}
