//! The `before` and `after` hooks of a hop: stop the service, switch it,
//! start it. A rollback does not run them backwards: it runs the `before`
//! hooks first and the `after_rollback` hooks at the end (see `undo`).

use crate::project::hook::When;
use crate::records::run::state::{Outcome, Undone};
use crate::upgrade::run::{Ctx, Failure, StepResult, skipped, tail};

impl Ctx<'_> {
    pub(crate) fn hooks_step(&mut self, hop: usize, when: When) -> StepResult {
        let hooks = self.hooks_for(hop..=hop, when);
        if hooks.is_empty() {
            return Ok(skipped("no hooks"));
        }
        let (runs, ok) = self.run_hooks(hop, &hooks);
        let detail = runs
            .iter()
            .map(|r| format!("{} ({})", r.name, r.ended))
            .collect::<Vec<_>>()
            .join(", ");
        let outcome = Outcome {
            detail,
            hooks: runs.clone(),
            ..Outcome::default()
        };
        if ok {
            Ok(outcome)
        } else {
            let last = runs.last().expect("a hook failed");
            Err(Box::new(Failure {
                error: format!(
                    "hook `{}` {}{}",
                    last.name,
                    last.ended,
                    if last.output.trim().is_empty() {
                        String::new()
                    } else {
                        format!("; its output ends with:\n{}", tail(&last.output, 10))
                    },
                ),
                outcome,
            }))
        }
    }

    /// Hooks are not undone.
    pub(crate) fn undo_hooks(&self) -> Undone {
        Undone::NotUndone {
            why: "hooks are not undone (after_rollback hooks run at the end)".into(),
        }
    }
}
