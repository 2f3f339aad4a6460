//! PostgreSQL's catalogue: every object of the schemas on the search path,
//! each row tagged with what it is, in prepared queries. With a [`Cache`],
//! a read fetches again only the tables and views whose catalogue rows, or
//! those of what their definitions name (referenced tables, types,
//! functions, sequences), were written since the previous read.

use std::collections::{HashMap, HashSet};

use crate::engine::Engine;
use crate::engine::snapshot::{cell, query_err};
use crate::error::Result;
use crate::schema::{Column, Snapshot};

const IN_PATH: &str = "n.nspname = ANY (current_schemas(false))";

/// The parts of the catalogue that belong to a table or a view, for the
/// relations whose oids are in `$1`; each row ends with the relation's oid.
/// `dep` rows name what a relation's definition depends on, `own` rows its
/// parts, `rel` rows that it is a table or view on the search path.
///
/// Every catalogue is reached from the relations through its index on the
/// relation's oid (`LATERAL ... OFFSET 0` keeps the planner from hashing
/// whole catalogues instead): a read of one or two relations costs the
/// same at a thousand tables as at ten.
fn relations_sql() -> String {
    let of = |table: &str, column: &str, cols: &str, alias: &str, rel: &str| {
        format!("LATERAL (SELECT {cols} FROM pg_catalog.{table} WHERE {column} = {rel}.oid OFFSET 0) {alias}")
    };
    let parts = [
        // Columns, with type, nullability and default.
        "SELECT 'col', c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'no' ELSE 'yes' END, pg_get_expr(d.adbin, d.adrelid), c.oid::text
             FROM rels c, LATERAL (SELECT attrelid, attnum, attname, atttypid, atttypmod, attnotnull FROM pg_catalog.pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped OFFSET 0) a
             LEFT JOIN LATERAL (SELECT adbin, adrelid FROM pg_catalog.pg_attrdef WHERE adrelid = a.attrelid AND adnum = a.attnum OFFSET 0) d ON true
             WHERE c.relkind IN ('r', 'p')"
            .to_owned(),
        // Constraints: primary keys, unique, check, foreign keys, exclusions.
        format!(
            "SELECT 'con', c.relname::text, con.conname::text, pg_get_constraintdef(con.oid), NULL, NULL, c.oid::text
             FROM rels c, {}",
            of("pg_constraint", "conrelid", "oid, conname", "con", "c")
        ),
        // Tables, so that one without columns is there too.
        "SELECT 'tab', c.relname::text, NULL, NULL, NULL, NULL, c.oid::text FROM rels c WHERE c.relkind IN ('r', 'p')".to_owned(),
        // Indexes, with columns, uniqueness and predicate.
        format!(
            "SELECT 'idx', t.relname::text, i.relname::text, pg_get_indexdef(i.oid), NULL, NULL, t.oid::text
             FROM rels t, {} JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid",
            of("pg_index", "indrelid", "indexrelid", "x", "t")
        ),
        "SELECT 'view', c.relname::text, c.relkind::text, pg_get_viewdef(c.oid), NULL, NULL, c.oid::text
         FROM rels c WHERE c.relkind IN ('v', 'm')"
            .to_owned(),
        format!(
            "SELECT 'trg', c.relname::text, t.tgname::text, pg_get_triggerdef(t.oid), NULL, NULL, c.oid::text
             FROM rels c, {} WHERE NOT t.tgisinternal",
            of("pg_trigger", "tgrelid", "oid, tgname, tgisinternal", "t", "c")
        ),
        // What the relation and its parts depend on (columns on types,
        // defaults on sequences, foreign keys on tables, views on tables
        // and functions, triggers on functions): a rename there changes
        // the text of a definition here.
        "SELECT 'dep', dep.refobjid::text, NULL, NULL, NULL, NULL, o.rel::text
         FROM parts o, LATERAL (SELECT refobjid FROM pg_catalog.pg_depend WHERE classid = o.cls AND objid = o.obj OFFSET 0) dep"
            .to_owned(),
        // Its parts by oid: a dropped index, constraint, trigger, rule or
        // default is named by its own oid only.
        "SELECT 'own', o.obj::text, NULL, NULL, NULL, NULL, o.rel::text FROM parts o WHERE o.obj <> o.rel".to_owned(),
        // That it is a table or view of a schema on the search path.
        format!(
            "SELECT 'rel', NULL, NULL, NULL, NULL, NULL, c.oid::text FROM rels c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {IN_PATH}"
        ),
    ];
    format!(
        "WITH rels AS MATERIALIZED (
           SELECT c.oid, c.relname, c.relkind, c.relnamespace
           FROM (SELECT DISTINCT unnest($1::oid[]) AS oid) w JOIN pg_catalog.pg_class c ON c.oid = w.oid
         ),
         parts AS MATERIALIZED (
           SELECT 'pg_class'::regclass AS cls, r.oid AS obj, r.oid AS rel FROM rels r
           UNION ALL SELECT 'pg_constraint'::regclass, p.oid, r.oid FROM rels r, {}
           UNION ALL SELECT 'pg_attrdef'::regclass, p.oid, r.oid FROM rels r, {}
           UNION ALL SELECT 'pg_rewrite'::regclass, p.oid, r.oid FROM rels r, {}
           UNION ALL SELECT 'pg_trigger'::regclass, p.oid, r.oid FROM rels r, {}
           UNION ALL SELECT 'pg_class'::regclass, p.indexrelid, r.oid FROM rels r, {}
         )
         {}",
        of("pg_constraint", "conrelid", "oid", "p", "r"),
        of("pg_attrdef", "adrelid", "oid", "p", "r"),
        of("pg_rewrite", "ev_class", "oid", "p", "r"),
        of("pg_trigger", "tgrelid", "oid", "p", "r"),
        of("pg_index", "indrelid", "indexrelid", "p", "r"),
        parts.join("\nUNION ALL\n")
    )
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
            "SELECT 'seq', c.relname::text, format_type(s.seqtypid, NULL), NULL, NULL, NULL, c.oid::text
             FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {IN_PATH}"
        ),
        // Functions and procedures by signature; their definition as a digest.
        format!(
            "SELECT 'fn', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', NULL, md5(pg_get_functiondef(p.oid)), NULL, NULL, p.oid::text
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE p.prokind IN ('f', 'p') AND {IN_PATH}
               AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.objid = p.oid AND dep.deptype = 'e')"
        ),
        format!(
            "SELECT 'enum', t.typname::text, NULL, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder), NULL, NULL, t.oid::text
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE {IN_PATH} GROUP BY t.oid, t.typname"
        ),
        format!(
            "SELECT 'type', t.typname::text, t.typtype::text, CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END, NULL, NULL, t.oid::text
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             LEFT JOIN pg_class r ON r.oid = t.typrelid
             WHERE t.typtype IN ('d', 'c') AND (t.typrelid = 0 OR r.relkind = 'c') AND {IN_PATH}"
        ),
    ]
    .join("\nUNION ALL\n")
}

