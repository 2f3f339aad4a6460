//! Where the database stands: the recorded release, or the one its schema
//! implies, as the starting point of a plan. Pure.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::installed::InstalledRecord;
use crate::migration::Status;
use crate::migrator::Migrator;
use crate::plan::upgrade_plan::Start;
use crate::problem::Problem;
use crate::project::{Inference, Installation, Manifest};
use crate::version::Version;

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
        // No release files at all: nothing was upgraded from anywhere yet.
        Inference::Ahead { schema, .. } if manifest.releases().is_empty() => Err(Error::refused(
            Problem::general(format!(
                "the project has no releases yet ({} holds no release file), so the database's schema (migration {schema}) names none",
                manifest.dir().display()
            ))
            .help(format!(
                "write {} with `version = \"X.Y.Z\"` and `schema = {schema}` for the release this database runs, then `ferry adopt X.Y.Z`",
                manifest.dir().join("X.Y.Z.toml").display()
            )),
        )),
        Inference::Ahead { schema, newest } => Err(Error::refused(
            Problem::general(format!(
                "the database is at migration {schema}, newer than every release (the newest needs {newest}): it was upgraded by a newer version of the application"
            ))
            .help("run the ferry project of that newer version, or add its release files"),
        )),
    }
}

/// What the database says about where the installation stands.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Each migration's state.
    pub status: Status,
    /// The release recorded as installed, if any.
    pub recorded: Option<InstalledRecord>,
    /// Where a plan starts, or why that cannot be told.
    pub start: std::result::Result<(Start, Known), String>,
    /// Tables but no ferry history: another tool's database, or one made
    /// by hand (and so not a fresh install).
    pub unmanaged: Option<crate::foreign::Unmanaged>,
}

impl Observed {
    /// The installed release, when it is known.
    pub fn installed(&self) -> Option<&Version> {
        match &self.start {
            Ok((Start::Installed(v), _)) => Some(v),
            _ => None,
        }
    }
}

/// Where an installation stands, as its database says.
impl Installation {
    /// Reads the database's migration status and installed release.
    pub fn observe(&self, migrator: &mut Migrator) -> Result<Observed> {
        let status = migrator.status(&self.set)?;
        let recorded = migrator.installed()?;
        let mut start = starting_point(&self.manifest, recorded.as_ref(), &status).map_err(|e| e.to_string());
        // Nothing recorded, yet tables: not a fresh install.
        let mut unmanaged = None;
        if matches!(start, Ok((Start::Fresh, _)))
            && let Some(u) = migrator.unmanaged()?
        {
            start = Err(u.explain());
            unmanaged = Some(u);
        }
        Ok(Observed {
            status,
            recorded,
            start,
            unmanaged,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::{AppliedMigration, RowKind};
    use crate::project::manifest::tests::{migrations, rel};
    use crate::project::policy::Policy;
    use std::path::Path;

    fn status_at(schema: Option<u64>) -> Status {
        let set = migrations(6);
        let history: Vec<AppliedMigration> = (1..=schema.unwrap_or(0))
            .map(|v| AppliedMigration {
                version: v,
                name: format!("{v:04}_m{v}"),
                kind: RowKind::Migration,
                checksum: set.get(v).unwrap().up.checksum().as_str().to_owned(),
                applied_at: String::new(),
                execution_ms: 0,
                success: true,
                error: None,
            })
            .collect();
        Status::compute(&set, &history)
    }

    fn manifest() -> Manifest {
        Manifest::build(
            Path::new("releases"),
            vec![
                rel("1.0.0", Some(2), None, None),
                rel("1.1.0", Some(2), None, None),
                rel("2.0.0", Some(4), None, None),
            ],
            Policy::default(),
            &migrations(6),
        )
        .unwrap()
    }

    fn refusal(r: Result<(Start, Known), Error>) -> String {
        match r {
            Err(Error::Refused(p)) => p.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn recorded_wins_then_inference() {
        let m = manifest();
        let rec = InstalledRecord {
            version: "1.1.0".into(),
            source: "adopt".into(),
            recorded_at: String::new(),
        };
        let v = |s: &str| Start::Installed(Version::parse(s).unwrap());
        assert_eq!(
            starting_point(&m, Some(&rec), &status_at(Some(2))).unwrap(),
            (v("1.1.0"), Known::Recorded)
        );
        assert_eq!(
            starting_point(&m, None, &status_at(Some(4))).unwrap(),
            (v("2.0.0"), Known::Inferred)
        );
        assert_eq!(
            starting_point(&m, None, &status_at(None)).unwrap(),
            (Start::Fresh, Known::Fresh)
        );
    }

    #[test]
    fn ambiguous_partial_and_ahead_databases_are_refused_with_the_fix() {
        let m = manifest();
        let msg = refusal(starting_point(&m, None, &status_at(Some(2))));
        assert!(msg.contains("1.0.0, 1.1.0") && msg.contains("ferry adopt"), "{msg}");
        let msg = refusal(starting_point(&m, None, &status_at(Some(3))));
        assert!(msg.contains("no release's schema"), "{msg}");
        let msg = refusal(starting_point(&m, None, &status_at(Some(6))));
        assert!(
            msg.contains("migration 6, newer than every release (the newest needs 4)"),
            "{msg}"
        );
    }

    #[test]
    fn a_project_without_releases_says_so_rather_than_blaming_a_newer_version() {
        let none = Manifest::build(Path::new("releases"), Vec::new(), Policy::default(), &migrations(6)).unwrap();
        assert_eq!(
            starting_point(&none, None, &status_at(None)).unwrap(),
            (Start::Fresh, Known::Fresh)
        );
        let msg = refusal(starting_point(&none, None, &status_at(Some(3))));
        assert!(msg.contains("no releases yet") && msg.contains("migration 3"), "{msg}");
        assert!(msg.contains("schema = 3") && msg.contains("ferry adopt X.Y.Z"), "{msg}");
        assert!(!msg.contains("newer version"), "{msg}");
    }
}
