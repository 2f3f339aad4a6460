//! `ferry check`: the checks that apply to an installation now.

use crate::check;
use crate::error::Result;
use crate::migrator::Migrator;
use crate::plan;
use crate::project::Installation;
use crate::url::DatabaseUrl;
use crate::version::Version;

/// Which checks `ferry check` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckWhich {
    /// Those of the next hop, before it.
    Pre,
    /// Those of the installed release, after its upgrade.
    Post,
    /// Both.
    Both,
}

/// What `ferry check` found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// The installed release the post checks are for.
    pub installed: Option<Version>,
    /// The post checks of the installed release.
    pub post: Vec<check::Verdict>,
    /// The hop the pre checks are for: (from, to).
    pub next: Option<(Option<Version>, Version)>,
    /// The pre checks of the next hop.
    pub pre: Vec<check::Verdict>,
}

impl serde::Serialize for CheckReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Next<'a> {
            from: &'a Option<Version>,
            to: &'a Version,
        }
        #[derive(serde::Serialize)]
        struct View<'a> {
            ok: bool,
            installed: &'a Option<Version>,
            post: &'a [check::Verdict],
            next: Option<Next<'a>>,
            pre: &'a [check::Verdict],
        }
        View {
            ok: !self.blocks(),
            installed: &self.installed,
            post: &self.post,
            next: self.next.as_ref().map(|(from, to)| Next { from, to }),
            pre: &self.pre,
        }
        .serialize(s)
    }
}

impl CheckReport {
    /// True when an error-severity check failed.
    pub fn blocks(&self) -> bool {
        self.pre.iter().chain(&self.post).any(check::Verdict::blocks)
    }
}

impl Installation {
    /// Runs the checks that apply now: the post checks of the installed
    /// release (and its components), and the pre checks (and component
    /// requirements) of the first hop towards `to` (default: the newest
    /// release), as `which` asks. Changes nothing.
    pub fn check(
        &self,
        migrator: &mut Migrator,
        url: &DatabaseUrl,
        which: CheckWhich,
        to: Option<&Version>,
        skips: &check::Skips,
    ) -> Result<CheckReport> {
        let observed = self.observe(migrator)?;
        let installed = observed.installed().cloned();
        let mut report = CheckReport::default();
        let redact = |s: &str| crate::redact::redact_text(s);
        let probes = self.project.probes().clone();
        let root = self.project.root().to_owned();
        if which != CheckWhich::Pre {
            let mut checks: Vec<check::Check> = self.project.checks().to_vec();
            let mut requires = Vec::new();
            if let Some(r) = installed.as_ref().and_then(|v| self.manifest.get(v)) {
                checks.extend(r.checks.iter().cloned());
                requires = r.requires.clone();
            }
            let mut ctx = check::Context {
                migrator: &mut *migrator,
                url,
                root: &root,
                redact: &redact,
                probes: &probes,
                skips,
            };
            report.post.extend(check::requirements(&requires, &mut ctx));
            report.post.extend(check::run(
                &checks,
                check::Phase::Post,
                installed.as_ref(),
                &mut ctx,
                &[],
            ));
            report.installed = installed.clone();
        }
        if which != CheckWhich::Post
            && let Ok((start, _)) = &observed.start
            && let Ok(plan) = plan::plan(&self.manifest, &self.set, start, Some(&observed.status), to)
            && let Some(hop) = plan.hops.first()
        {
            let mut checks: Vec<check::Check> = self.project.checks().to_vec();
            for v in &hop.releases {
                if let Some(r) = self.manifest.get(v) {
                    checks.extend(r.checks.iter().cloned());
                }
            }
            let mut ctx = check::Context {
                migrator: &mut *migrator,
                url,
                root: &root,
                redact: &redact,
                probes: &probes,
                skips,
            };
            report.pre.extend(check::requirements(&hop.requires, &mut ctx));
            report
                .pre
                .extend(check::run(&checks, check::Phase::Pre, hop.from.as_ref(), &mut ctx, &[]));
            report.next = Some((hop.from.clone(), hop.to.clone()));
        }
        Ok(report)
    }
}
