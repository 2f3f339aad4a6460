//! Opening a project's run state: the database's tables by default, or
//! the folder `[state] dir` names. The first time the database keeps it,
//! what an earlier ferry left in `.ferry/` is taken over.

use std::time::Duration;

use super::takeover::take_over;
use crate::error::Result;
use crate::project::{Access, Installation, Project};
use crate::state::{DbStore, DirStore, Store};

impl Project {
    /// The run state of this project in the database `access` names (or in
    /// `[state] dir`).
    pub fn state(&self, access: &Access) -> Result<Box<dyn Store>> {
        if let Some(dir) = self.state_folder() {
            return Ok(Box::new(DirStore::new(dir)));
        }
        let url = self.database_url(access.database_url.as_deref())?;
        let settings = self.settings_for(access);
        let mut store = DbStore::connect(&url, &settings.history_table, &settings.connect_options())?;
        take_over(&mut DirStore::new(self.state_dir()), &mut store, url.safe().as_str())?;
        Ok(Box::new(store))
    }

    /// How long the state's lock is waited for.
    pub fn state_lock_timeout(&self, access: &Access) -> Duration {
        access.lock_timeout.unwrap_or(self.settings(None).lock_timeout)
    }
}

impl Installation {
    /// The run state of this installation: see [`Project::state`].
    pub fn state(&self, access: &Access) -> Result<Box<dyn Store>> {
        self.project.state(access)
    }
}
