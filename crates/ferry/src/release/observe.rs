//! Where the database stands: the recorded release, or the one its schema
//! implies, as the starting point of a plan. Pure.

use serde::Serialize;

use crate::error::{Error, Problem};
use crate::migration::Status;
use crate::release::manifest::{Inference, Manifest};
use crate::release::plan::Start;
use crate::release::state::InstalledRecord;
use crate::release::version::Version;

/// How ferry knows the installed release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Known {
    /// Recorded in the database (by `ferry adopt` or an upgrade).
    Recorded,
    /// Implied by the schema: exactly one release has the database's schema head.
    Inferred,
    /// Nothing applied and nothing recorded: a fresh database.
    Fresh,
}

/// The starting point of a plan, and how it is known.
pub fn starting_point(
    manifest: &Manifest,
    recorded: Option<&InstalledRecord>,
    status: &Status,
) -> Result<(Start, Known), Error> {
    if let Some(rec) = recorded {
        let v = Version::parse(&rec.version).map_err(|m| {
            Error::refused(
                Problem::general(format!("the recorded installed release is not a version: {m}"))
                    .help("record the right one with `ferry adopt VERSION`"),
            )
        })?;
        return Ok((Start::Installed(v), Known::Recorded));
    }
    let adopt = "record the installed release with `ferry adopt VERSION`";
    match manifest.infer(status.current) {
        Inference::Fresh => Ok((Start::Fresh, Known::Fresh)),
        Inference::Release(v) => Ok((Start::Installed(v), Known::Inferred)),
        Inference::Ambiguous(vs) => {
            let list: Vec<String> = vs.iter().map(ToString::to_string).collect();
            Err(Error::refused(
                Problem::general(format!(
                    "the installed release is not recorded, and the database's schema (migration {}) is the schema of several releases: {}",
                    status.current.unwrap_or(0),
                    list.join(", ")
                ))
                .help(adopt),
            ))
        }
        Inference::NoMatch => Err(Error::refused(
            Problem::general(format!(
                "the installed release is not recorded, and the database's schema (migration {}) is no release's schema",
                status.current.unwrap_or(0)
            ))
            .help(format!("finish migrating to a release's schema (`ferry db status`), or {adopt}")),
        )),
        Inference::Ahead { schema, newest } => Err(Error::refused(
            Problem::general(format!(
                "the database is at migration {schema}, newer than every release (the newest needs {newest}): it was upgraded by a newer version of the application"
            ))
            .help("run the ferry project of that newer version, or add its release files"),
        )),
    }
}
