//! Which migrations to run, in which direction: a pure function of the set
//! and its status, so that `--dry-run`, `ferry plan` and the executor agree.

use serde::Serialize;

use crate::error::Error;
use crate::migration::script::{Phase, Script};
use crate::migration::set::{Migration, MigrationSet};
use crate::migration::status::{MigrationStatus, State, Status};
use crate::problem::{Problem, Problems};

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

    /// Reverting `migration` with its down `script`.
    pub(crate) fn down(migration: &'a Migration, script: &'a Script) -> Self {
        Step {
            migration,
            direction: Direction::Down,
            script,
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

    /// Whether the step runs in batches.
    pub fn batched(&self) -> bool {
        self.script().directives.batch.is_some()
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

/// Which phases `ferry db migrate` runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phases {
    /// Pre-deploy migrations only (the default): what runs before the new
    /// code starts. Post-deploy ones wait.
    #[default]
    PreDeploy,
    /// Post-deploy migrations only, once every pre-deploy one is applied:
    /// after the new code is started and its checks pass.
    PostDeploy,
    /// Every migration in version order (a development database).
    All,
}

impl Phases {
    /// Whether a migration of `phase` runs.
    pub fn includes(self, phase: Phase) -> bool {
        match self {
            Phases::All => true,
            Phases::PreDeploy => phase == Phase::PreDeploy,
            Phases::PostDeploy => phase == Phase::PostDeploy,
        }
    }
}

/// Options of `ferry db migrate`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrateOptions {
    /// Stop after this version.
    pub to: Option<u64>,
    /// Apply pending migrations older than the newest applied one.
    pub allow_out_of_order: bool,
    /// Which phases run.
    pub phases: Phases,
    /// Refuse to migrate a database that has tables but no ferry history
    /// (another tool's, or made by hand), instead of running every migration
    /// on top of it.
    pub refuse_unmanaged: bool,
}

/// How far `ferry db revert` goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevertTarget {
    /// Revert the newest N applied migrations.
    Steps(usize),
    /// Revert every applied migration newer than this version (0: all).
    To(u64),
    /// Revert the applied post-deploy migrations newer than this version,
    /// leaving pre-deploy ones (undoing an upgrade's post-deploy step).
    PostDeployAfter(u64),
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
    for m in status
        .in_state(State::Running)
        .filter(|m| m.running == Some(Direction::Down))
    {
        problems.push(
            Problem::general(format!("the revert of {} stopped part-way between two batches", m.name)).help(format!(
                "finish it with `ferry db revert --to {}`, then migrate again",
                m.version.saturating_sub(1)
            )),
        );
    }
    let within = |v: u64| opts.to.is_none_or(|to| v <= to);
    let waiting = |m: &&MigrationStatus| {
        within(m.version)
            && (matches!(m.state, State::Pending | State::OutOfOrder)
                || (m.state == State::Running && m.running == Some(Direction::Up)))
    };
    let selected: Vec<&MigrationStatus> = status
        .migrations
        .iter()
        .filter(waiting)
        .filter(|m| opts.phases.includes(m.phase))
        .collect();
    if let Some(to) = opts.to {
        if set.get(to).is_none() {
            problems.push(
                Problem::general(format!("--to {to}: no migration has version {to}"))
                    .help("run `ferry db status` to see the versions"),
            );
        } else if status.current.is_some_and(|c| to < c) && selected.is_empty() {
            problems.push(
                Problem::general(format!(
                    "--to {to} is older than the database, which is at {}",
                    status.current.unwrap_or(0)
                ))
                .help(format!("to go back, run `ferry db revert --to {to}`")),
            );
        }
    }
    if opts.phases == Phases::PostDeploy {
        let before: Vec<&str> = status
            .migrations
            .iter()
            .filter(waiting)
            .filter(|m| m.phase == Phase::PreDeploy)
            .map(|m| m.name.as_str())
            .collect();
        if !before.is_empty() {
            problems.push(
                Problem::general(format!(
                    "pre-deploy migration{} {} {} not applied; post-deploy migrations run only after them and after the new code is started",
                    if before.len() == 1 { "" } else { "s" },
                    before.join(", "),
                    if before.len() == 1 { "is" } else { "are" },
                ))
                .help("run `ferry db migrate` first, start the new code, then `ferry db migrate --phase post-deploy`"),
            );
        }
    }
    if !opts.allow_out_of_order {
        for m in selected.iter().filter(|m| m.state == State::OutOfOrder) {
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
    Ok(selected
        .into_iter()
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
        .filter(|m| {
            matches!(
                m.state,
                State::Applied | State::Modified | State::Missing | State::Running
            ) && !m.baselined
        })
        .rev()
        .collect();
    let in_range: Vec<_> = match target {
        RevertTarget::Steps(n) => applied.into_iter().take(n).collect(),
        RevertTarget::PostDeployAfter(after) => applied
            .into_iter()
            .filter(|m| m.version > after && m.phase == Phase::PostDeploy)
            .collect(),
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
    for (m, migration) in in_range.into_iter().filter_map(|m| set.get(m.version).map(|x| (m, x))) {
        // Down scripts are read here, when a revert first needs them.
        if let Some(script) = migration.down()? {
            if m.running == Some(Direction::Up) && !undoes_batches_of(migration, script) {
                problems.push(
                    Problem::general(format!(
                        "{} stopped part-way between two batches, and its down script does not walk the same table and key in batches, so it cannot undo only the rows done",
                        m.name
                    ))
                    .help(format!(
                        "finish it with `ferry db migrate --to {}` and revert after, or give its down script the same `-- ferry:batch table=... key=...`",
                        m.version
                    )),
                );
                continue;
            }
            steps.push(Step {
                migration,
                direction: Direction::Down,
                script,
            });
        }
    }
    if !problems.is_empty() {
        return Err(Error::Refused(Problems(problems)));
    }
    Ok(steps)
}

/// Whether `down` undoes a part of `m`'s batches exactly: it walks the same
/// table by the same key, so ferry can stop it where the up stopped.
pub(crate) fn undoes_batches_of(m: &Migration, down: &Script) -> bool {
    match (&m.up.directives.batch, &down.directives.batch) {
        (Some(up), Some(down)) => up.table == down.table && up.key == down.key,
        _ => false,
    }
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
    fn phases_and_running_batches() {
        let set = MigrationSet::from_embedded(&[
            ("0001_a.up.sql", "CREATE TABLE a (x int);"),
            ("0002_b.up.sql", "-- ferry:phase post-deploy\nALTER TABLE a ADD y int;"),
            ("0003_c.up.sql", "CREATE TABLE c (x int);"),
            (
                "0004_d.up.sql",
                "-- ferry:batch table=a key=x\nUPDATE a SET x = x + 1 WHERE x BETWEEN :first AND :last;",
            ),
            (
                "0004_d.down.sql",
                "-- ferry:batch table=a key=x\nUPDATE a SET x = x - 1 WHERE x BETWEEN :first AND :last;",
            ),
            (
                "0005_e.up.sql",
                "-- ferry:batch table=c key=x\nUPDATE c SET x = 1 WHERE x BETWEEN :first AND :last;",
            ),
            ("0005_e.down.sql", "UPDATE c SET x = 0;"),
        ])
        .unwrap();
        let st = Status::compute(&set, &[row(&set, 1)]);
        assert_eq!(
            versions(&plan_up(&set, &st, MigrateOptions::default()).unwrap()),
            vec![3, 4, 5]
        );
        let post = MigrateOptions {
            phases: Phases::PostDeploy,
            ..Default::default()
        };
        let msg = refusal(plan_up(&set, &st, post).unwrap_err());
        assert!(msg.contains("0003_c, 0004_d, 0005_e are not applied"), "{msg}");
        let all = MigrateOptions {
            phases: Phases::All,
            ..Default::default()
        };
        assert_eq!(versions(&plan_up(&set, &st, all).unwrap()), vec![2, 3, 4, 5]);
        // Pre-deploy ones done: post-deploy runs, even with --to below the newest.
        let done: Vec<_> = [1, 3, 4, 5].iter().map(|v| row(&set, *v)).collect();
        let st = Status::compute(&set, &done);
        let post_to = MigrateOptions { to: Some(2), ..post };
        assert_eq!(versions(&plan_up(&set, &st, post_to).unwrap()), vec![2]);
        assert!(plan_up(&set, &st, MigrateOptions::default()).unwrap().is_empty());
        // A batched migration stopped part-way continues on migrate, and is
        // reverted by a down that walks the same key; not by one that does not.
        let mut running = row(&set, 4);
        running.success = false;
        let st = Status::compute(&set, &[row(&set, 1), row(&set, 3), running]);
        assert_eq!(
            versions(&plan_up(&set, &st, MigrateOptions::default()).unwrap()),
            vec![4, 5]
        );
        assert_eq!(
            versions(&plan_down(&set, &st, RevertTarget::Steps(1)).unwrap()),
            vec![4]
        );
        let mut running = row(&set, 5);
        running.success = false;
        let st = Status::compute(&set, &[row(&set, 1), row(&set, 3), row(&set, 4), running]);
        let msg = refusal(plan_down(&set, &st, RevertTarget::Steps(1)).unwrap_err());
        assert!(msg.contains("cannot undo only the rows done"), "{msg}");
        // A revert stopped part-way is finished by revert, not by migrate.
        let mut reverting = row(&set, 4);
        reverting.success = false;
        reverting.error = Some("down: started".into());
        let st = Status::compute(&set, &[row(&set, 1), row(&set, 3), reverting]);
        let msg = refusal(plan_up(&set, &st, MigrateOptions::default()).unwrap_err());
        assert!(msg.contains("ferry db revert --to 3"), "{msg}");
        assert_eq!(versions(&plan_down(&set, &st, RevertTarget::To(3)).unwrap()), vec![4]);
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
