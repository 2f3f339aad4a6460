//! `ferry upgrade` and `ferry rollback`: ask, call the library's run,
//! render its report and progress.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::Result;
use ferry::Installation;
use ferry::upgrade::{self, DryRun, Notice, RunOptions, RunReport, StepStatus};
use ferry::version::Version;

use crate::app::{Outcome, Usage, access};
use crate::cli::{Global, Upgrade};
use crate::output::Out;
use crate::render;

/// Progress on stderr while a run works, only on a terminal.
pub(crate) struct RunProgress {
    pub(crate) bar: Option<indicatif::ProgressBar>,
    prefix: String,
    /// Answer questions without asking (`--yes`, or no terminal).
    pub(crate) yes: bool,
}

impl RunProgress {
    pub(crate) fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix} {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        RunProgress {
            bar,
            prefix: String::new(),
            yes: !std::io::stdin().is_terminal(),
        }
    }
}

impl upgrade::Progress for RunProgress {
    fn notice(&mut self, notice: Notice<'_>) {
        // The watch's rounds are a table on stderr, terminal or not: a
        // watch is long, and its log says why it ended as it did.
        let line = match notice {
            Notice::WatchStarted { rounds, done, interval } => Some(if done == 0 {
                format!(
                    "watching: {rounds} round{} of readings, every {}",
                    if rounds == 1 { "" } else { "s" },
                    humantime::format_duration(interval)
                )
            } else {
                format!("watching again: {} of {rounds} rounds left", rounds - done)
            }),
            Notice::WatchRound { round } => Some(render::watch_round(round)),
            Notice::WatchEnded { verdict, kept } => Some(render::watch_verdict(verdict, kept)),
            _ => None,
        };
        if let Some(line) = line {
            match &self.bar {
                Some(bar) => bar.println(line),
                None => {
                    let _ = writeln!(std::io::stderr(), "{line}");
                }
            }
            return;
        }
        let Some(bar) = &self.bar else { return };
        match notice {
            Notice::Step { hop, hops, to, step } => {
                self.prefix = format!("hop {}/{hops} → {to}:", hop + 1);
                bar.set_prefix(self.prefix.clone());
                bar.set_message(step.describe());
            }
            Notice::StepFailed { step, .. } => bar.println(format!("{} {} failed", self.prefix, step.describe())),
            Notice::Rollback { reason } => {
                bar.set_prefix("rolling back:");
                bar.set_message(reason.to_owned());
            }
            Notice::Undo { step, how, .. } => bar.set_message(format!("{}: {how}", step.describe())),
            _ => {}
        }
    }

    fn keep_after_warnings(&mut self, reasons: &[String]) -> bool {
        // The spinner stays out of the question's way while it is asked.
        match self.bar.clone() {
            Some(bar) => bar.suspend(|| self.ask_keep(reasons)),
            None => self.ask_keep(reasons),
        }
    }

    fn migration(&mut self, event: ferry::Event<'_>) {
        let Some(bar) = &self.bar else { return };
        if let ferry::Event::StepStarted { step, index, total } = event {
            bar.set_message(format!(
                "database migrations [{}/{total}] {}",
                index + 1,
                step.describe()
            ));
        }
    }
}

impl RunProgress {
    fn ask_keep(&self, reasons: &[String]) -> bool {
        let question = format!(
            "The watch window warned:\n  {}\nThe upgrade is kept unless you roll it back.",
            reasons.join("\n  ")
        );
        if self.yes {
            let _ = writeln!(std::io::stderr(), "{question}");
            return true;
        }
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "{question}\nType rollback to roll it back now, anything else keeps it: "
        );
        let _ = err.flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        answer.trim() != "rollback"
    }
}

