//! The backup archive: a tar stream compressed with zstd (multithreaded,
//! with frame checksums), holding the database dump, the config files and,
//! last, `manifest.json` with each member's path, mode, size and SHA-256.
//! The manifest comes last so every member is hashed while it is written:
//! the dump is read once.

use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::url::EngineKind;

/// The manifest's name inside the archive.
pub const MANIFEST: &str = "manifest.json";

/// One member of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Path inside the archive: `database/...` or `files/<project-relative path>`.
    pub path: String,
    /// Unix permission bits of the original.
    pub mode: u32,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// How the database is stored in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpFormat {
    /// A consistent copy of the SQLite file (online backup API).
    SqliteFile,
    /// `pg_dump --format=custom`.
    PgCustom,
    /// `mariadb-dump` SQL.
    MysqlSql,
}

/// What the archive holds, written last inside it and beside it as `<id>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    /// Format of this manifest.
    pub format: u32,
    /// The backup's id.
    pub id: String,
    /// ferry's version.
    pub ferry_version: String,
    /// The application's name.
    pub project: Option<String>,
    /// The label given at creation.
    pub label: Option<String>,
    /// When it was made, UTC, ISO 8601.
    pub created_at: String,
    /// The installed release, when known.
    pub release: Option<String>,
    /// The database's newest migration.
    pub schema: Option<u64>,
    /// The engine.
    pub engine: EngineKind,
    /// The server's version.
    pub server_version: String,
    /// The member holding the database, and its format.
    pub database: String,
    /// Its format.
    pub dump_format: DumpFormat,
    /// Every member but the manifest.
    pub members: Vec<Member>,
    /// `[backup] files` patterns that matched nothing when it was made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// The largest part of a streamed member (see [`ArchiveWriter::add_stream`]).
pub const PART: usize = 4 << 20;

/// [`PART`], or in debug builds `FERRY_TEST_ARCHIVE_PART` bytes: how the
/// tests stream small dumps in many parts. Release builds ignore it.
fn part_size() -> usize {
    #[cfg(debug_assertions)]
    if let Some(n) = std::env::var("FERRY_TEST_ARCHIVE_PART")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    PART
}

/// The newest manifest format this ferry reads: 2 has members streamed in
/// parts, which a reader of format 1 would take for unknown members.
pub const FORMAT: u32 = 2;

/// Which part of the streamed member `name` the member `path` is: 1 for
/// `name` itself, n for `name.n` (n >= 2).
pub fn part_of(name: &str, path: &str) -> Option<usize> {
    if path == name {
        return Some(1);
    }
    let n: usize = path.strip_prefix(name)?.strip_prefix('.')?.parse().ok()?;
    (n >= 2 && path == format!("{name}.{n}")).then_some(n)
}

/// SHA-256 computed on a thread of its own, so that hashing overlaps with
/// compression, decompression and disk writes instead of adding to them.
/// Bytes are batched into 1 MiB chunks before they cross the channel.
pub(crate) struct ParallelHasher {
    pending: Vec<u8>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    /// Chunks the worker has hashed, to fill again: a fresh 1 MiB buffer
    /// costs 256 page faults, which showed in profiles of a backup.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    worker: Option<std::thread::JoinHandle<[u8; 32]>>,
    size: u64,
}

const CHUNK: usize = 1 << 20;

impl ParallelHasher {
    pub(crate) fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        let (spare_tx, spare) = std::sync::mpsc::sync_channel::<Vec<u8>>(10);
        let worker = std::thread::spawn(move || {
            let mut h = Sha256::new();
            for mut chunk in rx {
                h.update(&chunk);
                chunk.clear();
                let _ = spare_tx.try_send(chunk);
            }
            h.finalize().into()
        });
        ParallelHasher {
            pending: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            spare,
            worker: Some(worker),
            size: 0,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.size += data.len() as u64;
        self.pending.extend_from_slice(data);
        if self.pending.len() >= CHUNK {
            self.send();
        }
    }

    fn send(&mut self) {
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.pending, next);
        if let Some(tx) = &self.tx {
            let _ = tx.send(chunk);
        }
    }

    /// The digest in hex, and the number of bytes hashed.
    pub(crate) fn finish(mut self) -> (String, u64) {
        if !self.pending.is_empty() {
            self.send();
        }
        drop(self.tx.take());
        let digest = self
            .worker
            .take()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .unwrap_or_default();
        (hex::encode(digest), self.size)
    }
}

