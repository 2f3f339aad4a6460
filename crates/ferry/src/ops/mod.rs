//! Operations: the use cases an operator runs through the CLI (or an
//! application calls), each composed from the layers below and returning a
//! typed report whose `Serialize` is the command's JSON. The larger
//! operations have rooms of their own beside this one: `upgrade`,
//! `rehearse`, `overview`.

pub mod backups;
pub mod config_files;
pub mod db;
pub mod new;
pub mod plan;
pub mod release;
pub mod runs;
pub mod watch;
