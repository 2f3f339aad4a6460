//! Taking over the run state an earlier ferry kept in a project's `.ferry/`
//! folder, the first time the database keeps it: runs with their journals,
//! config migration records with the files' original bytes, verification
//! and rehearsal records. The folder's copies are then renamed
//! (`runs.moved-to-database`, ...) so that nobody mistakes them for the
//! live state, and a note says where it went.

use super::run::journal;
use crate::error::Result;
use crate::state::{DirStore, RunMark, Store};

/// What `.ferry/` held that the database takes over.
const DOCUMENTS: [&str; 3] = ["config/", "rehearsals/", "verified.json"];

/// The note left in the folder.
const NOTE: &str = "STATE-MOVED-TO-DATABASE";

/// The document that says, in the database, which folder is being taken
/// over: written before the first copy, so that a takeover stopped part-way
/// is finished by the next command rather than mistaken for state of the
/// database's own.
const FROM: &str = "taken-over-from";

/// Copies what `from` holds into `into` when `into` holds nothing yet (or
/// only what an earlier, interrupted takeover of this same folder copied),
/// and the newest run `from` records was of `database` (the same database,
/// password redacted): a folder that belonged to another database is left
/// alone. Each step can be repeated: runs already copied are completed
/// line by line, documents written again. Returns how many runs and
/// documents moved.
pub fn take_over(from: &mut DirStore, into: &mut dyn Store, database: &str) -> Result<usize> {
    let root = from.root().to_owned();
    if !root.is_dir() || root.join(NOTE).exists() {
        return Ok(0);
    }
    let runs = from.runs()?;
    let mut docs = Vec::new();
    for prefix in DOCUMENTS {
        if prefix.ends_with('/') {
            docs.extend(from.list(prefix)?);
        } else if from.read(prefix)?.is_some() {
            docs.push(prefix.to_owned());
        }
    }
    if runs.is_empty() && docs.is_empty() {
        return Ok(0);
    }
    let this = root.display().to_string();
    let resuming = into.read(FROM)?.is_some_and(|from| from == this.as_bytes());
    if !resuming && (!into.runs()?.is_empty() || DOCUMENTS.iter().any(|p| into.list(p).is_ok_and(|l| !l.is_empty()))) {
        return Ok(0);
    }
    if let Some(newest) = runs.last()
        && let Some((info, _)) = from.run(newest)?
    {
        let of = serde_json::from_slice::<serde_json::Value>(&info)
            .ok()
            .and_then(|v| v.get("database").and_then(|d| d.as_str()).map(str::to_owned));
        if of.as_deref().is_some_and(|d| d != database) {
            tracing::warn!(
                "{} holds the run state of another database ({}); it is left where it is",
                root.display(),
                of.unwrap_or_default()
            );
            return Ok(0);
        }
    }
    into.write(FROM, this.as_bytes())?;
    let mut moved = 0;
    for id in &runs {
        let Some((info, lines)) = from.run(id)? else { continue };
        // The state its records add up to, for the database's refusal of
        // writes during an unfinished run.
        let state = journal::read(from, id).map(|(_, records)| super::run::RunState::of(&records))?;
        let mark = RunMark {
            id: id.clone(),
            state: state.as_str().to_owned(),
            finished: state.is_finished(),
        };
        // What an interrupted takeover already copied of this run.
        let copied = match into.run(id)? {
            Some((_, copied)) => copied.len(),
            None => {
                into.create_run(&mark, &info)?;
                0
            }
        };
        for (seq, line) in lines.iter().enumerate().skip(copied) {
            into.append(&mark, seq as u64 + 1, line)?;
        }
        moved += 1;
        crate::crash::point("FERRY_TEST_CRASH_TAKEOVER", moved);
    }
    for name in &docs {
        if let Some(bytes) = from.read(name)? {
            into.write(name, &bytes)?;
            moved += 1;
        }
    }
    for part in ["runs", "config", "rehearsals", "verified.json"] {
        let path = root.join(part);
        if path.exists() {
            let _ = std::fs::rename(&path, root.join(format!("{part}.moved-to-database")));
        }
    }
    crate::durable::write_private(
        &root.join(NOTE),
        format!(
            "ferry keeps this project's run state in the database now ({}): {moved} runs and records moved there on {}.\nThe *.moved-to-database folders are what was here; they are no longer read.\n",
            into.place(),
            jiff::Timestamp::now()
        )
        .as_bytes(),
        true,
    )?;
    // Done: the note in the folder stops a second takeover from here on.
    into.remove(FROM)?;
    tracing::info!(
        "moved {moved} runs and records from {} into {}",
        root.display(),
        into.place()
    );
    Ok(moved)
}
