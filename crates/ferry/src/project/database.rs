//! The project's database URL: `--database-url`, else ferry.toml's `url`
//! (default `${DATABASE_URL}`) with its variables expanded.

use super::Project;
use crate::env::{Env, expand};
use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};
use crate::url::DatabaseUrl;

impl Project {
    /// The database URL: `override_url` if given, else the file's `url`
    /// (default `${DATABASE_URL}`) with `${VAR}` expanded.
    pub fn database_url(&self, override_url: Option<&str>) -> Result<DatabaseUrl> {
        let config_err = |p: Problem| Error::Config(Problems(vec![p]));
        let raw = match override_url {
            Some(u) => u.to_owned(),
            None => {
                // The process environment first: a .env that is not needed
                // (even a broken one, which a restore is about to replace)
                // is not read. It is needed when a variable is not in the
                // environment, even one with a default: `${DATABASE_URL:-
                // sqlite://app.db}` takes DATABASE_URL from .env before
                // the default.
                let missed = std::cell::Cell::new(false);
                let from_process = expand(&self.url_template, |name| {
                    let value = std::env::var(name).ok().filter(|v| !v.is_empty());
                    missed.set(missed.get() || value.is_none());
                    value
                });
                if let Ok(url) = from_process
                    && !missed.get()
                {
                    return DatabaseUrl::parse(&url, &self.root).map_err(|mut p| {
                        p.file = Some(self.file.clone());
                        p.line = self.url_line;
                        config_err(p)
                    });
                }
                let env = Env::load(&self.root).map_err(config_err)?;
                expand(&self.url_template, |name| env.get(name)).map_err(|var| {
                    let mut p = match self.url_line {
                        Some(line) => Problem::in_file(&self.file, format!("`${{{var}}}` in database.url is not set"))
                            .at_line(line),
                        None => Problem::general(format!(
                            "no database URL: {} has no database.url and {var} is not set",
                            self.file.display()
                        )),
                    };
                    p = p.help(format!(
                        "set {var} in the environment or in {}, or pass --database-url",
                        self.root.join(".env").display()
                    ));
                    config_err(p)
                })?
            }
        };
        DatabaseUrl::parse(&raw, &self.root).map_err(|mut p| {
            if override_url.is_none() {
                p.file = Some(self.file.clone());
                p.line = self.url_line;
            }
            config_err(p)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Project;
    use crate::error::{Error, Result};
    use crate::problem::{Problem, Problems};

    fn parse(text: &str) -> Result<Project> {
        Project::parse(Path::new("/p"), Path::new("/p/ferry.toml"), text)
    }

    fn problems(e: Error) -> Vec<Problem> {
        match e {
            Error::Config(Problems(p)) => p,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn url_expansion_and_override() {
        let p = parse("[database]\nurl = \"sqlite://${FERRY_TEST_UNSET_VAR_X:-data.db}\"\n").unwrap();
        let url = p.database_url(None).unwrap();
        assert_eq!(url.expose_secret(), "sqlite://data.db");
        let p = parse("[database]\nurl = \"${FERRY_TEST_UNSET_VAR_Y}\"\n").unwrap();
        let e = problems(p.database_url(None).unwrap_err());
        assert_eq!(e[0].line, Some(2));
        assert!(e[0].help.as_deref().unwrap().contains("--database-url"));
        assert_eq!(
            p.database_url(Some("sqlite::memory:")).unwrap().expose_secret(),
            "sqlite::memory:"
        );
    }
}
