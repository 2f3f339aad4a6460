//! Applying the config changes of the releases on a path: all files are read
//! and edited in memory, every edit is checked by an independent parser, and
//! only then is anything written, all files or none. The original bytes are
//! kept in the state folder so the migration can be reverted byte for byte.
//!
//! State folder layout (`.ferry/config/` by default, 0700):
//! `<id>/record.json` (versions, time, each file's path, mode and SHA-256
//! before and after — never its contents) and `<id>/<n>.orig` (the original
//! bytes, 0600). A record is written before the first file is replaced, so a
//! run killed half-way can still be reverted.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::secrets::Redactor;
use crate::document::{Document, Format};
use crate::durable::{self, private_dir, stage_replacement, write_new_private};
use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};
use crate::project::config::{Change, Effect};
use crate::version::Version;

/// The changes of one release.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// The release.
    pub version: &'a Version,
    /// Its config changes, in order.
    pub changes: &'a [Change],
}

/// One file and what the changes did to it.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// The file (symbolic links resolved).
    pub path: PathBuf,
    /// Its name relative to the config folder, for display.
    pub shown: String,
    /// Its format.
    pub format: Format,
    /// Its bytes before.
    pub before: String,
    /// Its bytes after.
    pub after: String,
    /// Its meaning before.
    pub model_before: Value,
    /// Its meaning after.
    pub model_after: Value,
    /// What changed, by release.
    pub effects: Vec<(Version, String)>,
}

impl FileChange {
    /// Whether the file's bytes change.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// A config migration computed in memory.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Every file a change applied to, in the order first touched.
    pub files: Vec<FileChange>,
    /// Things that did not apply, with why (a file that does not exist, a
    /// derived key whose source is missing).
    pub notes: Vec<String>,
}

impl Prepared {
    /// The files whose bytes change.
    pub fn changed(&self) -> impl Iterator<Item = &FileChange> {
        self.files.iter().filter(|f| f.changed())
    }

    /// Whether nothing would be written.
    pub fn is_noop(&self) -> bool {
        self.changed().next().is_none()
    }

    /// A redactor that hides every secret in these files.
    pub fn redactor(&self) -> Redactor {
        Redactor::for_models(self.files.iter().flat_map(|f| [&f.model_before, &f.model_after]))
    }

    /// A unified diff of every changed file, secrets shown as `****`.
    pub fn diff(&self) -> String {
        let redactor = self.redactor();
        let mut out = String::new();
        for f in self.changed() {
            let diff = similar::TextDiff::from_lines(&f.before, &f.after);
            let text = diff
                .unified_diff()
                .context_radius(3)
                .missing_newline_hint(true)
                .header(&format!("a/{}", f.shown), &format!("b/{}", f.shown))
                .to_string();
            out.push_str(&redactor.diff(&text));
        }
        out
    }
}

fn display_relative(dir: &Path, path: &Path) -> String {
    // Without `.` components: `./././config.yaml` reads as `config.yaml`.
    let rel = path.strip_prefix(dir).unwrap_or(path);
    let clean: PathBuf = rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    clean.display().to_string()
}

/// The files `pattern` names in `dir`: one path, or the matches of a glob.
pub(crate) fn files_of(dir: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    if !pattern.contains(['*', '?', '[']) {
        let p = dir.join(pattern);
        return Ok(if p.is_file() { vec![p] } else { Vec::new() });
    }
    let full = format!("{}/{}", glob::Pattern::escape(&dir.display().to_string()), pattern);
    let paths = glob::glob(&full).map_err(|e| {
        Error::Config(Problems(vec![
            Problem::general(format!("`{pattern}` is not a valid glob: {e}")).help("for example profiles/*.yaml"),
        ]))
    })?;
    let mut out: Vec<PathBuf> = paths.filter_map(|p| p.ok()).filter(|p| p.is_file()).collect();
    out.sort();
    Ok(out)
}

