//! Config-file migrations that keep the user's comments and layout.
//!
//! A release declares changes to config files (`[[config]]` in its release
//! file, read into `project::config`); ferry applies them to `.env`, YAML,
//! TOML and JSON files with the editors of `document`, which keep every
//! byte they are not asked to change, checks each result with an
//! independent parser, writes all files or none, and keeps the original
//! bytes so `ferry config revert` restores them exactly.

pub mod compare;
pub mod migrate;
mod start;

pub use crate::document::{Document, Format, KeyPath, dotenv, meaning};
pub use crate::project::config::{Action, Change, Template};
pub use crate::redact as secrets;
pub use crate::redact::Redactor;
pub use migrate::{Prepared, Record, RecordState, Step};
