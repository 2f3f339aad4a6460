//! One config file as ferry edits it: a format-specific editor that keeps
//! every byte it is not asked to change, and beside it the file's meaning
//! (a JSON-like tree) updated by the same operations. Before anything is
//! written, the edited text is read again by an independent parser and must
//! mean exactly that tree; if it does not, the edit is refused.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::problem::Problem;

/// The formats ferry edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `.env`: `KEY=value` lines.
    Env,
    /// YAML.
    Yaml,
    /// TOML.
    Toml,
    /// JSON, with comments allowed (JSONC).
    Json,
}

impl Format {
    /// The format a file's name implies: `.env`, `.env.example`,
    /// `production.env`, `*.yaml`/`*.yml`, `*.toml`, `*.json`/`*.jsonc`.
    pub fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name == ".env" || name.starts_with(".env.") || name.ends_with(".env") {
            return Some(Format::Env);
        }
        // `config.example.yaml`, `settings.json.example`: look at each dot part
        // from the end, skipping the words people add to example files.
        let parts: Vec<&str> = name.split('.').skip(1).collect();
        parts
            .iter()
            .rev()
            .filter(|p| !matches!(**p, "example" | "sample" | "dist" | "template" | "orig"))
            .find_map(|p| Format::parse(p))
    }

    /// Parses a format's name as written in a release file.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "env" | "dotenv" => Some(Format::Env),
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            "json" | "jsonc" => Some(Format::Json),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Env => "env",
            Format::Yaml => "yaml",
            Format::Toml => "toml",
            Format::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key in a config file: `KEY` in a `.env` file, a dotted path such as
/// `storage.max_gb` in YAML, TOML and JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct KeyPath(Vec<String>);

impl KeyPath {
    /// Parses `text` for `format`: dots separate levels, except in `.env`
    /// files, whose keys have no levels.
    pub fn parse(text: &str, format: Format) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the key is empty".into());
        }
        if format == Format::Env {
            if !text.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
                return Err(format!(
                    "`{text}` is not a .env key: use letters, digits and _ (for example CACHE_TTL)"
                ));
            }
            return Ok(KeyPath(vec![text.to_owned()]));
        }
        let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
        if parts.iter().any(|p| p.trim().is_empty()) {
            return Err(format!(
                "`{text}` has an empty level: dots separate levels, as in storage.max_gb"
            ));
        }
        Ok(KeyPath(parts))
    }

    /// The levels, outermost first.
    pub fn parts(&self) -> &[String] {
        &self.0
    }

    /// The last level: the key's own name.
    pub fn leaf(&self) -> &str {
        self.0.last().map_or("", String::as_str)
    }

    /// The levels above the key.
    pub fn parent(&self) -> &[String] {
        &self.0[..self.0.len() - 1]
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

impl From<KeyPath> for String {
    fn from(k: KeyPath) -> String {
        k.to_string()
    }
}

/// A value as text, the way a `.env` file or a template holds it.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

// The meaning tree: a JSON object whose operations mirror the editors'.

fn model_get<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(root, |v, p| v.as_object()?.get(p))
}

/// Whether a key can be added under `parent`: every level that exists on
/// the way must be a table (missing ones are created).
fn parent_allows_insert(root: &Value, parent: &[String]) -> Result<(), String> {
    let mut here = root;
    for (i, p) in parent.iter().enumerate() {
        let map = here
            .as_object()
            .ok_or_else(|| format!("`{}` is not a table or mapping", parent[..i].join(".")))?;
        match map.get(p) {
            Some(next) => here = next,
            None => return Ok(()),
        }
    }
    if here.is_object() {
        Ok(())
    } else {
        Err(format!("`{}` is not a table or mapping", parent.join(".")))
    }
}

fn model_parent_mut<'a>(
    root: &'a mut Value,
    parent: &[String],
    create: bool,
) -> Result<&'a mut Map<String, Value>, String> {
    let mut here = root;
    for (i, p) in parent.iter().enumerate() {
        let map = here
            .as_object_mut()
            .ok_or_else(|| format!("`{}` is not a table or mapping", parent[..i].join(".")))?;
        if !map.contains_key(p) {
            if !create {
                return Err(format!("`{}` is missing", parent[..=i].join(".")));
            }
            map.insert(p.clone(), Value::Object(Map::new()));
        }
        here = map.get_mut(p).expect("just checked");
    }
    here.as_object_mut()
        .ok_or_else(|| format!("`{}` is not a table or mapping", parent.join(".")))
}