type Rows = Vec<Vec<Option<String>>>;

/// One table's or view's catalogue rows, what its definition names, and its
/// parts (indexes, constraints, triggers, rules, defaults) by oid.
#[derive(Debug)]
struct Relation {
    /// Its tables, columns, constraints, indexes, views and triggers.
    part: Snapshot,
    deps: Vec<String>,
    own: Vec<String>,
}

/// The catalogue rows of each table and view, by oid, as of a transaction
/// horizon: a later read fetches again only what was written since. With
/// [`track`], the changes are not searched for but recorded as they are
/// made.
#[derive(Debug, Default)]
pub struct Cache {
    relations: HashMap<String, Relation>,
    /// The oldest transaction (32-bit id) still running at the last read:
    /// every row written after that read has this id or a later one.
    horizon: Option<i64>,
    /// Event triggers record each object a command creates, alters or
    /// drops (see [`track`]).
    tracked: bool,
    /// Sequences, functions and types as last read.
    global: Option<Global>,
    /// Each relation's parts: part oid to relation oid.
    owners: HashMap<String, String>,
}

/// What belongs to no one relation, and those objects' oids.
#[derive(Debug)]
struct Global {
    part: Snapshot,
    oids: HashSet<String>,
}

impl Global {
    fn read(engine: &mut dyn Engine) -> Result<Self> {
        let rows = prepared(engine, 3, "")?;
        Ok(Global {
            oids: rows.iter().map(|r| cell(r, 6)).collect(),
            part: parse(&rows),
        })
    }
}

/// Where the event triggers of [`track`] keep what they saw: a schema off
/// the search path, so that no snapshot shows it.
const TRACK_SCHEMA: &str = "ferry_schema_track";

