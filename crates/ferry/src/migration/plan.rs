//! Which migrations to run, in which direction: a pure function of the set
//! and its status, so that `--dry-run`, `ferry plan` and the executor agree.

use serde::Serialize;

use crate::error::{Error, Problem, Problems};
use crate::migration::script::Script;
use crate::migration::set::{Migration, MigrationSet};
use crate::migration::status::{State, Status};

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Apply the up script.
    Up,
    /// Apply the down script.
    Down,
}

/// One migration to run in one direction.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// The migration.
    pub migration: &'a Migration,
    /// The direction.
    pub direction: Direction,
    /// The script this step runs.
    script: &'a Script,
}

impl<'a> Step<'a> {
    /// Applying `migration`.
    pub fn up(migration: &'a Migration) -> Self {
        Step {
            migration,
            direction: Direction::Up,
            script: &migration.up,
        }
    }

    /// The script this step runs.
    pub fn script(&self) -> &'a Script {
        self.script
    }

    /// Whether the step runs inside one transaction with its history row.
    pub fn no_transaction(&self) -> bool {
        self.script().directives.no_transaction
    }

    /// `0003_add_artifacts (up)`.
    pub fn describe(&self) -> String {
        let dir = match self.direction {
            Direction::Up => "up",
            Direction::Down => "down",
        };
        format!("{} ({dir})", self.migration.label())
    }
}

/// Options of `ferry db migrate`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrateOptions {
    /// Stop after this version.
    pub to: Option<u64>,
    /// Apply pending migrations older than the newest applied one.
    pub allow_out_of_order: bool,
}

/// How far `ferry db revert` goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevertTarget {
    /// Revert the newest N applied migrations.
    Steps(usize),
    /// Revert every applied migration newer than this version (0: all).
    To(u64),
}

fn refuse_dirty(status: &Status) -> Result<(), Error> {
    let failed: Vec<Problem> = status
        .in_state(State::Failed)
        .map(|m| {
            let mut msg = format!("migration {} failed part-way and left the database dirty", m.name);
            if let Some(err) = &m.error {
                msg.push_str(&format!(": {err}"));
            }
            Problem::general(msg).help(format!(
                "finish or undo {} by hand so the database matches one side of it, then run `ferry db repair`",
                m.name
            ))
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Refused(Problems(failed)))
    }
}

fn modified_problem(name: &str) -> Problem {
    Problem::general(format!("applied migration {name} was edited after it was applied (checksum differs)"))
        .help("restore the file as it was applied; if the edit is intended and the database already matches it, run `ferry db repair` to accept the new checksum")
}

fn missing_problem(name: &str) -> Problem {
    Problem::general(format!("applied migration {name} has no file any more"))
        .help("restore the file from version control; if it was removed on purpose, run `ferry db repair` to forget it")
}

/// Plans `ferry db migrate`.
pub fn plan_up<'a>(set: &'a MigrationSet, status: &Status, opts: MigrateOptions) -> Result<Vec<Step<'a>>, Error> {
    refuse_dirty(status)?;
    let mut problems = Vec::new();
    for m in status.in_state(State::Modified) {
        problems.push(modified_problem(&m.name));
    }
    for m in status.in_state(State::Missing) {
        problems.push(missing_problem(&m.name));
    }
    if let Some(to) = opts.to {
        if set.get(to).is_none() {
            problems.push(
                Problem::general(format!("--to {to}: no migration has version {to}"))
                    .help("run `ferry db status` to see the versions"),
            );
        } else if status.current.is_some_and(|c| to < c) {
            problems.push(
                Problem::general(format!(
                    "--to {to} is older than the database, which is at {}",
                    status.current.unwrap_or(0)
                ))
                .help(format!("to go back, run `ferry db revert --to {to}`")),
            );
        }
    }
    let within = |v: u64| opts.to.is_none_or(|to| v <= to);
    if !opts.allow_out_of_order {
        for m in status.in_state(State::OutOfOrder).filter(|m| within(m.version)) {
            problems.push(
                Problem::general(format!(
                    "migration {} is pending but older than the newest applied migration ({})",
                    m.name,
                    status.current.unwrap_or(0)
                ))
                .help("give it a version newer than every applied one, or pass --allow-out-of-order if applying it late is safe"),
            );
        }
    }
    if !problems.is_empty() {
        return Err(Error::Refused(Problems(problems)));
    }
    Ok(status
        .migrations
        .iter()
        .filter(|m| matches!(m.state, State::Pending | State::OutOfOrder) && within(m.version))
        .filter_map(|m| set.get(m.version))
        .map(|migration| Step {
            migration,
            direction: Direction::Up,
            script: &migration.up,
        })
        .collect())
}

