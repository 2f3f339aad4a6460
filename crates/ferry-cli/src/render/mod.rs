//! Text for people: one renderer per library report, and the small helpers
//! they share. JSON output is the `Serialize` of the library's reports,
//! written by `output::Out::json`; nothing here builds JSON.

mod adopt;
mod backup;
mod checks;
mod config;
mod migrations;
mod plan;
mod rehearse;
mod status;
mod transfer;
mod upgrade;
mod verify;
mod watch;

pub use self::adopt::{adopt, adopted, import};
pub use self::backup::{backup_created, backup_list, backup_prune, backup_verify, drilled, restored};
pub use self::checks::{check_report, mark as check_mark};
pub use self::config::{config_diff, config_migration, config_revert};
pub use self::migrations::{dry_run, history, repair, report, status, validation};
pub use self::plan::{plan, plan_summary};
pub use self::rehearse::rehearsal;
pub use self::status::overview;
pub use self::transfer::transfer;
pub use self::upgrade::{dry_upgrade, run_report, runs};
pub use self::verify::verification;
pub use self::watch::{watch_round, watch_verdict, watched};

/// Aligns rows under headers, two spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let last = cells.len() - 1;
        let mut line = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            line.push_str(cell);
            if i < last {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(headers.to_vec());
    for row in rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    out
}

/// A duration for people: `850 ms`, `5.4 s`, `3m12s`.
pub fn millis(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// `a, b, c and 12 more`: the first `max` items and a count, so a long
/// history does not print a line per migration.
pub fn summarize(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}

/// Bytes for people: `12.3 GiB`.
pub fn size(bytes: u64) -> String {
    ferry::text::bytes(bytes)
}
