//! The config files a backup holds: `[backup] files`, expanded.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};

/// The files `[backup] files` names.
#[derive(Debug, Clone, Default)]
pub struct Files {
    /// (project-relative path, absolute path), sorted.
    pub found: Vec<(String, PathBuf)>,
    /// The patterns that matched nothing.
    pub unmatched: Vec<String>,
}

/// The config files named by `globs`, relative to `root`.
pub fn config_files(root: &Path, globs: &[String]) -> Result<Files> {
    let mut out = Files::default();
    let add = |path: PathBuf, found: &mut Vec<(String, PathBuf)>| {
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        if !found.iter().any(|(r, _)| *r == rel) {
            found.push((rel, path));
        }
    };
    for g in globs {
        let pattern = root.join(g.trim_end_matches('/'));
        let matches = glob::glob(&pattern.to_string_lossy()).map_err(|e| {
            Error::Config(Problems(vec![
                Problem::general(format!("backup.files: `{g}` is not a valid pattern: {e}"))
                    .help("write paths relative to the project, for example \".env\", \"config/*.yaml\" or \"certs/\""),
            ]))
        })?;
        let mut any = false;
        for m in matches {
            let path = m.map_err(|e| Error::io("cannot read", e.path().to_owned(), e.into()))?;
            if path.is_dir() {
                any = true;
                let mut stack = vec![path];
                while let Some(dir) = stack.pop() {
                    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
                        .map_err(|e| Error::io("cannot read folder", &dir, e))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .collect();
                    entries.sort();
                    for p in entries {
                        if p.is_dir() {
                            stack.push(p);
                        } else if p.is_file() {
                            add(p, &mut out.found);
                        }
                    }
                }
            } else if path.is_file() {
                any = true;
                add(path, &mut out.found);
            }
        }
        if !any {
            out.unmatched.push(g.clone());
        }
    }
    out.found.sort();
    Ok(out)
}
