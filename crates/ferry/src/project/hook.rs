//! Hooks: the operator's commands that an upgrade runs around its steps
//! (stop and start the service, maintenance mode on and off, notify).
//!
//! ```toml
//! [[hooks]]
//! when = "before"                          # before, after, on_failure, after_rollback
//! run = ["systemctl", "stop", "agentlab"]  # an argv; a string runs through `sh -c`
//! timeout = "60s"                          # default 5m
//! name = "stop the daemon"                 # optional, for output
//! ```
//!
//! Declared in ferry.toml they run for every hop; in a release file, for
//! the hop that brings that release. A hook gets `FERRY_FROM`, `FERRY_TO`,
//! `FERRY_HOP_FROM`, `FERRY_HOP_TO`, `FERRY_DATABASE_URL`, `FERRY_PROJECT`,
//! `FERRY_RUN` and `FERRY_HOOK` in its environment. A hook that exits
//! non-zero or outlives its timeout is a failed step. Resuming a run runs
//! the hooks of the step it stopped in again: hooks must be safe to run
//! twice.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::problem::Problem;
use crate::text::line_of;

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Before the hop changes anything (after its pre-flight checks).
    Before,
    /// After the hop's release is recorded, before its post-upgrade checks.
    After,
    /// When a step of the run fails, before the rollback.
    OnFailure,
    /// After a rollback finished.
    AfterRollback,
}

impl When {
    /// The word used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            When::Before => "before",
            When::After => "after",
            When::OnFailure => "on_failure",
            When::AfterRollback => "after_rollback",
        }
    }
}

/// What a hook runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Run {
    /// A program and its arguments, run directly.
    Argv(Vec<String>),
    /// A line for `sh -c`.
    Shell(String),
}

impl Run {
    /// The command as a person would type it.
    pub fn display(&self) -> String {
        match self {
            Run::Shell(s) => s.clone(),
            Run::Argv(a) => a
                .iter()
                .map(|w| {
                    if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                        format!("'{}'", w.replace('\'', "'\\''"))
                    } else {
                        w.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    pub(crate) fn command(&self) -> Command {
        match self {
            Run::Shell(s) => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(s);
                c
            }
            Run::Argv(a) => {
                let mut c = Command::new(&a[0]);
                c.args(&a[1..]);
                c
            }
        }
    }
}

/// One hook.
#[derive(Debug, Clone, Serialize)]
pub struct Hook {
    /// Its name, or its command.
    pub name: String,
    /// When it runs.
    pub when: When,
    /// What it runs.
    pub run: Run,
    /// How long it may take.
    #[serde(with = "humantime_serde_secs")]
    pub timeout: Duration,
    /// The file that declares it.
    pub source: PathBuf,
    /// Its line there.
    pub line: usize,
}

mod humantime_serde_secs {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// The default timeout of a hook.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// A `[[hooks]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHook {
    when: Spanned<String>,
    run: Spanned<toml::Value>,
    timeout: Option<Spanned<String>>,
    name: Option<String>,
}

/// Checks one `[[hooks]]` table of `file` (whose text is `text`).
pub(crate) fn parse(file: &Path, text: &str, raw: Spanned<RawHook>) -> Result<Hook, Problem> {
    let line = line_of(text, raw.span().start);
    let raw = raw.into_inner();
    let at = |span: std::ops::Range<usize>| line_of(text, span.start);
    let when = match raw.when.get_ref().as_str() {
        "before" => When::Before,
        "after" => When::After,
        "on_failure" => When::OnFailure,
        "after_rollback" => When::AfterRollback,
        other => {
            return Err(
                Problem::in_file(file, format!("hooks: when = \"{other}\" is not a moment ferry knows"))
                    .at_line(at(raw.when.span()))
                    .help("use before, after, on_failure or after_rollback"),
            );
        }
    };
    let run_line = at(raw.run.span());
    let run = match raw.run.into_inner() {
        toml::Value::String(s) if !s.trim().is_empty() => Run::Shell(s),
        toml::Value::Array(a) if !a.is_empty() => {
            let words: Option<Vec<String>> = a.into_iter().map(|v| v.as_str().map(str::to_owned)).collect();
            match words {
                Some(w) if !w[0].is_empty() => Run::Argv(w),
                _ => {
                    return Err(Problem::in_file(file, "hooks: run must be a list of strings")
                        .at_line(run_line)
                        .help("for example run = [\"systemctl\", \"stop\", \"app\"]"));
                }
            }
        }
        _ => {
            return Err(Problem::in_file(file, "hooks: run is empty or not a command")
                .at_line(run_line)
                .help("give an argv such as run = [\"systemctl\", \"stop\", \"app\"], or a line for sh -c such as run = \"touch /run/app/maintenance\""));
        }
    };
    let timeout = match &raw.timeout {
        Some(t) => humantime::parse_duration(t.get_ref()).map_err(|e| {
            Problem::in_file(
                file,
                format!("hooks: timeout `{}` is not a duration ({e})", t.get_ref()),
            )
            .at_line(at(t.span()))
            .help("for example timeout = \"60s\" or \"5m\"")
        })?,
        None => DEFAULT_TIMEOUT,
    };
    Ok(Hook {
        name: raw.name.unwrap_or_else(|| run.display()),
        when,
        run,
        timeout,
        source: file.to_owned(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        hooks: Vec<Spanned<RawHook>>,
    }

    fn hooks(text: &str) -> Vec<Result<Hook, Problem>> {
        let f: File = toml::from_str(text).unwrap();
        f.hooks
            .into_iter()
            .map(|h| parse(Path::new("ferry.toml"), text, h))
            .collect()
    }

    #[test]
    fn argv_and_shell_hooks() {
        let h = hooks(
            "[[hooks]]\nwhen = \"before\"\nrun = [\"systemctl\", \"stop\", \"my app\"]\ntimeout = \"60s\"\n\n[[hooks]]\nwhen = \"after_rollback\"\nrun = \"echo $FERRY_TO\"\n",
        );
        let a = h[0].as_ref().unwrap();
        assert_eq!(a.when, When::Before);
        assert_eq!(a.timeout, Duration::from_secs(60));
        assert_eq!(a.name, "systemctl stop 'my app'");
        assert_eq!(a.line, 1);
        let b = h[1].as_ref().unwrap();
        assert_eq!(b.run, Run::Shell("echo $FERRY_TO".into()));
        assert_eq!(b.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn mistakes_name_the_line_and_the_fix() {
        let h = hooks(
            "[[hooks]]\nwhen = \"afterwards\"\nrun = \"x\"\n\n[[hooks]]\nwhen = \"after\"\nrun = []\n\n[[hooks]]\nwhen = \"after\"\nrun = \"x\"\ntimeout = \"soon\"\n",
        );
        let e: Vec<Problem> = h.into_iter().map(|r| r.unwrap_err()).collect();
        assert_eq!((e[0].line, e[1].line, e[2].line), (Some(2), Some(7), Some(12)));
        assert!(e[0].help.as_deref().unwrap().contains("on_failure"));
        assert!(e[2].help.as_deref().unwrap().contains("60s"));
    }
}