/// Plans `ferry db revert`: newest first.
pub fn plan_down<'a>(set: &'a MigrationSet, status: &Status, target: RevertTarget) -> Result<Vec<Step<'a>>, Error> {
    refuse_dirty(status)?;
    let applied: Vec<_> = status
        .migrations
        .iter()
        .filter(|m| matches!(m.state, State::Applied | State::Modified | State::Missing) && !m.baselined)
        .rev()
        .collect();
    let in_range: Vec<_> = match target {
        RevertTarget::Steps(n) => applied.into_iter().take(n).collect(),
        RevertTarget::To(to) => {
            let known = to == 0 || status.migrations.iter().any(|m| m.version == to);
            if !known {
                return Err(Error::refused(
                    Problem::general(format!("--to {to}: no migration has version {to}"))
                        .help("pass a version from `ferry db status`, or 0 to revert everything"),
                ));
            }
            applied.into_iter().take_while(|m| m.version > to).collect()
        }
    };
    let mut problems = Vec::new();
    if let (Some(base), RevertTarget::To(to)) = (status.baseline, target)
        && to < base
    {
        problems.push(
            Problem::general(format!(
                "--to {to} is below the baseline at {base}: migrations up to {base} were never run by ferry"
            ))
            .help(format!("revert at most to {base}")),
        );
    }
    let mut no_down: Vec<&str> = Vec::new();
    for m in &in_range {
        match m.state {
            State::Missing => problems.push(missing_problem(&m.name)),
            State::Modified => problems.push(modified_problem(&m.name)),
            _ if !m.reversible => no_down.push(&m.name),
            _ => {}
        }
    }
    // One problem for all of them: a long history must not print a pair of
    // lines per migration.
    match no_down.as_slice() {
        [] => {}
        [one] => problems.push(
            Problem::general(format!("migration {one} has no down file"))
                .help(format!("write {one}.down.sql, or revert to a version after it")),
        ),
        many => {
            let newest = many.first().copied().unwrap_or_default();
            let shown: Vec<&str> = many.iter().take(5).copied().collect();
            let more = if many.len() > 5 {
                format!(" and {} more", many.len() - 5)
            } else {
                String::new()
            };
            problems.push(
                Problem::general(format!(
                    "{} migrations in range have no down file: {}{more}",
                    many.len(),
                    shown.join(", ")
                ))
                .help(format!(
                    "write their .down.sql files, or revert to a version after {newest}; `ferry db status --json` lists which migrations are reversible"
                )),
            );
        }
    }
    if !problems.is_empty() {
        return Err(Error::Refused(Problems(problems)));
    }
    let mut steps = Vec::new();
    for migration in in_range.into_iter().filter_map(|m| set.get(m.version)) {
        // Down scripts are read here, when a revert first needs them.
        if let Some(script) = migration.down()? {
            steps.push(Step {
                migration,
                direction: Direction::Down,
                script,
            });
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::status::tests::{five, row};

    fn versions(steps: &[Step<'_>]) -> Vec<u64> {
        steps.iter().map(|s| s.migration.version).collect()
    }

    fn refusal(e: Error) -> String {
        match e {
            Error::Refused(p) => p.to_string(),
            other => panic!("expected a refusal, got {other}"),
        }
    }

    #[test]
    fn up_to_a_version_and_all() {
        let set = five();
        let st = Status::compute(&set, &[row(&set, 1)]);
        assert_eq!(
            versions(&plan_up(&set, &st, MigrateOptions::default()).unwrap()),
            vec![2, 3, 4, 5]
        );
        let opts = MigrateOptions {
            to: Some(3),
            ..Default::default()
        };
        assert_eq!(versions(&plan_up(&set, &st, opts).unwrap()), vec![2, 3]);
        let opts = MigrateOptions {
            to: Some(7),
            ..Default::default()
        };
        assert!(refusal(plan_up(&set, &st, opts).unwrap_err()).contains("no migration has version 7"));
    }

    #[test]
    fn out_of_order_needs_permission() {
        let set = five();
        let st = Status::compute(&set, &[row(&set, 1), row(&set, 3)]);
        let msg = refusal(plan_up(&set, &st, MigrateOptions::default()).unwrap_err());
        assert!(msg.contains("0002_b") && msg.contains("--allow-out-of-order"), "{msg}");
        let opts = MigrateOptions {
            allow_out_of_order: true,
            ..Default::default()
        };
        assert_eq!(versions(&plan_up(&set, &st, opts).unwrap()), vec![2, 4, 5]);
    }

    #[test]
    fn modified_and_dirty_block_everything() {
        let set = five();
        let mut edited = row(&set, 1);
        edited.checksum = "x".into();
        let st = Status::compute(&set, &[edited]);
        assert!(refusal(plan_up(&set, &st, MigrateOptions::default()).unwrap_err()).contains("ferry db repair"));
        let mut failed = row(&set, 1);
        failed.success = false;
        failed.error = Some("statement at line 3: boom".into());
        let st = Status::compute(&set, &[failed]);
        let msg = refusal(plan_down(&set, &st, RevertTarget::Steps(1)).unwrap_err());
        assert!(msg.contains("dirty") && msg.contains("boom"), "{msg}");
    }

    #[test]
    fn down_newest_first_and_refuses_without_down_file() {
        let set = five();
        let hist: Vec<_> = (1..=5).map(|v| row(&set, v)).collect();
        let st = Status::compute(&set, &hist);
        assert_eq!(
            versions(&plan_down(&set, &st, RevertTarget::Steps(2)).unwrap()),
            vec![5, 4]
        );
        assert_eq!(
            versions(&plan_down(&set, &st, RevertTarget::To(3)).unwrap()),
            vec![5, 4]
        );
        let msg = refusal(plan_down(&set, &st, RevertTarget::To(0)).unwrap_err());
        assert!(msg.contains("0003_c has no down file"), "{msg}");
        assert!(plan_down(&set, &st, RevertTarget::Steps(0)).unwrap().is_empty());
    }
}
