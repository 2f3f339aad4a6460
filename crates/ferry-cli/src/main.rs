//! The `ferry` command. `app::run` parses, dispatches to `commands` and
//! picks the exit code; the library does the work.

mod app;
mod cli;
mod commands;
mod context;
mod output;
mod progress;
mod render;

/// mimalloc: ferry allocates and frees many small objects when it loads
/// thousands of migrations, where glibc's allocator spent a quarter of the
/// time and fresh pages cost a fault each.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    app::run()
}