/// The editing primitives each format provides. Callers check the meaning
/// tree first, so an editor is only asked to do what makes sense: insert a
/// key that is absent, replace or rename or remove one that is present.
pub(crate) trait Editor {
    /// The text, as it would be written.
    fn render(&self) -> String;
    /// Adds `key` = `value` at the end of `parent`, creating missing parents.
    fn insert(&mut self, parent: &[String], key: &str, value: &Value) -> Result<(), String>;
    /// Replaces the value at `path`, keeping comments on its line.
    fn replace(&mut self, path: &[String], value: &Value) -> Result<(), String>;
    /// Renames the key at `path` in place.
    fn rename(&mut self, path: &[String], new_key: &str) -> Result<(), String>;
    /// The bytes of the entry at `path` in [`Editor::render`]'s text: from
    /// its key to the end of its value.
    fn span(&self, path: &[String]) -> Result<Range<usize>, String>;
    /// Removes the entry at `path`.
    fn remove(&mut self, path: &[String]) -> Result<(), String>;
    /// Starts over from `text` (after a text-level edit).
    fn reload(&mut self, text: &str) -> Result<(), String>;
    /// What a comment starts with.
    fn comment_marker(&self) -> &'static str {
        "#"
    }
    /// Whether `prefix`, the text before a key on its line, leaves the line
    /// to that key alone.
    fn prefix_ok(&self, prefix: &str) -> bool {
        prefix.trim().is_empty()
    }
    /// Comments the entry at `path` out, with `note` after it on its first
    /// line: a text-level edit of the entry's lines, then a reload.
    fn comment_out(&mut self, path: &[String], note: &str) -> Result<(), String> {
        let text = self.render();
        let block = line_block(&text, self.span(path)?, |p| self.prefix_ok(p))?;
        let mut new = text.clone();
        new.replace_range(
            block.clone(),
            &comment_lines(&text[block.clone()], self.comment_marker(), note),
        );
        self.reload(&new)
    }
}

/// Extends `span` to the whole lines it covers, refusing when another entry
/// shares one of those lines. `prefix_ok` judges the text before the key on
/// its first line (indentation, or a TOML dotted prefix).
pub(crate) fn line_block(
    text: &str,
    span: Range<usize>,
    prefix_ok: impl Fn(&str) -> bool,
) -> Result<Range<usize>, String> {
    let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    if !prefix_ok(&text[start..span.start]) {
        return Err("it shares its line with other keys".into());
    }
    let end = if span.end > span.start && text.as_bytes()[span.end - 1] == b'\n' {
        span.end
    } else {
        text[span.end..].find('\n').map_or(text.len(), |i| span.end + i + 1)
    };
    let tail = text[span.end.min(end)..end].trim();
    let tail = tail.strip_prefix(',').unwrap_or(tail).trim_start();
    if !(tail.is_empty() || tail.starts_with('#') || tail.starts_with("//")) {
        return Err("it shares its line with other keys".into());
    }
    Ok(start..end)
}

/// Turns the lines of `block` into comments, the note on the first line.
pub(crate) fn comment_lines(block: &str, marker: &str, note: &str) -> String {
    let mut out = String::new();
    for (i, line) in block.split_inclusive('\n').enumerate() {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let content = body.trim_start();
        let indent = &body[..body.len() - content.len()];
        if content.is_empty() {
            out.push_str(line);
            continue;
        }
        out.push_str(indent);
        out.push_str(marker);
        out.push(' ');
        out.push_str(content);
        if i == 0 && !note.is_empty() {
            out.push_str("  (");
            out.push_str(note);
            out.push(')');
        }
        out.push_str(ending);
    }
    out
}

