//! `ferry config diff|migrate|revert`: config-file migrations. Each command
//! loads the project, asks `ferry::config`, renders.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use ferry::Installation;
use ferry::config::compare::{self, Finding, Kind};
use ferry::config::migrate::{self, Prepared};
use ferry::plan::{self, Start};
use ferry::version::Version;
use serde_json::json;

use crate::app::{Outcome, Usage, access};
use crate::cli::{Config, Global};
use crate::output::Out;

pub fn run(g: &Global, cmd: &Config, out: &mut Out) -> Result<Outcome> {
    match cmd {
        Config::Diff {
            file,
            example,
            to,
            json,
        } => diff(g, file.as_deref(), example.as_deref(), to.as_ref(), json.json, out),
        Config::Migrate {
            to,
            from,
            dry_run,
            json,
        } => migrate(g, to.as_ref(), from.as_ref(), *dry_run, json.json, out),
        Config::Revert { force, json } => revert(g, *force, json.json, out),
    }
}

fn target(inst: &Installation, to: Option<&Version>) -> Result<Version> {
    match to {
        Some(t) => Ok(t.clone()),
        None => inst
            .manifest
            .newest_final()
            .or(inst.manifest.newest())
            .map(|r| r.version.clone())
            .ok_or_else(|| anyhow!("no releases yet: write releases/X.Y.Z.toml, or pass --to")),
    }
}

