//! What a rehearsal compares before the upgrade and after its rollback:
//! the schema, each table's rows (count and an order-independent checksum),
//! the config files' bytes and the installed release.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::engine::catalog::ident;
use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::schema::Snapshot;

/// One table's rows, summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rows {
    /// How many.
    pub count: u64,
    /// The wrapping sum of each row's hash: the same rows in any order
    /// give the same sum.
    pub checksum: u64,
}

/// The state of a copy at one moment.
#[derive(Debug, Clone)]
pub struct Capture {
    schema: Snapshot,
    tables: BTreeMap<String, Rows>,
    files: BTreeMap<String, [u8; 32]>,
    installed: Option<String>,
}

/// Every file under `dir`, by path relative to it, leaving out ferry's
/// own state folder. std's read_dir is all this needs.
fn files_under(dir: &Path, out: &mut BTreeMap<String, [u8; 32]>, base: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("cannot read", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot read", dir, e))?;
        let path = entry.path();
        if entry.file_name() == ".ferry" {
            continue;
        }
        let kind = entry.file_type().map_err(|e| Error::io("cannot read", &path, e))?;
        if kind.is_dir() {
            files_under(&path, out, base)?;
        } else if kind.is_file() {
            let bytes = std::fs::read(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            let rel = path.strip_prefix(base).unwrap_or(&path).display().to_string();
            out.insert(rel, Sha256::digest(&bytes).into());
        }
    }
    Ok(())
}

impl Capture {
    /// Reads the state through `migrator` and the files under `config`.
    pub fn take(
        migrator: &mut Migrator,
        skip: &[String],
        config: &Path,
        sqlite_file: Option<&PathBuf>,
    ) -> Result<Self> {
        let installed = migrator.installed()?.map(|r| r.version.to_string());
        let engine = migrator.engine();
        let kind = engine.kind();
        let schema = Snapshot::read(engine, skip)?;
        let mut tables = BTreeMap::new();
        for (name, table) in &schema.tables {
            // Columns by name: a down that puts a column back at the end
            // gives the same rows.
            let columns: Vec<String> = table.columns.keys().map(|c| ident(kind, c)).collect();
            if columns.is_empty() {
                continue;
            }
            let rows = engine
                .query(&format!("SELECT {} FROM {}", columns.join(", "), ident(kind, name)))
                .map_err(|e| Error::db(format!("cannot read table {name}"), e.message))?;
            let mut checksum = 0u64;
            for row in &rows {
                let mut h = Sha256::new();
                for cell in row {
                    match cell {
                        Some(v) => {
                            h.update([1]);
                            h.update((v.len() as u64).to_le_bytes());
                            h.update(v.as_bytes());
                        }
                        None => h.update([0]),
                    }
                }
                let d = h.finalize();
                checksum = checksum.wrapping_add(u64::from_le_bytes(d[..8].try_into().unwrap_or_default()));
            }
            tables.insert(
                name.clone(),
                Rows {
                    count: rows.len() as u64,
                    checksum,
                },
            );
        }
        let mut files = BTreeMap::new();
        if config.is_dir() {
            files_under(config, &mut files, config)?;
        }
        // The SQLite database itself changes with every write; the
        // comparison of its contents is the one above.
        if let Some(db) = sqlite_file
            && let Ok(rel) = db.strip_prefix(config)
        {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                files.remove(&format!("{}{suffix}", rel.display()));
            }
        }
        Ok(Capture {
            schema,
            tables,
            files,
            installed,
        })
    }

    /// Rows in every table.
    pub fn rows(&self) -> u64 {
        self.tables.values().map(|r| r.count).sum()
    }

    /// How `self` differs from `was`, in words; empty when it does not.
    pub fn differences(&self, was: &Capture) -> Vec<String> {
        let mut out: Vec<String> = self.schema.diff(&was.schema).iter().map(ToString::to_string).collect();
        for (name, before) in &was.tables {
            match self.tables.get(name) {
                Some(now) if now.count != before.count => {
                    out.push(format!("table {name} has {} rows, had {}", now.count, before.count))
                }
                Some(now) if now.checksum != before.checksum => out.push(format!(
                    "table {name}: the rows' contents differ (same count, {})",
                    now.count
                )),
                _ => {}
            }
        }
        for (file, before) in &was.files {
            match self.files.get(file) {
                None => out.push(format!("config file {file} is gone")),
                Some(now) if now != before => out.push(format!("config file {file} differs")),
                _ => {}
            }
        }
        for file in self.files.keys().filter(|f| !was.files.contains_key(*f)) {
            out.push(format!("config file {file} is new"));
        }
        if self.installed != was.installed {
            out.push(format!(
                "the installed release is {}, was {}",
                self.installed.as_deref().unwrap_or("none"),
                was.installed.as_deref().unwrap_or("none")
            ));
        }
        out
    }
}
