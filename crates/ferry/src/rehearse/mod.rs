//! `ferry rehearse`: the upgrade run exactly as `ferry upgrade` would run
//! it, on a copy of the installation (a backup restored into a scratch
//! database, the project folder and config files copied into a scratch
//! folder), timed step by step, then rolled back on the copy and compared
//! with what the copy was before. The project's own database and files are
//! only read.

mod capture;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use self::capture::Rows;
use crate::backup::{self, Entry, RestoreOptions, Store};
use crate::engine::scratch::Scratch;
use crate::error::{Error, Result};
use crate::migrator::Migrator;
pub use crate::plan::rehearsal::{fingerprint, require};
use crate::project::{Access, Installation};
pub use crate::records::rehearsal::{CopyOf, Failure, HopTime, Measured, Rehearsal, StepTime, copy_age, load};
use crate::state::Store as StateStore;
use crate::upgrade::{self, Notice, Progress, RunOptions, StepKind};
use crate::url::{DatabaseUrl, SqliteLocation};
use crate::version::Version;
use capture::Capture;

/// Where the copy's database comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The newest verified backup of the project's engine.
    NewestVerified,
    /// This backup.
    Backup(String),
    /// A backup taken from the live database now (kept with the copy only).
    Live,
}

/// What `ferry rehearse` was asked.
#[derive(Debug, Clone)]
pub struct RehearseOptions {
    /// The target (default: the newest final release).
    pub to: Option<Version>,
    /// The copy's source.
    pub source: Source,
    /// Keep the scratch folder and database afterwards.
    pub keep: bool,
    /// Run the hooks on the copy too.
    pub hooks: bool,
}

/// What a rehearsal tells as it goes.
#[derive(Debug, Clone, Copy)]
pub enum Phase<'a> {
    /// The copy is being made from this backup.
    Copying(&'a str),
    /// The upgrade runs on the copy.
    Upgrading,
    /// The copy is being rolled back.
    RollingBack,
    /// The copy is compared with what it was.
    Comparing,
}

/// Receives a rehearsal's phases and its run's notices.
pub trait RehearseProgress: Progress {
    /// A phase starts.
    fn phase(&mut self, _phase: Phase<'_>) {}
}

impl RehearseProgress for () {}

/// Times each step of a run, passing its notices on.
struct Timer<'a> {
    inner: &'a mut dyn RehearseProgress,
    open: Option<(usize, StepKind, Instant)>,
    steps: Vec<StepTime>,
}

impl Timer<'_> {
    fn close(&mut self, status: &str) {
        if let Some((hop, step, started)) = self.open.take() {
            self.steps.push(StepTime {
                hop,
                step: step.as_str().to_owned(),
                ms: started.elapsed().as_millis() as u64,
                status: status.to_owned(),
            });
        }
    }
}

impl Progress for Timer<'_> {
    fn notice(&mut self, notice: Notice<'_>) {
        match notice {
            Notice::Step { hop, step, .. } => {
                self.close("done");
                self.open = Some((hop, step, Instant::now()));
            }
            Notice::StepDone { outcome, .. } => {
                self.close(if outcome.skipped { "skipped" } else { "done" });
            }
            Notice::StepFailed { .. } => self.close("failed"),
            _ => {}
        }
        self.inner.notice(notice);
    }

    fn migration(&mut self, event: crate::migrator::Event<'_>) {
        self.inner.migration(event);
    }
}

/// Names that are not worth copying into the scratch folder.
const NOT_COPIED: [&str; 4] = [".ferry", ".git", "target", "node_modules"];

/// Copies the folder `from` into `to`, leaving out [`NOT_COPIED`] and the
/// files in `skip`. std's read_dir is all this needs.
fn copy_tree(from: &Path, to: &Path, skip: &[PathBuf]) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io("cannot create", to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| Error::io("cannot read", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot read", from, e))?;
        let path = entry.path();
        if NOT_COPIED.iter().any(|n| entry.file_name() == *n) || skip.contains(&path) {
            continue;
        }
        let target = to.join(entry.file_name());
        let kind = entry.file_type().map_err(|e| Error::io("cannot read", &path, e))?;
        if kind.is_dir() {
            copy_tree(&path, &target, skip)?;
        } else if kind.is_file() {
            std::fs::copy(&path, &target).map_err(|e| Error::io("cannot copy", &path, e))?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            std::os::unix::fs::symlink(&link, &target).map_err(|e| Error::io("cannot create", &target, e))?;
        }
    }
    Ok(())
}