/// Applies the changes of `steps`, in order, to the files under `dir`, in
/// memory. Every problem in every file is reported together; nothing is
/// written.
pub fn prepare(dir: &Path, steps: &[Step<'_>]) -> Result<Prepared> {
    prepare_over(dir, steps, &[])
}

/// [`prepare`], reading the files in `overlay` (real path, text) from memory
/// instead of from disk: how a plan previews one hop after another.
pub fn prepare_over(dir: &Path, steps: &[Step<'_>], overlay: &[(PathBuf, String)]) -> Result<Prepared> {
    if steps.iter().any(|s| !s.changes.is_empty()) && !dir.is_dir() {
        return Err(Error::Config(Problems(vec![
            Problem::general(format!("the config folder {} does not exist", dir.display())).help(
                "set `[config] dir` in ferry.toml (or the variable it names) to where the application's config files are",
            ),
        ])));
    }
    // Every file the changes touch, in the order first touched, with the
    // changes that apply to it in order. Looked up by real path through a
    // map: a glob over 1,000 files and a few changes must not compare every
    // path with every other.
    struct Touched<'c> {
        path: PathBuf,
        real: PathBuf,
        format: Option<super::Format>,
        changes: Vec<(&'c Version, &'c super::Change)>,
    }
    let mut touched: Vec<Touched<'_>> = Vec::new();
    let mut index: std::collections::HashMap<PathBuf, usize> = std::collections::HashMap::new();
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for step in steps {
        for change in step.changes {
            let paths = files_of(dir, &change.file)?;
            if paths.is_empty() {
                if let crate::project::config::Action::Require { key, message } = &change.action {
                    problems.push(
                        Problem::in_file(
                            dir.join(&change.file),
                            format!(
                                "the file is missing, and release {} requires {key} in it{}",
                                step.version,
                                message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
                            ),
                        )
                        .help(format!("create it with {key}, then run ferry again")),
                    );
                } else {
                    notes.push(format!(
                        "{}: no such file, skipped ({})",
                        change.file,
                        change.describe()
                    ));
                }
                continue;
            }
            for path in paths {
                let real = fs::canonicalize(&path).unwrap_or(path.clone());
                let i = *index.entry(real.clone()).or_insert_with(|| {
                    touched.push(Touched {
                        format: change.format_for(&path),
                        path: path.clone(),
                        real,
                        changes: Vec::new(),
                    });
                    touched.len() - 1
                });
                touched[i].changes.push((step.version, change));
            }
        }
    }
    // Each file read, parsed, changed, checked and rendered on its own: on
    // every core, files being independent of each other.
    type Done = (Vec<Problem>, Vec<String>, Option<FileChange>);
    let one = |t: &Touched<'_>| -> Result<Done> {
        let mut problems = Vec::new();
        let mut notes = Vec::new();
        let Some(format) = t.format else {
            let (_, change) = t.changes[0];
            problems.push(
                Problem::in_file(&t.path, "cannot tell the file's format from its name").help(format!(
                    "add format = \"yaml\" (or env, toml, json) at {}:{}",
                    change.source.display(),
                    change.line
                )),
            );
            return Ok((problems, notes, None));
        };
        let bytes = match overlay.iter().find(|(p, _)| *p == t.real) {
            Some((_, text)) => Ok(text.clone().into_bytes()),
            None => fs::read(&t.real),
        };
        let text = match bytes.map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => {
                problems.push(
                    Problem::in_file(&t.path, "the file is not UTF-8 text")
                        .help("save it as UTF-8; it was left as it was"),
                );
                return Ok((problems, notes, None));
            }
            Err(e) => return Err(Error::io("cannot read", &t.path, e)),
        };
        let mut doc = match Document::parse(&t.path, format, &text) {
            Ok(d) => d,
            Err(p) => return Ok((vec![p], notes, None)),
        };
        let shown = display_relative(dir, &t.path);
        let mut effects = Vec::new();
        for (version, change) in &t.changes {
            match change.apply(&version.to_string(), &mut doc) {
                Ok(Effect::Changed(what)) => effects.push(((*version).clone(), what)),
                Ok(Effect::Nothing) => {}
                Ok(Effect::Skipped(why)) => notes.push(format!("{shown}: {why}")),
                Err(p) => problems.push(p),
            }
        }
        if let Err(p) = doc.verify() {
            problems.push(p);
            return Ok((problems, notes, None));
        }
        let file = FileChange {
            path: t.real.clone(),
            shown,
            format: doc.format(),
            before: doc.original().to_owned(),
            after: doc.render(),
            model_before: doc.original_model().clone(),
            model_after: doc.model().clone(),
            effects,
        };
        Ok((problems, notes, Some(file)))
    };
    let done: Vec<Result<Done>> = crate::cores::map_on_cores(touched.iter().collect(), 16, one);
    let mut files = Vec::new();
    for d in done {
        let (p, n, f) = d?;
        problems.extend(p);
        notes.extend(n);
        files.extend(f);
    }
    if !problems.is_empty() {
        return Err(Error::Config(Problems(problems)));
    }
    Ok(Prepared { files, notes })
}

/// The record of an applied config migration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Its folder's name.
    pub id: String,
    /// The version the files were at.
    pub from: Option<String>,
    /// The version they were migrated to.
    pub to: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Writing until every file is in place, then applied.
    pub state: RecordState,
    /// The upgrade run (and hop) that made it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The files.
    pub files: Vec<RecordFile>,
}

