//! Turns parsed arguments into library calls, renders the result and picks
//! the exit code. Exit codes, in one place:
//!
//! - 0: the command did what was asked and found nothing wrong;
//! - 1: the command ran and found a problem, or failed (a refused or failed
//!   migration, a database that cannot be reached, a lock timeout);
//! - 2: usage or configuration error (bad arguments, ferry.toml, migration
//!   file names).

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use ferry::migration::{Direction, MigrationSet, State};
use ferry::{DatabaseUrl, MigrateOptions, Migrator, Project, RevertTarget};
use serde_json::json;

use crate::cli::{Cli, Command, Db, Format, Global};
use crate::output::{self, Out};
use crate::progress::Progress;
use crate::{backups, checks, configs, rehearses, releases, render, upgrades, watches};

/// What a command concluded.
pub enum Outcome {
    /// Done, nothing wrong.
    Ok,
    /// Ran, and found a problem (exit 1).
    Problem,
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_tracing(cli.global.verbose);
    stop_children_on_signals();
    let mut out = Out::new();
    let result = dispatch(&cli, &mut out).and_then(|o| {
        out.flush()?;
        Ok(o)
    });
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problem) => ExitCode::from(1),
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            output::print_error(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}

/// A command used wrongly, found after parsing (exit 2).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<Usage>().is_some() {
        return 2;
    }
    if let Some(fe) = e.downcast_ref::<ferry::Error>() {
        return if fe.is_configuration() { 2 } else { 1 };
    }
    match e.downcast_ref::<ferry::upgrade::RunError>() {
        Some(re) if re.is_configuration() => 2,
        _ => 1,
    }
}

fn init_tracing(verbose: u8) {
    use std::io::IsTerminal;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("ferry={level}")));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .without_time()
        .try_init();
}

/// On SIGINT, SIGTERM or SIGHUP, ends every child ferry runs (pg_dump,
/// pg_restore, psql, the mariadb tools, hooks with their process groups)
/// and removes unfinished work folders, then exits as the signal would.
/// Whatever the process was in the middle of is left as a kill leaves it:
/// journals and records say where it stopped.
fn stop_children_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            ferry::process::terminate_children();
            std::process::exit(128 + sig);
        }
    });
}

/// How the operator asked to reach the database.
pub fn access(g: &Global) -> ferry::Access {
    ferry::Access {
        database_url: g.database_url.clone(),
        lock_timeout: g.lock_timeout,
    }
}

fn dispatch(cli: &Cli, out: &mut Out) -> Result<Outcome> {
    let g = &cli.global;
    match &cli.command {
        Command::Init { name } => init(g, name.as_deref(), out),
        Command::New { name, timestamp } => {
            let project = Project::load(&g.project)?;
            let set = project.migrations_or_empty()?;
            // With migrations/${ENGINE}, the pair goes into every engine's
            // folder that exists, under the same version.
            let mut dirs: Vec<std::path::PathBuf> = ferry::EngineKind::ALL
                .iter()
                .map(|k| project.migrations_dir_for(*k))
                .filter(|d| project.per_engine_migrations() && d.is_dir())
                .collect();
            if dirs.is_empty() {
                dirs.push(project.migrations_dir());
            }
            for dir in dirs {
                let (up, down) = ferry::scaffold::new_migration(&dir, &set, name, *timestamp)?;
                out.line(format!("created {}", up.display()))?;
                out.line(format!("created {}", down.display()))?;
            }
            Ok(Outcome::Ok)
        }
        Command::Status(flag) => releases::status(g, flag.json, out),
        Command::Plan { to, from, format, json } => {
            let format = if *json { Format::Json } else { *format };
            releases::plan(g, to.as_ref(), from.as_ref(), format, out)
        }
        Command::Upgrade(u) => upgrades::upgrade(g, u, out),
        Command::Watch(w) => watches::watch(g, w, out),
        Command::Rehearse(r) => rehearses::rehearse(g, r, out),
        Command::Check {
            pre,
            post,
            to,
            skips,
            json,
        } => checks::check(g, *pre, *post, to.as_ref(), skips, json.json, out),
        Command::Rollback { to, restore, yes, json } => {
            upgrades::rollback(g, to.as_ref(), *restore, *yes, json.json, out)
        }
        Command::Adopt { version } => releases::adopt(g, version, out),
        Command::Guide { output } => releases::guide(g, output.as_ref(), out),
        Command::Import {
            from,
            src,
            into,
            dry_run,
            json,
        } => {
            let into = match into {
                Some(d) => d.clone(),
                None => Project::load(&g.project)?.migrations_dir().to_owned(),
            };
            let report = ferry::import::import(*from, src, &into, *dry_run)?;
            if json.json {
                out.json(&report)?;
            } else {
                out.text(&render::import(&report))?;
            }
            Ok(Outcome::Ok)
        }
        Command::Db(db) => run_db(g, db, out),
        Command::Backup(b) => backups::run(g, b, out),
        Command::Config(c) => configs::run(g, c, out),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "ferry", &mut buf);
            out.text(&String::from_utf8_lossy(&buf))?;
            Ok(Outcome::Ok)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut buf)?;
            out.text(&String::from_utf8_lossy(&buf))?;
            Ok(Outcome::Ok)
        }
    }
}

