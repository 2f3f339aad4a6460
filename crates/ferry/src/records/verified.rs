//! `verified.json` in the run state: what the last verification found for
//! each migration, valid while its up and down files are unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::migration::Migration;
use crate::state::Store;

pub(crate) const FILE: &str = "verified.json";

/// What a verification found for one migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedMigration {
    /// Its name.
    pub name: String,
    /// The up file's checksum when verified.
    pub up: String,
    /// The down file's checksum when verified, if it had one.
    pub down: Option<String>,
    /// The engine it was verified on.
    pub engine: String,
    /// When (UTC).
    pub at: String,
    /// `inverts`, `no_down`, `down_fails`, `differs`, `up_again_fails`, `up_fails`.
    pub result: String,
    /// The differences or the failure, in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<String>,
    /// What its down drops with the data in it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<String>,
}

impl VerifiedMigration {
    /// Its down is known not to take the schema back.
    pub fn down_is_bad(&self) -> bool {
        matches!(self.result.as_str(), "down_fails" | "differs" | "up_again_fails")
    }
}

/// Every migration's last verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// By version.
    pub migrations: BTreeMap<u64, VerifiedMigration>,
}

pub(crate) fn down_checksum(m: &Migration) -> Option<String> {
    m.down().ok().flatten().map(|d| d.checksum().to_string())
}

impl Verified {
    /// Reads the record (none yet: empty).
    pub fn load(store: &mut dyn Store) -> Result<Self> {
        match store.read(FILE)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::db(
                    format!("cannot read {FILE} in {}", store.place()),
                    format!("{e}; run `ferry db verify` again, which writes it anew"),
                )
            }),
            None => Ok(Verified::default()),
        }
    }

    /// Writes the record.
    pub(crate) fn save(&self, store: &mut dyn Store) -> Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| Error::db("cannot write the verification record", e))?;
        store.write(FILE, &text)
    }

    /// The verification of `m`, if its files are as they were then.
    pub fn of(&self, m: &Migration) -> Option<&VerifiedMigration> {
        self.migrations
            .get(&m.version)
            .filter(|v| v.up == m.up.checksum().as_str() && v.down == down_checksum(m))
    }
}
