//! The command's one entry: parse, set up logging and signals, hand each
//! command its arguments, and pick the exit code. Exit codes, in one place:
//!
//! - 0: the command did what was asked and found nothing wrong;
//! - 1: the command ran and found a problem, or failed (a refused or failed
//!   migration, a database that cannot be reached, a lock timeout);
//! - 2: usage or configuration error (bad arguments, ferry.toml, migration
//!   file names).

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::cli::{Backup, Cli, Command, Config, Db, Format};
use crate::commands::{self as cmd, backup, config, db};
use crate::context::{Outcome, Usage};
use crate::output::{self, Out};

pub fn run() -> ExitCode {
    let json = json_requested(std::env::args_os().skip(1));
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() && json {
                let mut out = Out::new();
                let rendered = e.render().to_string();
                let _ = out.json_error("usage", rendered.trim().trim_start_matches("error: "), 2);
                let _ = out.flush();
            }
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    cli.global.project = match (&cli.global.project_arg, &cli.command) {
        (Some(dir), _) => dir.clone(),
        // `ferry init` makes a project here, whatever is above.
        (None, Command::Init { .. }) => ".".into(),
        (None, _) => ferry::project::discover(std::path::Path::new(".")),
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
            let code = exit_code(&e);
            // A failed run's report is the JSON document already.
            if json && !out.wrote_json() {
                let _ = out.json_error(error_kind(&e), &format!("{e}"), code);
            }
            let _ = out.flush();
            output::print_error(&e);
            ExitCode::from(code)
        }
    }
}

/// Whether the command line asks for JSON (`--json`, `--format json`):
/// its failures are then a JSON document on stdout too.
fn json_requested(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args
        .map(|a| a.to_string_lossy().into_owned())
        .take_while(|a| a != "--")
        .collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--json" || a == "--format=json" || (a == "--format" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

/// The `kind` of a JSON error.
fn error_kind(e: &anyhow::Error) -> &'static str {
    if e.downcast_ref::<Usage>().is_some() {
        return "usage";
    }
    if let Some(fe) = e.downcast_ref::<ferry::Error>() {
        return fe.kind();
    }
    match e.downcast_ref::<ferry::upgrade::RunError>() {
        Some(re) => re.kind(),
        None if output::is_broken_pipe(e) => "io",
        None => "other",
    }
}

fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<Usage>().is_some() {
        return 2;
    }
    let stopped = |fe: &ferry::Error| match fe {
        // As the signal would have exited.
        ferry::Error::Stopped { signal, .. } => Some((128 + signal) as u8),
        _ => None,
    };
    if let Some(fe) = e.downcast_ref::<ferry::Error>() {
        return stopped(fe).unwrap_or(if fe.is_configuration() { 2 } else { 1 });
    }
    match e.downcast_ref::<ferry::upgrade::RunError>() {
        Some(ferry::upgrade::RunError::Other(fe)) if stopped(fe).is_some() => stopped(fe).unwrap_or(1),
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
    // FERRY_LOG_FORMAT=json: one JSON object per line, with its time, for
    // log collectors (a Kubernetes Job's logs, say).
    if std::env::var("FERRY_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        output::log_as_json();
        // What a person would read on stderr (the database, warnings) is
        // logged at info and above.
        let filter = tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("ferry={},ferry_cli=info", level.replace("warn", "info")))
        });
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_current_span(false)
            .try_init();
        return;
    }
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .without_time()
        .try_init();
}

/// On SIGTERM or SIGINT during an upgrade run (or its rollback), asks the
/// run to stop at its next safe point (when the step at work is done and
/// journaled) and lets it: Kubernetes sends SIGTERM to a pod it stops, and
/// the next pod resumes cleanly. Otherwise, and on a second signal or on
/// SIGHUP, ends every child ferry runs (pg_dump, pg_restore, psql, the
/// mariadb tools, hooks with their process groups) and removes unfinished
/// work folders, then exits as the signal would. Whatever the process was
/// in the middle of is then left as a kill leaves it: journals and records
/// say where it stopped.
fn stop_children_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        let mut asked = false;
        for sig in signals.forever() {
            if !asked && sig != SIGHUP && ferry::process::ask_to_stop(sig) {
                asked = true;
                output::warn(
                    "stopping at the next safe point, once the step at work is done and journaled (send the signal again to stop at once)",
                );
                continue;
            }
            ferry::process::terminate_children();
            std::process::exit(128 + sig);
        }
    });
}

