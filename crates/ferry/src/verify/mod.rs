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

use crate::engine::scratch::Scratch;
use crate::error::{Error, Result};
use crate::migration::{MigrateOptions, Phases, RevertTarget, Step};
use crate::migrator::{Migrator, Settings};
use crate::project::{Access, Installation};
pub use crate::records::verified::{Verified, VerifiedMigration};
use crate::schema::{Difference, Snapshot};
use crate::url::{DatabaseUrl, EngineKind};

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
    /// Why what it found could not be kept in the run state (plans and
    /// rollbacks then do not know it), when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unrecorded: Option<String>,
}

/// What a verification reports as it goes.
pub trait VerifyProgress {
    /// A migration was checked.
    fn step(&mut self, _check: &StepCheck, _index: usize, _total: usize) {}
}

impl VerifyProgress for () {}

fn err_text(e: &Error) -> String {
    crate::redact::redact_text(&e.to_string())
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
    let mut report = VerifyReport {
        ms: started.elapsed().as_millis() as u64,
        ..report
    };
    // What it found is kept for plans and rollbacks; a database user that
    // may not keep it there still gets the verification.
    if let Err(e) = inst
        .state(access)
        .and_then(|mut store| record::save(inst, &mut *store, &report))
    {
        report.unrecorded = Some(err_text(&e));
    }
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
    if let Some(sql) = m.engine().dialect().unsynced() {
        m.engine()
            .execute(sql)
            .map_err(|e| Error::db("cannot set up the scratch database", e.message))?;
    }
    Ok(m)
}

/// The schema as tracked reads see it, and as a read of the whole
/// catalogue does: `false` when they differ.
fn agrees(m: &mut Migrator, skip: &[String], cache: &mut crate::engine::SnapshotCache, tracked: bool) -> Result<bool> {
    if !tracked {
        return Ok(true);
    }
    let cached = Snapshot::read_cached(m.engine(), skip, cache)?;
    Ok(cached == Snapshot::read(m.engine(), skip)?)
}

/// What the checks of one scratch database share.
struct Ctx<'a> {
    live: &'a DatabaseUrl,
    settings: &'a Settings,
    skip: &'a [String],
    set: &'a crate::migration::MigrationSet,
    heads: &'a std::collections::BTreeSet<u64>,
    /// The database was given (`--scratch`): never made again.
    given: bool,
    tracked: bool,
}

/// One scratch database, its connection and what its reads keep.
struct Db {
    scratch: Scratch,
    m: Migrator,
    cache: crate::engine::SnapshotCache,
}

impl Db {
    /// A new scratch database beside the live one.
    fn make(ctx: &Ctx<'_>) -> Result<Self> {
        Self::open(Scratch::create(ctx.live, "verify")?, ctx)
    }

    fn open(scratch: Scratch, ctx: &Ctx<'_>) -> Result<Self> {
        let m = connect_scratch(scratch.url(), ctx.settings)?;
        let mut db = Db {
            scratch,
            m,
            cache: crate::engine::SnapshotCache::default(),
        };
        if ctx.tracked {
            db.cache.track(db.m.engine())?;
        }
        Ok(db)
    }

    fn read(&mut self, ctx: &Ctx<'_>) -> Result<Snapshot> {
        Snapshot::read_cached(self.m.engine(), ctx.skip, &mut self.cache)
    }

    fn agrees(&mut self, ctx: &Ctx<'_>) -> Result<bool> {
        agrees(&mut self.m, ctx.skip, &mut self.cache, ctx.tracked)
    }
}

/// The step checks of one run of migrations, in one scratch database.
#[derive(Default)]
struct Half {
    steps: Vec<StepCheck>,
    /// The schema after each migration where a chain check may end.
    met: BTreeMap<u64, Snapshot>,
    stopped: Option<String>,
}

