//! What a check's value must be: `expect = "0"`, `">= 1"`, `"between 1 and
//! 10"`; and how a value measured after a hop compares with the one before
//! it: `compare = "unchanged" | "grows" | "same_set"`. Numbers compare as
//! numbers, anything else as text.

use std::fmt;

use serde::Serialize;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `=` (or no operator).
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// An expectation on a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expect {
    /// Compared with one value.
    Compare(Op, String),
    /// Between two numbers, both included.
    Between(f64, f64),
}

impl Expect {
    /// Parses `0`, `= ok`, `!= 0`, `>= 1`, `< 5`, `between 1 and 10`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if let Some(rest) = t.strip_prefix("between ") {
            let (a, b) = rest
                .split_once(" and ")
                .ok_or_else(|| format!("`{t}`: write `between LOW and HIGH`"))?;
            let num = |s: &str| {
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("`{t}`: `{}` is not a number", s.trim()))
            };
            let (a, b) = (num(a)?, num(b)?);
            if a > b {
                return Err(format!("`{t}`: the low bound is above the high one"));
            }
            return Ok(Expect::Between(a, b));
        }
        for (prefix, op) in [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("!=", Op::Ne),
            ("==", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
        ] {
            if let Some(rest) = t.strip_prefix(prefix) {
                let value = rest.trim();
                if value.is_empty() {
                    return Err(format!("`{t}`: nothing to compare with after `{prefix}`"));
                }
                if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && value.parse::<f64>().is_err() {
                    return Err(format!("`{t}`: `{value}` is not a number"));
                }
                return Ok(Expect::Compare(op, value.to_owned()));
            }
        }
        Ok(Expect::Compare(Op::Eq, t.to_owned()))
    }

    /// Whether `value` (none: no row) meets the expectation.
    pub fn holds(&self, value: Option<&str>) -> bool {
        let Some(v) = value else { return false };
        match self {
            Expect::Between(a, b) => v.trim().parse::<f64>().is_ok_and(|x| *a <= x && x <= *b),
            Expect::Compare(op, want) => {
                let ord = match (v.trim().parse::<f64>(), want.parse::<f64>()) {
                    (Ok(x), Ok(y)) => x.partial_cmp(&y),
                    _ => Some(v.cmp(want.as_str())),
                };
                let Some(ord) = ord else { return false };
                match op {
                    Op::Eq => ord.is_eq(),
                    Op::Ne => !ord.is_eq(),
                    Op::Lt => ord.is_lt(),
                    Op::Le => ord.is_le(),
                    Op::Gt => ord.is_gt(),
                    Op::Ge => ord.is_ge(),
                }
            }
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Between(a, b) => write!(f, "between {a} and {b}"),
            Expect::Compare(op, v) => {
                let op = match op {
                    Op::Eq => "",
                    Op::Ne => "!= ",
                    Op::Lt => "< ",
                    Op::Le => "<= ",
                    Op::Gt => "> ",
                    Op::Ge => ">= ",
                };
                write!(f, "{op}{v}")
            }
        }
    }
}

/// How a value measured after a hop relates to the one measured before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Every row the same, in the same order.
    Unchanged,
    /// The first value, a number, larger.
    Grows,
    /// The same rows as a set, order aside, after the check's `map` is
    /// applied to the values before.
    SameSet,
}

impl Comparison {
    /// Parses `unchanged`, `grows`, `same_set`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "unchanged" => Ok(Comparison::Unchanged),
            "grows" => Ok(Comparison::Grows),
            "same_set" => Ok(Comparison::SameSet),
            other => Err(format!("compare = \"{other}\" is not a comparison ferry knows")),
        }
    }

    /// Compares `before` with `after` (rows, each a line of tab-separated
    /// values); `map` turns a value before into the value expected after.
    pub fn holds(self, before: &str, after: &str, map: &[(String, String)]) -> Result<(), String> {
        match self {
            Comparison::Unchanged if before == after => Ok(()),
            Comparison::Unchanged => Err(format!("was {}, is {}", shown(before), shown(after))),
            Comparison::Grows => {
                let num = |s: &str| {
                    s.lines()
                        .next()
                        .and_then(|l| l.split('\t').next()?.trim().parse::<f64>().ok())
                };
                match (num(before), num(after)) {
                    (Some(b), Some(a)) if a > b => Ok(()),
                    (Some(b), Some(a)) => Err(format!("was {b}, is {a}: it did not grow")),
                    _ => Err(format!("not numbers: was {}, is {}", shown(before), shown(after))),
                }
            }
            Comparison::SameSet => {
                let mapped = |line: &str| -> String {
                    line.split('\t')
                        .map(|v| {
                            map.iter()
                                .find(|(from, _)| from == v)
                                .map_or(v.to_owned(), |(_, to)| to.clone())
                        })
                        .collect::<Vec<_>>()
                        .join("\t")
                };
                let mut want: Vec<String> = before.lines().map(mapped).collect();
                let mut got: Vec<String> = after.lines().map(str::to_owned).collect();
                want.sort();
                want.dedup();
                got.sort();
                got.dedup();
                if want == got {
                    Ok(())
                } else {
                    let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
                    let extra: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
                    Err(format!(
                        "the set differs: expected but missing {missing:?}, present but not expected {extra:?}"
                    ))
                }
            }
        }
    }
}

fn shown(v: &str) -> String {
    let one: String = v.lines().collect::<Vec<_>>().join("; ");
    if one.chars().count() > 120 {
        format!("{}…", one.chars().take(120).collect::<String>())
    } else {
        one
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations() {
        let e = |s: &str| Expect::parse(s).unwrap();
        assert!(e("0").holds(Some("0")) && !e("0").holds(Some("1")) && !e("0").holds(None));
        assert!(e(">= 1").holds(Some("3")) && !e(">= 1").holds(Some("0.5")));
        assert!(e("between 1 and 10").holds(Some("10")) && !e("between 1 and 10").holds(Some("11")));
        assert!(e("!= ok").holds(Some("nok")) && e("ok").holds(Some("ok")));
        assert!(e("10").holds(Some("10.0")), "numbers compare as numbers");
        for bad in [">= x", "between 3 and 1", "between 1", "<"] {
            assert!(Expect::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comparisons() {
        assert!(
            Comparison::Unchanged
                .holds("tasks\t5\nusers\t2", "tasks\t5\nusers\t2", &[])
                .is_ok()
        );
        let lost = Comparison::Unchanged.holds("tasks\t5", "tasks\t4", &[]).unwrap_err();
        assert!(lost.contains("was tasks\t5, is tasks\t4"), "{lost}");
        assert!(Comparison::Grows.holds("3", "4", &[]).is_ok() && Comparison::Grows.holds("3", "3", &[]).is_err());
        let map: Vec<(String, String)> = (1..=5).map(|i| (i.to_string(), (i * 2).to_string())).collect();
        assert!(
            Comparison::SameSet
                .holds("1\n2\n3\n4\n5", "10\n8\n6\n4\n2", &map)
                .is_ok()
        );
        let wrong = Comparison::SameSet.holds("1\n2\n3", "2\n4\n7", &map).unwrap_err();
        assert!(wrong.contains("\"6\"") && wrong.contains("\"7\""), "{wrong}");
    }
}
