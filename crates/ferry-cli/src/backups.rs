//! `ferry backup ...`: each loads the project, calls the library, renders.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use ferry::Installation;
use ferry::backup::{self, Entry};
use serde_json::json;

use crate::app::{Outcome, access};
use crate::cli::{Backup, Global};
use crate::output::{self, Out};
use crate::render::table;

fn size(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// A spinner on stderr while a long step runs, only on a terminal.
fn spinner(message: &str) -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar.set_message(message.to_owned());
        bar
    })
}

fn entry_json(e: &Entry) -> serde_json::Value {
    let m = &e.sidecar.manifest;
    json!({
        "id": e.id, "created_at": m.created_at, "label": m.label, "release": m.release, "schema": m.schema,
        "engine": m.engine, "size": e.sidecar.size, "sha256": e.sidecar.sha256, "verified_at": e.sidecar.verified_at,
        "archive": e.archive, "missing": m.missing, "problems": e.problems,
    })
}

pub fn run(g: &Global, cmd: &Backup, out: &mut Out) -> Result<Outcome> {
    // Backups work without release files too: load those only when there.
    let project = ferry::Project::load(&g.project)?;
    let store = backup::Store::new(&project.backup().dir);
    match cmd {
        Backup::List(flag) => {
            let entries = store.list()?;
            if flag.json {
                out.json(&json!({ "backups": entries.iter().map(entry_json).collect::<Vec<_>>() }))?;
            } else if entries.is_empty() {
                out.line(format!(
                    "no backups in {}: make one with `ferry backup create`",
                    store.dir().display()
                ))?;
            } else {
                let rows: Vec<Vec<String>> = entries
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
                out.text(&table(
                    &["ID", "CREATED", "LABEL", "RELEASE", "SIZE", "VERIFIED"],
                    &rows,
                ))?;
                for e in entries.iter().filter(|e| !e.problems.is_empty()) {
                    for p in &e.problems {
                        out.line(format!("note: {p}"))?;
                    }
                }
            }
            Ok(Outcome::Ok)
        }
        Backup::Prune { dry_run, json } => {
            let pruned = backup::prune(&store, &project.backup().retention, *dry_run, jiff::Timestamp::now())?;
            if json.json {
                out.json(&json!({ "dry_run": dry_run, "kept": pruned.kept, "deleted": pruned.deleted }))?;
            } else {
                let verb = if *dry_run { "would delete" } else { "deleted" };
                for id in &pruned.deleted {
                    out.line(format!("{verb} {id}"))?;
                }
                if pruned.leftovers > 0 {
                    out.line(format!(
                        "removed {} leftover{} of interrupted backups and restores",
                        pruned.leftovers,
                        if pruned.leftovers == 1 { "" } else { "s" }
                    ))?;
                }
                for (id, why) in &pruned.kept {
                    out.line(format!("kept {id} ({why})"))?;
                }
                if pruned.deleted.is_empty() {
                    out.line("nothing to prune")?;
                }
            }
            Ok(Outcome::Ok)
        }
        Backup::Verify { id, all, json } => {
            let entries = if *all {
                store.list()?
            } else {
                vec![store.get(id.as_deref().unwrap_or_default())?]
            };
            let mut results = Vec::new();
            for e in &entries {
                let bar = spinner(&format!("verifying {}", e.id));
                results.push(backup::verify(&store, e)?);
                drop(bar);
            }
            let ok = results.iter().all(|r| r.ok);
            if json.json {
                out.json(&json!({ "ok": ok, "backups": results }))?;
            } else {
                for r in &results {
                    if r.ok {
                        out.line(format!(
                            "ok {}: every checksum matches and the database dump reads back in full",
                            r.id
                        ))?;
                    } else {
                        out.line(format!("DAMAGED {}", r.id))?;
                        for d in &r.damage {
                            out.line(format!("  {}: {}", d.member, d.problem))?;
                        }
                    }
                }
            }
            Ok(if ok { Outcome::Ok } else { Outcome::Problem })
        }
        Backup::Create { label, json } => {
            let url = project.database_url(g.database_url.as_deref())?;
            let mut migrator = ferry::Migrator::connect(&url, project.settings(g.lock_timeout))?;
            let ctx = match Installation::load_for(&g.project, &access(g)) {
                Ok(inst) => inst.backup_context(&mut migrator),
                Err(_) => backup::Context {
                    project: project.name().map(str::to_owned),
                    release: None,
                },
            };
            let bar = spinner("backing up");
            let entry = backup::create(
                &store,
                project.backup(),
                project.root(),
                &url,
                &mut migrator,
                &ctx,
                label.as_deref(),
            )?;
            drop(bar);
            for m in &entry.sidecar.manifest.missing {
                output::warn(&format!(
                    "[backup] files: `{m}` matches nothing in {}, so the backup does not hold it",
                    project.root().display()
                ));
            }
            if json.json {
                out.json(&entry_json(&entry))?;
            } else {
                let m = &entry.sidecar.manifest;
                out.line(format!("created backup {} ({})", entry.id, size(entry.sidecar.size)))?;
                out.line(format!("  archive: {}", entry.archive.display()))?;
                let files = match m.members.len() - 1 {
                    0 => "no config files (name them under [backup] files in ferry.toml)".to_owned(),
                    1 => "1 config file".to_owned(),
                    n => format!("{n} config files"),
                };
                out.line(format!(
                    "  holds: the database ({}{}) and {files}",
                    m.engine.name(),
                    m.release.as_ref().map(|r| format!(", release {r}")).unwrap_or_default(),
                ))?;
            }
            Ok(Outcome::Ok)
        }
        Backup::Restore {
            id,
            yes,
            db_only,
            files_only,
            with_files,
            no_privileges,
            create,
            transfer,
            json,
        } => {
            if let Some(run) = ferry::upgrade::unfinished(&project.runs_dir())? {
                return Err(ferry::upgrade::unfinished_error(&run).into());
            }
            let entry = store.get(id)?;
            let url = project.database_url(g.database_url.as_deref())?;
            if *transfer {
                if *create {
                    ferry::engine::create_database(&url)?;
                }
                let access = access(g);
                let inst = Installation::load_for(&g.project, &access)?;
                let report = ferry::transfer::from_backup(
                    &inst,
                    &access,
                    &store,
                    &entry,
                    url.expose_secret(),
                    &ferry::transfer::TransferOptions::default(),
                    &mut crate::transfers::show_step,
                )?;
                return crate::transfers::render(&report, json.json, out);
            }
            // Into another database than ferry.toml's, the project's own
            // config files are left alone unless asked for.
            let elsewhere = g.database_url.is_some()
                && project
                    .database_url(None)
                    .map_or(true, |own| own.expose_secret() != url.expose_secret());
            let options = backup::RestoreOptions {
                database: !files_only,
                files: !db_only && (!elsewhere || *with_files || *files_only),
                no_privileges: *no_privileges,
            };
            if *create {
                ferry::engine::create_database(&url)?;
            }
            let mut migrator = match ferry::Migrator::connect(&url, project.settings(g.lock_timeout)) {
                Ok(m) => m,
                Err(e) if ferry::engine::is_missing_database(&e) => {
                    return Err(ferry::Error::refusal(
                        format!("{e}; nothing was restored"),
                        format!("pass --create to create it first: `ferry backup restore {id} --create`"),
                    )
                    .into());
                }
                Err(e) => return Err(e.into()),
            };
            let interactive = std::io::stdin().is_terminal();
            if !*yes && !interactive {
                bail!("restoring overwrites the database and config files: pass --yes to confirm without a terminal");
            }
            let restored = backup::restore(&store, &entry, project.root(), &url, &mut migrator, options, |plan| {
                let mut err = std::io::stderr();
                let _ = writeln!(err, "Restoring backup {} will overwrite:", plan.id);
                if let Some(db) = &plan.database {
                    let _ = writeln!(err, "  the database {db} (its whole contents)");
                }
                for (f, exists) in &plan.files {
                    let _ = writeln!(err, "  {f}{}", if *exists { "" } else { " (new)" });
                }
                if elsewhere && !options.files {
                    let _ = writeln!(
                        err,
                        "  (not the project's config files: the target is not ferry.toml's database; --with-files restores them too)"
                    );
                }
                if *yes {
                    return true;
                }
                let _ = write!(err, "Type yes to restore: ");
                let _ = err.flush();
                let mut answer = String::new();
                let _ = std::io::stdin().lock().read_line(&mut answer);
                answer.trim() == "yes"
            })?;
            match restored {
                Some(plan) => {
                    if json.json {
                        out.json(&json!({ "restored": plan }))?;
                    } else {
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
                        out.line(format!(
                            "restored backup {}: {what}{}",
                            plan.id,
                            match (&plan.release, &plan.database) {
                                (Some(r), Some(_)) => format!("; it holds release {r}"),
                                _ => String::new(),
                            }
                        ))?;
                    }
                    Ok(Outcome::Ok)
                }
                None => {
                    out.line("not restored: nothing was changed")?;
                    Ok(Outcome::Problem)
                }
            }
        }
        Backup::Drill { id, json } => {
            let entry = store.get(id)?;
            let url = project.database_url(g.database_url.as_deref())?;
            let bar = spinner(&format!("drilling {}", entry.id));
            // ferry.toml's checks, and those of the release the backup holds.
            let mut checks = project.checks().to_vec();
            if let (Ok(inst), Some(release)) = (
                Installation::load_for(&g.project, &access(g)),
                &entry.sidecar.manifest.release,
            ) && let Some(r) = ferry::version::Version::parse(release)
                .ok()
                .and_then(|v| inst.manifest.get(&v).cloned())
            {
                checks.extend(r.checks);
            }
            let results = backup::drill(&store, &entry, &url, &checks)?;
            drop(bar);
            let ok = !results.iter().any(|r| r.blocks());
            if json.json {
                out.json(&json!({ "id": entry.id, "ok": ok, "checks": results }))?;
            } else {
                if results.is_empty() {
                    out.line(format!(
                        "restored {} into a scratch database; no checks to run there (add [[checks]] to ferry.toml)",
                        entry.id
                    ))?;
                } else {
                    out.line(format!(
                        "restored {} into a scratch database; {} check{}:",
                        entry.id,
                        results.len(),
                        if results.len() == 1 { "" } else { "s" }
                    ))?;
                }
                for r in &results {
                    out.line(format!("  {} {}: {}", crate::checks::mark(r), r.name, r.detail))?;
                }
                out.line(if ok {
                    "drill passed; the scratch database is dropped"
                } else {
                    "drill FAILED; the scratch database is dropped"
                })?;
            }
            Ok(if ok { Outcome::Ok } else { Outcome::Problem })
        }
    }
}
