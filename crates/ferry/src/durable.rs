//! Durable, private writes: the one place where ferry creates its folders
//! and files, so that config migrations, backups and the upgrade journal
//! keep the same guarantees.
//!
//! - Folders ferry creates are 0700 and files 0600, whatever the umask.
//! - A file is replaced by writing a new one beside it, syncing it and
//!   renaming it over the old one; then the folder is synced, and an error
//!   there is reported, not ignored (a rename that is not on disk has not
//!   happened).
//! - Errors name the path.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Creates `dir` and every missing folder above it with mode 0700, and
/// makes `dir` itself 0700 if it already existed. Folders that were already
/// there above it keep their modes.
pub fn private_dir(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(p) = cur {
        if p.as_os_str().is_empty() || p.is_dir() {
            break;
        }
        missing.push(p);
        cur = p.parent();
    }
    for p in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(0o700).create(p) {
            Ok(()) => {}
            // Another process made it in the meantime.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => {}
            Err(e) => return Err(Error::io("cannot create", p, e)),
        }
        // The umask may have taken bits away; put exactly 0700.
        fs::set_permissions(p, fs::Permissions::from_mode(0o700)).map_err(|e| Error::io("cannot protect", p, e))?;
    }
    let mode = fs::metadata(dir).map_err(|e| Error::io("cannot read", dir, e))?.mode() & 0o7777;
    if mode != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| Error::io("cannot protect", dir, e))?;
    }
    Ok(())
}

/// Creates a new file readable by its owner only, whatever the umask.
/// Fails if it exists.
pub fn create_private(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("cannot create", path, e))?;
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("cannot set permissions of", path, e))?;
    Ok(file)
}

/// Opens (creating it 0600 if needed) a file used only for its lock.
pub fn lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("cannot open", path, e))
}

/// Writes `bytes` to `path` atomically: a private temporary file beside it,
/// renamed over it. When `durable`, the file is synced before the rename
/// and the folder after it.
pub fn write_private(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let dir = parent(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".ferry-")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| Error::io("cannot write in", dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io("cannot write", path, e))?;
    // 0600 whatever the umask.
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("cannot set permissions of", path, e))?;
    if durable {
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io("cannot write", path, e))?;
    }
    tmp.persist(path)
        .map_err(|e| Error::io("cannot write", path, e.error))?;
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Writes `bytes` into a new file beside `path`, with permission bits
/// `mode` (setuid, setgid and sticky bits are dropped) and, when given and
/// different from the new file's, the owner `owner`; syncs it. The caller
/// renames it over `path` with [`tempfile::NamedTempFile::persist`], or
/// drops it to throw it away.
pub fn stage_replacement(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<tempfile::NamedTempFile> {
    let dir = parent(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".ferry-")
        .tempfile_in(dir)
        .map_err(|e| Error::io("cannot write in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().set_permissions(fs::Permissions::from_mode(mode & 0o777)))
        .map_err(|e| Error::io("cannot write", tmp.path(), e))?;
    if let Some((uid, gid)) = owner {
        let meta = tmp
            .as_file()
            .metadata()
            .map_err(|e| Error::io("cannot inspect", tmp.path(), e))?;
        if (meta.uid(), meta.gid()) != (uid, gid) {
            std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid)).map_err(|e| {
                Error::refusal(
                    format!(
                        "cannot give the new {} its owner back ({uid}:{gid}): {e}",
                        path.display()
                    ),
                    "run ferry as the user that owns the file, or as root",
                )
            })?;
            // chown may clear the permission bits; put them back.
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(mode & 0o777))
                .map_err(|e| Error::io("cannot write", tmp.path(), e))?;
        }
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("cannot write", tmp.path(), e))?;
    Ok(tmp)
}

/// Replaces `path` with `bytes` (see [`stage_replacement`]) and syncs the folder.
pub fn replace(path: &Path, bytes: &[u8], mode: u32, owner: Option<(u32, u32)>) -> Result<()> {
    stage_replacement(path, bytes, mode, owner)?
        .persist(path)
        .map_err(|e| Error::io("cannot write", path, e.error))?;
    sync_dir(parent(path))
}

/// Syncs a folder so that a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot sync folder", dir, e))
}

/// Appends `bytes` to an open file and syncs its data before returning.
pub fn append_synced(file: &mut File, path: &Path, bytes: &[u8]) -> Result<()> {
    file.write_all(bytes)
        .and_then(|_| file.sync_data())
        .map_err(|e| Error::io("cannot write", path, e))
}

/// The folder holding `path` (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_files_are_private_whatever_the_umask() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        private_dir(&deep).unwrap();
        for p in [tmp.path().join("a"), tmp.path().join("a/b"), deep.clone()] {
            assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o700, "{}", p.display());
        }
        // An existing folder given by name is made private; its parents are left alone.
        fs::set_permissions(tmp.path().join("a"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&deep, fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&deep).unwrap();
        assert_eq!(fs::metadata(&deep).unwrap().mode() & 0o777, 0o700);
        assert_eq!(fs::metadata(tmp.path().join("a")).unwrap().mode() & 0o777, 0o755);
        let f = deep.join("f");
        write_private(&f, b"one", true).unwrap();
        write_private(&f, b"two", false).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"two");
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn replacements_keep_permission_bits_only() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        fs::write(&f, "old").unwrap();
        replace(&f, b"new", 0o4755, None).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"new");
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, 0o755, "setuid is dropped");
        // A staged replacement that is dropped leaves nothing behind.
        drop(stage_replacement(&f, b"x", 0o644, None).unwrap());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
