//! `ferry adopt VERSION` and `ferry guide`: the installed release recorded
//! by hand, and the application's UPGRADING.md.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::migration::State;
use crate::project::{Access, Installation};
use crate::version::Version;

/// `ferry adopt VERSION`.
#[derive(Debug, Clone, Serialize)]
pub struct Adopted {
    /// The release recorded.
    pub version: Version,
    /// Whether a release file describes it.
    pub described: bool,
    /// Its schema head, when its release file states one.
    pub schema: Option<u64>,
    /// Migrations its schema needs that the database lacks.
    pub behind: Vec<String>,
    /// The database has migrations newer than its schema.
    pub ahead: bool,
}

/// Records `version` as the installed release, changing nothing else, and
/// says what the database lacks or has beyond that release's schema.
/// Refused while an upgrade run is unfinished.
pub fn adopt(inst: &Installation, access: &Access, version: &Version) -> Result<Adopted> {
    let (mut migrator, _) = inst.connect(access)?;
    let status = migrator.status(&inst.set)?;
    migrator.record_release(version, "adopt")?;
    let schema = inst.manifest.schema_at(version);
    let (behind, ahead) = match schema {
        Some(head) => (
            status
                .migrations
                .iter()
                .filter(|m| m.version <= head && matches!(m.state, State::Pending | State::OutOfOrder))
                .map(|m| m.name.clone())
                .collect(),
            status.current.is_some_and(|c| c > head),
        ),
        None => (Vec::new(), false),
    };
    Ok(Adopted {
        version: version.clone(),
        described: inst.manifest.get(version).is_some(),
        schema,
        behind,
        ahead,
    })
}

/// The application's upgrade guide, as of `today`.
pub fn guide(inst: &Installation, today: jiff::civil::Date) -> String {
    let name = inst.project.name().unwrap_or("the application");
    crate::plan::guide(&inst.manifest, &inst.set, name, today)
}

/// Writes the guide to `path` (default: UPGRADING.md in the project) and
/// returns where.
pub fn write_guide(inst: &Installation, path: Option<&Path>, today: jiff::civil::Date) -> Result<PathBuf> {
    let path = path.map_or_else(|| inst.project.root().join("UPGRADING.md"), Path::to_owned);
    std::fs::write(&path, guide(inst, today)).map_err(|e| Error::io("cannot write", &path, e))?;
    Ok(path)
}
