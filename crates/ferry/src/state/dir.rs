//! The run state as files in a folder (`[state] dir`, and every project's
//! `.ferry/` before the state moved into the database): each document a
//! file named by its path (0600, in 0700 folders), each run a folder
//! `runs/<id>/` with `run.json` and `journal.jsonl`, one record per line,
//! appended and synced before the step it announces starts. `.lock` is held
//! by the process working on a run or a config migration.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{RunMark, RunRecord, Store};
use crate::durable;
use crate::error::{Error, Result};

const RUNS: &str = "runs";
const INFO: &str = "run.json";
const JOURNAL: &str = "journal.jsonl";

/// Run state in a folder.
#[derive(Debug)]
pub struct DirStore {
    root: PathBuf,
    lock: Option<File>,
}

impl DirStore {
    /// The state in `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirStore {
            root: root.into(),
            lock: None,
        }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Every folder from the root down to `path`'s, made private.
    fn dirs_for(&self, path: &Path) -> Result<()> {
        let parent = durable::parent(path);
        let mut ancestors: Vec<&Path> = parent.ancestors().take_while(|p| p.starts_with(&self.root)).collect();
        ancestors.reverse();
        for dir in ancestors {
            durable::private_dir(dir)?;
        }
        Ok(())
    }
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("cannot read folder", dir, e)),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            walk(&path, root, out)?;
        } else if kind.is_file()
            && let Ok(rel) = path.strip_prefix(root)
            && let Some(name) = rel.to_str()
            && !name.ends_with(".lock")
        {
            out.push(name.to_owned());
        }
    }
    Ok(())
}

impl Store for DirStore {
    fn place(&self) -> String {
        self.root.display().to_string()
    }

    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("cannot read", &path, e)),
        }
    }

    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(name);
        self.dirs_for(&path)?;
        durable::write_private(&path, bytes, true)
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let start = self.path(prefix.trim_end_matches('/'));
        if start.is_dir() {
            walk(&start, &self.root, &mut out)?;
        }
        out.retain(|n| n.starts_with(prefix));
        out.sort();
        Ok(out)
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        let path = self.path(name.trim_end_matches('/'));
        let removed = if name.ends_with('/') {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed {
            Ok(()) => durable::sync_dir(durable::parent(&path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("cannot remove", &path, e)),
        }
    }

    fn create_run(&mut self, mark: &RunMark, info: &[u8]) -> Result<()> {
        let runs = self.root.join(RUNS);
        let dir = runs.join(&mark.id);
        durable::private_dir(&self.root)?;
        durable::private_dir(&runs)?;
        durable::private_dir(&dir)?;
        durable::write_private(&dir.join(INFO), info, true)?;
        drop(durable::create_private(&dir.join(JOURNAL))?);
        durable::sync_dir(&dir)?;
        durable::sync_dir(&runs)
    }

    fn append(&mut self, mark: &RunMark, _seq: u64, line: &[u8]) -> Result<()> {
        let path = self.root.join(RUNS).join(&mark.id).join(JOURNAL);
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open", &path, e))?;
        let mut bytes = line.to_vec();
        bytes.push(b'\n');
        durable::append_synced(&mut file, &path, &bytes)
    }

    fn runs(&mut self) -> Result<Vec<String>> {
        let runs = self.root.join(RUNS);
        let entries = match fs::read_dir(&runs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("cannot read folder", &runs, e)),
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().join(INFO).is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn run(&mut self, id: &str) -> Result<Option<RunRecord>> {
        let dir = self.root.join(RUNS).join(id);
        let info_path = dir.join(INFO);
        let info = match fs::read(&info_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read", &info_path, e)),
        };
        let path = dir.join(JOURNAL);
        let text = fs::read(&path).map_err(|e| Error::io("cannot read", &path, e))?;
        let lines = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        Ok(Some((info, lines)))
    }

    fn lock(&mut self, timeout: Duration) -> Result<()> {
        if self.lock.is_some() {
            return Ok(());
        }
        durable::private_dir(&self.root)?;
        let path = self.root.join(".lock");
        let file = durable::lock_file(&path)?;
        let start = Instant::now();
        let mut wait = Duration::from_millis(10);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    self.lock = Some(file);
                    return Ok(());
                }
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => return Err(Error::io("cannot lock", &path, e)),
            }
            if start.elapsed() >= timeout {
                return Err(Error::refusal(
                    format!(
                        "another ferry process is working on this project's upgrade or config files; gave up waiting after {}",
                        humantime::format_duration(Duration::from_secs(start.elapsed().as_secs()))
                    ),
                    "wait for it to finish (`ferry status` shows it), or raise --lock-timeout",
                ));
            }
            std::thread::sleep(wait.min(timeout.saturating_sub(start.elapsed())));
            wait = (wait * 2).min(Duration::from_millis(200));
        }
    }

    fn unlock(&mut self) {
        self.lock = None;
    }

    fn locked_elsewhere(&mut self) -> bool {
        if self.lock.is_some() {
            return false;
        }
        let Ok(file) = File::open(self.root.join(".lock")) else {
            return false;
        };
        matches!(file.try_lock(), Err(fs::TryLockError::WouldBlock))
    }

    fn run_place(&self, id: &str) -> String {
        self.root.join(RUNS).join(id).display().to_string()
    }

    fn is_dir(&self) -> bool {
        true
    }
}
