//! Migrations: loading and validating files, their status against the
//! history, and planning which to run. Everything here is pure.

pub mod batch;
mod cache;
mod concurrently;
mod lexer;
mod lint;
mod plan;
mod script;
mod set;
mod status;

pub use self::batch::BatchSpec;
pub use self::concurrently::concurrent_index;
#[allow(deprecated)]
pub use self::lexer::Dialect;
pub use self::lexer::{LexError, Placeholder, Statement, is_transaction_control, line_of, placeholders, split};
pub use self::lint::{lint, lint_scripts};
pub(crate) use self::plan::undoes_batches_of;
pub use self::plan::{Direction, MigrateOptions, Phases, RevertTarget, Step, plan_down, plan_up};
pub use self::script::{Checksum, Directives, KNOWN_DIRECTIVES, Phase, Script, normalise};
pub use self::set::{Migration, MigrationSet};
pub use self::status::{AppliedMigration, BatchProgress, MigrationStatus, RowKind, State, Status};
