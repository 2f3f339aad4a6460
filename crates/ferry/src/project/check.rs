//! `[[checks]]` as written in ferry.toml (every hop) and in release files
//! (the hop that brings the release), checked when the file is read:
//!
//! ```toml
//! [[checks]]
//! name = "every scan belongs to a host"
//! when = ["post"]          # pre, post (default: both)
//! since = "2.0.0"          # only from this release on
//! severity = "error"       # error (stops a run) or warning
//! sql = "SELECT count(*) FROM scans s LEFT JOIN hosts h ON h.id = s.host_id WHERE h.id IS NULL"
//! expect = "0"             # or ">= 1", "between 1 and 10"
//! ```
//!
//! One kind per check: `sql` (with `expect`, or `compare` with a value
//! measured before the hop), `http`, `tcp`, `command`, `disk`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::expect::{Comparison, Expect};
use crate::problem::Problem;
use crate::project::hook::Run;
use crate::text::line_of;
use crate::version::Version;

/// Before or after a hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before the hop changes anything.
    Pre,
    /// After the hop.
    Post,
}

/// What a failing check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Stops the run; skipped only with `--skip-errors NAME`.
    Error,
    /// Reported; the run goes on.
    Warning,
}

/// How much free space a `disk` check wants.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Free {
    /// Bytes.
    Bytes(u64),
    /// A multiple of the database's size (room for a backup: `1.5x database`).
    TimesDatabase(f64),
}

/// What a check looks at.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A query on the live database; its first column of its first row.
    Sql {
        /// The query.
        sql: String,
        /// What the value must be; none: the query must run.
        expect: Option<Expect>,
    },
    /// A query measured before the hop and again after it.
    Compare {
        /// The query; every row counts.
        sql: String,
        /// How after relates to before.
        how: Comparison,
        /// For `same_set`: what each value before becomes.
        map: Vec<(String, String)>,
    },
    /// An HTTP request.
    Http {
        /// The URL (a password in it is never shown).
        url: String,
        /// HEAD instead of GET.
        head: bool,
        /// The status wanted (default: any 2xx).
        status: Option<u16>,
        /// Text the body must contain.
        contains: Option<String>,
        /// A JSON pointer into the body, and the value it must have.
        json: Option<(String, String)>,
        /// Tries after the first (a service still starting).
        retries: u32,
        /// Time between tries.
        delay: Duration,
        /// Time for each try.
        timeout: Duration,
    },
    /// A TCP port that accepts connections.
    Tcp {
        /// `host:port`.
        address: String,
        /// Time to connect.
        timeout: Duration,
    },
    /// A command that must exit 0.
    Command {
        /// What it runs.
        run: Run,
        /// Text its output must contain.
        contains: Option<String>,
        /// Time it may take.
        timeout: Duration,
    },
    /// Free space on the volume of a path.
    Disk {
        /// The path (relative to the project).
        path: PathBuf,
        /// How much must be free.
        free: Free,
    },
}

impl Kind {
    /// The kind's name.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Sql { .. } => "sql",
            Kind::Compare { .. } => "compare",
            Kind::Http { .. } => "http",
            Kind::Tcp { .. } => "tcp",
            Kind::Command { .. } => "command",
            Kind::Disk { .. } => "disk",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What it checks.
    pub name: String,
    /// When it runs.
    pub when: Vec<Phase>,
    /// The release from which on it applies.
    pub since: Option<Version>,
    /// What its failure does.
    pub severity: Severity,
    /// What it looks at.
    #[serde(flatten)]
    pub kind: Kind,
    /// The file it is written in.
    pub source: PathBuf,
    /// Its line there.
    pub line: usize,
}

impl Check {
    /// What it looks at, in a line (URLs redacted).
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Sql { sql, expect } => format!(
                "sql `{}`{}",
                one_line(sql),
                expect.as_ref().map(|e| format!(" expects {e}")).unwrap_or_default()
            ),
            Kind::Compare { sql, how, .. } => format!(
                "sql `{}` {} across the hop",
                one_line(sql),
                match how {
                    Comparison::Unchanged => "unchanged",
                    Comparison::Grows => "grows",
                    Comparison::SameSet => "keeps its set of values (mapped)",
                }
            ),
            Kind::Http { url, head, status, .. } => format!(
                "{} {} answers {}",
                if *head { "HEAD" } else { "GET" },
                crate::redact::redact_url(url),
                status.map_or("2xx".to_owned(), |s| s.to_string())
            ),
            Kind::Tcp { address, .. } => format!("{address} accepts connections"),
            Kind::Command { run, .. } => format!("`{}` exits 0", crate::redact::redact_text(&run.display())),
            Kind::Disk { path, free } => format!(
                "free space on the volume of {}: {}",
                path.display(),
                match free {
                    Free::Bytes(b) => crate::text::bytes(*b),
                    Free::TimesDatabase(x) => format!("{x}x the database"),
                }
            ),
        }
    }

    /// Whether it runs in `phase` when the database is (or will be) at
    /// `version` (none: nothing installed).
    pub fn applies(&self, phase: Phase, version: Option<&Version>) -> bool {
        self.when.contains(&phase)
            && match &self.since {
                None => true,
                Some(since) => version.is_some_and(|v| v >= since),
            }
    }
}

