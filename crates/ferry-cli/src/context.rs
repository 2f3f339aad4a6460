//! What every command shares: how it concludes (`Outcome`), a usage error
//! found after parsing (`Usage`), the global options as library values,
//! and asking the operator on the terminal.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;
use ferry::check::Skips;
use ferry::upgrade::{RunError, RunReport, RunResult};
use jiff::civil::Date;

use crate::cli::{Global, SkipArgs};
use crate::output::Out;
use crate::render;

/// What a command concluded.
pub enum Outcome {
    /// Done, nothing wrong.
    Ok,
    /// Ran, and found a problem (exit 1).
    Problem,
}

impl Outcome {
    /// `Problem` when `found`, else `Ok`.
    pub fn problem_if(found: bool) -> Self {
        if found { Outcome::Problem } else { Outcome::Ok }
    }
}

/// The database `g` points the project at, named on stderr before a
/// command writes to it (see [`crate::output::database`]).
pub fn name_database(project: &ferry::Project, g: &Global) -> Result<()> {
    crate::output::database(&project.database_url(g.database_url.as_deref())?);
    Ok(())
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

/// How the operator asked to reach the database.
pub fn access(g: &Global) -> ferry::Access {
    ferry::Access {
        database_url: g.database_url.clone(),
        lock_timeout: g.lock_timeout,
        wait: g.wait,
    }
}

/// The day support states are judged on: `--today`, else today in UTC.
pub fn today(g: &Global) -> Date {
    g.today
        .unwrap_or_else(|| jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date())
}

/// The checks skipped with `--skip` and `--skip-errors`.
pub fn skips(args: &SkipArgs) -> Skips {
    Skips {
        warnings: args.warnings.clone(),
        errors: args.errors.clone(),
    }
}

/// Asks on the terminal; `yes` answers for the operator.
pub fn confirm(question: &str, yes: bool) -> bool {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{question}");
    if yes {
        return true;
    }
    let _ = write!(err, "Type yes to go on: ");
    let _ = err.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim() == "yes"
}

/// Refuses to ask without a terminal to answer on: `--yes` is needed then.
pub fn need_terminal_or_yes(yes: bool, what: &str) -> Result<()> {
    if !yes && !std::io::stdin().is_terminal() {
        return Err(Usage(format!(
            "{what} asks for confirmation: pass --yes to go on without a terminal"
        ))
        .into());
    }
    Ok(())
}

/// Prints a run's report; a failed run's report goes to stdout as well,
/// and its error (with the exit code 1) to stderr.
pub fn finish_run(result: RunResult<RunReport>, json: bool, out: &mut Out) -> Result<Outcome> {
    let report = match &result {
        Ok(report) => report,
        Err(RunError::Failed(report)) => report,
        Err(_) => return result.map(|_| Outcome::Ok).map_err(Into::into),
    };
    if json {
        out.json(report)?;
    } else {
        out.text(&render::run_report(report))?;
    }
    result.map(|_| Outcome::Ok).map_err(Into::into)
}
