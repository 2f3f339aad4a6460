//! The marker table a MariaDB/MySQL restore keeps in its target from just
//! before it swaps the restored tables in until it is complete (see
//! `backup::mysql_restore`). While it is there, every ferry command refuses
//! the database and says how to finish.

use crate::error::Error;

/// The marker table's name.
pub(crate) const MARKER: &str = "ferry_restore";

#[cfg_attr(not(feature = "mysql"), allow(dead_code))]
/// The refusal every command gives while a restore's marker is in the database.
pub(crate) fn unfinished(backup: Option<&str>) -> Error {
    Error::refusal(
        format!(
            "a restore{} into this database did not finish (ferry was stopped while swapping the restored tables in)",
            backup.map(|b| format!(" of backup {b}")).unwrap_or_default()
        ),
        format!(
            "run `ferry backup restore {} --yes` again to finish it (or `ferry upgrade --rollback`, when an upgrade's rollback was restoring it: `ferry runs last` says); until then ferry will not use the database",
            backup.unwrap_or("ID")
        ),
    )
}
