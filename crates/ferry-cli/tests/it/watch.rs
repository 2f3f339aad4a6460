//! The watch window after an upgrade: metrics from a server that speaks
//! Prometheus' HTTP query API (`GET /api/v1/query`, answered as Prometheus
//! answers an instant query) and plain JSON, started by the test with the
//! values each scenario needs, and SQL on the application's database; a
//! watch that passes, one that rolls back after `failure_limit` bad
//! readings and not after one, missing data, a kill during the watch and
//! `--resume`, limits relative to the value before the upgrade, and
//! `ferry watch --rollback-on-fail` after a manual upgrade.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use ferry_testkit::{Kind, per_engine};

use crate::support::{stderr, stdout};
use crate::upgrade::Fixture;

type Script = Arc<Mutex<HashMap<String, VecDeque<Option<f64>>>>>;

/// A metrics server: `/api/v1/query?query=Q` answers the next value
/// scripted for Q as a one-series instant vector (none: an empty vector),
/// `/summary` answers `{"p95": value}` (none: null). The last value of a
/// script repeats.
struct Metrics {
    base: String,
    script: Script,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

impl Metrics {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let script: Script = Arc::default();
        let s = script.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (key, prom) = match path.split_once("/api/v1/query?query=") {
                    Some((_, q)) => (decode(q), true),
                    None => (path.clone(), false),
                };
                let value = {
                    let mut script = s.lock().unwrap();
                    let queue = script.entry(key).or_default();
                    if queue.len() > 1 {
                        queue.pop_front().flatten()
                    } else {
                        queue.front().copied().flatten()
                    }
                };
                let body = if prom {
                    match value {
                        Some(v) => format!(
                            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1764633600.123,"{v}"]}}]}}}}"#
                        ),
                        None => r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.to_owned(),
                    }
                } else {
                    format!(r#"{{"p95": {}}}"#, value.map_or("null".to_owned(), |v| v.to_string()))
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Metrics { base, script }
    }

    fn script(&self, key: &str, values: &[Option<f64>]) {
        self.script
            .lock()
            .unwrap()
            .insert(key.to_owned(), values.iter().copied().collect());
    }
}

const ERRORS: &str = r#"sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))"#;

/// The upgrade fixture with a [watch] of 6 rounds, 100 ms apart: an error
/// rate from Prometheus, a p95 latency from JSON, and the items table's
/// row count from SQL; `extra` goes into the error rate's table.
fn watched(kind: Kind, m: &Metrics, extra: &str) -> Fixture {
    let f = Fixture::new(kind);
    let toml = std::fs::read_to_string(f.path().join("ferry.toml")).unwrap();
    f.write(
        "ferry.toml",
        &format!(
            r#"{toml}
[watch]
duration = "500ms"
interval = "100ms"
prometheus = "{base}"

[[watch.metrics]]
name = "error rate"
promql = '{ERRORS}'
rollback_above = 0.05
warn_above = 0.01
{extra}

[[watch.metrics]]
name = "p95"
http = "{base}/summary"
json = "/p95"
rollback_if_worse_than = "20%"
no_data = "ignore"

[[watch.metrics]]
name = "items"
sql = "SELECT count(*) FROM items"
rollback_below = 3
"#,
            base = m.base
        ),
    );
    f
}