/// Makes every later [`read`] with `cache` learn what changed from event
/// triggers that record each command's objects as it runs, instead of
/// scanning the catalogue for rows written since the last read: each read
/// then costs what changed, not what there is (`ferry db verify` reads
/// twice per migration; at a thousand migrations the scans were most of
/// its time). Only for a database nobody keeps (the triggers and their
/// schema stay in it), and only for a superuser, who alone may create event
/// triggers; `Ok(false)` when not allowed or refused, and reads go on
/// scanning.
///
/// The triggers fire for every command that creates, alters, renames or
/// drops a table, view, index, constraint, trigger, rule, default,
/// sequence, function or type, whether a script runs it or a function it
/// calls does; `ENABLE ALWAYS`, so that a script that sets
/// `session_replication_role` does not hide its changes; `SECURITY
/// DEFINER`, so that a script that switches role can still be recorded.
pub fn track(engine: &mut dyn Engine, cache: &mut Cache) -> Result<bool> {
    let superuser = engine
        .query("SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user")
        .map_err(query_err("the role"))?
        .first()
        .is_some_and(|r| cell(r, 0) == "true");
    if !superuser {
        return Ok(false);
    }
    let s = TRACK_SCHEMA;
    // Resolved while the object still exists: a part to its relation, a
    // table's row type to its table. A dropped column is a change of its
    // table.
    let owner = "CASE classid
        WHEN 'pg_class'::regclass THEN COALESCE((SELECT indrelid FROM pg_catalog.pg_index WHERE indexrelid = objid), objid)
        WHEN 'pg_constraint'::regclass THEN (SELECT NULLIF(conrelid, 0) FROM pg_catalog.pg_constraint WHERE oid = objid)
        WHEN 'pg_trigger'::regclass THEN (SELECT tgrelid FROM pg_catalog.pg_trigger WHERE oid = objid)
        WHEN 'pg_rewrite'::regclass THEN (SELECT ev_class FROM pg_catalog.pg_rewrite WHERE oid = objid)
        WHEN 'pg_attrdef'::regclass THEN (SELECT adrelid FROM pg_catalog.pg_attrdef WHERE oid = objid)
        WHEN 'pg_type'::regclass THEN (SELECT NULLIF(typrelid, 0) FROM pg_catalog.pg_type WHERE oid = objid)
      END";
    let setup = format!(
        "CREATE SCHEMA {s};
         CREATE UNLOGGED TABLE {s}.changes (cls oid NOT NULL, obj oid NOT NULL, rel oid, dropped boolean NOT NULL);
         CREATE FUNCTION {s}.ended() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
         BEGIN
           INSERT INTO {s}.changes SELECT classid, objid, {owner}, false FROM pg_catalog.pg_event_trigger_ddl_commands() WHERE classid <> 0;
         END $f$;
         CREATE FUNCTION {s}.dropped() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
         BEGIN
           INSERT INTO {s}.changes SELECT classid, objid, CASE WHEN objsubid <> 0 THEN objid END, objsubid = 0
             FROM pg_catalog.pg_event_trigger_dropped_objects() WHERE classid <> 0;
         END $f$;
         CREATE EVENT TRIGGER ferry_schema_track_ended ON ddl_command_end EXECUTE FUNCTION {s}.ended();
         CREATE EVENT TRIGGER ferry_schema_track_dropped ON sql_drop EXECUTE FUNCTION {s}.dropped();
         ALTER EVENT TRIGGER ferry_schema_track_ended ENABLE ALWAYS;
         ALTER EVENT TRIGGER ferry_schema_track_dropped ENABLE ALWAYS;"
    );
    // A server that refuses them (a managed one, say) is read by scans.
    if let Err(e) = engine.execute(&format!("BEGIN; {setup} COMMIT")) {
        let _ = engine.execute("ROLLBACK");
        tracing::debug!(
            "no event triggers in the scratch database ({}): reading by scans",
            e.message
        );
        return Ok(false);
    }
    *cache = Cache {
        tracked: true,
        ..Cache::default()
    };
    Ok(true)
}

/// The session's prepared statements: planning these queries costs more
/// than running them, and `ferry db verify` reads twice per migration.
const STATEMENTS: [(&str, &str); 5] = [
    ("ferry_schema_list", ""),
    ("ferry_schema_changed", "(bigint)"),
    ("ferry_schema_relations", "(oid[])"),
    ("ferry_schema_global", ""),
    ("ferry_schema_recorded", ""),
];