/// A reader that hashes (or, without a hasher, only counts) what passes
/// through it, and remembers whether reading itself failed (damage) as
/// opposed to its consumer.
struct Hashing<R> {
    inner: R,
    hasher: Option<ParallelHasher>,
    size: u64,
    read_error: Option<String>,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Self::with(inner, true)
    }

    fn with(inner: R, hash: bool) -> Self {
        Hashing {
            inner,
            hasher: hash.then(ParallelHasher::new),
            size: 0,
            read_error: None,
        }
    }

    /// The digest in hex (empty when not hashing), and the bytes read.
    fn finish(&mut self) -> (String, u64) {
        match self.hasher.take() {
            Some(h) => h.finish(),
            None => (String::new(), self.size),
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .inspect_err(|e| self.read_error = Some(e.to_string()))?;
        self.size += n as u64;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: ParallelHasher,
}

impl<W: io::Write> io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes an archive.
pub struct ArchiveWriter {
    builder: tar::Builder<zstd::Encoder<'static, HashingWriter<BufWriter<File>>>>,
    members: Vec<Member>,
    path: std::path::PathBuf,
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::io("cannot write", path, e)
}

impl ArchiveWriter {
    /// Starts an archive at `path` (created 0600).
    pub fn create(path: &Path, level: i32) -> Result<Self> {
        let file = super::store::create_private(path)?;
        let sink = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: ParallelHasher::new(),
        };
        let mut encoder = zstd::Encoder::new(sink, level).map_err(io_err(path))?;
        encoder.include_checksum(true).map_err(io_err(path))?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        if threads > 1 {
            encoder.multithread(threads).map_err(io_err(path))?;
        }
        let mut builder = tar::Builder::new(encoder);
        builder.mode(tar::HeaderMode::Deterministic);
        Ok(ArchiveWriter {
            builder,
            members: Vec::new(),
            path: path.to_owned(),
        })
    }

    /// Adds the file at `source` as `name`, hashing it on the way.
    pub fn add_file(&mut self, name: &str, source: &Path, mode: u32) -> Result<()> {
        let file = File::open(source).map_err(|e| Error::io("cannot read", source, e))?;
        let size = file.metadata().map_err(|e| Error::io("cannot read", source, e))?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        let mut reader = Hashing::new(io::BufReader::with_capacity(1 << 20, file));
        self.builder
            .append_data(&mut header, name, &mut reader)
            .map_err(io_err(&self.path))?;
        let (sha256, read) = reader.finish();
        if read != size {
            return Err(Error::io(
                "cannot read",
                source,
                io::Error::other(format!(
                    "the file changed size while it was archived ({size} then {read} bytes)"
                )),
            ));
        }
        self.members.push(Member {
            path: name.to_owned(),
            mode,
            size,
            sha256,
        });
        Ok(())
    }

    /// Adds what `source` yields, of a size not known beforehand (a dump
    /// tool's standard output), as `name`. A tar header carries its member's
    /// size, so the stream goes in parts of at most [`PART`] bytes held in
    /// memory: the first is `name`, the next `name.2`, `name.3`, ... (see
    /// [`part_of`]). A thread reads the source while the previous part is
    /// compressed, so the tool never waits on ferry. Returns the number of
    /// parts.
    pub fn add_stream(&mut self, name: &str, source: impl Read + Send + 'static, mode: u32) -> Result<usize> {
        let limit = part_size();
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
        // Parts compressed go back to the reader to be filled again: a
        // fresh 4 MiB buffer costs 1,024 page faults.
        let (spare_tx, spare) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let reader = std::thread::spawn(move || {
            let mut source = source;
            loop {
                let mut part = spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(limit));
                part.clear();
                match (&mut source).take(limit as u64).read_to_end(&mut part) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(Ok(part)).is_err() || n < limit {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let mut index = 0usize;
        let mut failed = None;
        for part in rx.iter() {
            let part = match part {
                Ok(p) => p,
                Err(e) => {
                    failed = Some(Error::io("cannot read the dump for", &self.path, e));
                    break;
                }
            };
            index += 1;
            let member = if index == 1 {
                name.to_owned()
            } else {
                format!("{name}.{index}")
            };
            if let Err(e) = self.add_bytes(&member, &part, mode) {
                failed = Some(e);
                break;
            }
            if index == 2 {
                crate::crash::point("FERRY_TEST_CRASH_RESTORE", "create-after-part-2");
            }
            let _ = spare_tx.try_send(part);
        }
        drop(rx);
        let _ = reader.join();
        match failed {
            Some(e) => Err(e),
            None if index == 0 => self.add_bytes(name, &[], mode).map(|_| 1),
            None => Ok(index),
        }
    }

    fn add_bytes(&mut self, name: &str, data: &[u8], mode: u32) -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        let mut reader = Hashing::new(data);
        self.builder
            .append_data(&mut header, name, &mut reader)
            .map_err(io_err(&self.path))?;
        let (sha256, size) = reader.finish();
        self.members.push(Member {
            path: name.to_owned(),
            mode,
            size,
            sha256,
        });
        Ok(())
    }

    /// Writes the manifest (with the members added), finishes the
    /// compression and syncs the file to disk. Returns the manifest, and the
    /// archive's size and SHA-256.
    pub fn finish(mut self, mut manifest: BackupManifest) -> Result<(BackupManifest, u64, String)> {
        manifest.members = std::mem::take(&mut self.members);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::io("cannot write", &self.path, e.into()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        self.builder
            .append_data(&mut header, MANIFEST, json.as_slice())
            .map_err(io_err(&self.path))?;
        let encoder = self.builder.into_inner().map_err(io_err(&self.path))?;
        let hashed = encoder.finish().map_err(io_err(&self.path))?;
        let (sha256, size) = hashed.hasher.finish();
        let file = hashed
            .inner
            .into_inner()
            .map_err(|e| io_err(&self.path)(e.into_error()))?;
        file.sync_all().map_err(io_err(&self.path))?;
        Ok((manifest, size, sha256))
    }
}

/// A finding about one member of an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// The member affected (or the place in the archive).
    pub member: String,
    /// What is wrong.
    pub problem: String,
}

/// Checks a member path: relative, no `..`, not absolute.
pub(crate) fn safe_member_path(name: &str) -> bool {
    let p = Path::new(name);
    !name.is_empty()
        && !p.is_absolute()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// What reading an archive found.
#[derive(Debug)]
pub struct Contents {
    /// The manifest, when it could be read.
    pub manifest: Option<BackupManifest>,
    /// What is wrong.
    pub damage: Vec<Damage>,
    /// SHA-256 of the archive file itself.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Reads every member of the archive at `path` in order, handing each
/// (after the safety checks) to `sink` as a reader, and checks sizes and,
/// with `hash_members`, checksums against the manifest. The archive file's
/// own SHA-256 is taken in the same pass.
///
/// Without `hash_members`, a member's content is covered by the archive's
/// SHA-256 (compared by the caller with the one recorded when the archive
/// was written, and its members hashed) and by zstd's frame checksum: an
/// archive whose SHA-256 matches holds exactly the members hashed then.
pub fn read(
    path: &Path,
    hash_members: bool,
    mut sink: impl FnMut(&Member, &mut dyn Read) -> Result<()>,
) -> Result<Contents> {
    let file = File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let raw = io::BufReader::with_capacity(1 << 20, Hashing::new(file));
    let decoder = zstd::Decoder::with_buffer(raw).map_err(|e| Error::io("cannot read", path, e))?;
    let mut archive = tar::Archive::new(decoder);
    let mut seen: Vec<Member> = Vec::new();
    let mut manifest: Option<BackupManifest> = None;
    let mut damage = Vec::new();
    let mut last = "the start of the archive".to_owned();
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            return Ok(Contents {
                manifest: None,
                damage: vec![Damage {
                    member: last,
                    problem: e.to_string(),
                }],
                sha256: String::new(),
                size: 0,
            });
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                damage.push(Damage {
                    member: format!("after {last}"),
                    problem: format!("the archive is damaged: {e}"),
                });
                break;
            }
        };
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            damage.push(Damage {
                member: name.clone(),
                problem: format!("not a regular file ({kind:?}): links and devices are refused"),
            });
            last = name;
            continue;
        }
        if !safe_member_path(&name) {
            damage.push(Damage {
                member: name.clone(),
                problem: "its path leaves the project (absolute, or with `..`): refused".to_owned(),
            });
            last = name;
            continue;
        }
        let mode = entry.header().mode().unwrap_or(0o600);
        if seen.iter().any(|m| m.path == name) || (name == MANIFEST && manifest.is_some()) {
            damage.push(Damage {
                member: name.clone(),
                problem: "appears twice in the archive: refused".to_owned(),
            });
            last = name;
            continue;
        }
        if mode & 0o7000 != 0 {
            damage.push(Damage {
                member: name.clone(),
                problem: format!(
                    "mode {mode:04o} has setuid, setgid or sticky bits, which ferry never archives: refused"
                ),
            });
            last = name;
            continue;
        }
        if name == MANIFEST {
            let mut text = Vec::new();
            match entry.read_to_end(&mut text) {
                Ok(_) => match serde_json::from_slice::<BackupManifest>(&text) {
                    Ok(m) => manifest = Some(m),
                    Err(e) => damage.push(Damage {
                        member: name.clone(),
                        problem: format!("unreadable manifest: {e}"),
                    }),
                },
                Err(e) => damage.push(Damage {
                    member: name.clone(),
                    problem: format!("the archive is damaged: {e}"),
                }),
            }
            last = name;
            continue;
        }
        let mut reader = Hashing::with(&mut entry, hash_members);
        let member = Member {
            path: name.clone(),
            mode,
            size: 0,
            sha256: String::new(),
        };
        if let Err(e) = sink(&member, &mut reader) {
            match reader.read_error.take() {
                Some(read) => {
                    damage.push(Damage {
                        member: name.clone(),
                        problem: format!("the archive is damaged: {read}"),
                    });
                    break;
                }
                None => return Err(e),
            }
        }
        // Drain what the sink did not read, so the checksum covers it all.
        if let Err(e) = io::copy(&mut reader, &mut io::sink()) {
            damage.push(Damage {
                member: name.clone(),
                problem: format!("the archive is damaged: {e}"),
            });
            break;
        }
        let (sha256, size) = reader.finish();
        seen.push(Member {
            path: name.clone(),
            mode,
            size,
            sha256,
        });
        last = name;
    }
    // Tar stops reading at its end marker; read the compressed stream to
    // its end too, so zstd checks the frame checksum that closes it: with
    // each member's SHA-256, that covers every byte of the archive.
    let mut rest = archive.into_inner();
    if damage.is_empty()
        && let Err(e) = io::copy(&mut rest, &mut io::sink())
    {
        damage.push(Damage {
            member: format!("after {last}"),
            problem: format!("the end of the archive is damaged: {e}"),
        });
    }
    // And the file to its last byte, for its own SHA-256.
    let mut raw = rest.finish();
    let trailing = io::copy(&mut raw, &mut io::sink()).unwrap_or(0);
    if trailing > 0 && damage.is_empty() {
        damage.push(Damage {
            member: "the end of the archive".to_owned(),
            problem: format!("{trailing} bytes follow the compressed stream"),
        });
    }
    let (sha256, size) = raw.into_inner().finish();

    match &manifest {
        None if damage.is_empty() => damage.push(Damage {
            member: MANIFEST.to_owned(),
            problem: "missing: the archive is truncated or was not made by ferry".to_owned(),
        }),
        None => {}
        Some(m) => {
            for want in &m.members {
                match seen.iter().find(|s| s.path == want.path) {
                    None => {
                        if !damage.iter().any(|d| d.member.contains(&want.path)) {
                            damage.push(Damage {
                                member: want.path.clone(),
                                problem: "missing from the archive".to_owned(),
                            });
                        }
                    }
                    Some(got) if got.size != want.size => damage.push(Damage {
                        member: want.path.clone(),
                        problem: format!("size {} differs from the manifest's {}", got.size, want.size),
                    }),
                    Some(got) if hash_members && got.sha256 != want.sha256 => damage.push(Damage {
                        member: want.path.clone(),
                        problem: "checksum differs from the manifest: the content is damaged".to_owned(),
                    }),
                    Some(_) => {}
                }
            }
            for got in &seen {
                if !m.members.iter().any(|w| w.path == got.path) {
                    damage.push(Damage {
                        member: got.path.clone(),
                        problem: "not listed in the manifest".to_owned(),
                    });
                }
            }
        }
    }
    Ok(Contents {
        manifest,
        damage,
        sha256,
        size,
    })
}

/// Copies `reader` into a new private file at `dest`.
pub(crate) fn extract_to(reader: &mut dyn Read, dest: &Path) -> Result<()> {
    let file = super::store::create_private(dest)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    io::copy(reader, &mut w).map_err(|e| Error::io("cannot extract to", dest, e))?;
    let file = w
        .into_inner()
        .map_err(|e| Error::io("cannot write", dest, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("cannot write", dest, e))?;
    Ok(())
}
