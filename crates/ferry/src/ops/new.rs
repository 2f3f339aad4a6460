//! `ferry new NAME`: the next migration pair, in the migrations folder or,
//! with `migrations/${ENGINE}`, in every engine's folder that exists, under
//! one version.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::project::Project;
use crate::url::EngineKind;

/// Writes `<version>_<name>.up.sql` and `.down.sql` (a UTC timestamp as the
/// version with `timestamp`) and returns each pair written.
pub fn new_migration(root: &Path, name: &str, timestamp: bool) -> Result<Vec<(PathBuf, PathBuf)>> {
    let project = Project::load(root)?;
    let set = project.migrations_or_empty()?;
    let mut dirs: Vec<PathBuf> = EngineKind::ALL
        .iter()
        .map(|k| project.migrations_dir_for(*k))
        .filter(|d| project.per_engine_migrations() && d.is_dir())
        .collect();
    if dirs.is_empty() {
        dirs.push(project.migrations_dir());
    }
    dirs.iter()
        .map(|dir| crate::scaffold::new_migration(dir, &set, name, timestamp))
        .collect()
}
