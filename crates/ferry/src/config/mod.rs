//! Config-file migrations that keep the user's comments and layout.
//!
//! A release declares changes to config files (`[[config]]` in its release
//! file); ferry applies them to `.env`, YAML, TOML and JSON files with
//! editors that keep every byte they are not asked to change, checks each
//! result with an independent parser, writes all files or none, and keeps
//! the original bytes so `ferry config revert` restores them exactly.

pub mod change;
pub mod compare;
pub mod document;
pub mod dotenv;
mod json;
pub mod migrate;
mod toml;
mod yaml;

pub use crate::redact as secrets;
pub use crate::redact::Redactor;
pub use change::{Action, Change, Template};
pub use document::{Document, Format, KeyPath, meaning};
pub use migrate::{Prepared, Record, RecordState, Step};
