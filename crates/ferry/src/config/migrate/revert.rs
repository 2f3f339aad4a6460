//! Putting a record's files back, byte for byte.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::apply::sha;
use super::record::{PREFIX, host, original_name};
use super::*;
use crate::durable;
use crate::error::{Error, Result};
use crate::state::Store;

/// Undoes the last recorded config migration: every file gets its original
/// bytes and mode back. A file edited since (its bytes are neither the
/// migrated nor the original ones) stops the revert unless `force`, and so
/// does a migration of another machine's files whose files here are still
/// the migrated ones. The caller holds the store's lock.
pub fn revert(store: &mut dyn Store, force: bool) -> Result<Option<Record>> {
    let Some(record) = records(store)?.pop() else {
        return Ok(None);
    };
    let here = host();
    let elsewhere = record.host.as_ref().filter(|h| here.as_ref() != Some(*h));
    let mut restore = Vec::new();
    for f in &record.files {
        let name = original_name(&record.id, &f.original);
        let original = store.read(&name)?.ok_or_else(|| {
            Error::refusal(
                format!(
                    "the saved original of {} is missing ({name} in {})",
                    f.shown,
                    store.place()
                ),
                "restore the file from a backup (`ferry backup list`)",
            )
        })?;
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
                    store.place()
                ),
            ));
        }
        if let Some(there) = elsewhere
            && !force
        {
            return Err(Error::refusal(
                format!(
                    "the config migration to {} changed the files of {there} (in {}), not of this machine ({})",
                    record.to,
                    record
                        .dir
                        .as_ref()
                        .map_or("its config folder".into(), |d| d.display().to_string()),
                    here.as_deref().unwrap_or("unknown")
                ),
                format!(
                    "nothing was reverted; revert on {there}, or `ferry config revert --force` to write these files here"
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
    store.remove(&format!("{PREFIX}{}/", record.id))?;
    Ok(Some(record))
}
