//! What is known of a plan beyond the release files: how each hop is taken
//! back, and whether `ferry db verify` proved those downs. Pure: the record
//! is read by the caller and handed in.

use serde::Serialize;

use crate::error::Result;
use crate::migration::MigrationSet;
use crate::plan::upgrade_plan::UpgradePlan;
use crate::project::Installation;
use crate::records::rehearsal::{Measured, Rehearsal};
use crate::records::verified::Verified;

/// How a rollback takes a hop back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// The hop applies no migration.
    Nothing,
    /// Down scripts: every migration has one, none known wrong.
    Downs,
    /// The backup taken before the hop: some migration has no down, or
    /// one that `ferry db verify` found wrong.
    Backup,
}

/// A hop's way back and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WayBack {
    /// How.
    pub by: By,
    /// Migrations with no down script.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_down: Vec<String>,
    /// Migrations whose down verification found wrong, each with the first
    /// thing it found: `0004_x: index users_email_idx left behind`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bad_down: Vec<String>,
    /// Migrations with a down that was never verified, or edited since.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<String>,
    /// When every down of the hop was verified and found right: the engine
    /// and the oldest date (`postgres`, `2026-11-30`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<(String, String)>,
    /// What the downs lose even when the schema comes back:
    /// `0005_x drops column tasks.priority_v2`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_loss: Vec<String>,
}

impl WayBack {
    /// In words, for a plan or a runbook.
    pub fn describe(&self) -> String {
        let mut s = match self.by {
            By::Nothing => return "nothing to undo in the database".to_owned(),
            By::Downs => "down scripts".to_owned(),
            By::Backup => "the backup taken before it".to_owned(),
        };
        if !self.no_down.is_empty() {
            s.push_str(&format!(
                " ({} {} no down script)",
                self.no_down.join(", "),
                if self.no_down.len() == 1 { "has" } else { "have" }
            ));
        }
        if !self.bad_down.is_empty() {
            s.push_str(&format!(
                " (`ferry db verify` found wrong downs: {})",
                self.bad_down.join("; ")
            ));
        }
        match (&self.verified, self.unverified.is_empty()) {
            (Some((engine, date)), true) => s.push_str(&format!("; downs verified on {engine} on {date}")),
            (_, false) if self.by == By::Downs => s.push_str(&format!(
                "; not verified: {} (run `ferry db verify`)",
                self.unverified.join(", ")
            )),
            _ => {}
        }
        s
    }
}

fn date(at: &str) -> String {
    at.get(..10).unwrap_or(at).to_owned()
}

/// Sets each hop's way back from the migrations and the verification
/// record, and its measured time from the newest passed rehearsal.
pub fn annotate(plan: &mut UpgradePlan, set: &MigrationSet, verified: &Verified, rehearsals: &[Rehearsal]) {
    for hop in &mut plan.hops {
        hop.measured = Measured::of(rehearsals, hop.from.as_ref(), &hop.to);
        let mut w = WayBack {
            by: By::Nothing,
            no_down: Vec::new(),
            bad_down: Vec::new(),
            unverified: Vec::new(),
            verified: None,
            data_loss: Vec::new(),
        };
        let mut oldest: Option<(String, String)> = None;
        for r in &hop.migrations {
            let Some(m) = set.get(r.version) else { continue };
            if !m.has_down() {
                w.no_down.push(r.name.clone());
                continue;
            }
            match verified.of(m) {
                None => w.unverified.push(r.name.clone()),
                Some(v) if v.down_is_bad() => w.bad_down.push(format!(
                    "{}: {}",
                    r.name,
                    v.detail.first().map_or(v.result.as_str(), String::as_str)
                )),
                Some(v) => {
                    let d = date(&v.at);
                    if oldest.as_ref().is_none_or(|(_, o)| d < *o) {
                        oldest = Some((v.engine.clone(), d));
                    }
                    w.data_loss
                        .extend(v.drops.iter().map(|what| format!("{} drops {what}", r.name)));
                }
            }
        }
        w.by = if hop.migrations.is_empty() {
            By::Nothing
        } else if w.no_down.is_empty() && w.bad_down.is_empty() {
            By::Downs
        } else {
            By::Backup
        };
        if w.unverified.is_empty() && w.bad_down.is_empty() && w.no_down.len() < hop.migrations.len() {
            w.verified = oldest;
        }
        hop.way_back = Some(w);
    }
}

