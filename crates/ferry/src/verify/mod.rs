//! `ferry db verify`: proves in a scratch database that each down script
//! takes the schema back to what it was before its up.
//!
//! Per step: the schema before migration N, N up, N down, the schema again,
//! compared; N up again (an up that cannot run after its own down is
//! reported too). Then as a chain: from the head down to each release's
//! schema head, compared with the schema met there on the way up (some
//! histories' downs only invert together). The live database is never
//! connected to. The outcome is kept in `.ferry/verified.json`, per
//! migration and checksum, for `ferry plan`, the runbook and rollbacks.

mod record;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use self::record::{Verified, VerifiedMigration};
use crate::engine::{DatabaseUrl, EngineKind};
use crate::error::{Error, Result};
use crate::installation::{Access, Installation};
use crate::migration::{MigrateOptions, Phases, RevertTarget, Step};
use crate::migrator::{Migrator, Settings};
use crate::schema::{Difference, Snapshot};
use crate::scratch::Scratch;

/// What `ferry db verify` checks.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Check migrations after this version (those up to it are applied first).
    pub from: Option<u64>,
    /// Check migrations up to this version (default: all).
    pub to: Option<u64>,
    /// A scratch database to use instead of one ferry makes and drops.
    pub scratch: Option<DatabaseUrl>,
}

/// How one migration's down did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum StepResult {
    /// Its down takes the schema back exactly.
    Inverts,
    /// It has no down script.
    NoDown,
    /// Its down script fails.
    DownFails {
        /// The failure.
        error: String,
    },
    /// Its down runs, and leaves the schema different.
    Differs {
        /// Each difference, named.
        differences: Vec<Difference>,
    },
    /// Its up fails when run again after its down.
    UpAgainFails {
        /// The failure.
        error: String,
    },
    /// Its up fails: nothing after it could be checked.
    UpFails {
        /// The failure.
        error: String,
    },
}

impl StepResult {
    /// Whether the step's way back is good.
    pub fn ok(&self) -> bool {
        matches!(self, StepResult::Inverts | StepResult::NoDown)
    }

    /// The word kept in the record.
    pub fn word(&self) -> &'static str {
        match self {
            StepResult::Inverts => "inverts",
            StepResult::NoDown => "no_down",
            StepResult::DownFails { .. } => "down_fails",
            StepResult::Differs { .. } => "differs",
            StepResult::UpAgainFails { .. } => "up_again_fails",
            StepResult::UpFails { .. } => "up_fails",
        }
    }
}

/// One migration's check.
#[derive(Debug, Clone, Serialize)]
pub struct StepCheck {
    /// Version.
    pub version: u64,
    /// Name.
    pub name: String,
    /// How it did.
    #[serde(flatten)]
    pub result: StepResult,
    /// What its down drops with the data in it (tables, columns its up
    /// added): data written after the upgrade is lost by a rollback.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<String>,
    /// Its up failing when run again after its down, besides a difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up_again_error: Option<String>,
}

/// One chain check: from the head down to `to`.
#[derive(Debug, Clone, Serialize)]
pub struct ChainCheck {
    /// The migration reverted to.
    pub to: u64,
    /// The release whose schema head that is, if any.
    pub release: Option<String>,
    /// The revert's failure, if it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Differences from the schema met there on the way up.
    pub differences: Vec<Difference>,
}

impl ChainCheck {
    /// Whether the chain took the schema back exactly.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.differences.is_empty()
    }
}

/// What `ferry db verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The engine it ran on.
    pub engine: EngineKind,
    /// The scratch database (redacted).
    pub scratch: String,
    /// Per-step checks, in order.
    pub steps: Vec<StepCheck>,
    /// Chain checks, newest release first.
    pub chain: Vec<ChainCheck>,
    /// Why checking stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Every check passed.
    pub ok: bool,
    /// Wall time.
    pub ms: u64,
}

/// What a verification reports as it goes.
pub trait VerifyProgress {
    /// A migration was checked.
    fn step(&mut self, _check: &StepCheck, _index: usize, _total: usize) {}
}

impl VerifyProgress for () {}

fn err_text(e: &Error) -> String {
    crate::engine::redact_text(&e.to_string())
}

/// Runs the verification in a scratch database and records its outcome.
pub fn verify(
    inst: &Installation,
    access: &Access,
    opts: &VerifyOptions,
    progress: &mut dyn VerifyProgress,
) -> Result<VerifyReport> {
    let started = Instant::now();
    // Event triggers report what each migration changed (a scratch
    // database ferry makes, as a superuser); the catalogue read whole at
    // the end of each phase must agree with what they reported, or the
    // check is made again the slow way.
    let report = match check(inst, access, opts, progress, opts.scratch.is_none())? {
        Some(report) => report,
        None => {
            tracing::warn!(
                "the schema the event triggers followed is not the one in the catalogue; checking again by reading the catalogue"
            );
            check(inst, access, opts, progress, false)?.expect("an untracked check is its own reference")
        }
    };
    let report = VerifyReport {
        ms: started.elapsed().as_millis() as u64,
        ..report
    };
    record::save(inst, &report)?;
    Ok(report)
}

