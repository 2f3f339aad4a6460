//! Config-file migrations that keep the user's comments and layout.
//!
//! Work in progress (issue 4): the `.env` editor is here; the YAML, TOML and
//! JSON editors, the operations declared in release files and the
//! `ferry config` commands build on it.

pub mod dotenv;
