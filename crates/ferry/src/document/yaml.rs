//! YAML: edited with `yaml-edit` (a lossless syntax tree), read back with
//! `serde-saphyr`, a parser that shares no code with it.
//!
//! yaml-edit is young, so ferry uses it only for what it does well (setting a
//! scalar, renaming a key, appending an entry) and removes or comments out
//! entries as whole lines itself; every result is read again by serde-saphyr
//! and compared with the intended meaning before anything is written.

use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use rowan::ast::AstNode;
use serde_json::Value;
use yaml_edit::{Mapping, YamlFile};

use super::model::{Editor, line_block};
use crate::problem::Problem;

/// The meaning of a YAML text, read by serde-saphyr.
pub fn meaning(path: &Path, text: &str) -> Result<Value, Problem> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Value::Object(Default::default()));
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| {
        let message = e.to_string();
        // The parser may quote the text it stopped at: keep secrets out.
        let first = crate::redact::Redactor::default().line(message.lines().next().unwrap_or("malformed YAML").trim());
        let mut p = Problem::in_file(path, format!("not valid YAML: {first}"))
            .help("fix the YAML at this line; the file was left as it was");
        if let Some(loc) = e.location() {
            p = p.at_line(loc.line() as usize);
        }
        p
    })
}

/// A YAML file being edited.
pub(crate) struct YamlEditor {
    file: YamlFile,
}

impl YamlEditor {
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, Problem> {
        let file = YamlFile::from_str(text).map_err(|e| {
            Problem::in_file(path, format!("the YAML editor cannot read this file: {e}"))
                .help("fix the YAML; the file was left as it was")
        })?;
        if file.documents().count() > 1 {
            return Err(Problem::in_file(path, "the file holds several YAML documents (---)")
                .help("ferry edits files with one document"));
        }
        Ok(YamlEditor { file })
    }

    fn root(&self) -> Option<Mapping> {
        self.file.document()?.as_mapping()
    }

    fn mapping_at(&self, parent: &[String]) -> Result<Mapping, String> {
        let mut here = self.root().ok_or("the file has no top-level mapping")?;
        for (i, p) in parent.iter().enumerate() {
            here = here
                .get_mapping(p.as_str())
                .ok_or_else(|| format!("`{}` is not a block mapping", parent[..=i].join(".")))?;
        }
        Ok(here)
    }

    fn append_text(&mut self, text: String) -> Result<(), String> {
        let mut all = self.render();
        if !all.is_empty() && !all.ends_with('\n') {
            all.push('\n');
        }
        all.push_str(&text);
        self.reload(&all)
    }
}

fn set(m: &Mapping, key: &str, value: &Value) -> Result<(), String> {
    match value {
        Value::String(s) => m.set(key, s.as_str()),
        Value::Bool(b) => m.set(key, *b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => m.set(key, i),
            (None, Some(f)) => m.set(key, f),
            _ => return Err(format!("{n} is out of range")),
        },
        Value::Null => m.set(key, None::<&str>),
        _ => return Err("only single values can be written".into()),
    }
    Ok(())
}

/// The text of `key: value` nested under `parent`, for a parent that does
/// not exist yet.
fn nested_text(parent: &[String], key: &str, value: &Value, indent: usize) -> Result<String, String> {
    let probe = YamlFile::from_str("x: 0\n").map_err(|e| e.to_string())?;
    let m = probe
        .document()
        .and_then(|d| d.as_mapping())
        .ok_or("internal: no mapping")?;
    set(&m, "x", value)?;
    let rendered = probe.to_string();
    let scalar = rendered
        .trim_end()
        .strip_prefix("x: ")
        .ok_or("internal: unexpected rendering")?;
    let mut out = String::new();
    for (depth, p) in parent.iter().enumerate() {
        out.push_str(&format!("{}{}:\n", " ".repeat(indent + depth * 2), quote_key(p)));
    }
    out.push_str(&format!(
        "{}{}: {scalar}\n",
        " ".repeat(indent + parent.len() * 2),
        quote_key(key)
    ));
    Ok(out)
}

fn quote_key(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)) && !key.is_empty() {
        key.to_owned()
    } else {
        serde_json::to_string(key).unwrap_or_default()
    }
}

impl Editor for YamlEditor {
    fn render(&self) -> String {
        self.file.to_string()
    }