/// Connects to a scratch database ferry checks in, holding its lock
/// throughout (nobody else works there). Nobody keeps it either: on SQLite,
/// commits are not synced and the rollback journal stays in memory (a
/// commit otherwise costs four fsyncs; the scratch file is thrown away
/// after, and after a crash).
fn connect_scratch(url: &DatabaseUrl, settings: &Settings) -> Result<Migrator> {
    let mut m = Migrator::connect(url, settings.clone())?;
    m.hold_lock()?;
    if url.kind() == EngineKind::Sqlite {
        m.engine()
            .execute("PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY")
            .map_err(|e| Error::db("cannot set up the scratch database", e.message))?;
    }
    Ok(m)
}

/// The schema as tracked reads see it, and as a read of the whole
/// catalogue does: `false` when they differ.
fn agrees(m: &mut Migrator, skip: &[String], cache: &mut crate::schema::Cache, tracked: bool) -> Result<bool> {
    if !tracked {
        return Ok(true);
    }
    let cached = Snapshot::read_cached(m.engine(), skip, cache)?;
    Ok(cached == Snapshot::read(m.engine(), skip)?)
}

/// One verification; `None` when `track` was asked for and the schema its
/// event triggers followed turned out different from the catalogue's.
///
/// In a scratch database ferry makes, the chain check runs at the same time
/// in a second one, on its own connection and thread: every up once (as a
/// real database got them), the schema kept where a chain may end, then
/// down from the head. The server works on both at once; in a database
/// given with `--database-url`, the chain follows the steps there.
fn check(
    inst: &Installation,
    access: &Access,
    opts: &VerifyOptions,
    progress: &mut dyn VerifyProgress,
    track: bool,
) -> Result<Option<VerifyReport>> {
    let started = Instant::now();
    let live = inst.url(access)?;
    let mut scratch = match &opts.scratch {
        Some(u) => Scratch::given(u.clone(), &live)?,
        None => Scratch::create(&live, "verify")?,
    };
    // Nobody keeps the scratch database: no WAL flush after each call.
    let settings = Settings {
        lock_timeout: std::time::Duration::from_secs(30),
        durable: false,
        ..inst.project.settings(None)
    };
    let mut m = connect_scratch(scratch.url(), &settings)?;
    // One session, one database: each snapshot reads again only what the
    // step changed.
    let mut cache = crate::schema::Cache::default();
    let tracked = track && cache.track(m.engine())?;
    let skip = ferry_tables(&settings);
    let set = &inst.set;
    let all = MigrateOptions {
        phases: Phases::All,
        ..MigrateOptions::default()
    };
    let from = opts.from.unwrap_or(0);
    if from > 0 {
        m.migrate(set, MigrateOptions { to: Some(from), ..all }, &mut ())?;
    }
    let to = opts.to.or_else(|| set.latest().map(|x| x.version)).unwrap_or(0);
    let checked: Vec<&crate::migration::Migration> =
        set.iter().filter(|x| x.version > from && x.version <= to).collect();
    let given = opts.scratch.is_some();
    let targets = chain_targets(inst, &checked, from, to);
    std::thread::scope(|scope| {
        let apart = (!given).then(|| {
            let (live, settings, skip, targets) = (&live, &settings, &skip, &targets);
            let checked = &checked;
            scope.spawn(move || chain_apart(live, settings, skip, set, checked, from, targets, track))
        });
        let mut before = Snapshot::read_cached(m.engine(), &skip, &mut cache)?;
        let heads: std::collections::BTreeSet<u64> = inst.manifest.releases().iter().filter_map(|r| r.schema).collect();
        let mut met: BTreeMap<u64, Snapshot> = BTreeMap::new();
        met.insert(from, before.clone());
        let mut steps = Vec::new();
        let mut stopped = None;
        let total = checked.len();
        // Where the time goes, for `FERRY_LOG=ferry=debug` and bench/verify.sh.
        let (mut t_migrate, mut t_snapshot) = (Duration::ZERO, Duration::ZERO);
        let timed = |total: &mut Duration, t: Instant| *total += t.elapsed();
        for (index, mig) in checked.iter().enumerate() {
            let up_to = MigrateOptions {
                to: Some(mig.version),
                ..all
            };
            let t = Instant::now();
            let applied = m.run_known(&[Step::up(mig)]);
            timed(&mut t_migrate, t);
            if let Err(e) = applied {
                let check = StepCheck {
                    version: mig.version,
                    name: mig.label(),
                    result: StepResult::UpFails { error: err_text(&e) },
                    drops: Vec::new(),
                    up_again_error: None,
                };
                progress.step(&check, index, total);
                steps.push(check);
                stopped = Some(format!("{} fails to apply; nothing after it was checked", mig.label()));
                break;
            }
            let t = Instant::now();
            let after_up = Snapshot::read_cached(m.engine(), &skip, &mut cache)?;
            timed(&mut t_snapshot, t);
            // Whether the scratch database is left in a state the next step
            // cannot start from, and must be made again.
            let mut lost = false;
            let mut check = StepCheck {
                version: mig.version,
                name: mig.label(),
                result: StepResult::NoDown,
                drops: Vec::new(),
                up_again_error: None,
            };
            if mig.has_down() {
                let t = Instant::now();
                let reverted = match mig.down() {
                    Ok(Some(down)) => m.run_known(&[Step::down(mig, down)]),
                    Ok(None) => unreachable!("has_down was checked"),
                    Err(e) => Err(e),
                };
                timed(&mut t_migrate, t);
                match reverted {
                    Err(e) => {
                        check.result = StepResult::DownFails { error: err_text(&e) };
                        // PostgreSQL and SQLite rolled it back; MySQL cannot
                        // roll DDL back, so its schema is somewhere in between.
                        lost = m.engine().kind() == EngineKind::MySql;
                    }
                    Ok(_) => {
                        let t = Instant::now();
                        let after_down = Snapshot::read_cached(m.engine(), &skip, &mut cache)?;
                        timed(&mut t_snapshot, t);
                        let differences = after_down.diff(&before);
                        check.drops = after_up.dropped_in(&after_down);
                        let t = Instant::now();
                        let again = m.run_known(&[Step::up(mig)]);
                        timed(&mut t_migrate, t);
                        if let Err(e) = again {
                            check.up_again_error = Some(err_text(&e));
                            lost = true;
                        }
                        // A down that leaves a difference may have changed more
                        // than the up made (dropped what came before it): when
                        // the up again does not bring back the schema after it,
                        // the next step cannot start from here.
                        if !differences.is_empty()
                            && !lost
                            && Snapshot::read_cached(m.engine(), &skip, &mut cache)? != after_up
                        {
                            lost = true;
                        }
                        check.result = match (differences.is_empty(), &check.up_again_error) {
                            (false, _) => StepResult::Differs { differences },
                            (true, Some(e)) => StepResult::UpAgainFails { error: e.clone() },
                            (true, None) => StepResult::Inverts,
                        };
                    }
                }
            }
            progress.step(&check, index, total);
            steps.push(check);
            if lost {
                if given {
                    stopped = Some(format!(
                        "after {}, the scratch database is not in a state to go on from, and ferry does not remake a database it was given",
                        mig.label()
                    ));
                    break;
                }
                // What the triggers followed is thrown away with the database:
                // compare it with the catalogue first.
                if !agrees(&mut m, &skip, &mut cache, tracked)? {
                    return Ok(None);
                }
                // Start again from an empty database, up to here in one go.
                drop(m);
                scratch = Scratch::create(&live, "verify")?;
                m = connect_scratch(scratch.url(), &settings)?;
                cache = crate::schema::Cache::default();
                if tracked {
                    cache.track(m.engine())?;
                }
                m.migrate(set, up_to, &mut ())?;
            }
            // Only where a chain check may end: release heads, and migrations
            // without a down (the chain stops above the newest one).
            if heads.contains(&mig.version) || !mig.has_down() {
                met.insert(mig.version, after_up.clone());
            }
            before = after_up;
        }
        tracing::debug!(
            "verify: {} steps, migrations {} ms, snapshots {} ms, the rest {} ms",
            steps.len(),
            t_migrate.as_millis(),
            t_snapshot.as_millis(),
            started.elapsed().saturating_sub(t_migrate + t_snapshot).as_millis()
        );
        if stopped.is_none() && !agrees(&mut m, &skip, &mut cache, tracked)? {
            return Ok(None);
        }
        // The chain: from the head down to each release head, newest first,
        // then to where checking started.
        let chain = match apart {
            Some(handle) => match handle.join().expect("the chain check does not panic")? {
                Some(_) if stopped.is_some() => Vec::new(),
                Some(chain) => chain,
                None => return Ok(None),
            },
            None if stopped.is_none() => descend(&mut m, set, &targets, &met, &skip, &mut cache)?,
            None => Vec::new(),
        };
        if !agrees(&mut m, &skip, &mut cache, tracked)? {
            return Ok(None);
        }
        let ok = stopped.is_none() && steps.iter().all(|s| s.result.ok()) && chain.iter().all(ChainCheck::ok);
        let report = VerifyReport {
            engine: scratch.url().kind(),
            scratch: scratch.url().safe().to_string(),
            steps,
            chain,
            stopped,
            ok,
            ms: started.elapsed().as_millis() as u64,
        };
        drop(m);
        drop(scratch);
        Ok(Some(report))
    })
}

