//! The steps of a hop, one file each, every one with its forward action and
//! its undo side by side: checks (pre-flight and post-upgrade), hooks, the
//! backup, config files, migrations (pre- and post-deploy), the recorded
//! release.

mod backup;
mod checks;
mod config;
mod hooks;
mod migrate;
mod record;
