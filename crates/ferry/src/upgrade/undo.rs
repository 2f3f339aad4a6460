//! Undoing a run, step by step in reverse, journaled like the run itself so
//! that a killed rollback can be continued. Each step's own undo is beside
//! its forward action in `steps/`; here, the order, the way the database
//! goes back, and the hooks around it all.
//!
//! The database goes back by the least destructive way that restores it
//! exactly: the down scripts, when every migration the run applied has one
//! and none failed part-way; otherwise the run's backup, restored once, at
//! the hop it was taken before (only the database: config files are
//! reverted byte for byte from their own records). The release table is
//! taken back to the row it had. Config migrations are reverted from their
//! records. Backups are kept.

use super::Notice;
use super::run::Ctx;
use crate::error::Result;
use crate::migration::{Direction, State};
use crate::project::hook::When;
use crate::records::run::state::End;
use crate::records::run::state::{Event, Record, StepKind, Undone, WayBack};

/// How the database goes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Way {
    /// Down scripts, hop by hop.
    Downs,
    /// The run's backup, restored when the undo reaches hop `.1`.
    Restore(String, usize),
    /// Nothing changed the database.
    Nothing,
    /// No way back: why.
    None(String),
}

impl Way {
    /// The way as the journal keeps it.
    fn record(&self) -> WayBack {
        match self {
            Way::Downs => WayBack::Downs,
            Way::Restore(backup, hop) => WayBack::Restore {
                backup: backup.clone(),
                hop: *hop,
            },
            Way::Nothing => WayBack::Nothing,
            Way::None(why) => WayBack::None { why: why.clone() },
        }
    }
}

/// Steps started at or after hop `to_hop` and not undone yet, newest first.
fn to_undo(records: &[Record], to_hop: usize) -> Vec<(usize, StepKind, u64)> {
    let mut started: Vec<(usize, StepKind, u64)> = Vec::new();
    let mut undone: Vec<(usize, StepKind)> = Vec::new();
    for r in records {
        match &r.event {
            // A step run again after a resume keeps its first start: what
            // was there before it is what undoing it goes back to.
            Event::StepStarted { hop, step, .. }
                if *hop >= to_hop && !started.iter().any(|(h, s, _)| h == hop && s == step) =>
            {
                started.push((*hop, *step, r.seq));
            }
            Event::UndoDone { hop, step, .. } => undone.push((*hop, *step)),
            _ => {}
        }
    }
    started.retain(|(h, s, _)| !undone.contains(&(*h, *s)));
    started.sort_by_key(|x| std::cmp::Reverse((x.0, x.1)));
    started
}

