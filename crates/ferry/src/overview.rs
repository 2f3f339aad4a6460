//! `ferry status`: where an installation stands, gathered in one value —
//! the installed release and how it is known, the schema, the support state
//! of its series, the config files' last migration, the last upgrade run,
//! and what an upgrade would do next.

use serde::{Serialize, Serializer};

use crate::config::migrate as config_migrate;
use crate::error::Result;
use crate::migration::State;
use crate::migrator::Migrator;
use crate::plan::Observed;
use crate::plan::{self, Known, Start, UpgradePlan};
use crate::project::Installation;
use crate::project::{Series, SupportState};
use crate::upgrade::RunReport;
use crate::url::{DatabaseUrl, EngineKind, SafeUrl};
use crate::version::Version;

/// Where an installation stands.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The application's name.
    pub project: Option<String>,
    /// The database, redacted.
    pub database: SafeUrl,
    /// Its engine.
    pub engine: EngineKind,
    /// What the database says.
    pub observed: Observed,
    /// The newest release.
    pub newest: Option<Version>,
    /// Its date.
    pub newest_date: Option<jiff::civil::Date>,
    /// The installed release's support series and its state on `today`.
    pub support: Option<(Series, SupportState)>,
    /// True when ferry.toml lists series, but none for the installed release.
    pub series_missing: bool,
    /// The day support is judged on.
    pub today: jiff::civil::Date,
    /// The last config migration, or why the records cannot be read.
    pub config: std::result::Result<Option<config_migrate::Record>, String>,
    /// True when some release declares config changes.
    pub config_declared: bool,
    /// The release the config files show they are at, when that is older
    /// than the record (or the installed release) says: they lack changes.
    pub config_behind: Option<Version>,
    /// The plan to the newest release, or why there is none.
    pub next: std::result::Result<UpgradePlan, String>,
    /// The last upgrade run.
    pub upgrade: Option<RunReport>,
}

