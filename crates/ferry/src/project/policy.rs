//! The upgrade policy in ferry.toml: risk, downtime, backup and staging per
//! kind of upgrade, the oldest version an upgrade may start from, and the
//! release series with their support dates.

use std::fmt;
use std::time::Duration;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::version::{UpgradeKind, Version};

/// How risky an upgrade is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Bug fixes.
    Low,
    /// New features, backward compatible.
    Medium,
    /// Breaking changes.
    High,
}

/// Whether a backup must precede the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupRule {
    /// No backup needed.
    None,
    /// A backup is advised.
    Recommended,
    /// Nothing runs without a verified backup.
    Required,
}

/// Whether the upgrade should be rehearsed on a staging copy first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StagingRule {
    /// Not needed.
    None,
    /// Advised.
    Recommended,
    /// Do not upgrade production without it.
    Required,
}

macro_rules! word {
    ($t:ty { $($v:ident => $s:literal),* }) => {
        impl $t {
            /// The word used in files and output.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
word!(Risk { Low => "low", Medium => "medium", High => "high" });
word!(BackupRule { None => "none", Recommended => "recommended", Required => "required" });
word!(StagingRule { None => "none", Recommended => "recommended", Required => "required" });

/// Expected downtime: a range of durations, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Downtime {
    /// Shortest expected.
    pub min: Duration,
    /// Longest expected.
    pub max: Duration,
}

impl Downtime {
    /// No downtime.
    pub const NONE: Downtime = Downtime {
        min: Duration::ZERO,
        max: Duration::ZERO,
    };

    /// Parses `none`, `15m`, `5m-15m` or `5-15m` (the unit of the second
    /// number applies to a bare first one).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let help = || format!("`{s}` is not a downtime; write \"none\", \"15m\" or a range such as \"5m-15m\"");
        if t.eq_ignore_ascii_case("none") || t == "0" {
            return Ok(Downtime::NONE);
        }
        let (a, b) = t.split_once('-').map_or((t, t), |(a, b)| (a.trim(), b.trim()));
        let max = humantime::parse_duration(b).map_err(|_| help())?;
        let min = humantime::parse_duration(a).or_else(|_| {
            let unit: String = b.chars().skip_while(|c| c.is_ascii_digit() || *c == '.').collect();
            humantime::parse_duration(&format!("{a}{unit}"))
        });
        let min = min.map_err(|_| help())?;
        if min > max {
            return Err(format!("`{s}`: the first duration is longer than the second"));
        }
        Ok(Downtime { min, max })
    }

    /// True for no downtime.
    pub fn is_none(&self) -> bool {
        self.max.is_zero()
    }

    /// The sum of two downtimes (hops run one after another).
    pub fn plus(self, other: Downtime) -> Downtime {
        Downtime {
            min: self.min + other.min,
            max: self.max + other.max,
        }
    }
}

/// Whole minutes up to three hours read best as minutes ("30-60 min").
fn minutes(d: Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(60) && secs <= 3 * 3600 {
        format!("{} min", secs / 60)
    } else if secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else {
        humantime::format_duration(d).to_string()
    }
}

impl fmt::Display for Downtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            f.write_str("none")
        } else if self.min == self.max {
            f.write_str(&minutes(self.max))
        } else {
            let (a, b) = (minutes(self.min), minutes(self.max));
            // "5-15 min" rather than "5 min-15 min" when units agree.
            match (a.rsplit_once(' '), b.rsplit_once(' ')) {
                (Some((an, au)), Some((_, bu))) if au == bu => write!(f, "{an}-{b}"),
                _ => write!(f, "{a}-{b}"),
            }
        }
    }
}

impl Serialize for Downtime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Downtime", 3)?;
        st.serialize_field("min_seconds", &self.min.as_secs())?;
        st.serialize_field("max_seconds", &self.max.as_secs())?;
        st.serialize_field("text", &self.to_string())?;
        st.end()
    }
}

/// What the policy says for one kind of upgrade.
#[derive(Debug, Clone, Serialize)]
pub struct KindPolicy {
    /// Risk level.
    pub risk: Risk,
    /// Expected downtime, when the policy states one.
    pub downtime: Option<Downtime>,
    /// Backup requirement.
    pub backup: BackupRule,
    /// Staging recommendation.
    pub staging: StagingRule,
    /// Whether `ferry upgrade` needs a passed `ferry rehearse` of the same
    /// plan first (`required`), or advises one.
    pub rehearsal: StagingRule,
    /// How old the backup that rehearsal ran on may be.
    #[serde(serialize_with = "seconds")]
    pub rehearsal_max_age: Duration,
}

