//! The backup folder: `<id>.tar.zst` archives (0600) in a 0700 folder, each
//! with `<id>.json` (the manifest and when it last verified) and
//! `<id>.tar.zst.sha256` (for `sha256sum -c`). Files are written under a
//! temporary name, synced, then renamed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backup::archive::BackupManifest;
use crate::error::{Error, Result};

/// `<id>.json` beside an archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sidecar {
    /// The manifest, as inside the archive.
    pub manifest: BackupManifest,
    /// The archive's size in bytes.
    pub size: u64,
    /// SHA-256 of the whole archive.
    pub sha256: String,
    /// When `ferry backup verify` last passed, UTC.
    pub verified_at: Option<String>,
}

/// One backup in the folder.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Its id.
    pub id: String,
    /// The archive.
    pub archive: PathBuf,
    /// What the sidecar says.
    #[serde(flatten)]
    pub sidecar: Sidecar,
    /// What is wrong with the sidecar (rebuilt from the archive, or not
    /// matching it); empty when nothing is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

pub(crate) use crate::durable::{create_private, sync_dir, write_private};

/// A manifest standing in for one that cannot be read.
fn placeholder(id: &str) -> BackupManifest {
    BackupManifest {
        format: 1,
        id: id.to_owned(),
        ferry_version: String::new(),
        project: None,
        label: None,
        created_at: String::new(),
        release: None,
        schema: None,
        engine: crate::url::EngineKind::Sqlite,
        server_version: String::new(),
        database: String::new(),
        dump_format: super::archive::DumpFormat::SqliteFile,
        members: Vec::new(),
        missing: Vec::new(),
    }
}

