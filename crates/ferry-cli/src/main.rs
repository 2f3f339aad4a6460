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

/// mimalloc: ferry allocates and frees many small objects when it loads
/// thousands of migrations, where glibc's allocator spent a quarter of the
/// time and fresh pages cost a fault each.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    app::run()
}