/// A week: the default age limit of a required rehearsal's backup.
pub const DEFAULT_REHEARSAL_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// A release series and its support dates (the LTS table).
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// `2.0`.
    pub name: String,
    /// Long-term support.
    pub lts: bool,
    /// First release date.
    pub released: Option<Date>,
    /// Full support until (then security fixes only).
    pub active_until: Option<Date>,
    /// Security fixes until (then end of life).
    pub security_until: Option<Date>,
    /// Free text for the table.
    pub notes: Option<String>,
}

/// Support state of a series on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportState {
    /// Full support.
    Active,
    /// Security fixes only.
    SecurityOnly,
    /// No support.
    EndOfLife,
    /// No dates known for this series.
    Unknown,
}

word!(SupportState { Active => "active", SecurityOnly => "security fixes only", EndOfLife => "end of life", Unknown => "unknown" });

impl Series {
    /// The state on `today`.
    pub fn state(&self, today: Date) -> SupportState {
        match (self.active_until, self.security_until) {
            (Some(a), _) if today <= a => SupportState::Active,
            (None, Some(s)) if today <= s => SupportState::Active,
            (Some(_), Some(s)) if today <= s => SupportState::SecurityOnly,
            (Some(_), None) => SupportState::EndOfLife,
            (_, Some(_)) => SupportState::EndOfLife,
            (None, None) => SupportState::Unknown,
        }
    }
}

/// The whole policy.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    /// Patch upgrades.
    pub patch: KindPolicy,
    /// Minor upgrades.
    pub minor: KindPolicy,
    /// Major upgrades.
    pub major: KindPolicy,
    /// Upgrades from versions before this one are not supported.
    pub oldest: Option<Version>,
    /// Release series, newest first.
    pub series: Vec<Series>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            patch: KindPolicy {
                risk: Risk::Low,
                downtime: None,
                backup: BackupRule::Recommended,
                staging: StagingRule::None,
                rehearsal: StagingRule::None,
                rehearsal_max_age: DEFAULT_REHEARSAL_MAX_AGE,
            },
            minor: KindPolicy {
                risk: Risk::Medium,
                downtime: None,
                backup: BackupRule::Required,
                staging: StagingRule::Recommended,
                rehearsal: StagingRule::None,
                rehearsal_max_age: DEFAULT_REHEARSAL_MAX_AGE,
            },
            major: KindPolicy {
                risk: Risk::High,
                downtime: None,
                backup: BackupRule::Required,
                staging: StagingRule::Required,
                rehearsal: StagingRule::None,
                rehearsal_max_age: DEFAULT_REHEARSAL_MAX_AGE,
            },
            oldest: None,
            series: Vec::new(),
        }
    }
}

impl Policy {
    /// The policy for `kind`.
    pub fn for_kind(&self, kind: UpgradeKind) -> &KindPolicy {
        match kind {
            UpgradeKind::Patch => &self.patch,
            UpgradeKind::Minor => &self.minor,
            UpgradeKind::Major => &self.major,
        }
    }

    /// The series `version` belongs to, if listed.
    pub fn series_of(&self, version: &Version) -> Option<&Series> {
        let name = version.series();
        let major = version.semver().major.to_string();
        self.series.iter().find(|s| s.name == name).or_else(|| {
            self.series
                .iter()
                .find(|s| s.name == major || s.name == format!("{major}.x"))
        })
    }
}

/// Reads a date written as a TOML date (`2024-11-01`) or a string.
pub fn parse_date(value: &toml::Value) -> Result<Date, String> {
    let text = match value {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.clone(),
        other => {
            return Err(format!(
                "expected a date such as 2024-11-01, found {}",
                other.type_str()
            ));
        }
    };
    text.parse::<Date>()
        .map_err(|_| format!("`{text}` is not a date; write YYYY-MM-DD, for example 2024-11-01"))
}