fn init(g: &Global, name: Option<&str>, out: &mut Out) -> Result<Outcome> {
    let created = ferry::scaffold::init(&g.project, name, g.database_url.as_deref())?;
    for p in &created.paths {
        out.line(format!("created {}", p.display()))?;
    }
    out.line("")?;
    out.line("next: write a migration with `ferry new create_first_table`, then run `ferry db migrate`")?;
    Ok(Outcome::Ok)
}

/// A project with its migrations and a connection.
struct Session {
    set: MigrationSet,
    migrator: Migrator,
    url: DatabaseUrl,
}

/// Loads the project, then reads the migrations folder while connecting to
/// a server: the two are independent, and with many migrations each takes a
/// few milliseconds. A problem in the folder is reported before a connection
/// problem, being the user's to fix either way.
fn open(g: &Global) -> Result<(Project, Session)> {
    let project = Project::load(&g.project)?;
    let url = project.database_url(g.database_url.as_deref())?;
    let connect = || Migrator::connect(&url, project.settings(g.lock_timeout));
    let (set, migrator) = if url.kind() == ferry::EngineKind::Sqlite {
        // Opening a SQLite file is too quick for a thread to pay off.
        (project.migrations_for(g.database_url.as_deref()), connect())
    } else {
        std::thread::scope(|s| {
            let loading = s.spawn(|| project.migrations_for(g.database_url.as_deref()));
            let migrator = connect();
            let set = loading.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            (set, migrator)
        })
    };
    let set = set?;
    let migrator = migrator?;
    Ok((project, Session { set, migrator, url }))
}