impl Drop for RunProgress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Asks on the terminal; `yes` answers for the operator.
fn confirm(question: &str, yes: bool) -> bool {
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

fn need_terminal_or_yes(yes: bool, what: &str) -> Result<()> {
    if !yes && !std::io::stdin().is_terminal() {
        return Err(Usage(format!(
            "{what} asks for confirmation: pass --yes to go on without a terminal"
        ))
        .into());
    }
    Ok(())
}

pub fn upgrade(g: &Global, u: &Upgrade, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let access = access(g);
    let options = RunOptions {
        no_backup: u.no_backup,
        no_rollback: u.no_rollback,
        skips: crate::checks::skips(&u.skips),
        watch_ms: u.watch.map(|d| d.as_millis() as u64),
        no_watch: u.no_watch,
        strict: u.strict,
    };
    let json = u.json.json;
    if u.dry_run {
        let dry = upgrade::dry_run(&inst, &access, u.to.as_ref(), options.clone())?;
        if json {
            out.json(&dry)?;
        } else {
            out.text(&render_dry(&dry, inst.project.name().unwrap_or("the application")))?;
        }
        return Ok(Outcome::Ok);
    }
    let mut progress = RunProgress::new();
    progress.yes |= u.yes;
    if u.resume {
        let result = upgrade::resume(&inst, &access, &mut progress);
        drop(progress);
        return finish(result, json, out);
    }
    if u.rollback {
        let result = upgrade::rollback(&inst, &access, &mut progress);
        drop(progress);
        return finish(result, json, out);
    }
    need_terminal_or_yes(u.yes, "ferry upgrade")?;
    let prepared = upgrade::prepare(&inst, &access, u.to.as_ref())?;
    let plan = prepared.plan();
    if plan.hops.is_empty() {
        let name = inst.project.name().unwrap_or("the application");
        if json {
            out.json(&serde_json::json!({ "state": "nothing_to_do", "to": plan.to, "behind": plan.behind }))?;
        } else {
            out.text(&render::plan(plan, name, &[]))?;
        }
        return Ok(if plan.behind.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Problem
        });
    }
    let question = format!(
        "Upgrade {} from {} to {}: {}",
        inst.project.name().unwrap_or("the application"),
        plan.from
            .as_ref()
            .map_or("a fresh database".to_owned(), ToString::to_string),
        plan.to,
        render::plan_summary(plan)
    );
    if !confirm(&question, u.yes) {
        out.line("not upgraded: nothing was changed")?;
        return Ok(Outcome::Problem);
    }
    let result = prepared.run(options, &mut progress);
    drop(progress);
    finish(result, json, out)
}

pub fn rollback(
    g: &Global,
    to: Option<&Version>,
    restore: bool,
    yes: bool,
    json: bool,
    out: &mut Out,
) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    need_terminal_or_yes(yes, "ferry rollback")?;
    let mut progress = RunProgress::new();
    let result = upgrade::rollback_last(
        &inst,
        &access(g),
        to,
        restore,
        |plan| {
            confirm(
                &format!(
                    "Roll back run {}: {} → {} (undoing {}); the database: {}",
                    plan.run,
                    plan.from,
                    plan.to,
                    plan.hops.join(", then "),
                    plan.database
                ),
                yes,
            )
        },
        &mut progress,
    );
    drop(progress);
    match result {
        Ok(None) => {
            out.line("not rolled back: nothing was changed")?;
            Ok(Outcome::Problem)
        }
        Ok(Some(report)) => finish(Ok(report), json, out),
        Err(e) => finish(Err(e), json, out),
    }
}

