//! How a check came out: the verdict the upgrade journal keeps and the CLI
//! prints, and the checks an operator chose to skip.

use serde::{Deserialize, Serialize};

use crate::project::check::Severity;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It holds.
    Passed,
    /// It does not.
    Failed,
    /// It did not run (asked to skip, or nothing to compare with).
    Skipped,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The check's name.
    pub name: String,
    /// Its kind: sql, compare, http, tcp, command, disk, component or builtin.
    pub kind: String,
    /// Error or warning.
    pub severity: Severity,
    /// How it came out.
    pub status: Status,
    /// What it found, secrets redacted.
    pub detail: String,
    /// The value measured (compare checks keep theirs from before the hop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// How long it took.
    #[serde(default)]
    pub ms: u64,
}

impl Verdict {
    /// True when it failed and is an error: the run stops.
    pub fn blocks(&self) -> bool {
        self.status == Status::Failed && self.severity == Severity::Error
    }

    /// A built-in check of ferry's own.
    pub fn builtin(name: &str, problems: &[String], fix: &str) -> Self {
        Verdict {
            name: name.to_owned(),
            kind: "builtin".into(),
            severity: Severity::Error,
            status: if problems.is_empty() {
                Status::Passed
            } else {
                Status::Failed
            },
            detail: if problems.is_empty() {
                "ok".to_owned()
            } else {
                format!("{}; {fix}", problems.join(", "))
            },
            value: None,
            ms: 0,
        }
    }
}

/// Checks the operator chose to skip.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Skips {
    /// Warning checks to skip (`--skip NAME`).
    pub warnings: Vec<String>,
    /// Error checks to skip (`--skip-errors NAME`), which is written down.
    pub errors: Vec<String>,
}