/// Where a config migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordState {
    /// The originals are saved and files are being replaced: a run that
    /// stopped here must be reverted before anything else.
    Writing,
    /// Every file is in place.
    Applied,
}

impl Record {
    /// True when every file is in place.
    pub fn is_applied(&self) -> bool {
        self.state == RecordState::Applied
    }
}

/// One file of a record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordFile {
    /// The file.
    pub path: PathBuf,
    /// Its name relative to the config folder.
    pub shown: String,
    /// Its permission bits.
    pub mode: u32,
    /// SHA-256 of its bytes before.
    pub before_sha256: String,
    /// SHA-256 of its bytes after.
    pub after_sha256: String,
    /// The file in the record's folder holding its bytes before.
    pub original: String,
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes every changed file of `prepared`, or none, after recording the
/// originals under `state`. Returns the record, or `None` when nothing
/// changes (then nothing at all is written). Takes the state folder's lock;
/// a caller that read the files or the records to prepare the migration
/// should hold [`lock`] from before that and call [`apply_locked`].
pub fn apply(prepared: &Prepared, state: &Path, from: Option<&Version>, to: &Version) -> Result<Option<Record>> {
    let lock = lock(state)?;
    apply_locked(&lock, prepared, from, to, None)
}

/// [`apply`] under a lock already held; `run` tags the record with the
/// upgrade run that makes it.
pub fn apply_locked(
    lock: &Lock,
    prepared: &Prepared,
    from: Option<&Version>,
    to: &Version,
    run: Option<&str>,
) -> Result<Option<Record>> {
    let state = lock.state.as_path();
    let changed: Vec<&FileChange> = prepared.changed().collect();
    if changed.is_empty() {
        return Ok(None);
    }
    if let Some(r) = records(state)?.last().filter(|r| !r.is_applied()) {
        return Err(interrupted(r));
    }
    // Nothing may have changed under us since the files were read: every
    // file the migration read, not only those it changes.
    for f in &prepared.files {
        let now = fs::read(&f.path).map_err(|e| Error::io("cannot read", &f.path, e))?;
        if now != f.before.as_bytes() {
            return Err(Error::refusal(
                format!("{} changed while ferry was preparing its migration", f.shown),
                "run the command again",
            ));
        }
    }
    let mut metas = Vec::new();
    for f in &changed {
        metas.push(fs::metadata(&f.path).map_err(|e| Error::io("cannot inspect", &f.path, e))?);
    }
    let at = jiff::Timestamp::now();
    let id = format!("{}-{}", at.strftime("%Y%m%dT%H%M%S%.6fZ"), to);
    let folder = state.join(&id);
    private_dir(&folder)?;
    let mut record = Record {
        id: id.clone(),
        from: from.map(ToString::to_string),
        to: to.to_string(),
        at: at.to_string(),
        state: RecordState::Writing,
        run: run.map(str::to_owned),
        files: Vec::new(),
    };
    for (i, (f, meta)) in changed.iter().zip(&metas).enumerate() {
        let original = format!("{i}.orig");
        write_new_private(&folder.join(&original), f.before.as_bytes())?;
        record.files.push(RecordFile {
            path: f.path.clone(),
            shown: f.shown.clone(),
            mode: meta.permissions().mode() & 0o777,
            before_sha256: sha(f.before.as_bytes()),
            after_sha256: sha(f.after.as_bytes()),
            original,
        });
    }
    save_record(&folder, &record)?;
    durable::sync_dir(state)?;
    // Every new file is written beside its original first; only when all are
    // ready are they renamed into place.
    let mut ready = Vec::new();
    for (f, meta) in changed.iter().zip(&metas) {
        match stage_replacement(
            &f.path,
            f.after.as_bytes(),
            meta.permissions().mode(),
            Some((meta.uid(), meta.gid())),
        ) {
            Ok(tmp) => ready.push(tmp),
            Err(e) => {
                // Nothing was replaced yet: the temporary files go with `ready`.
                let _ = fs::remove_dir_all(&folder);
                return Err(e);
            }
        }
    }
    let mut placed: Vec<usize> = Vec::new();
    for (i, tmp) in ready.into_iter().enumerate() {
        crate::crash::point("FERRY_TEST_CRASH_AFTER_RENAMES", i);
        if let Err(e) = tmp.persist(&changed[i].path) {
            // Put back the ones already replaced.
            for j in placed {
                let f = changed[j];
                let _ = durable::replace(&f.path, f.before.as_bytes(), metas[j].permissions().mode(), None);
            }
            let _ = fs::remove_dir_all(&folder);
            return Err(Error::io("cannot write", &changed[i].path, e.error));
        }
        placed.push(i);
    }
    let mut dirs: Vec<&Path> = changed.iter().map(|f| durable::parent(&f.path)).collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        durable::sync_dir(dir)?;
    }
    record.state = RecordState::Applied;
    save_record(&folder, &record)?;
    Ok(Some(record))
}

