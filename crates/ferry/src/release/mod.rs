//! Releases and the upgrade plan: release files, ferry's version rules, the
//! policy, the manifest that ties them to the migrations, and the planner.
//! Everything here is pure apart from reading the releases folder.

mod file;
mod manifest;
mod plan;
mod policy;
mod version;

pub use self::file::{BreakingChange, Category, Component, Release};
pub use self::manifest::{Inference, Manifest};
pub use self::plan::{Breaking, Hop, MigrationRef, Start, UpgradePlan, plan};
pub use self::policy::{BackupRule, Downtime, KindPolicy, Policy, Risk, Series, StagingRule, SupportState};
pub use self::version::{Requirement, UpgradeKind, Version};