fn prepared_json(p: &Prepared) -> serde_json::Value {
    json!({
        "files": p.changed().map(|f| json!({
            "file": f.shown,
            "format": f.format,
            "changes": f.effects.iter().map(|(v, what)| json!({ "version": v, "change": what })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "notes": p.notes,
        "diff": p.diff(),
    })
}

fn print_summary(p: &Prepared, out: &mut Out) -> Result<()> {
    for f in p.changed() {
        out.line(&f.shown)?;
        for (v, what) in &f.effects {
            out.line(format!("  {v}  {what}"))?;
        }
    }
    for n in &p.notes {
        out.line(format!("note: {n}"))?;
    }
    Ok(())
}

fn migrate(
    g: &Global,
    to: Option<&Version>,
    from: Option<&Version>,
    dry_run: bool,
    json_out: bool,
    out: &mut Out,
) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let target = target(&inst, to)?;
    // Under the lock from before the records and files are read, so that a
    // concurrent migration or revert cannot change them in between.
    let lock = if dry_run {
        None
    } else {
        inst.refuse_if_unfinished()?;
        migrate::lock_if_present(&inst.config_state())?
    };
    let start = inst.config_start(from.cloned(), || {
        let (mut migrator, _) = inst.connect(&access(g))?;
        inst.observe(&mut migrator)
    })?;
    let Some(from) = start else {
        let msg = "the database is fresh: a fresh install ships its config files in the new shape; nothing to migrate";
        if json_out {
            out.json(&json!({ "from": null, "to": target, "changed": false, "note": msg }))?;
        } else {
            out.line(msg)?;
        }
        return Ok(Outcome::Ok);
    };
    if target < from {
        return Err(ferry::Error::refusal(
            format!("the config files are at {from}, newer than {target}"),
            "`ferry config revert` undoes the last config migration",
        )
        .into());
    }
    let plan = plan::plan(
        &inst.manifest,
        &inst.set,
        &Start::Installed(from.clone()),
        None,
        Some(&target),
    )?;
    let steps: Vec<_> = migrate::steps_of(&inst.manifest, &plan.hops)
        .into_iter()
        .flatten()
        .collect();
    let dir = inst.project.config_dir()?;
    let prepared = migrate::prepare(&dir, &steps)?;
    if dry_run {
        if json_out {
            let mut v = prepared_json(&prepared);
            v["from"] = json!(from);
            v["to"] = json!(target);
            v["dry_run"] = json!(true);
            out.json(&v)?;
        } else {
            if prepared.is_noop() {
                out.line(format!("config files: nothing to change from {from} to {target}"))?;
            } else {
                out.text(&prepared.diff())?;
            }
            for n in &prepared.notes {
                out.line(format!("note: {n}"))?;
            }
            out.line("dry run: nothing was written")?;
        }
        return Ok(Outcome::Ok);
    }
    let record = match &lock {
        Some(lock) => migrate::apply_locked(lock, &prepared, Some(&from), &target, None)?,
        // No records yet: apply takes the lock, and checks that the files are
        // still as they were read.
        None => migrate::apply(&prepared, &inst.config_state(), Some(&from), &target)?,
    };
    if json_out {
        let mut v = prepared_json(&prepared);
        v["from"] = json!(from);
        v["to"] = json!(target);
        v["changed"] = json!(record.is_some());
        v["record"] = json!(record.as_ref().map(|r| &r.id));
        out.json(&v)?;
    } else if record.is_none() {
        print_summary(&prepared, out)?;
        out.line(format!("config files: nothing to change from {from} to {target}"))?;
    } else {
        print_summary(&prepared, out)?;
        out.line(format!(
            "migrated the config files from {from} to {target}; `ferry config revert` undoes it"
        ))?;
    }
    Ok(Outcome::Ok)
}

fn revert(g: &Global, force: bool, json_out: bool, out: &mut Out) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    inst.refuse_if_unfinished()?;
    let reverted = migrate::revert(&inst.config_state(), force)?;
    match reverted {
        None => {
            if json_out {
                out.json(&json!({ "reverted": null }))?;
            } else {
                out.line("no config migration to revert")?;
            }
        }
        Some(r) => {
            if json_out {
                out.json(&json!({
                    "reverted": { "from": r.from, "to": r.to, "at": r.at },
                    "files": r.files.iter().map(|f| &f.shown).collect::<Vec<_>>(),
                }))?;
            } else {
                for f in &r.files {
                    out.line(format!("restored {}", f.shown))?;
                }
                out.line(format!(
                    "reverted the config migration to {} (files are back at {})",
                    r.to,
                    r.from.as_deref().unwrap_or("their earlier state")
                ))?;
            }
        }
    }
    Ok(Outcome::Ok)
}

fn in_dir(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_owned() } else { dir.join(p) }
}

fn diff(
    g: &Global,
    file: Option<&Path>,
    example: Option<&Path>,
    to: Option<&Version>,
    json_out: bool,
    out: &mut Out,
) -> Result<Outcome> {
    let inst = Installation::load_for(&g.project, &access(g))?;
    let target = target(&inst, to).ok();
    let dir = inst.project.config_dir()?;
    let releases: Vec<(&Version, &[ferry::config::Change])> = inst
        .manifest
        .releases()
        .iter()
        .filter(|r| target.as_ref().is_none_or(|t| r.version <= *t))
        // A pre-release's changes come with its final release, which a path
        // passes through: name that one (unless the target is the pre-release).
        .filter(|r| !r.version.is_prerelease() || target.as_ref() == Some(&r.version))
        .map(|r| (&r.version, r.config.as_slice()))
        .collect();
    let findings: Vec<Finding> = match example {
        Some(ex) => {
            let ex = in_dir(&dir, ex);
            let user = match file {
                Some(f) => in_dir(&dir, f),
                None => compare::user_file_for(&ex).ok_or_else(|| {
                    Usage(format!(
                        "cannot tell the user's file for {}: name it, as in `ferry config diff .env --example {}`",
                        ex.display(),
                        ex.display()
                    ))
                })?,
            };
            compare::against_example(&dir, &user, &ex, &releases)?
        }
        None => {
            if let Some(f) = file {
                return Err(Usage(format!(
                    "{}: a file is compared with an example only\n  help: pass --example FILE (such as .env.example), or leave out the file to check every file the releases name",
                    f.display()
                ))
                .into());
            }
            compare::against_releases(&dir, &releases)?
        }
    };
    let missing_required = findings.iter().any(|f| f.kind == Kind::Missing && f.required);
    // The record says one thing, the files another: say so.
    let recorded = migrate::current(&inst.config_state()).ok().flatten();
    let behind = match (recorded, inst.files_config_version()) {
        (Some(r), Some(f)) if f < r => Some((r, f)),
        _ => None,
    };
    if json_out {
        out.json(&json!({
            "findings": findings,
            "missing_required": missing_required,
            "files_at": behind.as_ref().map(|(_, f)| f),
        }))?;
        return Ok(if missing_required {
            Outcome::Problem
        } else {
            Outcome::Ok
        });
    }
    if let Some((r, f)) = &behind {
        out.line(format!(
            "note: the last config migration says {r}, but the files look like {f}: `ferry config migrate` starts from {f}"
        ))?;
    }
    if findings.is_empty() {
        out.line("config files: nothing missing, nothing deprecated")?;
    } else {
        for kind in [Kind::Missing, Kind::Deprecated, Kind::Extra] {
            let these: Vec<&Finding> = findings.iter().filter(|f| f.kind == kind).collect();
            if these.is_empty() {
                continue;
            }
            out.line(match kind {
                Kind::Missing => "missing:",
                Kind::Deprecated => "deprecated, still in use:",
                Kind::Extra => "not in the example:",
            })?;
            for f in these {
                out.line(format!(
                    "  {}  {}{}  {}",
                    f.file,
                    f.key,
                    if f.required { " (required)" } else { "" },
                    f.detail
                ))?;
            }
        }
    }
    Ok(if missing_required {
        Outcome::Problem
    } else {
        Outcome::Ok
    })
}
