//! `ferry db adopt`: takes over a database another tool migrated. Reads
//! its history, finds each migration it applied in the folder (through
//! `IMPORTED.toml` when the folder was imported), and records exactly those
//! as applied in ferry's history, with the times the tool recorded. Nothing
//! runs. The other tool's table is left as it was unless asked.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::engine::history::literal;
use crate::engine::{HistoryChange, HistoryTable, catalog, in_transaction};
use crate::error::{Error, Result};
use crate::foreign::{ForeignHistory, ForeignState, TableColumns, Tool, read, time};
use crate::import::ImportMap;
use crate::migration::MigrationSet;
use crate::migrator::Migrator;
use crate::problem::{Problem, Problems};

/// What `ferry db adopt` is asked to do.
#[derive(Debug, Clone)]
pub struct AdoptOptions {
    /// The tool that wrote the history.
    pub tool: Tool,
    /// Its table, when not the tool's default (required for `table`).
    pub table: Option<String>,
    /// The columns of a hand-rolled table.
    pub columns: Option<TableColumns>,
    /// Only say what would be recorded.
    pub dry_run: bool,
    /// Record what matches even when the history and the folder disagree.
    pub allow_gaps: bool,
    /// Drop the other tool's table once its history is in ferry's.
    pub drop_foreign: bool,
}

/// One migration recorded as applied (or failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdoptedRow {
    /// ferry's version.
    pub version: u64,
    /// ferry's name.
    pub name: String,
    /// The version the tool knows it by.
    pub tool_version: String,
    /// When the tool applied it (ISO 8601, UTC), if it recorded it.
    pub applied_at: Option<String>,
    /// `applied`, `failed` or `baseline`.
    pub state: &'static str,
    /// For a failed one: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The tool's own checksum, kept in `<history>_adopted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_checksum: Option<String>,
}

/// What `ferry db adopt` did (or would do).
#[derive(Debug, Clone, Serialize)]
pub struct AdoptReport {
    /// The tool.
    pub tool: Tool,
    /// Its history table.
    pub table: String,
    /// Nothing was written.
    pub dry_run: bool,
    /// The migrations recorded, in order.
    pub adopted: Vec<AdoptedRow>,
    /// Where the history and the folder disagree.
    pub gaps: Vec<String>,
    /// Migrations of the folder newer than anything the tool applied: what
    /// `ferry db migrate` applies next.
    pub pending: Vec<String>,
    /// Whether the other tool's table was dropped.
    pub dropped: bool,
}

