//! `ferry backup prune`: delete what the retention rules do not keep.

use serde::Serialize;

use super::Store;
use super::retention::{Candidate, Retention, keep};
use super::work::clean_leftovers;
use crate::error::Result;

/// What `prune` did or would do.
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    /// Kept, with the rule that keeps each.
    pub kept: Vec<(String, &'static str)>,
    /// Deleted (or to delete, on a dry run).
    pub deleted: Vec<String>,
    /// Leftovers of killed runs that were removed.
    pub leftovers: usize,
}

/// Deletes the backups the retention policy does not keep, and what killed
/// runs left behind.
pub fn prune(store: &Store, retention: &Retention, dry_run: bool, now: jiff::Timestamp) -> Result<Pruned> {
    let entries = store.list()?;
    let candidates: Vec<Candidate> = entries
        .iter()
        .filter_map(|e| {
            let created = e.sidecar.manifest.created_at.parse::<jiff::Timestamp>().ok()?;
            Some(Candidate {
                id: e.id.clone(),
                created_at: created,
                verified: e.sidecar.verified_at.is_some(),
            })
        })
        .collect();
    let kept = keep(&candidates, retention, now);
    let deleted: Vec<String> = entries
        .iter()
        .map(|e| e.id.clone())
        .filter(|id| !kept.iter().any(|(k, _)| k == id))
        .collect();
    let mut leftovers = 0;
    if !dry_run {
        for id in &deleted {
            store.delete(id)?;
        }
        leftovers = clean_leftovers(store);
    }
    Ok(Pruned {
        kept,
        deleted,
        leftovers,
    })
}
