//! The write-ahead journal of an upgrade run, in the run state's store
//! (the database's tables, or `runs/<id>/` of a state folder): what the run
//! is (versions, hops, options), then one record per line, appended and
//! made durable before the step it announces starts, with the state the
//! records add up to beside them. Nothing secret goes in: the database URL
//! is redacted, hook output passes through the redactor.
//!
//! The process running (or rolling back) a run holds the store's lock (the
//! database's migration lock, or the folder's lock file) from its first
//! step to its last: a journal that says "running" while nobody holds the
//! lock belongs to a process that is gone.

use serde::{Deserialize, Serialize};

use super::state::{Before, Event, Outcome, Record, RunState, StepKind};
use crate::error::{Error, Result};
use crate::state::{RunMark, Store};

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
    id: String,
    next_seq: u64,
}

fn mark(id: &str, records: &[Record]) -> RunMark {
    let state = RunState::of(records);
    RunMark {
        id: id.to_owned(),
        state: state.as_str().to_owned(),
        finished: state.is_finished(),
    }
}

impl Journal {
    /// Records a new run in `store`.
    pub fn create(store: &mut dyn Store, info: &RunInfo) -> Result<Self> {
        let json = serde_json::to_vec_pretty(info).expect("run info serialises");
        store.create_run(&mark(&info.id, &[]), &json)?;
        Ok(Journal {
            id: info.id.clone(),
            next_seq: 1,
        })
    }

    /// Opens the journal of an existing run to append to it.
    pub fn open(store: &mut dyn Store, id: &str) -> Result<(Self, RunInfo, Vec<Record>)> {
        let (info, records) = read(store, id)?;
        let next_seq = records.last().map_or(1, |r| r.seq + 1);
        Ok((
            Journal {
                id: id.to_owned(),
                next_seq,
            },
            info,
            records,
        ))
    }

    /// The run's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends `event` to the run whose records so far are `records`, durably
    /// and with the state they add up to, before returning: the step it
    /// announces may start only then.
    pub fn append(&mut self, store: &mut dyn Store, records: &[Record], event: Event) -> Result<Record> {
        let record = Record {
            seq: self.next_seq,
            at: jiff::Timestamp::now().to_string(),
            event,
        };
        let line = serde_json::to_vec(&record).expect("a journal record serialises");
        let mut all = records.to_vec();
        all.push(record.clone());
        store.append(&mark(&self.id, &all), record.seq, &line)?;
        self.next_seq += 1;
        crate::crash::point("FERRY_TEST_CRASH_AT", record.seq);
        Ok(record)
    }

    /// Appends that a step starts, with what is needed to undo it.
    pub fn started(
        &mut self,
        store: &mut dyn Store,
        records: &[Record],
        hop: usize,
        step: StepKind,
        before: Before,
    ) -> Result<Record> {
        self.append(store, records, Event::StepStarted { hop, step, before })
    }

    /// Appends that a step ended well; `started` is its start record's seq.
    pub fn done(
        &mut self,
        store: &mut dyn Store,
        records: &[Record],
        started: u64,
        (hop, step): (usize, StepKind),
        outcome: Outcome,
    ) -> Result<Record> {
        crate::crash::point("FERRY_TEST_CRASH_INSIDE", started);
        self.append(store, records, Event::StepDone { hop, step, outcome })
    }
}

/// Reads a run's info and records. A last line cut short by a crash is
/// ignored (it was never made durable whole, so its step never started).
pub fn read(store: &mut dyn Store, id: &str) -> Result<(RunInfo, Vec<Record>)> {
    let place = store.run_place(id);
    let Some((info, lines)) = store.run(id)? else {
        return Err(Error::refusal(
            format!("no upgrade run {id} in {}", store.place()),
            "`ferry status` shows the last run",
        ));
    };
    let info: RunInfo = serde_json::from_slice(&info).map_err(|e| unreadable(&place, &e.to_string()))?;
    let mut records = Vec::new();
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        match serde_json::from_slice::<Record>(&line) {
            Ok(r) => records.push(r),
            Err(_) if i + 1 == n => break,
            Err(e) => return Err(unreadable(&place, &format!("line {}: {e}", i + 1))),
        }
    }
    Ok((info, records))
}

fn unreadable(place: &str, why: &str) -> Error {
    Error::refusal(
        format!("{place}: unreadable upgrade journal ({why})"),
        "it is written by ferry; if it was edited, restore it, or remove the run to forget it",
    )
}

/// Every run's id, oldest first.
pub fn ids(store: &mut dyn Store) -> Result<Vec<String>> {
    store.runs()
}

/// The newest run's info, if any.
pub fn latest(store: &mut dyn Store) -> Result<Option<RunInfo>> {
    match ids(store)?.last() {
        Some(id) => Ok(Some(read(store, id)?.0)),
        None => Ok(None),
    }
}
