//! ferry's version rules, decided on purpose (the `semver` crate's defaults
//! count build metadata in ordering and keep pre-releases out of ranges):
//!
//! 1. Versions are ordered by semver precedence: pre-releases come before
//!    their release (`1.2.0-alpha.1 < 1.2.0-beta.1 < 1.2.0-rc.1 < 1.2.0`),
//!    numeric identifiers compare as numbers, and build metadata is ignored.
//! 2. Two versions that differ only in build metadata are the same version.
//! 3. A requirement is a range on that order, pre-releases included:
//!    `>=1.0.0` matches `1.1.0-rc.1`. An upper bound excludes the
//!    pre-releases of its version: `<2.0.0` (also the bound implied by `^1`
//!    and `~1.4`) means "before any 2.0.0", so `2.0.0-rc.1` does not match.

use std::cmp::Ordering;
use std::fmt;

/// A release version: semver, ordered and compared by precedence.
#[derive(Clone, Eq)]
pub struct Version(semver::Version);

impl std::str::FromStr for Version {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Version::parse(s)
    }
}

impl Version {
    /// Parses `2.1.0`, `2.1.0-rc.1`, `2.1.0+git.abc123` (a leading `v` is allowed).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        semver::Version::parse(t).map(Version).map_err(|e| {
            format!("`{s}` is not a semantic version ({e}); write MAJOR.MINOR.PATCH, for example 2.1.0 or 2.1.0-rc.1")
        })
    }

    /// The underlying semver value.
    pub fn semver(&self) -> &semver::Version {
        &self.0
    }

    /// True for pre-releases such as `2.1.0-rc.1`.
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
    }

    /// `2.1` for `2.1.4`.
    pub fn series(&self) -> String {
        format!("{}.{}", self.0.major, self.0.minor)
    }

    /// The version without pre-release and build: `2.1.0` for `2.1.0-rc.1`.
    pub fn base(&self) -> Version {
        Version(semver::Version::new(self.0.major, self.0.minor, self.0.patch))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_precedence(&other.0)
    }
}

impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.0.major, self.0.minor, self.0.patch, self.0.pre.as_str()).hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// How big a step between two versions is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpgradeKind {
    /// Same major and minor (pre-release steps included).
    Patch,
    /// Same major, higher minor.
    Minor,
    /// Higher major (or a higher minor while the major is 0).
    Major,
}

impl UpgradeKind {
    /// The kind of going from `from` to `to`.
    pub fn between(from: &Version, to: &Version) -> Self {
        let (a, b) = (from.semver(), to.semver());
        if a.major != b.major || (a.major == 0 && a.minor != b.minor) {
            UpgradeKind::Major
        } else if a.minor != b.minor {
            UpgradeKind::Minor
        } else {
            UpgradeKind::Patch
        }
    }

    /// `patch`, `minor`, `major`.
    pub fn as_str(self) -> &'static str {
        match self {
            UpgradeKind::Patch => "patch",
            UpgradeKind::Minor => "minor",
            UpgradeKind::Major => "major",
        }
    }
}

/// A version requirement such as `>=1.5.0` or `^2.0`, matched by ferry's rules.
#[derive(Clone)]
pub struct Requirement {
    text: String,
    /// Every comparator must hold; each is a lower and/or upper bound.
    bounds: Vec<(Option<Bound>, Option<Bound>)>,
}

#[derive(Clone)]
struct Bound {
    version: semver::Version,
    inclusive: bool,
}

fn v(major: u64, minor: u64, patch: u64, pre: &semver::Prerelease) -> semver::Version {
    semver::Version {
        major,
        minor,
        patch,
        pre: pre.clone(),
        build: semver::BuildMetadata::EMPTY,
    }
}

/// The version just before every `major.minor.patch` (pre-releases included):
/// upper bounds are exclusive of it.
fn before(major: u64, minor: u64, patch: u64) -> Bound {
    Bound {
        version: v(
            major,
            minor,
            patch,
            &semver::Prerelease::new("0").unwrap_or(semver::Prerelease::EMPTY),
        ),
        inclusive: false,
    }
}

