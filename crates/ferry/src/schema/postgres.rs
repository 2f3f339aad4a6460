//! PostgreSQL's catalogue, in one query: every object of the schemas on the
//! search path, each row tagged with what it is.

use super::{Column, Snapshot, cell, query_err};
use crate::engine::Engine;
use crate::error::Result;

const IN_PATH: &str = "n.nspname = ANY (current_schemas(false))";

fn sql() -> String {
    [
        // Columns, with type, nullability and default.
        format!(
            "SELECT 'col', c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'no' ELSE 'yes' END, pg_get_expr(d.adbin, d.adrelid)
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND {IN_PATH}"
        ),
        // Constraints: primary keys, unique, check, foreign keys, exclusions.
        format!(
            "SELECT 'con', c.relname::text, con.conname::text, pg_get_constraintdef(con.oid), NULL, NULL
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE {IN_PATH}"
        ),
        // Tables, so that one without columns is there too.
        format!(
            "SELECT 'tab', c.relname::text, NULL, NULL, NULL, NULL FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND {IN_PATH}"
        ),
        // Indexes, with columns, uniqueness and predicate.
        format!(
            "SELECT 'idx', t.relname::text, i.relname::text, pg_get_indexdef(i.oid), NULL, NULL
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = i.relnamespace
             WHERE {IN_PATH}"
        ),
        format!(
            "SELECT 'view', c.relname::text, c.relkind::text, pg_get_viewdef(c.oid), NULL, NULL
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND {IN_PATH}"
        ),
        format!(
            "SELECT 'seq', c.relname::text, format_type(s.seqtypid, NULL), NULL, NULL, NULL
             FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {IN_PATH}"
        ),
        format!(
            "SELECT 'trg', c.relname::text, t.tgname::text, pg_get_triggerdef(t.oid), NULL, NULL
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE NOT t.tgisinternal AND {IN_PATH}"
        ),
        // Functions and procedures by signature; their definition as a digest.
        format!(
            "SELECT 'fn', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', NULL, md5(pg_get_functiondef(p.oid)), NULL, NULL
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE p.prokind IN ('f', 'p') AND {IN_PATH}
               AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.objid = p.oid AND dep.deptype = 'e')"
        ),
        format!(
            "SELECT 'enum', t.typname::text, NULL, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder), NULL, NULL
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE {IN_PATH} GROUP BY t.typname"
        ),
        format!(
            "SELECT 'type', t.typname::text, t.typtype::text, CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END, NULL, NULL
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             LEFT JOIN pg_class r ON r.oid = t.typrelid
             WHERE t.typtype IN ('d', 'c') AND (t.typrelid = 0 OR r.relkind = 'c') AND {IN_PATH}"
        ),
    ]
    .join("\nUNION ALL\n")
}

/// The session's prepared snapshot statement: planning the query costs
/// more than running it, and `ferry db verify` runs it twice per migration.
const PREPARED: &str = "ferry_schema_snapshot";

/// Reads the schema in one round trip (two more the first time in a
/// session, to prepare the statement).
pub fn read(engine: &mut dyn Engine) -> Result<Snapshot> {
    let execute = format!("EXECUTE {PREPARED}");
    let rows = match engine.query(&execute) {
        Ok(rows) => rows,
        Err(e) if e.message.contains(PREPARED) && e.message.contains("does not exist") => {
            engine
                .execute(&format!("PREPARE {PREPARED} AS {}", sql()))
                .map_err(query_err("the catalogue"))?;
            engine.query(&execute).map_err(query_err("the catalogue"))?
        }
        Err(e) => return Err(query_err("the catalogue")(e)),
    };
    let mut s = Snapshot::default();
    for r in &rows {
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
