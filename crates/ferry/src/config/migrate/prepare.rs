//! Editing the files in memory: every change of every step, each result
//! checked by an independent parser; nothing is written.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::secrets::Redactor;
use crate::document::{Document, Format};
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
    /// The config folder.
    pub dir: PathBuf,
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
        format: Option<crate::config::Format>,
        changes: Vec<(&'c Version, &'c crate::config::Change)>,
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
    Ok(Prepared {
        files,
        notes,
        dir: dir.to_owned(),
    })
}
