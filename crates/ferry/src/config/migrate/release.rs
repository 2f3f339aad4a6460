//! Config changes tied to releases: the steps of a plan, previews of each
//! hop's diff, the redactor for the files the releases name, and the
//! release the files show they are at.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::secrets::Redactor;
use crate::document::Document;
use crate::error::Result;
use crate::project::config::Change;
use crate::version::Version;

/// The steps of a plan: each release a hop brings, with its config changes.
pub fn steps_of<'a>(manifest: &'a crate::project::Manifest, hops: &'a [crate::plan::Hop]) -> Vec<Vec<Step<'a>>> {
    hops.iter()
        .map(|hop| {
            if hop.from.is_none() {
                // A fresh install ships its config in the new shape.
                return Vec::new();
            }
            hop.releases
                .iter()
                .filter_map(|v| manifest.get(v))
                .filter(|r| !r.config.is_empty())
                .map(|r| Step {
                    version: &r.version,
                    changes: &r.config,
                })
                .collect()
        })
        .collect()
}

/// What each hop of a plan would do to the config files under `dir`, each
/// hop starting from the previous one's result. A hop whose files cannot be
/// read or edited gets its problem instead.
pub fn preview(dir: &Path, manifest: &crate::project::Manifest, hops: &[crate::plan::Hop]) -> Vec<Result<Prepared>> {
    let mut overlay: Vec<(PathBuf, String)> = Vec::new();
    let mut out = Vec::new();
    for steps in steps_of(manifest, hops) {
        let prepared = prepare_over(dir, &steps, &overlay);
        if let Ok(p) = &prepared {
            for f in &p.files {
                overlay.retain(|(path, _)| *path != f.path);
                overlay.push((f.path.clone(), f.after.clone()));
            }
        }
        out.push(prepared);
    }
    out
}

/// A redactor that knows every secret value in the config files the
/// releases of `manifest` name (those that exist and parse), for text that
/// may quote them: hook output, error messages.
pub fn redactor_for(dir: &Path, manifest: &crate::project::Manifest) -> Redactor {
    let mut models = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for r in manifest.releases() {
        for change in &r.config {
            for path in files_of(dir, &change.file).unwrap_or_default() {
                if seen.contains(&path) {
                    continue;
                }
                seen.push(path.clone());
                let (Some(format), Ok(text)) = (change.format_for(&path), fs::read_to_string(&path)) else {
                    continue;
                };
                if let Ok(doc) = Document::parse(&path, format, &text) {
                    models.push(doc.original_model().clone());
                }
            }
        }
    }
    Redactor::for_models(models.iter())
}

/// The release the config files under `dir` show they are at: the release
/// before the oldest one whose changes would still change them (every
/// release up to it is already in the files), or the newest release with
/// config changes when none would. `None` when no release declares config
/// changes, or when the oldest one's changes are not in the files yet (the
/// files are older than every release that changes them: the caller's
/// starting point stands).
pub fn files_version(dir: &Path, manifest: &crate::project::Manifest) -> Option<Version> {
    // Only changes whose result stays in the file tell: a `set` value the
    // user changed since, or a `require`, says nothing of the version.
    let telling = |c: &&Change| {
        !matches!(
            c.action,
            crate::project::config::Action::Set { .. } | crate::project::config::Action::Require { .. }
        )
    };
    let with_changes: Vec<(&crate::project::Release, Vec<Change>)> = manifest
        .releases()
        .iter()
        .map(|r| (r, r.config.iter().filter(telling).cloned().collect::<Vec<_>>()))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    let mut shown: Option<Version> = None;
    for (r, changes) in &with_changes {
        let step = Step {
            version: &r.version,
            changes,
        };
        // A change that cannot apply (a required key missing) is not in the files.
        let applied = prepare(dir, &[step]).is_ok_and(|p| p.is_noop());
        if !applied {
            return shown.or_else(|| {
                // Before the oldest: the release before it, if there is one.
                manifest
                    .releases()
                    .iter()
                    .rev()
                    .find(|x| x.version < r.version)
                    .map(|x| x.version.clone())
            });
        }
        shown = Some(r.version.clone());
    }
    shown
}