/// The backup folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The folder at `dir` (not created until a backup is made).
    pub fn new(dir: &Path) -> Self {
        Store { dir: dir.to_owned() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the folder if needed and makes it 0700.
    pub fn ensure(&self) -> Result<()> {
        crate::durable::private_dir(&self.dir)
    }

    /// The archive path of `id`.
    pub fn archive(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.tar.zst"))
    }

    fn sidecar_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// A fresh id: the UTC time, and the label's words.
    pub fn new_id(&self, now: jiff::Timestamp, label: Option<&str>) -> String {
        let mut base = now.strftime("%Y%m%dT%H%M%SZ").to_string();
        if let Some(label) = label {
            let slug: String = label
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
                .split('-')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            if !slug.is_empty() {
                base = format!("{base}-{}", &slug[..slug.len().min(40)]);
            }
        }
        let mut id = base.clone();
        let mut n = 2;
        while self.archive(&id).exists() || self.sidecar_path(&id).exists() {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }

    /// Records a finished archive: its sidecar and its `.sha256` line.
    pub fn record(&self, sidecar: &Sidecar) -> Result<()> {
        let id = &sidecar.manifest.id;
        let json = serde_json::to_vec_pretty(sidecar)
            .map_err(|e| Error::io("cannot write", self.sidecar_path(id), e.into()))?;
        write_private(&self.sidecar_path(id), &json, true)?;
        let line = format!("{}  {id}.tar.zst\n", sidecar.sha256);
        write_private(&self.dir.join(format!("{id}.tar.zst.sha256")), line.as_bytes(), false)?;
        sync_dir(&self.dir)
    }

    /// The SHA-256 that `<id>.tar.zst.sha256` records, if it is readable.
    pub fn recorded_sha256(&self, id: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.join(format!("{id}.tar.zst.sha256"))).ok()?;
        let (sha, name) = text.trim().split_once(char::is_whitespace)?;
        (name.trim() == format!("{id}.tar.zst") && sha.len() == 64).then(|| sha.to_owned())
    }

    /// The entry of `id`: its sidecar when it reads and names this backup;
    /// otherwise rebuilt from the archive's own manifest (and written back),
    /// with the problem noted. `None` when there is no archive.
    fn entry(&self, id: &str) -> Result<Option<Entry>> {
        let archive = self.archive(id);
        let path = self.sidecar_path(id);
        let read = std::fs::read(&path)
            .ok()
            .map(|t| serde_json::from_slice::<Sidecar>(&t).map_err(|e| e.to_string()));
        let problem = match read {
            Some(Ok(sidecar)) if sidecar.manifest.id == id => {
                return Ok(Some(Entry {
                    id: id.to_owned(),
                    archive,
                    sidecar,
                    problems: Vec::new(),
                }));
            }
            Some(Ok(sidecar)) => format!(
                "{id}.json describes backup {}: rebuilt from the archive",
                sidecar.manifest.id
            ),
            Some(Err(e)) => format!("{id}.json is unreadable ({e}): rebuilt from the archive"),
            None => format!("{id}.json was missing: rebuilt from the archive"),
        };
        if !archive.is_file() {
            if path.is_file() {
                tracing::warn!("{}: no archive beside it, skipped", path.display());
            }
            return Ok(None);
        }
        let contents = super::archive::read(&archive, true, |_, _| Ok(()))?;
        let Some(manifest) = contents.manifest else {
            return Ok(Some(Entry {
                id: id.to_owned(),
                archive,
                sidecar: Sidecar {
                    manifest: placeholder(id),
                    size: contents.size,
                    sha256: contents.sha256,
                    verified_at: None,
                },
                problems: vec![format!(
                    "{problem}; but the archive has no readable manifest: it is damaged"
                )],
            }));
        };
        let mut problems = vec![problem];
        if manifest.id != id {
            problems.push(format!("the archive says it is backup {}", manifest.id));
        }
        let sidecar = Sidecar {
            manifest,
            size: contents.size,
            sha256: contents.sha256,
            verified_at: None,
        };
        if problems.len() == 1 && contents.damage.is_empty() {
            self.record(&sidecar)?;
        }
        Ok(Some(Entry {
            id: id.to_owned(),
            archive,
            sidecar,
            problems,
        }))
    }

    /// Every backup, oldest first: each archive, with its sidecar or one
    /// rebuilt from it.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("cannot read folder", &self.dir, e)),
        };
        let mut ids = std::collections::BTreeSet::new();
        for entry in entries {
            let path = entry.map_err(|e| Error::io("cannot read folder", &self.dir, e))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            if let Some(id) = name.strip_suffix(".tar.zst").or_else(|| name.strip_suffix(".json")) {
                ids.insert(id.to_owned());
            }
        }
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.entry(&id)?);
        }
        out.sort_by(|a, b| {
            a.sidecar
                .manifest
                .created_at
                .cmp(&b.sidecar.manifest.created_at)
                .then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// The backup `id`.
    pub fn get(&self, id: &str) -> Result<Entry> {
        let missing = || {
            Error::refusal(
                format!("no backup {id} in {}", self.dir.display()),
                "list them with `ferry backup list`",
            )
        };
        // Ids are made of letters, digits and `-`: nothing else can name a
        // sidecar, and nothing can reach outside the folder.
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(missing());
        }
        self.entry(id)?.ok_or_else(missing)
    }

    /// Notes that `id` verified now. Not synced: losing the note in a crash
    /// only means the backup shows as not yet verified.
    pub fn mark_verified(&self, entry: &Entry, when: &str) -> Result<()> {
        let mut sidecar = entry.sidecar.clone();
        sidecar.verified_at = Some(when.to_owned());
        let json = serde_json::to_vec_pretty(&sidecar)
            .map_err(|e| Error::io("cannot write", self.sidecar_path(&entry.id), e.into()))?;
        write_private(&self.sidecar_path(&entry.id), &json, false)
    }

    /// Deletes the backup `id` and its sidecars.
    pub fn delete(&self, id: &str) -> Result<()> {
        for path in [
            self.archive(id),
            self.sidecar_path(id),
            self.dir.join(format!("{id}.tar.zst.sha256")),
        ] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot delete", &path, e)),
            }
        }
        sync_dir(&self.dir)
    }
}
