//! The upgrade plan: a pure function of the manifest, the migrations and
//! what was observed in the database. It finds the path from the installed
//! release to the target, broken at required stops, and says for each hop
//! what it costs and what it changes.

use serde::Serialize;

use crate::error::Error;
use crate::migration::{MigrationSet, Phase, State, Status};
use crate::project::manifest::{Manifest, direct};
use crate::project::policy::{BackupRule, Downtime, Risk, StagingRule};
use crate::project::release::{BreakingChange, Component};
use crate::version::{UpgradeKind, Version};

/// Where the database starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Nothing installed: a fresh install.
    Fresh,
    /// This release is installed.
    Installed(Version),
}

/// A migration a hop applies.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationRef {
    /// Version.
    pub version: u64,
    /// `0003_add_artifacts`.
    pub name: String,
    /// Before or after the new code starts.
    pub phase: Phase,
    /// Whether it runs in batches.
    pub batched: bool,
}

/// A breaking change with the release that makes it.
#[derive(Debug, Clone, Serialize)]
pub struct Breaking {
    /// The release.
    pub version: Version,
    /// The change.
    #[serde(flatten)]
    pub change: BreakingChange,
}

/// A config-file change a hop makes, as shown in a plan (values of secret
/// keys appear as `****`).
#[derive(Debug, Clone, Serialize)]
pub struct ConfigRef {
    /// The release that makes it.
    pub version: Version,
    /// The file or glob.
    pub file: String,
    /// add, rename, set, derive, split, deprecate, remove or require.
    pub op: &'static str,
    /// What it does, in words.
    pub change: String,
}

/// A check a hop runs, as shown in a plan.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRef {
    /// Its name.
    pub name: String,
    /// `pre`, `post` or both.
    pub when: Vec<crate::project::check::Phase>,
    /// Error or warning.
    pub severity: crate::project::check::Severity,
    /// What it looks at.
    pub what: String,
}

/// One upgrade: from one installed release directly to another.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    /// The release installed before the hop (none for a fresh install).
    pub from: Option<Version>,
    /// The release installed after it.
    pub to: Version,
    /// Patch, minor or major (none for a fresh install).
    pub kind: Option<UpgradeKind>,
    /// Risk: the policy's for the kind, or the highest a release of the hop states.
    pub risk: Risk,
    /// Expected downtime, when known.
    pub downtime: Option<Downtime>,
    /// Backup requirement.
    pub backup: BackupRule,
    /// Staging recommendation.
    pub staging: StagingRule,
    /// Whether the run needs a passed `ferry rehearse` of its plan first.
    pub rehearsal: StagingRule,
    /// How old the backup a required rehearsal ran on may be.
    #[serde(serialize_with = "seconds")]
    pub rehearsal_max_age: std::time::Duration,
    /// Why `to` is a required stop, when it is one.
    pub required_stop: Option<String>,
    /// The releases whose changes this hop brings, oldest first.
    pub releases: Vec<Version>,
    /// The database's newest migration before the hop (0: none).
    pub schema_before: u64,
    /// The release's schema head, reached by the hop.
    pub schema_after: u64,
    /// The migrations it applies, in order.
    pub migrations: Vec<MigrationRef>,
    /// Components the target needs.
    pub requires: Vec<Component>,
    /// Breaking changes to read before the hop.
    pub breaking: Vec<Breaking>,
    /// Config-file changes, in the order they apply.
    pub config: Vec<ConfigRef>,
    /// Release notes files of the releases in the hop.
    pub notes: Vec<String>,
    /// The checks it runs: ferry.toml's and its releases', those that apply.
    pub checks: Vec<CheckRef>,
    /// The commit a development build of the target was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// When that build was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built: Option<jiff::civil::Date>,
    /// How a rollback takes the hop back, and what proves it (set by
    /// [`crate::plan::annotate`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub way_back: Option<crate::plan::WayBack>,
    /// The newest passed rehearsal's times for this hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<crate::records::rehearsal::Measured>,
}

fn seconds<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

