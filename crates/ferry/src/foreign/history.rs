//! Reading another tool's history table, as that tool writes it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::{Tool, time};
use crate::engine::Engine;
use crate::engine::catalog::{as_text, columns, ident};
use crate::error::{Error, Result};
use crate::problem::Problem;

/// How a migration stands in the other tool's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "why")]
pub enum ForeignState {
    /// Applied.
    Applied,
    /// Failed, or left dirty: why, in words.
    Failed(String),
    /// Flyway's baseline: everything up to it counts as applied.
    Baseline,
}

/// One migration the other tool recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignRow {
    /// The tool's version or revision, as it stores it.
    pub version: String,
    /// The name or description it recorded, if any.
    pub name: Option<String>,
    /// When it was applied, if recorded.
    pub applied_at: Option<Timestamp>,
    /// Applied, failed or a baseline.
    pub state: ForeignState,
    /// The tool's own checksum, kept as it is (not a ferry checksum).
    pub checksum: Option<String>,
}

/// What another tool's history says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForeignHistory {
    /// One row per migration applied (most tools).
    Rows(Vec<ForeignRow>),
    /// Everything up to this version is applied; `dirty` when it failed
    /// part-way (golang-migrate keeps one row).
    UpTo {
        /// The tool's version.
        version: String,
        /// Whether the tool marked it dirty.
        dirty: bool,
    },
    /// The revisions at the heads of the graph: they and all their
    /// ancestors are applied (Alembic).
    Heads(Vec<String>),
}

/// The columns of a hand-rolled history table (`[adopt]` in ferry.toml).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableColumns {
    /// The column holding the version.
    pub version: String,
    /// The column holding the name, if any.
    pub name: Option<String>,
    /// The column holding when it was applied, if any.
    pub applied_at: Option<String>,
}

fn truthy(v: Option<&str>) -> bool {
    matches!(
        v.map(str::to_ascii_lowercase).as_deref(),
        Some("t" | "true" | "1" | "yes")
    )
}

/// Reads `table`, written by `tool`. A table that is not there is refused
/// with the fix.
pub fn read(
    engine: &mut dyn Engine,
    tool: Tool,
    table: &str,
    hand_rolled: Option<&TableColumns>,
) -> Result<ForeignHistory> {
    let kind = engine.kind();
    let cols = columns(engine, table)?;
    if cols.is_empty() {
        return Err(Error::refused(
            Problem::general(format!("the database has no table {table}, where {tool} would keep its history"))
                .help("name the table with --table NAME (a tool configured with another table name), or check the database URL"),
        ));
    }
    let missing: Vec<&str> = needed(tool, hand_rolled)
        .into_iter()
        .filter(|c| !cols.iter().any(|x| x.eq_ignore_ascii_case(c)))
        .collect();
    if !missing.is_empty() {
        return Err(Error::refused(
            Problem::general(format!(
                "the table {table} has no column {} (its columns: {}), so {tool} did not write it",
                missing.join(", "),
                cols.join(", ")
            ))
            .help(match tool {
                Tool::Table => {
                    "name its columns in ferry.toml: [adopt] version = \"...\", name = \"...\", applied_at = \"...\""
                }
                _ => "pick the tool that wrote it (`--from`), or `--from table` with [adopt] columns in ferry.toml",
            }),
        ));
    }
    let t = ident(kind, table);
    let text = |c: &str| as_text(kind, &ident(kind, c));
    let query = |engine: &mut dyn Engine, sql: String| {
        engine
            .query(&sql)
            .map_err(|e| Error::db(format!("cannot read {table}"), e.message))
    };
    let cell = |r: &Vec<Option<String>>, i: usize| r.get(i).cloned().flatten();
    let at = |r: &Vec<Option<String>>, i: usize| cell(r, i).as_deref().and_then(time::parse);
    Ok(match tool {
        Tool::Alembic => {
            let rows = query(engine, format!("SELECT {} FROM {t}", text("version_num")))?;
            ForeignHistory::Heads(rows.iter().filter_map(|r| cell(r, 0)).collect())
        }
        Tool::GolangMigrate => {
            let rows = query(
                engine,
                format!("SELECT {}, {} FROM {t}", text("version"), text("dirty")),
            )?;
            // One row; an older layout kept several: the newest counts.
            let newest = rows
                .iter()
                .filter_map(|r| Some((cell(r, 0)?.parse::<u64>().ok()?, truthy(cell(r, 1).as_deref()))))
                .max();
            match newest {
                Some((v, dirty)) => ForeignHistory::UpTo {
                    version: v.to_string(),
                    dirty,
                },
                None => ForeignHistory::Rows(Vec::new()),
            }
        }
        Tool::Flyway => {
            let rows = query(
                engine,
                format!(
                    "SELECT {}, {}, {}, {}, {}, {} FROM {t} ORDER BY installed_rank",
                    text("version"),
                    text("description"),
                    text("type"),
                    text("checksum"),
                    text("installed_on"),
                    text("success")
                ),
            )?;
            // The last row of each version decides (an undo or a delete
            // takes it back); rows without a version are repeatables.
            let mut by_version: BTreeMap<String, Option<ForeignRow>> = BTreeMap::new();
            let mut order = Vec::new();
            for r in &rows {
                let Some(version) = cell(r, 0) else { continue };
                let ty = cell(r, 2).unwrap_or_default().to_ascii_uppercase();
                let row = match ty.as_str() {
                    "SCHEMA" => continue,
                    "UNDO_SQL" | "UNDO_JDBC" | "DELETE" => None,
                    _ => Some(ForeignRow {
                        version: version.clone(),
                        name: cell(r, 1),
                        applied_at: at(r, 4),
                        state: if ty == "BASELINE" {
                            ForeignState::Baseline
                        } else if truthy(cell(r, 5).as_deref()) {
                            ForeignState::Applied
                        } else {
                            ForeignState::Failed("failed under Flyway (success = false)".into())
                        },
                        checksum: cell(r, 3),
                    }),
                };
                if !by_version.contains_key(&version) {
                    order.push(version.clone());
                }
                by_version.insert(version, row);
            }
            ForeignHistory::Rows(
                order
                    .into_iter()
                    .filter_map(|v| by_version.remove(&v).flatten())
                    .collect(),
            )
        }
        Tool::Sqlx => {
            let checksum = crate::engine::dialect(kind).hex_text("checksum");
            let rows = query(
                engine,
                format!(
                    "SELECT {}, {}, {}, {}, {checksum} FROM {t} ORDER BY version",
                    text("version"),
                    text("description"),
                    text("installed_on"),
                    text("success"),
                ),
            )?;
            ForeignHistory::Rows(
                rows.iter()
                    .filter_map(|r| {
                        Some(ForeignRow {
                            version: cell(r, 0)?,
                            name: cell(r, 1),
                            applied_at: at(r, 2),
                            state: if truthy(cell(r, 3).as_deref()) {
                                ForeignState::Applied
                            } else {
                                ForeignState::Failed("failed under sqlx (success = false)".into())
                            },
                            checksum: cell(r, 4).map(|c| c.to_ascii_lowercase()),
                        })
                    })
                    .collect(),
            )
        }
        Tool::Diesel => simple(engine, &t, &text("version"), None, Some(&text("run_on")), table)?,
        Tool::Dbmate => simple(engine, &t, &text("version"), None, None, table)?,
        Tool::Refinery => simple(
            engine,
            &t,
            &text("version"),
            Some(&text("name")),
            Some(&text("applied_on")),
            table,
        )?,
        Tool::Goose => {
            let rows = query(
                engine,
                format!(
                    "SELECT {}, {}, {} FROM {t} ORDER BY id",
                    text("version_id"),
                    text("is_applied"),
                    text("tstamp")
                ),
            )?;
            // The newest row of each version wins; version 0 is goose's own marker.
            let mut latest: BTreeMap<String, (bool, Option<Timestamp>)> = BTreeMap::new();
            for r in &rows {
                let Some(v) = cell(r, 0).filter(|v| v != "0") else {
                    continue;
                };
                latest.insert(v, (truthy(cell(r, 1).as_deref()), at(r, 2)));
            }
            ForeignHistory::Rows(
                latest
                    .into_iter()
                    .filter(|(_, (applied, _))| *applied)
                    .map(|(version, (_, applied_at))| ForeignRow {
                        version,
                        name: None,
                        applied_at,
                        state: ForeignState::Applied,
                        checksum: None,
                    })
                    .collect(),
            )
        }
        Tool::Table => {
            let c = hand_rolled.cloned().unwrap_or_default();
            simple(
                engine,
                &t,
                &text(&c.version),
                c.name.as_deref().map(text).as_deref(),
                c.applied_at.as_deref().map(text).as_deref(),
                table,
            )?
        }
    })
}

