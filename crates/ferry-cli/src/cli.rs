//! Command-line arguments. Clap types live here and nowhere else; `app`
//! turns them into plain values for the library.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferry::version::Version;

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
    /// The application's folder, holding ferry.toml (default: this folder
    /// or the nearest one above it with a ferry.toml).
    #[arg(long = "project", global = true, value_name = "DIR", env = "FERRY_PROJECT")]
    pub project_arg: Option<PathBuf>,

    /// The project folder the command works in: `--project` (or
    /// FERRY_PROJECT), else found from the current folder up.
    #[arg(skip)]
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

    /// Keep trying to reach the database for this long (with backoff)
    /// before giving up, for example 2m: a server still starting, a pod
    /// whose database comes up beside it (default: ferry.toml's
    /// `[database] wait`, else try once).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<Duration>,

    /// The date support states are judged on (default: today, UTC).
    #[arg(long, global = true, value_name = "YYYY-MM-DD", env = "FERRY_TODAY", hide = true, value_parser = parse_date)]
    pub today: Option<jiff::civil::Date>,

    /// More detail on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e}; write for example 30s or 5m"))
}

fn parse_date(s: &str) -> Result<jiff::civil::Date, String> {
    s.parse().map_err(|e| format!("{e}; write YYYY-MM-DD"))
}

/// Versions given on the command line: a bad one is a usage error (exit 2).
fn parse_version(s: &str) -> Result<Version, String> {
    Version::parse(s)
}