fn prepared(engine: &mut dyn Engine, which: usize, arg: &str) -> Result<Rows> {
    let (name, params) = STATEMENTS[which];
    // The generic plan, every time: left to choose, PostgreSQL plans each
    // execution anew, which costs more than running these queries. The
    // relations' parts are reached through the catalogues' indexes: a plan
    // made while the database was nearly empty would otherwise scan them
    // whole for the rest of the session, however large they grow. The
    // settings are put back in the same round trip.
    // What the triggers recorded (4) is a small table read whole: no plan
    // to choose.
    let by_index = if which == 2 { "SET enable_seqscan = off; " } else { "" };
    let execute = if which == 4 {
        format!("EXECUTE {name}{arg}")
    } else {
        format!(
            "SET plan_cache_mode = force_generic_plan; {by_index}EXECUTE {name}{arg}; RESET plan_cache_mode; RESET enable_seqscan"
        )
    };
    // A failed statement skips the rest of the round trip, RESET included.
    let failed = |engine: &mut dyn Engine, e| {
        let _ = engine.execute("RESET plan_cache_mode; RESET enable_seqscan");
        query_err("the catalogue")(e)
    };
    match engine.query(&execute) {
        Ok(rows) => Ok(rows),
        Err(e) if e.message.contains(name) && e.message.contains("does not exist") => {
            let sql = match which {
                0 => relations_list_sql(),
                1 => changed_sql(),
                2 => relations_sql(),
                3 => global_sql(),
                _ => format!(
                    "DELETE FROM {TRACK_SCHEMA}.changes RETURNING cls::regclass::text, obj::text, rel::text, dropped::text"
                ),
            };
            if let Err(e) = engine.execute(&format!("PREPARE {name}{params} AS {sql}")) {
                return Err(failed(engine, e));
            }
            engine.query(&execute).map_err(|e| failed(engine, e))
        }
        Err(e) => Err(failed(engine, e)),
    }
}

impl Cache {
    fn forget(&mut self, oid: &str) {
        if let Some(rel) = self.relations.remove(oid) {
            for part in &rel.own {
                self.owners.remove(part);
            }
        }
    }

    /// Reads `stale` relations again: those no longer a table or view of
    /// the search path are forgotten. Returns the oids that are not.
    fn refresh(&mut self, engine: &mut dyn Engine, stale: &HashSet<String>) -> Result<HashSet<String>> {
        for oid in stale {
            self.forget(oid);
        }
        if stale.is_empty() {
            return Ok(HashSet::new());
        }
        let mut fresh: HashMap<String, (Rows, Vec<String>, Vec<String>)> =
            stale.iter().map(|oid| (oid.clone(), Default::default())).collect();
        let mut real = HashSet::new();
        // Oids are digits: nothing to quote.
        let list = stale.iter().map(String::as_str).collect::<Vec<_>>().join(",");
        for r in prepared(engine, 2, &format!("('{{{list}}}')"))? {
            let oid = cell(&r, 6);
            let Some((rows, deps, own)) = fresh.get_mut(&oid) else {
                continue;
            };
            match cell(&r, 0).as_str() {
                "dep" => deps.push(cell(&r, 1)),
                "own" => own.push(cell(&r, 1)),
                "rel" => {
                    real.insert(oid);
                }
                _ => rows.push(r),
            }
        }
        let mut not = HashSet::new();
        for (oid, (rows, deps, own)) in fresh {
            if real.contains(&oid) {
                for part in &own {
                    self.owners.insert(part.clone(), oid.clone());
                }
                let part = parse(&rows);
                self.relations.insert(oid, Relation { part, deps, own });
            } else {
                not.insert(oid);
            }
        }
        Ok(not)
    }
}

/// Reads the schema; with what `cache` holds from an earlier read of the
/// same database, only what changed since is read again.
pub fn read(engine: &mut dyn Engine, cache: &mut Cache) -> Result<Snapshot> {
    if cache.tracked && cache.horizon.is_some() {
        read_recorded(engine, cache)?;
    } else {
        read_scanned(engine, cache)?;
    }
    Ok(assemble(cache))
}