impl Hop {
    /// Whether the hop has migrations that run after the new code starts.
    pub fn has_post_deploy(&self) -> bool {
        self.migrations.iter().any(|m| m.phase == Phase::PostDeploy)
    }
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradePlan {
    /// The release installed now (none for a fresh database).
    pub from: Option<Version>,
    /// The target.
    pub to: Version,
    /// The hops, in order. Empty when already at the target.
    pub hops: Vec<Hop>,
    /// The highest risk of any hop.
    pub risk: Option<Risk>,
    /// The sum of the hops' downtimes, when every hop states one.
    pub downtime: Option<Downtime>,
    /// The strictest backup requirement of any hop.
    pub backup: Option<BackupRule>,
    /// Migrations pending in the database that belong to the installed
    /// release itself (the database is behind its own release).
    pub behind: Vec<MigrationRef>,
    /// The watch window after the last hop (`[watch]` in ferry.toml; set
    /// by `Installation::annotate`, planning knows only the releases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<crate::project::watch::Watch>,
}

/// Plans the upgrade from `start` to `target` (default: the newest final
/// release). `status` is the database's migration status, when known.
pub fn plan(
    manifest: &Manifest,
    migrations: &MigrationSet,
    start: &Start,
    status: Option<&Status>,
    target: Option<&Version>,
) -> Result<UpgradePlan, Error> {
    let Some(default_target) = manifest.newest_final() else {
        return Err(Error::refusal(
            format!("no releases in {}", manifest.dir().display()),
            "describe each release in a file such as releases/1.0.0.toml (see the README)",
        ));
    };
    let target = match target {
        Some(t) => manifest
            .get(t)
            .ok_or_else(|| {
                let known: Vec<String> = manifest.releases().iter().map(|r| r.version.to_string()).collect();
                Error::refusal(
                    format!("--to {t}: no release has that version"),
                    format!("releases: {}", known.join(", ")),
                )
            })?
            .version
            .clone(),
        None => default_target.version.clone(),
    };
    let from = match start {
        Start::Fresh => None,
        Start::Installed(v) => Some(v.clone()),
    };
    if let Some(from) = &from {
        if let Some(oldest) = &manifest.policy.oldest
            && from < oldest
        {
            return Err(Error::refusal(
                format!("no upgrade path from {from}: versions before {oldest} are not supported"),
                format!("install {oldest} or later first, by the procedure of its own time, then plan again"),
            ));
        }
        if &target < from {
            return Err(Error::refusal(
                format!(
                    "the target {target} is older than {from}, where the plan starts: that is a rollback, not an upgrade"
                ),
                "to go back, revert the migrations (`ferry db revert --to VERSION`) or restore the backup taken before the upgrade",
            ));
        }
    }
    let behind: Vec<MigrationRef> = match (status, &from) {
        (Some(st), Some(f)) => {
            let head = manifest.schema_at(f).unwrap_or(0);
            pending(st).filter(|m| m.version <= head).collect()
        }
        _ => Vec::new(),
    };

    let mut hops = Vec::new();
    let mut cur = from.clone();
    // Schema of the database before each hop.
    let mut schema = match (&from, status) {
        (Some(f), _) => manifest.schema_at(f).unwrap_or(0),
        (None, _) => 0,
    };
    while cur.as_ref() != Some(&target) {
        let next = match &cur {
            None => manifest.get(&target).map(|r| r.version.clone()),
            Some(c) => next_hop(manifest, c, &target)?,
        };
        let Some(next) = next else { break };
        let hop = make_hop(
            manifest,
            migrations,
            cur.as_ref(),
            &next,
            schema,
            status,
            hops.is_empty(),
        );
        schema = manifest.schema_at(&next).unwrap_or(schema);
        hops.push(hop);
        cur = Some(next);
    }
    let downtime = if hops.iter().all(|h| h.downtime.is_some()) {
        Some(
            hops.iter()
                .filter_map(|h| h.downtime)
                .fold(Downtime::NONE, Downtime::plus),
        )
    } else {
        None
    };
    Ok(UpgradePlan {
        risk: hops.iter().map(|h| h.risk).max(),
        backup: hops.iter().map(|h| h.backup).max(),
        downtime,
        from,
        to: target,
        hops,
        behind,
        watch: None,
    })
}

fn pending(status: &Status) -> impl Iterator<Item = MigrationRef> + '_ {
    status
        .migrations
        .iter()
        .filter(|m| matches!(m.state, State::Pending | State::OutOfOrder | State::Running))
        .map(|m| MigrationRef {
            version: m.version,
            name: m.name.clone(),
            phase: m.phase,
            batched: m.batched,
        })
}