impl Requirement {
    /// Parses a requirement in Cargo's syntax (`>=1.5.0`, `>=1.0, <2`, `^2.1`, `~1.4`, `*`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let req = semver::VersionReq::parse(s.trim()).map_err(|e| {
            format!("`{s}` is not a version requirement ({e}); write for example \">=1.5.0\" or \">=1.0.0, <2.0.0\"")
        })?;
        let mut bounds = Vec::new();
        for c in &req.comparators {
            bounds.push(Self::comparator_bounds(c));
        }
        Ok(Requirement {
            text: s.trim().to_owned(),
            bounds,
        })
    }

    fn comparator_bounds(c: &semver::Comparator) -> (Option<Bound>, Option<Bound>) {
        use semver::Op;
        let (major, minor, patch) = (c.major, c.minor, c.patch);
        let lower_exact = v(major, minor.unwrap_or(0), patch.unwrap_or(0), &c.pre);
        let at = |inclusive| {
            Some(Bound {
                version: lower_exact.clone(),
                inclusive,
            })
        };
        // The first version after the range a partial version names.
        let after_partial = || match (minor, patch) {
            (None, _) => before(major + 1, 0, 0),
            (Some(mi), None) => before(major, mi + 1, 0),
            (Some(mi), Some(pa)) => Bound {
                version: v(major, mi, pa, &c.pre),
                inclusive: true,
            },
        };
        match c.op {
            Op::Exact | Op::Wildcard => match (minor, patch) {
                (Some(_), Some(_)) => (at(true), at(true)),
                _ => (at(true), Some(after_partial())),
            },
            Op::Greater => match (minor, patch) {
                (Some(_), Some(_)) => (at(false), None),
                // `>1.2`: from the first version after every 1.2.x.
                _ => (
                    Some(Bound {
                        inclusive: true,
                        ..after_partial()
                    }),
                    None,
                ),
            },
            Op::GreaterEq => (at(true), None),
            Op::Less => (None, Some(before(major, minor.unwrap_or(0), patch.unwrap_or(0)))),
            Op::LessEq => match (minor, patch) {
                (Some(_), Some(_)) => (None, at(true)),
                _ => (None, Some(after_partial())),
            },
            Op::Tilde => {
                let upper = match minor {
                    Some(mi) => before(major, mi + 1, 0),
                    None => before(major + 1, 0, 0),
                };
                (at(true), Some(upper))
            }
            Op::Caret => {
                let upper = match (major, minor, patch) {
                    (0, Some(0), Some(pa)) => before(0, 0, pa + 1),
                    (0, Some(mi), _) if mi > 0 || patch.is_none() => before(0, mi + 1, 0),
                    (0, None, _) => before(1, 0, 0),
                    (ma, _, _) if ma > 0 => before(ma + 1, 0, 0),
                    _ => before(0, 1, 0),
                };
                (at(true), Some(upper))
            }
            _ => (at(true), None),
        }
    }

    /// True when `version` is in the range.
    pub fn matches(&self, version: &Version) -> bool {
        let x = version.semver();
        self.bounds.iter().all(|(lower, upper)| {
            let lower_ok = lower.as_ref().is_none_or(|b| match x.cmp_precedence(&b.version) {
                Ordering::Greater => true,
                Ordering::Equal => b.inclusive,
                Ordering::Less => false,
            });
            let upper_ok = upper.as_ref().is_none_or(|b| match x.cmp_precedence(&b.version) {
                Ordering::Less => true,
                Ordering::Equal => b.inclusive,
                Ordering::Greater => false,
            });
            lower_ok && upper_ok
        })
    }

    /// The requirement as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Requirement({})", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ver(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn req(s: &str) -> Requirement {
        Requirement::parse(s).unwrap()
    }

    #[test]
    fn precedence_orders_prereleases_before_their_release() {
        let mut vs: Vec<Version> = [
            "1.2.0",
            "1.2.0-rc.1",
            "1.2.0-alpha.1",
            "1.10.0",
            "1.2.0-beta.2",
            "1.2.0-beta.11",
            "1.1.9",
        ]
        .iter()
        .map(|s| ver(s))
        .collect();
        vs.sort();
        let got: Vec<String> = vs.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "1.1.9",
                "1.2.0-alpha.1",
                "1.2.0-beta.2",
                "1.2.0-beta.11",
                "1.2.0-rc.1",
                "1.2.0",
                "1.10.0"
            ]
        );
    }

    #[test]
    fn build_metadata_is_ignored() {
        assert_eq!(ver("2.1.0+git.abc"), ver("2.1.0+git.def"));
        assert_eq!(ver("2.1.0+git.abc"), ver("2.1.0"));
        assert_eq!(ver("v2.1.0"), ver("2.1.0"));
        assert!(Version::parse("2.1").unwrap_err().contains("MAJOR.MINOR.PATCH"));
    }

    #[test]
    fn requirements_include_prereleases_by_precedence() {
        assert!(req(">=1.0.0").matches(&ver("1.1.0-rc.1")));
        assert!(!req(">=1.1.0").matches(&ver("1.1.0-rc.1")));
        assert!(req(">=1.5.0").matches(&ver("2.0.0+build.7")));
        assert!(!req(">=1.5.0").matches(&ver("1.4.9")));
    }

    #[test]
    fn upper_bounds_exclude_prereleases_of_their_version() {
        assert!(!req("<2.0.0").matches(&ver("2.0.0-rc.1")));
        assert!(req("<2.0.0").matches(&ver("1.99.0-beta.1")));
        assert!(!req("^1.4").matches(&ver("2.0.0-alpha.1")));
        assert!(req("^1.4").matches(&ver("1.9.0")));
        assert!(!req("^1.4").matches(&ver("1.3.9")));
        assert!(req("~1.4").matches(&ver("1.4.7")));
        assert!(!req("~1.4").matches(&ver("1.5.0")));
        assert!(req("^0.3").matches(&ver("0.3.9")) && !req("^0.3").matches(&ver("0.4.0")));
        assert!(req(">=1.0.0, <2.0.0").matches(&ver("1.5.0")));
        assert!(req("1.2.*").matches(&ver("1.2.7")) && !req("1.2.*").matches(&ver("1.3.0")));
        assert!(req("<=1.2").matches(&ver("1.2.9")) && !req("<=1.2").matches(&ver("1.3.0")));
        assert!(req(">1.2").matches(&ver("1.3.0")) && !req(">1.2").matches(&ver("1.2.9")));
        assert!(req("=2.0.1").matches(&ver("2.0.1")) && !req("=2.0.1").matches(&ver("2.0.2")));
        assert!(req("*").matches(&ver("0.0.1-alpha")));
    }

    #[test]
    fn kinds() {
        assert_eq!(UpgradeKind::between(&ver("2.0.0"), &ver("2.0.1")), UpgradeKind::Patch);
        assert_eq!(
            UpgradeKind::between(&ver("2.1.0-rc.1"), &ver("2.1.0")),
            UpgradeKind::Patch
        );
        assert_eq!(UpgradeKind::between(&ver("2.0.3"), &ver("2.1.0")), UpgradeKind::Minor);
        assert_eq!(UpgradeKind::between(&ver("1.5.0"), &ver("2.0.0")), UpgradeKind::Major);
        assert_eq!(UpgradeKind::between(&ver("0.2.0"), &ver("0.3.0")), UpgradeKind::Major);
    }
}