fn run_db(g: &Global, db: &Db, out: &mut Out) -> Result<Outcome> {
    if let Db::Validate(flag) = db {
        return validate(g, flag.json, out);
    }
    if let Db::Transfer {
        to,
        tables,
        dry_run,
        json,
    } = db
    {
        return crate::transfers::transfer(g, to, tables, *dry_run, json.json, out);
    }
    if let Db::Verify {
        from,
        to,
        scratch,
        json,
    } = db
    {
        return crate::verifies::verify(g, from.as_deref(), to.as_deref(), scratch.as_deref(), json.json, out);
    }
    let (project, mut s) = open(g)?;
    let writes = matches!(
        db,
        Db::Migrate { dry_run: false, .. }
            | Db::Revert { dry_run: false, .. }
            | Db::Baseline { .. }
            | Db::Adopt { dry_run: false, .. }
            | Db::Repair { dry_run: false, .. }
    );
    if writes && let Some(run) = ferry::upgrade::unfinished(&project.runs_dir())? {
        return Err(ferry::upgrade::unfinished_error(&run).into());
    }
    match db {
        Db::Status(flag) => {
            let status = s.migrator.status(&s.set)?;
            let troubled = status
                .migrations
                .iter()
                .any(|m| matches!(m.state, State::Modified | State::Missing | State::Failed));
            if flag.json {
                out.json(&json!({
                    "database": s.url.safe(),
                    "engine": s.url.kind(),
                    "history_table": project.settings(None).history_table.to_string(),
                    "current": status.current,
                    "baseline": status.baseline,
                    "pending": status.pending_count(),
                    "migrations": status.migrations,
                }))?;
            } else {
                let version = s.migrator.engine().server_version().unwrap_or_default();
                out.line(format!(
                    "database: {} ({} {version})",
                    s.url.safe(),
                    s.url.kind().name()
                ))?;
                out.line(format!("history table: {}\n", project.settings(None).history_table))?;
                out.text(&render::status(&status))?;
            }
            Ok(if troubled { Outcome::Problem } else { Outcome::Ok })
        }
        Db::Migrate {
            to,
            dry_run,
            allow_out_of_order,
            phase,
            allow_unmanaged,
            json,
        } => {
            let opts = MigrateOptions {
                to: *to,
                allow_out_of_order: *allow_out_of_order,
                phases: (*phase).into(),
                refuse_unmanaged: !*allow_unmanaged,
            };
            if *dry_run {
                let steps = s.migrator.plan_migrate(&s.set, opts)?;
                return dry_run_output(&s, &steps, json.json, out);
            }
            // One read of the history serves the advice and the run's first look.
            let read = s.migrator.status(&s.set)?;
            if let Some(release) = ferry::backup::unmet_backup(&project, &s.set, &read, opts.to) {
                crate::output::warn(&format!(
                    "this crosses release {release}, whose policy requires a backup, and no backup was taken since the last migration; `ferry backup create` first, or use `ferry upgrade`, which takes it and can roll back"
                ));
            }
            let report = s.migrator.migrate_from(&s.set, opts, read, &mut Progress::new())?;
            // Post-deploy migrations this run left for later (read only
            // when the folder has any).
            let any_post_deploy = s
                .set
                .iter()
                .any(|m| m.up.directives.phase == ferry::migration::Phase::PostDeploy);
            let waiting: Vec<String> = if any_post_deploy {
                s.migrator
                    .status(&s.set)?
                    .migrations
                    .into_iter()
                    .filter(|m| {
                        m.phase == ferry::migration::Phase::PostDeploy
                            && matches!(m.state, State::Pending | State::OutOfOrder | State::Running)
                            && to.is_none_or(|t| m.version <= t)
                    })
                    .map(|m| m.name)
                    .collect()
            } else {
                Vec::new()
            };
            if json.json {
                out.json(&json!({ "applied": report.steps, "post_deploy_waiting": waiting }))?;
            } else {
                out.text(&render::report(&report, Direction::Up))?;
                if opts.phases == ferry::Phases::PreDeploy && !waiting.is_empty() {
                    out.line(format!(
                        "{} post-deploy migration{} wait{} for the new code: {}\n  once it runs and its checks pass: ferry db migrate --phase post-deploy",
                        waiting.len(),
                        if waiting.len() == 1 { "" } else { "s" },
                        if waiting.len() == 1 { "s" } else { "" },
                        waiting.join(", ")
                    ))?;
                }
            }
            Ok(Outcome::Ok)
        }
        Db::Revert {
            to,
            steps,
            dry_run,
            json,
        } => {
            let target = match to {
                Some(v) => RevertTarget::To(*v),
                None => RevertTarget::Steps(steps.unwrap_or(1)),
            };
            if *dry_run {
                let plan = s.migrator.plan_revert(&s.set, target)?;
                return dry_run_output(&s, &plan, json.json, out);
            }
            let report = s.migrator.revert(&s.set, target, &mut Progress::new())?;
            if json.json {
                out.json(&json!({ "reverted": report.steps }))?;
            } else {
                out.text(&render::report(&report, Direction::Down))?;
            }
            Ok(Outcome::Ok)
        }
        Db::History(flag) => {
            let rows = s.migrator.history()?;
            if flag.json {
                out.json(&json!({ "history": rows }))?;
            } else {
                out.text(&render::history(&rows))?;
            }
            Ok(Outcome::Ok)
        }
        Db::Baseline { version, json } => {
            let name = s.migrator.baseline(&s.set, *version)?;
            if json.json {
                out.json(&json!({ "baseline": version, "name": name }))?;
            } else {
                out.line(format!(
                    "recorded the database as being at {name}: migrations up to version {version} count as applied"
                ))?;
            }
            Ok(Outcome::Ok)
        }
        Db::Repair { dry_run, json } => {
            let actions = s.migrator.repair(&s.set, *dry_run)?;
            if json.json {
                out.json(&json!({ "dry_run": dry_run, "changes": actions }))?;
            } else {
                out.text(&render::repair(&actions, *dry_run))?;
            }
            Ok(Outcome::Ok)
        }
        Db::Adopt {
            from,
            table,
            dry_run,
            allow_gaps,
            drop_foreign,
            json,
        } => {
            let (config_table, columns) = match project.adopt_table() {
                Some((t, c)) => (t.map(str::to_owned), Some(c.clone())),
                None => (None, None),
            };
            let opts = ferry::adopt::AdoptOptions {
                tool: *from,
                table: table.clone().or(if *from == ferry::foreign::Tool::Table {
                    config_table
                } else {
                    None
                }),
                columns,
                dry_run: *dry_run,
                allow_gaps: *allow_gaps,
                drop_foreign: *drop_foreign,
            };
            let map = ferry::import::ImportMap::load(&project.migrations_dir())?;
            let report = ferry::adopt::adopt(&mut s.migrator, &s.set, map.as_ref(), &opts)?;
            if json.json {
                out.json(&report)?;
            } else {
                out.text(&crate::render::adopt(&report))?;
            }
            Ok(Outcome::Ok)
        }
        Db::Validate(_) | Db::Verify { .. } | Db::Transfer { .. } => unreachable!("handled above"),
    }
}

