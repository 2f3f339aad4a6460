//! How an upgrade run ends badly: `RunError`, through which an upgrade's
//! failure comes back with its report (ferry's `Error` knows nothing of
//! runs), and the answer when there is nothing to do.

use crate::records::run::{RunReport, failure_message};

/// Why an upgrade run, or its rollback, did not end as asked. An upgrade's
/// failure comes back through the upgrade API, with its report; ferry's
/// [`Error`](crate::Error) knows nothing of runs.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run started and failed: the report says where, why, and whether
    /// it was rolled back.
    #[error("{}", failure_message(.0))]
    Failed(Box<RunReport>),
    /// It could not start or go on: a refusal, a lock, ferry's own records.
    #[error(transparent)]
    Other(#[from] crate::Error),
}

impl RunError {
    /// [`Error::kind`]; `upgrade_failed` for a run that failed (its report
    /// says how it ended).
    pub fn kind(&self) -> &'static str {
        match self {
            RunError::Failed(_) => "upgrade_failed",
            RunError::Other(e) => e.kind(),
        }
    }

    /// True when the error is in the user's configuration or files (the
    /// CLI exits 2 for these).
    pub fn is_configuration(&self) -> bool {
        matches!(self, RunError::Other(e) if e.is_configuration())
    }
}

/// The result of an upgrade run or rollback.
pub type RunResult<T> = std::result::Result<T, RunError>;

/// `ferry upgrade` when the plan has no hop: already at the target, or
/// behind the installed release's schema.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NothingToDo<'a> {
    /// Always `nothing_to_do`.
    pub state: &'static str,
    /// The target.
    pub to: &'a crate::version::Version,
    /// Migrations of the installed release the database lacks.
    pub behind: &'a [crate::plan::MigrationRef],
}

impl<'a> NothingToDo<'a> {
    /// For `plan`, which has no hop.
    pub fn of(plan: &'a crate::plan::UpgradePlan) -> Self {
        NothingToDo {
            state: "nothing_to_do",
            to: &plan.to,
            behind: &plan.behind,
        }
    }
}
