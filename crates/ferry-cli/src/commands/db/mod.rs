//! `ferry db ...`: the database's migrations.

pub mod adopt;
pub mod baseline;
pub mod history;
pub mod migrate;
pub mod repair;
pub mod revert;
pub mod status;
pub mod transfer;
pub mod validate;
pub mod verify;
