//! The state of each migration: a pure function of the files and the
//! history rows read from the database.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::migration::plan::Direction;
use crate::migration::script::Phase;
use crate::migration::set::MigrationSet;

/// What kind of history row this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// A migration ferry ran.
    Migration,
    /// `ferry db baseline`: everything up to this version counts as applied.
    Baseline,
}

impl RowKind {
    /// The word stored in the history table.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Migration => "migration",
            RowKind::Baseline => "baseline",
        }
    }

    /// True for baseline rows.
    pub fn is_baseline(self) -> bool {
        self == RowKind::Baseline
    }

    /// Reads the stored word.
    pub fn parse(s: &str) -> Self {
        if s == "baseline" {
            RowKind::Baseline
        } else {
            RowKind::Migration
        }
    }
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedMigration {
    /// The migration's version.
    pub version: u64,
    /// Its name when it was applied.
    pub name: String,
    /// Migration or baseline.
    pub kind: RowKind,
    /// SHA-256 of the up script when it was applied.
    pub checksum: String,
    /// When it was applied, UTC, ISO 8601.
    pub applied_at: String,
    /// How long it took, in milliseconds.
    pub execution_ms: i64,
    /// False while a non-transactional migration runs, and after it failed.
    pub success: bool,
    /// For a failed migration: the failing statement and the database's message.
    pub error: Option<String>,
}

/// The state of one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Applied, and the file is unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but the file changed since (checksum differs).
    Modified,
    /// Applied, but its file is gone.
    Missing,
    /// Failed part-way outside a transaction: the database is dirty.
    Failed,
    /// Pending, but older than the newest applied migration.
    OutOfOrder,
    /// A batched migration that is running, or stopped between two
    /// batches: every batch before is committed with its progress, so
    /// running it again continues where it stopped.
    Running,
}

impl State {
    /// The word used in output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Modified => "modified",
            State::Missing => "missing",
            State::Failed => "failed",
            State::OutOfOrder => "out_of_order",
            State::Running => "running",
        }
    }
}

/// One line of `ferry db status`.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationStatus {
    /// The version.
    pub version: u64,
    /// The name (from the file, or from the history row when the file is missing).
    pub name: String,
    /// Its state.
    pub state: State,
    /// When it was applied.
    pub applied_at: Option<String>,
    /// How long it took, in milliseconds.
    pub execution_ms: Option<i64>,
    /// Counted as applied because of `ferry db baseline`.
    pub baselined: bool,
    /// The file's checksum, when the file exists.
    pub checksum: Option<String>,
    /// The checksum recorded when it was applied.
    pub recorded_checksum: Option<String>,
    /// Whether a down script exists.
    pub reversible: bool,
    /// Whether it runs outside a transaction.
    pub no_transaction: bool,
    /// For failed migrations, what failed.
    pub error: Option<String>,
    /// When it runs: before or after the new code starts.
    pub phase: Phase,
    /// Whether it runs in batches.
    pub batched: bool,
    /// For a running batched migration: the direction it runs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<Direction>,
    /// For a running batched migration: how far it got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<BatchProgress>,
}

/// How far a batched migration got: what ferry records with each batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchProgress {
    /// The migration's version.
    pub version: u64,
    /// The direction it runs in.
    pub direction: Direction,
    /// The last key done, one value per key column, as the database shows it.
    pub last_key: Vec<String>,
    /// Rows in the batches done.
    pub rows: u64,
    /// Batches done.
    pub batches: u64,
    /// When the last batch committed, UTC, ISO 8601.
    pub updated_at: String,
}

/// The status of every migration, known from files or history.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// One entry per version, oldest first.
    pub migrations: Vec<MigrationStatus>,
    /// The baseline version, if `ferry db baseline` was used.
    pub baseline: Option<u64>,
    /// The newest applied (or baselined) version.
    pub current: Option<u64>,
}

