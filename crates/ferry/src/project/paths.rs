//! Where things live for a project: its config folder, and ferry's own
//! state beside ferry.toml (`.ferry/`).

use std::path::PathBuf;

use super::Project;
use crate::env::{Env, expand};
use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};

impl Project {
    /// The folder the config files named in release files live in:
    /// `[config] dir` (with `${VAR}` expanded, relative to the project),
    /// or the project folder.
    pub fn config_dir(&self) -> Result<PathBuf> {
        let Some((template, line)) = &self.config_dir else {
            return Ok(self.root.clone());
        };
        let env = Env::load(&self.root).map_err(|p| Error::Config(Problems(vec![p])))?;
        let dir = expand(template, |name| env.get(name)).map_err(|var| {
            Error::Config(Problems(vec![
                Problem::in_file(&self.file, format!("`${{{var}}}` in config.dir is not set"))
                    .at_line(*line)
                    .help(format!("set {var}, or give a default: ${{{var}:-/etc/app}}")),
            ]))
        })?;
        Ok(self.root.join(dir))
    }

    /// `[state] dir`: the folder run state is kept in instead of the
    /// database, when ferry.toml names one.
    pub fn state_folder(&self) -> Option<&std::path::Path> {
        self.state_folder.as_deref()
    }

    /// Where ferry keeps what belongs to this machine's copy of the project
    /// (caches, backups by default, and run state written by earlier
    /// versions): `.ferry/` beside ferry.toml.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".ferry")
    }
}