/// Reads the other tool's history and, unless `dry_run`, records it as
/// ferry's. Refuses when ferry already has a history, and when the history
/// and the folder disagree (unless `allow_gaps`), naming each migration.
pub fn adopt(
    migrator: &mut Migrator,
    set: &MigrationSet,
    map: Option<&ImportMap>,
    opts: &AdoptOptions,
) -> Result<AdoptReport> {
    let tool = opts.tool;
    if let Some(m) = map
        && m.tool != tool.name()
    {
        return Err(Error::refused(
            Problem::general(format!(
                "the migrations folder was imported from {} (IMPORTED.toml), not {tool}",
                m.tool
            ))
            .help(format!("adopt with `--from {}`", m.tool)),
        ));
    }
    let table = match (&opts.table, tool.default_table()) {
        (Some(t), _) => t.clone(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => {
            return Err(Error::refused(
                Problem::general("`--from table` needs the table's name").help(
                    "name it with --table NAME, or in ferry.toml: [adopt] table = \"schema_migrations\", with its version (and name, applied_at) columns",
                ),
            ));
        }
    };
    if let Some(row) = migrator.history()?.first() {
        return Err(Error::refused(
            Problem::general(format!(
                "ferry already has a history in {} (from {}): the database is ferry's already",
                migrator.settings().history_table,
                row.name
            ))
            .help("adopting is for a database ferry has never recorded; `ferry db status` shows where it is"),
        ));
    }
    let history = read(migrator.engine(), tool, &table, opts.columns.as_ref())?;
    let plan = match_history(set, map, tool, &history)?;
    let mut gaps = plan.gaps;
    let newest = plan.rows.iter().map(|r| r.version).max().unwrap_or(0);
    let adopted: BTreeSet<u64> = plan.rows.iter().map(|r| r.version).collect();
    for m in set
        .iter()
        .filter(|m| m.version < newest && !adopted.contains(&m.version))
    {
        gaps.push(format!(
            "the folder has {}, which {tool}'s history does not have (older than {} it applied)",
            m.label(),
            set.get(newest).map_or_else(|| newest.to_string(), |n| n.label())
        ));
    }
    let pending: Vec<String> = set.iter().filter(|m| m.version > newest).map(|m| m.label()).collect();
    if !gaps.is_empty() && !opts.allow_gaps {
        let shown: Vec<Problem> = gaps
            .iter()
            .take(10)
            .map(|g| Problem::general(g.clone()))
            .chain((gaps.len() > 10).then(|| Problem::general(format!("and {} more", gaps.len() - 10))))
            .map(|p| p.help("write the missing migration files (or import the tool's folder with `ferry import`), or pass --allow-gaps to record what matches; --dry-run lists it all"))
            .collect();
        return Err(Error::Refused(Problems(shown)));
    }
    let mut report = AdoptReport {
        tool,
        table: table.clone(),
        dry_run: opts.dry_run,
        adopted: plan.rows,
        gaps,
        pending,
        dropped: false,
    };
    if opts.dry_run {
        return Ok(report);
    }
    write(migrator, set, &report, opts.drop_foreign.then_some(table.as_str()))?;
    report.dropped = opts.drop_foreign;
    Ok(report)
}

struct Matched {
    rows: Vec<AdoptedRow>,
    gaps: Vec<String>,
}

/// Finds each migration of the other tool's history in the folder.
fn match_history(set: &MigrationSet, map: Option<&ImportMap>, tool: Tool, history: &ForeignHistory) -> Result<Matched> {
    let to_ferry = |tool_version: &str| -> Option<u64> {
        if let Some(m) = map {
            if let Some(v) = m.version_of(tool_version) {
                return Some(v);
            }
            if m.renumbered {
                return None;
            }
        }
        let digits = match tool {
            Tool::Diesel => tool_version.replace('-', ""),
            _ => tool_version.trim().to_owned(),
        };
        digits.parse::<u64>().ok().filter(|v| set.get(*v).is_some())
    };
    let name_of = |v: u64| set.get(v).map_or_else(|| v.to_string(), |m| m.label());
    let mut rows = Vec::new();
    let mut gaps = Vec::new();
    let row = |version: u64,
               tool_version: &str,
               applied_at: Option<jiff::Timestamp>,
               state: &ForeignState,
               checksum: Option<String>| AdoptedRow {
        version,
        name: name_of(version),
        tool_version: tool_version.to_owned(),
        applied_at: applied_at.map(|t| t.to_string()),
        state: match state {
            ForeignState::Applied => "applied",
            ForeignState::Failed(_) => "failed",
            ForeignState::Baseline => "baseline",
        },
        error: match state {
            ForeignState::Failed(why) => Some(why.clone()),
            _ => None,
        },
        tool_checksum: checksum,
    };
    match history {
        ForeignHistory::Rows(foreign) => {
            for f in foreign {
                match to_ferry(&f.version) {
                    Some(v) => rows.push(row(v, &f.version, f.applied_at, &f.state, f.checksum.clone())),
                    None => gaps.push(format!(
                        "{tool}'s history has {}{}, which no migration in the folder matches",
                        f.version,
                        f.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
                    )),
                }
            }
        }
        ForeignHistory::UpTo { version, dirty } => {
            let Some(head) = to_ferry(version) else {
                return Err(Error::refused(
                    Problem::general(format!(
                        "{tool}'s history says the database is at {version}, which no migration in the folder matches"
                    ))
                    .help("point ferry at the folder the database was migrated from (`ferry import --from golang-migrate DIR`)"),
                ));
            };
            for m in set.iter().filter(|m| m.version <= head) {
                let state = if *dirty && m.version == head {
                    ForeignState::Failed(format!(
                        "golang-migrate marked {version} dirty: it failed part-way; check the database by hand, then `ferry db repair`"
                    ))
                } else {
                    ForeignState::Applied
                };
                let tool_version = map
                    .and_then(|mm| mm.migrations.iter().find(|x| x.version == m.version))
                    .map_or_else(|| m.version.to_string(), |x| x.tool_version.clone());
                rows.push(row(m.version, &tool_version, None, &state, None));
            }
        }
        ForeignHistory::Heads(heads) => {
            let Some(map) = map.filter(|m| m.tool == Tool::Alembic.name()) else {
                return Err(Error::refused(
                    Problem::general(format!(
                        "Alembic records only the head revision ({}), and its revisions are not versions ferry can find by themselves",
                        heads.join(", ")
                    ))
                    .help("import the Alembic folder first (`ferry import --from alembic alembic/versions`): its IMPORTED.toml maps each revision to a migration"),
                ));
            };
            let by_rev: HashMap<&str, &crate::import::MappedMigration> =
                map.migrations.iter().map(|m| (m.tool_version.as_str(), m)).collect();
            let unknown: Vec<&String> = heads.iter().filter(|h| !by_rev.contains_key(h.as_str())).collect();
            if !unknown.is_empty() {
                return Err(Error::refused(
                    Problem::general(format!(
                        "alembic_version holds {} head{} ({}); the imported folder does not have {}",
                        heads.len(),
                        if heads.len() == 1 { "" } else { "s" },
                        heads.join(", "),
                        unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ))
                    .help("import the folder the database was migrated from, with every branch"),
                ));
            }
            // The heads and all their ancestors are applied.
            let mut applied: BTreeSet<u64> = BTreeSet::new();
            let mut stack: Vec<&str> = heads.iter().map(String::as_str).collect();
            while let Some(rev) = stack.pop() {
                if let Some(m) = by_rev.get(rev)
                    && applied.insert(m.version)
                {
                    stack.extend(m.parents.iter().map(String::as_str));
                }
            }
            for v in applied {
                let tool_version = map
                    .migrations
                    .iter()
                    .find(|m| m.version == v)
                    .map(|m| m.tool_version.clone())
                    .unwrap_or_default();
                rows.push(row(v, &tool_version, None, &ForeignState::Applied, None));
            }
        }
    }
    rows.sort_by_key(|r| r.version);
    rows.dedup_by_key(|r| r.version);
    Ok(Matched { rows, gaps })
}

/// The table that keeps where adopted rows came from.
fn provenance_table(history: &HistoryTable) -> HistoryTable {
    history.sibling("adopted")
}

/// Writes the rows under the migration lock, in one transaction with their
/// provenance; drops the other tool's table after, when asked.
fn write(migrator: &mut Migrator, set: &MigrationSet, report: &AdoptReport, drop: Option<&str>) -> Result<()> {
    let history = migrator.settings().history_table.clone();
    migrator.hold_lock()?;
    let result = (|| {
        let engine = migrator.engine();
        engine.ensure_history(&history)?;
        if !engine.read_history(&history)?.is_empty() {
            return Err(Error::refused(
                Problem::general("another process recorded a history while ferry was reading the other tool's")
                    .help("run `ferry db status` to see where the database is"),
            ));
        }
        let kind = engine.kind();
        let prov = provenance_table(&history);
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {} (version BIGINT NOT NULL PRIMARY KEY, tool VARCHAR(32) NOT NULL, tool_version VARCHAR(255) NOT NULL, tool_checksum VARCHAR(255), adopted_at VARCHAR(40) NOT NULL){}",
            prov.quoted(kind),
            crate::engine::dialect(kind).table_options()
        );
        engine
            .execute(&create)
            .map_err(|e| Error::db(format!("cannot create {prov}"), e.message))?;
        let adopted_at = jiff::Timestamp::now().to_string();
        let mut statements = Vec::new();
        for r in &report.adopted {
            let checksum = set
                .get(r.version)
                .map(|m| m.up.checksum().as_str().to_owned())
                .unwrap_or_default();
            let at = r
                .applied_at
                .as_deref()
                .and_then(time::parse)
                .map(|t| time::literal(kind, t));
            let change = if r.state == "baseline" {
                HistoryChange::Baseline {
                    version: r.version,
                    name: &r.name,
                }
            } else {
                HistoryChange::Adopted {
                    version: r.version,
                    name: &r.name,
                    checksum: &checksum,
                    applied_at: at.as_deref(),
                    error: r.error.as_deref(),
                }
            };
            statements.push(crate::engine::history::change_sql(kind, &history, &change));
            statements.push(format!(
                "INSERT INTO {} (version, tool, tool_version, tool_checksum, adopted_at) VALUES ({}, {}, {}, {}, {})",
                prov.quoted(kind),
                r.version,
                literal(kind, report.tool.name()),
                literal(kind, &r.tool_version),
                r.tool_checksum
                    .as_deref()
                    .map_or_else(|| "NULL".to_owned(), |c| literal(kind, c)),
                literal(kind, &adopted_at)
            ));
        }
        in_transaction(engine, &statements)
            .map_err(|e| Error::db(format!("cannot write to history table {history}"), e.message))?;
        engine.flush()?;
        if let Some(table) = drop {
            engine
                .execute(&format!("DROP TABLE {}", catalog::ident(kind, table)))
                .map_err(|e| Error::db(format!("cannot drop {table}"), e.message))?;
        }
        Ok(())
    })();
    migrator.release_lock();
    result
}
