//! Checks before and after an upgrade: SQL invariants on the live
//! database, values compared before and after a hop, HTTP endpoints, TCP
//! ports, commands, free disk space, and the components a release needs.
//! A library call with a typed result, so the upgrade run journals it and
//! `ferry check` prints it. What a check is, and how ferry.toml and release
//! files declare one, is in `project::check`.

mod probe;
mod report;
mod runner;

pub(crate) use self::probe::agent;
pub use self::report::{CheckReport, CheckWhich};
pub(crate) use self::runner::expand;
pub use self::runner::{Context, requirements, run};
pub use crate::project::check::{Check, Free, Kind, Phase, Probe, Severity};
pub use crate::project::expect::{Comparison, Expect, Op};
pub use crate::records::check::{Skips, Status, Verdict};