/// Where chain checks end, newest first: each release's schema head over
/// the reversible tail (a migration without a down ends it), then the
/// newest migration without a down, or where checking started.
fn chain_targets(
    inst: &Installation,
    checked: &[&crate::migration::Migration],
    from: u64,
    to: u64,
) -> Vec<(u64, Option<String>)> {
    let floor = checked
        .iter()
        .filter(|x| !x.has_down())
        .map(|x| x.version)
        .max()
        .unwrap_or(from);
    let mut targets: Vec<(u64, Option<String>)> = inst
        .manifest
        .releases()
        .iter()
        .filter_map(|r| r.schema.map(|s| (s, Some(r.version.to_string()))))
        .filter(|(s, _)| *s >= floor && *s < to)
        .collect();
    targets.push((floor, None));
    targets.sort_by_key(|t| std::cmp::Reverse(t.0));
    targets.dedup_by_key(|t| t.0);
    targets
}

/// From the head down to each target in turn, comparing the schema with
/// the one `met` there on the way up; stops at the first that differs.
fn descend(
    m: &mut Migrator,
    set: &crate::migration::MigrationSet,
    targets: &[(u64, Option<String>)],
    met: &BTreeMap<u64, Snapshot>,
    skip: &[String],
    cache: &mut crate::schema::Cache,
) -> Result<Vec<ChainCheck>> {
    let mut chain = Vec::new();
    for (target, release) in targets {
        let mut check = ChainCheck {
            to: *target,
            release: release.clone(),
            error: None,
            differences: Vec::new(),
        };
        match m.revert(set, RevertTarget::To(*target), &mut ()) {
            Err(e) => check.error = Some(err_text(&e)),
            Ok(_) => {
                let now = Snapshot::read_cached(m.engine(), skip, cache)?;
                if let Some(was) = met.get(target) {
                    check.differences = now.diff(was);
                }
            }
        }
        let broke = !check.ok();
        chain.push(check);
        if broke {
            break;
        }
    }
    Ok(chain)
}

