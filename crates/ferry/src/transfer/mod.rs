//! `ferry db transfer`: an installation's data copied into an empty
//! database of another engine (or another server of the same one). The
//! target's schema comes from its own engine's migrations, applied up to
//! the source's schema head, so its history is right; the rows follow,
//! table by table in foreign-key order, converted to what each target
//! column holds; sequences are moved past the copied keys; every table's
//! row count and content checksum are compared on both sides; the
//! installed release is carried over. The source is only read, in one
//! consistent snapshot. A transfer that fails leaves the target empty
//! again.

mod io;
mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde::Serialize;

use self::io::{Db, TableDef};
use self::value::{Category, Checksum, Value, canonical, convert, shown};
use crate::engine::catalog::ident as quote;
use crate::error::{Error, Result};
use crate::migration::MigrateOptions;
use crate::migrator::Migrator;
use crate::project::{Access, Installation};
use crate::url::{DatabaseUrl, EngineKind};

/// What to transfer.
#[derive(Debug, Clone, Default)]
pub struct TransferOptions {
    /// Only these tables (default: every table of the application).
    pub tables: Vec<String>,
    /// Say what would be done; change nothing.
    pub dry_run: bool,
}

/// One table's transfer.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    /// The table.
    pub table: String,
    /// Its rows, on both sides.
    pub rows: u64,
    /// Its content checksum, the same on both sides (engine-independent).
    pub checksum: String,
    /// How long copying and checking it took.
    pub ms: u64,
}

/// What a transfer did (or, dry, would do).
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    /// The source (password redacted).
    pub from: String,
    /// The target (password redacted).
    pub to: String,
    /// The schema head the target was migrated to.
    pub schema: Option<u64>,
    /// The installed release, carried over.
    pub release: Option<String>,
    /// The target's migrations applied.
    pub migrations: usize,
    /// Each table, in the order copied.
    pub tables: Vec<TableReport>,
    /// True when nothing was changed.
    pub dry_run: bool,
    /// How long it all took.
    pub ms: u64,
}

/// Something a transfer tells as it goes.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Step<'a> {
    /// The target's migrations are being applied.
    Migrating(usize),
    /// A table is being copied.
    Copying(&'a str),
    /// A table is being checked on the target.
    Checking(&'a str),
}

impl std::fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Migrating(n) => write!(f, "applying the target's {n} migrations"),
            Step::Copying(t) => write!(f, "copying {t}"),
            Step::Checking(t) => write!(f, "checking {t} on the target"),
        }
    }
}

