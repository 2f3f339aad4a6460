//! `ferry db transfer`: call the library's transfer, say each table as it
//! goes, render what was copied and checked.

use std::io::Write;

use anyhow::Result;
use ferry::Installation;
use ferry::transfer::{self, Step, TransferOptions};

use crate::app::{Outcome, access};
use crate::cli::Global;
use crate::output::Out;

pub fn transfer(g: &Global, to: &str, tables: &[String], dry_run: bool, json: bool, out: &mut Out) -> Result<Outcome> {
    let access = access(g);
    let inst = Installation::load_for(&g.project, &access)?;
    inst.refuse_if_unfinished()?;
    let options = TransferOptions {
        tables: tables.to_vec(),
        dry_run,
    };
    let report = transfer::transfer(&inst, &access, to, &options, &mut show_step)?;
    render(&report, json, out)
}

/// A transfer's step, on stderr.
pub(crate) fn show_step(step: Step<'_>) {
    let line = match step {
        Step::Migrating(n) => format!("applying the target's {n} migrations"),
        Step::Copying(t) => format!("copying {t}"),
        Step::Checking(t) => format!("checking {t} on the target"),
        _ => return,
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// What a transfer did, as text or JSON.
pub(crate) fn render(report: &ferry::transfer::TransferReport, json: bool, out: &mut Out) -> Result<Outcome> {
    if json {
        out.json(&report)?;
        return Ok(Outcome::Ok);
    }
    let mut text = format!(
        "{} {} → {}: schema {}, release {}, {} migrations{}\n",
        if report.dry_run {
            "would transfer"
        } else {
            "transferred"
        },
        report.from,
        report.to,
        report.schema.map_or("empty".to_owned(), |s| s.to_string()),
        report.release.as_deref().unwrap_or("not recorded"),
        report.migrations,
        if report.dry_run {
            " to apply on the target"
        } else {
            " applied on the target"
        }
    );
    let rows: Vec<Vec<String>> = report
        .tables
        .iter()
        .map(|t| {
            vec![
                t.table.clone(),
                t.rows.to_string(),
                if report.dry_run {
                    String::new()
                } else {
                    t.checksum.clone()
                },
                if report.dry_run {
                    String::new()
                } else {
                    crate::render::millis(t.ms)
                },
            ]
        })
        .collect();
    text.push_str(&crate::render::table(
        &["table", "rows", "checksum (both sides)", "time"],
        &rows,
    ));
    if report.dry_run {
        text.push_str("dry run: nothing was changed\n");
    } else {
        text.push_str(&format!(
            "every table's rows and content checked on both sides; {} in all\n",
            crate::render::millis(report.ms)
        ));
    }
    out.text(&text)?;
    Ok(Outcome::Ok)
}