fn dry_run_output(s: &Session, steps: &[ferry::migration::Step<'_>], json: bool, out: &mut Out) -> Result<Outcome> {
    let sql = s.migrator.render_sql(steps)?;
    if json {
        let items: Vec<_> = steps
            .iter()
            .map(|st| {
                Ok(json!({
                    "version": st.migration.version,
                    "name": st.migration.label(),
                    "direction": st.direction,
                    "no_transaction": st.no_transaction(),
                    "batch": st.script().directives.batch,
                    "phase": st.script().directives.phase,
                    "sql": st.script().sql()?,
                }))
            })
            .collect::<Result<_>>()?;
        out.json(&json!({ "dry_run": true, "steps": items }))?;
    } else if steps.is_empty() {
        out.line("-- nothing to run")?;
    } else {
        out.text(&sql)?;
    }
    Ok(Outcome::Ok)
}

fn validate(g: &Global, json: bool, out: &mut Out) -> Result<Outcome> {
    let project = Project::load(&g.project)?;
    // Problems in the folder are findings here, not configuration errors.
    let mut problems = match project.migrations_for(g.database_url.as_deref()) {
        Ok(set) => {
            let url = project.database_url(g.database_url.as_deref())?;
            let mut migrator =
                Migrator::connect(&url, project.settings(g.lock_timeout)).context("validate needs the database")?;
            migrator.validate(&set)?
        }
        Err(ferry::Error::Migrations(p)) => p.0,
        Err(e) => return Err(e.into()),
    };
    match project.engine_folder_problems() {
        Ok(p) => problems.extend(p),
        Err(ferry::Error::Migrations(p)) => problems.extend(p.0),
        Err(e) => return Err(e.into()),
    }
    if json {
        out.json(&json!({ "ok": problems.is_empty(), "problems": problems }))?;
    } else if problems.is_empty() {
        out.line("ok: the migrations folder and the database agree")?;
    } else {
        out.text(&render::problems(&problems))?;
        out.line(format!(
            "{} problem{}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        ))?;
    }
    Ok(if problems.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problem
    })
}
