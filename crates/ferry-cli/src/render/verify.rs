//! `ferry db verify`: what the verification of the downs found.

use ferry::verify::{StepResult, VerifyReport};

pub fn verification(r: &VerifyReport) -> String {
    let mut s = format!(
        "verified {} migration{} on {} (a scratch database, dropped), in {}\n",
        r.steps.len(),
        if r.steps.len() == 1 { "" } else { "s" },
        r.engine.name(),
        super::millis(r.ms)
    );
    for c in &r.steps {
        let line = match &c.result {
            StepResult::Inverts => format!("  ok    {}: its down takes the schema back", c.name),
            StepResult::NoDown => format!("  -     {}: no down script (a rollback restores a backup)", c.name),
            StepResult::DownFails { error } => format!("  FAIL  {}: its down fails: {}", c.name, first_line(error)),
            StepResult::Differs { differences } => {
                let mut l = format!("  FAIL  {}: its down leaves the schema different:", c.name);
                for d in differences {
                    l.push_str(&format!("\n          {d}"));
                }
                l
            }
            StepResult::UpAgainFails { error } => {
                format!(
                    "  FAIL  {}: its up fails again after its down: {}",
                    c.name,
                    first_line(error)
                )
            }
            StepResult::UpFails { error } => format!("  FAIL  {}: its up fails: {}", c.name, first_line(error)),
        };
        s.push_str(&line);
        s.push('\n');
        if let Some(e) = &c.up_again_error {
            s.push_str(&format!("          and its up then fails again: {}\n", first_line(e)));
        }
        if !c.drops.is_empty() {
            s.push_str(&format!(
                "          its down drops {}: data written after the upgrade is lost by a rollback\n",
                super::summarize(&c.drops, 4)
            ));
        }
    }
    for c in &r.chain {
        let to = match &c.release {
            Some(v) => format!("{v}'s schema (migration {})", c.to),
            None if c.to == 0 => "an empty database".to_owned(),
            None => format!("migration {}", c.to),
        };
        match (&c.error, c.differences.is_empty()) {
            (Some(e), _) => s.push_str(&format!(
                "  FAIL  the downs, in a chain down to {to}: {}\n",
                first_line(e)
            )),
            (None, true) => s.push_str(&format!("  ok    the downs, in a chain down to {to}\n")),
            (None, false) => {
                s.push_str(&format!("  FAIL  the downs, in a chain down to {to}, leave:\n"));
                for d in &c.differences {
                    s.push_str(&format!("          {d}\n"));
                }
            }
        }
    }
    if let Some(why) = &r.unrecorded {
        s.push_str(&format!(
            "note: what it found could not be kept in the run state, so plans and rollbacks do not know it: {why}\n"
        ));
    }
    if let Some(why) = &r.stopped {
        s.push_str(&format!("stopped: {why}\n"));
    }
    s.push_str(if r.ok {
        "every down verified\n"
    } else {
        "some downs do not take the schema back: rollbacks restore the backup for them (`ferry plan` says which)\n"
    });
    s
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
