//! `ferry backup verify`: every member's checksum, the archive's own
//! checksum against its `.sha256` file and sidecar, the sidecar against the
//! manifest inside the archive, and a full read of the dump.

use std::path::Path;

use serde::Serialize;

use super::archive::{self, BackupManifest, Damage};
use super::work::Work;
use super::{Entry, FILES_PREFIX, Store, dump, now_text};
use crate::error::{Error, Result};
use crate::url::DatabaseUrl;

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

/// What [`unpack`] does with the archive's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unpack {
    /// Extract the dump to `work/dump` and the files under `work/files/`,
    /// synced, for a restore.
    Extract,
    /// Only read: the dump streams into its engine's full read (see
    /// [`dump::ReadBack`]), nothing is kept. Members are not hashed one by
    /// one: the archive's SHA-256 covers them (see [`archive::read`]).
    Check,
    /// As [`Unpack::Check`], hashing every member too: what names the
    /// damaged members of an archive whose SHA-256 is not the recorded one.
    CheckMembers,
}

/// Reads the archive in full, checking every checksum and the archive
/// against what its sidecars say, and reads the dump back in full. With
/// [`Unpack::Extract`], the dump is extracted to `work/dump` (its parts, if
/// it was streamed in parts, joined in order) and the files under
/// `work/files/`.
pub(crate) fn unpack(
    store: &Store,
    entry: &Entry,
    work: &Path,
    mode: Unpack,
) -> Result<(Option<BackupManifest>, Vec<Damage>)> {
    let db_member = entry.sidecar.manifest.database.clone();
    let dump_path = work.join("dump");
    let mut check = match mode {
        Unpack::Check | Unpack::CheckMembers => {
            Some(dump::ReadBack::start(entry.sidecar.manifest.dump_format, &dump_path)?)
        }
        Unpack::Extract => None,
    };
    let mut dump_file: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut next_part = 1;
    let contents = archive::read(&entry.archive, mode != Unpack::Check, |member, reader| {
        if let Some(part) = archive::part_of(&db_member, &member.path) {
            if part != next_part {
                return Err(Error::refusal(
                    format!(
                        "backup {}: {} comes where part {next_part} of {db_member} should: the archive is damaged",
                        entry.id, member.path
                    ),
                    "use another backup (`ferry backup list`)",
                ));
            }
            next_part += 1;
            let io = |e| Error::io("cannot extract to", &dump_path, e);
            return match &mut check {
                Some(check) => copy(reader, check).map_err(io),
                None => {
                    if dump_file.is_none() {
                        let f = super::store::create_private(&dump_path)?;
                        dump_file = Some(std::io::BufWriter::with_capacity(1 << 20, f));
                    }
                    let w = dump_file.as_mut().expect("opened");
                    copy(reader, w).map_err(io)
                }
            };
        }
        let Some(rel) = member.path.strip_prefix(FILES_PREFIX) else {
            return Ok(());
        };
        if mode != Unpack::Extract {
            return Ok(());
        }
        let dest = work.join("files").join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        archive::extract_to(reader, &dest)
    })?;
    if let Some(w) = dump_file {
        let file = w
            .into_inner()
            .map_err(|e| Error::io("cannot write", &dump_path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io("cannot write", &dump_path, e))?;
    }
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
        && m.format > archive::FORMAT
    {
        damage.push(Damage {
            member: archive::MANIFEST.to_owned(),
            problem: format!(
                "made by a newer ferry ({}; format {}, this ferry reads up to {}): upgrade ferry to read it",
                m.ferry_version,
                m.format,
                archive::FORMAT
            ),
        });
    }
    // The full read of the dump: done while the archive streamed past, or
    // now on the extracted file. Its verdict counts only when every
    // checksum held (a damaged archive's dump fails for that reason).
    let read = match check {
        Some(check) => check.finish(manifest.is_some() && damage.is_empty())?,
        None if manifest.is_some() && damage.is_empty() => {
            dump::read_back(manifest.as_ref().expect("some").dump_format, &dump_path)?
        }
        None => None,
    };
    if let Some(m) = &manifest
        && damage.is_empty()
        && let Some(problem) = read
    {
        damage.push(Damage {
            member: m.database.clone(),
            problem,
        });
    }
    Ok((manifest, damage))
}

/// `io::copy` with 256 KiB at a time instead of 8 KiB: a 32nd of the
/// system calls on a pipe into `pg_restore`.
fn copy(from: &mut dyn std::io::Read, to: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 256 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => to.write_all(&buf[..n])?,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// Verifies a backup: every member's checksum, and a full read of the dump.
pub fn verify(store: &Store, entry: &Entry) -> Result<Verification> {
    let work = Work::new(store)?;
    let (_, mut damage) = unpack(store, entry, work.path(), Unpack::Check)?;
    if !damage.is_empty() {
        // Read again, member by member, to name everything that is damaged.
        drop(work);
        let work = Work::new(store)?;
        damage = unpack(store, entry, work.path(), Unpack::CheckMembers)?.1;
    }
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
    let manifest = extracted(store, entry, work, done)?;
    if manifest.engine != url.kind() {
        return Err(Error::refusal(
            format!(
                "backup {} holds a {} database, but the target database is {}; nothing was {done}",
                entry.id,
                manifest.engine.name(),
                url.kind().name()
            ),
            "use it with a database of the same engine, or move it into this one with --transfer",
        ));
    }
    Ok(manifest)
}

/// Unpacks `entry` into `work` (the dump at `work/dump`) and returns its
/// manifest, refusing a damaged backup; `done` says what did not happen.
pub(crate) fn extracted(store: &Store, entry: &Entry, work: &Path, done: &str) -> Result<BackupManifest> {
    let (manifest, damage) = unpack(store, entry, work, Unpack::Extract)?;
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
    Ok(manifest)
}
