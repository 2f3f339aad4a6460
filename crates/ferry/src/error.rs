//! ferry's error type, and `Problem`: one finding in a user's file, with the
//! file, the line and what to do about it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::SafeUrl;

/// A result with ferry's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One finding in a file a person wrote: where it is, what is wrong, the fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file, when the problem is in one.
    pub file: Option<PathBuf>,
    /// 1-based line in that file, when known.
    pub line: Option<usize>,
    /// What is wrong, lowercase, one sentence.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl Problem {
    /// A problem in `file`.
    pub fn in_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Problem {
            file: Some(file.into()),
            line: None,
            message: message.into(),
            help: None,
        }
    }

    /// A problem tied to no file.
    pub fn general(message: impl Into<String>) -> Self {
        Problem {
            file: None,
            line: None,
            message: message.into(),
            help: None,
        }
    }

    /// Sets the line.
    #[must_use]
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the fix.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            _ => {}
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// A list of problems displayed one per paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

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
    Dirty,
}

/// ferry's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("{action} {path}: {source}")]
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
        humantime::format_duration(*waited)
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

    /// An upgrade run failed: the report says where, why, and whether it
    /// was rolled back.
    #[error("{}", crate::upgrade::failure_message(.0))]
    Upgrade(Box<crate::upgrade::RunReport>),
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
        ))
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
        s.push_str(&format!("\n  statement: {}", shorten(stmt, 300)));
    }
    match state {
        FailureState::RolledBack => s.push_str(&format!(
            "\n  the migration's transaction was rolled back: the database is as it was before {migration}"
        )),
        FailureState::Dirty => s.push_str(&format!(
            "\n  {migration} ran without a transaction and stopped part-way: statements before the failing one remain applied.\n  help: finish or undo {migration} by hand, then run `ferry db repair`; until then every run refuses"
        )),
    }
    if progress.completed.is_empty() {
        s.push_str("\n  nothing was completed before it");
    } else {
        s.push_str(&format!(
            "\n  completed before it, and kept: {}",
            progress.completed.join(", ")
        ));
    }
    s
}

/// Cuts `s` to about `max` characters for display.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    }
}

impl Error {
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