/// Prints a run's report; a failed run's report goes to stdout as well,
/// and its error (with the exit code 1) to stderr.
fn finish(result: ferry::upgrade::RunResult<RunReport>, json: bool, out: &mut Out) -> Result<Outcome> {
    match result {
        Ok(report) => {
            if json {
                out.json(&report)?;
            } else {
                out.text(&render_report(&report))?;
            }
            Ok(Outcome::Ok)
        }
        Err(ferry::upgrade::RunError::Failed(report)) => {
            if json {
                out.json(&report)?;
            } else {
                out.text(&render_report(&report))?;
            }
            Err(ferry::upgrade::RunError::Failed(report).into())
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn render_report(r: &RunReport) -> String {
    let mut s = format!(
        "upgrade run {}: {} → {}, {}\n",
        r.id,
        r.from.as_deref().unwrap_or("nothing"),
        r.to,
        r.state.as_str().replace('_', " ")
    );
    for (i, hop) in r.hops.iter().enumerate() {
        if hop.steps.iter().all(|s| s.status == StepStatus::Pending) {
            s.push_str(&format!(
                "hop {} of {}: {} → {}: not started\n",
                i + 1,
                r.hops.len(),
                hop.from.as_deref().unwrap_or("nothing"),
                hop.to
            ));
            continue;
        }
        s.push_str(&format!(
            "hop {} of {}: {} → {}\n",
            i + 1,
            r.hops.len(),
            hop.from.as_deref().unwrap_or("nothing"),
            hop.to
        ));
        for st in &hop.steps {
            let mark = match st.status {
                StepStatus::Done => "ok  ",
                StepStatus::Skipped => "skip",
                StepStatus::Failed => "FAIL",
                StepStatus::Started => "....",
                StepStatus::Pending => continue,
            };
            let ms = st.outcome.as_ref().map(|o| o.ms).unwrap_or_default();
            s.push_str(&format!(
                "  {mark} {:<22} {}{}\n",
                st.step.describe(),
                st.detail.replace('\n', "\n                              "),
                if ms > 0 {
                    format!("  ({})", render::millis(ms))
                } else {
                    String::new()
                }
            ));
            // How the rollback undid the steps that changed something.
            if let Some(undone) = &st.undone
                && (st.status != StepStatus::Skipped || undone.starts_with("FAILED"))
                && !undone.starts_with("nothing to undo")
                && !undone.starts_with("hooks are not undone")
            {
                s.push_str(&format!("       undone: {undone}\n"));
            }
        }
    }
    for h in &r.hooks {
        s.push_str(&format!(
            "hook {} ({}): {}\n",
            h.name,
            h.when.as_str(),
            if h.ok { "ok".to_owned() } else { h.ended.clone() }
        ));
    }
    if let Some(w) = &r.watch {
        s.push_str(&format!(
            "watch: {} of {} rounds over {}{}\n",
            w.done.len(),
            w.rounds,
            render::millis(w.duration_ms),
            match &w.verdict {
                Some(v) => format!(", {}", render::watch_verdict(v, w.kept).trim_start_matches("watch: ")),
                None => ", not finished".to_owned(),
            }
        ));
        if let Some(last) = w.done.last() {
            s.push_str(&format!("  last {}\n", render::watch_round(last)));
        }
    }
    if let Some(reason) = &r.rollback {
        s.push_str(&format!("rollback: {reason}\n"));
    }
    s.push_str(&format!("journal: {}\n", r.journal.trim_start_matches("./")));
    if let Some(next) = &r.next {
        s.push_str(&format!("next: {next}\n"));
    }
    s
}

fn render_dry(d: &DryRun, name: &str) -> String {
    let mut s = render::plan(&d.plan, name, &[]);
    for (i, hop) in d.hops.iter().enumerate() {
        s.push_str(&format!(
            "\nhop {} of {}: {} → {}, step by step\n",
            i + 1,
            d.hops.len(),
            hop.from.as_deref().unwrap_or("nothing"),
            hop.to
        ));
        for st in &hop.steps {
            s.push_str(&format!("  {:<22} {}\n", st.step.describe(), st.what));
            if let Some(detail) = &st.detail {
                for line in detail.lines() {
                    s.push_str(&format!("      {line}\n"));
                }
            }
        }
    }
    s.push_str("\ndry run: nothing was changed\n");
    s
}
