//! One file per command: each turns its arguments into a call of one
//! library use case, renders the report (`render`, or JSON through the
//! report's `Serialize`) and says how it concluded. None of them imports
//! another, nor `app`.

pub mod adopt;
pub mod backup;
pub mod check;
pub mod completions;
pub mod config;
pub mod db;
pub mod guide;
pub mod import;
pub mod init;
pub mod man;
pub mod new;
pub mod plan;
pub mod rehearse;
pub mod rollback;
pub mod runs;
pub mod status;
pub mod upgrade;
pub mod watch;
