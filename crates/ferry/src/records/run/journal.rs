//! The write-ahead journal of an upgrade run: `.ferry/runs/<id>/` (0700)
//! holding `run.json` (what the run is: versions, hops, options) and
//! `journal.jsonl`, one record per line, appended and synced before the
//! step it announces starts. Both files are 0600. Nothing secret goes in:
//! the database URL is redacted, hook output passes through the redactor.
//!
//! `.ferry/runs/.lock` is held by the process running (or rolling back) a
//! run from its first step to its last: a journal that says "running"
//! while nobody holds the lock belongs to a process that is gone.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::state::{Before, Event, Outcome, Record, StepKind};
use crate::durable;
use crate::error::{Error, Result};

/// What a run is, written once when it starts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunInfo {
    /// The run's id (its folder's name).
    pub id: String,
    /// When it started, UTC.
    pub started_at: String,
    /// ferry's version.
    pub ferry_version: String,
    /// The release installed before it (none: a fresh install).
    pub from: Option<String>,
    /// The target.
    pub to: String,
    /// The hops, in order.
    pub hops: Vec<HopInfo>,
    /// The database, password redacted.
    pub database: String,
    /// How the run was asked to behave.
    pub options: RunOptions,
}

/// One hop, as the run recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HopInfo {
    /// The release installed before the hop.
    pub from: Option<String>,
    /// The release installed after it.
    pub to: String,
    /// The schema head the hop reaches.
    pub schema_after: u64,
    /// Whether the hop has post-deploy migrations (and so that step).
    #[serde(default)]
    pub post_deploy: bool,
}

/// Options that change what a run does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunOptions {
    /// Skip backups the policy only recommends.
    pub no_backup: bool,
    /// Stop at a failure instead of rolling back.
    pub no_rollback: bool,
    /// Checks skipped on the operator's word (written here, so the journal
    /// says which errors were waved through).
    #[serde(default)]
    pub skips: crate::records::check::Skips,
    /// The watch window's duration instead of `[watch] duration`, in
    /// milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_ms: Option<u64>,
    /// No watch window after the last hop.
    #[serde(default)]
    pub no_watch: bool,
    /// Warnings in the watch window fail the run (and roll it back) instead
    /// of asking.
    #[serde(default)]
    pub strict: bool,
}

/// A run's journal, open for appending.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    next_seq: u64,
}

/// The lock that one running ferry upgrade holds over a project's runs.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

const JOURNAL: &str = "journal.jsonl";
const INFO: &str = "run.json";

/// Takes the project's run lock, waiting up to `timeout` for another ferry
/// process that holds it.
pub fn lock(runs: &Path, timeout: Duration) -> Result<RunLock> {
    durable::private_dir(runs)?;
    let path = runs.join(".lock");
    let file = durable::lock_file(&path)?;
    let start = Instant::now();
    let mut wait = Duration::from_millis(10);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(RunLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => return Err(Error::io("cannot lock", &path, e)),
        }
        if start.elapsed() >= timeout {
            let running = latest(runs).ok().flatten().map(|r| r.id).unwrap_or_default();
            return Err(Error::refusal(
                format!(
                    "another ferry process is running an upgrade of this project{}; gave up waiting after {}",
                    if running.is_empty() {
                        String::new()
                    } else {
                        format!(" (run {running})")
                    },
                    humantime::format_duration(Duration::from_secs(start.elapsed().as_secs()))
                ),
                "wait for it to finish (`ferry status` shows it), or raise --lock-timeout",
            ));
        }
        std::thread::sleep(wait.min(timeout.saturating_sub(start.elapsed())));
        wait = (wait * 2).min(Duration::from_millis(200));
    }
}

/// True when some process holds the run lock now.
pub fn is_locked(runs: &Path) -> bool {
    let Ok(file) = File::open(runs.join(".lock")) else {
        return false;
    };
    matches!(file.try_lock(), Err(fs::TryLockError::WouldBlock))
}

