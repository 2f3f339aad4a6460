//! `[watch]` as written in ferry.toml, checked when the file is read:
//!
//! ```toml
//! [watch]
//! duration = "10m"           # after the last hop's post-upgrade checks
//! interval = "30s"
//! prometheus = "http://127.0.0.1:9090"
//!
//! [[watch.metrics]]
//! name = "error rate"
//! promql = 'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))'
//! rollback_above = 0.05
//! warn_above = 0.01
//! failure_limit = 2
//! no_data = "warn"
//! ```
//!
//! One source per metric: `promql` (an instant query to `prometheus`),
//! `http` with `json` (a JSON pointer into the body), or `sql` (the first
//! column of the first row, on the application's database).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::problem::Problem;
use crate::text::line_of;

/// Where a metric's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A PromQL instant query to `[watch] prometheus`; one series or a scalar.
    Promql {
        /// The query.
        query: String,
    },
    /// A number in a JSON body.
    Http {
        /// The URL (a password in it is never shown, in JSON either).
        #[serde(serialize_with = "redacted")]
        url: String,
        /// The JSON pointer to the number (`/error_rate`).
        pointer: String,
    },
    /// A query on the application's database: its first column of its first row.
    Sql {
        /// The query.
        sql: String,
    },
}

fn redacted<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::redact::redact_url(url))
}

fn redacted_opt<S: serde::Serializer>(url: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => s.serialize_some(&crate::redact::redact_url(u)),
        None => s.serialize_none(),
    }
}

impl Source {
    /// In a few words, for output (URLs redacted).
    pub fn describe(&self) -> String {
        match self {
            Source::Promql { query } => format!("promql `{}`", one_line(query)),
            Source::Http { url, pointer } => format!("{} {pointer}", crate::redact::redact_url(url)),
            Source::Sql { sql } => format!("sql `{}`", one_line(sql)),
        }
    }
}

fn one_line(s: &str) -> String {
    let l = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if l.chars().count() > 60 {
        format!("{}…", l.chars().take(60).collect::<String>())
    } else {
        l
    }
}

/// Which way a metric gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Worse {
    /// Higher is worse (error rates, latencies).
    Higher,
    /// Lower is worse (success rates, throughput).
    Lower,
}

/// The limits of one level (rollback or warn).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Limits {
    /// Crossed above this value.
    pub above: Option<f64>,
    /// Crossed below this value.
    pub below: Option<f64>,
    /// Crossed when worse than the baseline (measured before the first hop)
    /// by this fraction (0.2 for "20%").
    pub worse_than: Option<f64>,
}

impl Limits {
    fn is_empty(&self) -> bool {
        self.above.is_none() && self.below.is_none() && self.worse_than.is_none()
    }
}

/// What a missing reading means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// A warning.
    Warn,
    /// A failure: counts towards `failure_limit` like a rollback threshold.
    Fail,
    /// Nothing.
    Ignore,
}

/// One watched metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Its name.
    pub name: String,
    /// Where its value comes from.
    pub source: Source,
    /// Crossing these rolls back (after `failure_limit` readings in a row).
    pub rollback: Limits,
    /// Crossing these warns (after `failure_limit` readings in a row).
    pub warn: Limits,
    /// Which way it gets worse (for the baseline-relative limits).
    pub worse: Worse,
    /// Bad readings in a row before acting.
    pub failure_limit: u32,
    /// What a missing reading means.
    pub no_data: NoData,
    /// Time for one reading.
    pub timeout: Duration,
    /// Its line in ferry.toml.
    pub line: usize,
}

impl Metric {
    /// True when a limit is relative to the value before the upgrade.
    pub fn needs_baseline(&self) -> bool {
        self.rollback.worse_than.is_some() || self.warn.worse_than.is_some()
    }
}

