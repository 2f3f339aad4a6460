//! Planning, pure: from the releases the project declares and what the
//! database says, the path to a target (hops, required stops, risk,
//! downtime, backups, migrations, config changes, checks), what is known of
//! each hop's way back and its rehearsed time, the runbook and the guide.

mod evidence;
mod guide;
mod observe;
pub mod rehearsal;
mod runbook;
mod upgrade_plan;

pub use self::evidence::{By, WayBack, annotate};
pub use self::guide::guide;
pub use self::observe::{Known, Observed, starting_point};
pub use self::runbook::runbook;
pub use self::upgrade_plan::{Breaking, CheckRef, ConfigRef, Hop, MigrationRef, Start, UpgradePlan, plan};
