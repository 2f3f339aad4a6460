//! PostgreSQL's catalogue: every object of the schemas on the search path,
//! each row tagged with what it is, in prepared queries. With a [`Cache`],
//! a read fetches again only the tables and views whose catalogue rows, or
//! those of what their definitions name (referenced tables, types,
//! functions, sequences), were written since the previous read.

use std::collections::{HashMap, HashSet};

use super::{Column, Snapshot, cell, query_err};
use crate::engine::Engine;
use crate::error::Result;

const IN_PATH: &str = "n.nspname = ANY (current_schemas(false))";

/// The parts of the catalogue that belong to a table or a view, for the
/// relations whose oids are in `$1`; each row ends with the relation's oid.
/// `dep` rows name what a relation's definition depends on.
fn relations_sql() -> String {
    let of = "= ANY ($1::oid[])";
    [
        // Columns, with type, nullability and default.
        format!(
            "SELECT 'col', c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'no' ELSE 'yes' END, pg_get_expr(d.adbin, d.adrelid), c.oid::text
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND c.oid {of}"
        ),
        // Constraints: primary keys, unique, check, foreign keys, exclusions.
        format!(
            "SELECT 'con', c.relname::text, con.conname::text, pg_get_constraintdef(con.oid), NULL, NULL, c.oid::text
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid WHERE c.oid {of}"
        ),
        // Tables, so that one without columns is there too.
        format!("SELECT 'tab', c.relname::text, NULL, NULL, NULL, NULL, c.oid::text FROM pg_class c WHERE c.relkind IN ('r', 'p') AND c.oid {of}"),
        // Indexes, with columns, uniqueness and predicate.
        format!(
            "SELECT 'idx', t.relname::text, i.relname::text, pg_get_indexdef(i.oid), NULL, NULL, t.oid::text
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid WHERE t.oid {of}"
        ),
        format!(
            "SELECT 'view', c.relname::text, c.relkind::text, pg_get_viewdef(c.oid), NULL, NULL, c.oid::text
             FROM pg_class c WHERE c.relkind IN ('v', 'm') AND c.oid {of}"
        ),
        format!(
            "SELECT 'trg', c.relname::text, t.tgname::text, pg_get_triggerdef(t.oid), NULL, NULL, c.oid::text
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.oid {of}"
        ),
        // What the relation and its parts depend on (columns on types,
        // defaults on sequences, foreign keys on tables, views on tables
        // and functions, triggers on functions): a rename there changes
        // the text of a definition here.
        format!(
            "SELECT 'dep', dep.refobjid::text, NULL, NULL, NULL, NULL, o.rel::text FROM (
               SELECT 'pg_class'::regclass AS cls, c.oid AS obj, c.oid AS rel FROM pg_class c WHERE c.oid {of}
               UNION ALL SELECT 'pg_constraint'::regclass, con.oid, con.conrelid FROM pg_constraint con WHERE con.conrelid {of}
               UNION ALL SELECT 'pg_attrdef'::regclass, d.oid, d.adrelid FROM pg_attrdef d WHERE d.adrelid {of}
               UNION ALL SELECT 'pg_rewrite'::regclass, r.oid, r.ev_class FROM pg_rewrite r WHERE r.ev_class {of}
               UNION ALL SELECT 'pg_trigger'::regclass, t.oid, t.tgrelid FROM pg_trigger t WHERE t.tgrelid {of}
               UNION ALL SELECT 'pg_class'::regclass, x.indexrelid, x.indrelid FROM pg_index x WHERE x.indrelid {of}
             ) o JOIN pg_depend dep ON dep.classid = o.cls AND dep.objid = o.obj"
        ),
    ]
    .join("\nUNION ALL\n")
}

/// The tables and views of the schemas on the search path.
fn relations_list_sql() -> String {
    format!(
        "SELECT c.oid::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {IN_PATH}"
    )
}