/// What an installation's records add to its plans.
impl Installation {
    /// Adds to `plan` what is known beyond the release files: each hop's way
    /// back, the verification of its downs, and its rehearsed time.
    pub fn annotate(&self, store: &mut dyn crate::state::Store, plan: &mut crate::plan::UpgradePlan) -> Result<()> {
        let verified = crate::records::verified::Verified::load(store)?;
        let rehearsals = crate::records::rehearsal::load(store)?;
        crate::plan::annotate(plan, &self.set, &verified, &rehearsals);
        if !plan.hops.is_empty() {
            plan.watch = self.project.watch().cloned();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Start, plan};
    use crate::project::Manifest;
    use crate::records::verified::VerifiedMigration;
    use crate::version::Version;

    fn fixture() -> (Manifest, MigrationSet) {
        let set = MigrationSet::from_embedded(&[
            ("0001_a.up.sql", "CREATE TABLE a (x int);"),
            ("0001_a.down.sql", "DROP TABLE a;"),
            ("0002_b.up.sql", "ALTER TABLE a ADD COLUMN y int;"),
            ("0002_b.down.sql", "ALTER TABLE a DROP COLUMN y;"),
            ("0003_c.up.sql", "CREATE INDEX c ON a (x);"),
            ("0003_c.down.sql", "SELECT 1;"),
            ("0004_d.up.sql", "CREATE TABLE d (x int);"),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (v, s) in [("1.0.0", 1), ("1.1.0", 2), ("1.2.0", 3), ("1.3.0", 4)] {
            std::fs::write(
                dir.path().join(format!("{v}.toml")),
                format!("version = \"{v}\"\nschema = {s}\nrequired_stop = \"one hop each\"\n"),
            )
            .unwrap();
        }
        (
            Manifest::load(dir.path(), crate::project::Policy::default(), &set).unwrap(),
            set,
        )
    }

    fn record(
        set: &MigrationSet,
        v: u64,
        result: &str,
        at: &str,
        detail: &[&str],
        drops: &[&str],
    ) -> VerifiedMigration {
        let m = set.get(v).unwrap();
        VerifiedMigration {
            name: m.label(),
            up: m.up.checksum().to_string(),
            down: m.down().unwrap().map(|d| d.checksum().to_string()),
            engine: "postgres".into(),
            at: at.into(),
            result: result.into(),
            detail: detail.iter().map(|s| (*s).to_owned()).collect(),
            drops: drops.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn each_hop_says_how_it_is_taken_back_and_what_proves_it() {
        let (manifest, set) = fixture();
        let start = Start::Installed(Version::parse("1.0.0").unwrap());
        let mut p = plan(&manifest, &set, &start, None, None).unwrap();
        let mut verified = Verified::default();
        annotate(&mut p, &set, &verified, &[]);
        let ways: Vec<WayBack> = p.hops.iter().map(|h| h.way_back.clone().unwrap()).collect();
        assert_eq!(ways.len(), 3);
        assert_eq!(ways[0].by, By::Downs);
        assert_eq!(ways[0].unverified, ["0002_b"]);
        assert!(
            ways[0].describe().contains("not verified: 0002_b"),
            "{}",
            ways[0].describe()
        );
        assert_eq!(ways[2].by, By::Backup);
        assert_eq!(ways[2].no_down, ["0004_d"]);

        verified.migrations.insert(
            2,
            record(&set, 2, "inverts", "2026-11-30T10:00:00Z", &[], &["column a.y"]),
        );
        verified.migrations.insert(
            3,
            record(
                &set,
                3,
                "differs",
                "2026-11-29T10:00:00Z",
                &["index c left behind"],
                &[],
            ),
        );
        annotate(&mut p, &set, &verified, &[]);
        let ways: Vec<WayBack> = p.hops.iter().map(|h| h.way_back.clone().unwrap()).collect();
        assert_eq!(ways[0].verified, Some(("postgres".into(), "2026-11-30".into())));
        assert_eq!(ways[0].data_loss, ["0002_b drops column a.y"]);
        assert!(ways[0].describe().ends_with("downs verified on postgres on 2026-11-30"));
        assert_eq!(ways[1].by, By::Backup, "a down known wrong is no way back");
        assert_eq!(ways[1].bad_down, ["0003_c: index c left behind"]);
        assert_eq!(ways[1].verified, None);
    }

    #[test]
    fn an_edited_down_is_no_longer_verified() {
        let (manifest, set) = fixture();
        let start = Start::Installed(Version::parse("1.0.0").unwrap());
        let mut p = plan(&manifest, &set, &start, None, None).unwrap();
        let mut verified = Verified::default();
        let mut rec = record(&set, 2, "inverts", "2026-11-30T10:00:00Z", &[], &[]);
        rec.down = Some("0".repeat(64));
        verified.migrations.insert(2, rec);
        annotate(&mut p, &set, &verified, &[]);
        let w = p.hops[0].way_back.clone().unwrap();
        assert_eq!(w.unverified, ["0002_b"]);
        assert_eq!(w.verified, None);
    }
}
