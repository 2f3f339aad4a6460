//! `ferry config ...`: config-file migrations.

pub mod diff;
pub mod migrate;
pub mod revert;