fn report(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

fn a_watch_that_passes_keeps_the_upgrade(kind: Kind) {
    let m = Metrics::start();
    m.script(ERRORS, &[Some(0.001)]);
    m.script("/summary", &[Some(0.5), Some(0.52)]);
    let f = watched(kind, &m, "");
    let out = f.run(&["upgrade", "--yes", "--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let r = report(&out);
    assert_eq!(r["state"], "done");
    assert_eq!(r["watch"]["verdict"], "passed");
    assert_eq!(r["watch"]["rounds"], 6);
    let rounds = r["watch"]["done"].as_array().unwrap();
    assert_eq!(rounds.len(), 6);
    let last = &rounds[5]["readings"];
    assert_eq!(last[0]["value"], 0.001);
    assert_eq!(last[1]["value"], 0.52);
    assert_eq!(last[2]["value"], 3.0, "the SQL metric reads the live database");
    assert!(last.as_array().unwrap().iter().all(|x| x["level"] == "ok"), "{last}");
    // Shown as it comes, and journaled: the baseline and every round.
    assert!(
        stderr(&out).contains("round 6/6  error rate 0.001 ok · p95 0.52 ok · items 3 ok"),
        "{}",
        stderr(&out)
    );
    let journal = f.journals();
    assert_eq!(journal.matches("\"event\":\"watch_round\"").count(), 6);
    assert!(journal.contains("\"event\":\"watch_baseline\""), "{journal}");
    assert_eq!(f.status_json()["installed"]["version"], "1.2.0");
}

per_engine!(a_watch_that_passes_keeps_the_upgrade);

#[test]
fn one_bad_reading_is_a_blip_and_two_in_a_row_roll_back() {
    let m = Metrics::start();
    // failure_limit 2 (the default): one reading over 0.05 passes...
    m.script(ERRORS, &[Some(0.0), Some(0.2), Some(0.0)]);
    m.script("/summary", &[Some(0.5)]);
    let f = watched(Kind::Sqlite, &m, "");
    let out = f.run(&["upgrade", "--yes", "--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(report(&out)["watch"]["verdict"], "passed");

    // ... two in a row roll the whole run back, by themselves.
    let m = Metrics::start();
    m.script(ERRORS, &[Some(0.0), Some(0.2), Some(0.3), Some(0.0)]);
    m.script("/summary", &[Some(0.5)]);
    let f = watched(Kind::Sqlite, &m, "");
    let before = f.state();
    let out = f.run(&["upgrade", "--yes", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stdout(&out), stderr(&out));
    let r = report(&out);
    assert_eq!(r["state"], "rolled_back");
    assert_eq!(r["watch"]["verdict"], "failed");
    assert_eq!(
        r["watch"]["reason"],
        "error rate: 0.3 above rollback_above 0.05, 2 readings in a row"
    );
    assert_eq!(
        r["watch"]["done"].as_array().unwrap().len(),
        3,
        "it stops at the verdict"
    );
    assert!(
        r["rollback"]
            .as_str()
            .unwrap()
            .starts_with("the watch window: error rate"),
        "{r}"
    );
    assert_eq!(f.state(), before, "schema, data and config as before the run");
    assert!(f.hooks_log().ends_with("after_rollback\n"), "{}", f.hooks_log());
    assert_eq!(f.status_json()["installed"]["version"], "1.0.0");
}

#[test]
fn missing_data_warns_fails_or_is_ignored_as_configured() {
    // warn (the default): the upgrade is kept, with the warning said...
    let m = Metrics::start();
    m.script(ERRORS, &[None]);
    m.script("/summary", &[None]);
    let f = watched(Kind::Sqlite, &m, "");
    let out = f.run(&["upgrade", "--yes", "--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let r = report(&out);
    assert_eq!(r["watch"]["verdict"], "warned");
    assert_eq!(r["watch"]["kept"], true);
    assert!(
        r["watch"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("no data: the query returned no series"),
        "{r}"
    );
    // ... and p95, which ignores missing data, says nothing.
    assert_eq!(r["watch"]["reasons"].as_array().unwrap().len(), 1);

    // ... unless --strict, which rolls back on warnings.
    let f = watched(Kind::Sqlite, &m, "");
    let out = f.run(&["upgrade", "--yes", "--strict", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(report(&out)["state"], "rolled_back");

    // fail: missing data counts as a crossed rollback limit.
    let f = watched(Kind::Sqlite, &m, "no_data = \"fail\"");
    let out = f.run(&["upgrade", "--yes", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r["state"], "rolled_back");
    assert!(r["watch"]["reason"].as_str().unwrap().contains("no data"), "{r}");
}

#[test]
fn a_watch_killed_part_way_resumes_with_the_rounds_it_had_left() {
    let m = Metrics::start();
    m.script(ERRORS, &[Some(0.0)]);
    m.script("/summary", &[Some(0.5)]);
    let f = watched(Kind::Sqlite, &m, "");
    let out = f.run_env(&["upgrade", "--yes"], &[("FERRY_TEST_CRASH_AFTER_ROUND", "2")]);
    assert_eq!(out.status.code(), None, "killed: {}", stderr(&out));
    let status = f.status_json();
    assert_eq!(status["upgrade"]["state"], "watching", "{status}");
    assert_eq!(f.journals().matches("\"event\":\"watch_round\"").count(), 2);

    let out = f.run(&["upgrade", "--resume", "--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let r = report(&out);
    assert_eq!(r["state"], "done");
    assert_eq!(r["watch"]["verdict"], "passed");
    let ns: Vec<u64> = r["watch"]["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["n"].as_u64().unwrap())
        .collect();
    assert_eq!(ns, [1, 2, 3, 4, 5, 6], "no round taken twice, none missing");
    assert!(
        stderr(&out).contains("watching again: 4 of 6 rounds left"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_limit_relative_to_before_the_upgrade_rolls_back_a_slowdown() {
    let m = Metrics::start();
    m.script(ERRORS, &[Some(0.0)]);
    // 0.5 s before the first hop; 10% slower passes, 40% slower twice fails.
    m.script("/summary", &[Some(0.5), Some(0.55), Some(0.7), Some(0.7)]);
    let f = watched(Kind::Sqlite, &m, "");
    let out = f.run(&["upgrade", "--yes", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stdout(&out), stderr(&out));
    let r = report(&out);
    assert_eq!(r["state"], "rolled_back");
    assert_eq!(
        r["watch"]["reason"],
        "p95: 0.7 is 40% higher than 0.5 before the upgrade (rollback_if_worse_than 20%), 2 readings in a row"
    );
    assert_eq!(r["watch"]["done"][0]["readings"][1]["level"], "ok");
}

#[test]
fn ferry_watch_after_a_manual_upgrade_rolls_it_back_on_failure() {
    let m = Metrics::start();
    m.script(ERRORS, &[Some(0.0)]);
    m.script("/summary", &[Some(0.5)]);
    let f = watched(Kind::Sqlite, &m, "failure_limit = 1");
    f.ok(&["upgrade", "--yes", "--no-watch"]);
    assert!(!f.journals().contains("watch_round"), "--no-watch takes no readings");
    // Healthy: exit 0, nothing rolled back.
    let out = f.run(&["watch", "--duration", "200ms"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("watch: passed (3 rounds)"), "{}", stdout(&out));
    // Then the error rate climbs.
    m.script(ERRORS, &[Some(0.4)]);
    let out = f.run(&["watch", "--duration", "200ms"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("nothing was rolled back"), "{}", stdout(&out));
    assert_eq!(f.status_json()["installed"]["version"], "1.2.0");
    let out = f.run(&["watch", "--duration", "200ms", "--rollback-on-fail", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r["watch"]["verdict"], "failed");
    assert_eq!(
        r["watch"]["rounds"].as_array().unwrap().len(),
        1,
        "failure_limit 1 acts at once"
    );
    assert_eq!(r["rollback"]["state"], "rolled_back", "{r}");
    assert_eq!(
        r["rollback"]["rollback"], "ferry watch --rollback-on-fail: error rate: 0.4 above rollback_above 0.05",
        "the journal says why"
    );
    assert_eq!(f.status_json()["installed"]["version"], "1.0.0");
}

#[test]
fn a_bad_watch_table_is_named_with_its_file_and_line() {
    let m = Metrics::start();
    let f = watched(Kind::Sqlite, &m, "failure_limit = 0");
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("ferry.toml:"), "{err}");
    assert!(err.contains("watch metric `error rate`: failure_limit is 0"), "{err}");
}

#[test]
fn the_plan_shows_the_watch_without_secrets() {
    let m = Metrics::start();
    let f = watched(Kind::Sqlite, &m, "");
    let toml = std::fs::read_to_string(f.path().join("ferry.toml")).unwrap();
    let base = m.base.replace("http://", "http://watcher:s3cr3t-pw@");
    f.write(
        "ferry.toml",
        &toml.replace(&format!("\"{}", m.base), &format!("\"{base}")),
    );
    let text = f.ok(&["plan"]);
    assert!(text.contains("then watch for 500ms, every 100ms"), "{text}");
    assert!(
        text.contains("error rate: promql `sum(rate(http_requests_total{status=~\"5..\"}[5m])) / sum(rate…` · roll back above 0.05, warn above 0.01 (2 in a row)"),
        "{text}"
    );
    assert!(text.contains("p95: http://watcher:****@"), "{text}");
    let json = f.ok(&["plan", "--json"]);
    let markdown = f.ok(&["plan", "--format", "markdown"]);
    for out in [&text, &json, &markdown] {
        assert!(!out.contains("s3cr3t-pw"), "{out}");
    }
    assert!(markdown.contains("## Watch window"), "{markdown}");
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["watch"]["metrics"][1]["rollback"]["worse_than"], 0.2);
    // The dry run shows the watch as the run would keep it.
    assert!(
        f.ok(&["upgrade", "--dry-run", "--watch", "2m"])
            .contains("then watch for 2m, every 100ms")
    );
    assert!(!f.ok(&["upgrade", "--dry-run", "--no-watch"]).contains("then watch"));
}
