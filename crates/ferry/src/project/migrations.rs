//! The project's migrations folder: one folder, or one per engine
//! (`migrations/${ENGINE}`), read through the script cache.

use std::path::{Path, PathBuf};

use super::Project;
use super::file::ENGINE_PLACEHOLDER;
use crate::error::{Error, Result};
use crate::migration::MigrationSet;
use crate::problem::{Problem, Problems};

impl Project {
    /// The migrations folder (with `${ENGINE}` filled in by the engine of
    /// the database URL, when it has one; see [`Project::migrations_dir_for`]).
    pub fn migrations_dir(&self) -> PathBuf {
        match self.database_url(None) {
            Ok(url) => self.migrations_dir_for(url.kind()),
            Err(_) => self.migrations_dir.clone(),
        }
    }

    /// True when the migrations folder depends on the engine
    /// (`dir = "migrations/${ENGINE}"`).
    pub fn per_engine_migrations(&self) -> bool {
        self.migrations_dir.to_string_lossy().contains(ENGINE_PLACEHOLDER)
    }

    /// The migrations folder for `kind`: `${ENGINE}` becomes `sqlite`,
    /// `postgres` or `mysql`.
    pub fn migrations_dir_for(&self, kind: crate::url::EngineKind) -> PathBuf {
        PathBuf::from(
            self.migrations_dir
                .to_string_lossy()
                .replace(ENGINE_PLACEHOLDER, kind.key()),
        )
    }

    /// Loads the migrations for the engine of the database URL (`url`, else
    /// the configured one); a missing folder is an error naming it.
    pub fn migrations_for(&self, url: Option<&str>) -> Result<MigrationSet> {
        if !self.per_engine_migrations() {
            return self.migrations();
        }
        let kind = self
            .database_url(url)
            .map_err(|e| {
                Error::refusal(
                    format!(
                        "migrations.dir is {}, and the database URL that says which engine's folder to use is not known: {e}",
                        self.migrations_dir.display()
                    ),
                    "set the database URL (database.url, DATABASE_URL or --database-url)",
                )
            })?
            .kind();
        self.load_dir(&self.migrations_dir_for(kind))
    }

    /// With `migrations/${ENGINE}`: what keeps the engines' folders from
    /// describing the same schema history. Every folder that exists must
    /// hold the same versions, and each release's schema head must be one
    /// of them; at least one folder must exist. Empty without `${ENGINE}`.
    pub fn engine_folder_problems(&self) -> Result<Vec<Problem>> {
        if !self.per_engine_migrations() {
            return Ok(Vec::new());
        }
        let mut sets = Vec::new();
        for kind in crate::url::EngineKind::ALL {
            let dir = self.migrations_dir_for(kind);
            if dir.is_dir() {
                sets.push((kind, dir.clone(), self.load_dir(&dir)?));
            }
        }
        let mut problems = Vec::new();
        let Some((first_kind, _, first)) = sets.first() else {
            return Ok(vec![
                Problem::in_file(
                    &self.file,
                    format!(
                        "migrations.dir is {}, and no engine has a folder there",
                        self.migrations_dir.display()
                    ),
                )
                .help("create migrations/sqlite, migrations/postgres or migrations/mysql"),
            ]);
        };
        let versions = |set: &MigrationSet| {
            set.iter()
                .map(|m| m.version)
                .collect::<std::collections::BTreeSet<u64>>()
        };
        let want = versions(first);
        for (kind, dir, set) in &sets[1..] {
            let have = versions(set);
            let missing: Vec<String> = want.difference(&have).map(u64::to_string).collect();
            let extra: Vec<String> = have.difference(&want).map(u64::to_string).collect();
            if !missing.is_empty() || !extra.is_empty() {
                let mut what = Vec::new();
                if !missing.is_empty() {
                    what.push(format!("lacks {} that {} has", missing.join(", "), first_kind.key()));
                }
                if !extra.is_empty() {
                    what.push(format!("has {} that {} lacks", extra.join(", "), first_kind.key()));
                }
                problems.push(
                    Problem::in_file(dir, format!("the {} migrations {}", kind.key(), what.join(", and ")))
                        .help("each engine's folder holds the same versions: one migration per version per engine"),
                );
            }
        }
        // The releases read against a folder that has every schema head
        // (against the others they fail, which is the finding below).
        let Some(manifest) = sets.iter().find_map(|(_, _, set)| self.manifest(set).ok()) else {
            return Ok(problems);
        };
        for r in manifest.releases() {
            let Some(head) = r.schema else { continue };
            for (kind, dir, set) in &sets {
                if head > 0 && !set.iter().any(|m| m.version == head) {
                    problems.push(
                        Problem::in_file(
                            &r.file,
                            format!(
                                "release {} has schema {head}, which the {} migrations lack",
                                r.version,
                                kind.key()
                            ),
                        )
                        .help(format!("add the migration {head} to {}", dir.display())),
                    );
                }
            }
        }
        Ok(problems)
    }

    /// Loads the migrations; a missing folder is an error naming it.
    pub fn migrations(&self) -> Result<MigrationSet> {
        if self.per_engine_migrations() {
            return self.migrations_for(None);
        }
        self.load_dir(&self.migrations_dir)
    }

    fn load_dir(&self, dir: &Path) -> Result<MigrationSet> {
        MigrationSet::load_cached(dir, &self.script_cache(dir)).map_err(|e| match e {
            Error::Config(Problems(mut p)) if p.len() == 1 && p[0].message.ends_with("does not exist") => {
                p[0].file = Some(self.file.clone());
                Error::Config(Problems(p))
            }
            other => other,
        })
    }

    /// Loads the migrations, an empty set when the folder does not exist
    /// (for `ferry new`, which creates it).
    pub fn migrations_or_empty(&self) -> Result<MigrationSet> {
        Ok(MigrationSet::load_or_empty(&self.migrations_dir())?.unwrap_or_default())
    }

    /// The script cache of a migrations folder:
    /// `.ferry/cache/scripts-<12 hex digits of the folder's path>`, the
    /// path taken from the project's folder where it is inside it, so that
    /// `--project app` and `--project /srv/app` share one cache.
    pub(super) fn script_cache(&self, dir: &Path) -> PathBuf {
        use sha2::Digest;
        let key = match dir.strip_prefix(&self.root) {
            Ok(inside) => inside.to_path_buf(),
            Err(_) => std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
        };
        let key = sha2::Sha256::digest(key.as_os_str().as_encoded_bytes());
        self.state_dir()
            .join("cache")
            .join(format!("scripts-{}", &hex::encode(key)[..12]))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Project;

    #[test]
    fn one_script_cache_however_the_project_is_named() {
        let plain = Project::parse(Path::new("/p"), Path::new("/p/ferry.toml"), "").unwrap();
        let dotted = Project::parse(Path::new("/p/."), Path::new("/p/./ferry.toml"), "").unwrap();
        let relative = Project::parse(Path::new("p"), Path::new("p/ferry.toml"), "").unwrap();
        let cache = |p: &Project| {
            let file = p.script_cache(&p.migrations_dir());
            file.file_name().unwrap().to_owned()
        };
        assert_eq!(cache(&plain), cache(&dotted));
        assert_eq!(cache(&plain), cache(&relative));
        // Another folder, another cache.
        let other = Project::parse(
            Path::new("/p"),
            Path::new("/p/ferry.toml"),
            "[migrations]\ndir = \"db\"\n",
        )
        .unwrap();
        assert_ne!(cache(&plain), cache(&other));
    }
}
