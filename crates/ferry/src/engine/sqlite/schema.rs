//! SQLite's catalogue: `sqlite_master` with the `pragma_*` table functions,
//! a query for each kind of object over every table at once. CHECK
//! constraints live only in a table's SQL text, and are read from it.

use std::collections::{BTreeMap, HashMap};

use crate::engine::Engine;
use crate::engine::snapshot::{cell, query_err};
use crate::error::Result;
use crate::schema::{Column, Snapshot};

const TABLES: &str = "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

/// SQL text with layout and letter case that do not change its meaning evened out.
fn normalise(sql: &str) -> String {
    let lower = sql.to_lowercase();
    let one = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    one.replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
        .replace(", ", ",")
}

/// The CHECK constraints in a CREATE TABLE statement: `(name or
/// expression, expression)`.
fn checks(create: &str) -> Vec<(String, String)> {
    let lower = create.to_lowercase();
    let bytes = lower.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("check") {
        let start = from + at;
        from = start + 5;
        let word_start = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let rest = lower[from..].trim_start();
        if !word_start || !rest.starts_with('(') {
            continue;
        }
        let open = lower.len() - rest.len();
        let mut depth = 0;
        let mut end = None;
        for (i, c) in lower[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let expr = normalise(&create[open + 1..end]);
        // `CONSTRAINT name CHECK (...)` names it.
        let before: Vec<&str> = lower[..start].split_whitespace().rev().take(2).collect();
        let name = match before.as_slice() {
            [n, c] if *c == "constraint" => n.trim_matches(['"', '`', '[', ']']).to_owned(),
            _ => format!("check ({expr})"),
        };
        out.push((name, format!("CHECK ({expr})")));
        from = end;
    }
    out
}

/// What a read keeps for the next one of the same database: each table's
/// part of the snapshot, with the `sqlite_master` text it was read from.
///
/// Everything the `pragma_*` functions say of a table (columns, types,
/// defaults, keys, foreign keys, indexes) comes from its own CREATE TABLE
/// text and its indexes' rows in `sqlite_master`; while that text is the
/// same, so is its part, and only the tables whose text changed are read
/// again (`ferry db verify` reads twice per migration).
#[derive(Debug, Default)]
pub struct Cache {
    tables: HashMap<String, (String, Snapshot)>,
    /// Views and triggers, evened out, by their SQL text.
    texts: HashMap<String, String>,
}

/// Reads the schema of the main database; with `cache`, only the tables
/// whose text changed since its last read.
pub fn read(engine: &mut dyn Engine, cache: &mut Cache) -> Result<Snapshot> {
    let master = engine
        .query("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        .map_err(query_err("tables"))?;
    // Each table's text: its CREATE TABLE, then its indexes' rows in order.
    let mut texts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &master {
        match cell(r, 0).as_str() {
            "table" => texts.entry(cell(r, 1)).or_default().insert(0, cell(r, 3)),
            "index" => texts
                .entry(cell(r, 2))
                .or_default()
                .push(format!("{}\u{0}{}", cell(r, 1), cell(r, 3))),
            _ => {}
        }
    }
    let keyed: BTreeMap<String, String> = texts
        .into_iter()
        .map(|(table, mut parts)| {
            let create = parts.remove(0);
            parts.sort();
            (table, format!("{create}\u{1}{}", parts.join("\u{1}")))
        })
        .collect();
    cache.tables.retain(|t, _| keyed.contains_key(t));
    let stale: Vec<&String> = keyed
        .iter()
        .filter(|(t, key)| cache.tables.get(*t).is_none_or(|(k, _)| k != *key))
        .map(|(t, _)| t)
        .collect();
    if !stale.is_empty() {
        let part = read_tables(engine, &stale)?;
        for table in stale {
            let mut own = Snapshot::default();
            if let Some(t) = part.tables.get(table) {
                own.tables.insert(table.clone(), t.clone());
            }
            let prefix = format!("{table}:");
            own.indexes.extend(
                part.indexes
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            cache.tables.insert(table.clone(), (keyed[table].clone(), own));
        }
    }
    let mut s = Snapshot::default();
    for (_, part) in cache.tables.values() {
        s.tables.extend(part.tables.iter().map(|(k, v)| (k.clone(), v.clone())));
        s.indexes
            .extend(part.indexes.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let mut seen = std::collections::HashSet::new();
    for r in &master {
        let kind = cell(r, 0);
        if kind != "view" && kind != "trigger" {
            continue;
        }
        let sql = cell(r, 3);
        seen.insert(sql.clone());
        let def = cache.texts.entry(sql).or_insert_with_key(|sql| normalise(sql)).clone();
        if kind == "view" {
            s.views.insert(cell(r, 1), def);
        } else {
            s.triggers.insert(format!("{}:{}", cell(r, 2), cell(r, 1)), def);
        }
    }
    cache.texts.retain(|sql, _| seen.contains(sql));
    Ok(s)
}

/// Reads the tables named in `only`: columns, keys, checks, indexes and
/// foreign keys, a query for each kind of object over all of them at once.
fn read_tables(engine: &mut dyn Engine, only: &[&String]) -> Result<Snapshot> {
    let names = only
        .iter()
        .map(|t| crate::engine::history::literal(crate::url::EngineKind::Sqlite, t))
        .collect::<Vec<_>>()
        .join(", ");
    let tables = format!("{TABLES} AND m.name IN ({names})");
    let tables = tables.as_str();
    let mut s = Snapshot::default();
    for r in engine
        .query(&format!("SELECT m.name, m.sql FROM sqlite_master m WHERE {tables}"))
        .map_err(query_err("tables"))?
    {
        let t = s.tables.entry(cell(&r, 0)).or_default();
        for (name, def) in checks(&cell(&r, 1)) {
            t.constraints.insert(name, def);
        }
    }
    let mut pk: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for r in engine
        .query(&format!(
            "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE {tables}"
        ))
        .map_err(query_err("columns"))?
    {
        let table = cell(&r, 0);
        let position: i64 = cell(&r, 5).parse().unwrap_or(0);
        if position > 0 {
            pk.entry(table.clone()).or_default().push((position, cell(&r, 1)));
        }
        if let Some(t) = s.tables.get_mut(&table) {
            t.columns.insert(
                cell(&r, 1),
                Column {
                    data_type: cell(&r, 2).to_uppercase(),
                    nullable: cell(&r, 3) != "1",
                    default: r.get(4).cloned().flatten(),
                },
            );
        }
    }
    for (table, mut cols) in pk {
        cols.sort();
        let names: Vec<String> = cols.into_iter().map(|(_, c)| c).collect();
        if let Some(t) = s.tables.get_mut(&table) {
            t.constraints
                .insert("primary key".into(), format!("PRIMARY KEY ({})", names.join(", ")));
        }
    }
    for r in engine
        .query(&format!(
            "SELECT m.name, il.name, il.\"unique\", il.origin, (SELECT group_concat(name, ', ') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno)), (SELECT sql FROM sqlite_master WHERE type = 'index' AND name = il.name) FROM sqlite_master m JOIN pragma_index_list(m.name) il WHERE {tables}"
        ))
        .map_err(query_err("indexes"))?
    {
        let (table, index, unique, origin, cols) = (cell(&r, 0), cell(&r, 1), cell(&r, 2), cell(&r, 3), cell(&r, 4));
        match origin.as_str() {
            // A UNIQUE constraint's own index: the constraint, by its columns.
            "u" => {
                if let Some(t) = s.tables.get_mut(&table) {
                    t.constraints.insert(format!("unique ({cols})"), format!("UNIQUE ({cols})"));
                }
            }
            "pk" => {}
            _ => {
                let def = match r.get(5).cloned().flatten() {
                    Some(sql) => normalise(&sql),
                    None => format!("{}index on {table} ({cols})", if unique == "1" { "unique " } else { "" }),
                };
                s.indexes.insert(format!("{table}:{index}"), def);
            }
        }
    }
    // (seq, parent, from, to, on update, on delete) per key column.
    type FkColumn = (i64, String, String, String, String, String);
    let mut fks: BTreeMap<(String, String), Vec<FkColumn>> = BTreeMap::new();
    for r in engine
        .query(&format!(
            "SELECT m.name, f.id, f.seq, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE {tables}"
        ))
        .map_err(query_err("foreign keys"))?
    {
        fks.entry((cell(&r, 0), cell(&r, 1))).or_default().push((
            cell(&r, 2).parse().unwrap_or(0),
            cell(&r, 3),
            cell(&r, 4),
            cell(&r, 5),
            cell(&r, 6),
            cell(&r, 7),
        ));
    }
    for ((table, _), mut cols) in fks {
        cols.sort();
        let from: Vec<&str> = cols.iter().map(|c| c.2.as_str()).collect();
        let to: Vec<&str> = cols.iter().map(|c| c.3.as_str()).collect();
        let (parent, on_update, on_delete) = (&cols[0].1, &cols[0].4, &cols[0].5);
        let def = format!(
            "FOREIGN KEY ({}) REFERENCES {parent} ({}) ON UPDATE {on_update} ON DELETE {on_delete}",
            from.join(", "),
            to.join(", ")
        );
        if let Some(t) = s.tables.get_mut(&table) {
            t.constraints.insert(format!("foreign key ({})", from.join(", ")), def);
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_from_create_table() {
        let c = checks(
            "CREATE TABLE t (a INT CHECK (a > 0), b TEXT, CONSTRAINT b_len CHECK (length(b) < 10), checked INT)",
        );
        assert_eq!(
            c,
            vec![
                ("check (a > 0)".into(), "CHECK (a > 0)".into()),
                ("b_len".into(), "CHECK (length(b) < 10)".into())
            ]
        );
    }
}