impl Status {
    /// Computes the status of `set` against `history`.
    pub fn compute(set: &MigrationSet, history: &[AppliedMigration]) -> Self {
        let baseline = history
            .iter()
            .filter(|r| r.kind == RowKind::Baseline)
            .map(|r| r.version)
            .max();
        let rows: BTreeMap<u64, &AppliedMigration> = history
            .iter()
            .filter(|r| r.kind == RowKind::Migration)
            .map(|r| (r.version, r))
            .collect();
        let newest_applied = rows
            .values()
            .filter(|r| r.success)
            .map(|r| r.version)
            .chain(baseline)
            .max();
        // A post-deploy migration waits for the code of its release while
        // newer pre-deploy ones are applied: it is late only behind a newer
        // post-deploy one.
        let newest_post = rows
            .values()
            .filter(|r| {
                r.success
                    && set
                        .get(r.version)
                        .is_some_and(|m| m.up.directives.phase == Phase::PostDeploy)
            })
            .map(|r| r.version)
            .chain(baseline)
            .max();

        let mut out = Vec::new();
        for m in set {
            let row = rows.get(&m.version);
            let covered = baseline.is_some_and(|b| m.version <= b);
            let post = m.up.directives.phase == Phase::PostDeploy;
            let newer = if post { newest_post } else { newest_applied };
            let batched = m.up.directives.batch.is_some();
            let running = row
                .filter(|r| !r.success && batched && r.checksum == m.up.checksum().as_str())
                .map(|r| {
                    if r.error.as_deref().is_some_and(|e| e.starts_with("down:")) {
                        Direction::Down
                    } else {
                        Direction::Up
                    }
                });
            let state = match row {
                Some(_) if running.is_some() => State::Running,
                Some(r) if !r.success => State::Failed,
                Some(r) if r.checksum != m.up.checksum().as_str() => State::Modified,
                Some(_) => State::Applied,
                None if covered => State::Applied,
                None if newer.is_some_and(|n| m.version < n) => State::OutOfOrder,
                None => State::Pending,
            };
            out.push(MigrationStatus {
                version: m.version,
                name: m.label(),
                state,
                applied_at: row.map(|r| r.applied_at.clone()),
                execution_ms: row.map(|r| r.execution_ms),
                baselined: row.is_none() && covered,
                checksum: Some(m.up.checksum().as_str().to_owned()),
                recorded_checksum: row.map(|r| r.checksum.clone()),
                reversible: m.has_down(),
                no_transaction: m.up.directives.no_transaction,
                error: row.and_then(|r| r.error.clone()),
                phase: m.up.directives.phase,
                batched,
                running,
                progress: None,
            });
        }
        for r in rows.values().filter(|r| set.get(r.version).is_none()) {
            out.push(MigrationStatus {
                version: r.version,
                name: r.name.clone(),
                state: if r.success { State::Missing } else { State::Failed },
                applied_at: Some(r.applied_at.clone()),
                execution_ms: Some(r.execution_ms),
                baselined: false,
                checksum: None,
                recorded_checksum: Some(r.checksum.clone()),
                reversible: false,
                no_transaction: false,
                error: r.error.clone(),
                phase: Phase::PreDeploy,
                batched: false,
                running: None,
                progress: None,
            });
        }
        out.sort_by_key(|s| s.version);
        Status {
            migrations: out,
            baseline,
            current: newest_applied,
        }
    }

    /// Attaches what the batch table says to the running migrations.
    pub fn attach_progress(&mut self, progress: &[BatchProgress]) {
        for m in &mut self.migrations {
            if let Some(dir) = m.running {
                m.progress = progress
                    .iter()
                    .find(|p| p.version == m.version && p.direction == dir)
                    .cloned();
            }
        }
    }

    /// Migrations in `state`.
    pub fn in_state(&self, state: State) -> impl Iterator<Item = &MigrationStatus> {
        self.migrations.iter().filter(move |m| m.state == state)
    }

    /// The post-deploy migrations not applied yet (up to `to`, when given):
    /// those a pre-deploy run leaves for after the new code starts.
    pub fn post_deploy_waiting(&self, to: Option<u64>) -> Vec<String> {
        self.migrations
            .iter()
            .filter(|m| {
                m.phase == crate::migration::Phase::PostDeploy
                    && matches!(m.state, State::Pending | State::OutOfOrder | State::Running)
                    && to.is_none_or(|t| m.version <= t)
            })
            .map(|m| m.name.clone())
            .collect()
    }

    /// The number of migrations not applied yet (pending or out of order).
    pub fn pending_count(&self) -> usize {
        self.migrations
            .iter()
            .filter(|m| matches!(m.state, State::Pending | State::OutOfOrder | State::Running))
            .count()
    }

