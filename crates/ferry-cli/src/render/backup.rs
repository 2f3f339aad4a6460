//! `ferry backup ...`: backups listed, made, verified, pruned, restored,
//! drilled.

use ferry::ops::backups::{Created, Drilled, Listing, Pruning, Restored, Verified};

use super::{check_mark, size, table};

/// `ferry backup list`.
pub fn backup_list(l: &Listing, dir: &std::path::Path) -> String {
    if l.backups.is_empty() {
        return format!("no backups in {}: make one with `ferry backup create`\n", dir.display());
    }
    let rows: Vec<Vec<String>> = l
        .backups
        .iter()
        .map(|e| {
            let m = &e.sidecar.manifest;
            vec![
                e.id.clone(),
                m.created_at.clone(),
                m.label.clone().unwrap_or_default(),
                m.release.clone().unwrap_or_default(),
                size(e.sidecar.size),
                e.sidecar.verified_at.clone().unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    let mut out = table(&["ID", "CREATED", "LABEL", "RELEASE", "SIZE", "VERIFIED"], &rows);
    for e in l.backups.iter().filter(|e| !e.problems.is_empty()) {
        for p in &e.problems {
            out.push_str(&format!("note: {p}\n"));
        }
    }
    out
}

/// `ferry backup prune`.
pub fn backup_prune(p: &Pruning) -> String {
    let mut out = String::new();
    let verb = if p.dry_run { "would delete" } else { "deleted" };
    for id in &p.pruned.deleted {
        out.push_str(&format!("{verb} {id}\n"));
    }
    if p.pruned.leftovers > 0 {
        out.push_str(&format!(
            "removed {} leftover{} of interrupted backups and restores\n",
            p.pruned.leftovers,
            if p.pruned.leftovers == 1 { "" } else { "s" }
        ));
    }
    for (id, why) in &p.pruned.kept {
        out.push_str(&format!("kept {id} ({why})\n"));
    }
    if p.pruned.deleted.is_empty() {
        out.push_str("nothing to prune\n");
    }
    out
}

/// `ferry backup verify`.
pub fn backup_verify(v: &Verified) -> String {
    let mut out = String::new();
    for r in &v.backups {
        if r.ok {
            out.push_str(&format!(
                "ok {}: every checksum matches and the database dump reads back in full\n",
                r.id
            ));
        } else {
            out.push_str(&format!("DAMAGED {}\n", r.id));
            for d in &r.damage {
                out.push_str(&format!("  {}: {}\n", d.member, d.problem));
            }
        }
    }
    out
}

/// `ferry backup create`.
pub fn backup_created(c: &Created) -> String {
    let entry = &c.entry;
    let m = &entry.sidecar.manifest;
    let files = match m.members.len() - 1 {
        0 => "no config files (name them under [backup] files in ferry.toml)".to_owned(),
        1 => "1 config file".to_owned(),
        n => format!("{n} config files"),
    };
    format!(
        "created backup {} ({})\n  archive: {}\n  holds: the database ({}{}) and {files}\n",
        entry.id,
        size(entry.sidecar.size),
        entry.archive.display(),
        m.engine.name(),
        m.release.as_ref().map(|r| format!(", release {r}")).unwrap_or_default(),
    )
}

/// `ferry backup restore`.
pub fn restored(r: &Restored) -> String {
    match r {
        Restored::Restored { plan: None, .. } => "not restored: nothing was changed\n".to_owned(),
        Restored::Restored { plan: Some(plan), .. } => {
            let files = match plan.files.len() {
                0 => String::new(),
                1 => "1 config file".to_owned(),
                n => format!("{n} config files"),
            };
            let what = match (&plan.database, files.is_empty()) {
                (Some(_), true) => "the database".to_owned(),
                (Some(_), false) => format!("the database and {files}"),
                (None, false) => files,
                (None, true) => "nothing (the backup holds no config files)".to_owned(),
            };
            format!(
                "restored backup {}: {what}{}\n",
                plan.id,
                match (&plan.release, &plan.database) {
                    (Some(r), Some(_)) => format!("; it holds release {r}"),
                    _ => String::new(),
                }
            )
        }
        #[allow(unreachable_patterns)]
        Restored::Transferred(report) => super::transfer(report),
    }
}

/// `ferry backup drill`.
pub fn drilled(d: &Drilled) -> String {
    let mut out = if d.checks.is_empty() {
        format!(
            "restored {} into a scratch database; no checks to run there (add [[checks]] to ferry.toml)\n",
            d.id
        )
    } else {
        format!(
            "restored {} into a scratch database; {} check{}:\n",
            d.id,
            d.checks.len(),
            if d.checks.len() == 1 { "" } else { "s" }
        )
    };
    for r in &d.checks {
        out.push_str(&format!("  {} {}: {}\n", check_mark(r), r.name, r.detail));
    }
    out.push_str(if d.ok() {
        "drill passed; the scratch database is dropped\n"
    } else {
        "drill FAILED; the scratch database is dropped\n"
    });
    out
}
