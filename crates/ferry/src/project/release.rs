//! One release file: `releases/2.1.0.toml`.
//!
//! ```toml
//! version = "2.1.0"
//! date = 2024-12-01
//! schema = 5                     # the newest migration this release needs
//! upgrade_from = ">=2.0.0"       # installed versions that may upgrade directly
//! required_stop = "why no path may jump over this release"
//! notes = "docs/RELEASE_NOTES_v2.1.md"
//! kind = "minor"                 # when the project's versioning is not semver's 0.x rule
//! risk = "medium"                # overrides the policy for this release
//! downtime = "5m-15m"
//!
//! [requires]
//! postgresql = { min = "13", recommended = "16" }
//!
//! [[breaking]]
//! category = "api"               # api, config, database, dependency, feature
//! change = "POST /api/agents/execute moved to POST /api/v1/agents/{agent}/execute"
//! steps = ["Update API clients to the new endpoint"]
//!
//! [[config]]                     # config-file changes: see `crate::project::config`
//! file = "config.yaml"
//! rename = "proxmox_host"
//! to = "proxmox_api_host"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::problem::Problem;
use crate::project::policy::{Downtime, Risk, parse_date};
use crate::text::line_of;
use crate::version::{Requirement, Version};

/// What part of the application a breaking change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// HTTP or library API.
    Api,
    /// Configuration files and variables.
    Config,
    /// Database schema or data.
    Database,
    /// Runtime dependencies (Python, Docker Compose...).
    Dependency,
    /// Features removed or changed.
    Feature,
}

impl Category {
    /// The word used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Api => "api",
            Category::Config => "config",
            Category::Database => "database",
            Category::Dependency => "dependency",
            Category::Feature => "feature",
        }
    }
}

/// A breaking change and what a user must do about it.
#[derive(Debug, Clone, Serialize)]
pub struct BreakingChange {
    /// Category.
    pub category: Category,
    /// What changed.
    pub change: String,
    /// What a user must do.
    pub steps: Vec<String>,
}

/// A component the release needs, such as PostgreSQL or Redis.
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// Its name as written (`postgresql`).
    pub name: String,
    /// The minimum version.
    pub min: Option<String>,
    /// The recommended version.
    pub recommended: Option<String>,
}

/// A release of the application.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// Its version.
    pub version: Version,
    /// The file it was read from.
    #[serde(skip)]
    pub file: PathBuf,
    /// Release date.
    pub date: Option<Date>,
    /// The migration version it needs (its schema head).
    pub schema: Option<u64>,
    /// Installed versions that may upgrade directly to it. When the file
    /// states none, the previous release's applies (a patch release keeps
    /// the constraint of the release it patches).
    #[serde(serialize_with = "ser_req")]
    pub upgrade_from: Option<Requirement>,
    /// True when `upgrade_from` was taken from the previous release.
    pub upgrade_from_inherited: bool,
    /// Why no path may jump over it, when it is a required stop.
    pub required_stop: Option<String>,
    /// Its release notes file.
    pub notes: Option<String>,
    /// The kind of upgrade to it, when the project's versioning says other
    /// than semver's rule (a 0.x release whose minor step is a minor upgrade).
    pub kind: Option<crate::version::UpgradeKind>,
    /// Risk, overriding the policy.
    pub risk: Option<Risk>,
    /// Downtime, overriding the policy.
    pub downtime: Option<Downtime>,
    /// The commit a development build was made from.
    pub commit: Option<String>,
    /// When a development build was made.
    pub built: Option<Date>,
    /// Components it needs.
    pub requires: Vec<Component>,
    /// Breaking changes.
    pub breaking: Vec<BreakingChange>,
    /// Config-file changes, in the order they apply.
    #[serde(skip)]
    pub config: Vec<crate::project::config::Change>,
    /// Hooks that run for the hop that brings this release.
    #[serde(skip)]
    pub hooks: Vec<crate::project::hook::Hook>,
    /// Checks of the hop that brings this release.
    #[serde(skip)]
    pub checks: Vec<crate::project::check::Check>,
    #[serde(skip)]
    pub(crate) lines: Lines,
}

fn ser_req<S: serde::Serializer>(r: &Option<Requirement>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(r.as_str()),
        None => s.serialize_none(),
    }
}

/// Lines of fields that manifest checks point at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lines {
    pub version: usize,
    pub schema: Option<usize>,
    pub upgrade_from: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    version: Spanned<String>,
    date: Option<Spanned<toml::Value>>,
    schema: Option<Spanned<u64>>,
    upgrade_from: Option<Spanned<String>>,
    required_stop: Option<String>,
    notes: Option<String>,
    kind: Option<crate::version::UpgradeKind>,
    risk: Option<Risk>,
    downtime: Option<Spanned<String>>,
    commit: Option<String>,
    built: Option<Spanned<toml::Value>>,
    #[serde(default)]
    requires: BTreeMap<String, RawComponent>,
    #[serde(default)]
    breaking: Vec<RawBreaking>,
    #[serde(default)]
    config: Vec<Spanned<crate::project::config::RawChange>>,
    #[serde(default)]
    hooks: Vec<Spanned<crate::project::hook::RawHook>>,
    #[serde(default)]
    checks: Vec<Spanned<crate::project::check::RawCheck>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    min: Option<toml::Value>,
    recommended: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreaking {
    category: Category,
    change: String,
    #[serde(default)]
    steps: Vec<String>,
}

fn value_text(v: Option<toml::Value>) -> Option<String> {
    v.map(|v| match v {
        toml::Value::String(s) => s,
        other => other.to_string(),
    })
}

