//! Records of what happened, kept so that later commands can trust them:
//! what each migration's verification found, what each rehearsal measured.

pub mod rehearsal;
pub mod verified;

pub use self::rehearsal::{CopyOf, Failure, HopTime, Measured, Rehearsal, StepTime};
pub use self::verified::{Verified, VerifiedMigration};