/// Checks each of `part` in turn in `db`, which holds the migrations up to
/// `start`: up, down, compare, up again. `Ok(None)`: tracked, the
/// schema the event triggers followed is not the catalogue's.
fn steps_in(
    ctx: &Ctx<'_>,
    db: &mut Db,
    start: u64,
    part: &[&crate::migration::Migration],
    progress: &mut dyn FnMut(&StepCheck),
) -> Result<Option<Half>> {
    let all = MigrateOptions {
        phases: Phases::All,
        ..MigrateOptions::default()
    };
    let mut half = Half::default();
    let mut before = db.read(ctx)?;
    // Where checking started: a chain may end there too.
    half.met.insert(start, before.clone());
    // Where the time goes, for `FERRY_LOG=ferry=debug` and bench/verify.sh.
    let started = Instant::now();
    let (mut t_migrate, mut t_snapshot) = (Duration::ZERO, Duration::ZERO);
    let timed = |total: &mut Duration, t: Instant| *total += t.elapsed();
    for mig in part {
        let t = Instant::now();
        let applied = db.m.run_known(&[Step::up(mig)]);
        timed(&mut t_migrate, t);
        if let Err(e) = applied {
            let check = StepCheck {
                version: mig.version,
                name: mig.label(),
                result: StepResult::UpFails { error: err_text(&e) },
                drops: Vec::new(),
                up_again_error: None,
            };
            progress(&check);
            half.steps.push(check);
            half.stopped = Some(format!("{} fails to apply; nothing after it was checked", mig.label()));
            break;
        }
        let t = Instant::now();
        let after_up = db.read(ctx)?;
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
                Ok(Some(down)) => db.m.run_known(&[Step::down(mig, down)]),
                Ok(None) => unreachable!("has_down was checked"),
                Err(e) => Err(e),
            };
            timed(&mut t_migrate, t);
            match reverted {
                Err(e) => {
                    check.result = StepResult::DownFails { error: err_text(&e) };
                    // PostgreSQL and SQLite rolled it back; MySQL cannot
                    // roll DDL back, so its schema is somewhere in between.
                    lost = !db.m.engine().transactional_ddl();
                }
                Ok(_) => {
                    let t = Instant::now();
                    let after_down = db.read(ctx)?;
                    timed(&mut t_snapshot, t);
                    let differences = after_down.diff(&before);
                    check.drops = after_up.dropped_in(&after_down);
                    let t = Instant::now();
                    let again = db.m.run_known(&[Step::up(mig)]);
                    timed(&mut t_migrate, t);
                    if let Err(e) = again {
                        check.up_again_error = Some(err_text(&e));
                        lost = true;
                    }
                    // A down that leaves a difference may have changed more
                    // than the up made (dropped what came before it): when
                    // the up again does not bring back the schema after it,
                    // the next step cannot start from here.
                    if !differences.is_empty() && !lost && db.read(ctx)? != after_up {
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
        progress(&check);
        half.steps.push(check);
        if lost {
            if ctx.given {
                half.stopped = Some(format!(
                    "after {}, the scratch database is not in a state to go on from, and ferry does not remake a database it was given",
                    mig.label()
                ));
                break;
            }
            // What the triggers followed is thrown away with the database:
            // compare it with the catalogue first.
            if !db.agrees(ctx)? {
                return Ok(None);
            }
            // Start again from an empty database, up to here in one go.
            *db = Db::make(ctx)?;
            let up_to = MigrateOptions {
                to: Some(mig.version),
                ..all
            };
            db.m.migrate(ctx.set, up_to, &mut ())?;
        }
        // Only where a chain check may end: release heads, and migrations
        // without a down (the chain stops above the newest one).
        if ctx.heads.contains(&mig.version) || !mig.has_down() {
            half.met.insert(mig.version, after_up.clone());
        }
        before = after_up;
    }
    tracing::debug!(
        "verify: {} steps, migrations {} ms, snapshots {} ms, the rest {} ms",
        half.steps.len(),
        t_migrate.as_millis(),
        t_snapshot.as_millis(),
        started.elapsed().saturating_sub(t_migrate + t_snapshot).as_millis()
    );
    if half.stopped.is_none() && !db.agrees(ctx)? {
        return Ok(None);
    }
    Ok(Some(half))
}

/// How many of `n` migrations the first database checks when a second one
/// checks the rest and then runs the chain: a step check costs about four
/// migrations' time (three runs and two reads), the second database first
/// applies the first part (one run each), and the chain reverts all of them
/// (one run each). Both then end about together.
fn first_part(n: usize) -> usize {
    (n * 5).div_ceil(7).min(n)
}

/// One verification; `None` when `track` was asked for and the schema its
/// event triggers followed turned out different from the catalogue's.
///
/// In scratch databases ferry makes, two connections share the work at
/// once, each in its own database: the first checks the first part of the
/// migrations; the second applies that part, checks the rest, then runs
/// the chain from the head. In a database given with `--scratch`, one
/// connection does it all, the chain after the steps.
fn check(
    inst: &Installation,
    access: &Access,
    opts: &VerifyOptions,
    progress: &mut dyn VerifyProgress,
    track: bool,
) -> Result<Option<VerifyReport>> {
    let started = Instant::now();
    let live = inst.url(access)?;
    // Nobody keeps the scratch database: no WAL flush after each call.
    let settings = Settings {
        lock_timeout: std::time::Duration::from_secs(30),
        durable: false,
        ..inst.project.settings(None)
    };
    let skip = ferry_tables(&settings);
    let set = &inst.set;
    let heads: std::collections::BTreeSet<u64> = inst.manifest.releases().iter().filter_map(|r| r.schema).collect();
    let given = opts.scratch.is_some();
    let mut ctx = Ctx {
        live: &live,
        settings: &settings,
        skip: &skip,
        set,
        heads: &heads,
        given,
        tracked: false,
    };
    let mut first = match &opts.scratch {
        Some(u) => Db::open(Scratch::given(u.clone(), &live)?, &ctx)?,
        None => Db::make(&ctx)?,
    };
    // Only in a database ferry made: the triggers stay in it.
    ctx.tracked = track && !given && first.cache.track(first.m.engine())?;
    let ctx = ctx;
    let all = MigrateOptions {
        phases: Phases::All,
        ..MigrateOptions::default()
    };
    let from = opts.from.unwrap_or(0);
    if from > 0 {
        first
            .m
            .migrate(set, MigrateOptions { to: Some(from), ..all }, &mut ())?;
    }
    let to = opts.to.or_else(|| set.latest().map(|x| x.version)).unwrap_or(0);
    let checked: Vec<&crate::migration::Migration> =
        set.iter().filter(|x| x.version > from && x.version <= to).collect();
    let targets = chain_targets(inst, &checked, from, to);
    let split = if given {
        checked.len()
    } else {
        first_part(checked.len())
    };
    let (mine, theirs) = checked.split_at(split);
    let total = checked.len();
    std::thread::scope(|scope| {
        let second = (!given).then(|| {
            let (ctx, targets) = (&ctx, &targets);
            let after = mine.last().map_or(from, |x| x.version);
            scope.spawn(move || second_half(ctx, after, theirs, targets))
        });
        let mut index = 0;
        let mut report_step = |check: &StepCheck| {
            progress.step(check, index, total);
            index += 1;
        };
        let Some(mut half) = steps_in(&ctx, &mut first, from, mine, &mut report_step)? else {
            return Ok(None);
        };
        let chain = match second {
            Some(handle) => {
                let Some((rest, descended)) = handle.join().expect("the second half does not panic")? else {
                    return Ok(None);
                };
                if half.stopped.is_none() {
                    for check in &rest.steps {
                        report_step(check);
                    }
                    half.steps.extend(rest.steps);
                    half.met.extend(rest.met);
                    half.stopped = rest.stopped;
                }
                match half.stopped {
                    None => compare_chain(descended, &half.met),
                    Some(_) => Vec::new(),
                }
            }
            None if half.stopped.is_none() => {
                let descended = go_down(&ctx, &mut first, &targets, Some(&half.met))?;
                let chain = compare_chain(descended, &half.met);
                if !first.agrees(&ctx)? {
                    return Ok(None);
                }
                chain
            }
            None => Vec::new(),
        };
        let ok = half.stopped.is_none() && half.steps.iter().all(|s| s.result.ok()) && chain.iter().all(ChainCheck::ok);
        let report = VerifyReport {
            engine: first.scratch.url().kind(),
            scratch: first.scratch.url().safe().to_string(),
            steps: half.steps,
            chain,
            stopped: half.stopped,
            ok,
            ms: started.elapsed().as_millis() as u64,
            unrecorded: None,
        };
        drop(first);
        Ok(Some(report))
    })
}

/// Where the chain went: the schema at each target reached, or why the
/// revert to it failed (which ends it).
type Descended = Vec<(u64, Option<String>, std::result::Result<Snapshot, String>)>;

/// The second database: the migrations up to `after` applied, the rest
/// (`part`) checked, then down from the head to each target, the schema at
/// each kept for comparing once the first database's are known. `Ok(None)`:
/// tracked, the schema its event triggers followed is not the catalogue's.
fn second_half(
    ctx: &Ctx<'_>,
    after: u64,
    part: &[&crate::migration::Migration],
    targets: &[(u64, Option<String>)],
) -> Result<Option<(Half, Descended)>> {
    let started = Instant::now();
    let mut db = Db::make(ctx)?;
    let all = MigrateOptions {
        phases: Phases::All,
        ..MigrateOptions::default()
    };
    if after > 0
        && let Err(e) =
            db.m.migrate(ctx.set, MigrateOptions { to: Some(after), ..all }, &mut ())
    {
        // The first database meets the same failure and reports it.
        let half = Half {
            stopped: Some(format!("applying the migrations up to {after}: {}", err_text(&e))),
            ..Half::default()
        };
        return Ok(Some((half, Vec::new())));
    }
    let Some(half) = steps_in(ctx, &mut db, after, part, &mut |_| {})? else {
        return Ok(None);
    };
    let mut descended = Vec::new();
    if half.stopped.is_none() {
        // The first database's schemas are not known yet: compared after.
        descended = go_down(ctx, &mut db, targets, None)?;
        if !db.agrees(ctx)? {
            return Ok(None);
        }
    }
    tracing::debug!(
        "verify: the second half and the chain, {} ms",
        started.elapsed().as_millis()
    );
    Ok(Some((half, descended)))
}

/// From the head down to each target in turn, the schema read at each;
/// ends at a revert that fails, or, with `met`, at the first schema that
/// differs from the one met there on the way up.
fn go_down(
    ctx: &Ctx<'_>,
    db: &mut Db,
    targets: &[(u64, Option<String>)],
    met: Option<&BTreeMap<u64, Snapshot>>,
) -> Result<Descended> {
    let mut descended = Vec::new();
    for (target, release) in targets {
        let now = match db.m.revert(ctx.set, RevertTarget::To(*target), &mut ()) {
            Ok(_) => Ok(db.read(ctx)?),
            Err(e) => Err(err_text(&e)),
        };
        let broke = match (&now, met) {
            (Err(_), _) => true,
            (Ok(now), Some(met)) => met.get(target).is_some_and(|was| now != was),
            (Ok(_), None) => false,
        };
        descended.push((*target, release.clone(), now));
        if broke {
            break;
        }
    }
    Ok(descended)
}

/// The chain checks from where the second database went, each compared with
/// the schema met there on the way up; ends at the first that differs.
fn compare_chain(descended: Descended, met: &BTreeMap<u64, Snapshot>) -> Vec<ChainCheck> {
    let mut chain = Vec::new();
    for (to, release, now) in descended {
        let mut check = ChainCheck {
            to,
            release,
            error: None,
            differences: Vec::new(),
        };
        match now {
            Err(e) => check.error = Some(e),
            Ok(now) => {
                if let Some(was) = met.get(&to) {
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
    chain
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

/// ferry's own tables, left out of every snapshot.
pub(crate) fn ferry_tables(settings: &Settings) -> Vec<String> {
    settings.own_tables()
}
