//! `ferry backup ...`: backups of the database and the config files.

pub mod create;
pub mod drill;
pub mod list;
pub mod prune;
pub mod restore;
pub mod verify;