/// A read that learns what changed from the rows the event triggers of
/// [`track`] recorded since the last one.
fn read_recorded(engine: &mut dyn Engine, cache: &mut Cache) -> Result<()> {
    let recorded = prepared(engine, 4, "")?;
    let mut stale: HashSet<String> = HashSet::new();
    let mut named: HashSet<String> = HashSet::new();
    let mut global = false;
    let mut dropped_relations: HashSet<String> = HashSet::new();
    let mut everything = false;
    for r in &recorded {
        let (cls, obj, rel, dropped) = (
            cell(r, 0),
            cell(r, 1),
            r.get(2).cloned().flatten(),
            cell(r, 3) == "true",
        );
        named.insert(obj.clone());
        if dropped {
            if cache.relations.contains_key(&obj) {
                cache.forget(&obj);
                dropped_relations.insert(obj);
            } else if let Some(owner) = cache.owners.get(&obj) {
                stale.insert(owner.clone());
            } else if cache.global.as_ref().is_some_and(|g| g.oids.contains(&obj)) {
                global = true;
            }
            continue;
        }
        match cls.as_str() {
            "pg_type" | "pg_proc" => global = true,
            "pg_class" | "pg_constraint" | "pg_trigger" | "pg_rewrite" | "pg_attrdef" => {}
            // A schema, an extension, a collation...: what may have moved
            // is not worth guessing; read everything again.
            _ => everything = true,
        }
        match rel {
            Some(rel) => {
                named.insert(rel.clone());
                stale.insert(rel);
            }
            // A domain's constraint, a standalone type or a function.
            None if cls == "pg_constraint" => global = true,
            None => {}
        }
    }
    if everything {
        // Every relation, and those that came with it, listed once.
        stale.extend(cache.relations.keys().cloned());
        stale.extend(prepared(engine, 0, "")?.iter().map(|r| cell(r, 0)));
        global = true;
    }
    // A definition that names a renamed or replaced object reads otherwise.
    for (oid, r) in &cache.relations {
        if r.deps.iter().any(|d| named.contains(d)) {
            stale.insert(oid.clone());
        }
    }
    // A table dropped with its indexes: its parts name it, it is gone.
    stale.retain(|oid| !dropped_relations.contains(oid));
    // A pg_class row that is no table or view: a sequence, a composite type.
    if !cache.refresh(engine, &stale)?.is_empty() {
        global = true;
    }
    if global {
        cache.global = Some(Global::read(engine)?);
    }
    Ok(())
}

/// A read that finds what changed by scanning the catalogue for rows
/// written since the last read (or reads everything, the first time).
fn read_scanned(engine: &mut dyn Engine, cache: &mut Cache) -> Result<()> {
    // Taken first: whatever is written after this point has this id or a
    // later one, and is seen as changed by the next read.
    let horizon: i64 = engine
        .query("SELECT txid_snapshot_xmin(txid_current_snapshot()) % 4294967296")
        .map_err(query_err("the catalogue"))?
        .first()
        .map(|r| cell(r, 0))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if cache.tracked {
        // The first read of a tracked cache: what was recorded before it
        // is in what it reads.
        prepared(engine, 4, "")?;
    }
    // Transaction ids wrapped around since: read everything again.
    if cache.horizon.is_some_and(|h| horizon < h) {
        cache.relations.clear();
        cache.owners.clear();
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
    let gone: Vec<String> = cache
        .relations
        .keys()
        .filter(|oid| !live_set.contains(oid.as_str()))
        .cloned()
        .collect();
    for oid in gone {
        cache.forget(&oid);
    }
    let stale: HashSet<String> = live
        .iter()
        .filter(|oid| match cache.relations.get(*oid) {
            None => true,
            Some(r) => changed.contains(*oid) || r.deps.iter().any(|d| changed.contains(d)),
        })
        .cloned()
        .collect();
    cache.refresh(engine, &stale)?;
    cache.horizon = Some(horizon);
    cache.global = Some(Global::read(engine)?);
    Ok(())
}

/// The snapshot: what the relations' parts and the global objects hold,
/// each parsed once when read.
fn assemble(cache: &Cache) -> Snapshot {
    let mut s = cache.global.as_ref().map(|g| g.part.clone()).unwrap_or_default();
    for part in cache.relations.values().map(|r| &r.part) {
        for (name, table) in &part.tables {
            let t = s.tables.entry(name.clone()).or_default();
            t.columns
                .extend(table.columns.iter().map(|(k, v)| (k.clone(), v.clone())));
            t.constraints
                .extend(table.constraints.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        s.indexes
            .extend(part.indexes.iter().map(|(k, v)| (k.clone(), v.clone())));
        s.views.extend(part.views.iter().map(|(k, v)| (k.clone(), v.clone())));
        s.triggers
            .extend(part.triggers.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    s
}

/// Catalogue rows as (part of) a snapshot.
fn parse(rows: &Rows) -> Snapshot {
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
    s
}
