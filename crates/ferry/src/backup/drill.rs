//! `ferry backup drill`: restore into a scratch database, run the checks,
//! drop it. The project's database is not touched.

use super::verify::usable;
use super::work::Work;
use super::{Entry, Store, dump, now_text};
use crate::check::{self, Check, Kind, Phase, Verdict};
use crate::engine::scratch::Scratch;
use crate::error::Result;
use crate::migrator::{Migrator, Settings};
use crate::url::DatabaseUrl;
use crate::version::Version;

/// Restores a backup into a scratch database, runs there the post checks
/// that apply to the backup's release and look at the database (SQL
/// checks: an endpoint or a disk says nothing of a scratch copy), and drops
/// the scratch database. A drill that restores counts as a verification of
/// the backup.
pub fn drill(store: &Store, entry: &Entry, url: &DatabaseUrl, checks: &[Check]) -> Result<Vec<Verdict>> {
    let work = Work::new(store)?;
    let manifest = usable(store, entry, work.path(), url, "drilled")?;
    // Created beside the project's database and dropped however this ends.
    let scratch = Scratch::create(url, "drill")?;
    let scratch_url = scratch.url();
    let result = (|| {
        {
            let mut restorer = Migrator::connect(scratch_url, Settings::default())?;
            dump::restore(
                scratch_url,
                restorer.engine(),
                manifest.dump_format,
                &work.path().join("dump"),
                &entry.id,
                dump::RestoreOptions::default(),
            )?;
        }
        // A fresh connection: a SQLite restore swaps the file under the old one.
        let mut scratch_migrator = Migrator::connect(scratch_url, Settings::default())?;
        let sql: Vec<Check> = checks
            .iter()
            .filter(|c| matches!(c.kind, Kind::Sql { .. }))
            .cloned()
            .collect();
        let release = manifest.release.as_deref().and_then(|r| Version::parse(r).ok());
        let probes = Default::default();
        let skips = Default::default();
        let redact = |s: &str| crate::redact::redact_text(s);
        let mut ctx = check::Context {
            migrator: &mut scratch_migrator,
            url: scratch_url,
            root: work.path(),
            redact: &redact,
            probes: &probes,
            skips: &skips,
        };
        Ok(check::run(&sql, Phase::Post, release.as_ref(), &mut ctx, &[]))
    })();
    drop(scratch);
    // The archive read back in full and restored: as good as a verify.
    if result.is_ok() {
        store.mark_verified(entry, &now_text())?;
    }
    result
}