/// The furthest release the installed `cur` may go to directly, not past
/// the first required stop on the way.
fn next_hop(manifest: &Manifest, cur: &Version, target: &Version) -> Result<Option<Version>, Error> {
    let releases = manifest.releases();
    let ahead: Vec<_> = releases
        .iter()
        .filter(|r| &r.version > cur && &r.version <= target)
        // Pre-releases are targets you name, not places a path passes through.
        .filter(|r| !r.version.is_prerelease() || &r.version == target || r.required_stop.is_some())
        .collect();
    let limit = ahead
        .iter()
        .find(|r| r.required_stop.is_some())
        .map_or(target.clone(), |r| r.version.clone());
    let next = ahead
        .iter()
        .filter(|r| r.version <= limit && direct(releases, cur, r))
        .map(|r| r.version.clone())
        .max();
    if next.is_some() {
        return Ok(next);
    }
    let Some(blocker) = manifest.get(&limit) else {
        return Ok(None);
    };
    let req = blocker
        .upgrade_from
        .as_ref()
        .map_or("any version".to_owned(), |q| q.to_string());
    let message = match &blocker.required_stop {
        Some(reason) => format!(
            "no upgrade path from {cur} to {target}: {} is a required stop ({reason}) and upgrades only from {req}",
            blocker.version
        ),
        None => format!(
            "no upgrade path from {cur} to {target}: {} upgrades only from {req}",
            blocker.version
        ),
    };
    Err(Error::refusal(
        message,
        "install a release that it upgrades from first, or ask the maintainers for a path",
    ))
}

