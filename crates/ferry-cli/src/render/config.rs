//! `ferry config ...`: a config migration, a revert, a diff.

use ferry::config::compare::{Finding, Kind};
use ferry::config::migrate::Prepared;
use ferry::ops::config_files::{ConfigDiff, ConfigMigration, ConfigRevert};

fn summary(p: &Prepared) -> String {
    let mut out = String::new();
    for f in p.changed() {
        out.push_str(&format!("{}\n", f.shown));
        for (v, what) in &f.effects {
            out.push_str(&format!("  {v}  {what}\n"));
        }
    }
    for n in &p.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

/// `ferry config migrate`.
pub fn config_migration(m: &ConfigMigration) -> String {
    let (Some(from), Some(p)) = (&m.from, &m.prepared) else {
        return format!("{}\n", ConfigMigration::FRESH);
    };
    let to = &m.to;
    if m.dry_run {
        let mut out = if p.is_noop() {
            format!("config files: nothing to change from {from} to {to}\n")
        } else {
            p.diff()
        };
        for n in &p.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out.push_str("dry run: nothing was written\n");
        return out;
    }
    let mut out = summary(p);
    if m.record.is_none() {
        out.push_str(&format!("config files: nothing to change from {from} to {to}\n"));
    } else {
        out.push_str(&format!(
            "migrated the config files from {from} to {to}; `ferry config revert` undoes it\n"
        ));
    }
    out
}

/// `ferry config revert`.
pub fn config_revert(r: &ConfigRevert) -> String {
    let Some(r) = &r.reverted else {
        return "no config migration to revert\n".to_owned();
    };
    let mut out = String::new();
    for f in &r.files {
        out.push_str(&format!("restored {}\n", f.shown));
    }
    out.push_str(&format!(
        "reverted the config migration to {} (files are back at {})\n",
        r.to,
        r.from.as_deref().unwrap_or("their earlier state")
    ));
    out
}

/// `ferry config diff`.
pub fn config_diff(d: &ConfigDiff) -> String {
    let mut out = String::new();
    if let Some((r, f)) = &d.behind {
        out.push_str(&format!(
            "note: the last config migration says {r}, but the files look like {f}: `ferry config migrate` starts from {f}\n"
        ));
    }
    if d.findings.is_empty() {
        out.push_str("config files: nothing missing, nothing deprecated\n");
        return out;
    }
    for kind in [Kind::Missing, Kind::Deprecated, Kind::Extra] {
        let these: Vec<&Finding> = d.findings.iter().filter(|f| f.kind == kind).collect();
        if these.is_empty() {
            continue;
        }
        out.push_str(match kind {
            Kind::Missing => "missing:\n",
            Kind::Deprecated => "deprecated, still in use:\n",
            Kind::Extra => "not in the example:\n",
        });
        for f in these {
            out.push_str(&format!(
                "  {}  {}{}  {}\n",
                f.file,
                f.key,
                if f.required { " (required)" } else { "" },
                f.detail
            ));
        }
    }
    out
}
