//! Releases and the upgrade plan: release files, ferry's version rules, the
//! policy, the manifest that ties them to the migrations, and the planner.
//! Everything here is pure apart from reading the releases folder.

mod evidence;
mod file;
mod guide;
mod manifest;
mod observe;
mod plan;
pub(crate) mod policy;
mod runbook;

pub use self::evidence::{By, WayBack, annotate};
pub use self::file::{BreakingChange, Category, Component, Release};
pub use self::guide::guide;
pub use self::manifest::{Inference, Manifest};
pub use self::observe::{Known, starting_point};
pub use self::plan::{Breaking, CheckRef, ConfigRef, Hop, MigrationRef, Start, UpgradePlan, plan};
pub use self::policy::{BackupRule, Downtime, KindPolicy, Policy, Risk, Series, StagingRule, SupportState, parse_date};
pub use self::runbook::runbook;
pub use crate::installed::{InstalledRecord, forget_since, installed_seq, read_installed, record_installed};
pub use crate::version::{Requirement, UpgradeKind, Version};