    /// True when files and database agree and nothing is pending.
    pub fn is_clean(&self) -> bool {
        self.migrations.iter().all(|m| m.state == State::Applied)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(set: &MigrationSet, version: u64) -> AppliedMigration {
        let m = set.get(version).unwrap();
        AppliedMigration {
            version,
            name: m.label(),
            kind: RowKind::Migration,
            checksum: m.up.checksum().as_str().to_owned(),
            applied_at: "2026-01-01T00:00:00Z".into(),
            execution_ms: 1,
            success: true,
            error: None,
        }
    }

    pub(crate) fn five() -> MigrationSet {
        MigrationSet::from_embedded(&[
            ("0001_a.up.sql", "CREATE TABLE a (x int);"),
            ("0001_a.down.sql", "DROP TABLE a;"),
            ("0002_b.up.sql", "CREATE TABLE b (x int);"),
            ("0002_b.down.sql", "DROP TABLE b;"),
            ("0003_c.up.sql", "CREATE TABLE c (x int);"),
            ("0004_d.up.sql", "CREATE TABLE d (x int);"),
            ("0004_d.down.sql", "DROP TABLE d;"),
            ("0005_e.up.sql", "CREATE TABLE e (x int);"),
            ("0005_e.down.sql", "DROP TABLE e;"),
        ])
        .unwrap()
    }

    fn states(st: &Status) -> Vec<(u64, &'static str)> {
        st.migrations.iter().map(|m| (m.version, m.state.as_str())).collect()
    }

    #[test]
    fn every_state() {
        let set = five();
        let mut modified = row(&set, 2);
        modified.checksum = "0".repeat(64);
        let mut failed = row(&set, 5);
        failed.success = false;
        let mut missing = row(&set, 1);
        missing.version = 9;
        let history = vec![row(&set, 1), modified, row(&set, 4), failed, missing];
        let st = Status::compute(&set, &history);
        assert_eq!(
            states(&st),
            vec![
                (1, "applied"),
                (2, "modified"),
                (3, "out_of_order"),
                (4, "applied"),
                (5, "failed"),
                (9, "missing")
            ]
        );
        assert_eq!(st.current, Some(9));
        assert_eq!(st.pending_count(), 1);
        assert!(!st.is_clean());
    }

    #[test]
    fn post_deploy_migrations_wait_without_being_late_and_batches_run() {
        let set = MigrationSet::from_embedded(&[
            ("0001_a.up.sql", "CREATE TABLE a (x int);"),
            ("0002_b.up.sql", "-- ferry:phase post-deploy\nALTER TABLE a ADD y int;"),
            ("0003_c.up.sql", "CREATE TABLE c (x int);"),
            (
                "0004_d.up.sql",
                "-- ferry:batch table=a key=x\nUPDATE a SET x = x WHERE x BETWEEN :first AND :last;",
            ),
            ("0005_e.up.sql", "-- ferry:phase post-deploy\nDROP TABLE c;"),
        ])
        .unwrap();
        let mut running = row(&set, 4);
        running.success = false;
        running.error = Some("up: started and did not finish (interrupted?)".into());
        let st = Status::compute(&set, &[row(&set, 1), row(&set, 3), running.clone()]);
        assert_eq!(
            states(&st),
            vec![
                (1, "applied"),
                (2, "pending"),
                (3, "applied"),
                (4, "running"),
                (5, "pending")
            ]
        );
        assert_eq!(st.migrations[3].running, Some(Direction::Up));
        assert_eq!(st.migrations[1].phase, Phase::PostDeploy);
        // Behind an applied post-deploy migration, an older one is late.
        let st = Status::compute(&set, &[row(&set, 1), row(&set, 3), row(&set, 5)]);
        assert_eq!(st.migrations[1].state, State::OutOfOrder);
        // A failed migration that is not batched stays failed.
        let mut failed = row(&set, 3);
        failed.success = false;
        assert_eq!(Status::compute(&set, &[failed]).migrations[2].state, State::Failed);
        running.error = Some("down: started and did not finish (interrupted?)".into());
        assert_eq!(
            Status::compute(&set, &[running]).migrations[3].running,
            Some(Direction::Down)
        );
    }

    #[test]
    fn baseline_covers_older_files() {
        let set = five();
        let base = AppliedMigration {
            kind: RowKind::Baseline,
            ..row(&set, 3)
        };
        let st = Status::compute(&set, &[base]);
        assert_eq!(
            states(&st),
            vec![
                (1, "applied"),
                (2, "applied"),
                (3, "applied"),
                (4, "pending"),
                (5, "pending")
            ]
        );
        assert!(st.migrations[0].baselined);
        assert_eq!(st.baseline, Some(3));
    }
}
