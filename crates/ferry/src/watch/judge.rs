//! What a reading means, and what a series of them adds up to: pure, so
//! that a watch resumed from its journal reaches the verdict an unbroken
//! one would have.

use crate::records::watch::{Level, Round, Verdict};

use crate::project::watch::{Limits, Metric, NoData, Watch, Worse};

fn show(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The first limit of `limits` that `value` crosses, in words.
fn crossed(limits: &Limits, key: &str, worse: Worse, value: f64, baseline: Option<f64>) -> Option<String> {
    if let Some(a) = limits.above
        && value > a
    {
        return Some(format!("{} above {key}_above {}", show(value), show(a)));
    }
    if let Some(b) = limits.below
        && value < b
    {
        return Some(format!("{} below {key}_below {}", show(value), show(b)));
    }
    if let (Some(frac), Some(base)) = (limits.worse_than, baseline)
        && base != 0.0
    {
        let change = (value - base) / base.abs();
        let worse_by = match worse {
            Worse::Higher => change,
            Worse::Lower => -change,
        };
        if worse_by > frac {
            return Some(format!(
                "{} is {:.0}% {} than {} before the upgrade ({key}_if_worse_than {:.0}%)",
                show(value),
                worse_by * 100.0,
                match worse {
                    Worse::Higher => "higher",
                    Worse::Lower => "lower",
                },
                show(base),
                frac * 100.0
            ));
        }
    }
    None
}

/// What `value` (none: no data, `why`) of `metric` means, against its
/// limits and `baseline`.
pub fn level(metric: &Metric, value: Option<f64>, why: &str, baseline: Option<f64>) -> (Level, String) {
    let Some(v) = value else {
        let detail = format!("no data: {why}");
        return match metric.no_data {
            NoData::Warn => (Level::Warn, detail),
            NoData::Fail => (Level::Critical, detail),
            NoData::Ignore => (Level::NoData, detail),
        };
    };
    if let Some(why) = crossed(&metric.rollback, "rollback", metric.worse, v, baseline) {
        return (Level::Critical, why);
    }
    if let Some(why) = crossed(&metric.warn, "warn", metric.worse, v, baseline) {
        return (Level::Warn, why);
    }
    let mut detail = "within its limits".to_owned();
    if metric.needs_baseline() {
        match baseline {
            None => detail.push_str("; no value before the upgrade to compare with"),
            Some(0.0) => detail.push_str("; 0 before the upgrade, so no relative limit applies"),
            Some(_) => {}
        }
    }
    (Level::Ok, detail)
}

/// The verdict of `rounds` so far: `Failed` as soon as a metric was
/// critical `failure_limit` rounds in a row; at the end (`complete`),
/// `Warned` when one warned (or was critical) that many in a row.
pub fn verdict(watch: &Watch, rounds: &[Round], complete: bool) -> Option<Verdict> {
    let mut warned = Vec::new();
    for m in &watch.metrics {
        let limit = m.failure_limit as usize;
        let readings = rounds
            .iter()
            .filter_map(|r| r.readings.iter().find(|x| x.metric == m.name));
        let mut critical = 0;
        let mut bad = 0;
        let mut warned_here = None;
        for reading in readings {
            let level = reading.level;
            critical = if level == Level::Critical { critical + 1 } else { 0 };
            bad = if matches!(level, Level::Critical | Level::Warn) {
                bad + 1
            } else {
                0
            };
            // What crossed, and how long: `error rate: 0.3 above ..., 2 readings in a row`.
            let why = || {
                let row = if limit > 1 {
                    format!(", {limit} readings in a row")
                } else {
                    String::new()
                };
                format!("{}: {}{row}", m.name, reading.detail)
            };
            if critical >= limit {
                return Some(Verdict::Failed { reason: why() });
            }
            if bad >= limit && warned_here.is_none() {
                warned_here = Some(why());
            }
        }
        warned.extend(warned_here);
    }
    if !complete {
        return None;
    }
    Some(if warned.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Warned { reasons: warned }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::project::watch::Source;
    use crate::records::watch::Reading;

    fn metric(limit: u32) -> Metric {
        Metric {
            name: "error rate".into(),
            source: Source::Sql { sql: "SELECT 1".into() },
            rollback: Limits {
                above: Some(0.05),
                ..Limits::default()
            },
            warn: Limits {
                above: Some(0.01),
                ..Limits::default()
            },
            worse: Worse::Higher,
            failure_limit: limit,
            no_data: NoData::Warn,
            timeout: Duration::from_secs(1),
            line: 1,
        }
    }

    fn watch(m: Metric) -> Watch {
        Watch {
            duration: Duration::from_secs(10),
            interval: Duration::from_secs(1),
            prometheus: None,
            metrics: vec![m],
            source: "ferry.toml".into(),
            line: 1,
        }
    }

    fn rounds(m: &Metric, values: &[Option<f64>]) -> Vec<Round> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (level, detail) = level(m, *v, "the query returned no row", None);
                Round {
                    n: i as u32 + 1,
                    of: values.len() as u32,
                    at: String::new(),
                    readings: vec![Reading {
                        metric: m.name.clone(),
                        value: *v,
                        level,
                        detail,
                    }],
                }
            })
            .collect()
    }

    #[test]
    fn one_blip_is_not_a_verdict_but_two_in_a_row_are() {
        let m = metric(2);
        let w = watch(m.clone());
        let blip = rounds(&m, &[Some(0.0), Some(0.2), Some(0.0), Some(0.2), Some(0.0)]);
        assert_eq!(verdict(&w, &blip, true), Some(Verdict::Passed));
        let two = rounds(&m, &[Some(0.0), Some(0.2), Some(0.3), Some(0.0)]);
        let v = verdict(&w, &two[..3], false).unwrap();
        assert!(
            matches!(&v, Verdict::Failed { reason } if reason == "error rate: 0.3 above rollback_above 0.05, 2 readings in a row"),
            "{v:?}"
        );
        // Not before the second.
        assert_eq!(verdict(&w, &two[..2], false), None);
        // failure_limit 1 acts on the first.
        let m1 = metric(1);
        assert!(matches!(
            verdict(&watch(m1.clone()), &rounds(&m1, &[Some(0.2)]), false),
            Some(Verdict::Failed { .. })
        ));
    }

    #[test]
    fn warnings_and_missing_data() {
        let m = metric(2);
        let w = watch(m.clone());
        let warn = rounds(&m, &[Some(0.02), Some(0.03), Some(0.0)]);
        assert!(matches!(verdict(&w, &warn, true), Some(Verdict::Warned { reasons }) if reasons.len() == 1));
        let no_data = rounds(&m, &[None, None]);
        assert!(
            matches!(verdict(&w, &no_data, true), Some(Verdict::Warned { reasons }) if reasons[0].contains("no data: the query returned no row"))
        );
        let mut fail = metric(2);
        fail.no_data = NoData::Fail;
        assert!(matches!(
            verdict(&watch(fail.clone()), &rounds(&fail, &[None, None]), false),
            Some(Verdict::Failed { .. })
        ));
        let mut ignore = metric(2);
        ignore.no_data = NoData::Ignore;
        assert_eq!(
            verdict(&watch(ignore.clone()), &rounds(&ignore, &[None, None, None]), true),
            Some(Verdict::Passed)
        );
    }

    #[test]
    fn relative_limits_compare_with_the_baseline() {
        let mut m = metric(1);
        m.rollback = Limits {
            worse_than: Some(0.2),
            ..Limits::default()
        };
        m.warn = Limits::default();
        assert_eq!(level(&m, Some(0.55), "", Some(0.5)).0, Level::Ok);
        let (l, why) = level(&m, Some(0.65), "", Some(0.5));
        assert_eq!(l, Level::Critical);
        assert_eq!(
            why,
            "0.65 is 30% higher than 0.5 before the upgrade (rollback_if_worse_than 20%)"
        );
        assert_eq!(level(&m, Some(0.65), "", None).0, Level::Ok);
        assert!(
            level(&m, Some(0.65), "", None)
                .1
                .contains("no value before the upgrade")
        );
        m.worse = Worse::Lower;
        assert_eq!(level(&m, Some(0.75), "", Some(1.0)).0, Level::Critical);
        assert_eq!(level(&m, Some(1.5), "", Some(1.0)).0, Level::Ok);
    }
}
