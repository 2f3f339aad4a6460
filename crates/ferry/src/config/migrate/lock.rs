//! The config state folder's lock.

use std::fs;
use std::path::{Path, PathBuf};

use crate::durable::{self, private_dir};
use crate::error::{Error, Result};

/// The config state folder's lock: while it is held, no other config
/// migration or revert runs, so what was read under it stays true.
#[derive(Debug)]
pub struct Lock {
    state: PathBuf,
    _file: fs::File,
}

impl Lock {
    /// The state folder it locks.
    pub fn state(&self) -> &Path {
        &self.state
    }
}

/// The lock of `state` when the folder exists (there may be records to
/// protect); `None` when it does not, so that a command that changes
/// nothing creates nothing. [`apply`] takes the lock itself then.
pub fn lock_if_present(state: &Path) -> Result<Option<Lock>> {
    if state.is_dir() {
        lock(state).map(Some)
    } else {
        Ok(None)
    }
}

/// Takes the lock of the config state folder `state`, waiting for another
/// ferry process that holds it. Released when dropped.
pub fn lock(state: &Path) -> Result<Lock> {
    private_dir(state)?;
    let path = state.join(".lock");
    let file = durable::lock_file(&path)?;
    file.lock().map_err(|e| Error::io("cannot lock", &path, e))?;
    Ok(Lock {
        state: state.to_owned(),
        _file: file,
    })
}