/// Reports a problem at a span of ferry.toml: the span, the message, the fix.
type Report<'a> = dyn FnMut(std::ops::Range<usize>, String, &str) + 'a;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    patch: Option<RawKindPolicy>,
    minor: Option<RawKindPolicy>,
    major: Option<RawKindPolicy>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKindPolicy {
    risk: Option<Risk>,
    downtime: Option<Spanned<String>>,
    backup: Option<BackupRule>,
    staging: Option<StagingRule>,
    rehearsal: Option<StagingRule>,
    rehearsal_max_age: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSupport {
    oldest: Option<Spanned<String>>,
    #[serde(default)]
    series: Vec<RawSeries>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSeries {
    name: String,
    #[serde(default)]
    lts: bool,
    released: Option<Spanned<toml::Value>>,
    active_until: Option<Spanned<toml::Value>>,
    security_until: Option<Spanned<toml::Value>>,
    notes: Option<String>,
}

pub(super) fn parse_policy(raw: RawPolicy, support: RawSupport, report: &mut Report<'_>) -> Policy {
    let mut policy = Policy::default();
    for (raw_kind, kind) in [
        (raw.patch, &mut policy.patch),
        (raw.minor, &mut policy.minor),
        (raw.major, &mut policy.major),
    ] {
        let Some(k) = raw_kind else { continue };
        if let Some(r) = k.risk {
            kind.risk = r;
        }
        if let Some(b) = k.backup {
            kind.backup = b;
        }
        if let Some(st) = k.staging {
            kind.staging = st;
        }
        if let Some(r) = k.rehearsal {
            kind.rehearsal = r;
        }
        if let Some(age) = k.rehearsal_max_age {
            match humantime::parse_duration(age.get_ref()) {
                Ok(d) => kind.rehearsal_max_age = d,
                Err(e) => report(
                    age.span(),
                    format!("rehearsal_max_age: `{}` is not a duration ({e})", age.get_ref()),
                    "for example rehearsal_max_age = \"7d\"",
                ),
            }
        }
        if let Some(d) = k.downtime {
            match Downtime::parse(d.get_ref()) {
                Ok(dt) => kind.downtime = Some(dt),
                Err(m) => report(d.span(), format!("downtime: {m}"), "for example downtime = \"5m-15m\""),
            }
        }
    }
    if let Some(o) = support.oldest {
        match Version::parse(o.get_ref()) {
            Ok(v) => policy.oldest = Some(v),
            Err(m) => report(o.span(), format!("oldest: {m}"), "for example oldest = \"1.0.0\""),
        }
    }
    for s in support.series {
        let mut date = |v: &Option<Spanned<toml::Value>>, key: &str| {
            v.as_ref().and_then(|d| match parse_date(d.get_ref()) {
                Ok(date) => Some(date),
                Err(m) => {
                    report(d.span(), format!("{key}: {m}"), "write a date such as 2025-11-01");
                    None
                }
            })
        };
        let series = Series {
            released: date(&s.released, "released"),
            active_until: date(&s.active_until, "active_until"),
            security_until: date(&s.security_until, "security_until"),
            name: s.name,
            lts: s.lts,
            notes: s.notes,
        };
        policy.series.push(series);
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downtimes() {
        assert!(Downtime::parse("none").unwrap().is_none());
        assert_eq!(Downtime::parse("5m-15m").unwrap().to_string(), "5-15 min");
        assert_eq!(Downtime::parse("5-15m").unwrap(), Downtime::parse("5m-15m").unwrap());
        assert_eq!(Downtime::parse("30m-1h").unwrap().to_string(), "30-60 min");
        assert_eq!(Downtime::parse("4h-8h").unwrap().to_string(), "4-8 h");
        assert_eq!(Downtime::parse("15m").unwrap().to_string(), "15 min");
        assert!(Downtime::parse("soon").is_err());
        assert!(Downtime::parse("15m-5m").is_err());
        let sum = Downtime::parse("5m-15m")
            .unwrap()
            .plus(Downtime::parse("30m-60m").unwrap());
        assert_eq!(sum.to_string(), "35-75 min");
    }

    #[test]
    fn support_states() {
        let s = Series {
            name: "2.0".into(),
            lts: true,
            released: None,
            active_until: Some("2025-05-01".parse().unwrap()),
            security_until: Some("2025-11-01".parse().unwrap()),
            notes: None,
        };
        assert_eq!(s.state("2025-01-01".parse().unwrap()), SupportState::Active);
        assert_eq!(s.state("2025-06-01".parse().unwrap()), SupportState::SecurityOnly);
        assert_eq!(s.state("2026-01-01".parse().unwrap()), SupportState::EndOfLife);
    }
}