impl Ctx<'_> {
    /// The newest migration applied before hop `hop`'s migrate step started.
    pub(crate) fn hop_base(&self, hop: usize) -> Option<u64> {
        self.records.iter().find_map(|r| match &r.event {
            Event::StepStarted {
                hop: h,
                step: StepKind::Migrate,
                before,
            } if *h == hop => before.schema,
            _ => None,
        })
    }

    /// The `before` of the step started at record `seq`.
    fn before_of(&self, seq: u64) -> crate::records::run::state::Before {
        self.records
            .iter()
            .find_map(|r| match &r.event {
                Event::StepStarted { before, .. } if r.seq == seq => Some(before.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn way_back(&mut self, to_hop: usize, force_restore: bool) -> Result<Way> {
        let migrate_starts: Vec<(usize, u64)> = to_undo(&self.records, to_hop)
            .into_iter()
            .filter(|(_, s, _)| *s == StepKind::Migrate)
            .map(|(h, _, seq)| (h, seq))
            .collect();
        let Some(&(first_hop, first_seq)) = migrate_starts.iter().min() else {
            return Ok(Way::Nothing);
        };
        let base = self.before_of(first_seq).schema.unwrap_or(0);
        let status = self.migrator.status(&self.inst.set)?;
        // Failed part-way, or stopped between batches where its down cannot
        // undo only the batches done.
        let set = &self.inst.set;
        let dirty: Vec<String> = status
            .migrations
            .iter()
            .filter(|m| match m.state {
                State::Failed => true,
                State::Running if m.running == Some(Direction::Up) => set.get(m.version).is_none_or(|x| {
                    !x.down()
                        .ok()
                        .flatten()
                        .is_some_and(|d| crate::migration::undoes_batches_of(x, d))
                }),
                _ => false,
            })
            .map(|m| m.name.clone())
            .collect();
        let applied: Vec<&crate::migration::MigrationStatus> = status
            .migrations
            .iter()
            .filter(|m| m.version > base && matches!(m.state, State::Applied | State::Modified | State::Running))
            .collect();
        if applied.is_empty() && dirty.is_empty() {
            return Ok(Way::Nothing);
        }
        let no_down: Vec<String> = applied
            .iter()
            .filter(|m| self.inst.set.get(m.version).is_none_or(|x| !x.has_down()))
            .map(|m| m.name.clone())
            .collect();
        // Downs `ferry db verify` found do not take the schema back.
        let verified = crate::records::verified::Verified::load(&mut *self.store).unwrap_or_default();
        let bad_down: Vec<String> = applied
            .iter()
            .filter(|m| {
                self.inst
                    .set
                    .get(m.version)
                    .and_then(|x| verified.of(x))
                    .is_some_and(|v| v.down_is_bad())
            })
            .map(|m| m.name.clone())
            .collect();
        let backup = self.backup().filter(|(_, b)| *b >= to_hop && *b <= first_hop);
        let why_not_downs = if force_restore {
            Some("a restore was asked for".to_owned())
        } else if !dirty.is_empty() {
            Some(format!("{} failed part-way", dirty.join(", ")))
        } else if !no_down.is_empty() {
            Some(format!(
                "{} {} no down script",
                no_down.join(", "),
                if no_down.len() == 1 { "has" } else { "have" }
            ))
        } else if !bad_down.is_empty() {
            Some(format!(
                "`ferry db verify` found that the down script{} of {} do{} not take the schema back",
                if bad_down.len() == 1 { "" } else { "s" },
                bad_down.join(", "),
                if bad_down.len() == 1 { "es" } else { "" }
            ))
        } else {
            None
        };
        Ok(match (why_not_downs, backup) {
            // Known-bad downs with no backup: still the best way there is.
            (Some(_), None) if no_down.is_empty() && dirty.is_empty() && !force_restore => Way::Downs,
            (None, _) => Way::Downs,
            (Some(_), Some((id, hop))) => Way::Restore(id, hop),
            (Some(why), None) => Way::None(format!(
                "{why}, and the run took no backup to restore: the database cannot be taken back by ferry"
            )),
        })
    }

    /// How a rollback to hop `to_hop` would take the database back, in words.
    pub fn describe_way(&mut self, to_hop: usize, force_restore: bool) -> Result<String> {
        Ok(match self.way_back(to_hop, force_restore)? {
            Way::Downs => "down scripts revert the run's migrations (every one has one)".into(),
            Way::Restore(id, _) if force_restore => format!("restored from the run's backup {id}, as asked"),
            Way::Restore(id, _) => {
                format!("restored from the run's backup {id}, since down scripts cannot do it exactly")
            }
            Way::Nothing => "unchanged: the run applied no migration".into(),
            Way::None(why) => format!("cannot be taken back: {why}"),
        })
    }

    /// Undoes the run down to the start of hop `to_hop`, journaled.
    /// `Ok(false)` when a step could not be undone (journaled as such).
    pub fn rollback(&mut self, reason: &str, to_hop: usize, force_restore: bool, hooks_first: bool) -> Result<bool> {
        let resuming = self
            .records
            .iter()
            .rev()
            .find(|r| !matches!(r.event, Event::Started { .. }))
            .is_some_and(|r| {
                matches!(
                    r.event,
                    Event::UndoStarted { .. }
                        | Event::UndoDone { .. }
                        | Event::UndoFailed { .. }
                        | Event::RollbackStarted { .. }
                )
            });
        // A restore chosen when the rollback started is gone on with.
        let chosen = if resuming {
            self.records.iter().rev().find_map(|r| match &r.event {
                Event::RollbackStarted {
                    way: Some(WayBack::Restore { backup, hop }),
                    ..
                } => Some(Way::Restore(backup.clone(), *hop)),
                _ => None,
            })
        } else {
            None
        };
        let way = match chosen {
            Some(way) => way,
            None => self.way_back(to_hop, force_restore)?,
        };
        if !resuming {
            self.append(Event::RollbackStarted {
                pid: std::process::id(),
                reason: reason.to_owned(),
                to_hop,
                restore: force_restore,
                way: Some(way.record()),
            })?;
        }
        self.progress.notice(Notice::Rollback { reason });
        let last_hop = self.hops.len().saturating_sub(1);
        if hooks_first && !resuming {
            // A rollback of a finished run stops the service first.
            let hooks = self.hooks_for(to_hop..=last_hop, When::Before);
            if !hooks.is_empty() {
                let (runs, ok) = self.run_hooks(to_hop, &hooks);
                self.append(Event::Hooks { hooks: runs })?;
                if !ok {
                    self.append(Event::UndoFailed {
                        hop: to_hop,
                        step: StepKind::HooksBefore,
                        error: "a before hook failed; nothing was undone".into(),
                    })?;
                    return Ok(false);
                }
            }
        }
        let _safe = crate::process::SafePoints::enter();
        for (hop, step, seq) in to_undo(&self.records, to_hop) {
            // A safe point: the undo before is journaled as done.
            self.stop_if_asked(|| format!("rolling back, before undoing hop {}'s {}", hop + 1, step.describe()))?;
            self.append(Event::UndoStarted { hop, step })?;
            match self.undo(hop, step, seq, &way) {
                Ok(undone) => {
                    self.progress.notice(Notice::Undo {
                        hop,
                        step,
                        undone: &undone,
                    });
                    self.append(Event::UndoDone {
                        hop,
                        step,
                        how: undone.to_string(),
                        undone: Some(undone),
                    })?;
                }
                Err(e) => {
                    let error = self.redact(&e.to_string());
                    self.progress.notice(Notice::Undo {
                        hop,
                        step,
                        undone: &Undone::Failed { error: error.clone() },
                    });
                    self.append(Event::UndoFailed { hop, step, error })?;
                    return Ok(false);
                }
            }
        }
        let hooks = self.hooks_for(to_hop..=last_hop, When::AfterRollback);
        if !hooks.is_empty() {
            let (runs, ok) = self.run_hooks(to_hop, &hooks);
            self.append(Event::Hooks { hooks: runs })?;
            if !ok {
                self.append(Event::UndoFailed {
                    hop: to_hop,
                    step: StepKind::HooksAfter,
                    error: "an after_rollback hook failed; everything else was undone".into(),
                })?;
                return Ok(false);
            }
        }
        self.append(Event::Finished { end: End::RolledBack })?;
        Ok(true)
    }

    fn undo(&mut self, hop: usize, step: StepKind, seq: u64, way: &Way) -> Result<Undone> {
        let before = self.before_of(seq);
        match step {
            StepKind::Preflight | StepKind::Verify => Ok(self.undo_checks()),
            StepKind::HooksBefore | StepKind::HooksAfter => Ok(self.undo_hooks()),
            StepKind::Backup => Ok(self.undo_backup(hop)),
            StepKind::Config => self.undo_config(hop),
            StepKind::Migrate => self.undo_migrate(hop, &before, way),
            StepKind::Record => self.undo_record(&before, matches!(way, Way::Restore(..))),
            StepKind::PostDeploy => self.undo_post_deploy(hop, &before, way),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::run::state::{Before, Outcome};

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            at: String::new(),
            event,
        }
    }

    #[test]
    fn undo_goes_newest_first_and_skips_what_is_undone() {
        let started = |seq, hop, step| {
            rec(
                seq,
                Event::StepStarted {
                    hop,
                    step,
                    before: Before::default(),
                },
            )
        };
        let mut r = vec![
            started(1, 0, StepKind::Config),
            rec(
                2,
                Event::StepDone {
                    hop: 0,
                    step: StepKind::Config,
                    outcome: Outcome::default(),
                },
            ),
            started(3, 0, StepKind::Migrate),
            started(4, 1, StepKind::Config),
        ];
        let order: Vec<(usize, StepKind)> = to_undo(&r, 0).into_iter().map(|(h, s, _)| (h, s)).collect();
        assert_eq!(
            order,
            vec![(1, StepKind::Config), (0, StepKind::Migrate), (0, StepKind::Config)]
        );
        assert_eq!(to_undo(&r, 1).len(), 1, "down to hop 1 only");
        r.push(rec(
            5,
            Event::RollbackStarted {
                pid: 1,
                reason: String::new(),
                to_hop: 0,
                restore: false,
                way: None,
            },
        ));
        r.push(rec(
            6,
            Event::UndoDone {
                hop: 1,
                step: StepKind::Config,
                how: String::new(),
                undone: None,
            },
        ));
        assert_eq!(to_undo(&r, 0).len(), 2, "a continued rollback skips what is undone");
    }
}