/// A `[[checks]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    name: String,
    when: Option<Spanned<toml::Value>>,
    since: Option<Spanned<String>>,
    severity: Option<Spanned<String>>,
    sql: Option<String>,
    expect: Option<Spanned<toml::Value>>,
    compare: Option<Spanned<String>>,
    map: Option<BTreeMap<String, toml::Value>>,
    http: Option<String>,
    method: Option<Spanned<String>>,
    status: Option<u16>,
    contains: Option<String>,
    json: Option<String>,
    value: Option<toml::Value>,
    retries: Option<u32>,
    delay: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    tcp: Option<String>,
    command: Option<Spanned<toml::Value>>,
    disk: Option<String>,
    free: Option<Spanned<String>>,
}

fn one_line(s: &str) -> String {
    let l = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if l.chars().count() > 80 {
        format!("{}…", l.chars().take(80).collect::<String>())
    } else {
        l
    }
}

fn text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses `10GiB`, `500 MB`, `1.5x database`.
fn parse_free(s: &str) -> Result<Free, String> {
    let t = s.trim();
    if let Some(x) = t
        .strip_suffix("database")
        .map(str::trim)
        .and_then(|r| r.strip_suffix('x'))
    {
        let n: f64 = x
            .trim()
            .parse()
            .map_err(|_| format!("`{t}`: write for example \"1.5x database\""))?;
        return Ok(Free::TimesDatabase(n));
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{t}`: write a size such as \"10GiB\" or \"1.5x database\""))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        other => {
            return Err(format!(
                "`{t}`: `{other}` is not a unit (B, KB, MB, GB, KiB, MiB, GiB...)"
            ));
        }
    };
    Ok(Free::Bytes((n * mult) as u64))
}

/// Checks one `[[checks]]` table of `file` (whose text is `text`).
pub(crate) fn parse(file: &Path, text_of_file: &str, raw: Spanned<RawCheck>) -> Result<Check, Problem> {
    let line = line_of(text_of_file, raw.span().start);
    let at = |span: std::ops::Range<usize>| line_of(text_of_file, span.start);
    let raw = raw.into_inner();
    let fail = |l: usize, msg: String, help: &str| Problem::in_file(file, msg).at_line(l).help(help.to_owned());
    let name = raw.name.clone();
    let when = match &raw.when {
        None => vec![Phase::Pre, Phase::Post],
        Some(w) => {
            let words: Vec<String> = match w.get_ref() {
                toml::Value::String(s) => vec![s.clone()],
                toml::Value::Array(a) => a.iter().map(text).collect(),
                _ => Vec::new(),
            };
            let mut phases = Vec::new();
            for word in &words {
                match word.as_str() {
                    "pre" => phases.push(Phase::Pre),
                    "post" => phases.push(Phase::Post),
                    other => {
                        return Err(fail(
                            at(w.span()),
                            format!("check `{name}`: when = \"{other}\" is not a phase"),
                            "use [\"pre\"], [\"post\"] or [\"pre\", \"post\"]",
                        ));
                    }
                }
            }
            if phases.is_empty() {
                return Err(fail(
                    at(w.span()),
                    format!("check `{name}`: when is empty"),
                    "use [\"pre\"], [\"post\"] or both",
                ));
            }
            phases
        }
    };
    let since = match &raw.since {
        Some(s) => Some(Version::parse(s.get_ref()).map_err(|m| {
            fail(
                at(s.span()),
                format!("check `{name}`: since: {m}"),
                "for example since = \"2.0.0\"",
            )
        })?),
        None => None,
    };
    let severity = match raw.severity.as_ref().map(|s| (s.get_ref().as_str(), at(s.span()))) {
        None | Some(("error", _)) => Severity::Error,
        Some(("warning", _)) => Severity::Warning,
        Some((other, l)) => {
            return Err(fail(
                l,
                format!("check `{name}`: severity = \"{other}\""),
                "use \"error\" or \"warning\"",
            ));
        }
    };
    let duration = |d: &Option<Spanned<String>>, key: &str, default: Duration| -> Result<Duration, Problem> {
        match d {
            Some(s) => humantime::parse_duration(s.get_ref()).map_err(|e| {
                fail(
                    at(s.span()),
                    format!("check `{name}`: {key} `{}`: {e}", s.get_ref()),
                    "for example \"5s\"",
                )
            }),
            None => Ok(default),
        }
    };
    let timeout = duration(&raw.timeout, "timeout", Duration::from_secs(10))?;
    let kinds = [
        raw.sql.is_some(),
        raw.http.is_some(),
        raw.tcp.is_some(),
        raw.command.is_some(),
        raw.disk.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(fail(
            line,
            format!("check `{name}` needs exactly one of sql, http, tcp, command, disk"),
            "for example sql = \"SELECT count(*) FROM t\" with expect = \"0\"",
        ));
    }
    let kind = if let Some(sql) = raw.sql {
        match (&raw.expect, &raw.compare) {
            (Some(_), Some(c)) => {
                return Err(fail(
                    at(c.span()),
                    format!("check `{name}` has both expect and compare"),
                    "keep one",
                ));
            }
            (_, Some(c)) => Kind::Compare {
                sql,
                how: Comparison::parse(c.get_ref()).map_err(|m| {
                    fail(
                        at(c.span()),
                        format!("check `{name}`: {m}"),
                        "use \"unchanged\", \"grows\" or \"same_set\"",
                    )
                })?,
                map: raw
                    .map
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, text(&v)))
                    .collect(),
            },
            (e, None) => Kind::Sql {
                sql,
                expect: match e {
                    Some(e) => Some(Expect::parse(&text(e.get_ref())).map_err(|m| {
                        fail(
                            at(e.span()),
                            format!("check `{name}`: expect {m}"),
                            "for example expect = \">= 1\"",
                        )
                    })?),
                    None => None,
                },
            },
        }
    } else if let Some(url) = raw.http {
        let head = match raw
            .method
            .as_ref()
            .map(|m| (m.get_ref().to_ascii_uppercase(), at(m.span())))
        {
            None => false,
            Some((m, _)) if m == "GET" => false,
            Some((m, _)) if m == "HEAD" => true,
            Some((m, l)) => return Err(fail(l, format!("check `{name}`: method {m}"), "use GET or HEAD")),
        };
        Kind::Http {
            url,
            head,
            status: raw.status,
            contains: raw.contains,
            json: raw.json.map(|p| (p, raw.value.as_ref().map(text).unwrap_or_default())),
            retries: raw.retries.unwrap_or(0),
            delay: duration(&raw.delay, "delay", Duration::from_secs(1))?,
            timeout,
        }
    } else if let Some(address) = raw.tcp {
        Kind::Tcp { address, timeout }
    } else if let Some(c) = raw.command {
        let l = at(c.span());
        let run = match c.into_inner() {
            toml::Value::String(s) if !s.trim().is_empty() => Run::Shell(s),
            toml::Value::Array(a) if !a.is_empty() => Run::Argv(a.iter().map(text).collect()),
            _ => {
                return Err(fail(
                    l,
                    format!("check `{name}`: command is empty"),
                    "an argv, or a line for sh -c",
                ));
            }
        };
        Kind::Command {
            run,
            contains: raw.contains,
            timeout,
        }
    } else {
        let path = PathBuf::from(raw.disk.unwrap_or_default());
        let free = match &raw.free {
            Some(f) => parse_free(f.get_ref()).map_err(|m| {
                fail(
                    at(f.span()),
                    format!("check `{name}`: free: {m}"),
                    "for example free = \"10GiB\"",
                )
            })?,
            None => {
                return Err(fail(
                    line,
                    format!("check `{name}`: a disk check needs free"),
                    "for example free = \"1.5x database\"",
                ));
            }
        };
        Kind::Disk { path, free }
    };
    Ok(Check {
        name,
        when,
        since,
        severity,
        kind,
        source: file.to_owned(),
        line,
    })
}

/// How ferry asks a component its version (`[components]` in ferry.toml);
/// PostgreSQL, MySQL/MariaDB and SQLite need nothing: the connected server
/// says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Probe {
    /// A Redis server, asked with INFO server (`url = "redis://..."`; a
    /// password in it is used for AUTH and never shown).
    Redis(String),
    /// A command whose output holds the version (`command = [...]`).
    Command(Run),
}

/// A `[components.NAME]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProbe {
    url: Option<String>,
    command: Option<toml::Value>,
}

/// Checks one `[components.NAME]` table.
pub(crate) fn parse_probe(file: &Path, line: usize, name: &str, raw: RawProbe) -> Result<Probe, Problem> {
    let fail = |msg: String, help: &str| Problem::in_file(file, msg).at_line(line).help(help.to_owned());
    match (raw.url, raw.command) {
        // A `${VAR}` in it is expanded when the check runs.
        (Some(url), None) if url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("${") => {
            Ok(Probe::Redis(url))
        }
        (Some(url), None) => Err(fail(
            format!(
                "components.{name}: ferry asks versions at redis:// URLs only, not {}",
                crate::redact::redact_url(&url)
            ),
            "for another component, give a command that prints its version: command = [\"tool\", \"--version\"]",
        )),
        (None, Some(toml::Value::String(s))) => Ok(Probe::Command(Run::Shell(s))),
        (None, Some(toml::Value::Array(a))) if !a.is_empty() => {
            Ok(Probe::Command(Run::Argv(a.iter().map(text).collect())))
        }
        _ => Err(fail(
            format!("components.{name} needs one of url (Redis) or command"),
            "for example [components.redis] url = \"redis://127.0.0.1:6379\"",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        checks: Vec<Spanned<RawCheck>>,
    }

    fn checks(text: &str) -> Vec<Result<Check, Problem>> {
        let f: File = toml::from_str(text).unwrap();
        f.checks
            .into_iter()
            .map(|c| parse(Path::new("ferry.toml"), text, c))
            .collect()
    }

    #[test]
    fn every_kind_reads() {
        let c = checks(
            "[[checks]]\nname = \"a\"\nsql = \"SELECT 1\"\nexpect = 1\n\n[[checks]]\nname = \"b\"\nwhen = \"post\"\nsince = \"2.0.0\"\nseverity = \"warning\"\nhttp = \"http://h/health\"\nstatus = 204\njson = \"/status\"\nvalue = \"ok\"\nretries = 3\ndelay = \"500ms\"\n\n[[checks]]\nname = \"c\"\ntcp = \"127.0.0.1:6379\"\n\n[[checks]]\nname = \"d\"\ncommand = [\"true\"]\n\n[[checks]]\nname = \"e\"\ndisk = \".\"\nfree = \"1.5x database\"\n\n[[checks]]\nname = \"f\"\nsql = \"SELECT priority FROM t\"\ncompare = \"same_set\"\nmap = { 1 = 2, \"2\" = \"4\" }\n",
        );
        let c: Vec<Check> = c.into_iter().map(Result::unwrap).collect();
        assert_eq!(c[0].when, vec![Phase::Pre, Phase::Post]);
        assert!(matches!(&c[0].kind, Kind::Sql { expect: Some(_), .. }));
        assert_eq!(c[1].severity, Severity::Warning);
        assert!(c[1].applies(Phase::Post, Some(&Version::parse("2.1.0").unwrap())));
        assert!(!c[1].applies(Phase::Post, Some(&Version::parse("1.9.0").unwrap())));
        assert!(!c[1].applies(Phase::Pre, Some(&Version::parse("2.1.0").unwrap())));
        assert!(matches!(
            &c[1].kind,
            Kind::Http {
                retries: 3,
                status: Some(204),
                ..
            }
        ));
        assert!(matches!(&c[4].kind, Kind::Disk { free: Free::TimesDatabase(x), .. } if *x == 1.5));
        assert!(matches!(&c[5].kind, Kind::Compare { map, .. } if map.len() == 2));
        assert_eq!(c[5].line, 31);
    }

    #[test]
    fn mistakes_name_the_line_and_the_fix() {
        let c = checks(
            "[[checks]]\nname = \"two kinds\"\nsql = \"SELECT 1\"\ntcp = \"h:1\"\n\n[[checks]]\nname = \"bad expect\"\nsql = \"SELECT 1\"\nexpect = \">= many\"\n\n[[checks]]\nname = \"bad when\"\nwhen = [\"during\"]\ntcp = \"h:1\"\n\n[[checks]]\nname = \"bad free\"\ndisk = \"/\"\nfree = \"lots\"\n",
        );
        let e: Vec<Problem> = c.into_iter().map(Result::unwrap_err).collect();
        assert_eq!(
            e.iter().map(|p| p.line).collect::<Vec<_>>(),
            vec![Some(1), Some(9), Some(13), Some(19)]
        );
        assert!(e[0].message.contains("exactly one of"), "{}", e[0]);
    }
}
