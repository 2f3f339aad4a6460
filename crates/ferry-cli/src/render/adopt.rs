//! `ferry db adopt`, `ferry import` and `ferry adopt`: taking over from
//! another tool, and recording the installed release by hand.

use ferry::ops::release::Adopted;

use super::summarize;

pub fn adopt(r: &ferry::adopt::AdoptReport) -> String {
    let mut out = String::new();
    let verb = if r.dry_run { "would record" } else { "recorded" };
    out.push_str(&format!(
        "{}'s history in {}: {} migration{}\n",
        r.tool,
        r.table,
        r.adopted.len(),
        if r.adopted.len() == 1 { "" } else { "s" }
    ));
    for a in &r.adopted {
        let when = a
            .applied_at
            .as_deref()
            .map(|t| format!(", applied {t}"))
            .unwrap_or_default();
        match a.state {
            "failed" => out.push_str(&format!(
                "  {verb} {} as FAILED ({}){when}\n",
                a.name,
                a.error.as_deref().unwrap_or("")
            )),
            "baseline" => out.push_str(&format!("  {verb} {} as the baseline{when}\n", a.name)),
            _ => out.push_str(&format!(
                "  {verb} {} as applied ({} {}){when}\n",
                a.name, r.tool, a.tool_version
            )),
        }
    }
    for g in &r.gaps {
        out.push_str(&format!("  gap: {g}\n"));
    }
    if !r.pending.is_empty() {
        out.push_str(&format!("pending, for `ferry db migrate`: {}\n", r.pending.join(", ")));
    }
    if r.dry_run {
        out.push_str("dry run: nothing was written\n");
    } else if r.dropped {
        out.push_str(&format!("{} was dropped\n", r.table));
    } else {
        out.push_str(&format!(
            "{} is left as it was (`--drop-foreign` removes it once you no longer need {})\n",
            r.table, r.tool
        ));
    }
    out
}

pub fn import(r: &ferry::import::ImportReport) -> String {
    let mut out = String::new();
    let verb = if r.dry_run { "would write" } else { "wrote" };
    out.push_str(&format!(
        "{verb} {} migration{} from {} into {}{}\n",
        r.migrations.len(),
        if r.migrations.len() == 1 { "" } else { "s" },
        r.tool,
        r.into.display(),
        if r.renumbered {
            " (numbered again from 1 in the tool's order: its versions do not fit or do not sort as numbers; IMPORTED.toml keeps each original)"
        } else {
            ""
        }
    ));
    for m in &r.migrations {
        out.push_str(&format!("  {}  <- {}\n", m.name, m.original));
        for n in &m.notes {
            out.push_str(&format!("      note: {n}\n"));
        }
    }
    for s in &r.skipped {
        out.push_str(&format!("  skipped: {s}\n"));
    }
    if !r.todo.is_empty() {
        out.push_str("needs SQL written by hand (the files say where; they do not load until it is done):\n");
        for t in &r.todo {
            out.push_str(&format!("  {t}\n"));
        }
    }
    if !r.dry_run {
        out.push_str(&format!(
            "next: `ferry db validate`, then `ferry db adopt --from {}` on a database {} migrated\n",
            r.tool, r.tool
        ));
    }
    out
}

/// `ferry adopt VERSION`.
pub fn adopted(a: &Adopted) -> String {
    let v = &a.version;
    let mut out = format!("recorded {v} as the installed release\n");
    if !a.described {
        out.push_str(&format!(
            "note: no release file describes {v}; plans start from it by version alone\n"
        ));
    }
    if let Some(head) = a.schema {
        if !a.behind.is_empty() {
            out.push_str(&format!(
                "note: {v} needs migrations the database lacks ({}); apply them with `ferry db migrate --to {head}`\n",
                summarize(&a.behind, 5)
            ));
        }
        if a.ahead {
            out.push_str(&format!(
                "note: the database has migrations newer than {v}'s schema ({head}); check that {v} is really what runs\n"
            ));
        }
    }
    out
}
