//! Reading a metric's value: a PromQL instant query through Prometheus'
//! HTTP API (`GET /api/v1/query`), a number in an HTTP endpoint's JSON
//! body, or a query on the application's database. A reading that cannot
//! be taken is no data, with the reason; it never stops the watch.

use std::time::Duration;

use crate::migrator::Migrator;
use crate::project::watch::{Metric, Source};
use crate::redact::redact_url;

/// A value, or why there is none.
pub type Value = Result<f64, String>;

/// Reads `metric` once. `prometheus` is `[watch] prometheus`; `${VAR}` in
/// URLs comes from the environment, then `.env` in `root`.
pub fn read(metric: &Metric, prometheus: Option<&str>, root: &std::path::Path, migrator: &mut Migrator) -> Value {
    match &metric.source {
        Source::Promql { query } => {
            let base = prometheus.ok_or("no prometheus server is configured")?;
            promql(&crate::check::expand(root, base)?, query, metric.timeout)
        }
        Source::Http { url, pointer } => http(&crate::check::expand(root, url)?, pointer, metric.timeout),
        Source::Sql { sql } => sql_value(migrator, sql),
    }
}

fn get_json(url: &str, timeout: Duration) -> Result<serde_json::Value, String> {
    let agent = crate::check::agent(timeout);
    let shown = redact_url(url);
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| crate::redact::redact_text(&format!("{shown}: {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(10 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("{shown}: cannot read the body: {e}"))?;
    let json: Result<serde_json::Value, _> = serde_json::from_str(&body);
    if !(200..300).contains(&status) {
        // Prometheus explains a bad query in its JSON error.
        let why = json
            .ok()
            .and_then(|j| j.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_default();
        return Err(format!(
            "{shown} answered {status}{}",
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        ));
    }
    json.map_err(|e| format!("{shown}: the body is not JSON: {e}"))
}

/// A JSON number, or a string holding one (Prometheus writes its samples
/// as strings: `"0.0123"`, `"NaN"`).
fn number(v: &serde_json::Value) -> Option<f64> {
    let n = match v {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn promql(base: &str, query: &str, timeout: Duration) -> Value {
    let mut url = url::Url::parse(&format!("{base}/api/v1/query")).map_err(|e| format!("{base}: {e}"))?;
    url.query_pairs_mut().append_pair("query", query);
    let json = get_json(url.as_str(), timeout)?;
    if json.get("status").and_then(|s| s.as_str()) != Some("success") {
        return Err(format!(
            "Prometheus answered {}",
            json.get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("without status success")
        ));
    }
    let data = &json["data"];
    let sample = match data.get("resultType").and_then(|t| t.as_str()) {
        Some("scalar") => data["result"].get(1).cloned(),
        Some("vector") => {
            let series = data["result"].as_array().cloned().unwrap_or_default();
            match series.len() {
                0 => return Err("the query returned no series".to_owned()),
                1 => series[0]["value"].get(1).cloned(),
                n => {
                    return Err(format!(
                        "the query returned {n} series, not one: aggregate them (sum, max, avg)"
                    ));
                }
            }
        }
        other => {
            return Err(format!(
                "the query returned a {}, not one value: use an instant vector or a scalar",
                other.unwrap_or("result of no type")
            ));
        }
    };
    let sample = sample.ok_or("the answer holds no sample")?;
    number(&sample).ok_or_else(|| format!("the value is {sample}, not a number"))
}

fn http(url: &str, pointer: &str, timeout: Duration) -> Value {
    let json = get_json(url, timeout)?;
    let found = json
        .pointer(pointer)
        .ok_or_else(|| format!("{}: no {pointer} in the JSON body", redact_url(url)))?;
    if found.is_null() {
        return Err(format!("{pointer} is null"));
    }
    number(found).ok_or_else(|| format!("{pointer} is {found}, not a number"))
}

fn sql_value(migrator: &mut Migrator, sql: &str) -> Value {
    let rows = migrator
        .engine()
        .query(sql)
        .map_err(|e| crate::redact::redact_text(&e.message))?;
    let first = rows.first().ok_or("the query returned no row")?;
    let cell = first.first().cloned().flatten().ok_or("the query returned NULL")?;
    cell.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("the query returned {cell:?}, not a number"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_come_as_numbers_or_strings() {
        use serde_json::json;
        assert_eq!(super::number(&json!(0.5)), Some(0.5));
        assert_eq!(super::number(&json!("0.0123")), Some(0.0123));
        assert_eq!(super::number(&json!("NaN")), None);
        assert_eq!(super::number(&json!(true)), None);
    }
}