impl Release {
    /// The kind of the upgrade to this release from `previous`: the kind it
    /// states, else semver's.
    pub fn kind_from(&self, previous: &crate::version::Version) -> crate::version::UpgradeKind {
        self.kind
            .unwrap_or_else(|| crate::version::UpgradeKind::between(previous, &self.version))
    }

    /// Parses the text of a release file at `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Self, Vec<Problem>> {
        let raw: RawRelease = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let message = e.message().trim().to_owned();
            let help = if message.contains("unknown field") {
                "check the spelling; the keys of a release file are listed in the README"
            } else if message.contains("missing field `version`") {
                "add version = \"X.Y.Z\" at the top"
            } else {
                "fix the value or the TOML syntax at this line"
            };
            vec![Problem::in_file(file, message).at_line(line).help(help)]
        })?;
        let mut problems = Vec::new();
        let at = |span: std::ops::Range<usize>| line_of(text, span.start);
        let version_line = at(raw.version.span());
        let version = Version::parse(raw.version.get_ref()).map_err(|m| {
            problems.push(Problem::in_file(file, m).at_line(version_line));
        });
        let mut date_of = |v: &Option<Spanned<toml::Value>>, key: &str| {
            v.as_ref().and_then(|d| {
                parse_date(d.get_ref())
                    .map_err(|m| problems.push(Problem::in_file(file, format!("{key}: {m}")).at_line(at(d.span()))))
                    .ok()
            })
        };
        let date = date_of(&raw.date, "date");
        let built = date_of(&raw.built, "built");
        let upgrade_from = raw.upgrade_from.as_ref().and_then(|r| {
            Requirement::parse(r.get_ref())
                .map_err(|m| problems.push(Problem::in_file(file, format!("upgrade_from: {m}")).at_line(at(r.span()))))
                .ok()
        });
        let downtime = raw.downtime.as_ref().and_then(|d| {
            Downtime::parse(d.get_ref())
                .map_err(|m| problems.push(Problem::in_file(file, format!("downtime: {m}")).at_line(at(d.span()))))
                .ok()
        });
        let mut config = Vec::new();
        for raw in raw.config {
            match crate::project::config::parse(file, text, raw) {
                Ok(c) => config.push(c),
                Err(p) => problems.push(p),
            }
        }
        let mut hooks = Vec::new();
        for raw in raw.hooks {
            match crate::project::hook::parse(file, text, raw) {
                Ok(h) => hooks.push(h),
                Err(p) => problems.push(p),
            }
        }
        let mut checks = Vec::new();
        for raw in raw.checks {
            match crate::project::check::parse(file, text, raw) {
                Ok(c) => checks.push(c),
                Err(p) => problems.push(p),
            }
        }
        let (Ok(version), true) = (version, problems.is_empty()) else {
            return Err(problems);
        };
        Ok(Release {
            version,
            file: file.to_owned(),
            date,
            schema: raw.schema.as_ref().map(|s| *s.get_ref()),
            upgrade_from,
            upgrade_from_inherited: false,
            required_stop: raw.required_stop,
            notes: raw.notes,
            kind: raw.kind,
            risk: raw.risk,
            downtime,
            commit: raw.commit,
            built,
            requires: raw
                .requires
                .into_iter()
                .map(|(name, c)| Component {
                    name,
                    min: value_text(c.min),
                    recommended: value_text(c.recommended),
                })
                .collect(),
            breaking: raw
                .breaking
                .into_iter()
                .map(|b| BreakingChange {
                    category: b.category,
                    change: b.change,
                    steps: b.steps,
                })
                .collect(),
            config,
            hooks,
            checks,
            lines: Lines {
                version: version_line,
                schema: raw.schema.as_ref().map(|s| at(s.span())),
                upgrade_from: raw.upgrade_from.as_ref().map(|r| at(r.span())),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Release, Vec<Problem>> {
        Release::parse(Path::new("releases/2.1.0.toml"), text)
    }

    #[test]
    fn full_release() {
        let r = parse(
            "version = \"2.1.0\"\ndate = 2024-12-01\nschema = 5\nupgrade_from = \">=2.0.0\"\nrisk = \"medium\"\ndowntime = \"5m-15m\"\n\n[requires]\npostgresql = { min = 13, recommended = \"16\" }\n\n[[breaking]]\ncategory = \"api\"\nchange = \"moved\"\nsteps = [\"update clients\"]\n",
        )
        .unwrap();
        assert_eq!(r.version.to_string(), "2.1.0");
        assert_eq!(r.schema, Some(5));
        assert_eq!(r.requires[0].min.as_deref(), Some("13"));
        assert_eq!(r.breaking[0].category, Category::Api);
        assert_eq!(r.lines.upgrade_from, Some(4));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("version = \"2.1.0\"\nschema = 5\nshema = 6\n").unwrap_err();
        assert_eq!(e[0].line, Some(3));
        assert!(e[0].message.contains("shema"));
        let e = parse("version = \"2.1\"\n").unwrap_err();
        assert_eq!(e[0].line, Some(1));
        let e = parse("version = \"2.1.0\"\ndate = \"yesterday\"\nupgrade_from = \">>1\"\n").unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].line, e[1].line), (Some(2), Some(3)));
        let e = parse("version = \"2.1.0\"\n[[breaking]]\ncategory = \"ui\"\nchange = \"x\"\n").unwrap_err();
        assert!(e[0].message.contains("ui"), "{}", e[0]);
    }
}
