//! Putting a record's files back, byte for byte.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::apply::sha;
use super::*;
use crate::durable;
use crate::error::{Error, Result};

/// Undoes the last recorded config migration: every file gets its original
/// bytes and mode back. A file edited since (its bytes are neither the
/// migrated nor the original ones) stops the revert unless `force`.
pub fn revert(state: &Path, force: bool) -> Result<Option<Record>> {
    if !state.exists() {
        return Ok(None);
    }
    let lock = lock(state)?;
    revert_locked(&lock, force)
}

/// [`revert`] under a lock already held.
pub fn revert_locked(lock: &Lock, force: bool) -> Result<Option<Record>> {
    let state = lock.state();
    let Some(record) = records(state)?.pop() else {
        return Ok(None);
    };
    let folder = state.join(&record.id);
    let mut restore = Vec::new();
    for f in &record.files {
        let original =
            fs::read(folder.join(&f.original)).map_err(|e| Error::io("cannot read", folder.join(&f.original), e))?;
        if sha(&original) != f.before_sha256 {
            return Err(Error::refusal(
                format!(
                    "the saved original of {} is damaged (its SHA-256 does not match)",
                    f.shown
                ),
                "restore the file from a backup (`ferry backup list`)",
            ));
        }
        let now = match fs::read(&f.path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("cannot read", &f.path, e)),
        };
        let now_sha = now.as_deref().map(sha);
        if now_sha.as_deref() == Some(f.before_sha256.as_str()) {
            continue;
        }
        if now_sha.as_deref() != Some(f.after_sha256.as_str()) && !force {
            return Err(Error::refusal(
                format!("{} was changed after the migration to {}", f.shown, record.to),
                format!(
                    "nothing was reverted; `ferry config revert --force` discards those changes (the original is kept in {})",
                    folder.display()
                ),
            ));
        }
        restore.push((f, original));
    }
    for (f, original) in &restore {
        let owner = fs::metadata(&f.path).ok().map(|m| (m.uid(), m.gid()));
        durable::replace(&f.path, original, f.mode, owner)?;
    }
    if !record.is_applied() {
        // A run killed while writing leaves its new files under temporary
        // names beside the originals.
        let mut dirs: Vec<&Path> = record.files.iter().filter_map(|f| f.path.parent()).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                let stray =
                    e.file_name().to_string_lossy().starts_with(".ferry-") && e.file_type().is_ok_and(|t| t.is_file());
                if stray {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
    fs::remove_dir_all(&folder).map_err(|e| Error::io("cannot remove", &folder, e))?;
    durable::sync_dir(state)?;
    Ok(Some(record))
}
