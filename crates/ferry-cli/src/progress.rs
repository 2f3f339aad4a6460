//! Progress on stderr while ferry works, shown only when stderr is a
//! terminal (the watch's rounds excepted: a watch is long, and its log
//! says why it ended as it did). Answers to the run's questions come from
//! the terminal, or from `--yes`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use ferry::rehearse::{Phase, RehearseProgress};
use ferry::upgrade::{self, Notice};
use ferry::verify::{StepCheck, VerifyProgress};
use ferry::{Event, Observer};
use indicatif::{ProgressBar, ProgressStyle};

use crate::render;

/// A spinner on stderr while a long step runs, only on a terminal.
pub fn spinner(message: &str) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message(message.to_owned());
        bar
    })
}

/// A line on stderr: a transfer's step.
pub fn line(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// The bar of a migration run: shows on a terminal, does nothing otherwise.
pub struct MigrationBar {
    bar: Option<ProgressBar>,
}

impl MigrationBar {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        MigrationBar { bar }
    }
}

impl Observer for MigrationBar {
    fn event(&mut self, event: Event<'_>) {
        let Some(bar) = &self.bar else { return };
        match event {
            Event::Locking => bar.set_message("waiting for the migration lock"),
            Event::Planned { total } => {
                bar.set_length(total as u64);
                bar.set_style(
                    ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            }
            Event::StepStarted { step, .. } => bar.set_message(step.describe()),
            Event::Batch { step, tick, .. } => {
                let of = tick.estimate.map(|e| format!(" of ~{e}")).unwrap_or_default();
                let eta = tick.eta.map(|d| format!(", {}s left", d.as_secs())).unwrap_or_default();
                bar.set_message(format!(
                    "{}: {} rows{of} in {} batches, {:.0} rows/s{eta}",
                    step.describe(),
                    tick.rows,
                    tick.batches,
                    tick.rows_per_sec
                ));
            }
            Event::StepFinished { .. } => bar.inc(1),
            _ => {}
        }
    }
}

impl Drop for MigrationBar {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Progress on stderr while a run works, only on a terminal.
pub struct RunProgress {
    pub bar: Option<indicatif::ProgressBar>,
    prefix: String,
    /// Answer questions without asking (`--yes`, or no terminal).
    pub yes: bool,
}

impl RunProgress {
    pub fn new() -> Self {
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
            Notice::Undo { step, undone, .. } => bar.set_message(format!("{}: {undone}", step.describe())),
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

impl RehearseProgress for RunProgress {
    fn phase(&mut self, phase: Phase<'_>) {
        let Some(bar) = &self.bar else { return };
        let text = match phase {
            Phase::Copying(id) => format!("making the copy from backup {id}"),
            Phase::Upgrading => "upgrading the copy".to_owned(),
            Phase::RollingBack => "rolling the copy back".to_owned(),
            Phase::Comparing => "comparing the copy with before".to_owned(),
        };
        bar.set_prefix("rehearsal:");
        bar.set_message(text);
    }
}

/// `ferry db verify`'s ticker: one line rewritten in place, on a terminal.
pub struct VerifyTicker(pub bool);

impl VerifyProgress for VerifyTicker {
    fn step(&mut self, check: &StepCheck, index: usize, total: usize) {
        if self.0 {
            eprint!("\rverified {}/{total}: {}\x1b[K", index + 1, check.name);
        }
    }
}

impl Drop for VerifyTicker {
    fn drop(&mut self) {
        if self.0 {
            eprint!("\r\x1b[K");
        }
    }
}
