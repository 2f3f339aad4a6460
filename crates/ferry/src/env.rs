//! `${VAR}` expansion in ferry.toml values, reading the process environment
//! first and then a `.env` file beside ferry.toml.
//!
//! The expansion is written by hand: it is a dozen lines, and the crates that
//! do it (`shellexpand`, `envsubst`) also expand `$VAR` and `~`, which would
//! corrupt passwords that contain `$`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::problem::Problem;

/// Values from the environment and an optional `.env` file.
#[derive(Debug, Default)]
pub struct Env {
    dotenv: Option<(PathBuf, HashMap<String, String>)>,
}

impl Env {
    /// Reads `dir/.env` if it exists.
    pub fn load(dir: &Path) -> Result<Self, Problem> {
        let path = dir.join(".env");
        if !path.is_file() {
            return Ok(Env::default());
        }
        let iter = dotenvy::from_path_iter(&path).map_err(|e| Problem::in_file(&path, format!("cannot read: {e}")))?;
        let mut vars = HashMap::new();
        for item in iter {
            match item {
                Ok((k, v)) => {
                    vars.insert(k, v);
                }
                Err(dotenvy::Error::LineParse(line, index)) => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let line_no = text.lines().position(|l| l.contains(line.trim())).map_or(1, |i| i + 1);
                    return Err(
                        Problem::in_file(&path, format!("cannot parse this line (at character {index})"))
                            .at_line(line_no)
                            .help("write KEY=value; quote values that contain spaces or #"),
                    );
                }
                Err(e) => return Err(Problem::in_file(&path, e.to_string())),
            }
        }
        Ok(Env {
            dotenv: Some((path, vars)),
        })
    }

    /// The value of `name`: the process environment wins over `.env`.
    pub fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.dotenv.as_ref().and_then(|(_, vars)| vars.get(name).cloned()))
    }

    /// The `.env` file read, if any.
    pub fn dotenv_path(&self) -> Option<&Path> {
        self.dotenv.as_ref().map(|(p, _)| p.as_path())
    }
}

/// Expands `${VAR}` and `${VAR:-default}`; `$$` is a literal `$`; any other
/// `$` is left alone. Returns the name of the first unset variable as error.
pub fn expand(template: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{')
            && let Some(end) = body.find('}')
        {
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            match lookup(name).filter(|v| !v.is_empty()).or(default.map(str::to_owned)) {
                Some(v) => out.push_str(&v),
                None => return Err(name.to_owned()),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "HOST").then(|| "db".to_owned())
    }

    #[test]
    fn expands_braced_variables_only() {
        assert_eq!(expand("postgres://${HOST}/x", lookup).unwrap(), "postgres://db/x");
        assert_eq!(
            expand("${MISSING:-sqlite://app.db}", lookup).unwrap(),
            "sqlite://app.db"
        );
        assert_eq!(expand("pa$word$$", lookup).unwrap(), "pa$word$");
        assert_eq!(expand("${MISSING}", lookup).unwrap_err(), "MISSING");
    }
}
