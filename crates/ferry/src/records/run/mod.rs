//! The record of an upgrade run: what it is (`RunInfo`), its write-ahead
//! journal (`journal`), the typed state its records add up to (`state`),
//! and the report read back from them (`report`).

pub mod journal;
pub mod report;
pub mod state;

pub use self::journal::{HopInfo, RunInfo, RunOptions};
pub use self::report::{
    HopReport, RunReport, StepReport, StepStatus, WatchReport, failure_message, last, refuse_if_unfinished, report,
    unfinished, unfinished_error,
};
pub use self::state::{Before, End, Event, Outcome, Record, RunState, STEPS, StepKind, Undone, steps_of_hop};