/// The watch window after an upgrade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Watch {
    /// How long it watches.
    pub duration: Duration,
    /// Time between readings.
    pub interval: Duration,
    /// Where `promql` queries go (a password in it is never shown).
    #[serde(serialize_with = "redacted_opt")]
    pub prometheus: Option<String>,
    /// What it watches.
    pub metrics: Vec<Metric>,
    /// The file it is written in.
    pub source: PathBuf,
    /// Its line there.
    pub line: usize,
}

impl Watch {
    /// The number of rounds of readings in `duration`: one at its start,
    /// then one every interval that fits.
    pub fn rounds(&self, duration: Duration) -> u32 {
        let interval = self.interval.as_millis().max(1);
        (duration.as_millis() / interval) as u32 + 1
    }
}

/// `[watch]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWatch {
    duration: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    prometheus: Option<Spanned<String>>,
    #[serde(default)]
    metrics: Vec<Spanned<RawMetric>>,
}

/// A `[[watch.metrics]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetric {
    name: String,
    promql: Option<String>,
    http: Option<String>,
    json: Option<String>,
    sql: Option<String>,
    rollback_above: Option<f64>,
    rollback_below: Option<f64>,
    rollback_if_worse_than: Option<Spanned<String>>,
    warn_above: Option<f64>,
    warn_below: Option<f64>,
    warn_if_worse_than: Option<Spanned<String>>,
    worse: Option<Spanned<String>>,
    failure_limit: Option<Spanned<u32>>,
    no_data: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

/// The default number of bad readings in a row before acting: one bad
/// reading is a blip, not a verdict.
pub const DEFAULT_FAILURE_LIMIT: u32 = 2;

fn duration(
    file: &Path,
    text: &str,
    value: &Option<Spanned<String>>,
    what: &str,
    default: Duration,
) -> Result<Duration, Problem> {
    match value {
        None => Ok(default),
        Some(v) => match humantime::parse_duration(v.get_ref()) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err(Problem::in_file(file, format!("{what} is zero"))
                .at_line(line_of(text, v.span().start))
                .help("write a duration such as \"30s\" or \"10m\"")),
            Err(e) => Err(
                Problem::in_file(file, format!("{what}: `{}` is not a duration ({e})", v.get_ref()))
                    .at_line(line_of(text, v.span().start))
                    .help("write a number with a unit, for example \"30s\" or \"10m\""),
            ),
        },
    }
}

/// Parses `"20%"` into 0.2.
fn percent(s: &str) -> Option<f64> {
    let n: f64 = s.trim().strip_suffix('%')?.trim().parse().ok()?;
    (n.is_finite() && n > 0.0).then_some(n / 100.0)
}