    fn insert(&mut self, parent: &[String], key: &str, value: &Value) -> Result<(), String> {
        // The deepest existing mapping on the way to `parent`.
        let Some(root) = self.root() else {
            return self.append_text(nested_text(parent, key, value, 0)?);
        };
        let mut here = root;
        let mut depth = 0;
        while depth < parent.len() {
            match here.get_mapping(parent[depth].as_str()) {
                Some(m) => {
                    here = m;
                    depth += 1;
                }
                None if here.contains_key(parent[depth].as_str()) => {
                    return Err(format!("`{}` is not a mapping", parent[..=depth].join(".")));
                }
                None => break,
            }
        }
        if depth == parent.len() {
            return set(&here, key, value);
        }
        if depth == 0 {
            return self.append_text(nested_text(parent, key, value, 0)?);
        }
        // Add the missing levels as text after the last entry of `here`.
        let last = here.entries().last().ok_or("the mapping is empty")?;
        let range = last.syntax().text_range();
        let text = self.render();
        let end = usize::from(range.end());
        let start = usize::from(range.start());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let indent = start - line_start;
        let end = if text[..end].ends_with('\n') {
            end
        } else {
            text[end..].find('\n').map_or(text.len(), |i| end + i + 1)
        };
        let mut new = text.clone();
        let mut insert = nested_text(&parent[depth..], key, value, indent)?;
        if !new[..end].ends_with('\n') {
            insert.insert(0, '\n');
        }
        new.insert_str(end, &insert);
        self.reload(&new)
    }

    fn replace(&mut self, path: &[String], value: &Value) -> Result<(), String> {
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        set(&self.mapping_at(parent)?, leaf, value)
    }

    fn rename(&mut self, path: &[String], new_key: &str) -> Result<(), String> {
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        if !self.mapping_at(parent)?.rename_key(leaf.as_str(), new_key) {
            return Err("the YAML editor did not find the key".into());
        }
        // yaml-edit quotes keys that YAML 1.1 would read as booleans (`no`,
        // `on`): YAML 1.2 reads them as strings, so a plain name stays plain,
        // as the user wrote such keys (the result is checked by an
        // independent parser in any case).
        let plain = new_key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && new_key.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            && !["true", "false", "null"].contains(&new_key.to_ascii_lowercase().as_str());
        if plain {
            let mut new_path = parent.to_vec();
            new_path.push(new_key.to_owned());
            let start = self.span(&new_path)?.start;
            let text = self.render();
            for q in ['\'', '"'] {
                let quoted = format!("{q}{new_key}{q}");
                if text[start..].starts_with(&quoted) {
                    let mut t = text.clone();
                    t.replace_range(start..start + quoted.len(), new_key);
                    return self.reload(&t);
                }
            }
        }
        Ok(())
    }

    fn span(&self, path: &[String]) -> Result<Range<usize>, String> {
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        let entry = self
            .mapping_at(parent)?
            .find_entry_by_key(leaf.as_str())
            .ok_or("the YAML editor did not find the key")?;
        let r = entry.syntax().text_range();
        Ok(usize::from(r.start())..usize::from(r.end()))
    }

    fn remove(&mut self, path: &[String]) -> Result<(), String> {
        let text = self.render();
        let block = line_block(&text, self.span(path)?, |p| p.trim().is_empty())?;
        let mut new = text;
        new.replace_range(block, "");
        self.reload(&new)
    }

