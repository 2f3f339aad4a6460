//! Command-line arguments. Clap types live here and nowhere else; `app`
//! turns them into plain values for the library.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `ferry --version`: the version, the commit and the build date.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("FERRY_COMMIT"),
    ", built ",
    env!("FERRY_BUILD_DATE"),
    ")"
);

/// ferry: safe, boring application upgrades.
#[derive(Debug, Parser)]
#[command(name = "ferry", version = LONG_VERSION, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The application's folder, holding ferry.toml.
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,

    /// The database URL, overriding ferry.toml and DATABASE_URL.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "FERRY_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// How long to wait for another ferry process that holds the migration
    /// lock, for example 30s or 5m (default: ferry.toml's, else 60s).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,

    /// The date support states are judged on (default: today, UTC).
    #[arg(long, global = true, value_name = "YYYY-MM-DD", env = "FERRY_TODAY", hide = true)]
    pub today: Option<String>,

    /// More detail on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e}; write for example 30s or 5m"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create ferry.toml, a migrations folder and a .gitattributes line here.
    Init {
        /// The application's name (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Write the next migration pair: NNNN_NAME.up.sql and NNNN_NAME.down.sql.
    New {
        /// What the migration does, for example add_users_table.
        name: String,
        /// Use a UTC timestamp (YYYYMMDDHHMMSS) as the version.
        #[arg(long)]
        timestamp: bool,
    },
    /// Where the application stands: installed release, schema, support, what comes next.
    Status(JsonFlag),
    /// The path from the installed release to a target, hop by hop.
    Plan {
        /// The target release (default: the newest final release).
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// Plan from this release instead of reading the database.
        #[arg(long, value_name = "VERSION")]
        from: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Same as --format json.
        #[arg(long)]
        json: bool,
    },
    /// Record VERSION as the installed release, without changing anything else.
    Adopt {
        /// The release installed now.
        version: String,
    },
    /// Write the application's UPGRADING.md from its releases and policy.
    Guide {
        /// Where to write it (default: UPGRADING.md in the project; - for stdout).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Database migrations.
    #[command(subcommand)]
    Db(Db),
    /// Backups of the database and the config files.
    #[command(subcommand)]
    Backup(Backup),
    /// Config-file migrations: the changes releases declare to .env, YAML, TOML and JSON files.
    #[command(subcommand)]
    Config(Config),
}

#[derive(Debug, Subcommand)]
pub enum Config {
    /// Keys missing from the config files, keys the example no longer has,
    /// deprecated keys still in use; exits 1 when something required is missing.
    Diff {
        /// The user's file (default with --example: the example's name
        /// without .example; paths are relative to the config folder).
        file: Option<PathBuf>,
        /// Compare with this example file, such as .env.example.
        #[arg(long, value_name = "FILE")]
        example: Option<PathBuf>,
        /// Judge against the releases up to this one (default: the newest final release).
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Apply the config changes of the releases between the installed
    /// release and a target, keeping comments and layout.
    Migrate {
        /// The target release (default: the newest final release).
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// The release the files are at (default: the last config migration's
        /// target, else the installed release read from the database).
        #[arg(long, value_name = "VERSION")]
        from: Option<String>,
        /// Show a unified diff (secrets as ****); write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Undo the last config migration, restoring each file byte for byte.
    Revert {
        /// Revert even files edited since the migration, discarding those edits.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum Backup {
    /// Back up the database and the config files named in ferry.toml.
    Create {
        /// A note kept with the backup, also part of its id.
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List backups: id, time, label, release, size, last verified.
    List(JsonFlag),
    /// Check every member's checksum and read the database dump in full.
    Verify {
        /// The backup to verify.
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        /// Verify every backup.
        #[arg(long, conflicts_with = "id")]
        all: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Put the database and the config files back as they were at backup time.
    Restore {
        /// The backup to restore.
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete the backups the retention policy in ferry.toml does not keep.
    Prune {
        /// Say what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Restore a backup into a scratch database, run the checks, drop it.
    Drill {
        /// The backup to drill.
        id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// Stable JSON, documented in the README.
    Json,
    /// A runbook a person can follow by hand.
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Db {
    /// Show each migration and its state.
    Status(JsonFlag),
    /// Apply pending migrations in order.
    Migrate {
        /// Stop after this version.
        #[arg(long, value_name = "VERSION")]
        to: Option<u64>,
        /// Print the exact SQL that would run; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Apply pending migrations older than the newest applied one.
        #[arg(long)]
        allow_out_of_order: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Run down migrations, newest first (default: the newest one).
    Revert {
        /// Revert every migration newer than this version (0: all).
        #[arg(long, value_name = "VERSION", conflicts_with = "steps")]
        to: Option<u64>,
        /// Revert this many migrations.
        #[arg(long, value_name = "N")]
        steps: Option<usize>,
        /// Print the exact SQL that would run; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List applied migrations with times and durations.
    History(JsonFlag),
    /// Check that the migrations folder and the database agree; change nothing.
    Validate(JsonFlag),
    /// Record an existing database as being at VERSION without running anything.
    Baseline {
        /// The version the database is already at.
        version: u64,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// After fixing the database by hand: clear failed rows, accept edited
    /// checksums and forget missing migrations, printing each change.
    Repair {
        /// Say what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Args, Clone, Copy)]
pub struct JsonFlag {
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}