impl Journal {
    /// Creates the journal of a new run.
    pub fn create(runs: &Path, info: &RunInfo) -> Result<Self> {
        let dir = runs.join(&info.id);
        durable::private_dir(&dir)?;
        let json = serde_json::to_vec_pretty(info).expect("run info serialises");
        durable::write_private(&dir.join(INFO), &json, true)?;
        let path = dir.join(JOURNAL);
        let file = durable::create_private(&path)?;
        durable::sync_dir(&dir)?;
        durable::sync_dir(runs)?;
        Ok(Journal {
            dir,
            file,
            path,
            next_seq: 1,
        })
    }

    /// Opens the journal of an existing run to append to it.
    pub fn open(runs: &Path, id: &str) -> Result<(Self, RunInfo, Vec<Record>)> {
        let dir = runs.join(id);
        let (info, records) = read(&dir)?;
        let path = dir.join(JOURNAL);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open", &path, e))?;
        let next_seq = records.last().map_or(1, |r| r.seq + 1);
        Ok((
            Journal {
                dir,
                file,
                path,
                next_seq,
            },
            info,
            records,
        ))
    }

    /// The run's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `event` and syncs it to disk before returning: the step it
    /// announces may start only then.
    pub fn append(&mut self, event: Event) -> Result<Record> {
        let record = Record {
            seq: self.next_seq,
            at: jiff::Timestamp::now().to_string(),
            event,
        };
        let mut line = serde_json::to_vec(&record).expect("a journal record serialises");
        line.push(b'\n');
        durable::append_synced(&mut self.file, &self.path, &line)?;
        self.next_seq += 1;
        crate::crash::point("FERRY_TEST_CRASH_AT", record.seq);
        Ok(record)
    }

    /// Appends that a step starts, with what is needed to undo it.
    pub fn started(&mut self, hop: usize, step: StepKind, before: Before) -> Result<Record> {
        self.append(Event::StepStarted { hop, step, before })
    }

    /// Appends that a step ended well; `started` is its start record's seq.
    pub fn done(&mut self, started: u64, hop: usize, step: StepKind, outcome: Outcome) -> Result<Record> {
        crate::crash::point("FERRY_TEST_CRASH_INSIDE", started);
        self.append(Event::StepDone { hop, step, outcome })
    }
}

/// Reads a run's info and records. A last line cut short by a crash is
/// ignored (it was never synced whole, so its step never started).
pub fn read(dir: &Path) -> Result<(RunInfo, Vec<Record>)> {
    let info_path = dir.join(INFO);
    let text = fs::read(&info_path).map_err(|e| Error::io("cannot read", &info_path, e))?;
    let info: RunInfo = serde_json::from_slice(&text).map_err(|e| unreadable(&info_path, &e.to_string()))?;
    let path = dir.join(JOURNAL);
    let file = File::open(&path).map_err(|e| Error::io("cannot read", &path, e))?;
    let mut records = Vec::new();
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io("cannot read", &path, e))?;
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        match serde_json::from_str::<Record>(&line) {
            Ok(r) => records.push(r),
            Err(_) if i + 1 == n => break,
            Err(e) => return Err(unreadable(&path, &format!("line {}: {e}", i + 1))),
        }
    }
    Ok((info, records))
}

fn unreadable(path: &Path, why: &str) -> Error {
    Error::refusal(
        format!("{}: unreadable upgrade journal ({why})", path.display()),
        "this file is written by ferry; if it was edited, restore it, or move the run's folder away to forget the run",
    )
}

/// Every run's id under `runs`, oldest first.
pub fn ids(runs: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(runs) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot read folder", runs, e)),
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join(INFO).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    Ok(ids)
}

/// The newest run's info, if any.
pub fn latest(runs: &Path) -> Result<Option<RunInfo>> {
    match ids(runs)?.last() {
        Some(id) => Ok(Some(read(&runs.join(id))?.0)),
        None => Ok(None),
    }
}
