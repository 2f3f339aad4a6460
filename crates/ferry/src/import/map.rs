//! `IMPORTED.toml` in the migrations folder: what `ferry import` made of
//! each file of another tool, so that `ferry db adopt` can tell which ferry
//! migration each row of that tool's history means.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};

/// The map's file name, in the migrations folder.
pub const IMPORT_MAP: &str = "IMPORTED.toml";

/// The map of one import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportMap {
    /// The tool the files came from.
    pub tool: String,
    /// The folder they came from, as given.
    pub source: String,
    /// Whether ferry gave them new versions (the tool's versions did not
    /// fit, or its order was not their numeric order).
    pub renumbered: bool,
    /// One entry per migration, in order.
    #[serde(default, rename = "migration")]
    pub migrations: Vec<MappedMigration>,
}

/// One migration of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedMigration {
    /// ferry's version.
    pub version: u64,
    /// ferry's name (`0003_add_artifacts`).
    pub name: String,
    /// The file (or folder) it came from, relative to the source.
    pub original: String,
    /// The version (or revision) the tool knows it by.
    pub tool_version: String,
    /// Alembic: the revisions it comes after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    /// What the conversion could not do, or did differently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ImportMap {
    /// Reads `dir/IMPORTED.toml`, if there is one.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(IMPORT_MAP);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        };
        toml::from_str(&text).map(Some).map_err(|e| {
            let line = e.span().map_or(1, |s| crate::text::line_of(&text, s.start));
            Error::Migrations(Problems(vec![
                Problem::in_file(&path, e.message().trim().to_owned())
                    .at_line(line)
                    .help("this file is written by `ferry import`; import again, or fix the line"),
            ]))
        })
    }

    /// The text of the file.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!(
            "# Written by `ferry import --from {}`: where each migration came from.\n# `ferry db adopt --from {}` reads it to match the tool's history with\n# these files. Keep it with the migrations.\n\n{body}",
            self.tool, self.tool
        )
    }

    /// ferry's version of the migration the tool knows as `tool_version`.
    pub fn version_of(&self, tool_version: &str) -> Option<u64> {
        self.migrations
            .iter()
            .find(|m| m.tool_version == tool_version)
            .map(|m| m.version)
    }
}