/// A config file being edited.
pub struct Document {
    path: PathBuf,
    format: Format,
    original: String,
    original_model: Value,
    editor: Box<dyn Editor>,
    model: Value,
    crlf: bool,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// The file's meaning as an independent parser reads it.
pub fn meaning(path: &Path, format: Format, text: &str) -> Result<Value, Problem> {
    match format {
        Format::Env => Ok(Value::Object(
            super::dotenv::meaning(path, text)?
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )),
        Format::Yaml => super::yaml::meaning(path, text),
        Format::Toml => super::toml::meaning(path, text),
        Format::Json => super::json::meaning(path, text),
    }
}

impl Document {
    /// Parses `text`, the contents of `path`. Malformed input is a problem
    /// that names the file and the line.
    pub fn parse(path: &Path, format: Format, text: &str) -> Result<Self, Problem> {
        let model = meaning(path, format, text);
        let editor: Result<Box<dyn Editor>, Problem> = match format {
            Format::Env => super::dotenv::DotEnv::parse(path, text).map(|e| Box::new(e) as Box<dyn Editor>),
            Format::Yaml => super::yaml::YamlEditor::parse(path, text).map(|e| Box::new(e) as Box<dyn Editor>),
            Format::Toml => super::toml::TomlEditor::parse(path, text).map(|e| Box::new(e) as Box<dyn Editor>),
            Format::Json => super::json::JsonEditor::parse(path, text).map(|e| Box::new(e) as Box<dyn Editor>),
        };
        // Of two complaints about one file, the one that names a line helps more.
        let (model, editor) = match (model, editor) {
            (Ok(m), Ok(e)) => (m, e),
            // For .env, ferry's own reader knows lines best.
            (Err(a), Err(b)) => {
                return Err(if format == Format::Env || (a.line.is_none() && b.line.is_some()) {
                    b
                } else {
                    a
                });
            }
            (Err(a), Ok(_)) | (Ok(_), Err(a)) => return Err(a),
        };
        if !model.is_object() {
            return Err(
                Problem::in_file(path, "the file does not hold keys and values at its top level")
                    .at_line(1)
                    .help("ferry edits files whose top level is a mapping (YAML), a table (TOML) or an object (JSON)"),
            );
        }
        if editor.render() != text {
            return Err(
                Problem::in_file(path, format!("the {format} editor cannot keep this file byte for byte"))
                    .help("nothing was written; report this, with the file, to the ferry developers"),
            );
        }
        // A file whose every line ends in CRLF gets CRLF on added lines too.
        let crlf = text.contains("\r\n") && !text.replace("\r\n", "").contains('\n');
        Ok(Document {
            path: path.to_owned(),
            format,
            original: text.to_owned(),
            original_model: model.clone(),
            editor,
            model,
            crlf,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The text as read.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The file's meaning as read, before any edit.
    pub fn original_model(&self) -> &Value {
        &self.original_model
    }

    /// The text as it would be written now.
    pub fn render(&self) -> String {
        let text = self.editor.render();
        if self.crlf {
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        } else {
            text
        }
    }

    /// The file's meaning, after the edits so far.
    pub fn model(&self) -> &Value {
        &self.model
    }

    /// The value at `key`, if the file has it.
    pub fn get(&self, key: &KeyPath) -> Option<&Value> {
        model_get(&self.model, key.parts())
    }

    /// Every key that holds a value (not a table), as dotted paths.
    pub fn leaf_keys(&self) -> Vec<KeyPath> {
        fn walk(v: &Value, here: &mut Vec<String>, out: &mut Vec<KeyPath>) {
            match v.as_object() {
                Some(map) if !map.is_empty() || here.is_empty() => {
                    for (k, v) in map {
                        here.push(k.clone());
                        walk(v, here, out);
                        here.pop();
                    }
                }
                _ => out.push(KeyPath(here.clone())),
            }
        }
        let mut out = Vec::new();
        walk(&self.model, &mut Vec::new(), &mut out);
        out
    }

    fn store(&mut self, value: &Value) -> Value {
        // .env files hold text only.
        if self.format == Format::Env {
            Value::String(value_text(value))
        } else {
            value.clone()
        }
    }

    /// Adds `key` with `value` unless the file has it (whatever its value).
    /// Returns whether it changed anything.
    pub fn add(&mut self, key: &KeyPath, value: &Value) -> Result<bool, Problem> {
        if self.get(key).is_some() {
            return Ok(false);
        }
        let value = self.store(value);
        // Every level on the way must be a table or absent; the editor goes
        // first, so a refusal leaves the document as it was.
        parent_allows_insert(&self.model, key.parent()).map_err(|e| fail(&self.path, key, "add", e))?;
        self.editor
            .insert(key.parent(), key.leaf(), &value)
            .map_err(|e| fail(&self.path, key, "add", e))?;
        entries_at(&mut self.model, &self.path, key, "add", true)?.insert(key.leaf().to_owned(), value);
        Ok(true)
    }

    /// Replaces the value of `key` when the file has it (and, with `only_if`,
    /// when its value is that one). Returns whether it changed anything.
    pub fn set(&mut self, key: &KeyPath, value: &Value, only_if: Option<&Value>) -> Result<bool, Problem> {
        let value = self.store(value);
        let Some(current) = self.get(key) else { return Ok(false) };
        if current.is_object() || current.is_array() {
            return Err(fail(
                &self.path,
                key,
                "set",
                "it holds a table or list, not one value".into(),
            ));
        }
        if *current == value {
            return Ok(false);
        }
        if let Some(want) = only_if
            && value_text(current) != value_text(want)
        {
            return Ok(false);
        }
        self.editor
            .replace(key.parts(), &value)
            .map_err(|e| fail(&self.path, key, "set", e))?;
        entries_at(&mut self.model, &self.path, key, "set", false)?.insert(key.leaf().to_owned(), value);
        Ok(true)
    }

    /// Renames `from` to `to`. Nothing happens when the file has no `from`;
    /// having both is an error (the user must choose).
    pub fn rename(&mut self, from: &KeyPath, to: &KeyPath) -> Result<bool, Problem> {
        let Some(value) = self.get(from).cloned() else {
            return Ok(false);
        };
        if self.get(to).is_some() {
            return Err(
                fail(&self.path, from, "rename", format!("the file also has `{to}`")).help(format!(
                    "keep one of them: remove `{from}` or `{to}` from the file, then run ferry again"
                )),
            );
        }
        if from.parent() == to.parent() {
            self.editor
                .rename(from.parts(), to.leaf())
                .map_err(|e| fail(&self.path, from, "rename", e))?;
            let parent = entries_at(&mut self.model, &self.path, from, "rename", false)?;
            // Keep the key's place in the tree's order too.
            let entries: Vec<(String, Value)> = std::mem::take(parent).into_iter().collect();
            for (k, v) in entries {
                let k = if k == from.leaf() { to.leaf().to_owned() } else { k };
                parent.insert(k, v);
            }
        } else {
            if value.is_object() || value.is_array() {
                return Err(fail(
                    &self.path,
                    from,
                    "move",
                    "moving a table or list to another level is not supported".into(),
                )
                .help("rename it within its level, or move its keys one by one"));
            }
            self.remove(from)?;
            self.add(to, &value)?;
        }
        Ok(true)
    }

    /// Removes `key` and its value. Returns whether it changed anything.
    pub fn remove(&mut self, key: &KeyPath) -> Result<bool, Problem> {
        if self.get(key).is_none() {
            return Ok(false);
        }
        self.editor
            .remove(key.parts())
            .map_err(|e| fail(&self.path, key, "remove", e))?;
        entries_at(&mut self.model, &self.path, key, "remove", false)?.shift_remove(key.leaf());
        Ok(true)
    }

    /// Comments `key` out, with `note` after it on its first line.
    pub fn comment_out(&mut self, key: &KeyPath, note: &str) -> Result<bool, Problem> {
        if self.get(key).is_none() {
            return Ok(false);
        }
        self.editor.comment_out(key.parts(), note).map_err(|e| {
            fail(&self.path, key, "comment out", e).help("put the key on a line of its own, or remove it instead")
        })?;
        entries_at(&mut self.model, &self.path, key, "comment out", false)?.shift_remove(key.leaf());
        Ok(true)
    }

    /// Reads the edited text with the independent parser and checks that it
    /// means what the edits intended.
    pub fn verify(&self) -> Result<(), Problem> {
        let text = self.render();
        let got = meaning(&self.path, self.format, &text).map_err(|p| {
            Problem::in_file(&self.path, format!("the edited file would not load: {}", p.message))
                .help("nothing was written; make this change by hand, and report the file to the ferry developers")
        })?;
        if got == self.model {
            return Ok(());
        }
        let mut differing = Vec::new();
        diff_keys(&self.model, &got, &mut Vec::new(), &mut differing);
        Err(Problem::in_file(
            &self.path,
            format!(
                "the edited file would not mean what was intended (keys: {})",
                differing.join(", ")
            ),
        )
        .help(
            "nothing was written: the edit would change other keys too (YAML anchors and aliases do that); \
             make this change by hand, and report the file to the ferry developers if it has none",
        ))
    }
}

/// The entries `key` lives among, in the meaning tree (created when `create`).
fn entries_at<'a>(
    model: &'a mut Value,
    file: &Path,
    key: &KeyPath,
    what: &str,
    create: bool,
) -> Result<&'a mut Map<String, Value>, Problem> {
    model_parent_mut(model, key.parent(), create).map_err(|e| fail(file, key, what, e))
}

fn fail(path: &Path, key: &KeyPath, what: &str, why: String) -> Problem {
    Problem::in_file(path, format!("cannot {what} `{key}`: {why}")).help(format!(
        "nothing was written; make this change to `{key}` by hand, then run ferry again"
    ))
}

fn diff_keys(want: &Value, got: &Value, here: &mut Vec<String>, out: &mut Vec<String>) {
    match (want.as_object(), got.as_object()) {
        (Some(a), Some(b)) => {
            for (k, v) in a {
                here.push(k.clone());
                match b.get(k) {
                    Some(w) => diff_keys(v, w, here, out),
                    None => out.push(here.join(".")),
                }
                here.pop();
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                here.push(k.clone());
                out.push(here.join("."));
                here.pop();
            }
        }
        _ if want != got => out.push(here.join(".")),
        _ => {}
    }
}

/// The two properties every editor's generated files must have: a no-op
/// leaves the text identical, and renaming a key (picked by `pick`) then
/// renaming it back restores it byte for byte, with the independent parser
/// agreeing in between.
#[cfg(test)]
pub(crate) fn check_editor_properties(
    name: &str,
    format: Format,
    text: &str,
    new_leaf: &str,
    pick: proptest::sample::Index,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::prelude::*;
    let mut d = Document::parse(Path::new(name), format, text).unwrap();
    prop_assert_eq!(d.render(), text);
    d.verify().map_err(|p| TestCaseError::fail(p.to_string()))?;
    let keys = d.leaf_keys();
    let old = keys[pick.index(keys.len())].clone();
    let mut parts = old.parts().to_vec();
    *parts.last_mut().unwrap() = new_leaf.to_owned();
    let renamed = KeyPath(parts);
    prop_assume!(d.get(&renamed).is_none());
    prop_assert!(d.rename(&old, &renamed).unwrap());
    d.verify()
        .map_err(|p| TestCaseError::fail(format!("{p}\n{}", d.render())))?;
    prop_assert!(d.rename(&renamed, &old).unwrap());
    prop_assert_eq!(d.render(), text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_file_names() {
        for (name, want) in [
            (".env", Some(Format::Env)),
            (".env.example", Some(Format::Env)),
            ("prod.env", Some(Format::Env)),
            ("config.yaml", Some(Format::Yaml)),
            ("profiles/a.yml", Some(Format::Yaml)),
            ("config.example.yaml", Some(Format::Yaml)),
            ("Cargo.toml", Some(Format::Toml)),
            ("settings.json", Some(Format::Json)),
            ("settings.json.example", Some(Format::Json)),
            ("tsconfig.jsonc", Some(Format::Json)),
            ("README", None),
            ("notes.txt", None),
        ] {
            assert_eq!(Format::of(Path::new(name)), want, "{name}");
        }
    }

    #[test]
    fn key_paths() {
        assert_eq!(KeyPath::parse("a.b", Format::Yaml).unwrap().parts(), ["a", "b"]);
        assert_eq!(KeyPath::parse("A.B", Format::Env).unwrap().parts(), ["A.B"]);
        assert!(KeyPath::parse("a..b", Format::Toml).is_err());
        assert!(KeyPath::parse("A B", Format::Env).is_err());
        assert!(KeyPath::parse(" ", Format::Json).is_err());
    }

    #[test]
    fn line_blocks_refuse_shared_lines() {
        let text = "a: 1\nb: 2  # two\nc: {x: 1, y: 2}\n";
        assert_eq!(line_block(text, 5..9, |p| p.is_empty()), Ok(5..17));
        let x = text.find("x:").unwrap();
        assert!(line_block(text, x..x + 4, |p| p.trim().is_empty()).is_err());
        assert_eq!(
            comment_lines("  b: 2  # two\n", "#", "deprecated in 2.0.0"),
            "  # b: 2  # two  (deprecated in 2.0.0)\n"
        );
    }
}