fn make_hop(
    manifest: &Manifest,
    migrations: &MigrationSet,
    from: Option<&Version>,
    to: &Version,
    schema_before: u64,
    status: Option<&Status>,
    first: bool,
) -> Hop {
    let policy = &manifest.policy;
    let in_hop: Vec<_> = manifest
        .releases()
        .iter()
        .filter(|r| from.is_none_or(|f| &r.version > f) && &r.version <= to)
        .filter(|r| !r.version.is_prerelease() || &r.version == to)
        .collect();
    let to_release = manifest.get(to);
    // A release may state its kind (its project's versioning says a 0.x
    // minor step is minor, say): then the hop is as big as its biggest
    // step, each release's stated kind or semver's from the one before.
    let kind = from.map(|f| {
        if in_hop.iter().all(|r| r.kind.is_none()) {
            return UpgradeKind::between(f, to);
        }
        let mut prev = f;
        let mut kind = UpgradeKind::Patch;
        for r in &in_hop {
            kind = kind.max(r.kind_from(prev));
            prev = &r.version;
        }
        kind
    });
    let (mut risk, mut downtime, mut backup, mut staging) = match kind {
        Some(k) => {
            let p = policy.for_kind(k);
            (p.risk, p.downtime, p.backup, p.staging)
        }
        None => (Risk::Low, Some(Downtime::NONE), BackupRule::None, StagingRule::None),
    };
    let (rehearsal, rehearsal_max_age) = match kind {
        Some(k) => {
            let p = policy.for_kind(k);
            (p.rehearsal, p.rehearsal_max_age)
        }
        None => (StagingRule::None, crate::project::policy::DEFAULT_REHEARSAL_MAX_AGE),
    };
    // A release that states its risk overrides the policy, either way
    // (the highest stated when several releases of the hop state one).
    if let Some(stated) = in_hop.iter().filter_map(|r| r.risk).max() {
        risk = stated;
    }
    if let Some(d) = to_release.and_then(|r| r.downtime) {
        downtime = Some(d);
    }
    if kind.is_some() && in_hop.iter().any(|r| !r.breaking.is_empty()) {
        backup = backup.max(BackupRule::Recommended);
        staging = staging.max(StagingRule::Recommended);
    }
    let schema_after = manifest.schema_at(to).unwrap_or(schema_before);
    // The first hop applies whatever the database lacks up to the head;
    // later hops apply what lies between the two heads.
    let migrations: Vec<MigrationRef> = match status.filter(|_| first) {
        Some(st) => {
            let applied: std::collections::HashSet<u64> = st
                .migrations
                .iter()
                .filter(|m| m.state == State::Applied)
                .map(|m| m.version)
                .collect();
            migrations
                .between(0, schema_after)
                .iter()
                .filter(|m| !applied.contains(&m.version))
                .collect::<Vec<_>>()
        }
        None => migrations.between(schema_before, schema_after).iter().collect(),
    }
    .into_iter()
    .map(|m| MigrationRef {
        version: m.version,
        name: m.label(),
        phase: m.up.directives.phase,
        batched: m.up.directives.batch.is_some(),
    })
    .collect();
    let mut requires: Vec<Component> = Vec::new();
    for r in &in_hop {
        for c in &r.requires {
            match requires.iter_mut().find(|x| x.name == c.name) {
                // A later release's statement replaces an earlier one's.
                Some(x) => *x = c.clone(),
                None => requires.push(c.clone()),
            }
        }
    }
    Hop {
        from: from.cloned(),
        to: to.clone(),
        kind,
        risk,
        downtime,
        backup,
        staging,
        rehearsal,
        rehearsal_max_age,
        required_stop: to_release.and_then(|r| r.required_stop.clone()),
        releases: in_hop.iter().map(|r| r.version.clone()).collect(),
        schema_before: if first {
            status.and_then(|st| st.current).unwrap_or(schema_before)
        } else {
            schema_before
        },
        schema_after,
        migrations,
        requires,
        // A fresh install has nothing to break.
        breaking: in_hop
            .iter()
            .filter(|_| from.is_some())
            .flat_map(|r| {
                r.breaking.iter().map(|b| Breaking {
                    version: r.version.clone(),
                    change: b.clone(),
                })
            })
            .collect(),
        // A fresh install ships its config in the new shape.
        config: in_hop
            .iter()
            .filter(|_| from.is_some())
            .flat_map(|r| {
                r.config.iter().map(|c| ConfigRef {
                    version: r.version.clone(),
                    file: c.file.clone(),
                    op: c.action.name(),
                    change: c.describe(),
                })
            })
            .collect(),
        notes: in_hop.iter().filter_map(|r| r.notes.clone()).collect(),
        checks: manifest
            .checks
            .iter()
            .chain(in_hop.iter().flat_map(|r| &r.checks))
            .filter_map(|c| {
                use crate::project::check::Phase;
                let when: Vec<Phase> = [(Phase::Pre, from), (Phase::Post, Some(to))]
                    .into_iter()
                    .filter(|(p, v)| c.applies(*p, *v))
                    .map(|(p, _)| p)
                    .collect();
                (!when.is_empty()).then(|| CheckRef {
                    name: c.name.clone(),
                    when,
                    severity: c.severity,
                    what: c.describe(),
                })
            })
            .collect(),
        commit: to_release.and_then(|r| r.commit.clone()),
        built: to_release.and_then(|r| r.built),
        way_back: None,
        measured: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::manifest::tests::{migrations, rel};
    use crate::project::policy::{Downtime, Policy};
    use std::path::Path;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn manifest(releases: Vec<crate::project::release::Release>) -> Manifest {
        let mut policy = Policy {
            oldest: Some(v("1.0.0")),
            ..Policy::default()
        };
        policy.patch.downtime = Some(Downtime::NONE);
        policy.minor.downtime = Some(Downtime::parse("5m-15m").unwrap());
        policy.major.downtime = Some(Downtime::parse("30m-60m").unwrap());
        Manifest::build(Path::new("releases"), releases, policy, &migrations(6)).unwrap()
    }

    fn osmen() -> Manifest {
        manifest(vec![
            rel("1.0.0", Some(2), None, None),
            rel("1.5.0", Some(2), None, None),
            rel("2.0.0", Some(4), Some(">=1.5.0"), None),
            rel("2.0.1", None, None, None),
            rel("2.1.0-rc.1", Some(5), None, None),
            rel("2.1.0", Some(5), Some(">=2.0.0"), None),
        ])
    }

    fn hops(p: &UpgradePlan) -> Vec<String> {
        p.hops
            .iter()
            .map(|h| {
                format!(
                    "{}->{}",
                    h.from.as_ref().map_or("none".into(), ToString::to_string),
                    h.to
                )
            })
            .collect()
    }

    fn go(m: &Manifest, from: &str, to: Option<&str>) -> Result<UpgradePlan, Error> {
        let start = if from.is_empty() {
            Start::Fresh
        } else {
            Start::Installed(v(from))
        };
        plan(m, &migrations(6), &start, None, to.map(v).as_ref())
    }

    fn refusal(e: Error) -> String {
        match e {
            Error::Refused(p) => p.to_string(),
            other => panic!("expected a refusal, got {other}"),
        }
    }

    #[test]
    fn upgrade_from_forces_an_intermediate_hop() {
        let m = osmen();
        let p = go(&m, "1.0.0", None).unwrap();
        // 2.1.0 upgrades only from >=2.0.0 and 2.0.0 only from >=1.5.0.
        assert_eq!(hops(&p), vec!["1.0.0->1.5.0", "1.5.0->2.0.1", "2.0.1->2.1.0"]);
        assert_eq!(p.hops[1].kind, Some(UpgradeKind::Major));
        assert_eq!(p.hops[1].releases, vec![v("2.0.0"), v("2.0.1")]);
        let names: Vec<_> = p.hops[1].migrations.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["0003_m3", "0004_m4"]);
        assert_eq!(p.hops[2].migrations.len(), 1, "pre-releases are not stops on the way");
        // minor (5-15) + major (30-60) + minor (5-15)
        assert_eq!(p.downtime.unwrap().to_string(), "40-90 min");
        assert_eq!(p.risk, Some(Risk::High));
    }

    #[test]
    fn required_stops_are_never_jumped() {
        let m = manifest(vec![
            rel("1.0.0", Some(1), None, None),
            rel("1.1.0", Some(2), None, Some("rewrites the conversations table")),
            rel("1.2.0", Some(3), None, None),
            rel("2.0.0", Some(4), None, None),
        ]);
        let p = go(&m, "1.0.0", Some("2.0.0")).unwrap();
        assert_eq!(hops(&p), vec!["1.0.0->1.1.0", "1.1.0->2.0.0"]);
        assert_eq!(
            p.hops[0].required_stop.as_deref(),
            Some("rewrites the conversations table")
        );
        // A stop its path cannot reach is named in the refusal.
        let m = manifest(vec![
            rel("1.0.0", Some(1), None, None),
            rel("1.0.5", Some(1), None, None),
            rel("1.1.0", Some(2), Some(">=1.0.5"), Some("rewrites data")),
            rel("2.0.0", Some(4), None, None),
        ]);
        let p = go(&m, "1.0.0", None).unwrap();
        assert_eq!(hops(&p), vec!["1.0.0->1.0.5", "1.0.5->1.1.0", "1.1.0->2.0.0"]);
        // From a version the stop does not accept, the refusal names the stop.
        let m = manifest(vec![
            rel("1.0.0", Some(1), None, None),
            rel("1.1.0", Some(2), Some("=1.0.0"), Some("rewrites data")),
            rel("2.0.0", Some(4), Some(">=1.1.0"), None),
        ]);
        let msg = refusal(go(&m, "1.0.2", None).unwrap_err());
        assert!(
            msg.contains("1.1.0 is a required stop (rewrites data)") && msg.contains("=1.0.0"),
            "{msg}"
        );
    }

    #[test]
    fn a_stated_kind_overrides_the_0x_rule() {
        let build =
            |releases| Manifest::build(Path::new("releases"), releases, Policy::default(), &migrations(6)).unwrap();
        let m = build(vec![
            rel("0.1.0", Some(1), None, None),
            rel("0.2.0", Some(2), None, None),
        ]);
        assert_eq!(go(&m, "0.1.0", None).unwrap().hops[0].kind, Some(UpgradeKind::Major));
        let mut minor = rel("0.2.0", Some(2), None, None);
        minor.kind = Some(UpgradeKind::Minor);
        let m = build(vec![rel("0.1.0", Some(1), None, None), minor.clone()]);
        assert_eq!(go(&m, "0.1.0", None).unwrap().hops[0].kind, Some(UpgradeKind::Minor));
        // A hop is as big as its biggest step.
        let m = build(vec![
            rel("0.1.0", Some(1), None, None),
            minor,
            rel("1.0.0", Some(3), None, None),
        ]);
        let p = go(&m, "0.1.0", None).unwrap();
        assert_eq!(p.hops.len(), 1);
        assert_eq!(p.hops[0].kind, Some(UpgradeKind::Major));
    }

    #[test]
    fn prerelease_targets_and_sources() {
        let m = osmen();
        let p = go(&m, "2.0.1", Some("2.1.0-rc.1")).unwrap();
        assert_eq!(hops(&p), vec!["2.0.1->2.1.0-rc.1"]);
        let p = go(&m, "2.1.0-rc.1", None).unwrap();
        assert_eq!(hops(&p), vec!["2.1.0-rc.1->2.1.0"]);
        assert_eq!(p.hops[0].kind, Some(UpgradeKind::Patch));
        assert!(p.hops[0].migrations.is_empty());
    }

    #[test]
    fn refusals_name_the_rule() {
        let m = osmen();
        assert!(
            refusal(go(&m, "0.9.0", None).unwrap_err())
                .contains("no upgrade path from 0.9.0: versions before 1.0.0 are not supported")
        );
        let msg = refusal(go(&m, "2.1.0", Some("2.0.0")).unwrap_err());
        assert!(msg.contains("rollback"), "{msg}");
        assert!(refusal(go(&m, "1.0.0", Some("3.0.0")).unwrap_err()).contains("no release has that version"));
        let empty = Manifest::build(Path::new("releases"), vec![], Policy::default(), &migrations(1)).unwrap();
        assert!(refusal(go(&empty, "1.0.0", None).unwrap_err()).contains("no releases"));
    }

    #[test]
    fn already_there_and_fresh_install() {
        let m = osmen();
        assert!(go(&m, "2.1.0", None).unwrap().hops.is_empty());
        let p = go(&m, "", None).unwrap();
        assert_eq!(hops(&p), vec!["none->2.1.0"]);
        assert_eq!(p.hops[0].migrations.len(), 5);
        assert_eq!(p.hops[0].kind, None);
        assert!(p.hops[0].breaking.is_empty(), "a fresh install has nothing to break");
    }

    /// A regression test: `risk = "low"` in a release could not lower the
    /// policy's "high", though the README says it overrides.
    #[test]
    fn a_release_risk_overrides_the_policy_both_ways() {
        let mut low = rel("2.0.0", Some(2), None, None);
        low.risk = Some(Risk::Low);
        let m = manifest(vec![rel("1.0.0", Some(1), None, None), low]);
        let p = go(&m, "1.0.0", None).unwrap();
        assert_eq!(p.hops[0].kind, Some(UpgradeKind::Major));
        assert_eq!(p.hops[0].risk, Risk::Low, "lowered");
        let mut high = rel("1.1.0", Some(2), None, None);
        high.risk = Some(Risk::High);
        let m = manifest(vec![rel("1.0.0", Some(1), None, None), high]);
        assert_eq!(go(&m, "1.0.0", None).unwrap().hops[0].risk, Risk::High, "raised");
    }

    #[test]
    fn skipped_versions_keep_their_breaking_changes() {
        let mut a = rel("1.1.0", Some(2), None, None);
        a.breaking.push(BreakingChange {
            category: crate::project::release::Category::Config,
            change: "AGENT_MEMORY renamed to QDRANT_HOST".into(),
            steps: vec![],
        });
        let m = manifest(vec![
            rel("1.0.0", Some(1), None, None),
            a,
            rel("1.2.0", Some(3), None, None),
        ]);
        let p = go(&m, "1.0.0", None).unwrap();
        assert_eq!(hops(&p), vec!["1.0.0->1.2.0"]);
        assert_eq!(p.hops[0].breaking.len(), 1);
        assert_eq!(p.hops[0].breaking[0].version, v("1.1.0"));
        assert!(p.hops[0].backup >= BackupRule::Recommended);
    }
}
