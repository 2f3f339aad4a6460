//! A database's schema as a comparable value, read from the engine's
//! catalogue in a few queries (one per catalogue, not one per table), and
//! the differences between two of them, named by object: what `ferry db
//! verify` compares before an up and after its down.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its type as the catalogue shows it.
    pub data_type: String,
    /// Whether it allows NULL.
    pub nullable: bool,
    /// Its default, as the catalogue shows it.
    pub default: Option<String>,
}

/// One table: columns by name (so their order does not matter) and its
/// constraints by kind and definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Columns by name.
    pub columns: BTreeMap<String, Column>,
    /// Constraints (primary key, unique, check, foreign key) by name (or,
    /// where the engine names none, by definition), with their definition.
    pub constraints: BTreeMap<String, String>,
}

/// Everything compared, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Tables.
    pub tables: BTreeMap<String, Table>,
    /// Indexes: their definition (table, columns or expression, uniqueness,
    /// predicate).
    pub indexes: BTreeMap<String, String>,
    /// Views and materialized views: their definition.
    pub views: BTreeMap<String, String>,
    /// Sequences: their type.
    pub sequences: BTreeMap<String, String>,
    /// Triggers: their definition.
    pub triggers: BTreeMap<String, String>,
    /// Functions and procedures (with their arguments): their definition.
    pub routines: BTreeMap<String, String>,
    /// Types (PostgreSQL): enums with their values, domains, composites.
    pub types: BTreeMap<String, String>,
}

/// One way two snapshots differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// What kind of object: table, column, constraint, index, view...
    pub kind: String,
    /// The object: `users`, `users.email`, `users_email_idx`.
    pub object: String,
    /// What is different, in words.
    pub change: Change,
}

/// How an object differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "is")]
pub enum Change {
    /// It is there and was not.
    LeftBehind {
        /// Its definition.
        now: String,
    },
    /// It was there and is not.
    Missing {
        /// Its definition before.
        was: String,
    },
    /// It is there, differently.
    Changed {
        /// Now.
        now: String,
        /// Before.
        was: String,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, object) = (&self.kind, &self.object);
        match &self.change {
            Change::LeftBehind { now } if now.is_empty() => write!(f, "{kind} {object} left behind"),
            Change::LeftBehind { now } => write!(f, "{kind} {object} left behind ({now})"),
            Change::Missing { was } if was.is_empty() => write!(f, "{kind} {object} is missing"),
            Change::Missing { was } => write!(f, "{kind} {object} is missing (was {was})"),
            Change::Changed { now, was } => write!(f, "{object} is {now}, was {was}"),
        }
    }
}

impl Column {
    fn describe(&self) -> String {
        let mut s = self.data_type.clone();
        if !self.nullable {
            s.push_str(" NOT NULL");
        }
        if let Some(d) = &self.default {
            s.push_str(&format!(" DEFAULT {d}"));
        }
        s
    }
}

fn diff_maps(kind: &str, now: &BTreeMap<String, String>, was: &BTreeMap<String, String>, out: &mut Vec<Difference>) {
    for (name, def) in now {
        match was.get(name) {
            None => out.push(Difference {
                kind: kind.into(),
                object: name.clone(),
                change: Change::LeftBehind { now: short(def) },
            }),
            Some(w) if w != def => out.push(Difference {
                kind: kind.into(),
                object: name.clone(),
                change: Change::Changed {
                    now: short(def),
                    was: short(w),
                },
            }),
            Some(_) => {}
        }
    }
    for (name, def) in was {
        if !now.contains_key(name) {
            out.push(Difference {
                kind: kind.into(),
                object: name.clone(),
                change: Change::Missing { was: short(def) },
            });
        }
    }
}

fn short(def: &str) -> String {
    let one: String = def.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 120 {
        format!("{}…", one.chars().take(120).collect::<String>())
    } else {
        one
    }
}

