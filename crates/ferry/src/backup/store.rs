//! The backup folder: `<id>.tar.zst` archives (0600) in a 0700 folder, each
//! with `<id>.json` (the manifest and when it last verified) and
//! `<id>.tar.zst.sha256` (for `sha256sum -c`). Files are written under a
//! temporary name, synced, then renamed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
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
}

/// Creates a new file readable by its owner only, whatever the umask.
pub(crate) fn create_private(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("cannot create", path, e))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("cannot set permissions of", path, e))?;
    Ok(file)
}

/// Writes `bytes` to `path` atomically (temporary file, rename), 0600;
/// synced first when `durable`.
pub(crate) fn write_private(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = create_private(&tmp)?;
    f.write_all(bytes).map_err(|e| Error::io("cannot write", &tmp, e))?;
    if durable {
        f.sync_all().map_err(|e| Error::io("cannot write", &tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io("cannot rename to", path, e))
}

/// Syncs a folder so a rename in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot sync folder", dir, e))
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
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io("cannot create", &self.dir, e))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("cannot set permissions of", &self.dir, e))
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

    /// Reads the sidecar at `path`; `None` when it is not a backup description.
    fn read_sidecar(&self, id: &str, path: &Path) -> Result<Option<Entry>> {
        let text = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
        let Ok(sidecar) = serde_json::from_slice::<Sidecar>(&text) else {
            tracing::warn!("{}: not a backup description, skipped", path.display());
            return Ok(None);
        };
        Ok(Some(Entry {
            id: id.to_owned(),
            archive: self.archive(id),
            sidecar,
        }))
    }

    /// Every backup, oldest first.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("cannot read folder", &self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| Error::io("cannot read folder", &self.dir, e))?.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            out.extend(self.read_sidecar(id, &path)?);
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
        let path = self.sidecar_path(id);
        if !path.is_file() {
            return Err(missing());
        }
        self.read_sidecar(id, &path)?.ok_or_else(missing)
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
