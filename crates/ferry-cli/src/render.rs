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
            vec![m.name.clone(), state, m.applied_at.clone().unwrap_or_default()]
        })
        .collect();
    let mut out = table(&["MIGRATION", "STATE", "APPLIED AT"], &rows);
    let count = |s: State| status.in_state(s).count();
    let mut summary = vec![format!("{} applied", count(State::Applied))];
    for (state, n) in [
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
        out.push_str(&format!("{verb} {} ({} ms)\n", s.name, s.execution_ms));
    }
    let total: i64 = report.steps.iter().map(|s| s.execution_ms).sum();
    out.push_str(&format!(
        "{verb} {} migration{} in {total} ms\n",
        report.steps.len(),
        if report.steps.len() == 1 { "" } else { "s" }
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