/// The columns `tool` writes that adopting reads.
fn needed(tool: Tool, hand_rolled: Option<&TableColumns>) -> Vec<&str> {
    match tool {
        Tool::Alembic => vec!["version_num"],
        Tool::GolangMigrate => vec!["version", "dirty"],
        Tool::Flyway => vec![
            "version",
            "description",
            "type",
            "checksum",
            "installed_on",
            "success",
            "installed_rank",
        ],
        Tool::Sqlx => vec!["version", "description", "installed_on", "success", "checksum"],
        Tool::Diesel => vec!["version", "run_on"],
        Tool::Dbmate => vec!["version"],
        Tool::Refinery => vec!["version", "name", "applied_on"],
        Tool::Goose => vec!["id", "version_id", "is_applied", "tstamp"],
        Tool::Table => match hand_rolled {
            Some(c) => std::iter::once(c.version.as_str())
                .chain(c.name.as_deref())
                .chain(c.applied_at.as_deref())
                .collect(),
            None => vec!["version"],
        },
    }
}

/// A table with one row per applied migration.
fn simple(
    engine: &mut dyn Engine,
    t: &str,
    version: &str,
    name: Option<&str>,
    applied_at: Option<&str>,
    table: &str,
) -> Result<ForeignHistory> {
    let sql = format!(
        "SELECT {version}, {}, {} FROM {t}",
        name.unwrap_or("NULL"),
        applied_at.unwrap_or("NULL")
    );
    let rows = engine
        .query(&sql)
        .map_err(|e| Error::db(format!("cannot read {table}"), e.message))?;
    Ok(ForeignHistory::Rows(
        rows.into_iter()
            .filter_map(|r| {
                let mut r = r.into_iter();
                let version = r.next().flatten()?;
                let name = r.next().flatten();
                let applied_at = r.next().flatten().as_deref().and_then(time::parse);
                Some(ForeignRow {
                    version,
                    name,
                    applied_at,
                    state: ForeignState::Applied,
                    checksum: None,
                })
            })
            .collect(),
    ))
}
