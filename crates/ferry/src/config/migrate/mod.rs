//! Applying the config changes of the releases on a path: all files are read
//! and edited in memory, every edit is checked by an independent parser, and
//! only then is anything written, all files or none. The original bytes are
//! kept in the state folder so the migration can be reverted byte for byte.
//!
//! The records live in the run state's store (the database, or a state
//! folder): `config/<id>/record.json` (versions, time, host and folder,
//! each file's path, mode and SHA-256 before and after) and
//! `config/<id>/<n>.orig` (the original bytes). A record is written before
//! the first file is replaced, so a run killed half-way can still be
//! reverted.
//!
//! `prepare` edits in memory, `apply` writes with a `record` (under the
//! store's lock, which its caller holds), `revert` puts a record's files
//! back, and `release` ties the changes to the releases a plan crosses.

mod apply;
mod prepare;
mod record;
mod release;
mod revert;

pub use self::apply::apply;
pub(crate) use self::prepare::files_of;
pub use self::prepare::{FileChange, Prepared, Step, prepare, prepare_over};
pub use self::record::{Record, RecordFile, RecordState, current, records};
pub use self::release::{files_version, preview, redactor_for, steps_of};
pub use self::revert::revert;
