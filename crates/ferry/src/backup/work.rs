//! Work folders inside the backup folder (`.ferry-work-*`): where a backup
//! is assembled and an archive unpacked. Each holds a lock while in use, so
//! that the leftovers of a killed run can be told from a live one's and
//! removed by the next `backup create` or `prune`.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::Store;
use crate::error::{Error, Result};

const PREFIX: &str = ".ferry-work-";
const LOCK: &str = ".lock";

/// A private work folder, removed (with what it holds) on drop.
pub(crate) struct Work {
    // Drop order: the folder goes before its lock is let go.
    dir: tempfile::TempDir,
    _lock: File,
    _registered: crate::process::WorkDir,
}

impl Work {
    /// A new work folder in the backup folder.
    pub(crate) fn new(store: &Store) -> Result<Self> {
        store.ensure()?;
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(store.dir())
            .map_err(|e| Error::io("cannot create a work folder in", store.dir(), e))?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("cannot set permissions of", dir.path(), e))?;
        let lock_path = dir.path().join(LOCK);
        let lock = crate::durable::create_private(&lock_path)?;
        lock.lock().map_err(|e| Error::io("cannot lock", &lock_path, e))?;
        let registered = crate::process::WorkDir::register(dir.path());
        Ok(Work {
            dir,
            _lock: lock,
            _registered: registered,
        })
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes what killed runs left in the backup folder: work folders whose
/// lock nobody holds, and temporary files older than ten minutes. Returns
/// how many it removed.
pub(crate) fn clean_leftovers(store: &Store) -> usize {
    let Ok(entries) = fs::read_dir(store.dir()) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() && name.starts_with(PREFIX) {
            let free = match File::open(path.join(LOCK)) {
                Ok(f) => f.try_lock().is_ok(),
                // No lock file: killed before it was made.
                Err(_) => true,
            };
            if free && fs::remove_dir_all(&path).is_ok() {
                removed += 1;
            }
        } else if kind.is_file() && name.starts_with(".ferry-") {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(600));
            if old && fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}
