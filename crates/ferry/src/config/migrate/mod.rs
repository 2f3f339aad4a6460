//! Applying the config changes of the releases on a path: all files are read
//! and edited in memory, every edit is checked by an independent parser, and
//! only then is anything written, all files or none. The original bytes are
//! kept in the state folder so the migration can be reverted byte for byte.
//!
//! State folder layout (`.ferry/config/` by default, 0700):
//! `<id>/record.json` (versions, time, each file's path, mode and SHA-256
//! before and after — never its contents) and `<id>/<n>.orig` (the original
//! bytes, 0600). A record is written before the first file is replaced, so a
//! run killed half-way can still be reverted.
//!
//! `prepare` edits in memory, `apply` writes under the `lock` with a
//! `record`, `revert` puts a record's files back, and `release` ties the
//! changes to the releases a plan crosses.

mod apply;
mod lock;
mod prepare;
mod record;
mod release;
mod revert;

pub use self::apply::{apply, apply_locked};
pub use self::lock::{Lock, lock, lock_if_present};
pub(crate) use self::prepare::files_of;
pub use self::prepare::{FileChange, Prepared, Step, prepare, prepare_over};
pub use self::record::{Record, RecordFile, RecordState, current, records};
pub use self::release::{files_version, preview, redactor_for, steps_of};
pub use self::revert::{revert, revert_locked};
