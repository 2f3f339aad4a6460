//! Progress on stderr while migrations run, only when stderr is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use ferry::{Event, Observer};
use indicatif::{ProgressBar, ProgressStyle};

/// Shows a bar on a terminal; does nothing otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }
}

impl Observer for Progress {
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

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
