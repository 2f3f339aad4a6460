//! `ferry db transfer` and `ferry backup restore --transfer`: what was
//! copied and checked.

use ferry::transfer::TransferReport;

use super::{millis, table};

/// What a transfer did.
pub fn transfer(report: &TransferReport) -> String {
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
                if report.dry_run { String::new() } else { millis(t.ms) },
            ]
        })
        .collect();
    text.push_str(&table(&["table", "rows", "checksum (both sides)", "time"], &rows));
    if report.dry_run {
        text.push_str("dry run: nothing was changed\n");
    } else {
        text.push_str(&format!(
            "every table's rows and content checked on both sides; {} in all\n",
            millis(report.ms)
        ));
    }
    text
}
