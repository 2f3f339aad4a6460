//! Records of what happened, kept so that later commands can trust them:
//! each upgrade run's journal and what it adds up to, how checks, hooks and
//! the watch came out, what each migration's verification found, what each
//! rehearsal measured.

pub mod check;
pub mod hook;
pub mod rehearsal;
pub mod run;
mod store;
mod takeover;
pub mod verified;
pub mod watch;

pub use self::rehearsal::{CopyOf, Failure, HopTime, Measured, Rehearsal, StepTime};
pub use self::verified::{Verified, VerifiedMigration};