/// The config state folder's lock: while it is held, no other config
/// migration or revert runs, so what was read under it stays true.
#[derive(Debug)]
pub struct Lock {
    state: PathBuf,
    _file: fs::File,
}

impl Lock {
    /// The state folder it locks.
    pub fn state(&self) -> &Path {
        &self.state
    }
}

/// The lock of `state` when the folder exists (there may be records to
/// protect); `None` when it does not, so that a command that changes
/// nothing creates nothing. [`apply`] takes the lock itself then.
pub fn lock_if_present(state: &Path) -> Result<Option<Lock>> {
    if state.is_dir() {
        lock(state).map(Some)
    } else {
        Ok(None)
    }
}

/// Takes the lock of the config state folder `state`, waiting for another
/// ferry process that holds it. Released when dropped.
pub fn lock(state: &Path) -> Result<Lock> {
    private_dir(state)?;
    let path = state.join(".lock");
    let file = durable::lock_file(&path)?;
    file.lock().map_err(|e| Error::io("cannot lock", &path, e))?;
    Ok(Lock {
        state: state.to_owned(),
        _file: file,
    })
}

fn save_record(folder: &Path, record: &Record) -> Result<()> {
    let json = serde_json::to_vec_pretty(record).expect("a record serialises");
    durable::write_private(&folder.join("record.json"), &json, true)
}

