//! The records of config migrations: `<id>/record.json` under the state
//! folder, read back oldest first.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};
use crate::version::Version;

/// The record of an applied config migration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Its folder's name.
    pub id: String,
    /// The version the files were at.
    pub from: Option<String>,
    /// The version they were migrated to.
    pub to: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Writing until every file is in place, then applied.
    pub state: RecordState,
    /// The upgrade run (and hop) that made it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The files.
    pub files: Vec<RecordFile>,
}

/// Where a config migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordState {
    /// The originals are saved and files are being replaced: a run that
    /// stopped here must be reverted before anything else.
    Writing,
    /// Every file is in place.
    Applied,
}

impl Record {
    /// True when every file is in place.
    pub fn is_applied(&self) -> bool {
        self.state == RecordState::Applied
    }
}

/// One file of a record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordFile {
    /// The file.
    pub path: PathBuf,
    /// Its name relative to the config folder.
    pub shown: String,
    /// Its permission bits.
    pub mode: u32,
    /// SHA-256 of its bytes before.
    pub before_sha256: String,
    /// SHA-256 of its bytes after.
    pub after_sha256: String,
    /// The file in the record's folder holding its bytes before.
    pub original: String,
}

pub(super) fn save_record(folder: &Path, record: &Record) -> Result<()> {
    let json = serde_json::to_vec_pretty(record).expect("a record serialises");
    durable::write_private(&folder.join("record.json"), &json, true)
}

/// Every record under `state`, oldest first.
pub fn records(state: &Path) -> Result<Vec<Record>> {
    let entries = match fs::read_dir(state) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot read", state, e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file = entry.path().join("record.json");
        let Ok(text) = fs::read(&file) else { continue };
        let record: Record = serde_json::from_slice(&text).map_err(|e| {
            Error::Config(Problems(vec![
                Problem::in_file(&file, format!("unreadable record: {e}")).help(
                    "this file is written by ferry; if it was edited, restore it from a backup or remove its folder",
                ),
            ]))
        })?;
        out.push(record);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The version the config files were last migrated to, if any migration is
/// recorded.
pub fn current(state: &Path) -> Result<Option<Version>> {
    let records = records(state)?;
    match records.last() {
        Some(r) if !r.is_applied() => Err(interrupted(r)),
        Some(r) => Ok(Version::parse(&r.to).ok()),
        None => Ok(None),
    }
}

pub(super) fn interrupted(r: &Record) -> Error {
    Error::refusal(
        format!(
            "the config migration to {} started at {} did not finish (ferry was stopped while writing files)",
            r.to, r.at
        ),
        "run `ferry config revert` to put every file back as it was, then migrate again",
    )
}