/// The objects with a catalogue row written by a transaction numbered `$1`
/// or later (32-bit transaction ids): relations by their own rows or their
/// parts', and types and functions by theirs.
///
/// `age(xmin)` is compared rather than `xmin` itself, which has no order
/// and costs a cast per row. Its reference is taken when this statement
/// first needs it, and `txid_current()` (which gives this statement's own
/// transaction an id, never smaller than that reference) bounds it: a row
/// is taken as changed when `age(xmin) <= id - $1`, which holds for every
/// row written since `$1`, and at worst for a few written just before.
fn changed_sql() -> String {
    let since = "age(xmin) <= (SELECT d FROM bound)";
    let parts = [
        format!("SELECT oid FROM pg_class WHERE {since}"),
        format!("SELECT attrelid FROM pg_attribute WHERE {since}"),
        format!("SELECT adrelid FROM pg_attrdef WHERE {since}"),
        format!("SELECT conrelid FROM pg_constraint WHERE {since}"),
        format!("SELECT indrelid FROM pg_index WHERE {since}"),
        "SELECT x.indrelid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE age(i.xmin) <= (SELECT d FROM bound)".to_owned(),
        format!("SELECT tgrelid FROM pg_trigger WHERE {since}"),
        format!("SELECT ev_class FROM pg_rewrite WHERE {since}"),
        format!("SELECT oid FROM pg_type WHERE {since}"),
        format!("SELECT oid FROM pg_proc WHERE {since}"),
    ]
    .map(|q| format!("SELECT o::text FROM ({q}) AS x(o)"))
    .join("\nUNION ALL\n");
    format!(
        "WITH bound AS MATERIALIZED (SELECT (txid_current() % 4294967296 - $1 + 4294967296) % 4294967296 AS d)\n{parts}"
    )
}

/// What belongs to no one table: sequences, functions, types.
fn global_sql() -> String {
    [
        format!(
            "SELECT 'seq', c.relname::text, format_type(s.seqtypid, NULL), NULL, NULL, NULL, NULL
             FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {IN_PATH}"
        ),
        // Functions and procedures by signature; their definition as a digest.
        format!(
            "SELECT 'fn', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', NULL, md5(pg_get_functiondef(p.oid)), NULL, NULL, NULL
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE p.prokind IN ('f', 'p') AND {IN_PATH}
               AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.objid = p.oid AND dep.deptype = 'e')"
        ),
        format!(
            "SELECT 'enum', t.typname::text, NULL, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder), NULL, NULL, NULL
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE {IN_PATH} GROUP BY t.typname"
        ),
        format!(
            "SELECT 'type', t.typname::text, t.typtype::text, CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END, NULL, NULL, NULL
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             LEFT JOIN pg_class r ON r.oid = t.typrelid
             WHERE t.typtype IN ('d', 'c') AND (t.typrelid = 0 OR r.relkind = 'c') AND {IN_PATH}"
        ),
    ]
    .join("\nUNION ALL\n")
}

type Rows = Vec<Vec<Option<String>>>;

/// One table's or view's catalogue rows, and what its definition names.
#[derive(Debug)]
struct Relation {
    rows: Rows,
    deps: Vec<String>,
}

/// The catalogue rows of each table and view, by oid, as of a transaction
/// horizon: a later read fetches again only what was written since.
#[derive(Debug, Default)]
pub struct Cache {
    relations: HashMap<String, Relation>,
    /// The oldest transaction (32-bit id) still running at the last read:
    /// every row written after that read has this id or a later one.
    horizon: Option<i64>,
}

/// The session's prepared statements: planning these queries costs more
/// than running them, and `ferry db verify` reads twice per migration.
const STATEMENTS: [(&str, &str); 4] = [
    ("ferry_schema_list", ""),
    ("ferry_schema_changed", "(bigint)"),
    ("ferry_schema_relations", "(oid[])"),
    ("ferry_schema_global", ""),
];

fn prepared(engine: &mut dyn Engine, which: usize, arg: &str) -> Result<Rows> {
    let (name, params) = STATEMENTS[which];
    let execute = format!("EXECUTE {name}{arg}");
    match engine.query(&execute) {
        Ok(rows) => Ok(rows),
        Err(e) if e.message.contains(name) && e.message.contains("does not exist") => {
            let sql = match which {
                0 => relations_list_sql(),
                1 => changed_sql(),
                2 => relations_sql(),
                _ => global_sql(),
            };
            engine
                .execute(&format!("PREPARE {name}{params} AS {sql}"))
                .map_err(query_err("the catalogue"))?;
            engine.query(&execute).map_err(query_err("the catalogue"))
        }
        Err(e) => Err(query_err("the catalogue")(e)),
    }
}

