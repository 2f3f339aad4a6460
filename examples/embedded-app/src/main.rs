//! A daemon's start-up, as in the AgentLab guide: apply any pending
//! migrations embedded in the binary, then carry on. Several replicas may
//! start at once: ferry's lock lets one migrate while the others wait.
//!
//! Run: `cargo run -p embedded-app -- sqlite://agentlab-embedded.db`
//! (or set DATABASE_URL). AgentLab's migrations are written for SQLite.

use std::process::ExitCode;

/// The migrations, compiled into the binary.
static MIGRATIONS: &[(&str, &str)] = ferry::embed_migrations!("../agentlab/migrations");

fn main() -> ExitCode {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| "sqlite://agentlab-embedded.db".to_owned());
    let settings = ferry::Settings {
        history_table: ferry::engine::HistoryTable::parse("schema_migrations").expect("valid name"),
        ..Default::default()
    };
    match ferry::migrate_embedded(&url, MIGRATIONS, settings, &mut ()) {
        Ok(report) => {
            for step in &report.steps {
                println!("migrated {} ({} ms)", step.name, step.execution_ms);
            }
            println!(
                "database ready: {} migration(s) applied at start-up",
                report.steps.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            // A failed migration stops start-up, as the guide's daemon does.
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