fn sqlite_file(url: &DatabaseUrl) -> Option<PathBuf> {
    match url.sqlite_location() {
        Some(SqliteLocation::File(p)) => Some(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
        _ => None,
    }
}

/// The backup the copy is made from.
fn source_backup(
    inst: &Installation,
    live: &DatabaseUrl,
    access: &Access,
    opts: &RehearseOptions,
    work: &Path,
) -> Result<(Store, Entry, bool)> {
    match &opts.source {
        Source::Backup(id) => {
            let store = inst.backups();
            let entry = store.get(id)?;
            Ok((store, entry, false))
        }
        Source::NewestVerified => {
            let store = inst.backups();
            let newest = store.list()?.into_iter().rfind(|e| {
                e.problems.is_empty() && e.sidecar.verified_at.is_some() && e.sidecar.manifest.engine == live.kind()
            });
            match newest {
                Some(entry) => Ok((store, entry, false)),
                None => Err(Error::refusal(
                    format!("no verified backup in {} to rehearse on", store.dir().display()),
                    "take one with `ferry backup create` and check it with `ferry backup verify ID`, name one with --backup ID, or rehearse on a fresh copy with --from-live",
                )),
            }
        }
        Source::Live => {
            let store = Store::new(&work.join("backups"));
            let (mut migrator, url) = inst.connect(access)?;
            let context = inst.backup_context(&mut migrator);
            let entry = backup::create(
                &store,
                inst.project.backup(),
                inst.project.root(),
                &url,
                &mut migrator,
                &context,
                Some("rehearsal"),
            )?;
            Ok((store, entry, true))
        }
    }
}

/// Copies the project folder into `work/project`, and its config folder
/// where it lies outside the project into `work/config`: the copy's root
/// and config folder.
fn copy_project(
    inst: &Installation,
    live_state: &mut dyn StateStore,
    live: &DatabaseUrl,
    work: &Path,
) -> Result<(PathBuf, PathBuf)> {
    // The folder: the project's, and its config folder where it lies outside.
    let root = inst.project.root();
    let root_real = std::fs::canonicalize(root).map_err(|e| Error::io("cannot read", root, e))?;
    let copy_root = work.join("project");
    let live_file = sqlite_file(live);
    let skip: Vec<PathBuf> = live_file
        .iter()
        .flat_map(|f| {
            ["", "-wal", "-shm", "-journal"]
                .iter()
                .map(move |s| PathBuf::from(format!("{}{s}", f.display())))
        })
        .collect();
    copy_tree(&root_real, &copy_root, &skip)?;
    // What config migrations recorded, so that the copy knows what its
    // files have been through: into the copy's own state folder.
    let mut copy_state = crate::state::DirStore::new(copy_root.join(".ferry"));
    for name in live_state.list("config/")? {
        if let Some(bytes) = live_state.read(&name)? {
            copy_state.write(&name, &bytes)?;
        }
    }
    let config = inst.project.config_dir()?;
    let config_real = std::fs::canonicalize(&config).unwrap_or(config);
    let copy_config = match config_real.strip_prefix(&root_real) {
        Ok(rel) => copy_root.join(rel),
        Err(_) => {
            let c = work.join("config");
            if config_real.is_dir() {
                copy_tree(&config_real, &c, &skip)?;
            }
            c
        }
    };

    Ok((copy_root, copy_config))
}

/// The first failure of a run that did not finish.
fn failure_of(e: upgrade::RunError) -> Failure {
    let upgrade::RunError::Failed(report) = e else {
        return Failure {
            hop: None,
            step: "upgrade".into(),
            error: crate::redact::redact_text(&e.to_string()),
        };
    };
    let failed = report.hops.iter().enumerate().find_map(|(i, h)| {
        h.steps
            .iter()
            .find(|s| s.status == upgrade::StepStatus::Failed)
            .map(|s| (i, s))
    });
    match failed {
        Some((hop, s)) => Failure {
            hop: Some(hop),
            step: s.step.as_str().to_owned(),
            error: s.detail.clone(),
        },
        None => Failure {
            hop: None,
            step: "upgrade".into(),
            error: upgrade::failure_message(&report),
        },
    }
}

/// Each hop's time, and its time with the application stopped (from the
/// before hooks to the after hooks).
fn hop_times(plan: &crate::plan::UpgradePlan, steps: &[StepTime]) -> Vec<HopTime> {
    const STOPPED: [&str; 6] = ["hooks_before", "backup", "config", "migrate", "record", "hooks_after"];
    plan.hops
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let of_hop = steps.iter().filter(|s| s.hop == i);
            HopTime {
                from: h.from.as_ref().map(ToString::to_string),
                to: h.to.to_string(),
                ms: of_hop.clone().map(|s| s.ms).sum(),
                downtime_ms: of_hop
                    .filter(|s| STOPPED.contains(&s.step.as_str()))
                    .map(|s| s.ms)
                    .sum(),
                expected: h.downtime.map(|d| d.to_string()),
            }
        })
        .collect()
}