/// Copies the installation's database into the empty database at `to`.
pub fn transfer(
    inst: &Installation,
    access: &Access,
    to: &str,
    options: &TransferOptions,
    progress: &mut dyn FnMut(Step<'_>),
) -> Result<TransferReport> {
    // The source's journal must keep describing what is there.
    crate::records::run::refuse_if_unfinished(&mut *inst.state(access)?)?;
    let started = Instant::now();
    let (mut source_migrator, source_url) = inst.connect(access)?;
    let target_url =
        DatabaseUrl::parse(to, inst.project.root()).map_err(|p| Error::Config(crate::Problems(vec![p])))?;
    if target_url.kind() == EngineKind::Sqlite {
        return Err(Error::refusal(
            "ferry transfers into PostgreSQL or MariaDB, not into SQLite",
            "give --to a postgres:// or mysql:// URL",
        ));
    }
    if target_url.expose_secret() == source_url.expose_secret() {
        return Err(Error::refusal(
            "the target is the project's own database",
            "give --to the URL of another, empty database",
        ));
    }
    // The source's history read against its own engine's folder.
    let source_set = inst.project.migrations_for(Some(source_url.expose_secret()))?;
    let status = source_migrator.status(&source_set)?;
    if let Some(m) = status
        .migrations
        .iter()
        .find(|m| m.state == crate::migration::State::Failed)
    {
        return Err(Error::refusal(
            format!("migration {} failed part-way in the source database", m.name),
            "repair the source first (`ferry db repair`), then transfer",
        ));
    }
    let head = status.current;
    let release = source_migrator.installed()?.map(|r| r.version);
    let settings = inst.project.settings_for(access);
    // ferry's own tables: the target's migrations and the release record
    // make the target's, never a copy of the source's (nor its run state).
    let own: Vec<String> = settings.own_tables();
    let target_set = inst.project.migrations_for(Some(to))?;
    if let Some(h) = head
        && !target_set.iter().any(|m| m.version == h)
    {
        return Err(Error::refusal(
            format!(
                "the source is at migration {h}, which the {} migrations lack",
                target_url.kind().key()
            ),
            format!(
                "add migration {h} to {}",
                inst.project.migrations_dir_for(target_url.kind()).display()
            ),
        ));
    }
    let to_apply = target_set
        .iter()
        .filter(|m| head.is_some_and(|h| m.version <= h))
        .count();

    let mut src = Db::open(&source_url)?;
    let mut dst = Db::open(&target_url)?;
    let present = dst.objects()?;
    if !present.is_empty() {
        return Err(Error::refusal(
            format!(
                "the target database is not empty: it holds {} ({})",
                present.len(),
                list(&present, 5)
            ),
            "transfer into a new, empty database (CREATE DATABASE ...); a transfer that was killed part-way leaves its target so: drop that database and create it again",
        ));
    }
    let mut tables = src.tables(&own)?;
    if !options.tables.is_empty() {
        for want in &options.tables {
            if !tables.iter().any(|t| &t.name == want) {
                return Err(Error::refusal(
                    format!("--tables names {want}, which the source database does not have"),
                    format!(
                        "name tables of the source: {}",
                        list(&tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>(), 8)
                    ),
                ));
            }
        }
        tables.retain(|t| options.tables.contains(&t.name));
    }
    let mut report = TransferReport {
        from: source_url.safe().to_string(),
        to: target_url.safe().to_string(),
        schema: head,
        release: release.clone(),
        migrations: to_apply,
        tables: Vec::new(),
        dry_run: options.dry_run,
        ms: 0,
    };
    if options.dry_run {
        for t in &tables {
            let n = count(&mut src, &t.name)?;
            report.tables.push(TableReport {
                table: t.name.clone(),
                rows: n,
                checksum: String::new(),
                ms: 0,
            });
        }
        report.ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }

    // From here on, a failure empties the target again.
    progress(Step::Migrating(to_apply));
    let done = (|| -> Result<Vec<TableReport>> {
        let mut target = Migrator::connect(&target_url, settings.clone())?;
        target.migrate(
            &target_set,
            MigrateOptions {
                to: Some(head.unwrap_or(0)),
                ..MigrateOptions::default()
            },
            &mut (),
        )?;
        drop(target);
        let copied = copy(&mut src, &mut dst, &tables, &own, progress)?;
        let mut target = Migrator::connect(&target_url, settings.clone())?;
        if let Some(v) = &release {
            let v = crate::version::Version::parse(v).map_err(|m| {
                Error::refusal(
                    format!("the source's installed release: {m}"),
                    "record it with `ferry adopt VERSION`",
                )
            })?;
            target.record_release(&v, "transfer")?;
        }
        Ok(copied)
    })();
    // The load's connections end first: an open transaction on the
    // target would hold locks that emptying it waits for.
    drop(dst);
    drop(src);
    match done {
        Ok(t) => report.tables = t,
        Err(e) => {
            let emptied = match Db::open(&target_url).and_then(|mut d| d.empty()) {
                Ok(()) => "the target was emptied again".to_owned(),
                Err(c) => format!("emptying the target failed too: {c}"),
            };
            return Err(match e {
                Error::Refused(crate::Problems(mut p)) if !p.is_empty() => {
                    p[0].message = format!("{}; {emptied}", p[0].message);
                    Error::Refused(crate::Problems(p))
                }
                other => Error::refusal(
                    format!("the transfer failed: {other}; {emptied}"),
                    "fix the cause and transfer again",
                ),
            });
        }
    }
    report.ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

fn count(db: &mut Db, table: &str) -> Result<u64> {
    let kind = db.kind();
    let rows = db.rows(&format!("SELECT count(*) FROM {}", quote(kind, table)))?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

/// At most `max` names, then how many more.
fn list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{}, and {} more", items[..max].join(", "), items.len() - max)
    }
}

/// Orders `tables` so that each comes after those it references.
fn in_key_order(tables: &[TableDef], refs: &[(String, String)]) -> Result<Vec<TableDef>> {
    let names: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut needs: BTreeMap<&str, BTreeSet<&str>> = names.iter().map(|n| (*n, BTreeSet::new())).collect();
    for (child, parent) in refs {
        if child != parent && names.contains(child.as_str()) && names.contains(parent.as_str()) {
            needs.entry(child.as_str()).or_default().insert(parent.as_str());
        }
    }
    let mut out = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    while placed.len() < names.len() {
        let ready: Vec<&str> = needs
            .iter()
            .filter(|(n, deps)| !placed.contains(**n) && deps.iter().all(|d| placed.contains(d)))
            .map(|(n, _)| *n)
            .collect();
        if ready.is_empty() {
            let left: Vec<String> = names
                .iter()
                .filter(|n| !placed.contains(**n))
                .map(|n| n.to_string())
                .collect();
            return Err(Error::refusal(
                format!("tables reference each other in a cycle: {}", left.join(", ")),
                "transfer them with a target whose foreign keys are deferrable, or copy those tables by hand",
            ));
        }
        for n in ready {
            placed.insert(n);
            out.push(tables.iter().find(|t| t.name == n).expect("listed").clone());
        }
    }
    Ok(out)
}

/// The key of a row, for an error: `id=5` (or the first column's value).
fn row_key(t: &TableDef, cols: &[String], row: &[Value]) -> String {
    let key: Vec<&String> = if t.key.is_empty() {
        cols.iter().take(1).collect()
    } else {
        t.key.iter().collect()
    };
    key.iter()
        .filter_map(|k| {
            cols.iter()
                .position(|c| c == *k)
                .map(|i| format!("{k}={}", shown(&row[i])))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn copy(
    src: &mut Db,
    dst: &mut Db,
    tables: &[TableDef],
    own: &[String],
    progress: &mut dyn FnMut(Step<'_>),
) -> Result<Vec<TableReport>> {
    let target_tables = dst.tables(own)?;
    let mysql = dst.kind() == EngineKind::MySql;
    let order = in_key_order(tables, &dst.references()?)?;
    // The source in one consistent snapshot; the target loaded in one
    // transaction (PostgreSQL) or with its foreign keys checked by the
    // verification instead of row by row (MariaDB, whose multi-row inserts
    // would refuse a table that references itself in a later row).
    src.exec(match src.kind() {
        EngineKind::Sqlite => "BEGIN",
        EngineKind::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        EngineKind::MySql => "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    })?;
    dst.exec(if mysql { "SET FOREIGN_KEY_CHECKS = 0" } else { "BEGIN" })?;
    let mut plans = Vec::new();
    for t in &order {
        let Some(target) = target_tables.iter().find(|d| d.name == t.name) else {
            return Err(Error::refusal(
                format!(
                    "table {} is in the source, but the target's migrations did not create it",
                    t.name
                ),
                "the target engine's migrations must create every table of the source's",
            ));
        };
        let mut cols = Vec::new();
        let mut cats = Vec::new();
        for c in &t.columns {
            let Some(dc) = target.columns.iter().find(|d| d.name.eq_ignore_ascii_case(&c.name)) else {
                return Err(Error::refusal(
                    format!("column {}.{} is in the source, but not in the target", t.name, c.name),
                    "the target engine's migrations must create every column of the source's",
                ));
            };
            cols.push(c.name.clone());
            cats.push(Category::of(&dc.data_type, &dc.column_type, mysql));
        }
        plans.push((t.clone(), cols, cats));
    }
    let mut sums = Vec::new();
    for (t, cols, cats) in &plans {
        progress(Step::Copying(&t.name));
        let began = Instant::now();
        let mut sum = Checksum::default();
        let mut writer = dst.writer(&t.name, cols, cats)?;
        // Values read back from PostgreSQL's COPY text are typed by the
        // target's categories; SQLite's and MariaDB's carry their own.
        let mut failed: Option<Error> = None;
        let read = src.read(&t.name, cols, cats, &mut |row| {
            let mut out = Vec::with_capacity(row.len());
            let mut canon = Vec::with_capacity(row.len());
            for (i, (v, cat)) in row.iter().zip(cats.iter()).enumerate() {
                let c = convert(v, *cat).map_err(|why| {
                    Error::refusal(
                        format!(
                            "table {}, row {}, column {}: {why}, which its {} column cannot hold",
                            t.name,
                            row_key(t, cols, &row),
                            cols[i],
                            format!("{cat:?}").to_lowercase()
                        ),
                        "fix the value in the source, or the column's type in the target engine's migrations",
                    )
                })?;
                canon.push(canonical(&c, *cat).map_err(|e| Error::db("cannot check a value", e))?);
                out.push(c);
            }
            sum.add(&canon);
            writer.row(&out)
        });
        if let Err(e) = read {
            failed = Some(e);
        }
        let finished = writer.finish();
        if let Some(e) = failed {
            return Err(e);
        }
        finished.map_err(|e| {
            Error::refusal(
                format!("loading table {} failed: {e}", t.name),
                "fix the cause and transfer again",
            )
        })?;
        crate::crash::point("FERRY_TEST_CRASH_TRANSFER", &t.name);
        sums.push((t.name.clone(), sum, began.elapsed()));
    }
    dst.exec(if mysql { "SET FOREIGN_KEY_CHECKS = 1" } else { "COMMIT" })?;
    src.exec("COMMIT")?;
    if dst.kind() == EngineKind::Postgres {
        reset_sequences(dst)?;
    }
    // Every table read back from the target and compared.
    let mut out = Vec::new();
    for ((t, cols, cats), (name, want, took)) in plans.iter().zip(sums) {
        progress(Step::Checking(&name));
        let began = Instant::now();
        let mut got = Checksum::default();
        dst.read(&t.name, cols, cats, &mut |row| {
            let canon = row
                .iter()
                .zip(cats.iter())
                .map(|(v, c)| canonical(v, *c).map_err(|e| Error::db("cannot check a value", e)))
                .collect::<Result<Vec<_>>>()?;
            got.add(&canon);
            Ok(())
        })?;
        if got != want {
            return Err(Error::refusal(
                format!(
                    "table {name} differs after the copy: the target holds {} rows (checksum {}), the source {} (checksum {})",
                    got.rows,
                    got.hex(),
                    want.rows,
                    want.hex()
                ),
                "a column of the target may round or truncate values: compare its type with the source's",
            ));
        }
        out.push(TableReport {
            table: name,
            rows: got.rows,
            checksum: got.hex(),
            ms: (took + began.elapsed()).as_millis() as u64,
        });
    }
    Ok(out)
}

/// Moves every sequence (serial and identity columns) past the largest
/// key copied, so that the application's next insert does not collide.
fn reset_sequences(dst: &mut Db) -> Result<()> {
    let kind = dst.kind();
    let cols = dst.rows(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')",
    )?;
    for r in cols {
        let (t, c) = (quote(kind, &r[0]), quote(kind, &r[1]));
        dst.exec(&format!(
            "SELECT setval(pg_get_serial_sequence('{}', '{}'), COALESCE((SELECT max({c}) FROM {t}), 0) + 1, false)",
            t.replace('\'', "''"),
            r[1].replace('\'', "''")
        ))?;
    }
    Ok(())
}

/// `ferry backup restore ID --transfer`: a backup of a SQLite database
/// moved into the empty database at `to` (of another engine), through the
/// same path as [`transfer`]: the backup is verified and its database
/// extracted into a work folder, which is the transfer's source.
pub fn from_backup(
    inst: &Installation,
    access: &Access,
    store: &crate::backup::Store,
    entry: &crate::backup::Entry,
    to: &str,
    options: &TransferOptions,
    progress: &mut dyn FnMut(Step<'_>),
) -> Result<TransferReport> {
    let work = crate::backup::Work::new(store)?;
    let manifest = crate::backup::extracted(store, entry, work.path(), "transferred")?;
    // A SQLite backup is a database file: the transfer reads it where it
    // was extracted. A server's dump is restored into a scratch database
    // beside the project's own (of the backup's engine) first.
    let mut scratch = None;
    let source = if manifest.dump_format == crate::backup::DumpFormat::SqliteFile {
        format!("sqlite://{}", work.path().join("dump").display())
    } else {
        let live = inst.url(&Access::default())?;
        if live.kind() != manifest.engine {
            return Err(Error::refusal(
                format!(
                    "backup {} holds a {} dump, and ferry.toml's database, where a scratch copy would be restored, is {}",
                    entry.id,
                    manifest.engine.name(),
                    live.kind().name()
                ),
                "restore it into a database of its own engine (`ferry --database-url URL backup restore ID --create`), then `ferry --database-url URL db transfer --to TARGET`",
            ));
        }
        let s = crate::engine::scratch::Scratch::create(&live, "transfer")?;
        crate::backup::restore_dump(s.url(), &manifest, work.path(), &entry.id)?;
        let url = s.url().expose_secret().to_owned();
        scratch = Some(s);
        url
    };
    let access = Access {
        database_url: Some(source),
        ..access.clone()
    };
    let result = transfer(inst, &access, to, options, progress);
    // The scratch copy goes whatever happened.
    drop(scratch);
    let mut report = result?;
    report.from = format!("backup {}", entry.id);
    Ok(report)
}
