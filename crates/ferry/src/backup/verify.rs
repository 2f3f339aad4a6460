//! `ferry backup verify`: every member's checksum, the archive's own
//! checksum against its `.sha256` file and sidecar, the sidecar against the
//! manifest inside the archive, and a full read of the dump.

use std::path::Path;

use serde::Serialize;

use super::archive::{self, BackupManifest, Damage};
use super::work::Work;
use super::{Entry, FILES_PREFIX, Store, dump, now_text};
use crate::engine::DatabaseUrl;
use crate::error::{Error, Result};

/// The result of verifying one backup.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The backup.
    pub id: String,
    /// True when nothing is wrong.
    pub ok: bool,
    /// What is wrong, member by member.
    pub damage: Vec<Damage>,
}

/// Reads the archive in full, extracting into `work`: the database dump to
/// `work/dump`, files under `work/files/`. Checks every checksum, the
/// archive against what its sidecars say, and reads the dump back in full.
pub(crate) fn unpack(store: &Store, entry: &Entry, work: &Path) -> Result<(Option<BackupManifest>, Vec<Damage>)> {
    let db_member = entry.sidecar.manifest.database.clone();
    let contents = archive::read(&entry.archive, |member, reader| {
        let dest = if member.path == db_member {
            work.join("dump")
        } else if let Some(rel) = member.path.strip_prefix(FILES_PREFIX) {
            let dest = work.join("files").join(rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
            }
            dest
        } else {
            return Ok(());
        };
        archive::extract_to(reader, &dest)
    })?;
    let (manifest, mut damage) = (contents.manifest, contents.damage);
    let sidecar = &entry.sidecar;
    if let Some(m) = &manifest {
        if m.id != entry.id {
            damage.push(Damage {
                member: archive::MANIFEST.to_owned(),
                problem: format!("the archive says it is backup {}, not {}", m.id, entry.id),
            });
        }
        if serde_json::to_value(m).ok() != serde_json::to_value(&sidecar.manifest).ok() {
            damage.push(Damage {
                member: format!("{}.json", entry.id),
                problem: "the sidecar does not describe this archive (its manifest differs from the one inside)".into(),
            });
        }
    }
    if contents.sha256 != sidecar.sha256 || contents.size != sidecar.size {
        damage.push(Damage {
            member: format!("{}.json", entry.id),
            problem: format!(
                "the archive's SHA-256 ({}, {} bytes) is not the one recorded ({}, {} bytes)",
                short(&contents.sha256),
                contents.size,
                short(&sidecar.sha256),
                sidecar.size
            ),
        });
    }
    match store.recorded_sha256(&entry.id) {
        Some(line) if line == contents.sha256 => {}
        Some(line) => damage.push(Damage {
            member: format!("{}.tar.zst.sha256", entry.id),
            problem: format!(
                "says {}, but the archive's SHA-256 is {}",
                short(&line),
                short(&contents.sha256)
            ),
        }),
        None => damage.push(Damage {
            member: format!("{}.tar.zst.sha256", entry.id),
            problem: "missing or unreadable".into(),
        }),
    }
    if let Some(m) = &manifest
        && damage.is_empty()
        && let Some(problem) = dump::read_back(m.dump_format, &work.join("dump"))?
    {
        damage.push(Damage {
            member: m.database.clone(),
            problem,
        });
    }
    Ok((manifest, damage))
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// Verifies a backup: every member's checksum, and a full read of the dump.
pub fn verify(store: &Store, entry: &Entry) -> Result<Verification> {
    let work = Work::new(store)?;
    let (_, damage) = unpack(store, entry, work.path())?;
    let ok = damage.is_empty();
    if ok {
        store.mark_verified(entry, &now_text())?;
    }
    Ok(Verification {
        id: entry.id.clone(),
        ok,
        damage,
    })
}

/// Unpacks `entry` into `work` and returns its manifest, refusing a damaged
/// backup or one of another engine; `done` says what did not happen.
pub(crate) fn usable(
    store: &Store,
    entry: &Entry,
    work: &Path,
    url: &DatabaseUrl,
    done: &str,
) -> Result<BackupManifest> {
    let (manifest, damage) = unpack(store, entry, work)?;
    let manifest = match manifest {
        Some(m) if damage.is_empty() => m,
        _ => {
            let list: Vec<String> = damage.iter().map(|d| format!("{}: {}", d.member, d.problem)).collect();
            return Err(Error::refusal(
                format!(
                    "backup {} is damaged; nothing was {done}:\n  {}",
                    entry.id,
                    list.join("\n  ")
                ),
                "use another backup (`ferry backup list`)",
            ));
        }
    };
    if manifest.engine != url.kind() {
        return Err(Error::refusal(
            format!(
                "backup {} holds a {} database, but the target database is {}; nothing was {done}",
                entry.id,
                manifest.engine.name(),
                url.kind().name()
            ),
            "use it with a database of the same engine",
        ));
    }
    Ok(manifest)
}