impl Snapshot {
    /// How `self` differs from `was`, every object named.
    pub fn diff(&self, was: &Snapshot) -> Vec<Difference> {
        let mut out = Vec::new();
        // The usual answer, without building the maps compared below.
        if self == was {
            return out;
        }
        for (name, t) in &self.tables {
            let Some(w) = was.tables.get(name) else {
                out.push(Difference {
                    kind: "table".into(),
                    object: name.clone(),
                    change: Change::LeftBehind { now: String::new() },
                });
                continue;
            };
            for (col, c) in &t.columns {
                let object = format!("{name}.{col}");
                match w.columns.get(col) {
                    None => out.push(Difference {
                        kind: "column".into(),
                        object,
                        change: Change::LeftBehind { now: c.describe() },
                    }),
                    Some(wc) if wc != c => out.push(Difference {
                        kind: "column".into(),
                        object,
                        change: Change::Changed {
                            now: c.describe(),
                            was: wc.describe(),
                        },
                    }),
                    Some(_) => {}
                }
            }
            for (col, c) in &w.columns {
                if !t.columns.contains_key(col) {
                    out.push(Difference {
                        kind: "column".into(),
                        object: format!("{name}.{col}"),
                        change: Change::Missing { was: c.describe() },
                    });
                }
            }
            let prefixed = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
                m.iter().map(|(k, v)| (format!("{name}.{k}"), v.clone())).collect()
            };
            diff_maps(
                "constraint",
                &prefixed(&t.constraints),
                &prefixed(&w.constraints),
                &mut out,
            );
        }
        for name in was.tables.keys().filter(|n| !self.tables.contains_key(*n)) {
            out.push(Difference {
                kind: "table".into(),
                object: name.clone(),
                change: Change::Missing { was: String::new() },
            });
        }
        // A table left behind or missing is one difference: not one more
        // for each of its indexes and triggers.
        let whole: Vec<&String> = self
            .tables
            .keys()
            .filter(|t| !was.tables.contains_key(*t))
            .chain(was.tables.keys().filter(|t| !self.tables.contains_key(*t)))
            .collect();
        let of_others = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            let kept: BTreeMap<String, String> = m
                .iter()
                .filter(|(k, _)| !whole.iter().any(|t| k.starts_with(&format!("{t}:"))))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            unprefixed(&kept)
        };
        diff_maps("index", &of_others(&self.indexes), &of_others(&was.indexes), &mut out);
        diff_maps("view", &self.views, &was.views, &mut out);
        let owned_by = |name: &str| whole.iter().any(|t| name.starts_with(&format!("{t}_")));
        let seqs = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            m.iter()
                .filter(|(k, _)| !owned_by(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        diff_maps("sequence", &seqs(&self.sequences), &seqs(&was.sequences), &mut out);
        diff_maps(
            "trigger",
            &of_others(&self.triggers),
            &of_others(&was.triggers),
            &mut out,
        );
        diff_maps("routine", &self.routines, &was.routines, &mut out);
        diff_maps("type", &self.types, &was.types, &mut out);
        out
    }

    /// Tables and columns `self` has that `later` has not: what going from
    /// `self` to `later` drops, with the data in it.
    pub fn dropped_in(&self, later: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (name, t) in &self.tables {
            match later.tables.get(name) {
                None => out.push(format!("table {name}")),
                Some(l) => {
                    for col in t.columns.keys().filter(|c| !l.columns.contains_key(*c)) {
                        out.push(format!("column {name}.{col}"));
                    }
                }
            }
        }
        out
    }
}

/// Index and trigger keys are `table:name` (names are per table on some
/// engines); differences name them by their own name.
fn unprefixed(m: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    m.iter()
        .map(|(k, v)| (k.split_once(':').map_or(k.as_str(), |(_, n)| n).to_owned(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_their_object() {
        let mut was = Snapshot::default();
        let mut users = Table::default();
        users.columns.insert(
            "uuid".into(),
            Column {
                data_type: "varchar(40)".into(),
                nullable: true,
                default: None,
            },
        );
        was.tables.insert("users".into(), users.clone());
        let mut now = was.clone();
        now.tables
            .get_mut("users")
            .unwrap()
            .columns
            .get_mut("uuid")
            .unwrap()
            .data_type = "character(40)".into();
        now.indexes
            .insert("users:users_uuid_idx".into(), "CREATE INDEX ... (uuid)".into());
        now.tables.insert("extra".into(), Table::default());
        let d: Vec<String> = now.diff(&was).iter().map(ToString::to_string).collect();
        assert_eq!(
            d,
            vec![
                "table extra left behind",
                "users.uuid is character(40), was varchar(40)",
                "index users_uuid_idx left behind (CREATE INDEX ... (uuid))",
            ]
        );
        assert!(was.diff(&was).is_empty());
        assert_eq!(now.dropped_in(&was), vec!["table extra"]);
    }
}
