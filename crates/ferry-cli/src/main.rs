//! The `ferry` command. Everything happens in `app::run`.

mod app;
mod backups;
mod checks;
mod cli;
mod configs;
mod output;
mod progress;
mod rehearses;
mod releases;
mod render;
mod transfers;
mod upgrades;
mod verifies;
mod watches;

fn main() -> std::process::ExitCode {
    app::run()
}
