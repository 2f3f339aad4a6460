//! MySQL's and MariaDB's catalogue (`information_schema`), one query per
//! view: columns, indexes, foreign keys, checks, views, triggers, routines.

use crate::engine::Engine;
use crate::engine::snapshot::{cell, query_err};
use crate::error::Result;
use crate::schema::{Column, Snapshot};

/// Reads the schema of the connection's database.
pub fn read(engine: &mut dyn Engine) -> Result<Snapshot> {
    let mut s = Snapshot::default();
    let here = "table_schema = DATABASE()";
    for r in engine
        .query(&format!(
            "SELECT table_name FROM information_schema.tables WHERE {here} AND table_type = 'BASE TABLE'"
        ))
        .map_err(query_err("tables"))?
    {
        s.tables.entry(cell(&r, 0)).or_default();
    }
    for r in engine
        .query(&format!(
            "SELECT table_name, column_name, column_type, is_nullable, column_default, extra FROM information_schema.columns WHERE {here}"
        ))
        .map_err(query_err("columns"))?
    {
        let Some(t) = s.tables.get_mut(&cell(&r, 0)) else { continue }; // a view's column
        let mut data_type = cell(&r, 2);
        let extra = cell(&r, 5);
        if !extra.is_empty() {
            data_type.push_str(&format!(" {extra}"));
        }
        t.columns.insert(
            cell(&r, 1),
            Column {
                data_type,
                nullable: cell(&r, 3) == "YES",
                default: r.get(4).cloned().flatten(),
            },
        );
    }
    for r in engine
        .query(&format!(
            "SELECT table_name, index_name, CONCAT(IF(non_unique = 0, 'UNIQUE ', ''), index_type, ' (', GROUP_CONCAT(CONCAT(column_name, IFNULL(CONCAT('(', sub_part, ')'), '')) ORDER BY seq_in_index SEPARATOR ', '), ')') FROM information_schema.statistics WHERE {here} GROUP BY table_name, index_name, non_unique, index_type"
        ))
        .map_err(query_err("indexes"))?
    {
        s.indexes.insert(format!("{}:{}", cell(&r, 0), cell(&r, 1)), cell(&r, 2));
    }
    for r in engine
        .query(&format!(
            "SELECT table_name, constraint_name, CONCAT('FOREIGN KEY (', GROUP_CONCAT(column_name ORDER BY ordinal_position SEPARATOR ', '), ') REFERENCES ', referenced_table_name, ' (', GROUP_CONCAT(referenced_column_name ORDER BY ordinal_position SEPARATOR ', '), ')') FROM information_schema.key_column_usage WHERE {here} AND referenced_table_name IS NOT NULL GROUP BY table_name, constraint_name, referenced_table_name"
        ))
        .map_err(query_err("foreign keys"))?
    {
        if let Some(t) = s.tables.get_mut(&cell(&r, 0)) {
            t.constraints.insert(cell(&r, 1), cell(&r, 2));
        }
    }
    for r in engine
        .query(
            "SELECT tc.table_name, tc.constraint_name, cc.check_clause FROM information_schema.table_constraints tc JOIN information_schema.check_constraints cc ON cc.constraint_schema = tc.constraint_schema AND cc.constraint_name = tc.constraint_name WHERE tc.table_schema = DATABASE() AND tc.constraint_type = 'CHECK'",
        )
        .map_err(query_err("checks"))?
    {
        if let Some(t) = s.tables.get_mut(&cell(&r, 0)) {
            t.constraints.insert(cell(&r, 1), format!("CHECK ({})", cell(&r, 2)));
        }
    }
    for r in engine
        .query(&format!(
            "SELECT table_name, view_definition FROM information_schema.views WHERE {here}"
        ))
        .map_err(query_err("views"))?
    {
        s.views.insert(cell(&r, 0), cell(&r, 1));
    }
    for r in engine
        .query(
            "SELECT event_object_table, trigger_name, CONCAT(action_timing, ' ', event_manipulation, ' ', action_statement) FROM information_schema.triggers WHERE trigger_schema = DATABASE()",
        )
        .map_err(query_err("triggers"))?
    {
        s.triggers.insert(format!("{}:{}", cell(&r, 0), cell(&r, 1)), cell(&r, 2));
    }
    for r in engine
        .query(
            "SELECT CONCAT(routine_type, ' ', routine_name), MD5(routine_definition) FROM information_schema.routines WHERE routine_schema = DATABASE()",
        )
        .map_err(query_err("routines"))?
    {
        s.routines.insert(cell(&r, 0), cell(&r, 1));
    }
    Ok(s)
}
