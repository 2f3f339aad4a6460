//! ferry's error type.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::problem::{Problem, Problems};
use crate::text::{excerpt, io_reason, seconds};
use crate::url::SafeUrl;

/// A result with ferry's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What ferry had done when an operation stopped, so the message can say it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Migrations applied (or reverted) before the failure, as `0001_name`.
    pub completed: Vec<String>,
}

/// How a failed migration left the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureState {
    /// The migration ran in a transaction that was rolled back: nothing of it remains.
    RolledBack,
    /// The migration ran without a transaction and stopped part-way; the
    /// history row marks it failed and further runs refuse until repaired.
    Dirty {
        /// How many of its statements succeeded before the failing one.
        applied: usize,
    },
    /// A batched migration stopped between two batches: the failing batch
    /// was rolled back, those before it are committed with its progress,
    /// and running it again continues at the failing batch.
    Stopped {
        /// Batches committed.
        batches: u64,
        /// Rows in them.
        rows: u64,
    },
}

/// ferry's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("{action} {path}: {}", io_reason(source))]
    Io {
        /// What ferry was doing ("cannot read", "cannot write").
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// `ferry.toml` or `.env` is wrong.
    #[error("{0}")]
    Config(Problems),

    /// The migrations folder (or the embedded migrations) is wrong.
    #[error("{0}")]
    Migrations(Problems),

    /// The database could not be reached.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The database, with any password redacted.
        url: SafeUrl,
        /// What the driver said.
        message: String,
    },

    /// A database operation outside any migration failed.
    #[error("{context}: {message}")]
    Database {
        /// What ferry was doing.
        context: String,
        /// What the driver said.
        message: String,
    },

    /// Another ferry process held the migration lock for longer than allowed.
    #[error(
        "another ferry process is migrating this database; gave up waiting after {}\n  help: wait for it to finish, or raise --lock-timeout",
        seconds(*waited)
    )]
    LockTimeout {
        /// How long ferry waited.
        waited: Duration,
    },

    /// ferry refused to act because the database or the files are not in a
    /// state where acting is safe. Nothing was changed.
    #[error("{0}")]
    Refused(Problems),

    /// A migration failed.
    #[error("{0}")]
    MigrationFailed(Box<MigrationFailure>),

    /// A signal asked ferry to stop, and it stopped at a safe point:
    /// nothing is half done, and the journal says where.
    #[error(
        "stopped {at}, as signal {signal} asked: nothing is half done, the journal says where\n  help: `ferry upgrade --resume` goes on (`--rollback` undoes the run), in any folder, container or pod pointed at this database"
    )]
    Stopped {
        /// The signal.
        signal: i32,
        /// Where, in words: `before hop 2 of 3, migrate`.
        at: String,
    },
}

/// A migration that failed: which, where, why, and what it left behind.
#[derive(Debug, Clone)]
pub struct MigrationFailure {
    /// The migration, as `0003_add_artifacts (up)`.
    pub migration: String,
    /// The file it came from.
    pub file: PathBuf,
    /// The statement that failed, when known.
    pub statement: Option<String>,
    /// The statement's line in the file, when known.
    pub line: Option<usize>,
    /// What the database said.
    pub message: String,
    /// How the failure left the database.
    pub state: FailureState,
    /// What had been done before it.
    pub progress: Progress,
    /// INVALID indexes a failed `CREATE INDEX CONCURRENTLY` left behind.
    pub invalid_indexes: Vec<String>,
}

impl fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&failed_message(
            &self.migration,
            self.statement.as_deref(),
            self.line,
            &self.message,
            self.state,
            &self.progress,
        ))?;
        for index in &self.invalid_indexes {
            write!(
                f,
                "\n  the failed CREATE INDEX CONCURRENTLY left the index {index} behind, INVALID: it is never used yet slows every write to its table.\n  help: `ferry db repair` drops it (DROP INDEX CONCURRENTLY) and marks the migration pending again"
            )?;
        }
        Ok(())
    }
}

fn failed_message(
    migration: &str,
    statement: Option<&str>,
    line: Option<usize>,
    message: &str,
    state: FailureState,
    progress: &Progress,
) -> String {
    let mut s = format!("migration {migration} failed");
    if let Some(line) = line {
        s.push_str(&format!(" at line {line}"));
    }
    s.push_str(&format!(": {message}"));
    if let Some(stmt) = statement {
        s.push_str(&format!("\n  statement:\n{}", excerpt(stmt, 8, 160)));
    }
    match state {
        FailureState::RolledBack => s.push_str(&format!(
            "\n  the migration's transaction was rolled back: the database is as it was before {migration}"
        )),
        FailureState::Dirty { applied: 0 } => s.push_str(&format!(
            "\n  {migration} ran without a transaction and failed at its first statement: none of its statements took effect (though a failed statement can leave traces of its own, such as an INVALID index after CREATE INDEX CONCURRENTLY).\n  help: check, then run `ferry db repair` to mark it pending again; until then every run refuses"
        )),
        FailureState::Dirty { applied } => s.push_str(&format!(
            "\n  {migration} ran without a transaction and stopped part-way: the {applied} statement{} before the failing one remain{} applied.\n  help: finish or undo {migration} by hand, then run `ferry db repair`; until then every run refuses",
            if applied == 1 { "" } else { "s" },
            if applied == 1 { "s" } else { "" }
        )),
        FailureState::Stopped { .. } => {}
    }
    if let FailureState::Stopped { batches, rows } = state {
        s.push_str(&format!(
            "\n  {migration} runs in batches: the failing batch was rolled back; the {batches} batch{} before it ({rows} row{}) stay committed with its progress.\n  help: fix the cause, then run the migration again: it continues at the failing batch (`ferry db status` shows how far it got)",
            if batches == 1 { "" } else { "es" },
            if rows == 1 { "" } else { "s" },
        ));
    }
    match progress.completed.len() {
        0 => s.push_str("\n  nothing was completed before it"),
        n if n <= 5 => s.push_str(&format!(
            "\n  completed before it, and kept: {}",
            progress.completed.join(", ")
        )),
        n => s.push_str(&format!(
            "\n  completed before it, and kept: {n} migrations, from {} to {} (`ferry db history` lists them)",
            progress.completed[0],
            progress.completed[n - 1]
        )),
    }
    s
}

impl Error {
    /// What kind of error it is, as a word for scripts (the `kind` of a
    /// JSON error): `io`, `config`, `migrations`, `connect`, `database`,
    /// `lock_timeout`, `refused`, `migration_failed`, `stopped`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Config(_) => "config",
            Error::Migrations(_) => "migrations",
            Error::Connect { .. } => "connect",
            Error::Database { .. } => "database",
            Error::LockTimeout { .. } => "lock_timeout",
            Error::Refused(_) => "refused",
            Error::MigrationFailed(_) => "migration_failed",
            Error::Stopped { .. } => "stopped",
        }
    }

    /// True when the error is in the user's configuration or files rather
    /// than something found at run time (the CLI exits 2 for these).
    pub fn is_configuration(&self) -> bool {
        matches!(self, Error::Config(_) | Error::Migrations(_))
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn db(context: impl Into<String>, err: impl fmt::Display) -> Self {
        Error::Database {
            context: context.into(),
            message: err.to_string(),
        }
    }

    pub(crate) fn refused(problem: Problem) -> Self {
        Error::Refused(Problems(vec![problem]))
    }

    /// A refusal tied to no file: what is wrong, and what to do.
    pub fn refusal(message: impl Into<String>, help: impl Into<String>) -> Self {
        Error::refused(Problem::general(message).help(help))
    }
}
