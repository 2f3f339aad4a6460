//! Checks before and after an upgrade: SQL invariants on the live
//! database, values compared before and after a hop, HTTP endpoints, TCP
//! ports, commands, free disk space, and the components a release needs.
//! A library call with a typed result, so the upgrade run journals it and
//! `ferry check` prints it.

mod expect;
mod probe;
mod runner;
mod spec;

pub use self::expect::{Comparison, Expect, Op};
pub(crate) use self::probe::agent;
pub(crate) use self::runner::expand;
pub use self::runner::{Context, Skips, Status, Verdict, requirements, run};
pub use self::spec::{Check, Free, Kind, Phase, Probe, Severity};
pub(crate) use self::spec::{RawCheck, RawProbe, parse, parse_probe};