impl Overview {
    /// Reads everything `ferry status` shows. Changes nothing.
    pub fn gather(
        inst: &Installation,
        access: &crate::project::Access,
        migrator: &mut Migrator,
        url: &DatabaseUrl,
        today: jiff::civil::Date,
    ) -> Result<Self> {
        let observed = inst.observe(migrator)?;
        let installed = observed.installed().cloned();
        let policy = &inst.manifest.policy;
        let series = installed.as_ref().and_then(|v| policy.series_of(v)).cloned();
        let next = match &observed.start {
            Ok((s, _)) => {
                plan::plan(&inst.manifest, &inst.set, s, Some(&observed.status), None).map_err(|e| e.to_string())
            }
            Err(e) => Err(e.clone()),
        };
        let newest = inst.manifest.newest();
        let mut store = inst.state(access);
        let claimed = store
            .as_mut()
            .ok()
            .and_then(|s| crate::config::migrate::current(&mut **s).ok().flatten())
            .or_else(|| installed.clone());
        let config_behind = match (claimed, inst.files_config_version()) {
            (Some(c), Some(f)) if f < c => Some(f),
            _ => None,
        };
        Ok(Overview {
            config_behind,
            project: inst.project.name().map(str::to_owned),
            database: url.safe().clone(),
            engine: url.kind(),
            series_missing: series.is_none() && !policy.series.is_empty() && installed.is_some(),
            support: series.map(|s| {
                let state = s.state(today);
                (s, state)
            }),
            today,
            newest: newest.map(|r| r.version.clone()),
            newest_date: newest.and_then(|r| r.date),
            config: match &mut store {
                Ok(s) => config_migrate::records(&mut **s)
                    .map(|r| r.last().cloned())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            config_declared: inst.manifest.releases().iter().any(|r| !r.config.is_empty()),
            next,
            upgrade: store
                .as_mut()
                .ok()
                .and_then(|s| crate::upgrade::last(&mut **s).ok().flatten()),
            observed,
        })
    }

    /// True when something needs a person: edited, missing or failed
    /// migrations, or an upgrade run that did not finish.
    pub fn troubled(&self) -> bool {
        self.observed
            .status
            .migrations
            .iter()
            .any(|m| matches!(m.state, State::Modified | State::Missing | State::Failed))
            || self.observed.unmanaged.is_some()
            || self.upgrade.as_ref().is_some_and(|u| u.is_unfinished() && !u.live)
    }
}

/// `ferry status --json`. Fields are only ever added.
impl Serialize for Overview {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Installed<'a> {
            Known {
                version: &'a Version,
                known: &'a Known,
                recorded: &'a Option<crate::installed::InstalledRecord>,
            },
            Fresh {
                version: Option<()>,
                known: Known,
            },
            Unknown {
                version: Option<()>,
                error: &'a str,
            },
        }
        #[derive(Serialize)]
        struct Schema {
            current: Option<u64>,
            pending: usize,
        }
        #[derive(Serialize)]
        struct Support<'a> {
            series: &'a str,
            state: &'a SupportState,
            active_until: Option<jiff::civil::Date>,
            security_until: Option<jiff::civil::Date>,
        }
        #[derive(Serialize)]
        struct Error<'a> {
            error: &'a str,
        }
        #[derive(Serialize)]
        struct Config<'a> {
            migrated_to: &'a str,
            at: &'a str,
            state: config_migrate::RecordState,
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Either<T, E> {
            Ok(T),
            Err(E),
        }
        #[derive(Serialize)]
        struct Next<'a> {
            to: &'a Version,
            hops: usize,
            risk: &'a Option<crate::project::Risk>,
            downtime: &'a Option<crate::project::Downtime>,
            backup: &'a Option<crate::project::BackupRule>,
            behind: &'a [crate::plan::MigrationRef],
        }
        #[derive(Serialize)]
        struct Upgrade<'a> {
            id: &'a str,
            state: &'static str,
            from: &'a Option<String>,
            to: &'a str,
            hop: Option<usize>,
            step: Option<crate::upgrade::StepKind>,
            live: bool,
            next: &'a Option<String>,
        }
        #[derive(Serialize)]
        struct View<'a> {
            project: &'a Option<String>,
            database: &'a SafeUrl,
            engine: EngineKind,
            installed: Installed<'a>,
            schema: Schema,
            unmanaged: &'a Option<crate::foreign::Unmanaged>,
            newest: &'a Option<Version>,
            support: Option<Support<'a>>,
            config: Either<Option<Config<'a>>, Error<'a>>,
            config_files_at: &'a Option<Version>,
            next: Either<Next<'a>, Error<'a>>,
            upgrade: Option<Upgrade<'a>>,
        }
        let o = &self.observed;
        View {
            project: &self.project,
            database: &self.database,
            engine: self.engine,
            installed: match &o.start {
                Ok((Start::Installed(v), known)) => Installed::Known {
                    version: v,
                    known,
                    recorded: &o.recorded,
                },
                Ok((Start::Fresh, _)) => Installed::Fresh {
                    version: None,
                    known: Known::Fresh,
                },
                Err(e) => Installed::Unknown {
                    version: None,
                    error: e,
                },
            },
            schema: Schema {
                current: o.status.current,
                pending: o.status.pending_count(),
            },
            unmanaged: &o.unmanaged,
            newest: &self.newest,
            support: self.support.as_ref().map(|(s, state)| Support {
                series: &s.name,
                state,
                active_until: s.active_until,
                security_until: s.security_until,
            }),
            config: match &self.config {
                Ok(r) => Either::Ok(r.as_ref().map(|r| Config {
                    migrated_to: &r.to,
                    at: &r.at,
                    state: r.state,
                })),
                Err(e) => Either::Err(Error { error: e }),
            },
            config_files_at: &self.config_behind,
            next: match &self.next {
                Ok(p) => Either::Ok(Next {
                    to: &p.to,
                    hops: p.hops.len(),
                    risk: &p.risk,
                    downtime: &p.downtime,
                    backup: &p.backup,
                    behind: &p.behind,
                }),
                Err(e) => Either::Err(Error { error: e }),
            },
            upgrade: self.upgrade.as_ref().map(|u| {
                let (hop, step) = u.state.position().map_or((None, None), |(h, s)| (Some(h), Some(s)));
                Upgrade {
                    id: &u.id,
                    state: u.state.as_str(),
                    from: &u.from,
                    to: &u.to,
                    hop: hop.map(|h| h + 1),
                    step,
                    live: u.live,
                    next: &u.next,
                }
            }),
        }
        .serialize(s)
    }
}