/// Every record under `state`, oldest first.
pub fn records(state: &Path) -> Result<Vec<Record>> {
    let entries = match fs::read_dir(state) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot read", state, e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file = entry.path().join("record.json");
        let Ok(text) = fs::read(&file) else { continue };
        let record: Record = serde_json::from_slice(&text).map_err(|e| {
            Error::Config(Problems(vec![
                Problem::in_file(&file, format!("unreadable record: {e}")).help(
                    "this file is written by ferry; if it was edited, restore it from a backup or remove its folder",
                ),
            ]))
        })?;
        out.push(record);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The version the config files were last migrated to, if any migration is
/// recorded.
pub fn current(state: &Path) -> Result<Option<Version>> {
    let records = records(state)?;
    match records.last() {
        Some(r) if !r.is_applied() => Err(interrupted(r)),
        Some(r) => Ok(Version::parse(&r.to).ok()),
        None => Ok(None),
    }
}

fn interrupted(r: &Record) -> Error {
    Error::refusal(
        format!(
            "the config migration to {} started at {} did not finish (ferry was stopped while writing files)",
            r.to, r.at
        ),
        "run `ferry config revert` to put every file back as it was, then migrate again",
    )
}

/// Undoes the last recorded config migration: every file gets its original
/// bytes and mode back. A file edited since (its bytes are neither the
/// migrated nor the original ones) stops the revert unless `force`.
pub fn revert(state: &Path, force: bool) -> Result<Option<Record>> {
    if !state.exists() {
        return Ok(None);
    }
    let lock = lock(state)?;
    revert_locked(&lock, force)
}

/// [`revert`] under a lock already held.
pub fn revert_locked(lock: &Lock, force: bool) -> Result<Option<Record>> {
    let state = lock.state.as_path();
    let Some(record) = records(state)?.pop() else {
        return Ok(None);
    };
    let folder = state.join(&record.id);
    let mut restore = Vec::new();
    for f in &record.files {
        let original =
            fs::read(folder.join(&f.original)).map_err(|e| Error::io("cannot read", folder.join(&f.original), e))?;
        if sha(&original) != f.before_sha256 {
            return Err(Error::refusal(
                format!(
                    "the saved original of {} is damaged (its SHA-256 does not match)",
                    f.shown
                ),
                "restore the file from a backup (`ferry backup list`)",
            ));
        }
        let now = match fs::read(&f.path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("cannot read", &f.path, e)),
        };
        let now_sha = now.as_deref().map(sha);
        if now_sha.as_deref() == Some(f.before_sha256.as_str()) {
            continue;
        }
        if now_sha.as_deref() != Some(f.after_sha256.as_str()) && !force {
            return Err(Error::refusal(
                format!("{} was changed after the migration to {}", f.shown, record.to),
                format!(
                    "nothing was reverted; `ferry config revert --force` discards those changes (the original is kept in {})",
                    folder.display()
                ),
            ));
        }
        restore.push((f, original));
    }
    for (f, original) in &restore {
        let owner = fs::metadata(&f.path).ok().map(|m| (m.uid(), m.gid()));
        durable::replace(&f.path, original, f.mode, owner)?;
    }
    if !record.is_applied() {
        // A run killed while writing leaves its new files under temporary
        // names beside the originals.
        let mut dirs: Vec<&Path> = record.files.iter().filter_map(|f| f.path.parent()).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                let stray =
                    e.file_name().to_string_lossy().starts_with(".ferry-") && e.file_type().is_ok_and(|t| t.is_file());
                if stray {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
    fs::remove_dir_all(&folder).map_err(|e| Error::io("cannot remove", &folder, e))?;
    durable::sync_dir(state)?;
    Ok(Some(record))
}

/// The steps of a plan: each release a hop brings, with its config changes.
pub fn steps_of<'a>(manifest: &'a crate::project::Manifest, hops: &'a [crate::plan::Hop]) -> Vec<Vec<Step<'a>>> {
    hops.iter()
        .map(|hop| {
            if hop.from.is_none() {
                // A fresh install ships its config in the new shape.
                return Vec::new();
            }
            hop.releases
                .iter()
                .filter_map(|v| manifest.get(v))
                .filter(|r| !r.config.is_empty())
                .map(|r| Step {
                    version: &r.version,
                    changes: &r.config,
                })
                .collect()
        })
        .collect()
}

/// What each hop of a plan would do to the config files under `dir`, each
/// hop starting from the previous one's result. A hop whose files cannot be
/// read or edited gets its problem instead.
pub fn preview(dir: &Path, manifest: &crate::project::Manifest, hops: &[crate::plan::Hop]) -> Vec<Result<Prepared>> {
    let mut overlay: Vec<(PathBuf, String)> = Vec::new();
    let mut out = Vec::new();
    for steps in steps_of(manifest, hops) {
        let prepared = prepare_over(dir, &steps, &overlay);
        if let Ok(p) = &prepared {
            for f in &p.files {
                overlay.retain(|(path, _)| *path != f.path);
                overlay.push((f.path.clone(), f.after.clone()));
            }
        }
        out.push(prepared);
    }
    out
}

/// A redactor that knows every secret value in the config files the
/// releases of `manifest` name (those that exist and parse), for text that
/// may quote them: hook output, error messages.
pub fn redactor_for(dir: &Path, manifest: &crate::project::Manifest) -> Redactor {
    let mut models = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for r in manifest.releases() {
        for change in &r.config {
            for path in files_of(dir, &change.file).unwrap_or_default() {
                if seen.contains(&path) {
                    continue;
                }
                seen.push(path.clone());
                let (Some(format), Ok(text)) = (change.format_for(&path), fs::read_to_string(&path)) else {
                    continue;
                };
                if let Ok(doc) = Document::parse(&path, format, &text) {
                    models.push(doc.original_model().clone());
                }
            }
        }
    }
    Redactor::for_models(models.iter())
}

/// The release the config files under `dir` show they are at: the release
/// before the oldest one whose changes would still change them (every
/// release up to it is already in the files), or the newest release with
/// config changes when none would. `None` when no release declares config
/// changes, or when the oldest one's changes are not in the files yet (the
/// files are older than every release that changes them: the caller's
/// starting point stands).
pub fn files_version(dir: &Path, manifest: &crate::project::Manifest) -> Option<Version> {
    // Only changes whose result stays in the file tell: a `set` value the
    // user changed since, or a `require`, says nothing of the version.
    let telling = |c: &&Change| {
        !matches!(
            c.action,
            crate::project::config::Action::Set { .. } | crate::project::config::Action::Require { .. }
        )
    };
    let with_changes: Vec<(&crate::project::Release, Vec<Change>)> = manifest
        .releases()
        .iter()
        .map(|r| (r, r.config.iter().filter(telling).cloned().collect::<Vec<_>>()))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    let mut shown: Option<Version> = None;
    for (r, changes) in &with_changes {
        let step = Step {
            version: &r.version,
            changes,
        };
        // A change that cannot apply (a required key missing) is not in the files.
        let applied = prepare(dir, &[step]).is_ok_and(|p| p.is_noop());
        if !applied {
            return shown.or_else(|| {
                // Before the oldest: the release before it, if there is one.
                manifest
                    .releases()
                    .iter()
                    .rev()
                    .find(|x| x.version < r.version)
                    .map(|x| x.version.clone())
            });
        }
        shown = Some(r.version.clone());
    }
    shown
}
