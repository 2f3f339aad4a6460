//! The release recorded as installed; a rollback takes the release table
//! back to the row it had before.

use crate::error::Result;
use crate::records::run::state::{Before, Outcome, Undone};
use crate::upgrade::run::{Ctx, StepResult, skipped};
use crate::version::Version;

impl Ctx<'_> {
    pub(crate) fn record_step(&mut self, hop: usize) -> StepResult {
        let to = self.hops[hop].to.clone();
        if self
            .migrator
            .installed()?
            .is_some_and(|r| Version::parse(&r.version).ok().as_ref() == Some(&to) && r.source == "upgrade")
        {
            return Ok(skipped(&format!("{to} is recorded already")));
        }
        self.migrator.record_release(&to, "upgrade")?;
        Ok(Outcome {
            detail: format!("{to} recorded as installed"),
            ..Outcome::default()
        })
    }

    /// Takes the release table back to what `before` read, unless a
    /// restore brings it back (`restored`).
    pub(crate) fn undo_record(&mut self, before: &Before, restored: bool) -> Result<Undone> {
        if restored {
            return Ok(Undone::ReleaseByRestore);
        }
        let seq = before.release_seq.unwrap_or(0);
        if self.migrator.installed_seq()? > seq {
            self.migrator.forget_releases_since(seq)?;
            Ok(Undone::ReleaseRestored {
                release: before.release.clone(),
            })
        } else {
            Ok(Undone::Nothing {
                why: "nothing was recorded".into(),
            })
        }
    }
}
