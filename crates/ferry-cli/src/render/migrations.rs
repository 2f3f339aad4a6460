//! `ferry db ...`: migrations, their history, a run, a repair, a dry run,
//! a validation.

use ferry::migration::{AppliedMigration, Direction, State, Status};
use ferry::ops::db::{DryRun, Validation};
use ferry::{Problem, RepairAction, Report};

use super::{millis, table};

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

/// A dry run's SQL, exactly as it would be sent.
pub fn dry_run(d: &DryRun) -> String {
    if d.steps.is_empty() {
        "-- nothing to run\n".to_owned()
    } else {
        d.sql.clone()
    }
}

/// `ferry db validate`.
pub fn validation(v: &Validation) -> String {
    if v.ok() {
        return "ok: the migrations folder and the database agree\n".to_owned();
    }
    let mut out = problems(&v.problems);
    out.push_str(&format!(
        "{} problem{}\n",
        v.problems.len(),
        if v.problems.len() == 1 { "" } else { "s" }
    ));
    out
}
