//! Writing what a verification found into the installation's record
//! (`records::verified`).

use super::{StepResult, VerifyReport};
use crate::error::Result;
use crate::project::Installation;
use crate::records::verified::{Verified, VerifiedMigration, down_checksum};
use crate::state::Store;

/// Merges a report into the record.
pub(super) fn save(inst: &Installation, store: &mut dyn Store, report: &VerifyReport) -> Result<()> {
    let mut record = Verified::load(store)?;
    let at = jiff::Timestamp::now().to_string();
    for s in &report.steps {
        let Some(m) = inst.set.get(s.version) else { continue };
        let detail = match &s.result {
            StepResult::Differs { differences } => differences.iter().map(ToString::to_string).collect(),
            StepResult::DownFails { error } | StepResult::UpAgainFails { error } | StepResult::UpFails { error } => {
                vec![error.clone()]
            }
            _ => Vec::new(),
        };
        record.migrations.insert(
            s.version,
            VerifiedMigration {
                name: s.name.clone(),
                up: m.up.checksum().to_string(),
                down: down_checksum(m),
                engine: report.engine.name().to_owned(),
                at: at.clone(),
                result: s.result.word().to_owned(),
                detail,
                drops: s.drops.clone(),
            },
        );
    }
    record.save(store)
}
