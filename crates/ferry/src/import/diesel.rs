//! Diesel: a folder per migration, `<version>_<name>/up.sql` and `down.sql`,
//! with `run_in_transaction = false` in `metadata.toml` for one that runs
//! outside a transaction. Diesel orders them by the version with its dashes
//! removed, compared as text.

use std::path::Path;

use super::{Converted, Skipped, read_text};
use crate::error::{Error, Result};

/// Reads a diesel `migrations/` folder.
pub fn read(src: &Path, skipped: &mut Skipped) -> Result<Vec<Converted>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(src).map_err(|e| Error::io("cannot read", src, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let dir = entry.path();
        if !dir.is_dir() {
            if name != ".keep" && name != ".gitkeep" {
                skipped.push(format!("{name}: not a migration folder"));
            }
            continue;
        }
        let Some((version, desc)) = name.split_once('_') else {
            skipped.push(format!("{name}/: no `<version>_<name>`"));
            continue;
        };
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit() || c == '-') {
            skipped.push(format!("{name}/: `{version}` is not a diesel version"));
            continue;
        }
        let up = dir.join("up.sql");
        if !up.is_file() {
            skipped.push(format!("{name}/: no up.sql"));
            continue;
        }
        let down = dir.join("down.sql");
        let metadata = std::fs::read_to_string(dir.join("metadata.toml")).unwrap_or_default();
        let no_transaction = toml::from_str::<toml::Table>(&metadata)
            .ok()
            .and_then(|t| t.get("run_in_transaction").and_then(toml::Value::as_bool))
            == Some(false);
        out.push(Converted {
            original: format!("{name}/up.sql"),
            // Diesel records the version with its dashes removed.
            tool_version: version.replace('-', ""),
            name: desc.to_owned(),
            up: read_text(&up)?,
            down: if down.is_file() { Some(read_text(&down)?) } else { None },
            no_transaction,
            ..Converted::default()
        });
    }
    out.sort_by(|a, b| a.tool_version.cmp(&b.tool_version));
    Ok(out)
}
