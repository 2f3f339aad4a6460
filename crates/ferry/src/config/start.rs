//! Which release an installation's config files are at: what a config
//! migration starts from.

use crate::config::migrate as config_migrate;
use crate::error::{Error, Result};
use crate::plan::{Observed, Start};
use crate::project::Installation;
use crate::state::Store;
use crate::version::Version;

impl Installation {
    /// The release the config files are at: `from` when given, else the
    /// last config migration's target, else the installed release that
    /// `observe` reads from the database (called only when needed, so that
    /// `--from` works without a database); but never later than the files
    /// themselves show (a release whose changes would still change them is
    /// not in them, whatever the record says: after `ferry adopt`, or a
    /// restore of older files). `None` for a fresh database.
    pub fn config_start(
        &self,
        store: Option<&mut dyn Store>,
        from: Option<Version>,
        observe: impl FnOnce() -> Result<Observed>,
    ) -> Result<Option<Version>> {
        if let Some(f) = from {
            return Ok(Some(f));
        }
        let claimed = self.claimed_config_version(store, observe)?;
        Ok(match (claimed, self.files_config_version()) {
            (Some(c), Some(f)) if f < c => Some(f),
            (c, _) => c,
        })
    }

    /// The release the config files show they are at (see
    /// [`config_migrate::files_version`]), when they can be read.
    pub fn files_config_version(&self) -> Option<Version> {
        let dir = self.project.config_dir().ok()?;
        config_migrate::files_version(&dir, &self.manifest)
    }

    fn claimed_config_version(
        &self,
        store: Option<&mut dyn Store>,
        observe: impl FnOnce() -> Result<Observed>,
    ) -> Result<Option<Version>> {
        if let Some(store) = store
            && let Some(v) = config_migrate::current(store)?
        {
            return Ok(Some(v));
        }
        let observed = observe().map_err(|e| {
            if e.is_configuration() {
                // A mistake in the user's files stays one (exit 2).
                return e;
            }
            Error::refusal(
                e.to_string(),
                "pass --from VERSION, the release the config files are at, to work without the database",
            )
        })?;
        match observed.start {
            Ok((Start::Installed(v), _)) => Ok(Some(v)),
            Ok((Start::Fresh, _)) => Ok(None),
            Err(e) => Err(Error::refusal(
                e,
                "or pass --from VERSION, the release the config files are at",
            )),
        }
    }
}
