//! `ferry runs`: the upgrade runs the run state keeps (in the database, or
//! in `[state] dir`), newest last; one run's report; a run's journal as it
//! is stored, for those who read or archive it.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::project::{Access, Installation};
use crate::records::run::{RunReport, journal, report};

/// The name of the newest run, wherever a run's id is asked for.
pub const LAST: &str = "last";

/// Every run the state keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Runs {
    /// Where they are kept.
    pub place: String,
    /// The runs, oldest first.
    pub runs: Vec<RunReport>,
}

/// One run's journal, line for line as stored: what the run is, then its
/// records.
#[derive(Debug, Clone, Serialize)]
pub struct JournalText {
    /// The run's id.
    pub id: String,
    /// The lines, each a JSON document.
    pub lines: Vec<String>,
}

/// Every run, oldest first.
pub fn list(inst: &Installation, access: &Access) -> Result<Runs> {
    let mut store = inst.state(access)?;
    let ids = journal::ids(store.as_mut())?;
    // Only the newest run can have a process at work on it: the lock is
    // asked about once, not once per run.
    let live = !ids.is_empty() && store.locked_elsewhere();
    let mut runs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (info, records) = journal::read(store.as_mut(), id)?;
        let newest = i + 1 == ids.len();
        runs.push(RunReport::build(&info, &records, live && newest, store.run_place(id)));
    }
    Ok(Runs {
        place: store.place(),
        runs,
    })
}

/// The report of run `id` (`last`: the newest), or of the newest run.
pub fn show(inst: &Installation, access: &Access, id: Option<&str>) -> Result<RunReport> {
    let mut store = inst.state(access)?;
    let id = match id.filter(|id| *id != LAST) {
        Some(id) => id.to_owned(),
        None => newest(store.as_mut())?,
    };
    report::report(store.as_mut(), &id)
}

/// The journals of run `id` (`last`: the newest), or of every run when
/// `id` is none.
pub fn journals(inst: &Installation, access: &Access, id: Option<&str>) -> Result<Vec<JournalText>> {
    let mut store = inst.state(access)?;
    let ids = match id {
        Some(LAST) => vec![newest(store.as_mut())?],
        Some(id) => vec![id.to_owned()],
        None => journal::ids(store.as_mut())?,
    };
    let mut out = Vec::new();
    for id in ids {
        let Some((info, lines)) = store.run(&id)? else {
            return Err(no_such_run(&id, &store.place()));
        };
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).trim_end().to_owned();
        // What the run is, on one line like the records after it.
        let info = serde_json::from_slice::<serde_json::Value>(&info).map_or_else(|_| text(info), |v| v.to_string());
        let mut all = vec![info];
        all.extend(lines.into_iter().map(text));
        out.push(JournalText { id, lines: all });
    }
    Ok(out)
}

fn newest(store: &mut dyn crate::state::Store) -> Result<String> {
    journal::ids(store)?.pop().ok_or_else(|| {
        Error::refusal(
            format!("no upgrade run in {}", store.place()),
            "`ferry upgrade` starts one; `ferry plan` shows what it would do",
        )
    })
}

fn no_such_run(id: &str, place: &str) -> Error {
    Error::refusal(
        format!("no upgrade run {id} in {place}"),
        "`ferry runs` lists the runs kept there",
    )
}
