//! The hop's config-file changes, applied under the config lock with a
//! record tagged with the run and hop; a rollback reverts that record,
//! byte for byte.

use crate::config::migrate as config_migrate;
use crate::error::{Error, Result};
use crate::records::run::state::{Outcome, Undone};
use crate::upgrade::run::{Ctx, StepResult, plural, skipped};

impl Ctx<'_> {
    pub(crate) fn config_tag(&self, hop: usize) -> String {
        format!("{}#{hop}", self.info.id)
    }

    pub(crate) fn config_step(&mut self, hop: usize) -> StepResult {
        let tag = self.config_tag(hop);
        let records = config_migrate::records(&mut *self.store)?;
        if let Some(last) = records.last()
            && last.run.as_deref() == Some(tag.as_str())
        {
            if last.is_applied() {
                // Done before the kill, not yet journaled.
                return Ok(Outcome {
                    detail: format!("migrated to {} (record {})", last.to, last.id),
                    config_record: Some(last.id.clone()),
                    ..Outcome::default()
                });
            }
            // Stopped while writing: put the files back, then do it again.
            config_migrate::revert(&mut *self.store, false)?;
        }
        let h = &self.hops[hop];
        let Some(hop_from) = h.from.clone() else {
            return Ok(skipped("a fresh install ships its config files in the new shape"));
        };
        // Where the files are: the hop's start, or further if migrated by hand.
        let at = config_migrate::current(&mut *self.store)?.filter(|v| *v > hop_from);
        let from = at.clone().unwrap_or(hop_from);
        if from >= h.to {
            return Ok(skipped(&format!("the config files are already at {from}")));
        }
        let steps: Vec<config_migrate::Step<'_>> =
            config_migrate::steps_of(&self.inst.manifest, std::slice::from_ref(h))
                .into_iter()
                .flatten()
                .filter(|s| *s.version > from)
                .collect();
        if steps.iter().all(|s| s.changes.is_empty()) {
            return Ok(skipped("no config changes in this hop"));
        }
        let dir = self.inst.project.config_dir()?;
        let prepared = config_migrate::prepare(&dir, &steps)?;
        let to = h.to.clone();
        let record = config_migrate::apply(&mut *self.store, &prepared, Some(&from), &to, Some(&tag))?;
        let files: Vec<String> = prepared.changed().map(|f| f.shown.clone()).collect();
        Ok(match record {
            Some(r) => Outcome {
                detail: format!(
                    "{} file{} migrated to {to}: {}",
                    files.len(),
                    plural(files.len()),
                    files.join(", ")
                ),
                config_record: Some(r.id),
                ..Outcome::default()
            },
            None => skipped("the config files need no change"),
        })
    }

    /// Reverts the config migration this hop made, when it is the last one.
    pub(crate) fn undo_config(&mut self, hop: usize) -> Result<Undone> {
        let tag = self.config_tag(hop);
        let records = config_migrate::records(&mut *self.store)?;
        match records.last() {
            Some(last) if last.run.as_deref() == Some(tag.as_str()) => {
                let r = config_migrate::revert(&mut *self.store, false)?.expect("the record was there under the lock");
                Ok(Undone::ConfigRestored { files: r.files.len() })
            }
            _ if records.iter().any(|r| r.run.as_deref() == Some(tag.as_str())) => Err(Error::refusal(
                "a config migration made after this run's stands on top of it",
                "revert the newer config migrations first (`ferry config revert`), then roll back again",
            )),
            _ => Ok(Undone::Nothing {
                why: "no config file was changed".into(),
            }),
        }
    }
}
