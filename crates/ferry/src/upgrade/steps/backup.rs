//! The backup the policy asks for, taken once for the run and verified. A
//! rollback keeps it (it may restore from it: see `undo`).

use crate::backup;
use crate::project::BackupRule;
use crate::records::run::state::{Outcome, Undone};
use crate::upgrade::run::{Ctx, Failure, StepResult, skipped};

impl Ctx<'_> {
    pub(crate) fn backup_step(&mut self, hop: usize) -> StepResult {
        let rule = self.hops[hop].backup;
        if let Some((id, _)) = self.backup() {
            return Ok(skipped(&format!("the run's backup {id} covers this hop")));
        }
        match rule {
            BackupRule::None => return Ok(skipped("the policy asks for none")),
            BackupRule::Recommended if self.info.options.no_backup => {
                return Ok(skipped("recommended by the policy, skipped with --no-backup"));
            }
            _ => {}
        }
        let store = self.inst.backups();
        let context = self.inst.backup_context(&mut self.migrator);
        let label = format!("before {}", self.hops[hop].to);
        let entry = backup::create(
            &store,
            self.inst.project.backup(),
            self.inst.project.root(),
            &self.url,
            &mut self.migrator,
            &context,
            Some(&label),
        )?;
        let verified = backup::verify(&store, &entry)?;
        if !verified.ok {
            let damage: Vec<String> = verified
                .damage
                .iter()
                .map(|d| format!("{}: {}", d.member, d.problem))
                .collect();
            return Err(Box::new(Failure {
                error: format!("backup {} does not verify: {}", entry.id, damage.join("; ")),
                outcome: Outcome::default(),
            }));
        }
        Ok(Outcome {
            detail: format!(
                "backup {} taken and verified ({} {})",
                entry.id,
                rule.as_str(),
                "by the policy"
            ),
            backup: Some(entry.id),
            ..Outcome::default()
        })
    }

    /// The backup is kept.
    pub(crate) fn undo_backup(&self, hop: usize) -> Undone {
        match self.backup().filter(|(_, h)| *h == hop) {
            Some((id, _)) => Undone::BackupKept { backup: id },
            None => Undone::NothingToUndo,
        }
    }
}
