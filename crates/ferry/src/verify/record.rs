//! Writing what a verification found into the installation's record
//! (`records::verified`).

use super::{StepResult, VerifyReport};
use crate::error::{Error, Result};
use crate::project::Installation;
use crate::records::verified::{FILE, Verified, VerifiedMigration, down_checksum};

/// Merges a report into the record.
pub(super) fn save(inst: &Installation, report: &VerifyReport) -> Result<()> {
    let mut record = Verified::load(inst)?;
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
    let dir = inst.project.state_dir();
    crate::durable::private_dir(&dir)?;
    let text = serde_json::to_vec_pretty(&record).map_err(|e| Error::db("cannot write the verification record", e))?;
    crate::durable::write_private(&dir.join(FILE), &text, true)
}
