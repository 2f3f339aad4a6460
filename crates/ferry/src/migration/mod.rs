//! Migrations: loading and validating files, their status against the
//! history, and planning which to run. Everything here is pure.

mod lexer;
mod lint;
mod plan;
mod script;
mod set;
mod status;

pub use self::lexer::{Dialect, LexError, Statement, is_transaction_control, line_of, split};
pub use self::lint::{lint, lint_scripts};
pub use self::plan::{Direction, MigrateOptions, RevertTarget, Step, plan_down, plan_up};
pub use self::script::{Checksum, Directives, KNOWN_DIRECTIVES, Script, normalise};
pub use self::set::{Migration, MigrationSet};
pub use self::status::{AppliedMigration, MigrationStatus, RowKind, State, Status};