/// Reads the schema; with what `cache` holds from an earlier read of the
/// same database, only what changed since is read again.
pub fn read(engine: &mut dyn Engine, cache: &mut Cache) -> Result<Snapshot> {
    // Taken first: whatever is written after this point has this id or a
    // later one, and is seen as changed by the next read.
    let horizon: i64 = engine
        .query("SELECT txid_snapshot_xmin(txid_current_snapshot()) % 4294967296")
        .map_err(query_err("the catalogue"))?
        .first()
        .map(|r| cell(r, 0))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // Transaction ids wrapped around since: read everything again.
    if cache.horizon.is_some_and(|h| horizon < h) {
        cache.relations.clear();
    }
    let changed: HashSet<String> = match cache.horizon.filter(|_| !cache.relations.is_empty()) {
        Some(h) => prepared(engine, 1, &format!("({h})"))?
            .iter()
            .map(|r| cell(r, 0))
            .collect(),
        None => HashSet::new(),
    };
    let live: Vec<String> = prepared(engine, 0, "")?.iter().map(|r| cell(r, 0)).collect();
    let live_set: HashSet<&str> = live.iter().map(String::as_str).collect();
    cache.relations.retain(|oid, _| live_set.contains(oid.as_str()));
    let stale: Vec<&String> = live
        .iter()
        .filter(|oid| match cache.relations.get(*oid) {
            None => true,
            Some(r) => changed.contains(*oid) || r.deps.iter().any(|d| changed.contains(d)),
        })
        .collect();
    if !stale.is_empty() {
        for oid in &stale {
            cache.relations.insert(
                (*oid).clone(),
                Relation {
                    rows: Vec::new(),
                    deps: Vec::new(),
                },
            );
        }
        // Oids are digits: nothing to quote.
        let list = stale.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
        for r in prepared(engine, 2, &format!("('{{{list}}}')"))? {
            if let Some(rel) = cache.relations.get_mut(&cell(&r, 6)) {
                if cell(&r, 0) == "dep" {
                    rel.deps.push(cell(&r, 1));
                } else {
                    rel.rows.push(r);
                }
            }
        }
    }
    cache.horizon = Some(horizon);
    let global = prepared(engine, 3, "")?;
    let rows = cache
        .relations
        .values()
        .flat_map(|r| r.rows.iter())
        .chain(global.iter());
    let mut s = Snapshot::default();
    for r in rows {
        let (kind, a, b, c) = (cell(r, 0), cell(r, 1), cell(r, 2), cell(r, 3));
        match kind.as_str() {
            "tab" => {
                s.tables.entry(a).or_default();
            }
            "col" => {
                let default = r.get(5).cloned().flatten();
                s.tables.entry(a).or_default().columns.insert(
                    b,
                    Column {
                        data_type: c,
                        nullable: cell(r, 4) == "yes",
                        default,
                    },
                );
            }
            "con" => {
                s.tables.entry(a).or_default().constraints.insert(b, c);
            }
            "idx" => {
                s.indexes.insert(format!("{a}:{b}"), c);
            }
            "view" => {
                let what = if b == "m" { "materialized " } else { "" };
                s.views.insert(
                    a,
                    format!("{what}{}", c.split_whitespace().collect::<Vec<_>>().join(" ")),
                );
            }
            "seq" => {
                s.sequences.insert(a, b);
            }
            "trg" => {
                s.triggers.insert(format!("{a}:{b}"), c);
            }
            "fn" => {
                s.routines.insert(a, c);
            }
            "enum" => {
                s.types.insert(a, format!("enum ({c})"));
            }
            "type" => {
                let def = match b.as_str() {
                    "d" => format!("domain over {c}"),
                    _ => "composite".to_owned(),
                };
                s.types.insert(a, def);
            }
            _ => {}
        }
    }
    Ok(s)
}
