//! Which backups `ferry backup prune` keeps: a pure function of the backups'
//! times and the retention policy, so it is tested on fabricated dates.

use std::collections::BTreeSet;

use jiff::Timestamp;

pub use crate::project::backup::Retention;

/// One backup as retention sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its id.
    pub id: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// Whether it has passed `ferry backup verify`.
    pub verified: bool,
}

/// The ids to keep, each with the first rule that keeps it.
pub fn keep(backups: &[Candidate], policy: &Retention, now: Timestamp) -> Vec<(String, &'static str)> {
    if policy.is_empty() {
        return backups
            .iter()
            .map(|b| (b.id.clone(), "no retention rule set"))
            .collect();
    }
    let mut sorted: Vec<&Candidate> = backups.iter().collect();
    sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    let mut kept: Vec<(String, &'static str)> = Vec::new();
    let mut mark = |id: &str, why: &'static str| {
        if !kept.iter().any(|(k, _)| k == id) {
            kept.push((id.to_owned(), why));
        }
    };
    if let Some(b) = sorted.iter().find(|b| b.verified) {
        mark(&b.id, "newest verified backup");
    }
    if let Some(n) = policy.keep_last {
        for b in sorted.iter().take(n) {
            mark(&b.id, "keep_last");
        }
    }
    if let Some(within) = policy.keep_within {
        let span = jiff::SignedDuration::try_from(within).unwrap_or(jiff::SignedDuration::MAX);
        for b in &sorted {
            if now.duration_since(b.created_at) <= span {
                mark(&b.id, "keep_within");
            }
        }
    }
    let utc = jiff::tz::TimeZone::UTC;
    if let Some(days) = policy.keep_daily {
        let mut seen = BTreeSet::new();
        for b in &sorted {
            let day = b.created_at.to_zoned(utc.clone()).date();
            if seen.len() < days && seen.insert(day) {
                mark(&b.id, "keep_daily");
            }
        }
    }
    if let Some(weeks) = policy.keep_weekly {
        let mut seen = BTreeSet::new();
        for b in &sorted {
            let week = b.created_at.to_zoned(utc.clone()).date().iso_week_date();
            let key = (week.year(), week.week());
            if seen.len() < weeks && seen.insert(key) {
                mark(&b.id, "keep_weekly");
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn set(dates: &[(&str, bool)]) -> Vec<Candidate> {
        dates
            .iter()
            .map(|(d, v)| Candidate {
                id: (*d).to_owned(),
                created_at: at(d),
                verified: *v,
            })
            .collect()
    }

    fn kept(b: &[Candidate], p: &Retention, now: &str) -> Vec<String> {
        let mut k: Vec<String> = keep(b, p, at(now)).into_iter().map(|(id, _)| id).collect();
        k.sort();
        k
    }

    #[test]
    fn keep_last_and_within() {
        let b = set(&[
            ("2026-11-01T00:00:00Z", false),
            ("2026-11-10T00:00:00Z", false),
            ("2026-11-18T00:00:00Z", false),
            ("2026-11-20T00:00:00Z", false),
            ("2026-11-21T00:00:00Z", false),
        ]);
        let p = Retention {
            keep_last: Some(2),
            ..Default::default()
        };
        assert_eq!(
            kept(&b, &p, "2026-11-21T12:00:00Z"),
            ["2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z"]
        );
        let p = Retention {
            keep_within: Some(Duration::from_secs(7 * 86400)),
            ..Default::default()
        };
        assert_eq!(
            kept(&b, &p, "2026-11-21T12:00:00Z"),
            ["2026-11-18T00:00:00Z", "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z"]
        );
    }

    #[test]
    fn daily_and_weekly_keep_the_newest_of_each() {
        let b = set(&[
            ("2026-11-19T01:00:00Z", false),
            ("2026-11-19T23:00:00Z", false),
            ("2026-11-20T08:00:00Z", false),
            ("2026-11-20T09:00:00Z", false),
            ("2026-11-21T10:00:00Z", false),
            ("2026-11-09T10:00:00Z", false), // the week before last
            ("2026-11-02T10:00:00Z", false),
        ]);
        let p = Retention {
            keep_daily: Some(2),
            ..Default::default()
        };
        assert_eq!(
            kept(&b, &p, "2026-11-21T12:00:00Z"),
            ["2026-11-20T09:00:00Z", "2026-11-21T10:00:00Z"]
        );
        let p = Retention {
            keep_weekly: Some(3),
            ..Default::default()
        };
        // ISO weeks: 16-22 Nov, 9-15 Nov, 2-8 Nov.
        assert_eq!(
            kept(&b, &p, "2026-11-21T12:00:00Z"),
            ["2026-11-02T10:00:00Z", "2026-11-09T10:00:00Z", "2026-11-21T10:00:00Z"]
        );
    }

    #[test]
    fn the_newest_verified_backup_is_never_pruned() {
        let b = set(&[
            ("2026-01-01T00:00:00Z", true),
            ("2026-11-20T00:00:00Z", false),
            ("2026-11-21T00:00:00Z", false),
        ]);
        let p = Retention {
            keep_last: Some(1),
            ..Default::default()
        };
        assert_eq!(
            kept(&b, &p, "2026-11-21T12:00:00Z"),
            ["2026-01-01T00:00:00Z", "2026-11-21T00:00:00Z"]
        );
        assert_eq!(
            kept(&b, &Retention::default(), "2026-11-21T12:00:00Z").len(),
            3,
            "no rules, nothing pruned"
        );
    }
}
