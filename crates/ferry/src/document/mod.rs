//! Config files as documents: the formats ferry edits (`.env`, YAML, TOML,
//! JSON), each with an editor that keeps every comment and byte it is not
//! asked to change, and the meaning of a file (its values as JSON) by an
//! independent parser, to check every edit against. A new format goes here:
//! an editor and a `Format` variant.

pub mod dotenv;
mod json;
mod model;
mod toml;
mod yaml;

pub use self::model::{Document, Format, KeyPath, meaning, value_text};