/// The chain check in a scratch database of its own: up to each target in
/// turn, oldest first, keeping the schema there, then [`descend`].
/// `Ok(None)`: tracked, the schema the event triggers followed is not the
/// catalogue's.
#[allow(clippy::too_many_arguments)]
fn chain_apart(
    live: &DatabaseUrl,
    settings: &Settings,
    skip: &[String],
    set: &crate::migration::MigrationSet,
    checked: &[&crate::migration::Migration],
    from: u64,
    targets: &[(u64, Option<String>)],
    track: bool,
) -> Result<Option<Vec<ChainCheck>>> {
    let started = Instant::now();
    let scratch = Scratch::create(live, "verify")?;
    let mut m = connect_scratch(scratch.url(), settings)?;
    let mut cache = crate::schema::Cache::default();
    let tracked = track && cache.track(m.engine())?;
    let all = MigrateOptions {
        phases: Phases::All,
        ..MigrateOptions::default()
    };
    let mut met = BTreeMap::new();
    let mut stops: Vec<u64> = targets.iter().map(|t| t.0).collect();
    stops.sort_unstable();
    stops.push(checked.last().map_or(from, |x| x.version));
    for stop in stops {
        if stop > 0
            && let Err(e) = m.migrate(set, MigrateOptions { to: Some(stop), ..all }, &mut ())
        {
            // The steps meet the same failure and report it; if they do
            // not, the chain is what failed.
            return Ok(Some(vec![ChainCheck {
                to: stop,
                release: None,
                error: Some(format!("applying the migrations up to {stop} once: {}", err_text(&e))),
                differences: Vec::new(),
            }]));
        }
        met.insert(stop, Snapshot::read_cached(m.engine(), skip, &mut cache)?);
    }
    let chain = descend(&mut m, set, targets, &met, skip, &mut cache)?;
    if !agrees(&mut m, skip, &mut cache, tracked)? {
        return Ok(None);
    }
    tracing::debug!("verify: the chain, apart, {} ms", started.elapsed().as_millis());
    Ok(Some(chain))
}

/// ferry's own tables, left out of every snapshot.
pub(crate) fn ferry_tables(settings: &Settings) -> Vec<String> {
    let h = &settings.history_table;
    [
        h.clone(),
        settings.release_table.clone(),
        crate::engine::progress::table(h),
        h.sibling("adopted"),
    ]
    .iter()
    .map(|t| t.name().to_owned())
    .collect()
}
