//! `ferry watch`: the metrics of `[watch]` now, as the upgrade does after
//! its last hop, and with `rollback_on_fail` the last upgrade rolled back
//! when they fail.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::error::Result;
use crate::project::{Access, Installation};
use crate::upgrade::{self, Progress, RunError, RunReport, WatchOutcome};
use crate::watch::{Round, Verdict};

/// What `ferry watch` was asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct WatchRequest {
    /// How long (default: `[watch] duration`).
    pub duration: Option<Duration>,
    /// Warnings fail the watch too.
    pub strict: bool,
    /// A failed watch rolls the last upgrade back.
    pub rollback_on_fail: bool,
}

/// How the rollback after a failed watch ended.
#[derive(Debug)]
pub enum Rollback {
    /// Not asked for, or nothing failed.
    None,
    /// The last upgrade was rolled back.
    Done(Box<RunReport>),
    /// The rollback itself failed; its report says where.
    Failed(Box<RunReport>),
    /// It could not start.
    Error(RunError),
}

/// `ferry watch`.
#[derive(Debug)]
pub struct Watched {
    /// The readings and what they added up to.
    pub watch: WatchOutcome,
    /// The watch failed (a rollback threshold crossed, or with `strict` a
    /// warning).
    pub failed: bool,
    /// What the rollback did.
    pub rollback: Rollback,
}

/// Watches the metrics now; `on_round` sees each round as it is taken, and
/// `progress` the rollback's steps.
pub fn watch(
    inst: &Installation,
    access: &Access,
    request: WatchRequest,
    on_round: &mut dyn FnMut(&Round),
    progress: &mut dyn Progress,
) -> Result<Watched> {
    let watched = upgrade::watch_now(inst, access, request.duration, on_round)?;
    let failed = match &watched.verdict {
        Verdict::Passed => false,
        Verdict::Warned { .. } => request.strict,
        Verdict::Failed { .. } => true,
    };
    let rollback = if failed && request.rollback_on_fail {
        let why = match &watched.verdict {
            Verdict::Failed { reason } => format!("ferry watch --rollback-on-fail: {reason}"),
            Verdict::Warned { reasons } => format!("ferry watch --rollback-on-fail --strict: {}", reasons.join("; ")),
            Verdict::Passed => "ferry watch --rollback-on-fail".to_owned(),
        };
        match upgrade::rollback_last_because(inst, access, None, false, Some(&why), |_| true, progress) {
            Ok(Some(report)) => Rollback::Done(Box::new(report)),
            Ok(None) => Rollback::None,
            Err(RunError::Failed(report)) => Rollback::Failed(report),
            Err(e) => Rollback::Error(e),
        }
    } else {
        Rollback::None
    };
    Ok(Watched {
        watch: watched,
        failed,
        rollback,
    })
}

impl Serialize for Watched {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Error {
            error: String,
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Back<'a> {
            Report(&'a RunReport),
            Error(Error),
        }
        #[derive(Serialize)]
        struct View<'a> {
            watch: &'a WatchOutcome,
            rollback: Option<Back<'a>>,
        }
        View {
            watch: &self.watch,
            rollback: match &self.rollback {
                Rollback::None => None,
                Rollback::Done(r) | Rollback::Failed(r) => Some(Back::Report(r)),
                Rollback::Error(e) => Some(Back::Error(Error { error: e.to_string() })),
            },
        }
        .serialize(s)
    }
}
