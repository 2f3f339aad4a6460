//! JSON (and JSON with comments): edited with jsonc-parser's concrete syntax
//! tree, read back with `serde_json` when the file is plain JSON, or with
//! jsonc-parser's separate value parser when it has comments.

use std::ops::Range;
use std::path::Path;

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode, ObjectPropName};
use serde_json::Value;

use super::model::Editor;
use crate::problem::Problem;

/// The meaning of a JSON text: serde_json for plain JSON, jsonc-parser's
/// value parser for JSON with comments or trailing commas.
pub fn meaning(path: &Path, text: &str) -> Result<Value, Problem> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(_) => match jsonc_parser::parse_to_serde_value::<Option<Value>>(text, &ParseOptions::default()) {
            Ok(v) => Ok(v.unwrap_or(Value::Null)),
            Err(e) => Err(Problem::in_file(path, format!("not valid JSON: {}", e.kind()))
                .at_line(e.line_display())
                .help("fix the JSON at this line; the file was left as it was")),
        },
    }
}

fn is_plain_json(text: &str) -> bool {
    text.trim().is_empty() || serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// A JSON file being edited.
pub(crate) struct JsonEditor {
    root: CstRootNode,
}

fn input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(a) => CstInputValue::Array(a.iter().map(input).collect()),
        Value::Object(o) => CstInputValue::Object(o.iter().map(|(k, v)| (k.clone(), input(v))).collect()),
    }
}

impl JsonEditor {
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, Problem> {
        let root = CstRootNode::parse(text, &ParseOptions::default()).map_err(|e| {
            Problem::in_file(path, format!("not valid JSON: {}", e.kind()))
                .at_line(e.line_display())
                .help("fix the JSON at this line; the file was left as it was")
        })?;
        Ok(JsonEditor { root })
    }

    fn object_at(&self, parent: &[String], create: bool) -> Result<CstObject, String> {
        let mut here = if create {
            self.root.object_value_or_set()
        } else {
            self.root.object_value().ok_or("the file holds no object")?
        };
        for (i, p) in parent.iter().enumerate() {
            here = if create {
                here.object_value_or_create(p)
            } else {
                here.object_value(p)
            }
            .ok_or_else(|| format!("`{}` is not an object", parent[..=i].join(".")))?;
        }
        Ok(here)
    }
}

impl Editor for JsonEditor {
    fn render(&self) -> String {
        self.root.to_string()
    }

    fn insert(&mut self, parent: &[String], key: &str, value: &Value) -> Result<(), String> {
        self.object_at(parent, true)?.append(key, input(value));
        Ok(())
    }

    fn replace(&mut self, path: &[String], value: &Value) -> Result<(), String> {
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        self.object_at(parent, false)?
            .get(leaf)
            .ok_or("the key is missing")?
            .set_value(input(value));
        Ok(())
    }

    fn rename(&mut self, path: &[String], new_key: &str) -> Result<(), String> {
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        let prop = self.object_at(parent, false)?.get(leaf).ok_or("the key is missing")?;
        let quoted = serde_json::to_string(new_key).map_err(|e| e.to_string())?;
        match prop.name().ok_or("the key has no name")? {
            ObjectPropName::String(s) => s.set_raw_value(quoted),
            ObjectPropName::Word(w) => w.set_raw_value(quoted),
        }
        Ok(())
    }

    fn span(&self, path: &[String]) -> Result<Range<usize>, String> {
        let text = self.render();
        let parsed = jsonc_parser::parse_to_ast(&text, &Default::default(), &ParseOptions::default())
            .map_err(|e| e.to_string())?;
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        let mut obj = parsed
            .value
            .as_ref()
            .and_then(|v| v.as_object())
            .ok_or("the file holds no object")?;
        for p in parent {
            obj = obj
                .properties
                .iter()
                .rev()
                .find(|pr| pr.name.as_str() == p)
                .and_then(|pr| pr.value.as_object())
                .ok_or("the key is missing")?;
        }
        let prop = obj
            .properties
            .iter()
            .rev()
            .find(|pr| pr.name.as_str() == leaf)
            .ok_or("the key is missing")?;
        Ok(prop.range.start..prop.range.end)
    }

    fn remove(&mut self, path: &[String]) -> Result<(), String> {
        let (leaf, parent) = path.split_last().ok_or("empty key")?;
        self.object_at(parent, false)?
            .get(leaf)
            .ok_or("the key is missing")?
            .remove();
        Ok(())
    }

    fn reload(&mut self, text: &str) -> Result<(), String> {
        self.root = CstRootNode::parse(text, &ParseOptions::default()).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn comment_marker(&self) -> &'static str {
        "//"
    }

    fn comment_out(&mut self, path: &[String], note: &str) -> Result<(), String> {
        if is_plain_json(&self.render()) {
            return Err(
                "the file is plain JSON, which has no comments (its readers may refuse one); \
                        remove the key instead, or use a file that already has // comments"
                    .into(),
            );
        }
        let text = self.render();
        let block = super::model::line_block(&text, self.span(path)?, |p| p.trim().is_empty())?;
        let mut new = text.clone();
        new.replace_range(
            block.clone(),
            &super::model::comment_lines(&text[block.clone()], "//", note),
        );
        drop_dangling_comma(&mut new, block.start);
        self.reload(&new)
    }
}

/// After the last property of an object was commented out at `at`, the
/// property before it keeps a comma that nothing follows: remove it.
pub(crate) fn drop_dangling_comma(text: &mut String, at: usize) {
    let after = text[at..]
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//"));
    if !after.is_some_and(|l| l.starts_with('}') || l.starts_with(']')) {
        return;
    }
    let mut end = at;
    loop {
        let start = text[..end]
            .trim_end_matches(['\n', '\r'])
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line = &text[start..end];
        let body = line.trim();
        if body.is_empty() || body.starts_with("//") {
            if start == 0 {
                return;
            }
            end = start;
            continue;
        }
        let kept = line.trim_end();
        if kept.ends_with(',') {
            text.remove(start + kept.len() - 1);
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::model::Format;

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z #/]{0,10}".prop_map(|s| format!("\"{s}\"")),
            any::<i32>().prop_map(|i| i.to_string()),
            Just("true".to_owned()),
            Just("null".to_owned()),
        ]
    }

    /// An object over several lines, one level of nesting, `//` comments.
    fn file() -> impl Strategy<Value = String> {
        let entry = (
            "[a-z][a-z0-9_]{0,6}",
            prop_oneof![
                scalar(),
                prop::collection::vec(("[a-z]{1,5}", scalar()), 1..4).prop_map(|inner| {
                    let mut seen = std::collections::HashSet::new();
                    let body: Vec<String> = inner
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .map(|(k, v)| format!("    \"{k}\": {v}"))
                        .collect();
                    format!("{{\n{}\n  }}", body.join(",\n"))
                }),
            ],
            any::<bool>(),
        );
        prop::collection::vec(entry, 1..6).prop_map(|entries| {
            let mut seen = std::collections::HashSet::new();
            let lines: Vec<String> = entries
                .into_iter()
                .filter(|(k, _, _)| seen.insert(k.clone()))
                .map(|(k, v, comment)| format!("{}  \"{k}\": {v}", if comment { "  // about it\n" } else { "" }))
                .collect();
            format!("{{\n{}\n}}\n", lines.join(",\n"))
        })
    }

    proptest! {
        #[test]
        fn no_op_and_rename_and_back(text in file(), new in "zz[a-z]{6}", pick in any::<prop::sample::Index>()) {
            super::super::model::check_editor_properties("c.json", Format::Json, &text, &new, pick)?;
        }
    }
}
