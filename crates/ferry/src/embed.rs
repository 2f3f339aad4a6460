//! Applying migrations embedded in an application's binary at start-up.

use std::path::Path;

use crate::error::{Error, Result};
use crate::migration::{MigrateOptions, MigrationSet};
use crate::migrator::{Migrator, Observer, Report, Settings};
use crate::problem::Problems;
use crate::url::DatabaseUrl;

/// Applies every pending migration of `files` (from
/// [`embed_migrations!`](crate::embed_migrations)) to the database at `url`,
/// under ferry's lock, so any number of replicas may start at once.
///
/// Relative SQLite paths are taken from the current folder. Synchronous: an
/// async application calls it from `spawn_blocking`.
pub fn migrate_embedded(
    url: &str,
    files: &[(&str, &str)],
    settings: Settings,
    observer: &mut dyn Observer,
) -> Result<Report> {
    let set = MigrationSet::from_embedded(files)?;
    let url = DatabaseUrl::parse(url, Path::new(".")).map_err(|p| Error::Config(Problems(vec![p])))?;
    let mut migrator = Migrator::connect(&url, settings)?;
    let opts = MigrateOptions {
        refuse_unmanaged: true,
        ..MigrateOptions::default()
    };
    migrator.migrate(&set, opts, observer)
}