    fn reload(&mut self, text: &str) -> Result<(), String> {
        self.file = YamlFile::from_str(text).map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::super::model::{Document, Format, KeyPath};
    use super::*;

    fn doc(text: &str) -> Document {
        Document::parse(Path::new("config.yaml"), Format::Yaml, text).unwrap()
    }

    #[test]
    fn reads_like_serde_saphyr_and_keeps_bytes() {
        let text =
            "# top\nname: agentlab   # the name\nport: 8845\nnested:\n  a: 'x'\n  b: \"y\"\nlist:\n  - 1\n  - 2\n";
        let d = doc(text);
        assert_eq!(d.render(), text);
        assert_eq!(
            d.get(&KeyPath::parse("nested.b", Format::Yaml).unwrap()),
            Some(&json!("y"))
        );
        assert_eq!(
            d.get(&KeyPath::parse("port", Format::Yaml).unwrap()),
            Some(&json!(8845))
        );
    }

    #[test]
    fn values_that_need_quotes_read_back() {
        for v in [
            "true", "#x", "a: b", "- item", "8006", "", "  padded", "null", "yes", "it's", "{x}",
        ] {
            let mut d = doc("a: 1\n");
            d.add(&KeyPath::parse("b", Format::Yaml).unwrap(), &json!(v)).unwrap();
            d.verify().unwrap_or_else(|p| panic!("{v:?}: {p} in {:?}", d.render()));
        }
    }

    #[test]
    fn malformed_yaml_names_the_line() {
        let e = Document::parse(Path::new("c.yaml"), Format::Yaml, "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(e.line.is_some_and(|l| l >= 2), "{e:?}");
        let e = Document::parse(Path::new("c.yaml"), Format::Yaml, "a: 1\n  b: 2\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e:?}");
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let mut d = doc("a: 1\r\nb: 2\r\n");
        d.add(&KeyPath::parse("c", Format::Yaml).unwrap(), &json!(3)).unwrap();
        d.comment_out(&KeyPath::parse("a", Format::Yaml).unwrap(), "gone")
            .unwrap();
        assert_eq!(d.render(), "# a: 1  (gone)\r\nb: 2\r\nc: 3\r\n");
        d.verify().unwrap();
    }

    fn key() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_]{0,7}"
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9 ./-]{0,10}[a-z0-9]",
            "[0-9]{1,5}",
            Just("true".to_owned()),
            "[a-z #:]{0,10}".prop_map(|s| format!("'{s}'")),
            "[a-z #:']{0,10}".prop_map(|s| format!("\"{s}\"")),
        ]
    }

    fn comment() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[ -~]{0,12}".prop_map(|c| format!("  # {c}"))]
    }

    /// A block mapping: scalars, nested mappings, lists, comments and blank
    /// lines between entries.
    fn mapping(depth: u32, indent: usize) -> BoxedStrategy<String> {
        let pad = " ".repeat(indent);
        let entry = {
            let pad = pad.clone();
            let leaf = (key(), scalar(), comment()).prop_map({
                let pad = pad.clone();
                move |(k, v, c)| vec![(k.clone(), format!("{pad}{k}: {v}{c}\n"))]
            });
            let list = (key(), prop::collection::vec(scalar(), 1..3)).prop_map({
                let pad = pad.clone();
                move |(k, items)| {
                    let body: String = items.iter().map(|i| format!("{pad}  - {i}\n")).collect();
                    vec![(k.clone(), format!("{pad}{k}:\n{body}"))]
                }
            });
            let extra = prop_oneof![
                Just(String::new()),
                Just("\n".to_owned()),
                "[ -~]{0,12}".prop_map({
                    let pad = pad.clone();
                    move |c| format!("{pad}# {c}\n")
                })
            ];
            if depth == 0 {
                (prop_oneof![leaf, list], extra).prop_map(|(e, x)| (e, x)).boxed()
            } else {
                let nested = (key(), mapping(depth - 1, indent + 2)).prop_map({
                    let pad = pad.clone();
                    move |(k, body)| vec![(k.clone(), format!("{pad}{k}:\n{body}"))]
                });
                (prop_oneof![2 => leaf, 1 => list, 1 => nested], extra).boxed()
            }
        };
        prop::collection::vec(entry, 1..6)
            .prop_map(|entries| {
                let mut seen = std::collections::HashSet::new();
                let mut out = String::new();
                for (e, extra) in entries {
                    for (k, text) in e {
                        if seen.insert(k) {
                            out.push_str(&extra);
                            out.push_str(&text);
                        }
                    }
                }
                out
            })
            .boxed()
    }

    /// A regression test (found by the property test below): a key YAML 1.1
    /// reads as a boolean came back quoted after a rename and its reverse.
    #[test]
    fn boolean_looking_keys_stay_plain() {
        let text = "no:\n  - aa\non: 1\n";
        let mut d = Document::parse(std::path::Path::new("config.yaml"), Format::Yaml, text).unwrap();
        for key in ["no", "on"] {
            let old = KeyPath::parse(key, Format::Yaml).unwrap();
            let new = KeyPath::parse("zzaaaaaa", Format::Yaml).unwrap();
            assert!(d.rename(&old, &new).unwrap());
            d.verify().unwrap();
            assert!(d.rename(&new, &old).unwrap());
            assert_eq!(d.render(), text, "{key}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn no_op_and_rename_and_back(text in mapping(2, 0), new in "zz[a-z]{6}", pick in any::<prop::sample::Index>()) {
            super::super::model::check_editor_properties("config.yaml", Format::Yaml, &text, &new, pick)?;
        }
    }
}
