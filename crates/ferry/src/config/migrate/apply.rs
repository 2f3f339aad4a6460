//! Writing a prepared migration: the record and the original bytes first,
//! then every file staged and renamed into place, all or none.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::record::{PREFIX, host, interrupted, original_name, save_record};
use super::*;
use crate::durable::{self, stage_replacement};
use crate::error::{Error, Result};
use crate::state::Store;
use crate::version::Version;

pub(super) fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes every changed file of `prepared`, or none, after recording the
/// originals in `store`. Returns the record, or `None` when nothing changes
/// (then nothing at all is written). The caller holds the store's lock
/// (or, in an upgrade run, the database's migration lock) from before it
/// read the files or the records; `run` tags the record with the upgrade
/// run that makes it.
pub fn apply(
    store: &mut dyn Store,
    prepared: &Prepared,
    from: Option<&Version>,
    to: &Version,
    run: Option<&str>,
) -> Result<Option<Record>> {
    let changed: Vec<&FileChange> = prepared.changed().collect();
    if changed.is_empty() {
        return Ok(None);
    }
    if let Some(r) = records(store)?.last().filter(|r| !r.is_applied()) {
        return Err(interrupted(r));
    }
    // Nothing may have changed under us since the files were read: every
    // file the migration read, not only those it changes.
    for f in &prepared.files {
        let now = fs::read(&f.path).map_err(|e| Error::io("cannot read", &f.path, e))?;
        if now != f.before.as_bytes() {
            return Err(Error::refusal(
                format!("{} changed while ferry was preparing its migration", f.shown),
                "run the command again",
            ));
        }
    }
    let mut metas = Vec::new();
    for f in &changed {
        metas.push(fs::metadata(&f.path).map_err(|e| Error::io("cannot inspect", &f.path, e))?);
    }
    let at = jiff::Timestamp::now();
    let id = format!("{}-{}", at.strftime("%Y%m%dT%H%M%S%.6fZ"), to);
    let mut record = Record {
        id: id.clone(),
        from: from.map(ToString::to_string),
        to: to.to_string(),
        at: at.to_string(),
        state: RecordState::Writing,
        run: run.map(str::to_owned),
        host: host(),
        dir: Some(prepared.dir.clone()),
        files: Vec::new(),
    };
    for (i, (f, meta)) in changed.iter().zip(&metas).enumerate() {
        let original = format!("{i}.orig");
        store.write(&original_name(&id, &original), f.before.as_bytes())?;
        record.files.push(RecordFile {
            path: f.path.clone(),
            shown: f.shown.clone(),
            mode: meta.permissions().mode() & 0o777,
            before_sha256: sha(f.before.as_bytes()),
            after_sha256: sha(f.after.as_bytes()),
            original,
        });
    }
    save_record(store, &record)?;
    // Every new file is written beside its original first; only when all are
    // ready are they renamed into place.
    let mut ready = Vec::new();
    for (f, meta) in changed.iter().zip(&metas) {
        match stage_replacement(
            &f.path,
            f.after.as_bytes(),
            meta.permissions().mode(),
            Some((meta.uid(), meta.gid())),
        ) {
            Ok(tmp) => ready.push(tmp),
            Err(e) => {
                // Nothing was replaced yet: the temporary files go with `ready`.
                let _ = store.remove(&format!("{PREFIX}{id}/"));
                return Err(e);
            }
        }
    }
    let mut placed: Vec<usize> = Vec::new();
    for (i, tmp) in ready.into_iter().enumerate() {
        crate::crash::point("FERRY_TEST_CRASH_AFTER_RENAMES", i);
        if let Err(e) = tmp.persist(&changed[i].path) {
            // Put back the ones already replaced.
            for j in placed {
                let f = changed[j];
                let _ = durable::replace(&f.path, f.before.as_bytes(), metas[j].permissions().mode(), None);
            }
            let _ = store.remove(&format!("{PREFIX}{id}/"));
            return Err(Error::io("cannot write", &changed[i].path, e.error));
        }
        placed.push(i);
    }
    let mut dirs: Vec<&Path> = changed.iter().map(|f| durable::parent(&f.path)).collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        durable::sync_dir(dir)?;
    }
    record.state = RecordState::Applied;
    save_record(store, &record)?;
    Ok(Some(record))
}