/// What the run and the rollback did, before it is written down.
#[derive(Debug, Default)]
struct Outcome {
    upgrade_ms: u64,
    rollback_ms: Option<u64>,
    failure: Option<Failure>,
    differences: Vec<String>,
}

/// Rehearses the upgrade of `inst` to `opts.to` on a copy, and records it
/// in `.ferry/rehearsals/`. `Ok` with `passed = false` when the upgrade,
/// its rollback or the comparison failed on the copy; `Err` when no copy
/// could be made.
pub fn rehearse(
    inst: &Installation,
    access: &Access,
    opts: &RehearseOptions,
    progress: &mut dyn RehearseProgress,
) -> Result<Rehearsal> {
    let live = inst.url(access)?;
    let work = tempfile::Builder::new()
        .prefix("ferry-rehearse-")
        .tempdir()
        .map_err(|e| Error::io("cannot create", Path::new("a temporary folder"), e))?;
    let (store, entry, from_live) = source_backup(inst, &live, access, opts, work.path())?;
    progress.phase(Phase::Copying(&entry.id));

    let mut live_state = inst.state(access)?;
    let (copy_root, copy_config) = copy_project(inst, &mut *live_state, &live, work.path())?;

    // The database: the backup restored into a scratch one; its config
    // files over the copied ones, as they were when it was taken.
    let scratch = Scratch::create(&live, "rehearse")?;
    {
        let mut m = Migrator::connect(scratch.url(), inst.project.settings(None))?;
        backup::restore(
            &store,
            &entry,
            &copy_root,
            scratch.url(),
            &mut m,
            RestoreOptions {
                database: true,
                files: true,
                no_privileges: true,
                ours: Vec::new(),
            },
            |_| true,
        )?;
    }
    let copy = Installation {
        project: inst.project.rehearsal_copy(&copy_root, &copy_config, opts.hooks),
        set: inst.set.clone(),
        manifest: inst.manifest.clone(),
    };
    let copy_access = Access {
        database_url: Some(scratch.url().expose_secret().to_owned()),
        lock_timeout: access.lock_timeout,
        wait: None,
    };
    let settings = inst.project.settings(None);
    let skip_tables = crate::verify::ferry_tables(&settings);
    let copy_file = sqlite_file(scratch.url());
    let before = {
        let mut m = Migrator::connect(scratch.url(), settings.clone())?;
        Capture::take(&mut m, &skip_tables, &copy_config, copy_file.as_ref())?
    };

    progress.phase(Phase::Upgrading);
    let prepared = upgrade::prepare(&copy, &copy_access, opts.to.as_ref())?;
    let plan = prepared.plan().clone();
    if plan.hops.is_empty() {
        return Err(Error::refusal(
            format!(
                "nothing to rehearse: the copy (backup {}, release {}) is already at {}",
                entry.id,
                entry.sidecar.manifest.release.as_deref().unwrap_or("unknown"),
                plan.to
            ),
            "name a newer target with --to, or rehearse on an older backup with --backup ID",
        ));
    }
    let mut timer = Timer {
        inner: progress,
        open: None,
        steps: Vec::new(),
    };
    let started = Instant::now();
    let ran = prepared.run(RunOptions::default(), &mut timer);
    timer.close("done");
    let mut out = Outcome {
        upgrade_ms: started.elapsed().as_millis() as u64,
        ..Outcome::default()
    };
    let steps = std::mem::take(&mut timer.steps);
    let progress = timer.inner;
    match ran {
        Ok(_) => {
            progress.phase(Phase::RollingBack);
            let t = Instant::now();
            let back = upgrade::rollback_last(&copy, &copy_access, None, false, |_| true, &mut *progress);
            out.rollback_ms = Some(t.elapsed().as_millis() as u64);
            if let Err(e) = back {
                out.failure = Some(Failure {
                    hop: None,
                    step: "rollback".into(),
                    error: crate::redact::redact_text(&e.to_string()),
                });
            }
        }
        Err(e) => out.failure = Some(failure_of(e)),
    }
    // Whatever happened, the copy should be back where it started: the
    // run's own rollback, or the one above.
    progress.phase(Phase::Comparing);
    {
        let mut m = Migrator::connect(scratch.url(), settings.clone())?;
        let after = Capture::take(&mut m, &skip_tables, &copy_config, copy_file.as_ref())?;
        out.differences = after.differences(&before);
    }
    if out.failure.is_none() && !out.differences.is_empty() {
        out.failure = Some(Failure {
            hop: None,
            step: "compare".into(),
            error: format!(
                "after the rollback the copy differs from before the upgrade: {}",
                out.differences.join("; ")
            ),
        });
    }

    let hops = hop_times(&plan, &steps);
    let kept = if opts.keep {
        let folder = work.keep();
        let db = scratch.keep();
        Some((folder.display().to_string(), db.safe().to_string()))
    } else {
        drop(scratch);
        None
    };
    let now = jiff::Timestamp::now();
    let r = Rehearsal {
        id: now.strftime("%Y%m%dT%H%M%SZ").to_string(),
        at: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        engine: live.kind().name().to_owned(),
        from: plan.from.as_ref().map(ToString::to_string),
        to: plan.to.to_string(),
        fingerprint: fingerprint(&plan, &inst.set),
        copy: CopyOf {
            backup: entry.id.clone(),
            taken_at: entry.sidecar.manifest.created_at.clone(),
            from_live,
            rows: before.rows(),
        },
        downtime_ms: hops.iter().map(|h| h.downtime_ms).sum(),
        hops,
        steps,
        upgrade_ms: out.upgrade_ms,
        rollback_ms: out.rollback_ms,
        passed: out.failure.is_none(),
        differences: out.differences,
        failure: out.failure,
        kept,
    };
    crate::records::rehearsal::save(&mut *live_state, &r)?;
    Ok(r)
}

/// `1.2M`, `45k`, `312`.
pub fn count_text(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3).replace(".0k", "k"),
        _ => format!("{:.1}M", n as f64 / 1e6).replace(".0M", "M"),
    }
}

/// `3m12s`, `850ms`.
pub fn ms_text(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match s {
        0..60 => format!("{:.1}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} down) on a copy of {} (rows: {})",
            ms_text(self.ms),
            ms_text(self.downtime_ms),
            self.copy_of,
            count_text(self.rows)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(count_text(312), "312");
        assert_eq!(count_text(45_000), "45k");
        assert_eq!(count_text(1_234_567), "1.2M");
        assert_eq!(ms_text(850), "850ms");
        assert_eq!(ms_text(4_250), "4.2s");
        assert_eq!(ms_text(192_000), "3m12s");
        assert_eq!(ms_text(7_380_000), "2h03m");
    }
}
