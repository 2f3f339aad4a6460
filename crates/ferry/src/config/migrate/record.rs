//! The records of config migrations, in the run state's store:
//! `config/<id>/record.json` (versions, time, host and folder, each file's
//! path, mode and SHA-256 before and after) and `config/<id>/<n>.orig` (the
//! original bytes), read back oldest first.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};
use crate::state::Store;
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
    /// The machine whose files it changed (its host name): the files and
    /// the database may live on different machines, and a revert elsewhere
    /// would write another machine's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The config folder it worked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
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
    /// The name of its bytes before, beside the record.
    pub original: String,
}

/// The prefix of every record in the store.
pub(super) const PREFIX: &str = "config/";

/// The name of a record's document.
pub(super) fn record_name(id: &str) -> String {
    format!("{PREFIX}{id}/record.json")
}

/// The name of a file's original bytes.
pub(super) fn original_name(id: &str, original: &str) -> String {
    format!("{PREFIX}{id}/{original}")
}

/// This machine's name, for the records.
pub(crate) fn host() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

pub(super) fn save_record(store: &mut dyn Store, record: &Record) -> Result<()> {
    let json = serde_json::to_vec_pretty(record).expect("a record serialises");
    store.write(&record_name(&record.id), &json)
}

/// Every record, oldest first.
pub fn records(store: &mut dyn Store) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for name in store.list(PREFIX)? {
        if !name.ends_with("/record.json") {
            continue;
        }
        let Some(text) = store.read(&name)? else { continue };
        let record: Record = serde_json::from_slice(&text).map_err(|e| {
            Error::Config(Problems(vec![
                Problem::general(format!("{name} in {}: unreadable record: {e}", store.place()))
                    .help("it is written by ferry; if it was edited, restore it from a backup or remove the record"),
            ]))
        })?;
        out.push(record);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The version the config files were last migrated to, if any migration is
/// recorded.
pub fn current(store: &mut dyn Store) -> Result<Option<Version>> {
    let records = records(store)?;
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
