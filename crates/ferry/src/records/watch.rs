//! What the watch window read: each round's readings, the baselines
//! before the upgrade, and what they added up to.

use serde::{Deserialize, Serialize};

/// What one reading of a metric says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Within every limit.
    Ok,
    /// Across a warn limit (or no data, where that warns).
    Warn,
    /// Across a rollback limit (or no data, where that fails).
    Critical,
    /// No value, and the metric ignores that.
    NoData,
}

/// One metric's reading in a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The metric.
    pub metric: String,
    /// Its value; none when there was no data.
    pub value: Option<f64>,
    /// What it means.
    pub level: Level,
    /// Why, in words (the limit crossed, or why there was no data).
    pub detail: String,
}

/// The readings of every metric at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Its number, from 1.
    pub n: u32,
    /// How many rounds the watch has.
    pub of: u32,
    /// When, UTC.
    pub at: String,
    /// The readings, in the order the metrics are written.
    pub readings: Vec<Reading>,
}

/// A metric's value before the upgrade, for its relative limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The metric.
    pub metric: String,
    /// Its value; none when there was no data.
    pub value: Option<f64>,
    /// Why there was none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// How a watch ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing crossed a limit long enough to count.
    Passed,
    /// Warn limits were crossed `failure_limit` times in a row.
    Warned {
        /// Each, in words.
        reasons: Vec<String>,
    },
    /// A rollback limit was crossed `failure_limit` times in a row.
    Failed {
        /// Which, in words.
        reason: String,
    },
}
