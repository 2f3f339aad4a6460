//! What running a hook did, as the journal keeps it.

use serde::{Deserialize, Serialize};

use crate::project::hook::When;

/// What running a hook did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HookRun {
    /// The hook's name.
    pub name: String,
    /// When it ran.
    pub when: When,
    /// True when it exited 0 within its timeout.
    pub ok: bool,
    /// How it ended, in words.
    pub ended: String,
    /// Its output (stdout and stderr), secrets redacted, at most the last 64 KiB.
    pub output: String,
    /// How long it took.
    pub ms: u64,
}