fn dispatch(cli: &Cli, out: &mut Out) -> Result<Outcome> {
    let g = &cli.global;
    match &cli.command {
        Command::Init { name } => cmd::init::run(g, name.as_deref(), out),
        Command::New { name, timestamp } => cmd::new::run(g, name, *timestamp, out),
        Command::Status(flag) => cmd::status::run(g, flag.json, out),
        Command::Plan { to, from, format, json } => {
            let format = if *json { Format::Json } else { *format };
            cmd::plan::run(g, to.as_ref(), from.as_ref(), format, out)
        }
        Command::Upgrade(u) => cmd::upgrade::run(g, u, out),
        Command::Watch(w) => cmd::watch::run(g, w, out),
        Command::Rehearse(r) => cmd::rehearse::run(g, r, out),
        Command::Check {
            pre,
            post,
            to,
            skips,
            json,
        } => cmd::check::run(g, *pre, *post, to.as_ref(), skips, json.json, out),
        Command::Rollback { to, restore, yes, json } => {
            cmd::rollback::run(g, to.as_ref(), *restore, *yes, json.json, out)
        }
        Command::Runs { run, journal, json } => cmd::runs::run(g, run.as_deref(), *journal, json.json, out),
        Command::Adopt { version } => cmd::adopt::run(g, version, out),
        Command::Guide { output } => cmd::guide::run(g, output.as_ref(), out),
        Command::Import {
            from,
            src,
            into,
            dry_run,
            json,
        } => cmd::import::run(g, *from, src, into.as_ref(), *dry_run, json.json, out),
        Command::Db(d) => dispatch_db(g, d, out),
        Command::Backup(b) => dispatch_backup(g, b, out),
        Command::Config(c) => dispatch_config(g, c, out),
        Command::Completions { shell } => cmd::completions::run(*shell, out),
        Command::Man => cmd::man::run(out),
    }
}

fn dispatch_db(g: &crate::cli::Global, d: &Db, out: &mut Out) -> Result<Outcome> {
    match d {
        Db::Status(flag) => db::status::run(g, flag.json, out),
        Db::Migrate {
            to,
            dry_run,
            allow_out_of_order,
            phase,
            allow_unmanaged,
            json,
        } => db::migrate::run(
            g,
            db::migrate::Args {
                to: *to,
                dry_run: *dry_run,
                allow_out_of_order: *allow_out_of_order,
                phase: *phase,
                allow_unmanaged: *allow_unmanaged,
                json: json.json,
            },
            out,
        ),
        Db::Revert {
            to,
            steps,
            dry_run,
            json,
        } => db::revert::run(g, *to, *steps, *dry_run, json.json, out),
        Db::History(flag) => db::history::run(g, flag.json, out),
        Db::Validate(flag) => db::validate::run(g, flag.json, out),
        Db::Transfer {
            to,
            tables,
            dry_run,
            json,
        } => db::transfer::run(g, to, tables, *dry_run, json.json, out),
        Db::Verify {
            from,
            to,
            scratch,
            json,
        } => db::verify::run(g, from.as_deref(), to.as_deref(), scratch.as_deref(), json.json, out),
        Db::Adopt {
            from,
            table,
            dry_run,
            allow_gaps,
            drop_foreign,
            json,
        } => db::adopt::run(
            g,
            db::adopt::Args {
                from: *from,
                table: table.clone(),
                dry_run: *dry_run,
                allow_gaps: *allow_gaps,
                drop_foreign: *drop_foreign,
                json: json.json,
            },
            out,
        ),
        Db::Baseline { version, json } => db::baseline::run(g, *version, json.json, out),
        Db::Repair { dry_run, json } => db::repair::run(g, *dry_run, json.json, out),
    }
}

fn dispatch_backup(g: &crate::cli::Global, b: &Backup, out: &mut Out) -> Result<Outcome> {
    match b {
        Backup::Create { label, json } => backup::create::run(g, label.as_deref(), json.json, out),
        Backup::List(flag) => backup::list::run(g, flag.json, out),
        Backup::Verify { id, all, json } => backup::verify::run(g, id.as_deref(), *all, json.json, out),
        Backup::Restore {
            id,
            yes,
            db_only,
            files_only,
            with_files,
            no_privileges,
            create,
            transfer,
            json,
        } => {
            let request = ferry::ops::backups::RestoreRequest {
                db_only: *db_only,
                files_only: *files_only,
                with_files: *with_files,
                no_privileges: *no_privileges,
                create: *create,
                transfer: *transfer,
            };
            backup::restore::run(g, id, &request, *yes, json.json, out)
        }
        Backup::Prune { dry_run, json } => backup::prune::run(g, *dry_run, json.json, out),
        Backup::Drill { id, json } => backup::drill::run(g, id, json.json, out),
    }
}

fn dispatch_config(g: &crate::cli::Global, c: &Config, out: &mut Out) -> Result<Outcome> {
    match c {
        Config::Diff {
            file,
            example,
            to,
            json,
        } => config::diff::run(g, file.as_deref(), example.as_deref(), to.as_ref(), json.json, out),
        Config::Migrate {
            to,
            from,
            dry_run,
            json,
        } => config::migrate::run(g, to.as_ref(), from.as_ref(), *dry_run, json.json, out),
        Config::Revert { force, json } => config::revert::run(g, *force, json.json, out),
    }
}