/// Checks `[watch]` of `file` (whose text is `text`); every problem found.
pub(crate) fn parse(file: &Path, text: &str, raw: Spanned<RawWatch>) -> Result<Watch, Vec<Problem>> {
    let line = line_of(text, raw.span().start);
    let raw = raw.into_inner();
    let mut problems = Vec::new();
    let dur = duration(file, text, &raw.duration, "watch.duration", Duration::from_secs(600)).unwrap_or_else(|p| {
        problems.push(p);
        Duration::from_secs(600)
    });
    let interval = duration(file, text, &raw.interval, "watch.interval", Duration::from_secs(30)).unwrap_or_else(|p| {
        problems.push(p);
        Duration::from_secs(30)
    });
    if interval > dur {
        problems.push(
            Problem::in_file(
                file,
                format!(
                    "watch.interval ({}) is longer than watch.duration ({})",
                    humantime::format_duration(interval),
                    humantime::format_duration(dur)
                ),
            )
            .at_line(raw.interval.as_ref().map_or(line, |i| line_of(text, i.span().start)))
            .help("read at least twice in the window: for example duration = \"10m\", interval = \"30s\""),
        );
    }
    let prometheus = match &raw.prometheus {
        Some(p) if !p.get_ref().contains('$') && url::Url::parse(p.get_ref()).is_err() => {
            problems.push(
                Problem::in_file(file, format!("watch.prometheus: `{}` is not a URL", p.get_ref()))
                    .at_line(line_of(text, p.span().start))
                    .help("for example prometheus = \"http://127.0.0.1:9090\""),
            );
            None
        }
        Some(p) => Some(p.get_ref().trim_end_matches('/').to_owned()),
        None => None,
    };
    if raw.metrics.is_empty() {
        problems.push(
            Problem::in_file(file, "[watch] has no metrics to watch")
                .at_line(line)
                .help("add [[watch.metrics]] tables, each with a name, a source (promql, http + json, sql) and a threshold"),
        );
    }
    let mut metrics: Vec<Metric> = Vec::new();
    for m in raw.metrics {
        let at = line_of(text, m.span().start);
        match metric(file, text, at, m.into_inner(), prometheus.is_some()) {
            Ok(m) => {
                if metrics.iter().any(|o| o.name == m.name) {
                    problems.push(
                        Problem::in_file(file, format!("watch metric `{}` is defined twice", m.name))
                            .at_line(at)
                            .help("give each metric its own name"),
                    );
                }
                metrics.push(m);
            }
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(Watch {
            duration: dur,
            interval,
            prometheus,
            metrics,
            source: file.to_owned(),
            line,
        })
    } else {
        Err(problems)
    }
}

fn metric(file: &Path, text: &str, line: usize, raw: RawMetric, has_prometheus: bool) -> Result<Metric, Problem> {
    let name = raw.name.clone();
    let fail = |l: usize, msg: String, help: &str| Problem::in_file(file, msg).at_line(l).help(help.to_owned());
    let at = |s: std::ops::Range<usize>| line_of(text, s.start);
    let source = match (&raw.promql, &raw.http, &raw.sql) {
        (Some(q), None, None) => {
            if !has_prometheus {
                return Err(fail(
                    line,
                    format!("watch metric `{name}` is a promql query, but [watch] names no prometheus server"),
                    "add prometheus = \"http://HOST:9090\" to [watch]",
                ));
            }
            Source::Promql { query: q.clone() }
        }
        (None, Some(url), None) => {
            if !url.contains('$') && url::Url::parse(url).is_err() {
                return Err(fail(
                    line,
                    format!(
                        "watch metric `{name}`: http = `{}` is not a URL",
                        crate::redact::redact_url(url)
                    ),
                    "for example http = \"http://127.0.0.1:8000/metrics/summary\"",
                ));
            }
            let Some(pointer) = raw.json.clone() else {
                return Err(fail(
                    line,
                    format!("watch metric `{name}` reads {url} but says not where the number is"),
                    "add json = \"/error_rate\": a JSON pointer to the number in the body",
                ));
            };
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(fail(
                    line,
                    format!("watch metric `{name}`: json = `{pointer}` is not a JSON pointer"),
                    "a JSON pointer starts with /, for example json = \"/stats/error_rate\"",
                ));
            }
            Source::Http {
                url: url.clone(),
                pointer,
            }
        }
        (None, None, Some(sql)) => Source::Sql { sql: sql.clone() },
        (None, None, None) => {
            return Err(fail(
                line,
                format!("watch metric `{name}` has no source"),
                "give it one of promql = \"...\", http = \"URL\" with json = \"/pointer\", or sql = \"SELECT ...\"",
            ));
        }
        _ => {
            return Err(fail(
                line,
                format!("watch metric `{name}` has more than one source"),
                "keep one of promql, http, sql; watch the others as metrics of their own",
            ));
        }
    };
    if raw.json.is_some() && raw.http.is_none() {
        return Err(fail(
            line,
            format!("watch metric `{name}`: json is a pointer into an http body, and there is no http"),
            "remove json, or read the number with http = \"URL\"",
        ));
    }
    let relative = |v: &Option<Spanned<String>>, key: &str| -> Result<Option<f64>, Problem> {
        match v {
            None => Ok(None),
            Some(s) => percent(s.get_ref()).map(Some).ok_or_else(|| {
                fail(
                    at(s.span()),
                    format!("watch metric `{name}`: {key} = `{}` is not a percentage", s.get_ref()),
                    "write for example \"20%\": worse than the value before the upgrade by a fifth",
                )
            }),
        }
    };
    let rollback = Limits {
        above: raw.rollback_above,
        below: raw.rollback_below,
        worse_than: relative(&raw.rollback_if_worse_than, "rollback_if_worse_than")?,
    };
    let warn = Limits {
        above: raw.warn_above,
        below: raw.warn_below,
        worse_than: relative(&raw.warn_if_worse_than, "warn_if_worse_than")?,
    };
    if rollback.is_empty() && warn.is_empty() {
        return Err(fail(
            line,
            format!("watch metric `{name}` has no threshold"),
            "add rollback_above, rollback_below or rollback_if_worse_than (and warn_ ones for a warning)",
        ));
    }
    for (what, l) in [("rollback", &rollback), ("warn", &warn)] {
        if let (Some(a), Some(b)) = (l.above, l.below)
            && b >= a
        {
            return Err(fail(
                line,
                format!(
                    "watch metric `{name}`: {what}_below ({b}) is not under {what}_above ({a}), so every value crosses one"
                ),
                "a value is bad above the upper limit or below the lower one: the lower must be smaller",
            ));
        }
    }
    if let (Some(w), Some(r)) = (warn.above, rollback.above)
        && w > r
    {
        return Err(fail(
            line,
            format!("watch metric `{name}`: warn_above ({w}) is over rollback_above ({r})"),
            "the warning comes first: make warn_above smaller than rollback_above",
        ));
    }
    if let (Some(w), Some(r)) = (warn.below, rollback.below)
        && w < r
    {
        return Err(fail(
            line,
            format!("watch metric `{name}`: warn_below ({w}) is under rollback_below ({r})"),
            "the warning comes first: make warn_below larger than rollback_below",
        ));
    }
    let inferred = match (
        rollback.above.or(warn.above).is_some(),
        rollback.below.or(warn.below).is_some(),
    ) {
        (true, false) => Some(Worse::Higher),
        (false, true) => Some(Worse::Lower),
        _ => None,
    };
    let worse = match &raw.worse {
        Some(w) => match w.get_ref().as_str() {
            "higher" => Worse::Higher,
            "lower" => Worse::Lower,
            other => {
                return Err(fail(
                    at(w.span()),
                    format!("watch metric `{name}`: worse = \"{other}\" is not a direction"),
                    "write worse = \"higher\" (error rates, latency) or worse = \"lower\" (success rates)",
                ));
            }
        },
        None => inferred.unwrap_or(Worse::Higher),
    };
    let failure_limit = match &raw.failure_limit {
        Some(f) if *f.get_ref() == 0 => {
            return Err(fail(
                at(f.span()),
                format!("watch metric `{name}`: failure_limit is 0"),
                "1 acts on the first bad reading; 2 or more waits for bad readings in a row",
            ));
        }
        Some(f) => *f.get_ref(),
        None => DEFAULT_FAILURE_LIMIT,
    };
    let no_data = match &raw.no_data {
        None => NoData::Warn,
        Some(n) => match n.get_ref().as_str() {
            "warn" => NoData::Warn,
            "fail" => NoData::Fail,
            "ignore" => NoData::Ignore,
            other => {
                return Err(fail(
                    at(n.span()),
                    format!("watch metric `{name}`: no_data = \"{other}\" is not a choice"),
                    "write no_data = \"warn\", \"fail\" or \"ignore\"",
                ));
            }
        },
    };
    let timeout = duration(
        file,
        text,
        &raw.timeout,
        &format!("watch metric `{name}`: timeout"),
        Duration::from_secs(5),
    )?;
    Ok(Metric {
        name,
        source,
        rollback,
        warn,
        worse,
        failure_limit,
        no_data,
        timeout,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Watch, Vec<Problem>> {
        #[derive(Deserialize)]
        struct File {
            watch: Spanned<RawWatch>,
        }
        let f: File = toml::from_str(text).unwrap();
        parse(Path::new("ferry.toml"), text, f.watch)
    }

    #[test]
    fn a_full_watch_parses() {
        let w = parse_text(
            r#"[watch]
duration = "10m"
interval = "30s"
prometheus = "http://127.0.0.1:9090/"

[[watch.metrics]]
name = "error rate"
promql = 'sum(rate(x[5m]))'
rollback_above = 0.05
warn_above = 0.01

[[watch.metrics]]
name = "p95"
http = "http://127.0.0.1:8000/summary"
json = "/p95"
rollback_if_worse_than = "20%"
failure_limit = 3
no_data = "fail"

[[watch.metrics]]
name = "agent success"
sql = "SELECT 0.97"
rollback_below = 0.9
warn_below = 0.95
"#,
        )
        .unwrap();
        assert_eq!(w.duration, Duration::from_secs(600));
        assert_eq!(w.rounds(w.duration), 21);
        assert_eq!(w.prometheus.as_deref(), Some("http://127.0.0.1:9090"));
        assert_eq!(w.metrics[0].worse, Worse::Higher);
        assert_eq!(w.metrics[0].failure_limit, DEFAULT_FAILURE_LIMIT);
        assert_eq!(w.metrics[1].rollback.worse_than, Some(0.2));
        assert!(w.metrics[1].needs_baseline());
        assert_eq!(w.metrics[1].no_data, NoData::Fail);
        assert_eq!(w.metrics[1].line, 12);
        assert_eq!(w.metrics[2].worse, Worse::Lower);
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let cases = [
            ("name = \"x\"\nsql = \"SELECT 1\"\n", "has no threshold", 4),
            ("name = \"x\"\nrollback_above = 1\n", "has no source", 4),
            (
                "name = \"x\"\nsql = \"SELECT 1\"\nhttp = \"http://h/\"\nrollback_above = 1\n",
                "more than one source",
                4,
            ),
            (
                "name = \"x\"\npromql = \"up\"\nrollback_above = 1\n",
                "names no prometheus server",
                4,
            ),
            (
                "name = \"x\"\nhttp = \"http://h/\"\nrollback_above = 1\n",
                "says not where the number is",
                4,
            ),
            (
                "name = \"x\"\nsql = \"SELECT 1\"\nrollback_if_worse_than = \"twenty\"\n",
                "not a percentage",
                7,
            ),
            (
                "name = \"x\"\nsql = \"SELECT 1\"\nrollback_above = 1\nwarn_above = 2\n",
                "is over rollback_above",
                4,
            ),
            (
                "name = \"x\"\nsql = \"SELECT 1\"\nrollback_above = 1\nno_data = \"panic\"\n",
                "not a choice",
                8,
            ),
            (
                "name = \"x\"\nsql = \"SELECT 1\"\nrollback_above = 1\nfailure_limit = 0\n",
                "failure_limit is 0",
                8,
            ),
        ];
        for (metric, want, line) in cases {
            let text = format!("[watch]\nduration = \"1m\"\n\n[[watch.metrics]]\n{metric}");
            let problems = parse_text(&text).unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p.message.contains(want) && p.line == Some(line)),
                "{want}: {problems:?}"
            );
            assert!(problems.iter().all(|p| p.help.is_some()), "{problems:?}");
        }
        let p = parse_text("[watch]\nduration = \"10s\"\ninterval = \"1m\"\n[[watch.metrics]]\nname = \"x\"\nsql = \"SELECT 1\"\nrollback_above = 1\n")
            .unwrap_err();
        assert!(p[0].message.contains("longer than watch.duration"), "{p:?}");
        assert_eq!(p[0].line, Some(3));
    }
}