/// Another migration tool's name.
fn parse_tool(s: &str) -> Result<ferry::foreign::Tool, String> {
    ferry::foreign::Tool::parse(s)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create ferry.toml, a migrations folder, a .gitattributes line and a .gitignore line here.
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
        #[arg(long, value_name = "VERSION", value_parser = parse_version)]
        to: Option<Version>,
        /// Plan from this release instead of reading the database.
        #[arg(long, value_name = "VERSION", value_parser = parse_version)]
        from: Option<Version>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Same as --format json.
        #[arg(long)]
        json: bool,
    },
    /// Watch the metrics of `[watch]` now, as the upgrade does after its last
    /// hop; with --rollback-on-fail, roll the last upgrade back when they
    /// cross a rollback threshold.
    Watch(WatchArgs),
    /// Upgrade to a release: pre-flight checks, hooks, the backup the
    /// policy asks for, config files, migrations, the release recorded,
    /// post-upgrade checks; journaled, resumable, rolled back on failure.
    Upgrade(Upgrade),
    /// Rehearse the upgrade on a copy: a backup restored into a scratch
    /// database, the config files into a scratch folder; run, timed, rolled
    /// back and compared. The live database and files are only read.
    Rehearse(Rehearse),
    /// Run the checks: the installed release's post-upgrade checks and
    /// component requirements, and the next hop's pre-flight checks.
    Check {
        /// Only the next hop's pre-flight checks.
        #[arg(long, conflicts_with = "post")]
        pre: bool,
        /// Only the installed release's post-upgrade checks.
        #[arg(long)]
        post: bool,
        /// The target whose first hop the pre-flight checks are for (default: the newest release).
        #[arg(long, value_name = "VERSION", value_parser = parse_version)]
        to: Option<Version>,
        #[command(flatten)]
        skips: SkipArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Take the installation back to what it was before the last upgrade run.
    Rollback {
        /// Go back only to this release, which the last run passed through.
        #[arg(long, value_name = "VERSION", value_parser = parse_version)]
        to: Option<Version>,
        /// Restore the database from the run's backup even where down scripts exist.
        #[arg(long)]
        restore: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// The upgrade runs ferry keeps (in the database, or in `[state] dir`):
    /// listed; one run's report; a run's journal, line for line.
    Runs {
        /// The run to show (its id, or `last`).
        run: Option<String>,
        /// Print the journal as stored (JSON lines) instead of a report; of
        /// every run when no run is named.
        #[arg(long)]
        journal: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Record VERSION as the installed release, without changing anything else.
    Adopt {
        /// The release installed now.
        #[arg(value_parser = parse_version)]
        version: Version,
    },
    /// Convert another tool's migration folder into ferry's layout, with an
    /// IMPORTED.toml that says where each file came from.
    Import {
        /// The tool: alembic, flyway, sqlx, diesel, golang-migrate, goose, dbmate, refinery.
        #[arg(long, value_name = "TOOL", value_parser = parse_tool)]
        from: ferry::foreign::Tool,
        /// The tool's migrations folder (for Alembic, its versions/ folder).
        src: PathBuf,
        /// Where to write (default: the project's migrations folder, which must be empty).
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
        /// Say what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        json: JsonFlag,
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
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print ferry's man page (roff): `ferry man > ferry.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct Upgrade {
    /// The target release (default: the newest final release).
    #[arg(long, value_name = "VERSION", value_parser = parse_version, conflicts_with_all = ["resume", "rollback"])]
    pub to: Option<Version>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Print every step with its SQL and config diff; change nothing.
    #[arg(long, conflicts_with_all = ["resume", "rollback"])]
    pub dry_run: bool,
    /// On a failure, stop and leave everything as it is instead of rolling back.
    #[arg(long)]
    pub no_rollback: bool,
    /// Skip backups the policy only recommends (required ones are always taken).
    #[arg(long)]
    pub no_backup: bool,
    /// Finish the unfinished run from where it stopped.
    #[arg(long, conflicts_with = "rollback")]
    pub resume: bool,
    /// Undo the unfinished run (or continue its rollback).
    #[arg(long)]
    pub rollback: bool,
    /// Watch the metrics for this long after the last hop instead of
    /// `[watch] duration` (for example 30m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with_all = ["no_watch", "resume", "rollback"])]
    pub watch: Option<std::time::Duration>,
    /// No watch window after the last hop.
    #[arg(long, conflicts_with_all = ["resume", "rollback"])]
    pub no_watch: bool,
    /// Warnings in the watch window roll the upgrade back instead of asking.
    #[arg(long, conflicts_with_all = ["resume", "rollback"])]
    pub strict: bool,
    #[command(flatten)]
    pub skips: SkipArgs,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// How long to watch (default: `[watch] duration`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// When a rollback threshold is crossed, roll the last upgrade back
    /// (`ferry rollback`, without asking).
    #[arg(long)]
    pub rollback_on_fail: bool,
    /// Warnings fail the watch too.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct Rehearse {
    /// The target release (default: the newest final release).
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub to: Option<Version>,
    /// Make the copy from this backup (default: the newest verified one).
    #[arg(long, value_name = "ID", conflicts_with = "from_live")]
    pub backup: Option<String>,
    /// Make the copy from a backup of the live database taken now (kept
    /// with the copy, not in the project's backups).
    #[arg(long)]
    pub from_live: bool,
    /// Keep the scratch folder and database afterwards (as the rollback
    /// left them), and say where.
    #[arg(long)]
    pub keep: bool,
    /// Run the hooks too, in the copy's folder, and every check (a hook or
    /// check that names the live service acts on the live service).
    #[arg(long)]
    pub hooks: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args, Clone)]
pub struct SkipArgs {
    /// Skip this warning check (repeatable).
    #[arg(long = "skip", value_name = "NAME")]
    pub warnings: Vec<String>,
    /// Skip this error check too (repeatable); the run's journal says so.
    #[arg(long = "skip-errors", value_name = "NAME")]
    pub errors: Vec<String>,
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
        #[arg(long, value_name = "VERSION", value_parser = parse_version)]
        to: Option<Version>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Apply the config changes of the releases between the installed
    /// release and a target, keeping comments and layout.
    Migrate {
        /// The target release (default: the newest final release).
        #[arg(long, value_name = "VERSION", value_parser = parse_version)]
        to: Option<Version>,
        /// The release the files are at (default: the last config migration's
        /// target, else the installed release read from the database).
        #[arg(long, value_name = "VERSION", value_parser = parse_version)]
        from: Option<Version>,
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
        /// Restore only the database.
        #[arg(long, conflicts_with = "files_only")]
        db_only: bool,
        /// Restore only the config files.
        #[arg(long)]
        files_only: bool,
        /// Also restore the config files when restoring into another
        /// database than ferry.toml's (they are left alone by default).
        #[arg(long, conflicts_with_all = ["db_only", "files_only"])]
        with_files: bool,
        /// PostgreSQL: leave out the backup's GRANTs, for a server that lacks their roles.
        #[arg(long)]
        no_privileges: bool,
        /// Create the database first when it does not exist.
        #[arg(long)]
        create: bool,
        /// Move a backup of a SQLite database into the (empty) database of
        /// another engine, as `ferry db transfer` does: schema from that
        /// engine's migrations, every row converted and checked.
        #[arg(long, conflicts_with_all = ["files_only", "with_files", "no_privileges"])]
        transfer: bool,
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

/// `--phase` of `ferry db migrate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    /// Migrations that run before the new code starts (the default).
    PreDeploy,
    /// Migrations marked `-- ferry:phase post-deploy`.
    PostDeploy,
    /// Every migration, in version order.
    All,
}

impl From<PhaseArg> for ferry::Phases {
    fn from(p: PhaseArg) -> Self {
        match p {
            PhaseArg::PreDeploy => ferry::Phases::PreDeploy,
            PhaseArg::PostDeploy => ferry::Phases::PostDeploy,
            PhaseArg::All => ferry::Phases::All,
        }
    }
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
        /// Which migrations run: pre-deploy ones (before the new code
        /// starts), post-deploy ones (`-- ferry:phase post-deploy`, once the
        /// new code runs and every pre-deploy one is applied), or all.
        #[arg(long, value_enum, default_value = "pre-deploy")]
        phase: PhaseArg,
        /// Run every migration even on a database that has tables but no
        /// ferry history (another tool's, or made by hand).
        #[arg(long)]
        allow_unmanaged: bool,
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
    /// Copy the database into an empty one of another engine (or server):
    /// its schema from that engine's migrations, then every table's rows,
    /// checked row for row; the installed release carried over.
    Transfer {
        /// The empty target database.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Only these tables (comma-separated).
        #[arg(long, value_name = "TABLE,...", value_delimiter = ',')]
        tables: Vec<String>,
        /// Say what would be copied; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Prove the down scripts in a scratch database: each down takes the
    /// schema back to what it was before its up, step by step and as a
    /// chain down to each release. The project's database is not touched.
    Verify {
        /// Check migrations after this one (a migration version, or a release).
        #[arg(long, value_name = "VERSION")]
        from: Option<String>,
        /// Check migrations up to this one (a migration version, or a release).
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// An empty database to work in (default: ferry makes one beside
        /// the project's, or a temporary SQLite file, and drops it after).
        #[arg(long, value_name = "URL")]
        scratch: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Take over a database another tool migrated: record the migrations
    /// its history says it applied, with their times, running nothing.
    Adopt {
        /// The tool: alembic, flyway, sqlx, diesel, golang-migrate, goose,
        /// dbmate, refinery, or table (a history table of your own, its
        /// columns named in ferry.toml's [adopt]).
        #[arg(long, value_name = "TOOL", value_parser = parse_tool)]
        from: ferry::foreign::Tool,
        /// The tool's history table, when not its default.
        #[arg(long, value_name = "NAME")]
        table: Option<String>,
        /// Say what would be recorded; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Record what matches even where the history and the folder disagree.
        #[arg(long)]
        allow_gaps: bool,
        /// Drop the tool's history table once ferry's has its rows.
        #[arg(long)]
        drop_foreign: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
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
