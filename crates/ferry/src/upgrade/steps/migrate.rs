//! The hop's database migrations, pre-deploy (before the new code starts)
//! and post-deploy (after its checks pass); a rollback reverts them with
//! their down scripts, or restores the run's backup where downs cannot take
//! the schema back exactly (see `undo` for the choice).

use crate::backup;
use crate::error::{Error, Result};
use crate::migration::{MigrateOptions, Phases, RevertTarget};
use crate::records::run::state::{Before, Outcome, Undone};
use crate::upgrade::run::{Ctx, Forward, StepResult, plural, skipped};
use crate::upgrade::undo::Way;

fn nothing(why: &str) -> Undone {
    Undone::Nothing { why: why.to_owned() }
}

impl Ctx<'_> {
    pub(crate) fn migrate_step(&mut self, hop: usize, phases: Phases) -> StepResult {
        let head = self.hops[hop].schema_after;
        if head == 0 || self.inst.set.get(head).is_none() {
            return Ok(skipped("the release needs no migration"));
        }
        let opts = MigrateOptions {
            to: Some(head),
            allow_out_of_order: false,
            phases,
            refuse_unmanaged: true,
        };
        if self.migrator.plan_migrate(&self.inst.set, opts)?.is_empty() {
            let current = self.migrator.status(&self.inst.set)?.current.unwrap_or(0);
            return Ok(skipped(&match phases {
                Phases::PostDeploy => "no post-deploy migration in this hop".to_owned(),
                _ => format!("the database is at migration {current} already"),
            }));
        }
        let report = self
            .migrator
            .migrate(&self.inst.set, opts, &mut Forward(&mut *self.progress))?;
        let applied: Vec<String> = report.steps.iter().map(|s| s.name.clone()).collect();
        Ok(Outcome {
            detail: format!("applied {} migration{}", applied.len(), plural(applied.len())),
            applied,
            ..Outcome::default()
        })
    }

    /// Reverts the hop's pre-deploy migrations (with their down scripts, or
    /// by restoring the run's backup when the undo reaches its hop).
    pub(crate) fn undo_migrate(&mut self, hop: usize, before: &Before, way: &Way) -> Result<Undone> {
        match way {
            Way::Nothing => Ok(nothing("no migration was applied")),
            Way::None(why) => Err(Error::refusal(
                why.clone(),
                "restore a backup taken before the upgrade by hand (`ferry backup list`, `ferry backup restore ID`)",
            )),
            Way::Downs => {
                let target = RevertTarget::To(before.schema.unwrap_or(0));
                // A batched migration stopped part-way counts: its down
                // reverts the batches done.
                if self.migrator.plan_revert(&self.inst.set, target)?.is_empty() {
                    return Ok(nothing("no migration to revert"));
                }
                let report = self.migrator.revert(&self.inst.set, target, &mut ())?;
                Ok(Undone::Reverted {
                    migrations: report.steps.len(),
                    post_deploy: false,
                })
            }
            Way::Restore(id, at) if *at == hop => {
                let store = self.inst.backups();
                let entry = store.get(id)?;
                let options = backup::RestoreOptions {
                    database: true,
                    files: false,
                    no_privileges: false,
                    ours: self.store.own_sessions(),
                };
                backup::restore(
                    &store,
                    &entry,
                    self.inst.project.root(),
                    &self.url,
                    &mut self.migrator,
                    options,
                    |_| true,
                )?;
                self.migrator.reopen()?;
                self.store.reopen()?;
                Ok(Undone::Restored { backup: id.clone() })
            }
            Way::Restore(id, _) => Ok(Undone::ByRestore { backup: id.clone() }),
        }
    }

    /// Reverts the hop's post-deploy migrations, back to where the hop's
    /// migrations started: undoing the migrate step reverts the pre-deploy
    /// ones after.
    pub(crate) fn undo_post_deploy(&mut self, hop: usize, before: &Before, way: &Way) -> Result<Undone> {
        match way {
            Way::Downs => {
                // Back to where the hop's migrations started: undoing
                // the migrate step reverts the pre-deploy ones after.
                let base = self.hop_base(hop).unwrap_or(before.schema.unwrap_or(0));
                let target = RevertTarget::PostDeployAfter(base);
                if self.migrator.plan_revert(&self.inst.set, target)?.is_empty() {
                    return Ok(nothing("no post-deploy migration to revert"));
                }
                let report = self.migrator.revert(&self.inst.set, target, &mut ())?;
                Ok(Undone::Reverted {
                    migrations: report.steps.len(),
                    post_deploy: true,
                })
            }
            Way::Restore(id, _) => Ok(Undone::ByRestore { backup: id.clone() }),
            Way::Nothing => Ok(nothing("no migration was applied")),
            Way::None(why) => Err(Error::refusal(
                why.clone(),
                "restore a backup taken before the upgrade by hand (`ferry backup list`, `ferry backup restore ID`)",
            )),
        }
    }
}
